// See run_tracking.h.
#include "launcher/run_tracking.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/fs.h"
#include "spec/tracking.h"
#include "tracking/mlflow_queue.h"

namespace fracsweep::launcher {
namespace {

namespace fs = std::filesystem;

void flatten(const YAML::Node& node, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node)
      flatten(kv.second, prefix.empty() ? kv.first.as<std::string>()
                                        : prefix + "." + kv.first.as<std::string>(), out);
  } else if (node.IsScalar()) {
    out.emplace_back(prefix, node.as<std::string>());
  } else if (node.IsSequence()) {
    out.emplace_back(prefix, YAML::Dump(node));
  }
}

}  // namespace

void use_mlflow_option(sweeps::Sweep& sweep, const std::string& uri) {
  if (uri.empty()) return;
  spec::MlflowSpec m = sweep.tracking.mlflow.value_or(spec::MlflowSpec{});
  m.uri = spec::check_mlflow_uri(uri, "--mlflow", "fracsweep run");
  if (m.experiment.empty()) m.experiment = sweep.name;
  sweep.tracking.mlflow = m;
}

std::vector<std::pair<std::string, std::string>> flat_settings(const spec::JobConfig& job) {
  // The resolved job's own YAML (what config.yaml holds), so that every setting is
  // named as the job file names it, with no second list of the fields to keep in step.
  std::vector<std::pair<std::string, std::string>> out;
  const YAML::Node root = YAML::Load(spec::to_yaml(job));
  for (const char* section : {"data", "model", "train"}) flatten(root[section], section, out);
  return out;
}

RunTracking::RunTracking(const sweeps::Sweep& sweep, bool writer, bool root, core::Logger& log)
    : sweep_(sweep), writer_(writer), root_(root), log_(log) {
  if (!sweep.tracking.mlflow || !(writer || root)) return;
  try {
    sender_ = std::make_unique<tracking::MlflowSender>(sweep.tracking.mlflow->uri, log);
    if (!root) return;
    tracking::queue_sweep_run(sweep.output, sweep.name, sweep.tracking.mlflow->experiment, sweep.path);
    sender_->watch(sweep.output);
    // Records an earlier run left unsent (the server was down as it ended).
    int left = 0;
    for (const sweeps::SweepJob& job : sweep.jobs)
      if (fs::exists(tracking::queue_dir(job.config.output) + "/queue.jsonl") &&
          !tracking::pending_records(job.config.output).empty()) {
        sender_->watch(job.config.output);
        ++left;
      }
    if (left) log.info("MLflow: ", left, " job(s) have records an earlier run left unsent; sending them");
  } catch (const std::exception& e) {
    // See Note [Tracking never stops training].
    log.warn(sweep.output, ": MLflow tracking off for this run: ", e.what());
    sender_.reset();
  }
}

RunTracking::~RunTracking() {
  if (!sender_) return;
  const size_t left = sender_->flush(kFlushSeconds);
  if (left)
    log_.warn("MLflow at ", sender_->uri(), ": ", left, " record(s) still queued after waiting ",
              kFlushSeconds, " s; they stay in the jobs' mlflow/ folders and the next `fracsweep "
              "run` of this sweep sends them");
}

std::unique_ptr<tracking::JobTracking> RunTracking::for_job(const sweeps::SweepJob& job,
                                                            const spec::JobConfig& config) {
  if (!writer_) return nullptr;
  tracking::RunInfo run;
  run.dir = config.output;
  run.name = job.name;
  run.id = job.id;
  run.sweep = sweep_.name;
  run.variant = job.variant;
  run.part = job.part;
  run.seed = job.seed;
  run.axes = job.axes;
  run.headline = config.train.selection_metric;
  if (sender_) run.settings = flat_settings(config);
  return std::make_unique<tracking::JobTracking>(
      std::move(run), sweep_.tracking, sender_.get(),
      sweep_.tracking.mlflow ? sweep_.tracking.mlflow->experiment : std::string(), sweep_.output, log_);
}

void RunTracking::finish(const std::string& status, const std::string& results_table) {
  if (!sender_ || !root_) return;
  try {
    core::write_file_atomic(tracking::queue_dir(sweep_.output) + "/results.txt", results_table);
    tracking::end_sweep_run(sweep_.output, {"mlflow/results.txt", "sweep.yaml", "sweep.json"}, status);
    sender_->poke();
  } catch (const std::exception& e) {
    log_.warn(sweep_.output, ": MLflow: the sweep's run not ended: ", e.what());
  }
}

}  // namespace fracsweep::launcher
