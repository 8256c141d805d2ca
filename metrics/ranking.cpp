// See ranking.h. Counts are kept as integers so AUC is one exact ratio and
// only AP accumulates floating-point sums; see Note [Scores with few distinct
// values] for the two ways the groups of tied scores are found.
#include "metrics/ranking.h"

#include <algorithm>
#include <boost/sort/spreadsort/float_sort.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace fracsweep::metrics {
namespace {

struct Scored {
  double score;
  uint8_t positive;
};

// AUC and AP from the groups of tied scores, taken from the highest score
// down. AUC: each negative earns 1 per positive ranked strictly above it and
// 1/2 per tied positive, summed doubled so it stays an integer.
class GroupSums {
 public:
  GroupSums(int64_t num_pos, int64_t num_neg) : num_pos_(num_pos), num_neg_(num_neg) {}
  void add(int64_t group_tp, int64_t group_fp) {
    twice_wins_ += group_fp * (2 * tp_ + group_tp);
    tp_ += group_tp;
    fp_ += group_fp;
    if (group_tp > 0) {
      ap_ += (static_cast<double>(group_tp) / static_cast<double>(num_pos_)) *
             (static_cast<double>(tp_) / static_cast<double>(tp_ + fp_));
    }
  }
  RankingMetrics result() const {
    INTERNAL_ASSERT(tp_ == num_pos_ && fp_ == num_neg_);
    RankingMetrics out;
    out.auc = static_cast<double>(twice_wins_) /
              (2.0 * static_cast<double>(num_pos_) * static_cast<double>(num_neg_));
    out.ap = ap_;
    return out;
  }

 private:
  int64_t num_pos_, num_neg_;
  int64_t twice_wins_ = 0, tp_ = 0, fp_ = 0;
  double ap_ = 0;
};

// Note [Scores with few distinct values]: scores are often written rounded
// (four decimals make at most 10,001 values in [0, 1]), so millions of them
// hold a few thousand distinct values. Counting positives and negatives per
// distinct value in a hash table that stays in cache, then sorting only the
// distinct values, is several times faster than sorting every score, and
// feeds GroupSums the very same groups in the same order, so the result is
// the same to the bit. Scores with many distinct values give up early, after
// a bounded amount of work, and are sorted.
class DistinctCounts {
 public:
  // Counts scores from the first on; returns how many it counted, all of them
  // unless it stops at a NaN or infinity, or gives up: past `max_distinct`
  // distinct scores, or as soon as more than 2^14 of them make up over half of
  // the scores seen, so that scores nearly all distinct cost a few thousand
  // table inserts, no more.
  size_t count(std::span<const double> scores, std::span<const uint8_t> positive,
               size_t max_distinct) {
    slots_.assign(1024, Slot{});
    for (size_t i = 0; i < scores.size(); ++i) {
      if (!std::isfinite(scores[i])) return i;
      // -0.0 == 0.0: one key for both.
      const double x = scores[i] == 0 ? 0.0 : scores[i];
      uint64_t key;
      std::memcpy(&key, &x, sizeof key);
      Slot* slot = &find(key);
      if (slot->key == kEmpty) {
        if (++distinct_ > max_distinct || (distinct_ > (1 << 14) && 2 * distinct_ > i + 1))
          return i;
        slot->key = key;
        if (2 * distinct_ > slots_.size()) {
          grow();
          slot = &find(key);
        }
      }
      slot->counts[positive[i] != 0] += 1;
      positives_ += positive[i] != 0;
    }
    return scores.size();
  }
  int64_t positives() const { return positives_; }

  // Each distinct score's (positives, negatives), from the highest score down.
  void feed(GroupSums& sums) {
    std::vector<std::pair<double, const Slot*>> order;
    order.reserve(distinct_);
    for (const Slot& s : slots_) {
      if (s.key == kEmpty) continue;
      double x;
      std::memcpy(&x, &s.key, sizeof x);
      order.emplace_back(x, &s);
    }
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [x, s] : order) sums.add(s->counts[1], s->counts[0]);
  }

 private:
  // A NaN's bits: never the key of a finite score.
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    int64_t counts[2] = {0, 0};  // negatives, positives
  };

  static size_t hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDULL;
    return static_cast<size_t>(key ^ (key >> 33));
  }
  Slot& find(uint64_t key) {
    const size_t mask = slots_.size() - 1;
    size_t s = hash(key) & mask;
    while (slots_[s].key != key && slots_[s].key != kEmpty) s = (s + 1) & mask;
    return slots_[s];
  }
  void grow() {
    std::vector<Slot> old(2 * slots_.size());
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.key != kEmpty) find(s.key) = s;
  }

  std::vector<Slot> slots_;
  size_t distinct_ = 0;
  int64_t positives_ = 0;
};

}  // namespace

RankingMetrics ranking_metrics(std::span<const double> scores,
                               std::span<const uint8_t> positive) {
  CHECK_OR_THROW(core::ConfigError, scores.size() == positive.size(),
                 "ranking metrics: ", scores.size(), " scores but ", positive.size(),
                 " labels");
  const auto check_classes = [&](int64_t num_pos) {
    const int64_t num_neg = static_cast<int64_t>(scores.size()) - num_pos;
    CHECK_OR_THROW(core::ConfigError, num_pos > 0 && num_neg > 0,
                   "ranking metrics are undefined with ", num_pos, " positive and ",
                   num_neg, " negative samples (need at least one of each)");
    return GroupSums(num_pos, num_neg);
  };

  // See Note [Scores with few distinct values]: at most one distinct value
  // per 16 scores, and a table of at most 2^17 slots (3 MiB, in cache).
  DistinctCounts distinct;
  if (distinct.count(scores, positive, std::min<size_t>(scores.size() / 16, 1 << 16)) ==
      scores.size()) {
    GroupSums sums = check_classes(distinct.positives());
    distinct.feed(sums);
    return sums.result();
  }

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
  GroupSums sums = check_classes(num_pos);
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
  for (size_t end = items.size(); end > 0;) {
    size_t begin = end;
    int64_t group_tp = 0, group_fp = 0;
    while (begin > 0 && items[begin - 1].score == items[end - 1].score) {
      --begin;
      group_tp += items[begin].positive;
      group_fp += 1 - items[begin].positive;
    }
    sums.add(group_tp, group_fp);
    end = begin;
  }
  return sums.result();
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
