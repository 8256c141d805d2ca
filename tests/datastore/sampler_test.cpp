#include "datastore/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "core/error.h"

namespace fracsweep::datastore {
namespace {

// 100 samples: 80 of class 0, 15 of class 1, 5 of class 2; the pool skips a few.
struct Pool {
  std::vector<int32_t> labels;
  std::vector<uint32_t> pool;
  Pool() {
    for (int i = 0; i < 100; ++i) labels.push_back(i < 80 ? 0 : (i < 95 ? 1 : 2));
    for (uint32_t i = 0; i < 100; ++i)
      if (i % 10 != 3) pool.push_back(i);  // 90 samples: 72 / 13 / 5 (83, 93 out)
  }
  std::map<int32_t, size_t> counts(const std::vector<uint32_t>& order) const {
    std::map<int32_t, size_t> c;
    for (uint32_t i : order) ++c[labels[i]];
    return c;
  }
};

TEST(Sampler, ParsesNames) {
  for (auto k : {SamplerKind::kShuffle, SamplerKind::kOversample, SamplerKind::kBalanced})
    EXPECT_EQ(parse_sampler(sampler_name(k)), k);
  EXPECT_FALSE(parse_sampler("weighted").has_value());
}

TEST(Sampler, ShuffleIsAPermutationOfThePool) {
  Pool p;
  const auto order = epoch_order(SamplerKind::kShuffle, p.pool, p.labels, 3, 7);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, p.pool);
  EXPECT_NE(order, p.pool);  // 90! orders: the identity would be a bug
  EXPECT_EQ(order, epoch_order(SamplerKind::kShuffle, p.pool, p.labels, 3, 7));
  EXPECT_NE(order, epoch_order(SamplerKind::kShuffle, p.pool, p.labels, 3, 8));
}

TEST(Sampler, OversampleTopsEveryClassUpToTheLargest) {
  Pool p;
  const auto order = epoch_order(SamplerKind::kOversample, p.pool, p.labels, 3, 1);
  const auto c = p.counts(order);
  EXPECT_EQ(c.at(0), 72u);
  EXPECT_EQ(c.at(1), 72u);
  EXPECT_EQ(c.at(2), 72u);
  // Every pool sample appears at least once; nothing outside the pool appears.
  const std::set<uint32_t> seen(order.begin(), order.end());
  EXPECT_EQ(std::vector<uint32_t>(seen.begin(), seen.end()), p.pool);
  // Shuffled together: the classes are not in blocks.
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end(),
                              [&](uint32_t a, uint32_t b) { return p.labels[a] < p.labels[b]; }));
}

TEST(Sampler, BalancedDrawsClassesUniformly) {
  Pool p;
  std::map<int32_t, size_t> total;
  size_t draws = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto order = epoch_order(SamplerKind::kBalanced, p.pool, p.labels, 3, seed);
    ASSERT_EQ(order.size(), p.pool.size());
    const auto c = p.counts(order);
    for (const auto& [k, v] : c) total[k] += v;
    draws += c.at(0) + c.at(1) + c.at(2);
    for (uint32_t i : order) ASSERT_TRUE(std::binary_search(p.pool.begin(), p.pool.end(), i));
  }
  // 4500 draws, each class with probability 1/3: sd is about 32, so 5 sd = 160.
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(static_cast<double>(total[k]), draws / 3.0, 160) << k;
}

TEST(Sampler, ClassesAbsentFromThePoolAreSkipped) {
  Pool p;
  const std::vector<uint32_t> only0_1 = {0, 1, 2, 3, 85, 86};
  const auto order = epoch_order(SamplerKind::kOversample, only0_1, p.labels, 3, 1);
  const auto c = p.counts(order);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.at(0), 4u);
  EXPECT_EQ(c.at(1), 4u);
}

// Under an equal-steps budget every sampler's epoch is as long as the over-sampled one
// (72 / 13 / 5 tops up to 3 x 72 = 216), and what each sampler draws keeps its meaning.
TEST(Sampler, AnEqualStepsBudgetGivesEverySamplerTheOverSampledLength) {
  Pool p;
  const size_t over = epoch_order(SamplerKind::kOversample, p.pool, p.labels, 3, 4).size();
  ASSERT_EQ(over, 216u);
  for (auto kind : {SamplerKind::kShuffle, SamplerKind::kOversample, SamplerKind::kBalanced})
    EXPECT_EQ(epoch_order(kind, p.pool, p.labels, 3, 4, Budget::kSteps).size(), over)
        << sampler_name(kind);
  EXPECT_EQ(epoch_order(SamplerKind::kOversample, p.pool, p.labels, 3, 4, Budget::kSteps),
            epoch_order(SamplerKind::kOversample, p.pool, p.labels, 3, 4));
  // Shuffle: whole passes over the pool, each a permutation of its own, then a cut pass.
  const auto order = epoch_order(SamplerKind::kShuffle, p.pool, p.labels, 3, 4, Budget::kSteps);
  const size_t n = p.pool.size();
  for (size_t start = 0; start + n <= order.size(); start += n) {
    std::vector<uint32_t> pass(order.begin() + static_cast<long>(start),
                               order.begin() + static_cast<long>(start + n));
    std::sort(pass.begin(), pass.end());
    EXPECT_EQ(pass, p.pool) << "pass at " << start;
  }
  const std::vector<uint32_t> first(order.begin(), order.begin() + static_cast<long>(n));
  const std::vector<uint32_t> second(order.begin() + static_cast<long>(n),
                                     order.begin() + static_cast<long>(2 * n));
  EXPECT_NE(first, second);
  const std::set<uint32_t> tail(order.begin() + static_cast<long>(2 * n), order.end());
  EXPECT_EQ(tail.size(), order.size() - 2 * n);  // the cut pass repeats nothing
  // The epochs budget is the sampler's own order, unchanged.
  EXPECT_EQ(first, epoch_order(SamplerKind::kShuffle, p.pool, p.labels, 3, 4));
  EXPECT_EQ(parse_budget("steps"), Budget::kSteps);
  EXPECT_EQ(parse_budget(budget_name(Budget::kEpochs)), Budget::kEpochs);
  EXPECT_FALSE(parse_budget("time").has_value());
}

TEST(Sampler, RejectsBadInput) {
  Pool p;
  EXPECT_THROW(epoch_order(SamplerKind::kShuffle, {}, p.labels, 3, 1), core::ConfigError);
  const std::vector<uint32_t> outside = {100};
  EXPECT_THROW(epoch_order(SamplerKind::kShuffle, outside, p.labels, 3, 1), core::ConfigError);
  EXPECT_THROW(epoch_order(SamplerKind::kShuffle, p.pool, p.labels, 2, 1), core::ConfigError);
  EXPECT_THROW(rank_slice(p.pool, 2, 2), core::ConfigError);
}

TEST(Sampler, RankSlicesCoverTheOrderWithEqualSizes) {
  std::vector<uint32_t> order(10);
  std::iota(order.begin(), order.end(), 100);
  for (int world : {1, 2, 3, 4, 10, 12}) {
    std::multiset<uint32_t> all;
    const size_t expected = (order.size() + world - 1) / world;
    for (int r = 0; r < world; ++r) {
      const auto s = rank_slice(order, r, world);
      EXPECT_EQ(s.size(), expected) << world;
      all.insert(s.begin(), s.end());
    }
    // Each sample once; the padding repeats the front of the order.
    const size_t pad = expected * world - order.size();
    for (uint32_t i : order) EXPECT_EQ(all.count(i), i < 100 + pad ? 2u : 1u) << world << " " << i;
    EXPECT_EQ(all.size(), expected * world);
  }
  // Divisible: the slices are disjoint and interleaved.
  EXPECT_EQ(rank_slice(order, 1, 5), (std::vector<uint32_t>{101, 106}));
}

TEST(Sampler, SamplesOfPatients) {
  SampleIndex ix;
  ix.patient = {0, 0, 1, 2, 1, 2};
  ix.label = {0, 1, 0, 0, 2, 0};
  ix.patient_ids = {"a", "b", "c"};
  const std::vector<int32_t> patients = {2, 0};
  EXPECT_EQ(samples_of_patients(ix, patients), (std::vector<uint32_t>{0, 1, 3, 5}));
  const std::vector<int32_t> bad = {3};
  EXPECT_THROW(samples_of_patients(ix, bad), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::datastore
