// See train_job.h.
#include "trainer/train_job.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "datastore/loader.h"
#include "datastore/patch_store.h"
#include "datastore/sampler.h"
#include "metrics/format.h"
#include "metrics/predictions.h"
#include "metrics/report.h"
#include "spec/exported.h"
#include "trainer/backends.h"
#include "trainer/checkpoint.h"
#include "trainer/cuda_graphs.h"
#include "trainer/curve_job.h"
#include "trainer/batch_tensors.h"
#include "trainer/device.h"
#include "trainer/evaluate.h"
#include "trainer/job_data.h"
#include "trainer/job_model.h"
#include "trainer/phase_times.h"
#include "trainer/progress.h"
#include "trainer/stop_signals.h"
#include "trainer/task.h"
#include "trainer/threads.h"
#include "trainer/torch_compat.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// What a rank tells its group through GradientSync::any() before a step.
constexpr uint32_t kStepFailed = 1;     // its batch or loss threw
constexpr uint32_t kStepNonFinite = 2;  // its loss is NaN or infinite
// What the writer tells its group about its writes (Note [The writer's failed writes]);
// apart from the bits above and the search's verdict (1 stop, 2 pause), with which they
// may share one any().
constexpr uint32_t kWriteFailed = 4;         // a write threw, not for the storage
constexpr uint32_t kWriteStorageFailed = 8;  // a write threw core::StorageError
constexpr uint32_t kWriteBits = kWriteFailed | kWriteStorageFailed;

// Note [The writer's failed writes]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Only the writer (group rank 0) writes the job's folder; the other ranks of its
// group pass the same places without a collective and go on to the next one (a
// step's any(), check_agreement). A writer that left the job on a failed write
// (a full disk under a checkpoint) kept them waiting there until --abort-after
// aborted the whole run. So in a group the writer keeps a write's error
// (JobRun::write, which then skips its later writes) and the group agrees on it
// with one any() after each writer-only section, before any rank passes another
// collective: at the end of open_folder(), at the start of train() (split.json,
// the log's truncation), after stopped()'s checkpoint, in the search's verdict
// (the best checkpoint, the log line) and at the end of end_epoch() (the last
// checkpoint); a failure.txt rides on its step's any(). Every path keeps the same
// sequence of any() calls on every rank, since every branch between them follows
// bits the group agreed on. Then every rank leaves the job at the same point: the
// writer rethrows its own error, which its report carries (a storage error stops
// the run, resumable, as it does for a group of one, where write() throws at once);
// the others throw core::StorageError (or core::Error) naming the job. finish()
// comes after the last collective on the writer alone, and needs none: the others
// have left the job and wait for the leader's next job, which the leader (the
// writer) asks for with its report.

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

uint64_t seed_for(const spec::JobConfig& job, const std::string& purpose) {
  return core::derive_seed(job.train.seed, "", 0, purpose);
}

// Adds the step's loss terms to the epoch's sums, with one copy from the device.
void add_terms(const LossTerms& terms, std::array<double, kLossTerms>& sums) {
  const torch::Tensor* parts[] = {&terms.ce, &terms.d, &terms.ce2,
                                  &terms.triplet, &terms.w, &terms.total};
  std::vector<torch::Tensor> values;
  std::vector<int> index;
  for (int k = 0; k < kLossTerms; ++k)
    if (parts[k]->defined()) {
      values.push_back(parts[k]->detach().to(torch::kFloat64).reshape({}));
      index.push_back(k);
    }
  if (values.empty()) return;
  const torch::Tensor host = torch::stack(values).to(torch::kCPU).contiguous();
  for (size_t i = 0; i < index.size(); ++i) sums[index[i]] += host.data_ptr<double>()[i];
}

datastore::SamplerKind sampler_of(const spec::JobConfig& job) {
  const std::string name =
      job.train.sampler == "auto" ? paper_sampler(job.model.variant) : job.train.sampler;
  return *datastore::parse_sampler(name);
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

// One job's training on this rank, as phases: prepare (the folder, data,
// device, model), resume, the epochs (each its steps, then evaluate) and
// finish (test predictions and metrics). What differs between vertebra and
// pelvis studies is the task's (task.h) and the model's (job_model.h).
class JobRun {
 public:
  JobRun(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options,
         GradientSync& sync)
      : job_(job), log_(log), options_(options), sync_(sync),
        // Only the group's first rank writes the job's folder; the others read the
        // checkpoint it left, which is only ever replaced by an atomic rename.
        writer_(sync.group_rank() == 0), dir_(job.output),
        last_path_((dir_ / "checkpoint_last.pt").string()),
        best_path_((dir_ / "checkpoint_best.pt").string()),
        log_path_((dir_ / "log.jsonl").string()),
        prev_path_((dir_ / "checkpoint_prev.pt").string()), task_(make_training_task(job)) {}

  // The folder (config.yaml written or checked), the data, the device, the
  // model and the loader; false when the job finished before.
  bool prepare();
  // Loads the last intact checkpoint (Note [Checkpoint checksums]), or starts over.
  void resume();
  // Trains the remaining epochs; false when a stop signal (or the tests' step
  // limit) interrupted them, after the checkpoint was written.
  bool train();
  int stopped_at_epoch() const { return stopped_at_epoch_; }
  int paused_at_epoch() const { return paused_at_epoch_; }
  // Predictions and test metrics from the best epoch (group rank 0 only;
  // others get null).
  nlohmann::json finish();

 private:
  bool open_folder();
  void load_data();
  // The model and optimizer as a fresh job starts them.
  void make_model();
  void make_loader();
  size_t start_epoch();
  bool epoch();
  // One training step on this rank's next batch; false at the end of the epoch.
  bool step(size_t& seen);
  void load_last_checkpoint();
  std::optional<LossTerms> next_loss(int64_t& taken);
  void apply(const LossTerms& terms);
  void report_step(size_t steps, Clock::time_point started, size_t seen);
  bool stopped();
  // The validation metrics and the selection score; keeps the best checkpoint.
  std::tuple<nlohmann::json, double, bool> evaluate();
  void end_epoch(Clock::time_point started, size_t seen);
  // Runs `write` on the writer alone. In a group its error is kept for the next
  // agreement, and the writer's later writes are skipped until then; alone, it
  // throws at once. See Note [The writer's failed writes].
  template <typename Write>
  void write(Write&& body);
  // Throws, on every rank of the group, when `bits` (the group's OR) say that the
  // writer's writes failed: the writer its own error, the others one naming the job.
  void check_written(uint32_t bits);
  // Collective in a group (one any()): whether the writer's writes since the last
  // agreement worked; check_written() of the answer. Nothing for a group of one.
  void agree_written();

  const spec::JobConfig& job_;
  core::Logger& log_;
  const TrainRunOptions& options_;
  GradientSync& sync_;
  const bool writer_;
  const fs::path dir_;
  const std::string last_path_, best_path_, log_path_;
  const std::string prev_path_;  // the checkpoint before last_path_ (Note [Checkpoint checksums])
  const std::unique_ptr<TrainingTask> task_;
  std::string resolved_;  // to_yaml(job_)

  std::shared_ptr<const datastore::PatchStore> store_;
  JobSplit split_;
  std::array<int64_t, 3> counts_{};  // training samples per class
  torch::Device device_{torch::kCPU};
  std::unique_ptr<JobModel> model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::unique_ptr<GraphedStep> graphs_;  // null where steps are not captured
  std::unique_ptr<GraphedEval> eval_graphs_;  // likewise, validation's forwards
  std::vector<torch::Tensor> params_;
  int64_t rank_batch_ = 0;  // this rank's share of a batch
  std::unique_ptr<datastore::BatchLoader> loader_;
  datastore::SamplerKind sampler_{};
  datastore::Budget budget_{};
  CheckpointState st_;
  std::optional<StopSignals> stop_;
  Progress progress_{stderr};
  int steps_this_run_ = 0;
  size_t epoch_samples_ = 0;  // this rank's samples in the current epoch
  int stopped_at_epoch_ = 0;  // on_epoch stopped the job after this epoch
  int paused_at_epoch_ = 0;   // on_epoch paused the job after this epoch
  std::exception_ptr unwritten_;  // the writer's failed write, until the group agrees on it
  uint32_t unwritten_bits_ = 0;   // its kWriteFailed or kWriteStorageFailed
  PhaseTimes times_;  // this run's, written to timing.json by finish()
};

template <typename Write>
void JobRun::write(Write&& body) {
  if (!writer_ || unwritten_) return;
  if (sync_.group_size() == 1) {
    body();
    return;
  }
  try {
    body();
  } catch (const core::StorageError&) {
    unwritten_ = std::current_exception();
    unwritten_bits_ = kWriteStorageFailed;
  } catch (...) {
    unwritten_ = std::current_exception();
    unwritten_bits_ = kWriteFailed;
  }
}

void JobRun::check_written(uint32_t bits) {
  if ((bits & kWriteBits) == 0) return;
  if (unwritten_) std::rethrow_exception(unwritten_);
  const std::string what = core::str_cat(
      job_.output, ": the writer of this data-parallel group (its rank 0) could not write the "
      "job's files; its error names the file");
  if (bits & kWriteStorageFailed) throw core::StorageError(what);
  throw core::Error(what);
}

void JobRun::agree_written() {
  if (sync_.group_size() > 1) check_written(sync_.any(unwritten_bits_));
}

bool JobRun::open_folder() {
  validate(job_, job_.output);
  // `fracsweep run` checks every job against its ranks before any starts; this
  // guards `fracsweep train` and any other way in.
  spec::validate_group(job_, sync_.group_size(), "the job's ranks", job_.output);
  const std::string config_path = (dir_ / "config.yaml").string();
  resolved_ = to_yaml(job_);
  write([&] {
    fs::create_directories(job_.output);
    if (fs::exists(config_path)) {
      CHECK_OR_THROW(core::ConfigError, core::read_file(config_path) == resolved_, job_.output,
                     ": the folder holds a different job (config.yaml differs); choose another "
                     "output folder or delete this one");
    } else {
      core::write_file_atomic(config_path, resolved_);
    }
  });
  agree_written();  // before the others use a folder that may hold another job
  if (fs::exists(dir_ / "metrics.json")) {
    log_.info(job_.output, ": finished already (metrics.json exists)");
    return false;
  }
  return true;
}

bool JobRun::prepare() {
  PhaseTimer timer(times_.startup_s);
  if (!open_folder()) return false;
  torch::set_num_threads(intra_op_threads(job_.train.threads, std::thread::hardware_concurrency()));
  load_data();
  device_ = options_.device ? *options_.device
                            : resolve_device(job_.train.device, cuda_device_count(),
                                             options_.rank_device, job_.output);
  configure_backend(device_);
  make_model();
  make_loader();
  log_.info(job_.output, ": ", job_.model.variant, " (", task_->name(), "), ",
            split_.train_samples.size(), " training samples (", counts_[0], " / ", counts_[1],
            task_->classes() == 3 ? core::str_cat(" / ", counts_[2]) : std::string(),
            "), sampler ", datastore::sampler_name(sampler_), ", ", job_.train.epochs,
            " epochs", budget_ == datastore::Budget::kSteps ? " of over-sampled length" : "",
            ", on ", device_.str(), uses_bf16(job_.train.precision) ? " (bf16)" : "");
  return true;
}

void JobRun::load_data() {
  store_ = std::make_shared<const datastore::PatchStore>(
      datastore::PatchStore::open(job_.data.store));
  task_->check_store(*store_, job_);
  const auto& ix = store_->index();
  split_ = resolve_split(ix, job_.data);
  write([&] {
    core::write_file_atomic((dir_ / "split.json").string(), split_json(ix, split_, job_.data));
  });
  for (uint32_t i : split_.train_samples) ++counts_[static_cast<size_t>(ix.label[i])];
}

void JobRun::make_loader() {
  datastore::LoaderOptions lo;
  lo.batch_size = job_.train.batch_size / sync_.group_size();
  lo.neighbours = model_->uses_neighbours();
  lo.augment = {job_.train.rotation, job_.train.hflip, job_.train.vflip};
  lo.seed = seed_for(job_, "augment");
  lo.workers = job_.train.loader_workers;
  rank_batch_ = lo.batch_size;
  loader_ = std::make_unique<datastore::BatchLoader>(store_, lo);
  sampler_ = sampler_of(job_);
  budget_ = *datastore::parse_budget(job_.train.budget);  // validated with the job
  stop_.emplace();
}

void JobRun::make_model() {
  // Initialised on the CPU from the job's seed, then moved: the same weights on every device.
  torch::manual_seed(seed_for(job_, "init"));
  model_ = make_job_model(job_, counts_);
  if (!job_.model.package.empty()) {
    const std::string initial = spec::exported_initial_weights(job_);
    log_.info(job_.output, ": initial weights ", !initial.empty() ? initial :
              "of the package (the same for every seed; `fracsweep export --initial-weights "
              "SEEDS` writes a seed's own beside it)");
  }
  model_->to(device_);
  if (job_.train.channels_last) to_channels_last(model_->module());
  optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->module().parameters(),
      torch::optim::AdamOptions(job_.train.lr).weight_decay(job_.train.weight_decay));
  graphs_ = make_graphed_step(job_, *model_, *optimizer_, device_, sync_.group_size(), log_);
  eval_graphs_ = make_graphed_eval(job_, *model_, device_, log_);
}

void JobRun::resume() {
  PhaseTimer timer(times_.startup_s);
  load_last_checkpoint();
  write([&] { truncate_log(log_path_, st_.epoch); });
  if (writer_ && options_.observer) options_.observer->started(static_cast<int>(st_.epoch));
}

void JobRun::load_last_checkpoint() {
  bool any = false;
  for (const std::string& path : {last_path_, prev_path_}) {
    if (!fs::exists(path)) continue;
    any = true;
    std::string problem = checkpoint_problem(path);
    if (problem.empty()) {
      try {
        st_ = load_checkpoint(path, *model_, optimizer_.get(), device_);
        log_.info(job_.output, ": resuming at epoch ", st_.epoch + 1, " step ", st_.step,
                  path == last_path_ ? "" : " from the previous checkpoint");
        return;
      } catch (const UnreadableCheckpoint& e) {
        problem = e.what();
      }
      make_model();  // whatever the failed load left behind goes
    }
    log_.warn(job_.output, ": ", fs::path(path).filename().string(), " cannot be used: ",
              problem);
  }
  if (any) log_.warn(job_.output, ": no intact checkpoint; training the job from the start");
}

bool JobRun::train() {
  agree_written();  // split.json and the log's truncation
  // Every rank of a group has made the same model from the same job, or none starts.
  sync_.check_agreement(signature_of(*model_, resolved_));
  params_ = model_->module().parameters();
  // A captured step must not run the sync's hooks: it averages after the replay.
  if (sync_.group_size() > 1 && !graphs_) sync_.attach(params_);
  for (; st_.epoch < job_.train.epochs; ++st_.epoch)
    if (!epoch()) return false;
  return true;
}

// Starts the loader on this rank's share of the epoch's order, past the steps
// a resumed epoch has taken; returns the epoch's steps.
size_t JobRun::start_epoch() {
  std::vector<uint32_t> order = datastore::epoch_order(
      sampler_, split_.train_samples, store_->index().label, task_->classes(),
      seed_for(job_, core::str_cat("order/", st_.epoch)), budget_);
  order = datastore::rank_slice(order, sync_.group_rank(), sync_.group_size());
  const size_t batch = static_cast<size_t>(rank_batch_);
  // A last batch of one sample fails every model with batch norm in training mode
  // ("Expected more than 1 value per channel"): as drop_last would, for this remainder
  // only, that sample sits this epoch out (the order is new every epoch). Every rank of a
  // group has an order of the same length, so all drop it or none.
  if (order.size() % batch == 1 && order.size() > 1) order.pop_back();
  epoch_samples_ = order.size();
  const size_t steps = (order.size() + batch - 1) / batch;
  order.erase(order.begin(),
              order.begin() + std::min(order.size(), static_cast<size_t>(st_.step) * batch));
  loader_->start_epoch(static_cast<int>(st_.epoch), std::move(order));
  if (options_.progress)
    progress_.start_epoch(static_cast<int>(st_.epoch), job_.train.epochs, steps);
  return steps;
}

bool JobRun::epoch() {
  const auto started = Clock::now();
  const size_t steps = start_epoch();
  size_t seen = 0;
  model_->module().train();
  {
    PhaseTimer timer(times_.loop_s);
    while (step(seen)) {
      report_step(steps, started, seen);
      if (stopped()) return false;
    }
  }
  end_epoch(started, seen);
  return stopped_at_epoch_ == 0 && paused_at_epoch_ == 0;
}

bool JobRun::step(size_t& seen) {
  int64_t taken = 0;
  const std::optional<LossTerms> terms = next_loss(taken);
  if (!terms) return false;
  apply(*terms);
  add_terms(*terms, st_.sums);
  ++st_.step;
  st_.samples += taken;
  seen += static_cast<size_t>(taken);
  return true;
}

// The loss terms of this rank's next batch, or nothing at the end of the
// epoch. A rank that cannot take the step (its batch failed, its loss is not
// finite) tells the group first, so that no rank waits in average(); then
// every rank of the group throws.
std::optional<LossTerms> JobRun::next_loss(int64_t& taken) {
  std::optional<datastore::Batch> b;
  LossTerms terms;
  std::string failure;
  uint32_t bits = 0;
  try {
    {
      PhaseTimer timer(times_.data_s);
      b = loader_->next();
    }
    if (b) {
      const BatchTensors t =
          to_device(to_tensors(std::move(*b)), device_, job_.train.channels_last);
      AutocastScope autocast(device_.type(), uses_bf16(job_.train.precision));
      terms = graphs_ ? graphs_->forward_backward(t, static_cast<int>(st_.epoch))
                      : model_->loss(t, static_cast<int>(st_.epoch));
      check_finite(terms);
      taken = t.labels.size(0);
    }
  } catch (const NonFiniteLossError& e) {
    failure = e.what();
    bits |= kStepNonFinite;
  } catch (const std::exception& e) {
    failure = error_message(e);
    // The whole text, LibTorch's backtrace included, for whoever debugs it.
    write([&] {
      core::write_file_atomic((dir_ / "failure.txt").string(), std::string(e.what()) + "\n");
    });
    bits |= kStepFailed;
  }
  if (sync_.group_size() > 1) bits = sync_.any(bits | unwritten_bits_);
  check_written(bits);  // failure.txt's disk failing stops the run, as for one rank
  if (bits != 0) {
    if (failure.empty()) failure = "another rank of the data-parallel group failed";
    throw core::Error(core::str_cat(job_.output, ": epoch ", st_.epoch + 1, " step ",
                                    st_.step + 1, ": ", failure));
  }
  if (!b) return std::nullopt;
  return terms;
}

// Backward, the group's average of the gradients, the optimizer step.
void JobRun::apply(const LossTerms& terms) {
  // In place, with one rank too: the gradients may be views into the sync's
  // buffer, and the step must not depend on the LibTorch version.
  if (!graphs_) {  // else forward_backward() took both (trainer/cuda_graphs.h)
    zero_gradients(params_);
    terms.total.backward();
  }
  if (sync_.group_size() > 1) {
    std::vector<torch::Tensor> grads;
    for (auto& p : params_)
      if (p.grad().defined()) grads.push_back(p.grad());
    sync_.average(grads);
  }
  if (graphs_)
    graphs_->update();
  else
    optimizer_->step();
}

void JobRun::report_step(size_t steps, Clock::time_point started, size_t seen) {
  if (options_.progress) {
    const double s = std::chrono::duration<double>(Clock::now() - started).count();
    progress_.step(static_cast<size_t>(st_.step), st_.sums[5] / st_.step, s > 0 ? seen / s : 0);
  }
  if (options_.on_step)
    options_.on_step({st_.epoch, job_.train.epochs, st_.step, static_cast<int64_t>(steps),
                      st_.sums[5] / st_.step});
}

// Whether a stop signal reached any rank of the group (or the tests' step
// limit passed); then the checkpoint is written.
bool JobRun::stopped() {
  ++steps_this_run_;
  uint32_t stop_bits = stop_->requested() || (options_.stop_after_steps >= 0 &&
                                              steps_this_run_ >= options_.stop_after_steps);
  if (sync_.group_size() > 1) stop_bits = sync_.any(stop_bits);
  if (!stop_bits) return false;
  write([&] { save_checkpoint(last_path_, *model_, optimizer_.get(), st_, prev_path_); });
  agree_written();
  log_.warn(job_.output, ": stopped", stop_->requested() ? " on signal " : "",
            stop_->requested() ? std::to_string(stop_->signal()) : std::string(), " at epoch ",
            st_.epoch + 1, " step ", st_.step, "; checkpoint written, run again to resume");
  return true;
}

std::tuple<nlohmann::json, double, bool> JobRun::evaluate() {
  std::optional<PhaseTimer> timer(std::in_place, times_.eval_s);
  std::function<torch::Tensor(const BatchTensors&)> graphed;
  if (eval_graphs_)
    graphed = [this](const BatchTensors& b) { return eval_graphs_->probabilities(b); };
  const metrics::Predictions val =
      predict(*model_, store_, split_.val_samples, job_, device_, nullptr, graphed);
  auto [val_metrics, score] = validate_predictions(val, job_);
  timer.reset();
  const bool best = score > st_.best_score;
  if (best) {
    st_.best_score = score;
    st_.best_epoch = st_.epoch;
    PhaseTimer saving(times_.checkpoint_s);
    write([&] { save_checkpoint(best_path_, *model_, nullptr, st_); });
  }
  return {val_metrics, score, best};
}

// Evaluation, the epoch's log line and the checkpoint at the start of the next epoch.
void JobRun::end_epoch(Clock::time_point started, size_t seen) {
  const auto [val_metrics, score, best] = evaluate();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  nlohmann::json line;
  line["epoch"] = st_.epoch + 1;
  nlohmann::json train;
  const auto names = model_->term_names();
  for (int k = 0; k < kLossTerms; ++k)
    if (names[k]) train[names[k]] = st_.step ? st_.sums[k] / st_.step : 0.0;
  line["train"] = train;
  line["steps"] = st_.step;
  line["samples"] = epoch_samples_;  // this rank's, the whole epoch, resumed or not
  line["lr"] = job_.train.lr;
  line["val"] = val_metrics;
  line["best"] = best;
  line["seconds"] = seconds;
  line["samples_per_s"] = seconds > 0 ? seen / seconds : 0.0;
  write([&] { append_line(log_path_, line.dump()); });
  if (writer_ && options_.observer) options_.observer->epoch(line);
  if (options_.progress)
    progress_.end_epoch(core::str_cat("loss ", train["total"].get<double>(), "  val ",
                                      job_.train.selection_metric, " ", score,
                                      best ? " (best)" : ""));
  st_.step = 0;
  st_.sums = {};
  // Asked before the checkpoint: a run killed in between repeats the epoch and
  // asks again, and the search answers as it did (sweeps/search_run.h).
  if (options_.on_epoch) {
    // Bits, so that the group agrees with one OR: 1 stop, 2 pause.
    // With the writer's writes so far: one that failed asks nothing, and the job
    // ends here on every rank (Note [The writer's failed writes]).
    uint32_t bits = 0;
    if (writer_ && !unwritten_) {
      const EpochVerdict v = options_.on_epoch(static_cast<int>(st_.epoch + 1), val_metrics);
      bits = v == EpochVerdict::kStop ? 1 : v == EpochVerdict::kPause ? 2 : 0;
    }
    if (sync_.group_size() > 1) bits = sync_.any(bits | unwritten_bits_);
    check_written(bits);
    if (bits & 1) {
      stopped_at_epoch_ = static_cast<int>(st_.epoch + 1);
      log_.info(job_.output, ": stopped by the search after epoch ", stopped_at_epoch_);
      return;
    }
    // Paused: the checkpoint below is the one it resumes from.
    if (bits & 2) paused_at_epoch_ = static_cast<int>(st_.epoch + 1);
  }
  {
    PhaseTimer saving(times_.checkpoint_s);
    write([&] {
      save_checkpoint(last_path_, *model_, optimizer_.get(),
                      CheckpointState{st_.epoch + 1, 0, st_.best_score, st_.best_epoch, {},
                                      st_.samples},
                      prev_path_);
    });
  }
  agree_written();
}

// After the group's last collective: see Note [The writer's failed writes].
nlohmann::json JobRun::finish() {
  if (!writer_) return nullptr;
  const auto finish_started = Clock::now();
  const std::string damaged = checkpoint_problem(best_path_);
  CHECK_OR_THROW(core::Error, damaged.empty(), best_path_, ": ", damaged,
                 "; the best epoch's weights are lost: delete the job's folder to train it again");
  load_checkpoint(best_path_, *model_, nullptr, device_);
  const metrics::Predictions val = predict(*model_, store_, split_.val_samples, job_, device_);
  const metrics::Predictions test =
      task_->test(*model_, store_, split_.test_samples, job_, device_, dir_);
  metrics::write_predictions(val, (dir_ / "predictions_val.csv").string());
  metrics::write_predictions(test, (dir_ / "predictions_test.csv").string());
  nlohmann::json result = nlohmann::json::parse(metrics::to_json(
      metrics::compute_metrics(test, 0.5, (dir_ / "predictions_test.csv").string())));
  result["best_epoch"] = st_.best_epoch + 1;
  result["selection_metric"] = job_.train.selection_metric;
  result["val_score"] = st_.best_score;
  // Before metrics.json, which marks the job done: a finished job has both.
  times_.finish_s = std::chrono::duration<double>(Clock::now() - finish_started).count();
  core::write_file_atomic((dir_ / "timing.json").string(), times_.to_json().dump(1) + "\n");
  core::write_file_atomic((dir_ / "metrics.json").string(), result.dump(1) + "\n");
  if (options_.observer)
    options_.observer->finished(result, {"metrics.json", "predictions_test.csv", "predictions_val.csv",
                                         "heatmaps_test.h5", "log.jsonl"});
  const char* headline = task_->headline_metric();
  log_.info(job_.output, ": done; best epoch ", st_.best_epoch + 1, ", test ", headline, " ",
            result.value(headline, 0.0));
  return result;
}

}  // namespace

JobResult run_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options) {
  if (job.model.variant == "curve") return run_curve_job(job, log, options);
  LocalSync local;
  GradientSync& sync = options.sync ? *options.sync : local;
  JobRun run(job, log, options, sync);
  if (!run.prepare()) {
    if (sync.group_rank() != 0) return {};
    const fs::path metrics = fs::path(job.output) / "metrics.json";
    return {0, nlohmann::json::parse(core::read_file(metrics.string()))};
  }
  run.resume();
  if (!run.train()) {
    if (run.stopped_at_epoch()) return {0, nullptr, run.stopped_at_epoch()};
    return {kExitInterrupted, nullptr, 0, run.paused_at_epoch()};
  }
  return {0, run.finish()};
}

std::string error_message(const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e))
    return torch_error->what_without_backtrace();
  return e.what();
}

int train_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options) {
  return run_job(job, log, options).code;
}

}  // namespace fracsweep::trainer
