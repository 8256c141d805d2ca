// See search_run.h.
#include "sweeps/search_run.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace fracsweep::sweeps {
namespace {

int max_epochs_of(const Sweep& sweep) {
  INTERNAL_ASSERT(sweep.search.has_value() && !sweep.jobs.empty());
  return sweep.search->max_epochs > 0 ? sweep.search->max_epochs
                                      : sweep.jobs.front().config.train.epochs;
}

double mean_of(const std::map<int, double>& values, const std::vector<int>& jobs) {
  double sum = 0;
  int n = 0;
  for (int j : jobs)
    if (const auto it = values.find(j); it != values.end()) {
      sum += it->second;
      ++n;
    }
  return n ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

nlohmann::json params_to_json(const ParamValues& values) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : values) out[key] = value;
  return out;
}

ParamValues params_from_json(const SearchSpec& spec, const nlohmann::json& values) {
  ParamValues out;
  for (const SearchParam& p : spec.space)
    if (const auto v = values.find(p.key); v != values.end() && v->is_string())
      out.emplace_back(p.key, v->get<std::string>());
  return out;
}

SearchRun::SearchRun(const Sweep& sweep, const std::vector<LedgerRecord>& records)
    : sweep_(sweep),
      asha_(sweep.search->reduction_factor, sweep.search->grace_period, max_epochs_of(sweep),
            sweep.search->maximize),
      tpe_(*sweep.search) {
  for (int i = 0; i < static_cast<int>(sweep.jobs.size()); ++i) {
    const SweepJob& j = sweep.jobs[static_cast<size_t>(i)];
    INTERNAL_ASSERT(j.trial >= 0);
    index_of_[j.id] = i;
    trials_[j.trial].jobs.push_back(i);
  }
  for (const LedgerRecord& r : records) apply(r);
}

void SearchRun::apply(const LedgerRecord& r) {
  const auto found = index_of_.find(r.job);
  if (found == index_of_.end()) return;
  const int job = found->second;
  const int trial_index = sweep_.jobs[static_cast<size_t>(job)].trial;
  Trial& trial = trials_[trial_index];
  const auto status = status_.find(job);
  const bool final = status != status_.end() && (status->second == JobStatus::kFinished ||
                                                 status->second == JobStatus::kStopped);
  switch (r.event) {
    case LedgerEvent::kStarted:
      if (!final) status_[job] = JobStatus::kStarted;
      if (!trial.params && !r.params.empty()) trial.params = params_from_json(*sweep_.search, r.params);
      return;
    case LedgerEvent::kResult:
      trial.results[r.epoch].try_emplace(job, r.value);
      break;
    case LedgerEvent::kFinished:
      if (!final) status_[job] = JobStatus::kFinished;
      break;
    case LedgerEvent::kFailed:
      if (!final) status_[job] = JobStatus::kFailed;
      break;
    case LedgerEvent::kStopped:
      if (!final) status_[job] = JobStatus::kStopped;
      return;
  }
  decide(trial_index);
}

std::vector<int> SearchRun::required_jobs(const Trial& t) const {
  std::vector<int> out;
  for (int j : t.jobs) {
    const auto s = status_.find(j);
    if (s != status_.end() && s->second == JobStatus::kFailed) continue;
    out.push_back(j);
    if (sweep_.search->rung_first_only) break;
  }
  return out;
}

// Feeds ASHA the trial's results at its rungs, in epoch order, as soon as
// every required job has reported one; a later rung waits for the earlier.
void SearchRun::decide(int trial_index) {
  if (!sweep_.search->asha || stopped_at_.count(trial_index)) return;
  Trial& t = trials_[trial_index];
  const std::vector<int> required = required_jobs(t);
  if (required.empty()) return;
  for (int epoch = 1; epoch < max_epochs_of(sweep_); ++epoch) {
    if (!asha_.decides_at(epoch) || t.decided.count(epoch)) continue;
    const auto at = t.results.find(epoch);
    if (at == t.results.end()) return;
    for (int j : required)
      if (!at->second.count(j)) return;
    t.decided.insert(epoch);
    if (!asha_.on_result(trial_index, epoch, mean_of(at->second, required))) {
      stopped_at_[trial_index] = epoch;
      return;
    }
  }
}

bool SearchRun::ended(int job) const {
  const auto s = status_.find(job);
  return s != status_.end() && s->second != JobStatus::kStarted;
}

std::optional<SearchRun::Handout> SearchRun::next(const std::vector<int>& candidates,
                                                  const std::set<int>& busy) const {
  // Interrupted jobs first (they resume from a checkpoint), then trial by trial.
  std::optional<int> pick;
  std::pair<int, int> best{std::numeric_limits<int>::max(), 0};
  for (int j : candidates) {
    if (busy.count(j)) continue;
    const auto s = status_.find(j);
    if (s != status_.end() && (s->second == JobStatus::kFinished || s->second == JobStatus::kStopped))
      continue;
    if (s != status_.end() && s->second == JobStatus::kStarted) {
      if (paused(j)) continue;  // until its rung is decided
      pick = j;
      break;
    }
    const std::pair<int, int> key{sweep_.jobs[static_cast<size_t>(j)].trial, j};
    if (key < best) {
      best = key;
      pick = j;
    }
  }
  if (!pick) return std::nullopt;
  const int trial = sweep_.jobs[static_cast<size_t>(*pick)].trial;
  Handout h;
  h.job = *pick;
  if (stopped_at_.count(trial)) {
    h.skip = true;
    return h;
  }
  const auto& known = trials_.at(trial).params;
  h.params = known ? *known
                   : sweep_.search->tpe ? tpe_.propose(trial, ended_trials())
                                        : random_proposal(*sweep_.search, trial);
  return h;
}

bool SearchRun::records_result(int job, int epoch) const {
  const int max_epochs = max_epochs_of(sweep_);
  if (epoch < 1 || epoch > max_epochs) return false;
  if (epoch != max_epochs && !(sweep_.search->asha && asha_.decides_at(epoch))) return false;
  const Trial& t = trials_.at(sweep_.jobs[static_cast<size_t>(job)].trial);
  const auto at = t.results.find(epoch);
  return at == t.results.end() || !at->second.count(job);
}

bool SearchRun::undecided_rung(const Trial& t, int trial, int epoch) const {
  const SearchSpec& spec = *sweep_.search;
  return spec.asha && !spec.rung_first_only && epoch < max_epochs_of(sweep_) &&
         asha_.decides_at(epoch) && !t.decided.count(epoch) && !stopped_at_.count(trial);
}

bool SearchRun::pauses_at(int job, int epoch, const std::set<int>& busy) const {
  const int trial = sweep_.jobs[static_cast<size_t>(job)].trial;
  const Trial& t = trials_.at(trial);
  if (!undecided_rung(t, trial, epoch)) return false;
  const auto at = t.results.find(epoch);
  for (int j : required_jobs(t))
    if (j != job && !busy.count(j) && (at == t.results.end() || !at->second.count(j))) return true;
  return false;
}

bool SearchRun::paused(int job) const {
  const int trial = sweep_.jobs[static_cast<size_t>(job)].trial;
  const Trial& t = trials_.at(trial);
  int last = 0;  // the job's last epoch with a result
  for (const auto& [epoch, values] : t.results)
    if (values.count(job)) last = epoch;
  return last > 0 && undecided_rung(t, trial, last);
}

bool SearchRun::stopped(int job) const {
  return stopped_at_.count(sweep_.jobs[static_cast<size_t>(job)].trial) > 0;
}

std::optional<ParamValues> SearchRun::params_of_trial(int trial) const {
  const auto it = trials_.find(trial);
  return it == trials_.end() ? std::nullopt : it->second.params;
}

std::vector<TrialOutcome> SearchRun::ended_trials() const {
  std::vector<TrialOutcome> out;
  const int max_epochs = max_epochs_of(sweep_);
  for (const auto& [index, t] : trials_) {
    if (!t.params || !std::all_of(t.jobs.begin(), t.jobs.end(), [&](int j) { return ended(j); }))
      continue;
    TrialOutcome o;
    o.trial = index;
    o.params = *t.params;
    const auto stop = stopped_at_.find(index);
    o.complete = stop == stopped_at_.end();
    o.step = o.complete ? max_epochs : stop->second;
    const auto at = t.results.find(o.step);
    if (at == t.results.end()) continue;  // every job failed before it
    o.value = mean_of(at->second, o.complete ? t.jobs : required_jobs(t));
    if (std::isnan(o.value)) continue;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace fracsweep::sweeps
