#include "core/seed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace fracsweep::core {
namespace {

// Reference values from an independent Python implementation of the same
// SplitMix64 / FNV-1a chain (arbitrary-precision integers masked to 64 bits).
TEST(DeriveSeed, MatchesIndependentReference) {
  EXPECT_EQ(derive_seed(42, "tsccn/fold0/seed1", 3, "init"), 1932074964524799473ULL);
  EXPECT_EQ(derive_seed(0, "", 0, ""), 12437685991248997338ULL);
  EXPECT_EQ(derive_seed(7, "x", -1, "data_order"), 1865840085384658408ULL);
}

TEST(DeriveSeed, EveryInputChangesTheSeed) {
  const uint64_t base = derive_seed(1, "job", 0, "init");
  EXPECT_EQ(base, derive_seed(1, "job", 0, "init"));
  std::set<uint64_t> seen = {base, derive_seed(2, "job", 0, "init"),
                             derive_seed(1, "jobb", 0, "init"), derive_seed(1, "job", 1, "init"),
                             derive_seed(1, "job", 0, "data_order"),
                             // concatenation must not collide: ("jo", "binit") vs ("job", "init")
                             derive_seed(1, "jo", 0, "binit")};
  EXPECT_EQ(seen.size(), 6u);
}

// The C++ standard fixes mt19937_64's 10000th output for the default seed.
TEST(Rng, EngineIsTheStandardMersenneTwister) {
  Rng rng(5489u);
  uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = rng.next_u64();
  EXPECT_EQ(x, 9981545732273789042ULL);
}

TEST(Rng, UniformBelowIsInRangeAndRoughlyUniform) {
  Rng rng(123);
  constexpr int kBins = 7, kDraws = 70000;
  std::vector<int> counts(kBins, 0);
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t v = rng.uniform_below(kBins);
    ASSERT_LT(v, static_cast<uint64_t>(kBins));
    ++counts[v];
  }
  // Chi-square with 6 degrees of freedom; 22.46 is its 0.999 quantile.
  double chi2 = 0;
  const double expected = static_cast<double>(kDraws) / kBins;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 22.46);
}

TEST(Rng, Uniform01IsInHalfOpenUnitInterval) {
  Rng rng(9);
  double lo = 1, hi = 0, sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_LT(lo, 0.001);
  EXPECT_GT(hi, 0.999);
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

TEST(Rng, ShuffleIsADeterministicPermutation) {
  std::vector<int> a(50), b;
  std::iota(a.begin(), a.end(), 0);
  b = a;
  Rng r1(77), r2(77);
  r1.shuffle(a);
  r2.shuffle(b);
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  int fixed_points = 0;
  for (int i = 0; i < 50; ++i) fixed_points += a[i] == i;
  EXPECT_LT(fixed_points, 10);  // a shuffle that moved nothing would fail here
}

}  // namespace
}  // namespace fracsweep::core
