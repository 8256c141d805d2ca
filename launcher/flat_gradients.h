// The attached layout both gradient syncs use (Note [Bucket order] in
// mpi_sync.cpp): the parameters' gradients as views of one flat buffer, cut
// into buckets by plan_buckets (schedule/bucket_plan.h), and autograd hooks that count
// each bucket's gradients down as backward writes them and start the buckets
// that are ready, in order. What "start" means (MPI_Iallreduce, ncclAllReduce
// on a stream) is the sync's.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <torch/csrc/autograd/function.h>
#include <torch/types.h>

#include "schedule/bucket_plan.h"

namespace fracsweep::launcher {

class FlatGradients {
 public:
  // Lays out `params` in a zeroed buffer made with `options` (dtype and
  // device) and gives each parameter a gradient that views it, with the
  // parameter's strides (channels-last weights too). With `overlap`, hooks
  // every parameter's gradient accumulator: once backward has written a
  // bucket's last gradient, `start(bucket)` is called for it and every ready
  // bucket after it, in bucket order (the hooks run on the thread that runs
  // backward). A later attach() drops the hooks of the previous parameters.
  void attach(std::vector<torch::Tensor>& params, const torch::TensorOptions& options,
              size_t first_bucket_floats, size_t bucket_floats, bool overlap,
              std::function<void(size_t bucket)> start);

  // Whether `grads` are exactly the attached gradients (average() may then
  // reduce the buffer in place).
  bool holds(const std::vector<torch::Tensor>& grads) const;

  // Starts, in order, every bucket backward has not (no overlap, or
  // parameters this step did not use); returns how many it had started.
  size_t start_rest();
  // Makes ready for the next backward: every gradient pending again.
  void next_step();

  const schedule::BucketPlan& plan() const { return plan_; }
  torch::Tensor& buffer() { return flat_; }
  float* bucket_data(size_t bucket) { return flat_.data_ptr<float>() + plan_.buckets[bucket].first; }
  size_t started() const { return started_; }

 private:
  void gradient_ready(size_t param);

  schedule::BucketPlan plan_;
  torch::Tensor flat_;
  std::function<void(size_t)> start_;
  std::vector<int> pending_;  // per bucket: gradients backward has not written yet
  size_t started_ = 0;        // buckets started this step (always a prefix)
  // The hooked gradient accumulators, kept alive while their hooks point here.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
};

}  // namespace fracsweep::launcher
