// See predict_sweep.h.
#include "launcher/predict_sweep.h"

#include <mpi.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "datastore/heatmaps.h"
#include "launcher/placement.h"
#include "metrics/predictions.h"
#include "spec/job_config.h"
#include "sweeps/ledger.h"
#include "sweeps/status.h"
#include "trainer/apply_model.h"
#include "trainer/backends.h"
#include "trainer/device.h"
#include "trainer/task.h"
#include "trainer/threads.h"
#include "trainer/train_job.h"

namespace fracsweep::launcher {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kPredictions = "predictions_test.csv";
constexpr const char* kHeatmaps = "heatmaps_test.h5";
constexpr const char* kOverlays = "overlays_test.png";

// A finished job to apply, with its resolved configuration (job.output is its
// folder inside the sweep's folder, wherever the sweep ran from).
struct PlannedJob {
  std::string name, variant;
  spec::JobConfig job;
};

struct Plan {
  std::vector<PlannedJob> jobs;        // in the manifest's order
  std::vector<std::string> variants;   // with a finished job, in the manifest's order
  std::shared_ptr<const datastore::PatchStore> store;
  fs::path out;
};

std::string join(const std::set<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::vector<PlannedJob> finished_jobs(const PredictOptions& o) {
  const sweeps::SweepManifest manifest = sweeps::read_manifest(o.sweep_dir);
  core::Logger quiet(core::LogLevel::kOff);
  const sweeps::LedgerState state =
      sweeps::summarize(sweeps::read_sweep_ledger(o.sweep_dir, quiet));
  std::set<std::string> known;
  for (const auto& mj : manifest.jobs) known.insert(mj.variant);
  for (const std::string& v : o.variants)
    CHECK_OR_THROW(core::ConfigError, known.count(v), "--variants: '", v, "' is not a variant of ",
                   o.sweep_dir, " (its variants: ", join(known), ")");
  std::vector<PlannedJob> out;
  for (const auto& mj : manifest.jobs) {
    if (!o.variants.empty() &&
        std::find(o.variants.begin(), o.variants.end(), mj.variant) == o.variants.end())
      continue;
    if (!state.finished(mj.id)) continue;
    const fs::path dir = fs::path(o.sweep_dir) / mj.name;
    PlannedJob p{mj.name, mj.variant, spec::load_job_config((dir / "config.yaml").string())};
    p.job.output = dir.string();
    out.push_back(std::move(p));
  }
  CHECK_OR_THROW(core::ConfigError, !out.empty(), o.sweep_dir, ": no finished job",
                 o.variants.empty() ? "" : " of the --variants named",
                 " to predict with; run the sweep first (fracsweep status ", o.sweep_dir,
                 " shows where it stands)");
  return out;
}

// Refuses a store the sweep's models cannot be applied to, naming what differs.
void check_store(const std::vector<PlannedJob>& jobs, const datastore::PatchStore& store,
                 bool tta) {
  std::map<std::string, std::unique_ptr<datastore::PatchStore>> trained_on;
  for (const PlannedJob& p : jobs) {
    auto& train = trained_on[p.job.data.store];
    if (!train) {
      CHECK_OR_THROW(core::ConfigError, fs::exists(p.job.data.store), p.job.output,
                     "/config.yaml: data.store ", p.job.data.store,
                     " (the training store) is missing, so ", store.path(),
                     " cannot be checked against it; run predict from the folder the sweep ran "
                     "in, or restore the store");
      train = std::make_unique<datastore::PatchStore>(datastore::PatchStore::open(p.job.data.store));
    }
    const std::string why = trainer::store_mismatch(p.job, *train, store);
    CHECK_OR_THROW(core::ConfigError, why.empty(), why);
    CHECK_OR_THROW(core::ConfigError, !tta || trainer::flip_augmentation_allowed(p.job),
                   "--tta: job ", p.name, " (variant '", p.job.model.variant,
                   "') detects pelvic fractures, whose model already sees the mirrored side and "
                   "whose warp a flip would break; leave --tta out");
  }
}

// predict.json: what the folder's predictions are of. A folder written for
// another store or --tta setting is refused rather than mixed.
nlohmann::ordered_json folder_record(const datastore::PatchStore& store, bool tta) {
  nlohmann::ordered_json j;
  j["store"] = fs::weakly_canonical(store.path()).string();
  j["items"] = store.size();
  j["task"] = datastore::task_name(store.info().task);
  j["height"] = store.info().height;
  j["width"] = store.info().width;
  j["tta"] = tta ? "hflip" : "none";
  return j;
}

void check_folder(const fs::path& out, const nlohmann::ordered_json& record) {
  const fs::path path = out / "predict.json";
  if (!fs::exists(path)) return;
  const auto seen = nlohmann::ordered_json::parse(core::read_file(path.string()));
  CHECK_OR_THROW(core::ConfigError, seen == record, path.string(), " records predictions of ",
                 seen.dump(), ", not of ", record.dump(),
                 "; name another folder with --out (or delete this one)");
}

Plan make_plan(const PredictOptions& o) {
  Plan plan;
  plan.jobs = finished_jobs(o);
  plan.store = std::make_shared<const datastore::PatchStore>(datastore::PatchStore::open(o.store));
  check_store(plan.jobs, *plan.store, o.tta);
  for (const PlannedJob& p : plan.jobs)
    if (std::find(plan.variants.begin(), plan.variants.end(), p.variant) == plan.variants.end())
      plan.variants.push_back(p.variant);
  plan.out = predict_output_dir(o);
  check_folder(plan.out, folder_record(*plan.store, o.tta));
  return plan;
}

// True on every rank when `ok` is true on every rank.
bool all_ok(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
  return all == 1;
}

// Applies one job into <out>/jobs/<name>/ through a .partial folder; false when it failed.
bool predict_job(const PlannedJob& p, const Plan& plan, const torch::Device& device,
                 const trainer::ApplyOptions& apply, core::Logger& log) {
  const fs::path final_dir = plan.out / "jobs" / p.name;
  if (fs::exists(final_dir / kPredictions)) return true;
  const fs::path partial = final_dir.string() + ".partial";
  try {
    fs::remove_all(partial);  // a killed run's leftovers
    fs::create_directories(partial);
    const auto start = Clock::now();
    auto model = trainer::load_selected_model(p.job, device);
    const double loaded = std::chrono::duration<double>(Clock::now() - start).count();
    const metrics::Predictions pr =
        trainer::apply_to_store(*model, plan.store, device, partial, apply);
    log.debug(p.name, ": model loaded in ", loaded, " s");
    fs::remove_all(final_dir);  // an incomplete folder of an older layout, if any
    fs::rename(partial, final_dir);
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    log.info(p.name, ": ", pr.size(), " items in ", s, " s (", pr.size() / std::max(s, 1e-9),
             " items/s)");
    return true;
  } catch (const std::exception& e) {
    log.error(p.name, ": ", trainer::error_message(e));
    return false;
  }
}

// The mean of the members' predictions, row by row (the members predicted the
// same store in the same order; checked).
metrics::Predictions mean_predictions(const std::vector<fs::path>& files) {
  metrics::Predictions mean = metrics::read_predictions(files.front().string());
  for (size_t m = 1; m < files.size(); ++m) {
    const metrics::Predictions p = metrics::read_predictions(files[m].string());
    CHECK_OR_THROW(core::Error, p.ids == mean.ids && p.kind == mean.kind &&
                                    p.num_classes == mean.num_classes,
                   files[m].string(), ": other items or classes than ", files.front().string(),
                   "; delete the job folders under jobs/ that are not of this store and rerun");
    for (size_t i = 0; i < mean.scores.size(); ++i) mean.scores[i] += p.scores[i];
  }
  for (double& s : mean.scores) s /= static_cast<double>(files.size());
  return mean;
}

datastore::HeatmapSet mean_heatmaps(const std::vector<fs::path>& files) {
  datastore::HeatmapSet mean = datastore::read_heatmaps(files.front().string());
  std::vector<std::vector<double>> sum(mean.images.size());
  for (size_t i = 0; i < mean.images.size(); ++i)
    sum[i].assign(mean.images[i].heatmap.begin(), mean.images[i].heatmap.end());
  for (size_t m = 1; m < files.size(); ++m) {
    const datastore::HeatmapSet h = datastore::read_heatmaps(files[m].string());
    CHECK_OR_THROW(core::Error, h.images.size() == mean.images.size(), files[m].string(), ": ",
                   h.images.size(), " heatmaps, ", files.front().string(), " has ",
                   mean.images.size());
    for (size_t i = 0; i < sum.size(); ++i)
      for (size_t k = 0; k < sum[i].size(); ++k) sum[i][k] += h.images[i].heatmap.at(k);
  }
  for (size_t i = 0; i < sum.size(); ++i)
    for (size_t k = 0; k < sum[i].size(); ++k)
      mean.images[i].heatmap[k] = static_cast<float>(sum[i][k] / files.size());
  return mean;
}

// Writes ensembles/<variant>/ for every variant, through a .partial folder.
void write_ensembles(const Plan& plan, core::Logger& log) {
  std::vector<uint32_t> all(plan.store->size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  for (const std::string& variant : plan.variants) {
    std::vector<fs::path> dirs;
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (const PlannedJob& p : plan.jobs)
      if (p.variant == variant) {
        dirs.push_back(plan.out / "jobs" / p.name);
        members.push_back(p.name);
      }
    const fs::path final_dir = plan.out / "ensembles" / variant;
    const fs::path partial = final_dir.string() + ".partial";
    fs::remove_all(partial);
    fs::create_directories(partial);
    std::vector<fs::path> files, maps;
    for (const fs::path& d : dirs) {
      files.push_back(d / kPredictions);
      if (fs::exists(d / kHeatmaps)) maps.push_back(d / kHeatmaps);
    }
    metrics::write_predictions(mean_predictions(files), (partial / kPredictions).string());
    if (!maps.empty() && maps.size() == dirs.size()) {
      const datastore::HeatmapSet mean = mean_heatmaps(maps);
      datastore::write_heatmaps((partial / kHeatmaps).string(), mean);
      trainer::write_overlays(*plan.store, all, mean, partial / kOverlays);
    }
    nlohmann::ordered_json record;
    record["variant"] = variant;
    record["members"] = members;
    record["combination"] = "mean probability per item and class (mean heatmap per pixel)";
    core::write_file_atomic((partial / "ensemble.json").string(), record.dump(1) + "\n");
    fs::remove_all(final_dir);
    fs::rename(partial, final_dir);
    log.info("ensemble ", variant, ": ", dirs.size(), " models");
  }
}

}  // namespace

std::string predict_output_dir(const PredictOptions& o) {
  if (!o.out.empty()) return o.out;
  return (fs::path(o.sweep_dir) / "external" / fs::path(o.store).stem()).string();
}

int predict_sweep(const MpiSession& mpi, const PredictOptions& o, core::Logger& log) {
  const int rank = mpi.world_rank(), ranks = mpi.world_size();
  // Every rank plans alike from the same files; they agree before any writes.
  Plan plan;
  std::string problem;
  try {
    plan = make_plan(o);
  } catch (const core::ConfigError& e) {
    problem = e.what();
  }
  if (!all_ok(problem.empty())) {
    if (!problem.empty() && rank == 0) throw core::ConfigError(problem);
    return cli::kExitBadInput;
  }
  if (rank == 0) {
    fs::create_directories(plan.out / "jobs");
    core::write_file_atomic((plan.out / "predict.json").string(),
                            folder_record(*plan.store, o.tta).dump(1) + "\n");
  }
  const RankPlacement placement = place_rank(false);
  const torch::Device device =
      trainer::resolve_device(o.device, placement.cuda_devices, placement.device, "--device");
  trainer::configure_backend(device);
  const int threads = trainer::intra_op_threads(0, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  // See Note [Inference streams]: on the CPU the threads take whole batches.
  const trainer::InferenceOptions inference{
      o.batch, device.is_cpu() ? (o.streams > 0 ? o.streams : threads) : 1};
  log.debug("batch ", o.batch > 0 ? std::to_string(o.batch) : "of each job's training",
            ", ", inference.streams, " stream(s), ", threads, " intra-op thread(s)");
  all_ok(true);  // the folder exists before any rank writes into it
  const auto start = Clock::now();
  bool ok = true;
  for (size_t i = static_cast<size_t>(rank); i < plan.jobs.size(); i += static_cast<size_t>(ranks)) {
    ok = predict_job(plan.jobs[i], plan, device, {o.tta, inference}, log) && ok;
  }
  if (!all_ok(ok)) {
    if (rank == 0) log.error("some jobs failed (named above); run the same command again");
    return cli::kExitFailure;
  }
  bool ensembles = true;
  if (rank == 0) {
    try {
      write_ensembles(plan, log);
    } catch (const std::exception& e) {
      log.error(trainer::error_message(e));
      ensembles = false;
    }
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    log.info(plan.jobs.size(), " jobs x ", plan.store->size(), " items in ", s, " s; written to ",
             plan.out.string());
  }
  return all_ok(ensembles) ? cli::kExitOk : cli::kExitFailure;
}

}  // namespace fracsweep::launcher
