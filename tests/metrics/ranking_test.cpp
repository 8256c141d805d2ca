#include "metrics/ranking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/error.h"
#include "core/seed.h"

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

// AUC by its definition (pairs, ties counting 1/2) and AP by its (precision at
// each distinct threshold weighted by the recall it adds), in O(n^2).
RankingMetrics by_definition(const std::vector<double>& s, const std::vector<uint8_t>& y) {
  double wins = 0, pos = 0, neg = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    pos += y[i];
    neg += 1 - y[i];
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] && !y[j]) wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
  }
  std::vector<double> thresholds(s);
  std::sort(thresholds.begin(), thresholds.end(), std::greater<>());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end(),
                               [](double a, double b) { return a == b; }),
                   thresholds.end());
  double ap = 0, previous_recall = 0;
  for (double t : thresholds) {
    double tp = 0, called = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      called += s[i] >= t;
      tp += y[i] && s[i] >= t;
    }
    ap += (tp / pos - previous_recall) * (tp / called);
    previous_recall = tp / pos;
  }
  return {wins / (pos * neg), ap};
}

// See Note [Scores with few distinct values]: 4,000 scores on 40 values (with
// -0.0 beside 0.0) are counted per value; 4,000 on 3,000 values give up on
// counting part-way and are sorted. Both must agree with the definitions.
TEST(RankingMetrics, CountedAndSortedPathsMatchTheDefinitions) {
  core::Rng rng(7);
  for (const int values : {40, 3000}) {
    SCOPED_TRACE(values);
    std::vector<double> s(4000);
    std::vector<uint8_t> y(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const double v = static_cast<double>(rng.uniform_below(static_cast<uint64_t>(values)));
      y[i] = rng.uniform_below(100) < 30 + 40 * v / values;
      s[i] = v == values / 2 && i % 2 ? -0.0 : (v - values / 2) / 7;
    }
    const RankingMetrics r = ranking_metrics(s, y), want = by_definition(s, y);
    EXPECT_NEAR(r.auc, want.auc, 1e-14);
    EXPECT_NEAR(r.ap, want.ap, 1e-12);
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
