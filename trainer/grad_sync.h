// The point between backward() and the optimizer step where data-parallel
// ranks agree on one gradient. One rank needs nothing; the launcher supplies
// an MPI (CPU) or NCCL (GPU) implementation that averages the gradients of
// the ranks of a group.
#pragma once

#include <vector>

#include <torch/types.h>

namespace fracsweep::trainer {

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // Replaces every defined gradient by the group's mean of it.
  virtual void average(std::vector<torch::Tensor>& grads) = 0;
  virtual int group_size() const = 0;
  virtual int group_rank() const = 0;
};

// A group of one: average() leaves the gradients as they are.
class LocalSync final : public GradientSync {
 public:
  void average(std::vector<torch::Tensor>&) override {}
  int group_size() const override { return 1; }
  int group_rank() const override { return 0; }
};

}  // namespace fracsweep::trainer
