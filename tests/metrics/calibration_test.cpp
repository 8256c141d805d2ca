// Reliability bins, Brier score and ECE (metrics/calibration.h) against
// scikit-learn's calibration_curve and brier_score_loss
// (tests/fixtures/metrics/make_bootstrap_fixture.py writes calibration.json).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/calibration.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

TEST(Calibration, MatchesScikitLearnCalibrationCurveAndBrierScore) {
  const auto j = nlohmann::json::parse(
      core::read_file(testing::fixture("metrics/calibration.json")));
  ASSERT_GE(j["cases"].size(), 3u);
  for (const auto& c : j["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto prob = c["probability"].get<std::vector<double>>();
    std::vector<uint8_t> pos;
    for (int y : c["label"].get<std::vector<int>>()) pos.push_back(y ? 1 : 0);
    const Calibration cal = calibration(prob, pos, 10);
    const auto prob_true = c["prob_true"].get<std::vector<double>>();
    const auto prob_pred = c["prob_pred"].get<std::vector<double>>();
    const auto counts = c["bin_counts"].get<std::vector<size_t>>();
    ASSERT_EQ(cal.bins.size(), prob_true.size());
    for (size_t b = 0; b < cal.bins.size(); ++b) {
      EXPECT_EQ(cal.bins[b].count, counts[b]) << "bin " << b;
      EXPECT_NEAR(cal.bins[b].fraction_positive, prob_true[b], 1e-12) << "bin " << b;
      EXPECT_NEAR(cal.bins[b].mean_probability, prob_pred[b], 1e-12) << "bin " << b;
    }
    EXPECT_NEAR(cal.brier, c["brier"].get<double>(), 1e-12);
    EXPECT_NEAR(cal.ece, c["ece"].get<double>(), 1e-12);
  }
}

TEST(Calibration, ThreeClassRowsGiveOneMinusNormalAndAnyFracture) {
  Predictions p;
  p.kind = PredictionKind::kMulticlass;
  p.num_classes = 3;
  p.patient_names = {"a"};
  p.patient = {0, 0, 0};
  p.label = {0, 1, 2};
  p.scores = {0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.5, 0.1, 0.4};
  std::vector<double> prob;
  std::vector<uint8_t> pos;
  fracture_probabilities(p, prob, pos);
  EXPECT_NEAR(prob[0], 0.1, 1e-15);
  EXPECT_NEAR(prob[1], 0.8, 1e-15);
  EXPECT_NEAR(prob[2], 0.5, 1e-15);
  EXPECT_EQ(pos, (std::vector<uint8_t>{0, 1, 1}));
}

TEST(Calibration, RefusesProbabilitiesOutsideTheUnitInterval) {
  const std::vector<double> prob = {0.2, 1.5};
  const std::vector<uint8_t> pos = {0, 1};
  EXPECT_THROW(calibration(prob, pos), core::ConfigError);
  EXPECT_THROW(calibration(std::vector<double>{}, std::vector<uint8_t>{}), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::metrics
