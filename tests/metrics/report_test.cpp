#include "metrics/report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

using testing::fixture;

nlohmann::json load_json(const std::string& path) {
  return nlohmann::json::parse(core::read_file(path));
}

// Every case of tests/fixtures/metrics (generated with scikit-learn as the
// oracle) must agree to 1e-9 on every key, with exactly the oracle's keys.
TEST(MetricsAgainstSklearn, AllFixtureCases) {
  const nlohmann::json index = load_json(fixture("metrics/cases/index.json"));
  const auto& cases = index.is_array() ? index : index.at("cases");
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const std::string csv = fixture("metrics/cases/" + name + ".csv");
    const nlohmann::json expected = load_json(fixture("metrics/expected/" + name + ".json"));
    const MetricValues got = compute_metrics(read_predictions(csv), 0.5, csv);
    ASSERT_EQ(got.size(), expected.size());
    size_t k = 0;
    for (const auto& [key, value] : expected.items()) {
      (void)k;
      auto it = std::find_if(got.begin(), got.end(), [&](const auto& kv) { return kv.first == key; });
      ASSERT_NE(it, got.end()) << "missing key " << key;
      EXPECT_NEAR(it->second, value.get<double>(), 1e-9) << key;
    }
  }
}

// metric_names() names what compute_metrics gives, in its order, for every fixture case
// (binary and two to five classes): the columns TensorBoard's hparams page is told to expect.
TEST(MetricNames, AreComputeMetricsKeysInItsOrder) {
  const nlohmann::json index = load_json(fixture("metrics/cases/index.json"));
  std::set<int> classes_seen;
  for (const auto& c : index.at("cases")) {
    const std::string csv = fixture("metrics/cases/" + c.at("name").get<std::string>() + ".csv");
    const Predictions p = read_predictions(csv);
    std::vector<std::string> keys;
    for (const auto& [key, value] : compute_metrics(p, 0.5, csv)) keys.push_back(key);
    const int classes = p.score_columns();
    EXPECT_EQ(metric_names(classes), keys) << csv;
    classes_seen.insert(classes);
  }
  EXPECT_TRUE(classes_seen.count(1) && classes_seen.count(3));  // the pelvis and vertebra tasks
}

// The edge_* cases (all tied, ties across classes, one positive or negative,
// 5e-324 .. 1e308, -0.0, logits, separated by one ulp, duplicate rows) agree
// more tightly: SE and SP are exact ratios on both sides, so equal to the bit;
// AUC and AP (and their means) round differently (an exact ratio here, a
// trapezoid sum there; sums in opposite orders) and agree to 1e-15.
TEST(MetricsAgainstSklearn, TiedDegenerateAndExtremeCasesToRounding) {
  const nlohmann::json index = load_json(fixture("metrics/cases/index.json"));
  int edge = 0;
  for (const auto& c : index.at("cases")) {
    const std::string name = c.at("name");
    if (name.rfind("edge_", 0) != 0) continue;
    SCOPED_TRACE(name);
    ++edge;
    const std::string csv = fixture("metrics/cases/" + name + ".csv");
    const nlohmann::json expected = load_json(fixture("metrics/expected/" + name + ".json"));
    const MetricValues got = compute_metrics(read_predictions(csv), 0.5, csv);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [key, value] : got) {
      const double want = expected.at(key).get<double>();
      if (key.rfind("SE", 0) == 0 || key.rfind("SP", 0) == 0) {
        EXPECT_EQ(value, want) << key;
      } else {
        EXPECT_NEAR(value, want, 1e-15) << key;
      }
    }
  }
  EXPECT_GE(edge, 20);
}

Predictions three_class(const std::string& rows) {
  return parse_predictions("id,patient,label,p0,p1,p2\n" + rows, "t.csv");
}

TEST(MulticlassReport, ArgmaxTiesGoToTheFirstClass) {
  // Row b ties classes 1 and 2: predicted 1, so class 1 gets a hit and class 2 a miss.
  const Predictions p = three_class(
      "a,P,0,0.8,0.1,0.1\n"
      "b,P,2,0.2,0.4,0.4\n"
      "c,P,1,0.1,0.8,0.1\n"
      "d,P,2,0.1,0.1,0.8\n");
  const MulticlassReport r = multiclass_report(p, "t.csv");
  EXPECT_DOUBLE_EQ(r.per_class[2].se, 0.5);  // b missed
  EXPECT_DOUBLE_EQ(r.per_class[1].sp, 2.0 / 3.0);  // b called class 1
  EXPECT_DOUBLE_EQ(r.per_class[0].se, 1.0);
  EXPECT_DOUBLE_EQ(r.ase, (1.0 + 1.0 + 0.5) / 3);
}

TEST(MulticlassReport, ClassWithoutPositivesIsNamed) {
  const Predictions p = three_class("a,P,0,0.8,0.1,0.1\nb,P,1,0.2,0.7,0.1\n");
  try {
    multiclass_report(p, "t.csv");
    FAIL();
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv: class 2 has no positive sample"), std::string::npos)
        << e.what();
  }
}

TEST(MulticlassReport, ClassWithoutNegativesIsNamed) {
  const Predictions p = parse_predictions("id,patient,label,score\na,P,1,0.8\nb,P,1,0.3\n", "b.csv");
  try {
    binary_report(p, 0.5, "b.csv");
    FAIL();
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("b.csv: class 1 (label 1) has no negative sample"),
              std::string::npos)
        << e.what();
  }
}

TEST(BinaryReport, ThresholdIsInclusive) {
  const Predictions p = parse_predictions(
      "id,patient,label,score\na,P,1,0.5\nb,P,0,0.5\nc,P,0,0.49\nd,P,1,0.9\n", "b.csv");
  const BinaryReport at_half = binary_report(p, 0.5, "b.csv");
  EXPECT_DOUBLE_EQ(at_half.se, 1.0);
  EXPECT_DOUBLE_EQ(at_half.sp, 0.5);
  const BinaryReport above = binary_report(p, 0.51, "b.csv");
  EXPECT_DOUBLE_EQ(above.se, 0.5);
  EXPECT_DOUBLE_EQ(above.sp, 1.0);
}

}  // namespace
}  // namespace fracsweep::metrics
