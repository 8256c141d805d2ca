// See ranking.h. Counts are kept as integers so AUC is one exact ratio and
// only AP accumulates floating-point sums.
#include "metrics/ranking.h"

#include <algorithm>
#include <boost/sort/spreadsort/float_sort.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace fracsweep::metrics {
namespace {

struct Scored {
  double score;
  uint8_t positive;
};

}  // namespace

RankingMetrics ranking_metrics(std::span<const double> scores,
                               std::span<const uint8_t> positive) {
  CHECK_OR_THROW(core::ConfigError, scores.size() == positive.size(),
                 "ranking metrics: ", scores.size(), " scores but ", positive.size(),
                 " labels");
  std::vector<Scored> items(scores.size());
  int64_t num_pos = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    // A NaN has no place in the order (and breaks the sort); scikit-learn
    // refuses NaN and infinity too.
    CHECK_OR_THROW(core::ConfigError, std::isfinite(scores[i]), "ranking metrics: score ", i,
                   " is ", scores[i], "; scores must be finite numbers");
    items[i] = {scores[i], static_cast<uint8_t>(positive[i] != 0)};
    num_pos += items[i].positive;
  }
  const int64_t num_neg = static_cast<int64_t>(items.size()) - num_pos;
  CHECK_OR_THROW(core::ConfigError, num_pos > 0 && num_neg > 0,
                 "ranking metrics are undefined with ", num_pos, " positive and ",
                 num_neg, " negative samples (need at least one of each)");

  // Ascending, then read from the top. Spreadsort (a radix-style sort on the
  // score's bits) takes about a third of std::sort's time on millions of scores.
  // It orders negative numbers correctly and puts -0.0 next to +0.0, which the
  // grouping below then treats as one tied score (as == and scikit-learn do).
  boost::sort::spreadsort::float_sort(
      items.begin(), items.end(),
      [](const Scored& x, unsigned offset) {
        return boost::sort::spreadsort::float_mem_cast<double, int64_t>(x.score) >> offset;
      },
      [](const Scored& a, const Scored& b) { return a.score < b.score; });
  std::reverse(items.begin(), items.end());

  // AUC: each negative earns 1 per positive ranked strictly above it and 1/2
  // per tied positive; summed doubled so it stays an integer.
  int64_t twice_wins = 0;
  int64_t tp = 0, fp = 0;
  double ap = 0;
  for (size_t begin = 0; begin < items.size();) {
    size_t end = begin;
    int64_t group_tp = 0, group_fp = 0;
    while (end < items.size() && items[end].score == items[begin].score) {
      group_tp += items[end].positive;
      group_fp += 1 - items[end].positive;
      ++end;
    }
    twice_wins += group_fp * (2 * tp + group_tp);
    tp += group_tp;
    fp += group_fp;
    if (group_tp > 0) {
      ap += (static_cast<double>(group_tp) / static_cast<double>(num_pos)) *
            (static_cast<double>(tp) / static_cast<double>(tp + fp));
    }
    begin = end;
  }
  RankingMetrics out;
  out.auc = static_cast<double>(twice_wins) /
            (2.0 * static_cast<double>(num_pos) * static_cast<double>(num_neg));
  out.ap = ap;
  return out;
}

std::vector<double> midranks(std::span<const double> values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    while (end < order.size() && values[order[end]] == values[order[begin]]) ++end;
    // Positions begin..end-1 (0-based) hold ranks begin+1..end; their mean:
    const double rank = 0.5 * static_cast<double>(begin + 1 + end);
    for (size_t k = begin; k < end; ++k) ranks[order[k]] = rank;
    begin = end;
  }
  return ranks;
}

double Confusion::sensitivity() const {
  if (tp + fn == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(tp) / static_cast<double>(tp + fn);
}

double Confusion::specificity() const {
  if (tn + fp == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(tn) / static_cast<double>(tn + fp);
}

}  // namespace fracsweep::metrics
