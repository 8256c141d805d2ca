// See curve_job.h.
#include "trainer/curve_job.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "trainer/stop_signals.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;

// Zero-mean noise in [-1, 1) for one purpose of the job.
double noise(const spec::JobConfig& job, const std::string& purpose) {
  const std::string part = job.data.split == "kfold" ? core::str_cat("fold", job.data.fold)
                                                     : core::str_cat("repeat", job.data.repeat);
  core::Rng rng(core::derive_seed(job.train.seed, part, 0, purpose));
  return 2 * rng.uniform01() - 1;
}

// How good the settings are, in (0, 1].
double quality(const spec::JobConfig& job) {
  const double d = std::log10(std::max(job.train.lr, 1e-12)) + 3;
  const double m = job.train.triplet_margin - 0.3;
  return std::exp(-0.5 * d * d - 2 * m * m);
}

double level(const spec::JobConfig& job) { return 0.6 + 0.35 * quality(job); }

// log.jsonl with `line` as the line of epoch `epoch`: a resumed epoch replaces
// the line an interrupted run wrote for it.
void write_log_line(const fs::path& path, int epoch, const std::string& line) {
  std::string kept;
  if (fs::exists(path)) {
    std::istringstream in(core::read_file(path.string()));
    for (std::string l; std::getline(in, l);) {
      const auto j = nlohmann::json::parse(l, nullptr, false);
      if (!j.is_discarded() && j.value("epoch", 0) < epoch) kept += l + "\n";
    }
  }
  core::write_file_atomic(path.string(), kept + line + "\n");
}

}  // namespace

double curve_value(const spec::JobConfig& job, int epoch) {
  const double tau = 1 + 4 * (1 - quality(job));
  return level(job) - (level(job) - 0.5) * std::exp(-epoch / tau) +
         0.01 * noise(job, core::str_cat("curve/val/", epoch)) + 0.02 * noise(job, "curve/val");
}

double curve_test_value(const spec::JobConfig& job) {
  return level(job) + 0.03 * noise(job, "curve/test");
}

JobResult run_curve_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options) {
  validate(job, job.output);
  const bool writer = !options.sync || options.sync->group_rank() == 0;
  const fs::path dir(job.output);
  const std::string config = spec::to_yaml(job);
  if (writer) {
    fs::create_directories(dir);
    const fs::path config_path = dir / "config.yaml";
    CHECK_OR_THROW(core::ConfigError,
                   !fs::exists(config_path) || core::read_file(config_path.string()) == config,
                   job.output, ": the folder holds a different job (config.yaml differs)");
    core::write_file_atomic(config_path.string(), config);
  }
  if (fs::exists(dir / "metrics.json")) {
    if (!writer) return {};
    return {0, nlohmann::json::parse(core::read_file((dir / "metrics.json").string())), 0};
  }
  const fs::path state_path = dir / "curve_state.json";
  int epoch = 1;
  if (fs::exists(state_path))
    epoch = nlohmann::json::parse(core::read_file(state_path.string())).at("next_epoch").get<int>();
  StopSignals stop;
  for (; epoch <= job.train.epochs; ++epoch) {
    std::this_thread::sleep_for(std::chrono::duration<double>(job.train.curve_epoch_seconds));
    const double v = curve_value(job, epoch);
    const nlohmann::json val = {{"aAUC", v}, {"aSE", v - 0.05}, {"aSP", v + 0.02}, {"mAP", v - 0.1}};
    uint32_t bits = 0;
    if (writer) {
      write_log_line(dir / "log.jsonl", epoch, nlohmann::json{{"epoch", epoch}, {"val", val}}.dump());
      if (options.on_epoch && options.on_epoch(epoch, val)) bits |= 1;
      core::write_file_atomic(state_path.string(), nlohmann::json{{"next_epoch", epoch + 1}}.dump());
    }
    if (stop.requested()) bits |= 2;
    if (options.sync && options.sync->group_size() > 1) bits = options.sync->any(bits);
    if (bits & 1) {
      log.info(job.output, ": stopped by the search after epoch ", epoch);
      return {0, nullptr, epoch};
    }
    if (bits & 2) return {kExitInterrupted, nullptr, 0};
  }
  nlohmann::json metrics = {{"aAUC", curve_test_value(job)}, {"best_epoch", job.train.epochs},
                            {"selection_metric", job.train.selection_metric}};
  metrics["aSE"] = metrics["aAUC"].get<double>() - 0.05;
  metrics["aSP"] = metrics["aAUC"].get<double>() + 0.02;
  metrics["mAP"] = metrics["aAUC"].get<double>() - 0.1;
  if (writer) core::write_file_atomic((dir / "metrics.json").string(), metrics.dump(1) + "\n");
  log.info(job.output, ": done (curve), test aAUC ", metrics["aAUC"].get<double>());
  return {0, writer ? metrics : nlohmann::json(), 0};
}

}  // namespace fracsweep::trainer
