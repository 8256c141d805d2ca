// Deterministic seed derivation and a portable random generator.
//
// Every random choice in fracsweep (splits, sampling order, augmentation, init,
// bootstrap) derives its seed from (sweep seed, job, rank, purpose), so the same
// sweep gives the same numbers however it is scheduled or interrupted.
// std::uniform_int_distribution and std::shuffle differ between standard
// libraries; Rng below defines its own so results match across toolchains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace fracsweep::core {

// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
uint64_t mix64(uint64_t x);

// FNV-1a over the bytes of `text`, then mixed; stable across platforms.
uint64_t hash_string(std::string_view text);

// One seed per (sweep seed, job, rank, purpose). Distinct purposes ("init",
// "data_order", "bootstrap", ...) give independent streams for the same job.
uint64_t derive_seed(uint64_t sweep_seed, std::string_view job, int rank,
                     std::string_view purpose);

// A seeded generator whose every draw is defined here, not by the standard
// library's distributions. Not thread-safe; use one per thread.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next_u64() { return engine_(); }
  // Uniform in [0, bound), without modulo bias (rejection sampling). bound > 0.
  uint64_t uniform_below(uint64_t bound);
  // Uniform double in [0, 1) with 53 random bits.
  double uniform01();

  // Fisher–Yates, from the back, as in Knuth's Algorithm P.
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(uniform_below(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  std::mt19937_64 engine_;  // mt19937_64's output sequence is fixed by the standard
};

}  // namespace fracsweep::core
