// See sampler.h.
#include "datastore/sampler.h"

#include <algorithm>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::datastore {

const char* sampler_name(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kShuffle: return "shuffle";
    case SamplerKind::kOversample: return "oversample";
    case SamplerKind::kBalanced: return "balanced";
  }
  return "?";
}

std::optional<SamplerKind> parse_sampler(std::string_view name) {
  for (SamplerKind k : {SamplerKind::kShuffle, SamplerKind::kOversample, SamplerKind::kBalanced})
    if (name == sampler_name(k)) return k;
  return std::nullopt;
}

const char* budget_name(Budget budget) {
  return budget == Budget::kSteps ? "steps" : "epochs";
}

std::optional<Budget> parse_budget(std::string_view name) {
  for (Budget b : {Budget::kEpochs, Budget::kSteps})
    if (name == budget_name(b)) return b;
  return std::nullopt;
}

std::vector<uint32_t> samples_of_patients(const SampleIndex& index,
                                          std::span<const int32_t> patients) {
  std::vector<char> in(index.num_patients(), 0);
  for (int32_t p : patients) {
    CHECK_OR_THROW(core::ConfigError, p >= 0 && static_cast<size_t>(p) < index.num_patients(),
                   "patient index ", p, " is outside the store's ", index.num_patients(),
                   " patients");
    in[static_cast<size_t>(p)] = 1;
  }
  std::vector<uint32_t> out;
  for (size_t i = 0; i < index.size(); ++i)
    if (in[static_cast<size_t>(index.patient[i])]) out.push_back(static_cast<uint32_t>(i));
  return out;
}

namespace {

// The pool's samples per class, in pool order; throws core::ConfigError for a sample
// outside `labels` or a label outside 0..num_classes-1.
std::vector<std::vector<uint32_t>> group_by_class(std::span<const uint32_t> pool,
                                                  std::span<const int32_t> labels,
                                                  int num_classes) {
  std::vector<std::vector<uint32_t>> by_class(static_cast<size_t>(num_classes));
  for (uint32_t i : pool) {
    CHECK_OR_THROW(core::ConfigError, i < labels.size(), "sample ", i, " is outside the ",
                   labels.size(), " labelled samples");
    const int32_t y = labels[i];
    CHECK_OR_THROW(core::ConfigError, y >= 0 && y < num_classes, "sample ", i, " has label ", y,
                   ", outside 0..", num_classes - 1);
    by_class[static_cast<size_t>(y)].push_back(i);
  }
  return by_class;
}

}  // namespace

std::vector<uint32_t> epoch_order(SamplerKind kind, std::span<const uint32_t> pool,
                                  std::span<const int32_t> labels, int num_classes,
                                  uint64_t seed, Budget budget) {
  CHECK_OR_THROW(core::ConfigError, !pool.empty(), "cannot sample an epoch from no samples");
  CHECK_OR_THROW(core::ConfigError, num_classes >= 1, "num_classes = ", num_classes,
                 " must be >= 1");
  const std::vector<std::vector<uint32_t>> by_class = group_by_class(pool, labels, num_classes);
  // The over-sampled epoch's length: every present class at the largest one's size.
  size_t largest = 0, present_classes = 0;
  for (const auto& c : by_class) {
    largest = std::max(largest, c.size());
    present_classes += c.empty() ? 0 : 1;
  }
  const size_t length = budget == Budget::kSteps ? largest * present_classes : pool.size();
  core::Rng rng(seed);
  std::vector<uint32_t> order;
  switch (kind) {
    case SamplerKind::kShuffle:
      order.assign(pool.begin(), pool.end());
      break;
    case SamplerKind::kOversample: {
      for (const auto& c : by_class) {
        if (c.empty()) continue;
        order.insert(order.end(), c.begin(), c.end());
        for (size_t k = c.size(); k < largest; ++k) order.push_back(c[rng.uniform_below(c.size())]);
      }
      break;
    }
    case SamplerKind::kBalanced: {
      std::vector<const std::vector<uint32_t>*> present;
      for (const auto& c : by_class)
        if (!c.empty()) present.push_back(&c);
      order.reserve(length);
      for (size_t k = 0; k < length; ++k) {
        const auto& c = *present[rng.uniform_below(present.size())];
        order.push_back(c[rng.uniform_below(c.size())]);
      }
      return order;  // already random
    }
  }
  rng.shuffle(order);
  if (kind == SamplerKind::kShuffle) {
    // Under an equal-steps budget, further passes over the pool, each its own permutation.
    while (order.size() < length) {
      std::vector<uint32_t> pass(pool.begin(), pool.end());
      rng.shuffle(pass);
      order.insert(order.end(), pass.begin(), pass.end());
    }
    order.resize(length);
  }
  return order;
}

std::vector<uint32_t> rank_slice(std::span<const uint32_t> order, int rank, int world) {
  CHECK_OR_THROW(core::ConfigError, world >= 1 && rank >= 0 && rank < world, "rank ", rank,
                 " of world ", world, " is invalid (need 0 <= rank < world)");
  CHECK_OR_THROW(core::ConfigError, !order.empty(), "cannot slice an empty epoch order");
  const size_t w = static_cast<size_t>(world);
  const size_t per_rank = (order.size() + w - 1) / w;
  std::vector<uint32_t> out(per_rank);
  for (size_t k = 0; k < per_rank; ++k) out[k] = order[(k * w + static_cast<size_t>(rank)) % order.size()];
  return out;
}

}  // namespace fracsweep::datastore
