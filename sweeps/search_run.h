// A search sweep's state, folded from its ledger records: each trial's values,
// the results its jobs reported at ASHA's rungs, which trials are stopped, and
// what TPE has learnt from the trials that ended.
//
// The coordinator asks it which job to hand out next (with the values of the
// job's trial, proposed the first time one of its jobs is handed out) and
// whether a job that reported a result must stop; it appends the records that
// follow to the ledger, then apply()s them here. Every answer depends on the
// records alone, in their order, so a rerun that replays the ledger (a killed
// or requeued sweep) makes exactly the decisions and proposals the
// uninterrupted run would have made next.
//
// A trial is one configuration over its jobs (folds x seeds). Under
// rung_folds: mean, ASHA sees a trial's result at a rung once every job of
// the trial that has not failed reported it there, as the mean over them;
// under `first`, its first such job's result alone. A stopped trial's running
// jobs stop at their next report, and its jobs not started are recorded as
// stopped before they start.
//
// Under `mean`, a job that reaches a rung before the other jobs of its trial
// pauses there (checkpointed) when one of them is not running, rather than
// training on while the rung cannot be decided: with fewer groups than folds
// a trial's jobs would otherwise run one after another to the end before its
// first rung is decided. A paused job is not handed out until the rung is
// decided; then it resumes, or is skipped if its trial was stopped.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sweeps/ledger.h"
#include "sweeps/search.h"
#include "sweeps/sweep.h"

namespace fracsweep::sweeps {

// A trial's values as the ledger and the coordinator's messages carry them
// (an object of strings), and back in the space's order (keys it lacks are left out).
nlohmann::json params_to_json(const ParamValues& values);
ParamValues params_from_json(const SearchSpec& spec, const nlohmann::json& values);

class SearchRun {
 public:
  // `sweep` must have a search and must outlive this. `records`: the ledger.
  SearchRun(const Sweep& sweep, const std::vector<LedgerRecord>& records);

  // Folds one record in (in ledger order; records of other jobs are ignored).
  void apply(const LedgerRecord& record);

  struct Handout {
    int job = -1;
    ParamValues params;      // the trial's values
    bool skip = false;       // its trial is stopped: record it stopped, do not run it
  };
  // The next job among `candidates` (indices into the sweep's jobs, in the
  // order they may be handed out), skipping `busy` ones; nullopt when none is
  // left. Jobs of a stopped trial come back with `skip`.
  std::optional<Handout> next(const std::vector<int>& candidates, const std::set<int>& busy) const;

  // Whether a job's result at `epoch` is one to record: an epoch where ASHA
  // decides, or the last, and not recorded for the job before.
  bool records_result(int job, int epoch) const;
  // Whether the job's trial has been stopped.
  bool stopped(int job) const;
  // Whether a job that reported its result at `epoch` must pause there: a
  // rung its trial has not been decided at under rung_folds: mean, while a
  // job of the trial that has not reached it is not among `busy` (running).
  bool pauses_at(int job, int epoch, const std::set<int>& busy) const;
  // The trial's values, once proposed.
  std::optional<ParamValues> params_of_trial(int trial) const;

  // Every trial that ended (all its jobs finished, stopped or failed), in
  // trial order: what TPE learns from.
  std::vector<TrialOutcome> ended_trials() const;
  // Trials stopped so far: trial -> the epoch of the rung that stopped it.
  const std::map<int, int>& stopped_trials() const { return stopped_at_; }

 private:
  struct Trial {
    std::vector<int> jobs;                          // in sweep order
    std::optional<ParamValues> params;
    std::map<int, std::map<int, double>> results;   // epoch -> job -> value
    std::set<int> decided;                          // rung epochs ASHA has seen
  };
  void decide(int trial);
  std::vector<int> required_jobs(const Trial& t) const;
  bool ended(int job) const;
  // A rung epoch where ASHA has not seen the trial yet.
  bool undecided_rung(const Trial& t, int trial, int epoch) const;
  // The job is paused: its last result is at an undecided rung.
  bool paused(int job) const;

  const Sweep& sweep_;
  Asha asha_;
  Tpe tpe_;
  std::map<std::string, int> index_of_;  // job id -> index
  std::map<int, Trial> trials_;
  std::map<int, JobStatus> status_;      // job -> latest state, for jobs with records
  std::map<int, int> stopped_at_;
};

}  // namespace fracsweep::sweeps
