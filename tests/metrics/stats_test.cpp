#include "metrics/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

// Relative agreement, with an absolute floor for values near 0.
void expect_close(double actual, double expected, double rel) {
  EXPECT_NEAR(actual, expected, rel * std::max(1e-300, std::fabs(expected)))
      << "actual " << actual << ", expected " << expected;
}

// stats.json is written by make_stats.py from scipy.stats.ttest_rel.
TEST(PairedTTest, MatchesScipyTtestRel) {
  const auto fixture =
      nlohmann::json::parse(core::read_file(testing::fixture("metrics/stats.json")));
  int cases = 0;
  for (const auto& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto a = c.at("a").get<std::vector<double>>();
    const auto b = c.at("b").get<std::vector<double>>();
    const PairedTTest r = paired_t_test(a, b);
    EXPECT_EQ(r.n, a.size());
    expect_close(r.mean_diff, c.at("mean_diff").get<double>(), 1e-12);
    expect_close(r.t, c.at("t").get<double>(), 1e-10);
    expect_close(r.p, c.at("p").get<double>(), 1e-10);
    ++cases;
  }
  EXPECT_GE(cases, 5);
}

double number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  throw std::runtime_error("bad number in fixture: '" + s + "'");
}

std::vector<double> numbers(const nlohmann::json& a) {
  std::vector<double> out;
  for (const auto& v : a) out.push_back(number(v));
  return out;
}

// stats_edge.json (make_stats.py): zero variance of the differences, identical
// samples, n = 2, signed zeros, 1e-300 and 1e200. `t` is exact (rational
// arithmetic on the differences, rounded once), `p` scipy's t distribution at
// it; scipy's ttest_rel answer is beside it and differs where its variance
// under- or overflows (see stats.h). 0 / 0 (every difference 0) is NaN there
// and t = 0, p = 1 here, as stats.h documents.
TEST(PairedTTest, DegenerateAndExtremeCasesMatchTheExactT) {
  const auto fixture =
      nlohmann::json::parse(core::read_file(testing::fixture("metrics/stats_edge.json")));
  int cases = 0, differs_from_scipy = 0;
  for (const auto& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::vector<double> a = numbers(c.at("a")), b = numbers(c.at("b"));
    const PairedTTest r = paired_t_test(a, b);
    const double t = number(c.at("t")), p = number(c.at("p"));
    bool all_zero = true, finite = true;
    for (size_t i = 0; i < a.size(); ++i) {
      all_zero = all_zero && a[i] - b[i] == 0;
      finite = finite && std::isfinite(a[i] - b[i]);
    }
    if (std::isnan(t) && all_zero) {
      EXPECT_EQ(r.t, 0);
      EXPECT_EQ(r.p, 1);
    } else if (std::isnan(t)) {
      EXPECT_FALSE(finite);
      EXPECT_TRUE(std::isnan(r.t)) << r.t;
      EXPECT_TRUE(std::isnan(r.p)) << r.p;
    } else if (std::isinf(t)) {
      EXPECT_EQ(r.t, t);
      EXPECT_EQ(r.p, 0);
    } else {
      expect_close(r.t, t, 1e-13);
      expect_close(r.p, p, 1e-10);
    }
    if (c.contains("note")) ++differs_from_scipy;
    ++cases;
  }
  EXPECT_GE(cases, 12);
  EXPECT_GE(differs_from_scipy, 3);
}

// Regression: differences near 1e-300 gave NaN (their squares underflow, t
// came out infinite and was taken for a failed job); the exact t is 2.6458.
TEST(PairedTTest, TinyDifferencesAreScaledNotLost) {
  const std::vector<double> a = {1e-300, 2e-300, 4e-300}, b = {0, 0, 0};
  const PairedTTest r = paired_t_test(a, b);
  expect_close(r.t, std::sqrt(7.0), 1e-14);
  expect_close(r.mean_diff, 7e-300 / 3, 1e-15);
  EXPECT_GT(r.p, 0.1);
}

TEST(PairedTTest, SwappingTheVariantsNegatesTAndKeepsP) {
  const std::vector<double> a = {0.81, 0.84, 0.79, 0.88}, b = {0.80, 0.80, 0.80, 0.85};
  const PairedTTest ab = paired_t_test(a, b), ba = paired_t_test(b, a);
  EXPECT_DOUBLE_EQ(ab.t, -ba.t);
  EXPECT_DOUBLE_EQ(ab.p, ba.p);
  EXPECT_GT(ab.t, 0);
}

TEST(PairedTTest, RejectsFewerThanTwoPairs) {
  const std::vector<double> one = {0.5}, none;
  EXPECT_THROW(paired_t_test(one, one), core::ConfigError);
  EXPECT_THROW(paired_t_test(none, none), core::ConfigError);
  try {
    paired_t_test(one, one);
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "at least 2 pairs, got 1");
  }
}

TEST(PairedTTest, RejectsSizeMismatch) {
  const std::vector<double> a = {0.5, 0.6, 0.7}, b = {0.5, 0.6};
  try {
    paired_t_test(a, b);
    FAIL() << "expected a ConfigError";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "3 and 2 values");
  }
}

// scipy answers NaN (0 / 0); the header promises no evidence of a difference.
TEST(PairedTTest, AllZeroDifferencesGivePOne) {
  const std::vector<double> a = {0.7, 0.8, 0.9};
  const PairedTTest r = paired_t_test(a, a);
  EXPECT_EQ(r.n, 3u);
  EXPECT_EQ(r.mean_diff, 0);
  EXPECT_EQ(r.t, 0);
  EXPECT_EQ(r.p, 1);
}

// Differences of 0.1 three times: their floating-point mean is 0.10000000000000002,
// so a two-pass variance would leave a rounding residue and a finite t.
TEST(PairedTTest, ConstantNonZeroDifferencesGivePZero) {
  const std::vector<double> tenth = {0.1, 0.1, 0.1}, zero = {0, 0, 0};
  PairedTTest r = paired_t_test(tenth, zero);
  EXPECT_EQ(r.p, 0);
  EXPECT_TRUE(std::isinf(r.t) && r.t > 0) << r.t;
  EXPECT_EQ(r.mean_diff, 0.1);
  r = paired_t_test(zero, tenth);
  EXPECT_EQ(r.p, 0);
  EXPECT_TRUE(std::isinf(r.t) && r.t < 0) << r.t;
  EXPECT_EQ(r.mean_diff, -0.1);
}

TEST(PairedTTest, NonFiniteValuesGiveNan) {
  const std::vector<double> a = {0.7, NAN, 0.9}, b = {0.6, 0.7, 0.8};
  const PairedTTest r = paired_t_test(a, b);
  EXPECT_TRUE(std::isnan(r.t));
  EXPECT_TRUE(std::isnan(r.p));
}

DelongResult fold(double auc_a, double auc_b, double var_a, double var_b, double cov_ab) {
  DelongResult r;
  r.auc_a = auc_a;
  r.auc_b = auc_b;
  r.var_a = var_a;
  r.var_b = var_b;
  r.cov_ab = cov_ab;
  return r;
}

// By hand: differences 0.04 and 0.02 (mean 0.03); variances of the differences
// 0.0010 + 0.0012 - 2 * 0.0004 = 0.0014 and 0.0008 + 0.0009 - 2 * 0.0002 = 0.0013,
// so z = 0.06 / sqrt(0.0027) = 1.1547005383792515 and p = 2 (1 - Phi(z)) =
// 0.24821307898992373 (erfc(z / sqrt 2)).
TEST(CombinedDelong, MatchesHandComputation) {
  const CombinedDelong c =
      combine_delong({fold(0.90, 0.86, 0.0010, 0.0012, 0.0004),
                      fold(0.85, 0.83, 0.0008, 0.0009, 0.0002)});
  ASSERT_EQ(c.folds.size(), 2u);
  EXPECT_DOUBLE_EQ(c.folds[1].auc_a, 0.85);
  EXPECT_NEAR(c.diff, 0.03, 1e-15);
  EXPECT_NEAR(c.z, 1.1547005383792515, 1e-12);
  EXPECT_NEAR(c.p, 0.24821307898992373, 1e-12);
}

TEST(CombinedDelong, OneFoldEqualsDelongTest) {
  const std::vector<double> a = {0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.55};
  const std::vector<double> b = {0.2, 0.3, 0.5, 0.6, 0.65, 0.1, 0.7, 0.4};
  const std::vector<uint8_t> y = {0, 0, 1, 1, 1, 0, 1, 0};
  const DelongResult single = delong_test(a, b, y);
  const CombinedDelong c = combine_delong({single});
  EXPECT_DOUBLE_EQ(c.diff, single.auc_a - single.auc_b);
  EXPECT_NEAR(c.z, single.z, 1e-12);
  EXPECT_NEAR(c.p, single.p, 1e-12);
}

TEST(CombinedDelong, ZeroVarianceGivesPOne) {
  const CombinedDelong c = combine_delong({fold(0.9, 0.9, 0.001, 0.001, 0.001)});
  EXPECT_EQ(c.z, 0);
  EXPECT_EQ(c.p, 1);
}

TEST(CombinedDelong, RejectsNoFolds) {
  EXPECT_THROW(combine_delong({}), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::metrics
