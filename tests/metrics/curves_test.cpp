#include "metrics/curves.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

using nlohmann::json;

const json& fixture_doc() {
  static const json doc =
      json::parse(core::read_file(testing::fixture("metrics/curves.json")));
  return doc;
}

void expect_all_near(const std::vector<double>& got, const json& expected, double tol,
                     const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i].get<double>(), tol) << what << "[" << i << "]";
}

struct Input {
  std::vector<double> scores;
  std::vector<uint8_t> labels;
};

Input input_of(const json& c) {
  Input in;
  for (const auto& v : c.at("scores")) in.scores.push_back(v.get<double>());
  for (const auto& v : c.at("labels")) in.labels.push_back(static_cast<uint8_t>(v.get<int>()));
  return in;
}

const json& case_named(const std::string& name) {
  for (const auto& c : fixture_doc().at("cases"))
    if (c.at("name") == name) return c;
  throw std::runtime_error("no fixture case " + name);
}

// tests/fixtures/metrics/curves.json, written by make_curves.py with
// scikit-learn's roc_curve(drop_intermediate=False) and precision_recall_curve.
TEST(CurveSklearn, RocAndPrAgreeOnEveryFixtureCase) {
  const json& cases = fixture_doc().at("cases");
  ASSERT_GE(cases.size(), 9u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Input in = input_of(c);
    const Curve roc = roc_curve(in.scores, in.labels);
    expect_all_near(roc.x, c.at("roc").at("fpr"), 1e-15, "fpr");
    expect_all_near(roc.y, c.at("roc").at("tpr"), 1e-15, "tpr");
    const Curve pr = pr_curve(in.scores, in.labels);
    expect_all_near(pr.x, c.at("pr").at("recall"), 1e-15, "recall");
    expect_all_near(pr.y, c.at("pr").at("precision"), 1e-15, "precision");
  }
}

// Worked by hand: groups (0.9: 1 pos, 1 neg), (0.5: 1 pos, 1 neg), (0.3: 2 neg), (0.1: 1 pos).
TEST(CurveRoc, OnePointPerDistinctScoreWithTies) {
  const std::vector<double> s = {0.9, 0.9, 0.5, 0.3, 0.5, 0.3, 0.1};
  const std::vector<uint8_t> y = {1, 0, 1, 0, 0, 0, 1};
  const Curve roc = roc_curve(s, y);
  EXPECT_EQ(roc.x, (std::vector<double>{0, 0.25, 0.5, 1, 1}));
  EXPECT_EQ(roc.y, (std::vector<double>{0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1}));
  const Curve pr = pr_curve(s, y);
  EXPECT_EQ(pr.x, (std::vector<double>{1, 2.0 / 3, 2.0 / 3, 1.0 / 3, 0}));
  EXPECT_EQ(pr.y, (std::vector<double>{3.0 / 7, 2.0 / 6, 2.0 / 4, 1.0 / 2, 1}));
}

TEST(CurveRoc, ThrowsOnMissingClassSizeMismatchOrNonFiniteScore) {
  const std::vector<double> s = {0.1, 0.2};
  EXPECT_THROW(roc_curve(s, std::vector<uint8_t>{1, 1}), core::ConfigError);
  EXPECT_THROW(roc_curve(s, std::vector<uint8_t>{0, 0}), core::ConfigError);
  EXPECT_THROW(roc_curve(s, std::vector<uint8_t>{0}), core::ConfigError);
  EXPECT_THROW(roc_curve({}, {}), core::ConfigError);
  const std::vector<double> nan = {0.1, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THROW(roc_curve(nan, std::vector<uint8_t>{0, 1}), core::ConfigError);
}

TEST(CurvePr, NeedsPositivesButNotNegatives) {
  const std::vector<double> s = {0.1, 0.2, 0.2};
  EXPECT_THROW(pr_curve(s, std::vector<uint8_t>{0, 0, 0}), core::ConfigError);
  EXPECT_THROW(pr_curve(s, std::vector<uint8_t>{0, 1}), core::ConfigError);
  const Curve pr = pr_curve(s, std::vector<uint8_t>{1, 1, 1});
  EXPECT_EQ(pr.x, (std::vector<double>{1, 2.0 / 3, 0}));
  EXPECT_EQ(pr.y, (std::vector<double>{1, 1, 1}));
}

void expect_band_near(const Band& b, const json& ex, double tol) {
  expect_all_near(b.x, ex.at("grid"), 1e-15, "grid");
  expect_all_near(b.mean, ex.at("mean"), tol, "mean");
  expect_all_near(b.low, ex.at("low"), tol, "low");
  expect_all_near(b.high, ex.at("high"), tol, "high");
}

// numpy.interp per curve on numpy.linspace, mean and std(ddof=1), clipped.
TEST(RocBand, AgreesWithNumpyInterp) {
  const json& ex = fixture_doc().at("roc_band");
  std::vector<Curve> rocs;
  for (const auto& name : ex.at("cases")) {
    const Input in = input_of(case_named(name.get<std::string>()));
    rocs.push_back(roc_curve(in.scores, in.labels));
  }
  const Band b = roc_band(rocs, ex.at("points").get<int>());
  EXPECT_EQ(b.n, rocs.size());
  expect_band_near(b, ex, 1e-12);
}

TEST(PrBand, AgreesWithDirectEnvelope) {
  const json& ex = fixture_doc().at("pr_band");
  std::vector<Curve> prs;
  for (const auto& name : ex.at("cases")) {
    const Input in = input_of(case_named(name.get<std::string>()));
    prs.push_back(pr_curve(in.scores, in.labels));
  }
  const Band b = pr_band(prs, ex.at("points").get<int>());
  EXPECT_EQ(b.n, prs.size());
  expect_band_near(b, ex, 1e-12);
}

TEST(RocBand, OneCurveIsTheCurveOnTheGrid) {
  const Curve roc{{0, 0, 0.5, 1}, {0, 0.5, 0.5, 1}};
  const Band b = roc_band(std::vector<Curve>{roc}, 5);
  EXPECT_EQ(b.n, 1u);
  EXPECT_EQ(b.x, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  // At fpr 0 the tie takes the last (highest) tpr.
  EXPECT_EQ(b.mean, (std::vector<double>{0.5, 0.5, 0.5, 0.75, 1}));
  EXPECT_EQ(b.low, b.mean);
  EXPECT_EQ(b.high, b.mean);
}

// A perfect and a chance ROC: at fpr 0 the values are 1 and 0, mean 0.5 with
// std 0.707, so the band is clipped to [0, 1].
TEST(RocBand, BandIsClippedToUnitInterval) {
  const std::vector<Curve> rocs = {Curve{{0, 0, 1}, {0, 1, 1}}, Curve{{0, 1}, {0, 1}}};
  const Band b = roc_band(rocs, 3);
  EXPECT_EQ(b.n, 2u);
  EXPECT_DOUBLE_EQ(b.mean[0], 0.5);
  EXPECT_EQ(b.low[0], 0.0);
  EXPECT_EQ(b.high[0], 1.0);
  EXPECT_DOUBLE_EQ(b.mean[1], 0.75);
  EXPECT_DOUBLE_EQ(b.low[1], 0.75 - std::sqrt(0.125));
  EXPECT_EQ(b.high[1], 1.0);
  EXPECT_EQ(b.low[2], 1.0);
  EXPECT_EQ(b.high[2], 1.0);
}

TEST(RocBand, ThrowsOnNoCurvesBadGridOrBadCurve) {
  EXPECT_THROW(roc_band({}), core::ConfigError);
  EXPECT_THROW(pr_band({}), core::ConfigError);
  const std::vector<Curve> one = {Curve{{0, 1}, {0, 1}}};
  EXPECT_THROW(roc_band(one, 1), core::ConfigError);
  EXPECT_THROW(pr_band(one, 0), core::ConfigError);
  EXPECT_THROW(roc_band(std::vector<Curve>{Curve{{0, 1}, {0}}}), core::ConfigError);
  EXPECT_THROW(roc_band(std::vector<Curve>{Curve{{1, 0}, {1, 0}}}), core::ConfigError);
  EXPECT_THROW(roc_band(std::vector<Curve>{Curve{}}), core::ConfigError);
}

// Alternating labels make a saw-tooth precision; the envelope never rises with recall.
TEST(PrBand, EnvelopeIsMonotoneInRecall) {
  std::vector<double> s;
  std::vector<uint8_t> y;
  for (int i = 0; i < 30; ++i) {
    s.push_back(1.0 - i / 30.0);
    y.push_back(static_cast<uint8_t>(i % 3 != 1));
  }
  const Curve pr = pr_curve(s, y);
  const Band b = pr_band(std::vector<Curve>{pr}, 101);
  ASSERT_EQ(b.mean.size(), 101u);
  EXPECT_EQ(b.mean.front(), 1.0);  // sklearn's final (0, 1) point
  for (size_t i = 1; i < b.mean.size(); ++i) EXPECT_LE(b.mean[i], b.mean[i - 1]) << i;
  // Recall 1 is reached only with every sample called positive: 20 of 30.
  EXPECT_DOUBLE_EQ(b.mean.back(), 20.0 / 30.0);
}

// Past a curve's highest recall no operating point qualifies: precision 0.
TEST(PrBand, PrecisionZeroBeyondHighestRecall) {
  const Band b = pr_band(std::vector<Curve>{Curve{{0.5, 0}, {0.8, 1}}}, 3);
  EXPECT_EQ(b.mean, (std::vector<double>{1, 0.8, 0}));
}

TEST(FrocBand, MeanOfRecallsOnLogGrid) {
  AreaFrocCurve a, b;
  a.fp = {0, 0.01, 1};
  a.recall = {0, 0.5, 1};
  b.fp = {0, 0.01, 1};
  b.recall = {0, 0.3, 0.9};
  const Band band = froc_band(std::vector<AreaFrocCurve>{a, b}, 1e-4, 5);
  EXPECT_EQ(band.n, 2u);
  ASSERT_EQ(band.x.size(), 5u);
  const std::vector<double> grid = {1e-4, 1e-3, 1e-2, 1e-1, 1};
  for (size_t i = 0; i < grid.size(); ++i) EXPECT_NEAR(band.x[i], grid[i], 1e-15 * grid[i] + 1e-18);
  EXPECT_EQ(band.x.back(), 1.0);
  EXPECT_NEAR(band.mean[0], 0.004, 1e-12);  // 0.5 and 0.3 scaled by 1e-4 / 1e-2
  EXPECT_NEAR(band.mean[2], 0.4, 1e-12);
  EXPECT_NEAR(band.low[2], 0.4 - std::sqrt(0.02), 1e-12);
  EXPECT_NEAR(band.high[2], 0.4 + std::sqrt(0.02), 1e-12);
  EXPECT_NEAR(band.mean[4], 0.95, 1e-12);
  EXPECT_EQ(band.high[4], 1.0);  // 0.95 + 0.0707 clipped
}

TEST(FrocBand, ThrowsOnNoCurvesOrBadGrid) {
  EXPECT_THROW(froc_band({}), core::ConfigError);
  AreaFrocCurve a;
  a.fp = {0, 1};
  a.recall = {0, 1};
  const std::vector<AreaFrocCurve> one = {a};
  EXPECT_THROW(froc_band(one, 0.0), core::ConfigError);
  EXPECT_THROW(froc_band(one, 1.0), core::ConfigError);
  EXPECT_THROW(froc_band(one, 1e-3, 1), core::ConfigError);
  AreaFrocCurve bad;
  bad.fp = {0, 1};
  bad.recall = {0};
  EXPECT_THROW(froc_band(std::vector<AreaFrocCurve>{bad}), core::ConfigError);
}

// A loss per epoch: the second run stopped after two epochs, so epoch 3 is
// the first run's value alone; bands are not clipped.
TEST(PointwiseBand, CurvesOfDifferentLengths) {
  const std::vector<Curve> curves = {Curve{{1, 2, 3}, {0, 2, 5}}, Curve{{1, 2}, {2, 4}}};
  const Band b = pointwise_band(curves);
  EXPECT_EQ(b.n, 2u);
  EXPECT_EQ(b.x, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(b.mean, (std::vector<double>{1, 3, 5}));
  EXPECT_DOUBLE_EQ(b.low[0], 1 - std::sqrt(2.0));  // below 0: not clipped
  EXPECT_DOUBLE_EQ(b.high[1], 3 + std::sqrt(2.0));  // above 1: not clipped
  EXPECT_EQ(b.low[2], 5.0);
  EXPECT_EQ(b.high[2], 5.0);
}

TEST(PointwiseBand, NonFiniteValuesAreLeftOut) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Curve> curves = {Curve{{0, 1}, {1, nan}}, Curve{{0, 1}, {3, 2}}};
  const Band b = pointwise_band(curves);
  EXPECT_EQ(b.mean, (std::vector<double>{2, 2}));
  EXPECT_EQ(b.low[1], 2.0);
}

TEST(PointwiseBand, ThrowsOnNoCurvesOrBadCurve) {
  EXPECT_THROW(pointwise_band({}), core::ConfigError);
  EXPECT_THROW(pointwise_band(std::vector<Curve>{Curve{{0, 1}, {0}}}), core::ConfigError);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(pointwise_band(std::vector<Curve>{Curve{{inf}, {0}}}), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::metrics
