// A search's state is a fold over its ledger: a run cut at any record and
// resumed from the records decides and proposes as the uninterrupted run.
#include "sweeps/search_run.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::sweeps {
namespace {

constexpr const char* kSearch = R"(
name: s
output: runs/s
preset: tiny
dataset: {store: vcf.h5}
protocol: {split: kfold, folds: 3}
variants: {curve: {model: {variant: curve}}}
search:
  trials: 14
  max_epochs: 9
  reduction_factor: 3
  startup_trials: 4
  seed: 3
  space:
    train.lr: {dist: loguniform, low: 1e-5, high: 1e-1}
    train.triplet_margin: {dist: uniform, low: 0, high: 1}
)";

// A job's value after `epoch` epochs under `params`: better near lr 1e-3.
double value_of(const ParamValues& params, int job, int epoch) {
  const double d = std::log10(std::stod(params[0].second)) + 3;
  core::Rng rng(core::derive_seed(7, "", job * 100 + epoch, "value"));
  return 0.9 - 0.05 * d * d - 0.3 * std::exp(-epoch / 2.0) + 0.01 * rng.uniform01();
}

// Runs the search on one group, job after job, appending to `records`; a run
// "killed" after `limit` records returns early. A job paused at a rung (its
// trial's other folds have not reached it) ends there and, handed out again,
// goes on after its last recorded result, as from its checkpoint.
void run(const Sweep& sweep, std::vector<LedgerRecord>& records, size_t limit, int* pauses) {
  SearchRun search(sweep, records);
  bool paused = false;
  std::vector<int> all(sweep.jobs.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const LedgerOrigin origin{0, "h"};
  const auto add = [&](LedgerRecord r) {
    if (records.size() >= limit) return false;
    search.apply(r);
    records.push_back(std::move(r));
    return true;
  };
  while (const auto h = search.next(all, {})) {
    const SweepJob& job = sweep.jobs[static_cast<size_t>(h->job)];
    if (h->skip) {
      if (!add(make_stopped(job.id, job.name, origin, 0, "t"))) return;
      continue;
    }
    LedgerRecord started = make_started(job.id, job.name, origin, "t");
    for (const auto& [k, v] : h->params) started.params[k] = v;
    if (!add(started)) return;
    int first = 1;
    for (const LedgerRecord& r : records)
      if (r.job == job.id && r.event == LedgerEvent::kResult) first = std::max(first, r.epoch + 1);
    bool ended = false;
    for (int epoch = first; epoch <= 9 && !ended; ++epoch) {
      if (search.records_result(h->job, epoch) &&
          !add(make_result(job.id, job.name, origin, epoch, value_of(h->params, h->job, epoch), "t")))
        return;
      if (search.stopped(h->job) && epoch < 9) {
        if (!add(make_stopped(job.id, job.name, origin, epoch, "t"))) return;
        ended = true;
      } else if (search.pauses_at(h->job, epoch, {h->job})) {
        ++*pauses;
        ended = true;
        paused = true;
      }
    }
    if (paused) {
      paused = false;
      continue;
    }
    if (!ended && !add(make_finished(job.id, job.name, origin, {{"aAUC", 0.8}}, "t"))) return;
  }
}

TEST(SearchRun, StopsTrialsAndLearnsAndTheLedgerAloneDecides) {
  const Sweep sweep = parse_sweep(kSearch, "s.yaml");
  ASSERT_EQ(sweep.jobs.size(), 42u);
  std::vector<LedgerRecord> whole;
  int pauses = 0;
  run(sweep, whole, SIZE_MAX, &pauses);
  const SearchRun done(sweep, whole);
  EXPECT_GE(done.stopped_trials().size(), 5u);  // ASHA stops most trials early
  // One group: each trial's first two folds pause at each rung it reaches.
  EXPECT_GE(pauses, 2 * 14);
  // So no job of a stopped trial trained to its end.
  for (const LedgerRecord& r : whole)
    if (r.event == LedgerEvent::kFinished) {
      const int trial = sweep.jobs[static_cast<size_t>(std::find_if(sweep.jobs.begin(), sweep.jobs.end(),
                                                                    [&](const SweepJob& j) { return j.id == r.job; }) -
                                                       sweep.jobs.begin())].trial;
      EXPECT_FALSE(done.stopped_trials().count(trial)) << r.name;
    }
  EXPECT_EQ(done.ended_trials().size(), 14u);
  // TPE learnt: the trials after the startup ones lie nearer lr 1e-3 on average.
  double early = 0, late = 0;
  for (int t = 0; t < 14; ++t) {
    const double d = std::abs(std::log10(std::stod(done.params_of_trial(t)->at(0).second)) + 3);
    (t < 4 ? early : late) += d / (t < 4 ? 4 : 10);
  }
  EXPECT_LT(late, early);
  // Cut the run at every record and resume from what the ledger kept.
  for (size_t cut = 1; cut < whole.size(); cut += 3) {
    std::vector<LedgerRecord> resumed;
    int ignored = 0;
    run(sweep, resumed, cut, &ignored);
    ASSERT_EQ(resumed.size(), cut);
    run(sweep, resumed, SIZE_MAX, &ignored);
    const SearchRun again(sweep, resumed);
    ASSERT_EQ(again.stopped_trials(), done.stopped_trials()) << "cut after record " << cut;
    for (int t = 0; t < 14; ++t) ASSERT_EQ(again.params_of_trial(t), done.params_of_trial(t)) << t;
  }
}

TEST(SearchRun, ASearchSweepNamesTrialsAndRefusesAxes) {
  const Sweep sweep = parse_sweep(kSearch, "s.yaml");
  EXPECT_EQ(sweep.jobs.front().name, "curve/fold0/seed1/trial0");
  EXPECT_EQ(sweep.jobs.front().config.train.epochs, 9);
  const spec::JobConfig c = with_params(sweep.jobs.front(), {{"train.lr", "0.002"}});
  EXPECT_DOUBLE_EQ(c.train.lr, 0.002);
  EXPECT_THROW(parse_sweep(std::string(kSearch) + "axes: {grid: {train.lr: [1, 2]}}\n", "s.yaml"),
               core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::sweeps
