#include "metrics/ranking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace fracsweep::metrics {
namespace {

// scikit-learn's documented example for roc_auc_score / average_precision_score.
TEST(RankingMetrics, SklearnDocumentationExample) {
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8};
  const std::vector<uint8_t> y = {0, 0, 1, 1};
  const RankingMetrics r = ranking_metrics(s, y);
  EXPECT_DOUBLE_EQ(r.auc, 0.75);
  EXPECT_DOUBLE_EQ(r.ap, 0.5 * 1.0 + 0.5 * (2.0 / 3.0));  // 0.8333...
}

// Worked by hand: groups (0.9: 1 pos, 1 neg), (0.5: 1 pos, 1 neg), (0.3: 1 neg).
// AUC = (0.5 + 1.5 + 2) / (2 * 3); AP = 0.5 * 1/2 + 0.5 * 2/4.
TEST(RankingMetrics, TiesCountHalfInAucAndGroupInAp) {
  const std::vector<double> s = {0.9, 0.9, 0.5, 0.3, 0.5};
  const std::vector<uint8_t> y = {1, 0, 1, 0, 0};
  const RankingMetrics r = ranking_metrics(s, y);
  EXPECT_DOUBLE_EQ(r.auc, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.ap, 0.5);
}

TEST(RankingMetrics, AllScoresTiedGiveChance) {
  const std::vector<double> s(6, 0.3);
  const std::vector<uint8_t> y = {1, 0, 0, 1, 0, 0};
  const RankingMetrics r = ranking_metrics(s, y);
  EXPECT_DOUBLE_EQ(r.auc, 0.5);
  EXPECT_DOUBLE_EQ(r.ap, 2.0 / 6.0);
}

TEST(RankingMetrics, PerfectAndInvertedRankings) {
  const std::vector<double> s = {0.1, 0.2, 0.8, 0.9};
  EXPECT_DOUBLE_EQ(ranking_metrics(s, std::vector<uint8_t>{0, 0, 1, 1}).auc, 1.0);
  EXPECT_DOUBLE_EQ(ranking_metrics(s, std::vector<uint8_t>{0, 0, 1, 1}).ap, 1.0);
  EXPECT_DOUBLE_EQ(ranking_metrics(s, std::vector<uint8_t>{1, 1, 0, 0}).auc, 0.0);
}

TEST(RankingMetrics, UndefinedWithoutBothClasses) {
  const std::vector<double> s = {0.1, 0.2};
  EXPECT_THROW(ranking_metrics(s, std::vector<uint8_t>{1, 1}), core::ConfigError);
  EXPECT_THROW(ranking_metrics(s, std::vector<uint8_t>{0, 0}), core::ConfigError);
  EXPECT_THROW(ranking_metrics(s, std::vector<uint8_t>{0}), core::ConfigError);
}

// -0.0 == 0.0: one tied score, as scikit-learn ranks them, although their bits
// differ and the radix-style sort looks at bits. Groups, from the top: (0.5: 1
// pos), (+-0: 2 pos, 2 neg), (-1e300: 1 neg). By hand: each negative at 0 wins
// 1 + 2/2, the one at -1e300 wins 3, so AUC = (2 + 2 + 3) / (3 * 3).
TEST(RankingMetrics, SignedZerosTieAndExtremesOrder) {
  const std::vector<double> s = {-0.0, 0.0, 0.5, -1e300, 0.0, -0.0};
  const std::vector<uint8_t> y = {1, 0, 1, 0, 1, 0};
  const RankingMetrics r = ranking_metrics(s, y);
  EXPECT_DOUBLE_EQ(r.auc, 7.0 / 9.0);
  // AP: (1/3) * 1 + (2/3) * (3 / 5).
  EXPECT_DOUBLE_EQ(r.ap, 1.0 / 3.0 + (2.0 / 3.0) * (3.0 / 5.0));
}

TEST(RankingMetrics, RejectsNonFiniteScores) {
  const std::vector<uint8_t> y = {0, 1, 1};
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    const std::vector<double> s = {0.1, bad, 0.3};
    try {
      ranking_metrics(s, y);
      ADD_FAILURE() << "expected a ConfigError for " << bad;
    } catch (const core::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("score 1 is"), std::string::npos) << e.what();
    }
  }
}

TEST(Midranks, TiesShareTheirAverageRank) {
  const std::vector<double> v = {3, 1, 3, 2, 3};
  const std::vector<double> expected = {4, 1, 4, 2, 4};
  EXPECT_EQ(midranks(v), expected);
}

TEST(Confusion, SensitivityAndSpecificity) {
  Confusion c{.tp = 3, .fp = 1, .tn = 5, .fn = 1};
  EXPECT_DOUBLE_EQ(c.sensitivity(), 0.75);
  EXPECT_DOUBLE_EQ(c.specificity(), 5.0 / 6.0);
  EXPECT_TRUE(std::isnan(Confusion{}.sensitivity()));
}

}  // namespace
}  // namespace fracsweep::metrics
