// See seed.h. The constants are SplitMix64's and FNV-1a's published ones.
#include "core/seed.h"

#include "core/error.h"

namespace fracsweep::core {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_string(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

uint64_t derive_seed(uint64_t sweep_seed, std::string_view job, int rank,
                     std::string_view purpose) {
  // Chaining through mix64 keeps ("ab", "c") and ("a", "bc") apart.
  uint64_t h = mix64(sweep_seed);
  h = mix64(h ^ hash_string(job));
  h = mix64(h ^ static_cast<uint64_t>(static_cast<int64_t>(rank)));
  h = mix64(h ^ hash_string(purpose));
  return h;
}

uint64_t Rng::uniform_below(uint64_t bound) {
  INTERNAL_ASSERT(bound > 0);
  // Reject the top partial block of 2^64 so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;
  uint64_t x;
  do {
    x = engine_();
  } while (x > limit);
  return x % bound;
}

double Rng::uniform01() {
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

}  // namespace fracsweep::core
