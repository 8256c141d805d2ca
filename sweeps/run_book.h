// Rank 0's bookkeeping of a sweep run (launcher/run_sweep.h): which jobs to hand out and in what
// order, and what every hand-out and report leaves in the ledger, the progress file that
// `fracsweep status` reads, and the live log lines.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/log.h"
#include "schedule/coordinator.h"
#include "sweeps/ledger.h"
#include "sweeps/search_run.h"
#include "sweeps/status.h"
#include "sweeps/sweep.h"

namespace fracsweep::sweeps {

// The jobs to run, in hand-out order: interrupted ones first (they resume
// from a checkpoint), then the rest longest first, ties in sweep order.
// Of this shard's jobs, `finished` counts those already done and `failed_skipped` the
// failed ones left out (without `retry_failed`).
std::deque<int> make_queue(const Sweep& sweep, const LedgerState& state,
                           bool retry_failed, int shard, int shards, int* finished,
                           int* failed_skipped);

// "rank 3" or "ranks 2-3": a group as the log lines name it.
std::string ranks_text(const std::vector<int>& ranks);

// Rank 0's view of the run: the ledger, the files for `fracsweep status`, and
// the live lines. Called from the coordinator's thread only.
class RunBook {
 public:
  // `writer`: this run's own ledger and progress file (sweeps/ledger.h).
  // `queue`: the jobs to run, in hand-out order (a search picks among them).
  RunBook(const Sweep& sweep, SweepManifest manifest,
          std::vector<LedgerRecord> records, std::string writer, std::deque<int> queue,
          core::Logger& log);

  LedgerOrigin origin(const schedule::GroupState& g) const { return {g.ranks.at(0), g.host, slurm_job_}; }
  size_t queued() const { return queue_.size(); }

  // The next job to hand out. A search's trial values are proposed here; the
  // jobs of a stopped trial are recorded as stopped instead of handed out.
  std::optional<schedule::Assignment> next();

  void started(const schedule::Assignment& a, const schedule::GroupState& g);

  // An epoch's result of a search job: recorded at ASHA's rungs and the last
  // epoch; the job stops when its trial is stopped, and pauses at a rung its
  // trial's other jobs have yet to reach (sweeps/search_run.h).
  schedule::EpochAnswer result(const schedule::EpochResult& r, const schedule::GroupState& g);

  void reported(const schedule::JobReport& r, const schedule::GroupState& g);

  void tick(const std::vector<schedule::GroupState>& groups);

  int finished() const { return finished_; }
  int stopped() const { return stopped_; }
  const std::vector<LedgerRecord>& records() const { return records_; }
  int failed() const { return failed_; }
  // The first write error that stopped a job's group (kStorage), or "".
  const std::string& storage_error() const { return storage_error_; }

 private:
  void append(const LedgerRecord& r);

  const Sweep& sweep_;
  SweepManifest manifest_;
  std::vector<LedgerRecord> records_;
  std::string writer_;
  Ledger ledger_;
  core::Logger& log_;
  std::map<int, std::chrono::steady_clock::time_point> started_at_;
  std::string slurm_job_;  // SLURM's id of the job this runs in, or ""
  std::deque<int> queue_;
  std::optional<SearchRun> search_;
  std::set<int> busy_;  // jobs handed out and not reported yet
  int finished_ = 0, failed_ = 0, stopped_ = 0;
  std::string storage_error_;
  bool changed_ = true;
  std::chrono::steady_clock::time_point last_line_{};
};

}  // namespace fracsweep::sweeps
