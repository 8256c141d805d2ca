// What a job tells the trackers as it runs: a narrow interface the trainer calls
// on the writer of the job's folder (group rank 0), and the job's identity the
// launcher gives the trackers. No LibTorch, no network here.
//
// See Note [Tracking never stops training].
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fracsweep::tracking {

// Note [Tracking never stops training]
// A tracker is a spectator: what it does costs the job a few writes to its own
// folder per epoch, and whatever goes wrong in it (a full disk under tb/, a
// tracking server that is down) is logged and never thrown into the job. The
// network is never on the training thread: records go to a queue on disk
// (mlflow_queue.h) that a sender thread drains.

// Called in order: started once per process that runs the job, epoch per finished
// epoch, finished once at the end (not when the job stops early or is interrupted).
// Implementations never throw (see the Note).
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  // The job starts (done_epochs 0) or resumes after `done_epochs` epochs in its
  // log; lines of later epochs that a killed run logged are logged again.
  virtual void started(int done_epochs) noexcept = 0;
  // An epoch's line of log.jsonl, as written: "epoch" (1-based), "val" (metrics),
  // and from the trainer "train" (loss terms), "lr", "steps", "seconds", "samples_per_s".
  virtual void epoch(const nlohmann::json& line) noexcept = 0;
  // The job's metrics.json, once written; `files` are the job's result files
  // (predictions, metrics) to keep with the run.
  virtual void finished(const nlohmann::json& metrics, const std::vector<std::string>& files) noexcept = 0;
};

// A job as the trackers name it.
struct RunInfo {
  std::string dir;          // the job's folder
  std::string name;         // the job's name, e.g. "tsccn/repeat1/seed1"
  std::string id;           // the job's stable id (empty outside a sweep)
  std::string sweep;        // the sweep's name (empty for `fracsweep train`)
  std::string variant;      // the sweep's variant name (or model.variant)
  std::string part;         // "repeat1", "fold0"
  uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> axes;      // hyperparameter point, as written
  std::vector<std::pair<std::string, std::string>> settings;  // every resolved setting ("train.lr")
  std::string headline;     // the validation metric that selects epochs, listed first
};

// The scalars of an epoch's line as both trackers name them, the headline metric
// first: "val/<metric>", "loss/<term>", "lr", "time/step_seconds",
// "time/samples_per_s", "time/epoch_seconds". Values that are not numbers (a
// metric a part's labels leave undefined) are left out.
using Scalars = std::vector<std::pair<std::string, double>>;
Scalars epoch_scalars(const nlohmann::json& line, const std::string& headline);
// metrics.json's numbers as "test/<metric>", the headline first.
Scalars final_scalars(const nlohmann::json& metrics, const std::string& headline);

}  // namespace fracsweep::tracking
