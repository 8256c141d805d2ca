// See train_job.h.
#include "trainer/train_job.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "datastore/loader.h"
#include "datastore/patch_store.h"
#include "datastore/sampler.h"
#include "metrics/format.h"
#include "metrics/predictions.h"
#include "metrics/report.h"
#include "trainer/backends.h"
#include "trainer/batch_tensors.h"
#include "trainer/device.h"
#include "trainer/job_data.h"
#include "trainer/job_model.h"
#include "trainer/progress.h"
#include "trainer/stop_signals.h"
#include "trainer/threads.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kTermNames[] = {"ce", "d", "ce2", "triplet", "w", "total"};
constexpr int kTerms = 6;

// Where a job stands; saved in checkpoint_last.pt with the model and optimizer.
struct State {
  int64_t epoch = 0;  // the epoch in progress (== epochs when done)
  int64_t step = 0;   // steps of `epoch` already taken
  double best_score = -std::numeric_limits<double>::infinity();
  int64_t best_epoch = -1;
  // Running sums of the loss terms over the steps of `epoch`, so the epoch's
  // log line is the same whether or not the epoch was interrupted.
  std::array<double, kTerms> sums{};
  int64_t samples = 0;
};

// What a rank tells its group through GradientSync::any() before a step.
constexpr uint32_t kStepFailed = 1;     // its batch or loss threw
constexpr uint32_t kStepNonFinite = 2;  // its loss is NaN or infinite

// The model's parameter count and shapes and the job's configuration, which
// every rank of a group must agree on before the first step.
ModelSignature signature_of(JobModel& model, const std::string& resolved_config) {
  ModelSignature sig;
  std::string shapes;
  for (const auto& item : model.module().named_parameters()) {
    sig.parameters += item.value().numel();
    shapes += item.key();
    for (int64_t d : item.value().sizes()) shapes += core::str_cat(",", d);
    shapes += ";";
  }
  sig.shapes_hash = core::hash_string(shapes);
  sig.config_hash = core::hash_string(resolved_config);
  return sig;
}

uint64_t seed_for(const JobConfig& job, const std::string& purpose) {
  return core::derive_seed(job.train.seed, "", 0, purpose);
}

void write_scalar(torch::serialize::OutputArchive& a, const std::string& key, double v) {
  a.write(key, torch::tensor(v, torch::kFloat64));
}
double read_scalar(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<double>();
}

void save_checkpoint(const std::string& path, JobModel& model, torch::optim::Optimizer* opt,
                     const State& s) {
  torch::serialize::OutputArchive archive, model_archive;
  model.module().save(model_archive);
  archive.write("model", model_archive);
  if (opt) {
    torch::serialize::OutputArchive opt_archive;
    opt->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  write_scalar(archive, "torch_version", kTorchVersion);
  write_scalar(archive, "epoch", static_cast<double>(s.epoch));
  write_scalar(archive, "step", static_cast<double>(s.step));
  write_scalar(archive, "best_score", s.best_score);
  write_scalar(archive, "best_epoch", static_cast<double>(s.best_epoch));
  write_scalar(archive, "samples", static_cast<double>(s.samples));
  archive.write("sums", torch::tensor(std::vector<double>(s.sums.begin(), s.sums.end()),
                                      torch::kFloat64));
  const std::string tmp = path + ".partial";
  archive.save_to(tmp);
  core::rename_durably(tmp, path);
}

// Tensors are read onto the model's device, whatever device wrote them.
State load_checkpoint(const std::string& path, JobModel& model, torch::optim::Optimizer* opt,
                      const torch::Device& device) {
  torch::serialize::InputArchive archive, model_archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw core::ConfigError(core::str_cat(path, ": not a readable checkpoint (",
                                          e.what_without_backtrace(),
                                          "); delete it to restart the job from scratch"));
  }
  archive.read("model", model_archive);
  model.module().load(model_archive);
  if (opt) {
    // Checkpoints from before the version was recorded were all written by 1.13 builds.
    torch::Tensor writer;
    const int written_by =
        archive.try_read("torch_version", writer) ? static_cast<int>(writer.item<double>()) : 113;
    check_optimizer_state_portable(path, written_by);
    torch::serialize::InputArchive opt_archive;
    archive.read("optimizer", opt_archive);
    opt->load(opt_archive);
  }
  State s;
  s.epoch = static_cast<int64_t>(read_scalar(archive, "epoch"));
  s.step = static_cast<int64_t>(read_scalar(archive, "step"));
  s.best_score = read_scalar(archive, "best_score");
  s.best_epoch = static_cast<int64_t>(read_scalar(archive, "best_epoch"));
  s.samples = static_cast<int64_t>(read_scalar(archive, "samples"));
  torch::Tensor sums;
  archive.read("sums", sums);
  sums = sums.to(torch::kCPU);
  for (int k = 0; k < kTerms; ++k) s.sums[k] = sums[k].item<double>();
  return s;
}

// Adds the step's loss terms to the epoch's sums, with one copy from the device.
void add_terms(const LossTerms& terms, std::array<double, kTerms>& sums) {
  const torch::Tensor* parts[] = {&terms.ce, &terms.d, &terms.ce2,
                                  &terms.triplet, &terms.w, &terms.total};
  std::vector<torch::Tensor> values;
  std::vector<int> index;
  for (int k = 0; k < kTerms; ++k)
    if (parts[k]->defined()) {
      values.push_back(parts[k]->detach().to(torch::kFloat64).reshape({}));
      index.push_back(k);
    }
  if (values.empty()) return;
  const torch::Tensor host = torch::stack(values).to(torch::kCPU).contiguous();
  for (size_t i = 0; i < index.size(); ++i) sums[index[i]] += host.data_ptr<double>()[i];
}

datastore::SamplerKind sampler_of(const JobConfig& job) {
  const std::string name =
      job.train.sampler == "auto" ? paper_sampler(job.model.variant) : job.train.sampler;
  return *datastore::parse_sampler(name);
}

std::string sample_id(const datastore::SampleIndex& ix, uint32_t i) {
  return core::str_cat(ix.patient_ids[static_cast<size_t>(ix.patient[i])], "/s", ix.slice[i],
                       "/l", ix.level[i]);
}

// Class probabilities of `samples` (in that order) from the model in eval mode.
metrics::Predictions predict(JobModel& model, std::shared_ptr<const datastore::PatchStore> store,
                             const std::vector<uint32_t>& samples, const JobConfig& job,
                             const torch::Device& device) {
  datastore::LoaderOptions o;
  o.batch_size = job.train.batch_size;
  o.neighbours = model.uses_neighbours();
  o.workers = job.train.loader_workers;
  datastore::BatchLoader loader(store, o);
  loader.start_epoch(0, samples);
  model.module().eval();
  torch::NoGradGuard no_grad;
  const auto& ix = store->index();
  metrics::Predictions p;
  p.kind = metrics::PredictionKind::kMulticlass;
  p.num_classes = 3;
  std::unordered_map<int32_t, int32_t> patient_row;
  while (auto batch = loader.next()) {
    BatchTensors t = to_tensors(std::move(*batch));
    const torch::Tensor host_samples = t.samples;
    t = to_device(std::move(t), device, job.train.channels_last);
    torch::Tensor probs;
    {
      AutocastScope autocast(device.type(), uses_bf16(job.train.precision));
      probs = model.probabilities(t);
    }
    probs = probs.to(torch::kCPU, torch::kFloat64).contiguous();
    const double* pr = probs.data_ptr<double>();
    const int64_t* samples = host_samples.data_ptr<int64_t>();
    for (int64_t k = 0; k < probs.size(0); ++k) {
      const auto i = static_cast<uint32_t>(samples[k]);
      p.ids.push_back(sample_id(ix, i));
      const int32_t patient = ix.patient[i];
      auto [it, added] = patient_row.emplace(patient, static_cast<int32_t>(p.patient_names.size()));
      if (added) p.patient_names.push_back(ix.patient_ids[static_cast<size_t>(patient)]);
      p.patient.push_back(it->second);
      p.label.push_back(ix.label[i]);
      p.scores.insert(p.scores.end(), pr + 3 * k, pr + 3 * k + 3);
    }
  }
  model.module().train();
  return p;
}

double cross_entropy_of(const metrics::Predictions& p) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i)
    sum -= std::log(std::max(p.row(i)[static_cast<size_t>(p.label[i])], 1e-12));
  return p.size() ? sum / p.size() : 0;
}

// The validation metrics and the selection score (higher is better).
std::pair<nlohmann::json, double> validate_predictions(const metrics::Predictions& p,
                                                       const JobConfig& job) {
  nlohmann::json out;
  const double ce = cross_entropy_of(p);
  out["loss"] = ce;
  double score = -ce;
  try {
    for (const auto& [name, value] : metrics::compute_metrics(p, 0.5, "validation")) {
      out[name] = value;
      if (name == job.train.selection_metric) score = value;
    }
  } catch (const core::ConfigError& e) {
    // A tiny validation part can lack a class; the loss still ranks epochs.
    out["metrics_error"] = e.what();
  }
  return {out, score};
}

// Keeps the log's lines of epochs before `epoch` (a resumed job rewrites the rest).
void truncate_log(const std::string& path, int64_t epoch) {
  if (!fs::exists(path)) return;
  std::istringstream in(core::read_file(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("epoch", int64_t{-1}) < epoch + 1) kept += line + "\n";
  }
  core::write_file_atomic(path, kept);
}

void append_line(const std::string& path, const std::string& line) {
  std::string text = fs::exists(path) ? core::read_file(path) : std::string();
  core::write_file_atomic(path, text + line + "\n");
}

}  // namespace

int train_job(const JobConfig& job, core::Logger& log, const TrainRunOptions& options) {
  LocalSync local;
  GradientSync& sync = options.sync ? *options.sync : local;
  // Only the group's first rank writes the job's folder; the others read the
  // checkpoint it left, which is only ever replaced by an atomic rename.
  const bool writer = sync.group_rank() == 0;
  validate(job, job.output);
  CHECK_OR_THROW(core::ConfigError, job.train.batch_size % sync.group_size() == 0, job.output,
                 ": train.batch_size ", job.train.batch_size, " cannot be split evenly over ",
                 sync.group_size(), " data-parallel ranks; choose a multiple of ",
                 sync.group_size());
  const fs::path dir(job.output);
  const std::string config_path = (dir / "config.yaml").string();
  const std::string resolved = to_yaml(job);
  if (writer) {
    fs::create_directories(job.output);
    if (fs::exists(config_path)) {
      CHECK_OR_THROW(core::ConfigError, core::read_file(config_path) == resolved, job.output,
                     ": the folder holds a different job (config.yaml differs); choose another "
                     "output folder or delete this one");
    } else {
      core::write_file_atomic(config_path, resolved);
    }
  }
  if (fs::exists(dir / "metrics.json")) {
    log.info(job.output, ": finished already (metrics.json exists)");
    return 0;
  }
  torch::set_num_threads(intra_op_threads(job.train.threads, std::thread::hardware_concurrency()));

  auto store = std::make_shared<const datastore::PatchStore>(
      datastore::PatchStore::open(job.data.store));
  const auto& ix = store->index();
  const JobSplit split = resolve_split(ix, job.data);
  if (writer) core::write_file_atomic((dir / "split.json").string(), split_json(ix, split, job.data));
  std::array<int64_t, 3> counts{};
  for (uint32_t i : split.train_samples) ++counts[static_cast<size_t>(ix.label[i])];

  const torch::Device device =
      resolve_device(job.train.device, cuda_device_count(), options.rank_device, job.output);
  configure_backend(device);
  // Initialised on the CPU from the job's seed, then moved: the same weights on every device.
  torch::manual_seed(seed_for(job, "init"));
  std::unique_ptr<JobModel> model = make_job_model(job, counts);
  model->to(device);
  if (job.train.channels_last) to_channels_last(model->module());
  torch::optim::Adam optimizer(
      model->module().parameters(),
      torch::optim::AdamOptions(job.train.lr).weight_decay(job.train.weight_decay));
  const std::string last_path = (dir / "checkpoint_last.pt").string();
  const std::string best_path = (dir / "checkpoint_best.pt").string();
  const std::string log_path = (dir / "log.jsonl").string();
  State st;
  if (fs::exists(last_path)) {
    st = load_checkpoint(last_path, *model, &optimizer, device);
    log.info(job.output, ": resuming at epoch ", st.epoch + 1, " step ", st.step);
  }
  if (writer) truncate_log(log_path, st.epoch);
  sync.check_agreement(signature_of(*model, resolved));

  const int group_rank = sync.group_rank();
  const int group_size = sync.group_size();
  std::vector<torch::Tensor> params = model->module().parameters();
  if (group_size > 1) sync.attach(params);
  datastore::LoaderOptions lo;
  lo.batch_size = job.train.batch_size / group_size;
  lo.neighbours = model->uses_neighbours();
  lo.augment = {job.train.rotation, job.train.hflip, job.train.vflip};
  lo.seed = seed_for(job, "augment");
  lo.workers = job.train.loader_workers;
  datastore::BatchLoader loader(store, lo);
  const datastore::SamplerKind sampler = sampler_of(job);

  StopSignals stop;
  Progress progress(stderr);
  int steps_this_run = 0;
  log.info(job.output, ": ", job.model.variant, ", ", split.train_samples.size(),
           " training samples (", counts[0], " / ", counts[1], " / ", counts[2], "), sampler ",
           datastore::sampler_name(sampler), ", ", job.train.epochs, " epochs, on ", device.str(),
           uses_bf16(job.train.precision) ? " (bf16)" : "");
  for (; st.epoch < job.train.epochs; ++st.epoch) {
    const auto started = Clock::now();
    std::vector<uint32_t> order = datastore::epoch_order(
        sampler, split.train_samples, ix.label, 3,
        seed_for(job, core::str_cat("order/", st.epoch)));
    order = datastore::rank_slice(order, group_rank, group_size);
    const size_t batch = static_cast<size_t>(lo.batch_size);
    const size_t steps = (order.size() + batch - 1) / batch;
    order.erase(order.begin(),
                order.begin() + std::min(order.size(), static_cast<size_t>(st.step) * batch));
    loader.start_epoch(static_cast<int>(st.epoch), std::move(order));
    if (options.progress) progress.start_epoch(static_cast<int>(st.epoch), job.train.epochs, steps);
    size_t seen = 0;
    model->module().train();
    while (true) {
      // A rank that cannot take this step (its batch failed, its loss is not
      // finite) tells the group first, so that no rank waits in average().
      std::optional<datastore::Batch> b;
      LossTerms terms;
      std::string failure;
      int64_t taken = 0;
      uint32_t bits = 0;
      try {
        b = loader.next();
        if (b) {
          const BatchTensors t =
              to_device(to_tensors(std::move(*b)), device, job.train.channels_last);
          AutocastScope autocast(device.type(), uses_bf16(job.train.precision));
          terms = model->loss(t, static_cast<int>(st.epoch));
          check_finite(terms);
          taken = t.labels.size(0);
        }
      } catch (const NonFiniteLossError& e) {
        failure = e.what();
        bits |= kStepNonFinite;
      } catch (const std::exception& e) {
        failure = e.what();
        bits |= kStepFailed;
      }
      if (group_size > 1) bits = sync.any(bits);
      if (bits != 0) {
        if (failure.empty()) failure = "another rank of the data-parallel group failed";
        const std::string where = core::str_cat(job.output, ": epoch ", st.epoch + 1, " step ",
                                                st.step + 1, ": ");
        throw core::Error(where + failure);
      }
      if (!b) break;
      // In place, with one rank too: the gradients may be views into the sync's
      // buffer, and the step must not depend on the LibTorch version.
      zero_gradients(params);
      terms.total.backward();
      if (group_size > 1) {
        std::vector<torch::Tensor> grads;
        for (auto& p : params)
          if (p.grad().defined()) grads.push_back(p.grad());
        sync.average(grads);
      }
      optimizer.step();
      add_terms(terms, st.sums);
      ++st.step;
      st.samples += taken;
      seen += static_cast<size_t>(taken);
      if (options.progress) {
        const double s = std::chrono::duration<double>(Clock::now() - started).count();
        progress.step(static_cast<size_t>(st.step), st.sums[5] / st.step, s > 0 ? seen / s : 0);
      }
      if (options.on_step)
        options.on_step({st.epoch, job.train.epochs, st.step, static_cast<int64_t>(steps),
                         st.sums[5] / st.step});
      ++steps_this_run;
      uint32_t stop_bits = stop.requested() || (options.stop_after_steps >= 0 &&
                                                steps_this_run >= options.stop_after_steps);
      if (group_size > 1) stop_bits = sync.any(stop_bits);
      if (stop_bits) {
        if (writer) save_checkpoint(last_path, *model, &optimizer, st);
        log.warn(job.output, ": stopped", stop.requested() ? " on signal " : "",
                 stop.requested() ? std::to_string(stop.signal()) : std::string(), " at epoch ",
                 st.epoch + 1, " step ", st.step, "; checkpoint written, run again to resume");
        return kExitInterrupted;
      }
    }
    const metrics::Predictions val = predict(*model, store, split.val_samples, job, device);
    auto [val_metrics, score] = validate_predictions(val, job);
    const bool best = score > st.best_score;
    if (best) {
      st.best_score = score;
      st.best_epoch = st.epoch;
      if (writer) save_checkpoint(best_path, *model, nullptr, st);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    nlohmann::json line;
    line["epoch"] = st.epoch + 1;
    nlohmann::json train;
    for (int k = 0; k < kTerms; ++k) train[kTermNames[k]] = st.step ? st.sums[k] / st.step : 0.0;
    line["train"] = train;
    line["steps"] = st.step;
    line["lr"] = job.train.lr;
    line["val"] = val_metrics;
    line["best"] = best;
    line["seconds"] = seconds;
    line["samples_per_s"] = seconds > 0 ? seen / seconds : 0.0;
    if (writer) append_line(log_path, line.dump());
    if (options.progress)
      progress.end_epoch(core::str_cat("loss ", train["total"].get<double>(), "  val ",
                                       job.train.selection_metric, " ", score,
                                       best ? " (best)" : ""));
    st.step = 0;
    st.sums = {};
    if (writer)
      save_checkpoint(last_path, *model, &optimizer, State{st.epoch + 1, 0, st.best_score,
                                                         st.best_epoch, {}, st.samples});
  }

  if (!writer) return 0;
  // Predictions and test metrics come from the best validation epoch.
  load_checkpoint(best_path, *model, nullptr, device);
  const metrics::Predictions val = predict(*model, store, split.val_samples, job, device);
  const metrics::Predictions test = predict(*model, store, split.test_samples, job, device);
  metrics::write_predictions(val, (dir / "predictions_val.csv").string());
  metrics::write_predictions(test, (dir / "predictions_test.csv").string());
  nlohmann::json result = nlohmann::json::parse(
      metrics::to_json(metrics::compute_metrics(test, 0.5, (dir / "predictions_test.csv").string())));
  result["best_epoch"] = st.best_epoch + 1;
  result["selection_metric"] = job.train.selection_metric;
  result["val_score"] = st.best_score;
  core::write_file_atomic((dir / "metrics.json").string(), result.dump(1) + "\n");
  log.info(job.output, ": done; best epoch ", st.best_epoch + 1, ", test aAUC ",
           result.value("aAUC", 0.0));
  return 0;
}

}  // namespace fracsweep::trainer
