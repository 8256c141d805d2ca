// See search.h. Asha follows ray/tune/schedulers/async_hyperband.py (Ray
// 2.60, with numpy 2.4's percentile) and Tpe optuna/samplers/_tpe (Optuna
// 5.1); tests/fixtures/search holds their outputs on the same inputs.
#include "sweeps/search.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/math/special_functions/erf.hpp>

#include "core/error.h"
#include "core/seed.h"
#include "core/text.h"
#include "spec/yaml_load.h"

namespace fracsweep::sweeps {
namespace {

using core::ConfigError;

const std::vector<std::string> kSearchKeys = {
    "metric",       "mode",         "trials",         "scheduler", "reduction_factor",
    "grace_period", "max_epochs",   "rung_folds",     "sampler",   "startup_trials",
    "ei_candidates", "seed",        "space"};

using spec::scalar;

SearchParam parse_param(const std::string& key, const YAML::Node& node, const std::string& where) {
  const std::string path = "search.space." + key;
  const size_t dot = key.find('.');
  const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
  CHECK_OR_THROW(ConfigError,
                 (section == "data" || section == "model" || section == "train") &&
                     dot + 1 < key.size(),
                 where, ": ", path, ": must be <section>.<key> with section data, model or train, "
                 "e.g. train.lr");
  CHECK_OR_THROW(ConfigError, node.IsMap(), where, ": ", path, ": expected {dist, ...}");
  for (const auto& kv : node)
    spec::check_known_key(kv.first.as<std::string>(), path + "." + kv.first.as<std::string>(),
                          {"dist", "low", "high", "values"}, where);
  SearchParam p;
  p.key = key;
  const std::string dist = node["dist"] ? scalar<std::string>(node["dist"], path + ".dist", where) : "";
  if (dist == "choice") {
    p.dist = SearchParam::Dist::kChoice;
    const YAML::Node values = node["values"];
    CHECK_OR_THROW(ConfigError, values && values.IsSequence() && values.size() >= 1, where, ": ",
                   path, ".values: expected a non-empty list");
    for (const auto& v : values) p.values.push_back(YAML::Dump(v));
    return p;
  }
  CHECK_OR_THROW(ConfigError, dist == "uniform" || dist == "loguniform", where, ": ", path,
                 ".dist: '", dist, "' is unknown (uniform, loguniform, choice)");
  p.dist = dist == "uniform" ? SearchParam::Dist::kUniform : SearchParam::Dist::kLogUniform;
  CHECK_OR_THROW(ConfigError, node["low"] && node["high"], where, ": ", path, ": needs low and high");
  p.low = scalar<double>(node["low"], path + ".low", where);
  p.high = scalar<double>(node["high"], path + ".high", where);
  CHECK_OR_THROW(ConfigError, std::isfinite(p.low) && std::isfinite(p.high) && p.low < p.high &&
                     (dist == "uniform" || p.low > 0),
                 where, ": ", path, ": need finite low < high", dist == "loguniform" ? " and low > 0" : "");
  return p;
}

// --- Parzen estimators -------------------------------------------------------

constexpr double kPriorWeight = 1.0;

double log_ndtr_diff(double a, double b) {  // log(Phi(b) - Phi(a)), a < b
  const double d = 0.5 * (std::erfc(-b / std::sqrt(2.0)) - std::erfc(-a / std::sqrt(2.0)));
  return std::log(std::max(d, 1e-300));
}

// Optuna's default_weights: flat for the 25 newest, a ramp before them.
std::vector<double> observation_weights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n >= 25) {
    const size_t ramp = n - 25;
    for (size_t i = 0; i < ramp; ++i)
      w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (ramp - 1);
  }
  return w;
}

// A mixture of truncated normals on [low, high] (one per observation and one
// wide prior), or of categorical kernels.
struct Parzen {
  std::vector<double> weights;            // mixture weights, summing to 1
  std::vector<double> mus, sigmas;        // numerical
  std::vector<std::vector<double>> rows;  // categorical: per kernel, per choice
  double low = 0, high = 1;
  bool categorical = false;

  double log_pdf(double x) const {
    std::vector<double> terms(weights.size());
    for (size_t k = 0; k < weights.size(); ++k) {
      double lp;
      if (categorical) {
        lp = std::log(rows[k][static_cast<size_t>(x)]);
      } else {
        const double z = (x - mus[k]) / sigmas[k];
        lp = -0.5 * z * z - std::log(sigmas[k]) - 0.5 * std::log(2 * M_PI) -
             log_ndtr_diff((low - mus[k]) / sigmas[k], (high - mus[k]) / sigmas[k]);
      }
      terms[k] = std::log(weights[k]) + lp;
    }
    const double top = *std::max_element(terms.begin(), terms.end());
    double sum = 0;
    for (double t : terms) sum += std::exp(t - top);
    return top + std::log(sum);
  }

  double sample(core::Rng& rng) const {
    double u = rng.uniform01(), acc = 0;
    size_t k = 0;
    for (; k + 1 < weights.size(); ++k) {
      acc += weights[k];
      if (u < acc) break;
    }
    if (categorical) {
      const auto& row = rows[k];
      double v = rng.uniform01(), c = 0;
      for (size_t i = 0; i + 1 < row.size(); ++i) {
        c += row[i];
        if (v < c) return static_cast<double>(i);
      }
      return static_cast<double>(row.size() - 1);
    }
    // Inverse CDF between the truncation points.
    const double pa = 0.5 * std::erfc(-((low - mus[k]) / sigmas[k]) / std::sqrt(2.0));
    const double pb = 0.5 * std::erfc(-((high - mus[k]) / sigmas[k]) / std::sqrt(2.0));
    const double p = std::clamp(pa + rng.uniform01() * (pb - pa), 1e-300, 1 - 1e-16);
    const double z = -std::sqrt(2.0) * boost::math::erfc_inv(2 * p);
    return std::clamp(mus[k] + sigmas[k] * z, low, high);
  }
};

Parzen make_numerical(const std::vector<double>& obs, double low, double high) {
  Parzen p;
  p.low = low;
  p.high = high;
  const size_t n = obs.size();
  const double prior_mu = 0.5 * (low + high);
  if (n > 0) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return obs[a] < obs[b]; });
    std::vector<double> e(n + 2);  // the observations sorted, between the endpoints
    e.front() = low;
    e.back() = high;
    for (size_t i = 0; i < n; ++i) e[i + 1] = obs[order[i]];
    std::vector<double> sorted_sigmas(n);
    for (size_t i = 0; i < n; ++i) sorted_sigmas[i] = std::max(e[i + 1] - e[i], e[i + 2] - e[i + 1]);
    if (e.size() >= 4) {  // consider_endpoints=False
      sorted_sigmas.front() = e[2] - e[1];
      sorted_sigmas.back() = e[e.size() - 2] - e[e.size() - 3];
    }
    std::vector<double> sigmas(n);
    for (size_t i = 0; i < n; ++i) sigmas[order[i]] = sorted_sigmas[i];
    const double max_sigma = high - low;
    const double min_sigma = (high - low) / std::min(100.0, 1.0 + static_cast<double>(n + 1));
    for (size_t i = 0; i < n; ++i) {
      p.mus.push_back(obs[i]);
      p.sigmas.push_back(std::clamp(sigmas[i], min_sigma, max_sigma));
    }
    p.weights = observation_weights(n);
  }
  p.mus.push_back(prior_mu);
  p.sigmas.push_back(high - low);
  p.weights.push_back(kPriorWeight);
  const double total = std::accumulate(p.weights.begin(), p.weights.end(), 0.0);
  for (double& w : p.weights) w /= total;
  return p;
}

Parzen make_categorical(const std::vector<double>& obs, size_t choices) {
  Parzen p;
  p.categorical = true;
  const size_t n = obs.size(), kernels = n + 1;
  p.rows.assign(kernels, std::vector<double>(choices, kPriorWeight / static_cast<double>(kernels)));
  for (size_t i = 0; i < n; ++i) p.rows[i][static_cast<size_t>(obs[i])] += 1;
  for (auto& row : p.rows) {
    const double s = std::accumulate(row.begin(), row.end(), 0.0);
    for (double& v : row) v /= s;
  }
  p.weights = observation_weights(n);
  p.weights.push_back(kPriorWeight);
  const double total = std::accumulate(p.weights.begin(), p.weights.end(), 0.0);
  for (double& w : p.weights) w /= total;
  return p;
}

// An axis value in the space the estimators work in: log for loguniform, the
// index for a choice; nullopt when the text is not a value of the axis.
std::optional<double> internal_value(const SearchParam& p, const std::string& text) {
  if (p.dist == SearchParam::Dist::kChoice) {
    const auto it = std::find(p.values.begin(), p.values.end(), text);
    if (it == p.values.end()) return std::nullopt;
    return static_cast<double>(it - p.values.begin());
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return p.dist == SearchParam::Dist::kLogUniform ? std::log(v) : v;
}

std::string external_value(const SearchParam& p, double x) {
  switch (p.dist) {
    case SearchParam::Dist::kChoice: return p.values[static_cast<size_t>(x)];
    case SearchParam::Dist::kLogUniform: return format_value(std::clamp(std::exp(x), p.low, p.high));
    case SearchParam::Dist::kUniform: return format_value(x);
  }
  return "";
}

const std::string* find_value(const ParamValues& values, const std::string& key) {
  for (const auto& [k, v] : values)
    if (k == key) return &v;
  return nullptr;
}

// TPE's two estimators of axis `p` from its good and other observations.
std::pair<Parzen, Parzen> estimators(const SearchParam& p, const std::vector<double>& below,
                                     const std::vector<double>& above) {
  if (p.dist == SearchParam::Dist::kChoice)
    return {make_categorical(below, p.values.size()), make_categorical(above, p.values.size())};
  const bool log = p.dist == SearchParam::Dist::kLogUniform;
  const double lo = log ? std::log(p.low) : p.low, hi = log ? std::log(p.high) : p.high;
  return {make_numerical(below, lo, hi), make_numerical(above, lo, hi)};
}

std::vector<double> internal_values(const SearchParam& p, const std::vector<std::string>& texts) {
  std::vector<double> xs;
  for (const std::string& t : texts)
    if (const auto x = internal_value(p, t)) xs.push_back(*x);
  return xs;
}

}  // namespace

std::vector<double> tpe_acquisition(const SearchParam& p, const std::vector<std::string>& below,
                                    const std::vector<std::string>& above,
                                    const std::vector<std::string>& at) {
  const auto [l, g] = estimators(p, internal_values(p, below), internal_values(p, above));
  std::vector<double> out;
  for (double x : internal_values(p, at)) out.push_back(l.log_pdf(x) - g.log_pdf(x));
  return out;
}

SearchSpec parse_search_spec(const std::string& yaml_text, const std::string& where) {
  const YAML::Node s = spec::load_yaml(yaml_text, where);
  CHECK_OR_THROW(ConfigError, s.IsMap(), where, ": search: expected a mapping");
  for (const auto& kv : s) {
    const std::string key = kv.first.as<std::string>();
    spec::check_known_key(key, "search." + key, kSearchKeys, where);
  }
  SearchSpec out;
  const auto get = [&](const char* key, auto& field) {
    if (s[key]) field = scalar<std::decay_t<decltype(field)>>(s[key], core::str_cat("search.", key), where);
  };
  get("metric", out.metric);
  std::string mode = "max", scheduler = "asha", sampler = "tpe", rung_folds = "mean";
  get("mode", mode);
  get("scheduler", scheduler);
  get("sampler", sampler);
  get("rung_folds", rung_folds);
  get("trials", out.trials);
  get("reduction_factor", out.reduction_factor);
  get("grace_period", out.grace_period);
  get("max_epochs", out.max_epochs);
  get("startup_trials", out.startup_trials);
  get("ei_candidates", out.ei_candidates);
  get("seed", out.seed);
  CHECK_OR_THROW(ConfigError, mode == "max" || mode == "min", where, ": search.mode: '", mode,
                 "' is unknown (max, min)");
  CHECK_OR_THROW(ConfigError, scheduler == "asha" || scheduler == "none", where,
                 ": search.scheduler: '", scheduler, "' is unknown (asha, none)");
  CHECK_OR_THROW(ConfigError, sampler == "tpe" || sampler == "random", where, ": search.sampler: '",
                 sampler, "' is unknown (tpe, random)");
  CHECK_OR_THROW(ConfigError, rung_folds == "mean" || rung_folds == "first", where,
                 ": search.rung_folds: '", rung_folds, "' is unknown (mean, first)");
  out.maximize = mode == "max";
  out.asha = scheduler == "asha";
  out.tpe = sampler == "tpe";
  out.rung_first_only = rung_folds == "first";
  CHECK_OR_THROW(ConfigError, out.trials >= 1, where, ": search.trials: give the number of "
                 "configurations to try (>= 1)");
  CHECK_OR_THROW(ConfigError, out.reduction_factor > 1, where, ": search.reduction_factor must be > 1");
  CHECK_OR_THROW(ConfigError, out.grace_period >= 1, where, ": search.grace_period must be >= 1");
  CHECK_OR_THROW(ConfigError, out.max_epochs >= 0, where, ": search.max_epochs must be >= 1");
  CHECK_OR_THROW(ConfigError, out.startup_trials >= 0 && out.ei_candidates >= 1, where,
                 ": search.startup_trials must be >= 0 and search.ei_candidates >= 1");
  const YAML::Node space = s["space"];
  CHECK_OR_THROW(ConfigError, space && space.IsMap() && space.size() > 0, where,
                 ": search.space: expected `<section>.<key>: {dist, ...}` entries");
  for (const auto& kv : space) out.space.push_back(parse_param(kv.first.as<std::string>(), kv.second, where));
  return out;
}

// --- ASHA ---------------------------------------------------------------------

Asha::Asha(double reduction_factor, int grace_period, int max_t, bool maximize)
    : eta_(reduction_factor), max_t_(max_t), sign_(maximize ? 1.0 : -1.0) {
  // Ray: int(np.log(max_t / min_t) / np.log(rf) - s + 1) with s = 0.
  const int rungs = static_cast<int>(std::log(static_cast<double>(max_t) / grace_period) /
                                         std::log(reduction_factor) + 1);
  for (int k = rungs - 1; k >= 0; --k)
    rungs_.push_back({grace_period * std::pow(reduction_factor, k), {}});
}

// Note [ASHA cutoff]
// Ray's _Bracket.cutoff is np.nanpercentile(recorded, (1 - 1/rf) * 100), and
// a result is stopped when strictly below it. Results are often rounded (an
// accuracy on a small validation set), so a result often equals a recorded one
// and the quantile often falls on a recorded one exactly; whether such a tie
// continues then depends on the last bit of the cutoff. numpy computes the
// virtual index as (n - 1) * q, not as the equal n * q + (1 - q) - 1 (with
// eta 3, q = 0.6666666666666667: 12 * q is 8 exactly but the other form gives
// 8.000000000000002, and 27 * q is 18.000000000000004 where the other gives 18),
// so this follows numpy's steps one by one, and the build keeps the compiler
// from fusing a multiply and an add into one rounding (-ffp-contract=off).
double nan_percentile(std::vector<double> values, double percent) {
  assert(percent >= 0 && percent <= 100);
  std::erase_if(values, [](double v) { return std::isnan(v); });
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double q = percent / 100;                              // np.true_divide(q, 100)
  const double index = static_cast<double>(n - 1) * q;        // "linear": (n - 1) * quantiles
  // _get_indexes: at or past the last element both neighbours are the last
  // one, and numpy's gamma is then taken from the index -1 it stored.
  const bool past_end = index >= static_cast<double>(n - 1);
  const double previous = past_end ? -1.0 : std::floor(index);
  const size_t lo = past_end ? n - 1 : static_cast<size_t>(previous);
  const size_t hi = past_end ? n - 1 : lo + 1;
  const double t = index - previous;                           // _get_gamma
  const double a = values[lo], b = values[hi], diff = b - a;   // _lerp
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

double Asha::cutoff(const Rung& rung) const {
  // See Note [ASHA cutoff].
  std::vector<double> v;
  v.reserve(rung.recorded.size());
  for (const auto& [trial, value] : rung.recorded) v.push_back(value);
  return nan_percentile(std::move(v), (1 - 1 / eta_) * 100);
}

bool Asha::on_result(int trial, int iteration, double value) {
  if (iteration >= max_t_) return false;
  const double reward = sign_ * value;
  for (Rung& rung : rungs_) {
    if (iteration < rung.milestone || rung.recorded.count(trial)) continue;
    bool stop = false;
    if (!rung.recorded.empty()) {
      const double c = cutoff(rung);
      stop = reward < c;  // false when either is NaN, as in Python
    }
    rung.recorded[trial] = reward;
    return !stop;
  }
  return true;
}

std::vector<double> Asha::milestones() const {
  std::vector<double> out;
  for (auto it = rungs_.rbegin(); it != rungs_.rend(); ++it)
    if (it->milestone < max_t_) out.push_back(it->milestone);
  return out;
}

bool Asha::decides_at(int iteration) const {
  if (iteration >= max_t_) return false;
  for (const Rung& rung : rungs_)
    if (iteration >= rung.milestone && iteration - 1 < rung.milestone) return true;
  return false;
}

// --- TPE ----------------------------------------------------------------------

std::string format_value(double v) {
  char buf[40];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  INTERNAL_ASSERT(ec == std::errc());
  return std::string(buf, end);
}

ParamValues random_proposal(const SearchSpec& spec, int trial) {
  ParamValues out;
  for (const SearchParam& p : spec.space) {
    core::Rng rng(core::derive_seed(spec.seed, p.key, trial, "search-random"));
    switch (p.dist) {
      case SearchParam::Dist::kChoice:
        out.emplace_back(p.key, p.values[rng.uniform_below(p.values.size())]);
        break;
      case SearchParam::Dist::kUniform:
        out.emplace_back(p.key, format_value(p.low + rng.uniform01() * (p.high - p.low)));
        break;
      case SearchParam::Dist::kLogUniform: {
        const double lo = std::log(p.low), hi = std::log(p.high);
        out.emplace_back(p.key, external_value(p, lo + rng.uniform01() * (hi - lo)));
        break;
      }
    }
  }
  return out;
}

Tpe::Tpe(const SearchSpec& spec) : spec_(spec) {}

TpeSplit tpe_split(const std::vector<TrialOutcome>& ended, bool maximize) {
  const double sign = maximize ? -1.0 : 1.0;  // loss = sign * value
  const auto loss = [&](const TrialOutcome& t) {
    return std::isnan(t.value) ? std::numeric_limits<double>::infinity() : sign * t.value;
  };
  std::vector<size_t> complete, pruned;
  for (size_t i = 0; i < ended.size(); ++i) (ended[i].complete ? complete : pruned).push_back(i);
  std::stable_sort(complete.begin(), complete.end(),
                   [&](size_t a, size_t b) { return loss(ended[a]) < loss(ended[b]); });
  std::stable_sort(pruned.begin(), pruned.end(), [&](size_t a, size_t b) {
    return std::make_pair(-ended[a].step, loss(ended[a])) < std::make_pair(-ended[b].step, loss(ended[b]));
  });
  size_t n_below = std::min<size_t>(
      static_cast<size_t>(std::ceil(0.1 * static_cast<double>(ended.size()))), 25);
  TpeSplit out;
  for (const auto* group : {&complete, &pruned})
    for (size_t i : *group) {
      if (n_below > 0) {
        out.below.push_back(i);
        --n_below;
      } else {
        out.above.push_back(i);
      }
    }
  const auto by_number = [&](size_t a, size_t b) { return ended[a].trial < ended[b].trial; };
  std::sort(out.below.begin(), out.below.end(), by_number);
  std::sort(out.above.begin(), out.above.end(), by_number);
  return out;
}

ParamValues Tpe::propose(int trial, const std::vector<TrialOutcome>& ended) const {
  const size_t n = ended.size();
  if (n < static_cast<size_t>(spec_.startup_trials)) return random_proposal(spec_, trial);
  const TpeSplit split = tpe_split(ended, spec_.maximize);
  std::vector<const TrialOutcome*> below, above;
  for (size_t i : split.below) below.push_back(&ended[i]);
  for (size_t i : split.above) above.push_back(&ended[i]);

  ParamValues out;
  for (const SearchParam& p : spec_.space) {
    const auto observations = [&](const std::vector<const TrialOutcome*>& trials) {
      std::vector<std::string> texts;
      for (const TrialOutcome* t : trials)
        if (const std::string* text = find_value(t->params, p.key)) texts.push_back(*text);
      return internal_values(p, texts);
    };
    const auto [l, g] = estimators(p, observations(below), observations(above));
    core::Rng rng(core::derive_seed(spec_.seed, p.key, trial, "search-tpe"));
    double best_x = 0, best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < spec_.ei_candidates; ++c) {
      const double x = l.sample(rng);
      const double score = l.log_pdf(x) - g.log_pdf(x);
      if (score > best_score) {
        best_score = score;
        best_x = x;
      }
    }
    out.emplace_back(p.key, external_value(p, best_x));
  }
  return out;
}

}  // namespace fracsweep::sweeps
