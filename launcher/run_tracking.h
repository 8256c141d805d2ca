// The trackers of one `fracsweep run` process (tracking/): every job's
// TensorBoard files and, with `tracking.mlflow` or --mlflow, an MLflow run per
// job under one parent run for the sweep, sent by a thread of this process.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "spec/job_config.h"
#include "sweeps/sweep.h"
#include "tracking/job_tracking.h"
#include "tracking/mlflow_sender.h"

namespace fracsweep::launcher {

// --mlflow URI: the sweep's jobs go to that server (into the sweep file's
// experiment, else one named after the sweep). Throws core::ConfigError for a
// URI that is not http(s)://HOST:PORT.
void use_mlflow_option(sweeps::Sweep& sweep, const std::string& uri);

// Every setting of the resolved job as "section.key" = value (MLflow's params).
std::vector<std::pair<std::string, std::string>> flat_settings(const spec::JobConfig& job);

class RunTracking {
 public:
  // `writer`: this rank writes the folders of the jobs its group trains (a group's
  // first rank). `root`: it prepares the sweep's folder and owns the sweep's run.
  RunTracking(const sweeps::Sweep& sweep, bool writer, bool root, core::Logger& log);
  // Waits up to kFlushSeconds for this process's MLflow records to be sent;
  // what is left stays queued for the next run of the sweep, which says so.
  ~RunTracking();
  RunTracking(const RunTracking&) = delete;
  RunTracking& operator=(const RunTracking&) = delete;

  // The trackers of a job this rank's group trains; null on ranks that do not write.
  std::unique_ptr<tracking::JobTracking> for_job(const sweeps::SweepJob& job,
                                                 const spec::JobConfig& config);
  // The root, after the last job: the sweep run's results table, files and report (written
  // into <sweep>/report as `fracsweep report` writes it by default), and its end.
  void finish(const std::string& status, const std::string& results_table);

  static constexpr double kFlushSeconds = 20;

 private:
  // The sweep's report of what has finished, as artifacts; none (and a warning) when it
  // cannot be made.
  std::vector<tracking::Artifact> write_report();

  const sweeps::Sweep& sweep_;
  const bool writer_, root_;
  core::Logger& log_;
  std::unique_ptr<tracking::MlflowSender> sender_;
};

}  // namespace fracsweep::launcher
