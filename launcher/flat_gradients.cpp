// See flat_gradients.h.
#include "launcher/flat_gradients.h"

#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "core/error.h"

namespace fracsweep::launcher {

void FlatGradients::attach(std::vector<torch::Tensor>& params, const torch::TensorOptions& options,
                           size_t first_bucket_floats, size_t bucket_floats, bool overlap,
                           std::function<void(size_t bucket)> start) {
  accumulators_.clear();  // the previous parameters' hooks go with them
  std::vector<size_t> counts;
  for (const torch::Tensor& p : params) counts.push_back(static_cast<size_t>(p.numel()));
  plan_ = schedule::plan_buckets(counts, first_bucket_floats, bucket_floats);
  start_ = std::move(start);
  torch::NoGradGuard no_grad;
  flat_ = torch::zeros({static_cast<int64_t>(plan_.total)}, options);
  for (size_t i = 0; i < params.size(); ++i)
    params[i].mutable_grad() = flat_.as_strided(params[i].sizes(), params[i].strides(),
                                                static_cast<int64_t>(plan_.offsets[i]));
  next_step();
  if (!overlap) return;
  for (size_t i = 0; i < params.size(); ++i) {
    std::shared_ptr<torch::autograd::Node> accumulator =
        torch::autograd::impl::grad_accumulator(params[i]);
    if (!accumulator) continue;  // a frozen parameter: start_rest() starts its bucket
    accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, i](const torch::autograd::variable_list& outputs,
                  const torch::autograd::variable_list&) {
          gradient_ready(i);
          return outputs;
        }));
    accumulators_.push_back(std::move(accumulator));
  }
}

bool FlatGradients::holds(const std::vector<torch::Tensor>& grads) const {
  if (!flat_.defined() || grads.size() != plan_.offsets.size()) return false;
  const float* base = flat_.data_ptr<float>();
  for (size_t i = 0; i < grads.size(); ++i)
    if (grads[i].data_ptr<float>() != base + plan_.offsets[i]) return false;
  return true;
}

void FlatGradients::gradient_ready(size_t param) {
  const size_t bucket = plan_.bucket_of[param];
  INTERNAL_ASSERT(pending_[bucket] > 0);  // each gradient is written once per backward
  if (--pending_[bucket] > 0) return;
  while (started_ < plan_.buckets.size() && pending_[started_] == 0) start_(started_++);
}

size_t FlatGradients::start_rest() {
  const size_t early = started_;
  while (started_ < plan_.buckets.size()) start_(started_++);
  return early;
}

void FlatGradients::next_step() {
  pending_.resize(plan_.buckets.size());
  for (size_t b = 0; b < plan_.buckets.size(); ++b) pending_[b] = plan_.buckets[b].parameters;
  started_ = 0;
}

}  // namespace fracsweep::launcher
