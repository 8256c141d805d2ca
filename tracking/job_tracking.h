// The trackers of one job, as the trainer sees them (job_observer.h): its
// TensorBoard event files and, where a server is named, its MLflow run, whose
// records go to the job's queue (mlflow_queue.h) for a sender to deliver.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/log.h"
#include "spec/tracking.h"
#include "tracking/job_observer.h"
#include "tracking/mlflow_queue.h"
#include "tracking/mlflow_sender.h"
#include "tracking/tensorboard.h"

namespace fracsweep::tracking {

class JobTracking final : public JobObserver {
 public:
  // `sender`: where the job's MLflow records go (null: no MLflow); it outlives
  // this. `parent`: the folder whose MLflow run is this run's parent (the
  // sweep's), or empty.
  JobTracking(RunInfo run, const spec::TrackingSpec& spec, MlflowSender* sender,
              std::string experiment, std::string parent, core::Logger& log);
  void started(int done_epochs) noexcept override;
  void epoch(const nlohmann::json& line) noexcept override;
  void finished(const nlohmann::json& metrics, const std::vector<std::string>& files) noexcept override;
  // The job ended without a result: "FAILED", or "KILLED" (stopped by a search).
  void ended(const std::string& status) noexcept;

 private:
  template <typename Body>
  void queue(const char* what, Body&& body) noexcept;

  RunInfo run_;
  std::optional<TensorBoardWriter> tb_;
  MlflowSender* sender_;
  std::string experiment_, parent_;
  core::Logger& log_;
  std::optional<MlflowQueue> queue_;
  int64_t last_epoch_ = 0;
  bool warned_ = false;
};

// A file to upload: `file` relative to the run's folder (or absolute), under the run's
// artifacts as `name` (which may hold folders: "report/table.md").
struct Artifact {
  std::string file, name;
};

// The sweep's parent run: queued in <sweep folder>/mlflow/ when the run starts
// (idempotent: once per folder), its artifacts (those that exist) and end when it ends.
void queue_sweep_run(const std::string& folder, const std::string& sweep_name,
                     const std::string& experiment, const std::string& sweep_file);
void end_sweep_run(const std::string& folder, const std::vector<Artifact>& artifacts,
                   const std::string& status);

// Milliseconds since the epoch, as MLflow's timestamps.
int64_t now_ms();

}  // namespace fracsweep::tracking
