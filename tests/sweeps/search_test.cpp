// ASHA and TPE against their oracles (Ray Tune, Optuna): the fixtures in
// tests/fixtures/search come from make_search_fixtures.py.
#include "sweeps/search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::sweeps {
namespace {

using nlohmann::json;

json load(const std::string& name) {
  return json::parse(core::read_file(testing::fixture("search/" + name)));
}

// A number of the fixtures: JSON has no NaN or infinities, so they come as strings.
double number(const json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  ADD_FAILURE() << "not a number: " << s;
  return 0;
}

bool same_bits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) || (std::isnan(a) && std::isnan(b));
}

TEST(Asha, MakesRayTunesDecisionsOnTheSameResults) {
  const json fixture = load("asha.json");
  int decisions = 0, stops = 0;
  for (const json& s : fixture["scenarios"]) {
    Asha asha(s["reduction_factor"].get<double>(), s["grace_period"].get<int>(),
              s["max_t"].get<int>(), s["mode"] == "max");
    for (const json& e : s["events"]) {
      const bool go = asha.on_result(e[0].get<int>(), e[1].get<int>(), e[2].get<double>());
      ASSERT_EQ(go, e[3].get<bool>()) << "eta " << s["reduction_factor"] << " mode " << s["mode"]
                                      << ": trial " << e[0] << " at iteration " << e[1];
      ++decisions;
      stops += !go && e[1].get<int>() < s["max_t"].get<int>();
    }
  }
  EXPECT_GT(decisions, 1000);
  EXPECT_GT(stops, 100);  // early stops, not only completions at max_t
}

// Regression: the cutoff's virtual index was n * q + (1 - q) - 1, equal to
// numpy's (n - 1) * q in exact arithmetic but not in floating point, so with
// eta 3 a result tied with the cutoff continued where Ray stopped it and the
// other way round (Note [ASHA cutoff]).
TEST(Asha, CutoffIsNumpysPercentileToTheBit) {
  const json fixture = load("asha.json");
  int cases = 0, between = 0;
  for (const json& c : fixture["percentiles"]) {
    std::vector<double> values;
    for (const json& v : c["values"]) values.push_back(number(v));
    const double percent = c["percent"].get<double>(), expected = number(c["result"]);
    const double got = nan_percentile(values, percent);
    EXPECT_TRUE(same_bits(got, expected))
        << "np.nanpercentile(" << c["values"].dump() << ", " << c["percent"].dump() << ") is "
        << c["result"].dump() << ", got " << format_value(got);
    ++cases;
    between += std::find(values.begin(), values.end(), expected) == values.end();
  }
  EXPECT_GE(cases, 300);
  EXPECT_GE(between, 100);  // interpolated, not one of the values
}

TEST(Asha, ResultTiedWithTheCutoffDecidesAsRay) {
  const json fixture = load("asha.json");
  std::set<std::pair<double, std::string>> kinds;
  int ties = 0, tied_stops = 0;
  for (const json& s : fixture["scenarios"]) {
    if (!s.contains("grid")) continue;
    kinds.insert({s["reduction_factor"].get<double>(), s["mode"].get<std::string>()});
    Asha asha(s["reduction_factor"].get<double>(), s["grace_period"].get<int>(),
              s["max_t"].get<int>(), s["mode"] == "max");
    for (const json& e : s["events"]) {
      const bool go = asha.on_result(e[0].get<int>(), e[1].get<int>(), e[2].get<double>());
      ASSERT_EQ(go, e[3].get<bool>()) << "eta " << s["reduction_factor"] << " mode " << s["mode"]
                                      << " grid " << s["grid"] << ": trial " << e[0] << " at iteration "
                                      << e[1] << " with " << e[2] << (e[4].get<bool>() ? " (a tie)" : "");
      ties += e[4].get<bool>();
      tied_stops += e[4].get<bool>() && !go;
    }
  }
  EXPECT_EQ(kinds.size(), 8u);  // eta 2, 2.5, 3, 4, each with mode max and min
  // Ties: equal to the cutoff up to its last bits. Most continue; those stopped
  // met a cutoff that numpy's rounding put a hair above them.
  EXPECT_GE(ties, 500);
  EXPECT_GE(tied_stops, 5);
}

TEST(Asha, RungsAreRaysAndDecideOnlyWhenPassed) {
  Asha asha(3, 1, 9, true);
  EXPECT_EQ(asha.milestones(), (std::vector<double>{1, 3}));  // 9 = max_t ends a trial
  EXPECT_TRUE(asha.decides_at(1));
  EXPECT_FALSE(asha.decides_at(2));
  EXPECT_TRUE(asha.decides_at(3));
  EXPECT_FALSE(asha.decides_at(9));
  Asha fractional(2.5, 1, 12, true);  // rungs at 1, 2.5, 6.25: epochs 1, 3 and 7 decide
  EXPECT_TRUE(fractional.decides_at(3));
  EXPECT_FALSE(fractional.decides_at(2));
  EXPECT_TRUE(fractional.decides_at(7));
}

TEST(Asha, StopsTheWorseAndKeepsTheFirstAtEachRung) {
  Asha asha(2, 1, 8, /*maximize=*/true);
  EXPECT_TRUE(asha.on_result(0, 1, 0.5));   // first at the rung: nothing to compare with
  EXPECT_FALSE(asha.on_result(1, 1, 0.4));  // below the median of {0.5}
  EXPECT_TRUE(asha.on_result(2, 1, 0.9));
  Asha minimize(2, 1, 8, /*maximize=*/false);
  EXPECT_TRUE(minimize.on_result(0, 1, 0.5));
  EXPECT_TRUE(minimize.on_result(1, 1, 0.4));  // smaller is better
  EXPECT_FALSE(minimize.on_result(2, 1, 0.9));
}

// Compares tpe_acquisition with Optuna's scores on each case; the number of points.
int expect_optunas_acquisition(const json& cases) {
  int points = 0;
  for (const json& c : cases) {
    SearchParam p;
    p.key = "train.x";
    const std::string dist = c["param"]["dist"];
    if (dist == "choice") {
      p.dist = SearchParam::Dist::kChoice;
      p.values = c["param"]["values"].get<std::vector<std::string>>();
    } else {
      p.dist = dist == "uniform" ? SearchParam::Dist::kUniform : SearchParam::Dist::kLogUniform;
      p.low = c["param"]["low"];
      p.high = c["param"]["high"];
    }
    const auto scores = tpe_acquisition(p, c["below"].get<std::vector<std::string>>(),
                                        c["above"].get<std::vector<std::string>>(),
                                        c["at"].get<std::vector<std::string>>());
    const auto expected = c["scores"].get<std::vector<double>>();
    EXPECT_EQ(scores.size(), expected.size()) << c["param"].dump();
    for (size_t i = 0; i < std::min(scores.size(), expected.size()); ++i, ++points)
      EXPECT_NEAR(scores[i], expected[i], 1e-9 * std::max(1.0, std::abs(expected[i])))
          << c["param"].dump() << " below " << c["below"].dump() << " above " << c["above"].size()
          << " values, at " << c["at"][i];
  }
  return points;
}

TEST(Tpe, AcquisitionIsOptunasOnTheSameObservations) {
  EXPECT_GE(expect_optunas_acquisition(load("parzen.json")["cases"]), 100);
}

TEST(Tpe, AcquisitionIsOptunasOnDegenerateAndExtremeObservations) {
  // None, one, all equal, at the ends of the range, one choice, over 100.
  EXPECT_GE(expect_optunas_acquisition(load("tpe_edges.json")["parzen"]), 100);
}

TEST(Tpe, SplitIsOptunasWhenValuesTie) {
  const json fixture = load("tpe_edges.json");
  int splits = 0;
  for (const json& s : fixture["splits"]) {
    std::vector<TrialOutcome> ended;
    for (const json& t : s["trials"])
      ended.push_back({t[0].get<int>(), {}, number(t[3]), t[1].get<bool>(), t[2].get<int>()});
    const TpeSplit split = tpe_split(ended, s["direction"] == "maximize");
    std::vector<int> below;
    for (size_t i : split.below) below.push_back(ended[i].trial);
    EXPECT_EQ(below, s["below"].get<std::vector<int>>()) << s["direction"] << ", " << ended.size()
                                                         << " trials: " << s["trials"].dump();
    EXPECT_EQ(split.below.size() + split.above.size(), ended.size());
    EXPECT_TRUE(std::is_sorted(split.above.begin(), split.above.end()));
    ++splits;
  }
  EXPECT_GE(splits, 60);
}

SearchSpec space_of(const json& space, uint64_t seed) {
  SearchSpec s;
  s.trials = 40;
  s.tpe = true;
  s.maximize = false;
  s.seed = seed;
  for (const auto& [key, range] : space.items()) {
    SearchParam p;
    p.key = "train." + key;
    p.low = range[0];
    p.high = range[1];
    s.space.push_back(p);
  }
  return s;
}

// The best value after `trials` sequential trials of `spec`'s sampler on `f`.
double best_after(const SearchSpec& spec, const std::function<double(double, double)>& f) {
  Tpe tpe(spec);
  std::vector<TrialOutcome> ended;
  double best = INFINITY;
  for (int t = 0; t < spec.trials; ++t) {
    TrialOutcome o;
    o.trial = t;
    o.params = spec.tpe ? tpe.propose(t, ended) : random_proposal(spec, t);
    o.value = f(std::stod(o.params[0].second), std::stod(o.params[1].second));
    best = std::min(best, o.value);
    ended.push_back(o);
  }
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

TEST(Tpe, FindsAsGoodAValueAsOptunaOnStandardFunctions) {
  const json fixture = load("tpe.json");
  const std::map<std::string, std::function<double(double, double)>> functions = {
      {"quadratic", [](double x, double y) { return (x - 2) * (x - 2) + (y + 1) * (y + 1); }},
      {"branin", [](double x1, double x2) {
         const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
         const double u = x2 - b * x1 * x1 + c * x1 - 6;
         return u * u + 10 * (1 - t) * std::cos(x1) + 10;
       }}};
  for (const auto& [name, f] : functions) {
    const json& expected = fixture["functions"][name];
    std::vector<double> ours, random;
    for (uint64_t seed : fixture["seeds"].get<std::vector<uint64_t>>()) {
      SearchSpec spec = space_of(expected["space"], seed);
      spec.trials = fixture["trials"];
      ours.push_back(best_after(spec, f));
      spec.tpe = false;
      random.push_back(best_after(spec, f));
    }
    const auto optuna = expected["tpe_best"].get<std::vector<double>>();
    const double lo = *std::min_element(optuna.begin(), optuna.end());
    const double hi = *std::max_element(optuna.begin(), optuna.end());
    SCOPED_TRACE(name);
    EXPECT_GE(median(ours), lo);
    EXPECT_LE(median(ours), hi);
    // It learns: better than random proposals, as Optuna's is than its random sampler.
    EXPECT_LT(median(ours), median(random));
    EXPECT_LT(median(optuna), median(expected["random_best"].get<std::vector<double>>()));
  }
}

TEST(Tpe, ProposalsAreDeterministicAndInsideTheSpace) {
  SearchSpec spec = parse_search_spec(R"(
trials: 30
startup_trials: 3
seed: 5
space:
  train.lr: {dist: loguniform, low: 1e-5, high: 1e-2}
  train.triplet_margin: {dist: uniform, low: 0.05, high: 1}
  model.share_branches: {dist: choice, values: [true, false]}
)", "s.yaml");
  EXPECT_TRUE(spec.tpe && spec.asha && spec.maximize);
  Tpe tpe(spec);
  std::vector<TrialOutcome> ended;
  for (int t = 0; t < 12; ++t) {
    const ParamValues a = tpe.propose(t, ended), b = tpe.propose(t, ended);
    ASSERT_EQ(a, b);
    const double lr = std::stod(a[0].second), margin = std::stod(a[1].second);
    EXPECT_GE(lr, 1e-5);
    EXPECT_LE(lr, 1e-2);
    EXPECT_GE(margin, 0.05);
    EXPECT_LE(margin, 1);
    EXPECT_TRUE(a[2].second == "true" || a[2].second == "false");
    ended.push_back({t, a, -std::abs(std::log10(lr) + 3), t % 3 != 0, 3});
  }
}

TEST(SearchSpec, RefusesWhatItCannotRun) {
  const auto error = [](const std::string& yaml) {
    try {
      parse_search_spec(yaml, "s.yaml");
    } catch (const core::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::string space = "space: {train.lr: {dist: uniform, low: 0, high: 1}}\n";
  EXPECT_NE(error("trials: 0\n" + space).find("search.trials"), std::string::npos);
  EXPECT_NE(error("trials: 3\nsheduler: asha\n" + space).find("scheduler"), std::string::npos);
  EXPECT_NE(error("trials: 3\nmode: maximum\n" + space).find("search.mode"), std::string::npos);
  EXPECT_NE(error("trials: 3\nreduction_factor: 1\n" + space).find("reduction_factor"), std::string::npos);
  EXPECT_NE(error("trials: 3\nspace: {lr: {dist: uniform, low: 0, high: 1}}").find("<section>.<key>"),
            std::string::npos);
  EXPECT_NE(error("trials: 3\nspace: {train.lr: {dist: loguniform, low: 0, high: 1}}").find("low > 0"),
            std::string::npos);
  EXPECT_NE(error("trials: 3\nspace: {train.lr: {dist: normal, low: 0, high: 1}}").find("normal"),
            std::string::npos);
}

}  // namespace
}  // namespace fracsweep::sweeps
