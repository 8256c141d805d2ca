// See run_tracking.h.
#include "launcher/run_tracking.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/report.h"
#include "report/report.h"
#include "spec/exported.h"
#include "spec/tracking.h"
#include "tracking/mlflow_queue.h"
#include "tracking/tensorboard.h"

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

// Appends `item` unless `list` holds it.
template <typename T>
void add_once(std::vector<T>& list, const T& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// The metric tags a variant's jobs write, to `test` and `val`: the final test values (the
// averages, then per class, then the best epoch and its validation score), then the
// validation curves' last values, each with the job's headline (train.selection_metric)
// first.
void add_metric_tags(const spec::Variant& v, const std::string& headline,
                     std::vector<std::string>& test, std::vector<std::string>& val) {
  add_once(test, "test/" + headline);
  add_once(val, "val/" + headline);
  const spec::TaskInfo& task = spec::task_info(v.task);
  for (const std::string& m : task.test_metrics) add_once(test, "test/" + m);
  // What metrics.json and log.jsonl's "val" hold (trainer/train_job.cpp, evaluate.h).
  const std::vector<std::string> all = metrics::metric_names(task.classes);
  for (const std::string& m : all) add_once(test, "test/" + m);
  for (const char* m : {"best_epoch", "val_score"}) add_once(test, std::string("test/") + m);
  for (const std::string& m : v.val_metrics) add_once(val, "val/" + m);
  for (const std::string& m : all) add_once(val, "val/" + m);
}

// The hyperparameters every job's session names (tensorboard.cpp), with the values they
// take; a search's sampled keys span the search's range or choices.
std::vector<tracking::HParamsExperiment::HParam> hparams_of(const sweeps::Sweep& sweep) {
  std::vector<std::string> names = {"job", "sweep", "variant", "part", "seed"};
  std::map<std::string, std::vector<std::string>> values;
  values["sweep"] = {sweep.name};
  for (const sweeps::SweepJob& job : sweep.jobs) {
    values["job"].push_back(job.name);  // unique
    add_once(values["variant"], job.variant);
    add_once(values["part"], job.part);
    add_once(values["seed"], std::to_string(job.seed));
    for (const auto& [axis, value] : job.axes) {
      add_once(names, axis);
      add_once(values[axis], value);
    }
  }
  if (sweep.search)
    for (const sweeps::SearchParam& p : sweep.search->space) {
      add_once(names, p.key);
      if (p.dist == sweeps::SearchParam::Dist::kChoice) {
        for (const std::string& v : p.values) add_once(values[p.key], v);
      } else {
        add_once(values[p.key], fmt::format("{}", p.low));  // the shortest exact text
        add_once(values[p.key], fmt::format("{}", p.high));
      }
    }
  std::vector<tracking::HParamsExperiment::HParam> hparams;
  for (const std::string& name : names) hparams.push_back({name, values[name]});
  return hparams;
}

// The sweep's experiment for TensorBoard's hparams page: its hyperparameters, then the
// metric columns of each variant (looked up once: an exported one reads its package).
tracking::HParamsExperiment experiment_of(const sweeps::Sweep& sweep) {
  tracking::HParamsExperiment x;
  x.name = sweep.name;
  x.hparams = hparams_of(sweep);
  std::vector<std::string> test, val;
  std::set<std::pair<std::string, std::string>> seen;  // variant, headline
  for (const sweeps::SweepJob& job : sweep.jobs)
    if (seen.emplace(job.variant, job.config.train.selection_metric).second)
      add_metric_tags(spec::job_variant(job.config), job.config.train.selection_metric, test, val);
  x.metrics = test;
  x.metrics.insert(x.metrics.end(), val.begin(), val.end());
  return x;
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
  if (root && sweep.tracking.tensorboard && !sweep.jobs.empty()) {
    try {
      tracking::write_hparams_experiment(sweep.output + "/tb", experiment_of(sweep));
    } catch (const std::exception& e) {
      // See Note [Tracking never stops training].
      log.warn(sweep.output, ": TensorBoard's hparams page lists its metrics by name: ", e.what());
    }
  }
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
  if (sender_ || sweep_.search) run.settings = flat_settings(config);
  if (sweep_.search)  // the trial's sampled values, as its config holds them
    for (const sweeps::SearchParam& p : sweep_.search->space)
      for (const auto& [key, value] : run.settings)
        if (key == p.key) run.axes.emplace_back(key, value);
  return std::make_unique<tracking::JobTracking>(
      std::move(run), sweep_.tracking, sender_.get(),
      sweep_.tracking.mlflow ? sweep_.tracking.mlflow->experiment : std::string(), sweep_.output, log_);
}

std::vector<tracking::Artifact> RunTracking::write_report() {
  std::vector<tracking::Artifact> artifacts;
  try {
    const report::SweepResults results = report::collect_results(sweep_.output);
    const report::Report built = report::build_report(results, {});
    const std::string out = sweep_.output + "/report";
    for (const std::string& file : report::write_report(results, built, out, {})) {
      const std::string name = fs::relative(file, sweep_.output).generic_string();
      artifacts.push_back({name, name});
    }
    log_.info(sweep_.output, ": the sweep's report in ", out, "/ (", artifacts.size(),
              " files), attached to its MLflow run");
  } catch (const std::exception& e) {
    log_.warn(sweep_.output, ": MLflow: the sweep's run ends without its report (", e.what(),
              "); `fracsweep report ", sweep_.output, "` says more");
  }
  return artifacts;
}

void RunTracking::finish(const std::string& status, const std::string& results_table) {
  if (!sender_ || !root_) return;
  try {
    core::write_file_atomic(tracking::queue_dir(sweep_.output) + "/results.txt", results_table);
    std::vector<tracking::Artifact> artifacts = {
        {"mlflow/results.txt", "results.txt"}, {"sweep.yaml", "sweep.yaml"}, {"sweep.json", "sweep.json"}};
    for (tracking::Artifact& a : write_report()) artifacts.push_back(std::move(a));
    tracking::end_sweep_run(sweep_.output, artifacts, status);
    sender_->poke();
  } catch (const std::exception& e) {
    log_.warn(sweep_.output, ": MLflow: the sweep's run not ended: ", e.what());
  }
}

}  // namespace fracsweep::launcher
