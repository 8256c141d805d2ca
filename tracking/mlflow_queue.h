// A run's records for MLflow, queued on disk in <folder>/mlflow/ by the job's
// writer and sent in order by a sender thread (mlflow_sender.h).
//
// Note [The MLflow queue]
// queue.jsonl holds one record per line, numbered from 1 ("seq"), each appended
// with one write() and fsync'd; `sent` holds the last seq the server took,
// replaced atomically after each; run.json the run's ids once it exists. A
// record sent whose mark was lost (a kill in between) is sent again, which the
// server absorbs: a run is created once per `fracsweep.key` tag (looked up
// before creating), metrics carry the timestamp they were queued with (MLflow
// keeps one of equal key, step, timestamp and value), a param keeps its one
// value, tags and the end status are set again, an artifact replaces its file.
// A resumed job does not queue an epoch the queue already holds (sent or not),
// so each step is logged once. Senders in several processes may watch one
// folder: a lock file (flock) lets one send at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracking/mlflow_client.h"

namespace fracsweep::tracking {

// The job's side: appends records. Not thread-safe (the job's writer thread).
class MlflowQueue {
 public:
  // Opens <folder>/mlflow/ (created), reading the queue there; a torn last line
  // (a writer killed mid-write) is cut off. Throws core::IoError.
  explicit MlflowQueue(std::string folder);
  bool empty() const { return next_seq_ == 1; }
  // Whether a record queued with this "once" label ("epoch 3", "final") is there.
  bool has(const std::string& once) const { return once_.count(once) > 0; }
  // Numbers the record ("seq"), appends and fsyncs it. Throws core::IoError.
  void append(nlohmann::json record);
  const std::string& folder() const { return folder_; }

 private:
  std::string folder_, path_;
  uint64_t next_seq_ = 1;
  std::set<std::string> once_;  // the records' "once" labels
};

// The sender's side, on <folder>/mlflow/.
std::string queue_dir(const std::string& folder);
// The complete records after the last one sent, in order.
std::vector<nlohmann::json> pending_records(const std::string& folder);
void mark_sent(const std::string& folder, uint64_t seq);
std::optional<MlflowRun> saved_run(const std::string& folder);
void save_run(const std::string& folder, const MlflowRun& run);

}  // namespace fracsweep::tracking
