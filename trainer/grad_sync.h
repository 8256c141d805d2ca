// The point between backward() and the optimizer step where data-parallel
// ranks agree on one gradient. One rank needs nothing; the launcher supplies
// an MPI (CPU) or NCCL (GPU) implementation that averages the gradients of
// the ranks of a group.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace fracsweep::trainer {

// What every rank of a group must agree on before the first step.
struct ModelSignature {
  int64_t parameters = 0;    // number of trainable scalars
  uint64_t shapes_hash = 0;  // hash of every parameter's name and shape, in order
  uint64_t config_hash = 0;  // hash of the resolved job configuration
};

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // Called once, before the first step, with the parameters whose gradients
  // average() will be given, in the same order. A sync may give them defined
  // gradients that are views into one flat buffer of its own, so that
  // backward() accumulates straight into it and average() reduces in place,
  // with no packing; the caller must then zero gradients in place instead of
  // resetting them (torch::optim's zero_grad() in LibTorch 2 drops them).
  virtual void attach(std::vector<torch::Tensor>& /*params*/) {}
  // Replaces every gradient by the group's mean of it. Every rank passes the
  // same tensors (count, shapes, dtype, order).
  virtual void average(std::vector<torch::Tensor>& grads) = 0;
  // The bitwise OR of `bits` over the group. A rank that must leave a step (a
  // stop signal, a non-finite loss, a failed batch) says so through this, so
  // that every rank leaves together instead of waiting in average().
  virtual uint32_t any(uint32_t bits) = 0;
  // Throws core::ConfigError naming the first rank (and its host) whose
  // signature differs from group rank 0's, and in what.
  virtual void check_agreement(const ModelSignature& mine) = 0;
  virtual int group_size() const = 0;
  virtual int group_rank() const = 0;
};

// A group of one: average() leaves the gradients as they are.
class LocalSync final : public GradientSync {
 public:
  void average(std::vector<torch::Tensor>&) override {}
  uint32_t any(uint32_t bits) override { return bits; }
  void check_agreement(const ModelSignature&) override {}
  int group_size() const override { return 1; }
  int group_rank() const override { return 0; }
};

}  // namespace fracsweep::trainer
