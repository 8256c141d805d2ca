// The stratified patient bootstrap (metrics/bootstrap.h) against the same
// scheme done independently in numpy and scikit-learn, draw for draw
// (tests/fixtures/metrics/make_bootstrap_fixture.py), and against SciPy's own
// percentile bootstrap statistically.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/fs.h"
#include "metrics/bootstrap.h"
#include "metrics/report.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

nlohmann::json fixture() {
  return nlohmann::json::parse(
      core::read_file(testing::fixture("metrics/bootstrap.json")));
}

// The case's rows as Predictions with score column `column` ("scores_a", "scores_b").
Predictions case_predictions(const nlohmann::json& c, const char* column) {
  Predictions p;
  const int k = c["classes"].get<int>();
  p.kind = k == 2 ? PredictionKind::kBinary : PredictionKind::kMulticlass;
  p.num_classes = k;
  for (const auto& v : c["patient"]) {
    const int patient = v.get<int>();
    while (static_cast<int>(p.patient_names.size()) <= patient)
      p.patient_names.push_back("P" + std::to_string(p.patient_names.size()));
    p.patient.push_back(patient);
  }
  p.label = c["label"].get<std::vector<int32_t>>();
  for (const auto& row : c[column])
    for (const auto& x : row) p.scores.push_back(x.get<double>());
  return p;
}

double auc_statistic(const Predictions& p) {
  if (p.kind == PredictionKind::kBinary) return binary_report(p, 0.5, "case").auc;
  return multiclass_report(p, "case").aauc;
}

std::vector<double> replicates_of(const Predictions& p,
                                  const std::vector<std::vector<int32_t>>& draws) {
  std::vector<double> out;
  for (const auto& drawn : draws) out.push_back(auc_statistic(rows_of_patients(p, drawn)));
  return out;
}

TEST(PatientBootstrap, DrawsTheSamePatientsAsTheIndependentNumpyScheme) {
  for (const auto& c : fixture()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Predictions p = case_predictions(c, "scores_a");
    const auto strata = patient_strata(p);
    EXPECT_EQ(strata, c["strata"].get<std::vector<std::vector<int32_t>>>());
    const auto draws = resample_patients(strata, c["replicates"].get<int>(),
                                         c["seed"].get<uint64_t>());
    ASSERT_EQ(draws.size(), c["replicates"].get<size_t>());
    const auto first = c["first_draws"].get<std::vector<std::vector<int32_t>>>();
    for (size_t r = 0; r < first.size(); ++r) EXPECT_EQ(draws[r], first[r]) << "replicate " << r;
  }
}

TEST(PatientBootstrap, IntervalMatchesScikitLearnAndNumpyExactly) {
  for (const auto& c : fixture()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Predictions a = case_predictions(c, "scores_a");
    const Predictions b = case_predictions(c, "scores_b");
    const auto draws = resample_patients(patient_strata(a), c["replicates"].get<int>(),
                                         c["seed"].get<uint64_t>());
    EXPECT_NEAR(auc_statistic(a), c["a"].get<double>(), 1e-12);
    const std::vector<double> reps_a = replicates_of(a, draws), reps_b = replicates_of(b, draws);
    const auto ci = percentile_interval(reps_a);
    ASSERT_TRUE(ci.has_value());
    EXPECT_EQ(ci->replicates_used, c["replicates"].get<int>());
    EXPECT_NEAR(ci->low, c["interval_a"][0].get<double>(), 1e-12);
    EXPECT_NEAR(ci->high, c["interval_a"][1].get<double>(), 1e-12);
    const auto d = paired_difference(auc_statistic(a), auc_statistic(b), reps_a, reps_b);
    ASSERT_TRUE(d.has_value());
    EXPECT_NEAR(d->difference, c["a"].get<double>() - c["b"].get<double>(), 1e-12);
    EXPECT_NEAR(d->interval.low, c["difference_interval"][0].get<double>(), 1e-12);
    EXPECT_NEAR(d->interval.high, c["difference_interval"][1].get<double>(), 1e-12);
    EXPECT_DOUBLE_EQ(d->p, c["difference_p"].get<double>());
  }
}

// Another generator and SciPy's own resampling (20,000 replicates): the ends
// must agree within a quarter of the standard error (about 4 Monte-Carlo
// standard errors of a 2,000-replicate percentile).
TEST(PatientBootstrap, AgreesWithScipyBootstrapPercentileInterval) {
  const auto c = fixture()["scipy_case"];
  const auto score = c["score"].get<std::vector<double>>();
  Predictions p;
  p.kind = PredictionKind::kBinary;
  p.num_classes = 2;
  for (size_t i = 0; i < score.size(); ++i) {
    p.patient_names.push_back("P" + std::to_string(i));
    p.patient.push_back(static_cast<int32_t>(i));
    p.label.push_back(0);
    p.scores.push_back(score[i]);
  }
  const auto strata = patient_strata(p);
  ASSERT_EQ(strata.size(), 1u);
  std::vector<double> means;
  for (const auto& drawn : resample_patients(strata, c["replicates"].get<int>(),
                                             c["seed"].get<uint64_t>())) {
    const Predictions r = rows_of_patients(p, drawn);
    double sum = 0;
    for (double s : r.scores) sum += s;
    means.push_back(sum / static_cast<double>(r.size()));
  }
  const auto ci = percentile_interval(means);
  ASSERT_TRUE(ci.has_value());
  const double se = c["scipy_standard_error"].get<double>();
  std::cout << "C++ [" << ci->low << ", " << ci->high << "], SciPy [" << c["scipy_interval"][0]
            << ", " << c["scipy_interval"][1] << "], SE " << se << "\n";
  EXPECT_NEAR(ci->low, c["scipy_interval"][0].get<double>(), 0.25 * se);
  EXPECT_NEAR(ci->high, c["scipy_interval"][1].get<double>(), 0.25 * se);
  // A wrong scheme (no replacement, so every replicate is the sample) fails here.
  EXPECT_GT(ci->high - ci->low, 2 * se);
}

TEST(PatientBootstrap, KeepsEveryStratumsSizeSoEveryClassStaysPresent) {
  Predictions p;
  p.kind = PredictionKind::kMulticlass;
  p.num_classes = 3;
  p.patient_names = {"a", "b", "c", "d", "e"};
  p.patient = {0, 0, 1, 2, 2, 3, 4};
  p.label = {0, 2, 0, 1, 0, 0, 1};
  p.scores.assign(7 * 3, 1.0 / 3);
  const auto strata = patient_strata(p);
  EXPECT_EQ(strata, (std::vector<std::vector<int32_t>>{{1, 3}, {2, 4}, {0}}));
  for (const auto& drawn : resample_patients(strata, 50, 3)) {
    ASSERT_EQ(drawn.size(), 5u);
    EXPECT_EQ(drawn[4], 0);  // the one malignant patient, every time
    const Predictions r = rows_of_patients(p, drawn);
    EXPECT_EQ(r.patient_names.size(), 5u);
    EXPECT_EQ(r.scores.size(), r.size() * 3);
  }
  EXPECT_NE(resample_patients(strata, 5, 3), resample_patients(strata, 5, 4));
  EXPECT_EQ(resample_patients(strata, 5, 3), resample_patients(strata, 5, 3));
}

TEST(PatientBootstrap, UndefinedReplicatesAreLeftOutAndCounted) {
  const std::vector<double> v = {0.1, NAN, 0.3, 0.2};
  const auto ci = percentile_interval(v);
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->replicates_used, 3);
  EXPECT_EQ(ci->replicates_skipped, 1);
  EXPECT_FALSE(percentile_interval(std::vector<double>{NAN}).has_value());
}

}  // namespace
}  // namespace fracsweep::metrics
