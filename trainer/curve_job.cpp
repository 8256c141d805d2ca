// See curve_job.h.
#include "trainer/curve_job.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "metrics/format.h"
#include "metrics/predictions.h"
#include "metrics/report.h"
#include "trainer/stop_signals.h"

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;

// The writer's writes in a group, held until the group has heard how they went
// (as trainer/train_job.cpp's Note [The writer's failed writes]): a writer that left
// the job on a failed write would keep the others waiting in the next any() until
// --abort-after. A group of one (no sync) throws at once.
constexpr uint32_t kWriteFailed = 8, kWriteStorageFailed = 16;

struct WriterWrites {
  bool in_group = false;
  std::exception_ptr error;  // the first write that threw; later writes are skipped

  template <typename Write>
  void operator()(Write&& write) {
    if (!in_group) return write();
    if (error) return;
    try {
      write();
    } catch (const std::exception&) {
      error = std::current_exception();
    }
  }
  uint32_t bits() const {
    if (!error) return 0;
    try {
      std::rethrow_exception(error);
    } catch (const core::StorageError&) {
      return kWriteStorageFailed;
    } catch (...) {
      return kWriteFailed;
    }
  }
  // On every rank, once the group agreed on `agreed`: the writer rethrows its own
  // error, the others throw one naming the job.
  void check(uint32_t agreed, const std::string& job) const {
    if (error) std::rethrow_exception(error);
    const std::string what = job + ": the group's writer (its first rank) could not write the job's "
                                   "files; the group stops with it";
    if (agreed & kWriteStorageFailed) throw core::StorageError(what);
    if (agreed & kWriteFailed) throw core::Error(what);
  }
};

// The settings the curve depends on, as text.
std::string settings_key(const spec::JobConfig& job) {
  const spec::TrainConfig& t = job.train;
  return fmt::format("{:.17g}/{:.17g}/{:.17g}/{:.17g}/{:.17g}/{:.17g}", t.lr, t.triplet_margin,
                     t.loss_weights.ce, t.loss_weights.d, t.loss_weights.c, t.loss_weights.w);
}

// Zero-mean noise in [-1, 1) for one purpose of the job: a draw per seed,
// protocol part and setting, as a trained model's luck would be.
double noise(const spec::JobConfig& job, const std::string& purpose) {
  const std::string part = job.data.split == "kfold" ? core::str_cat("fold", job.data.fold)
                                                     : core::str_cat("repeat", job.data.repeat);
  core::Rng rng(core::derive_seed(job.train.seed, part + "/" + settings_key(job), 0, purpose));
  return 2 * rng.uniform01() - 1;
}

// Box-Muller.
double standard_normal(core::Rng& rng) {
  const double u = 1 - rng.uniform01();  // in (0, 1]
  return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * rng.uniform01());
}

// Phi^-1(p) for p in (0, 1), by bisection: precise enough for a synthetic curve.
double normal_quantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 80; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// How good the settings are, in (0, 1].
double quality(const spec::JobConfig& job) {
  const double d = std::log10(std::max(job.train.lr, 1e-12)) + 3;
  const double m = job.train.triplet_margin - 0.3;
  const double w = std::log10(std::max(job.train.loss_weights.d, 1e-6) / 0.2);
  return std::exp(-0.5 * d * d - 2 * m * m - 0.5 * w * w);
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

metrics::Predictions curve_test_predictions(const spec::JobConfig& job) {
  constexpr int kClasses = 3, kPerClass = 40;
  // Two unit normals d apart are told apart with AUC Phi(d / sqrt 2).
  const double auc = std::clamp(curve_test_value(job), 0.501, 0.999);
  const double separation = std::sqrt(2.0) * normal_quantile(auc);
  const std::string part = job.data.split == "kfold" ? core::str_cat("fold", job.data.fold)
                                                     : core::str_cat("repeat", job.data.repeat);
  core::Rng rng(core::derive_seed(job.train.seed, part + "/" + settings_key(job), 0,
                                  "curve/test-samples"));
  metrics::Predictions p;
  p.kind = metrics::PredictionKind::kMulticlass;
  p.num_classes = kClasses;
  for (int i = 0; i < kClasses * kPerClass; ++i) {
    const int label = i % kClasses;
    p.ids.push_back(core::str_cat("s", i));
    p.patient_names.push_back(core::str_cat("p", i));
    p.patient.push_back(i);
    p.label.push_back(label);
    std::array<double, kClasses> z{};
    double sum = 0;
    for (int k = 0; k < kClasses; ++k) {
      z[static_cast<size_t>(k)] = std::exp(standard_normal(rng) + (k == label ? separation : 0));
      sum += z[static_cast<size_t>(k)];
    }
    for (double v : z) p.scores.push_back(v / sum);
  }
  return p;
}

JobResult run_curve_job(const spec::JobConfig& job, core::Logger& log, const TrainRunOptions& options) {
  validate(job, job.output);
  const bool writer = !options.sync || options.sync->group_rank() == 0;
  const bool in_group = options.sync && options.sync->group_size() > 1;
  WriterWrites write{in_group, nullptr};
  const fs::path dir(job.output);
  const std::string config = spec::to_yaml(job);
  if (writer) {
    write([&] {
      fs::create_directories(dir);
      const fs::path config_path = dir / "config.yaml";
      CHECK_OR_THROW(core::ConfigError,
                     !fs::exists(config_path) || core::read_file(config_path.string()) == config,
                     job.output, ": the folder holds a different job (config.yaml differs)");
      core::write_file_atomic(config_path.string(), config);
    });
  }
  if (in_group) write.check(options.sync->any(write.bits()), job.output);
  if (fs::exists(dir / "metrics.json")) {
    if (!writer) return {};
    return {0, nlohmann::json::parse(core::read_file((dir / "metrics.json").string())), 0};
  }
  const fs::path state_path = dir / "curve_state.json";
  int epoch = 1;
  if (fs::exists(state_path))
    epoch = nlohmann::json::parse(core::read_file(state_path.string())).at("next_epoch").get<int>();
  if (writer && options.observer) options.observer->started(epoch - 1);
  StopSignals stop;
  for (; epoch <= job.train.epochs; ++epoch) {
    std::this_thread::sleep_for(std::chrono::duration<double>(job.train.curve_epoch_seconds));
    const double v = curve_value(job, epoch);
    const nlohmann::json val = {{"aAUC", v}, {"aSE", v - 0.05}, {"aSP", v + 0.02}, {"mAP", v - 0.1}};
    uint32_t bits = 0;  // 1: stopped by the search, 2: a stop signal, 4: paused by the search
    if (writer) {
      write([&] {
        write_log_line(dir / "log.jsonl", epoch, nlohmann::json{{"epoch", epoch}, {"val", val}}.dump());
      });
      if (options.observer) options.observer->epoch({{"epoch", epoch}, {"val", val}});
      // Not asked after a failed write: the epoch is repeated on resuming, and asked then.
      const EpochVerdict v = options.on_epoch && !write.error ? options.on_epoch(epoch, val)
                                                              : EpochVerdict::kContinue;
      bits |= v == EpochVerdict::kStop ? 1 : v == EpochVerdict::kPause ? 4 : 0;
      write([&] {
        core::write_file_atomic(state_path.string(), nlohmann::json{{"next_epoch", epoch + 1}}.dump());
      });
      bits |= write.bits();
    }
    if (stop.requested()) bits |= 2;
    if (in_group) bits = options.sync->any(bits);
    write.check(bits, job.output);
    if (bits & 1) {
      log.info(job.output, ": stopped by the search after epoch ", epoch);
      return {0, nullptr, epoch};
    }
    if (bits & 2) return {kExitInterrupted, nullptr, 0};
    if (bits & 4) return {kExitInterrupted, nullptr, 0, epoch};
  }
  if (!writer) return {};
  const std::string predictions = (dir / "predictions_test.csv").string();
  const metrics::Predictions test = curve_test_predictions(job);
  metrics::write_predictions(test, predictions);
  nlohmann::json metrics =
      nlohmann::json::parse(metrics::to_json(metrics::compute_metrics(test, 0.5, predictions)));
  metrics["best_epoch"] = job.train.epochs;
  metrics["selection_metric"] = job.train.selection_metric;
  core::write_file_atomic((dir / "metrics.json").string(), metrics.dump(1) + "\n");
  if (options.observer) options.observer->finished(metrics, {"metrics.json", "predictions_test.csv", "log.jsonl"});
  log.info(job.output, ": done (curve), test aAUC ", metrics["aAUC"].get<double>());
  return {0, metrics, 0};
}

}  // namespace fracsweep::trainer
