#include "metrics/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

TEST(MeanStd, SampleStandardDeviation) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  const MeanStd m = mean_std(v);
  EXPECT_DOUBLE_EQ(m.mean, 5.0);
  EXPECT_DOUBLE_EQ(m.std, std::sqrt(32.0 / 7.0));  // sum of squares 32, n - 1 = 7
  EXPECT_EQ(m.n, 8u);
  EXPECT_TRUE(std::isnan(mean_std(std::vector<double>{0.3}).std));
  EXPECT_THROW(mean_std(std::vector<double>{}), core::ConfigError);
}

TEST(Aggregate, KeyByKeyAcrossRuns) {
  const std::vector<MetricValues> runs = {{{"aSE", 0.8}, {"aSP", 0.9}},
                                          {{"aSE", 0.6}, {"aSP", 0.9}}};
  const auto agg = aggregate(runs);
  ASSERT_EQ(agg.size(), 2u);
  EXPECT_EQ(agg[0].first, "aSE");
  EXPECT_DOUBLE_EQ(agg[0].second.mean, 0.7);
  EXPECT_NEAR(agg[0].second.std, std::sqrt(0.02), 1e-15);
  EXPECT_DOUBLE_EQ(agg[1].second.std, 0.0);
  const std::vector<MetricValues> mismatched = {{{"aSE", 0.8}}, {{"AUC", 0.6}}};
  EXPECT_THROW(aggregate(mismatched), core::ConfigError);
}

// numpy.percentile([1, 2, 3, 4, 10], q) for q = 0, 25, 50, 90, 100 is
// 1, 2, 3, 7.6, 10 (linear interpolation between order statistics).
TEST(Percentile, LinearLikeNumpy) {
  const std::vector<double> v = {10, 3, 1, 4, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 25), 2);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 3);
  EXPECT_DOUBLE_EQ(percentile(v, 90), 7.6);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 10);
  EXPECT_THROW(percentile(v, 101), core::ConfigError);
}

// percentiles.json (make_stats.py): numpy.percentile of tied, short,
// signed-zero and extreme samples; equal to the bit, except where numpy's
// interpolation overflows (the case has "numpy" beside "expected"), where the
// exact interpolation is expected to within rounding.
TEST(Percentile, MatchesNumpyToTheBit) {
  const auto doc =
      nlohmann::json::parse(core::read_file(testing::fixture("metrics/percentiles.json")));
  int cases = 0, overflowing = 0;
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto values = c.at("values").get<std::vector<double>>();
    const auto qs = c.at("q").get<std::vector<double>>();
    const auto& expected = c.at("expected");
    for (size_t i = 0; i < qs.size(); ++i) {
      SCOPED_TRACE("q = " + std::to_string(qs[i]));
      const double want = expected[i].get<double>();
      const double got = percentile(values, qs[i]);
      if (c.contains("numpy") && c.at("numpy")[i] != expected[i]) {
        EXPECT_NEAR(got, want, 4 * std::fabs(std::nextafter(want, 0.0) - want) + 1e-300);
        ++overflowing;
      } else {
        EXPECT_EQ(got, want);
      }
    }
    ++cases;
  }
  EXPECT_GE(cases, 10);
  EXPECT_GE(overflowing, 5);
}

TEST(Percentile, RefusesNonFiniteValues) {
  const std::vector<double> v = {0.5, std::numeric_limits<double>::quiet_NaN(), 0.7};
  try {
    percentile(v, 50);
    FAIL() << "expected a ConfigError";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "value 1 is nan");
  }
  EXPECT_THROW(percentile({1.0, std::numeric_limits<double>::infinity()}, 0), core::ConfigError);
}

// For the mean of one value per patient, the bootstrap interval must match
// normal theory: mean ± 1.96 · sd / sqrt(n), up to Monte-Carlo error.
TEST(Bootstrap, MeanOfPatientValuesMatchesNormalTheory) {
  constexpr int kPatients = 400;
  core::Rng rng(2024);
  std::vector<double> value(kPatients * 2);
  std::vector<int32_t> patient(kPatients * 2);
  for (int p = 0; p < kPatients; ++p) {
    const double v = rng.uniform01();
    // Two identical samples per patient: treating them as independent would
    // shrink the interval by sqrt(2); grouping by patient must not.
    value[2 * p] = value[2 * p + 1] = v;
    patient[2 * p] = patient[2 * p + 1] = p;
  }
  const auto mean_of = [&](std::span<const size_t> idx) -> std::optional<double> {
    double s = 0;
    for (size_t i : idx) s += value[i];
    return s / static_cast<double>(idx.size());
  };
  BootstrapOptions options;
  options.replicates = 2000;
  options.seed = 11;
  const BootstrapInterval ci = bootstrap_over_patients(patient, kPatients, mean_of, options);
  std::vector<double> per_patient(value.begin(), value.end());
  const MeanStd m = mean_std(per_patient);
  const double half_width = 1.96 * m.std / std::sqrt(static_cast<double>(kPatients));
  EXPECT_NEAR(ci.high - ci.low, 2 * half_width, 0.15 * 2 * half_width);
  EXPECT_NEAR((ci.high + ci.low) / 2, m.mean, 0.2 * half_width);
  EXPECT_EQ(ci.replicates_used, 2000);

  // Deterministic for a seed, different for another.
  const BootstrapInterval again = bootstrap_over_patients(patient, kPatients, mean_of, options);
  EXPECT_EQ(again.low, ci.low);
  EXPECT_EQ(again.high, ci.high);
  options.seed = 12;
  EXPECT_NE(bootstrap_over_patients(patient, kPatients, mean_of, options).low, ci.low);
}

TEST(Bootstrap, UndefinedReplicatesAreCountedNotUsed) {
  const std::vector<int32_t> patient = {0, 1};
  int calls = 0;
  const auto sometimes = [&](std::span<const size_t>) -> std::optional<double> {
    return (calls++ % 2) ? std::optional<double>(1.0) : std::nullopt;
  };
  BootstrapOptions options;
  options.replicates = 10;
  const BootstrapInterval ci = bootstrap_over_patients(patient, 2, sometimes, options);
  EXPECT_EQ(ci.replicates_used, 5);
  EXPECT_EQ(ci.replicates_skipped, 5);
  const auto never = [](std::span<const size_t>) -> std::optional<double> { return std::nullopt; };
  EXPECT_THROW(bootstrap_over_patients(patient, 2, never, options), core::ConfigError);
  // A NaN (a rate over no samples of a class) is undefined too.
  calls = 0;
  const auto nan_sometimes = [&](std::span<const size_t>) -> std::optional<double> {
    return (calls++ % 2) ? 1.0 : std::numeric_limits<double>::quiet_NaN();
  };
  const BootstrapInterval with_nan = bootstrap_over_patients(patient, 2, nan_sometimes, options);
  EXPECT_EQ(with_nan.replicates_used, 5);
  EXPECT_EQ(with_nan.replicates_skipped, 5);
  EXPECT_EQ(with_nan.low, 1.0);
}

}  // namespace
}  // namespace fracsweep::metrics
