// Hyperparameter search inside a sweep: the `search:` section, ASHA's early
// stopping and TPE's proposals, as pure functions of what they are told.
//
//   search:
//     metric: aAUC            # a validation metric of log.jsonl's "val" (every epoch)
//     mode: max               # or min
//     trials: 12              # configurations tried
//     scheduler: asha         # or none: every trial runs to train.epochs
//     reduction_factor: 4     # ASHA's eta          } Ray Tune's
//     grace_period: 1         # epochs before a stop } ASHA defaults
//     max_epochs: 9           # a trial's budget; sets train.epochs (default: train.epochs)
//     rung_folds: mean        # a rung compares the mean over the trial's folds and seeds,
//                             # or `first`: its first fold and seed only (a cheap proxy)
//     sampler: tpe            # or random
//     startup_trials: 10      # TPE: random proposals before it models  } Optuna's
//     ei_candidates: 24       # TPE: candidates drawn per proposal      } defaults
//     seed: 0
//     space:
//       train.lr: {dist: loguniform, low: 1e-5, high: 1e-2}
//       train.triplet_margin: {dist: uniform, low: 0.05, high: 1}
//       model.share_branches: {dist: choice, values: [true, false]}
//
// Asha is Ray Tune's AsyncHyperBandScheduler with one bracket (Li et al.
// 2020): a trial's result at an iteration that passes a rung is compared with
// the results recorded at that rung so far and stopped when below their
// (1 - 1/eta) quantile; no barrier, each decision as the result arrives.
// Tpe is Optuna's TPESampler with its defaults (univariate Parzen estimators,
// prior weight 1, magic clip, gamma(n) = min(ceil(0.1 n), 25), 24 expected-
// improvement candidates). Both are deterministic: the same inputs in the same
// order give the same decisions and proposals, which is what lets a resumed
// search decide exactly as an uninterrupted one (sweeps/search_run.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fracsweep::sweeps {

// One axis of the search space.
struct SearchParam {
  enum class Dist { kUniform, kLogUniform, kChoice };
  std::string key;  // "<section>.<field>", e.g. "train.lr"
  Dist dist = Dist::kUniform;
  double low = 0, high = 1;         // kUniform, kLogUniform
  std::vector<std::string> values;  // kChoice, as written

  bool operator==(const SearchParam&) const = default;
};

struct SearchSpec {
  std::string metric = "aAUC";
  bool maximize = true;
  int trials = 0;
  bool asha = false;
  double reduction_factor = 4;
  int grace_period = 1;
  int max_epochs = 0;             // 0: the jobs' train.epochs
  bool rung_first_only = false;   // rung_folds: first
  bool tpe = false;               // sampler: tpe (else random)
  int startup_trials = 10;
  int ei_candidates = 24;
  uint64_t seed = 0;
  std::vector<SearchParam> space;

  bool operator==(const SearchSpec&) const = default;
};

// Throws core::ConfigError naming `where` and the key when the section is
// wrong (unknown key, bad range, a key outside data/model/train).
// `text` is the section as YAML.
SearchSpec parse_search_spec(const std::string& yaml_text, const std::string& where);

// A proposal: (key, value as YAML text) per axis, in the space's order.
using ParamValues = std::vector<std::pair<std::string, std::string>>;

// np.nanpercentile(values, percent) with numpy's default method ("linear"),
// bit for bit: NaNs are dropped (none left: NaN), the virtual index is
// (n - 1) * (percent / 100) and the two neighbours are interpolated as numpy's
// _lerp does (from the upper one when the fraction is >= 0.5). Mathematically
// equal forms round differently, and a result that ties with a rung's cutoff
// then goes the other way; see Note [ASHA cutoff]. REQUIRES: 0 <= percent <= 100.
double nan_percentile(std::vector<double> values, double percent);

// Asynchronous successive halving with one bracket, as Ray Tune's.
class Asha {
 public:
  // `maximize`: larger results are better. Rungs at grace * eta^k below
  // max_t, computed as Ray computes them (floating point included).
  Asha(double reduction_factor, int grace_period, int max_t, bool maximize);

  // A trial's result after `iteration` iterations: true to continue, false to
  // stop it. At iteration >= max_t the trial is complete (false, nothing
  // recorded). NaN continues and is recorded but ignored by cutoffs, as in Ray.
  bool on_result(int trial, int iteration, double value);

  // The rungs' iterations, ascending, below max_t (Ray keeps one at max_t
  // too, which a result never reaches: max_t completes the trial first).
  std::vector<double> milestones() const;
  // Whether on_result at `iteration` may record or stop anything: the first
  // whole iteration at or past a rung.
  bool decides_at(int iteration) const;

 private:
  struct Rung {
    double milestone;
    std::map<int, double> recorded;  // trial -> sign-adjusted result
  };
  double cutoff(const Rung& rung) const;

  double eta_;
  int max_t_;
  double sign_;
  std::vector<Rung> rungs_;  // descending milestones, as Ray keeps them
};

// What TPE learns from an ended trial: its proposal and how it scored.
struct TrialOutcome {
  int trial = 0;
  ParamValues params;
  double value = 0;      // the search metric (mean over the trial's jobs)
  bool complete = true;  // false: stopped early (pruned) at `step`
  int step = 0;          // the last epoch with a value
};

// TPE's good trials and the others, as Optuna's _split_trials with one
// objective: min(ceil(n / 10), 25) good ones, taken from the complete trials by
// value, then from the pruned ones by (deepest step first, value); ties keep
// the order of `ended` (Python's sort is stable); a NaN value is the worst.
// Indices into `ended`, each list in trial order.
struct TpeSplit {
  std::vector<size_t> below, above;
};
TpeSplit tpe_split(const std::vector<TrialOutcome>& ended, bool maximize);

// The tree-structured Parzen estimator, as Optuna's TPESampler.
class Tpe {
 public:
  explicit Tpe(const SearchSpec& spec);
  // Trial `trial`'s values: random (in each axis's space) while fewer than
  // startup_trials trials have ended, then the best of ei_candidates draws
  // from the good trials' density by l(x)/g(x), per axis. `ended` in trial
  // order. Deterministic in (seed, trial, ended).
  ParamValues propose(int trial, const std::vector<TrialOutcome>& ended) const;

 private:
  SearchSpec spec_;
};

// Random proposals (sampler: random, and TPE's startup): each axis uniform in
// its space (log space for loguniform), seeded by (seed, trial).
ParamValues random_proposal(const SearchSpec& spec, int trial);

// log l(x) - log g(x) at each of `at`, with l and g TPE's estimators of one
// axis built from the good (`below`) and the other (`above`) trials' values,
// as proposals write them: what a proposal maximises. Unknown values are
// skipped. For the tests against Optuna's estimators.
std::vector<double> tpe_acquisition(const SearchParam& p, const std::vector<std::string>& below,
                                    const std::vector<std::string>& above,
                                    const std::vector<std::string>& at);

// A number as proposals write it: the shortest text that reads back exactly.
std::string format_value(double v);

}  // namespace fracsweep::sweeps
