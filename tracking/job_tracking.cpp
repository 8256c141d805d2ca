// See job_tracking.h.
#include "tracking/job_tracking.h"

#include <chrono>
#include <filesystem>
#include <random>

#include <fmt/format.h>

namespace fracsweep::tracking {
namespace {

namespace fs = std::filesystem;

// MLflow's limits on one log-batch request.
constexpr size_t kParamsPerBatch = 100, kMetricsPerBatch = 1000;
constexpr size_t kMaxParamValue = 6000;

nlohmann::json metric_list(const Scalars& scalars, int64_t step, int64_t timestamp) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, value] : scalars)
    out.push_back({{"key", key}, {"value", value}, {"timestamp", timestamp}, {"step", step}});
  return out;
}

// A key no other folder's run has: the job's id and a random part drawn once, when
// the queue is made (a folder deleted and run again makes a new run).
std::string unique_key(const std::string& id) {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{}{}{:016x}", id, id.empty() ? "" : "-", r);
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

JobTracking::JobTracking(RunInfo run, const spec::TrackingSpec& spec, MlflowSender* sender,
                         std::string experiment, std::string parent, core::Logger& log)
    : run_(std::move(run)),
      sender_(sender),
      experiment_(std::move(experiment)),
      parent_(std::move(parent)),
      log_(log) {
  if (spec.tensorboard) tb_.emplace(run_, log);
}

template <typename Body>
void JobTracking::queue(const char* what, Body&& body) noexcept {
  if (!sender_) return;
  try {
    if (!queue_) queue_.emplace(run_.dir);
    body(*queue_);
    sender_->poke();
  } catch (const std::exception& e) {
    // See Note [Tracking never stops training].
    if (!warned_) log_.warn(run_.dir, ": MLflow records not queued (", what, "): ", e.what());
    warned_ = true;
  }
}

void JobTracking::started(int done_epochs) noexcept {
  if (tb_) tb_->started(done_epochs);
  last_epoch_ = done_epochs;
  queue("start", [&](MlflowQueue& q) {
    if (q.empty()) {
      nlohmann::json tags = {{"variant", run_.variant},  {"fold", run_.part},
                             {"seed", std::to_string(run_.seed)}, {"fracsweep.job", run_.name},
                             {"fracsweep.job_id", run_.id}};
      if (!run_.sweep.empty()) tags["sweep"] = run_.sweep;
      for (const auto& [k, v] : run_.axes) tags["axis." + k] = v;
      const std::string key = unique_key(run_.id);
      tags["fracsweep.key"] = key;
      q.append({{"op", "create"}, {"experiment", experiment_}, {"name", run_.name}, {"key", key},
                {"start_ms", now_ms()}, {"tags", tags}, {"parent", parent_}});
      nlohmann::json params = nlohmann::json::array();
      for (const auto& [k, v] : run_.settings) {
        params.push_back({{"key", k}, {"value", v.substr(0, kMaxParamValue)}});
        if (params.size() == kParamsPerBatch) {
          q.append({{"op", "log"}, {"params", params}});
          params = nlohmann::json::array();
        }
      }
      if (!params.empty()) q.append({{"op", "log"}, {"params", params}});
    }
    sender_->watch(run_.dir);
  });
}

void JobTracking::epoch(const nlohmann::json& line) noexcept {
  if (tb_) tb_->epoch(line);
  const int64_t epoch = line.value("epoch", int64_t{0});
  last_epoch_ = epoch;
  queue("epoch", [&](MlflowQueue& q) {
    const std::string once = fmt::format("epoch {}", epoch);
    if (q.has(once)) return;  // logged by the run this one resumes (Note [The MLflow queue])
    const nlohmann::json metrics = metric_list(epoch_scalars(line, run_.headline), epoch, now_ms());
    for (size_t at = 0; at < metrics.size(); at += kMetricsPerBatch) {
      nlohmann::json part(metrics.begin() + static_cast<std::ptrdiff_t>(at),
                          metrics.begin() + static_cast<std::ptrdiff_t>(std::min(metrics.size(), at + kMetricsPerBatch)));
      q.append({{"op", "log"}, {"once", at == 0 ? once : once + fmt::format("/{}", at)}, {"metrics", part}});
    }
  });
}

void JobTracking::finished(const nlohmann::json& metrics, const std::vector<std::string>& files) noexcept {
  if (tb_) tb_->finished(metrics, files);
  queue("end", [&](MlflowQueue& q) {
    if (q.has("final")) return;
    q.append({{"op", "log"}, {"once", "final"},
              {"metrics", metric_list(final_scalars(metrics, run_.headline), last_epoch_, now_ms())}});
    for (const std::string& f : files)
      if (fs::exists(fs::path(run_.dir) / f))
        q.append({{"op", "artifact"}, {"file", f}, {"name", fs::path(f).filename().string()}});
    q.append({{"op", "end"}, {"status", "FINISHED"}, {"end_ms", now_ms()}});
  });
}

void JobTracking::ended(const std::string& status) noexcept {
  queue("end", [&](MlflowQueue& q) {
    q.append({{"op", "end"}, {"status", status}, {"end_ms", now_ms()}});
  });
}

void queue_sweep_run(const std::string& folder, const std::string& sweep_name,
                     const std::string& experiment, const std::string& sweep_file) {
  MlflowQueue q(folder);
  if (!q.empty()) return;
  const std::string key = unique_key(sweep_name);
  q.append({{"op", "create"}, {"experiment", experiment}, {"name", sweep_name}, {"key", key},
            {"start_ms", now_ms()},
            {"tags", {{"sweep", sweep_name}, {"fracsweep.kind", "sweep"}, {"fracsweep.key", key}}}});
  q.append({{"op", "log"}, {"params", {{{"key", "sweep_file"}, {"value", sweep_file}}}}});
}

void end_sweep_run(const std::string& folder, const std::vector<Artifact>& artifacts,
                   const std::string& status) {
  MlflowQueue q(folder);
  for (const Artifact& a : artifacts)
    if (fs::exists(fs::path(folder) / a.file))
      q.append({{"op", "artifact"}, {"file", a.file}, {"name", a.name}});
  q.append({{"op", "end"}, {"status", status}, {"end_ms", now_ms()}});
}

}  // namespace fracsweep::tracking
