#include "metrics/ranking.h"

#include <gtest/gtest.h>

#include <cmath>

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
