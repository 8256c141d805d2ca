// The order in which one epoch visits the training samples, and each
// data-parallel rank's share of it.
//
// Samplers (the papers train on imbalanced data: most vertebrae are normal):
//   shuffle     every sample once, in a random order;
//   oversample  minority over-sampling, the papers' default: every class is
//               topped up with random repeats of its own samples until it has as
//               many as the largest class, then all are shuffled together;
//   balanced    as many draws as samples, each picking a class uniformly and
//               then a sample of that class uniformly (with replacement).
// An order is a pure function of (pool, labels, seed, budget): derive the seed
// per (job, epoch) with core::derive_seed so a resumed job sees the same orders.
//
// Budgets (an over-sampled epoch of an imbalanced set is several times as long
// as a shuffled one, so "100 epochs" is not the same training for every sampler):
//   epochs  each sampler's own epoch, as above (the papers' "N epochs");
//   steps   every epoch is as long as an over-sampled epoch of the same pool:
//           shuffle chains fresh permutations of the pool (the last one cut
//           short), balanced makes that many draws, oversample is unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "datastore/patch_store.h"

namespace fracsweep::datastore {

enum class SamplerKind { kShuffle, kOversample, kBalanced };
enum class Budget { kEpochs, kSteps };

const char* sampler_name(SamplerKind kind);
// "shuffle", "oversample" or "balanced"; nullopt for anything else.
std::optional<SamplerKind> parse_sampler(std::string_view name);
const char* budget_name(Budget budget);
// "epochs" or "steps"; nullopt for anything else.
std::optional<Budget> parse_budget(std::string_view name);

// The store indices of every sample of the given patients, ascending.
std::vector<uint32_t> samples_of_patients(const SampleIndex& index,
                                          std::span<const int32_t> patients);

// One epoch's order over `pool` (store indices); labels[i] is sample i's class
// in 0..num_classes-1. Classes without samples in the pool are left out of the
// balancing. Throws core::ConfigError when the pool is empty or a label is out
// of range.
std::vector<uint32_t> epoch_order(SamplerKind kind, std::span<const uint32_t> pool,
                                  std::span<const int32_t> labels, int num_classes,
                                  uint64_t seed, Budget budget = Budget::kEpochs);

// Rank `rank` of `world` takes positions rank, rank + world, ... of `order`.
// The order is first padded by wrapping around to a multiple of `world`, so
// every rank gets the same number of samples (ranks step together in the
// gradient all-reduce) and every sample of the order is used at least once.
std::vector<uint32_t> rank_slice(std::span<const uint32_t> order, int rank, int world);

}  // namespace fracsweep::datastore
