// See cuda_graphs.h and Note [Which steps are captured].
#include "trainer/cuda_graphs.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <array>
#include <map>
#include <utility>

#if __has_include(<ATen/cuda/CUDAGraph.h>)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define FRACSWEEP_CUDA_GRAPHS 1
#else
#define FRACSWEEP_CUDA_GRAPHS 0
#endif

#include "core/error.h"
#include "trainer/job_model.h"
#include "trainer/torch_compat.h"
#include "trainer/train_job.h"

namespace fracsweep::trainer {

std::optional<std::string> capture_blocker(const std::string& variant) {
  // Read from the models' losses and forward passes (trainer/losses.cpp, trainer/models/).
  // A variant missing here is not captured: what is not known to be capturable is not.
  static const std::string kRows =
      "its losses pick rows with nonzero() (the VCFs for the benign/malignant term and the "
      "triplet, the neighbours for the discriminator): a host synchronisation and shapes that "
      "depend on the labels";
  static const std::map<std::string, std::string> blocked = {
      {"single-stream", kRows}, {"single-stream+triplet", kRows}, {"two-stream", kRows},
      {"two-stream+triplet", kRows}, {"two-stream+triplet+compare", kRows}, {"tsccn", kRows},
      {"ldam-drw", "its class weights switch at an epoch chosen on the host"},
      {"pc-net", "its pairwise confusion term picks rows with nonzero()"},
      {"smote", "it interpolates neighbours found on the host"},
      {"sdl-net", "it pairs samples by labels read on the host"},
      {"nts-net", "its Navigator's proposals are chosen on the host (non-maximum suppression)"},
      {"two-stage", "stage 2's window depends on stage 1's strongest cell"},
      {"curve", "it trains nothing"}};
  static const std::array<const char*, 15> capturable = {
      "resnet18", "rs", "cb-rw", "ldam", "aasn", "aasn-vanilla", "aasn-ff", "aasn-ff-fa",
      "aasn-ff-cl", "aasn-ff-fa-cl-noproj", "chexnet", "lse-pooling", "liu-distance",
      "deepsymnet", "cbn"};
  if (auto it = blocked.find(variant); it != blocked.end()) return it->second;
  for (const char* name : capturable)
    if (variant == name) return std::nullopt;
  return std::string("it is not known to be capturable");
}

GraphDecision decide_cuda_graphs(const std::string& setting, const torch::Device& device,
                                 const std::string& precision, const std::string& variant,
                                 const std::string& where) {
  INTERNAL_ASSERT(setting == "auto" || setting == "on" || setting == "off");
  if (setting == "off") return {false, "CUDA graphs off (train.cuda_graphs: off)"};
  std::string blocker;
  if (!device.is_cuda()) {
    blocker = core::str_cat("the job trains on ", device.str(), " and CUDA graphs need a GPU");
  } else if (precision != "fp32") {
    blocker = core::str_cat("train.precision is ", precision,
                            ", whose autocast caches cast weights outside the graph's memory");
  } else if (auto why = capture_blocker(variant)) {
    blocker = core::str_cat("model.variant ", variant, ": ", *why);
  } else if (!FRACSWEEP_CUDA_GRAPHS) {
    blocker = "this build's LibTorch has no CUDA graphs (ATen/cuda/CUDAGraph.h)";
  }
  if (blocker.empty()) return {true, "CUDA graphs on: full batches replay one captured step"};
  CHECK_OR_THROW(core::ConfigError, setting != "on", where, ": train.cuda_graphs is on, but ",
                 blocker, "; set train.cuda_graphs to auto (captures where it can) or off");
  return {false, core::str_cat("CUDA graphs not used: ", blocker)};
}

// ---------------------------------------------------------------- StaticBatch

namespace {

// The fields of a batch, in one order, for the loops below.
template <typename Batch, typename F>
void each_field(Batch& a, Batch& b, F&& f) {
  f(a.images, b.images);
  f(a.labels, b.labels);
  f(a.samples, b.samples);
  f(a.has_prev, b.has_prev);
  f(a.has_next, b.has_next);
  f(a.prev_labels, b.prev_labels);
  f(a.next_labels, b.next_labels);
  f(a.grids, b.grids);
  f(a.masks, b.masks);
  f(a.masks_hat, b.masks_hat);
}

}  // namespace

StaticBatch::StaticBatch(const BatchTensors& like) {
  BatchTensors source = like;
  each_field(static_, source, [](torch::Tensor& mine, torch::Tensor& theirs) {
    if (theirs.defined()) mine = theirs.clone(at::MemoryFormat::Preserve);
  });
}

bool StaticBatch::fits(const BatchTensors& b) const {
  bool same = true;
  BatchTensors mine = static_, theirs = b;
  each_field(mine, theirs, [&](torch::Tensor& m, torch::Tensor& t) {
    if (m.defined() != t.defined()) {
      same = false;
    } else if (m.defined()) {
      same = same && m.sizes() == t.sizes() && m.scalar_type() == t.scalar_type() &&
             m.device() == t.device();
    }
  });
  return same;
}

void StaticBatch::copy_in(const BatchTensors& b) {
  INTERNAL_ASSERT(fits(b));
  BatchTensors theirs = b;
  each_field(static_, theirs, [](torch::Tensor& mine, torch::Tensor& t) {
    if (mine.defined()) mine.copy_(t, /*non_blocking=*/true);
  });
}

// ---------------------------------------------------------------- CapturableAdam

CapturableAdam::CapturableAdam(torch::optim::Adam& adam, std::vector<torch::Tensor> params)
    : adam_(adam), params_(std::move(params)) {
  CHECK_OR_THROW(core::ConfigError, adam.param_groups().size() == 1,
                 "CUDA graphs: the captured Adam update takes one parameter group, got ",
                 adam.param_groups().size());
  const auto& o = static_cast<const torch::optim::AdamOptions&>(adam.param_groups()[0].options());
  CHECK_OR_THROW(core::ConfigError, !o.amsgrad(),
                 "CUDA graphs: the captured Adam update does not do amsgrad");
}

void CapturableAdam::bind() {
  auto& state = adam_.state();
  for (const torch::Tensor& p : params_) {
    if (!p.grad().defined()) continue;
    void* key = p.unsafeGetTensorImpl();
    auto it = state.find(key);
    if (it == state.end()) {  // as torch::optim::Adam::step() creates it
      auto fresh = std::make_unique<torch::optim::AdamParamState>();
      fresh->step(0);
      fresh->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
      fresh->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
      it = state.emplace(key, std::move(fresh)).first;
    }
    auto* s = static_cast<torch::optim::AdamParamState*>(it->second.get());
    states_.push_back(s);
    with_grad_.push_back(p);
    exp_avgs_.push_back(s->exp_avg());
    exp_avg_sqs_.push_back(s->exp_avg_sq());
    // float32 on the parameter's device, as PyTorch's fused Adam keeps them.
    steps_.push_back(torch::full({}, static_cast<double>(s->step()),
                                 p.options().dtype(torch::kFloat32)));
  }
  bound_ = true;
}

void CapturableAdam::device_step() {
  if (!bound_) bind();
  torch::NoGradGuard no_grad;
  grads_.clear();
  for (const torch::Tensor& p : with_grad_) grads_.push_back(p.grad());
  const auto& o = static_cast<const torch::optim::AdamOptions&>(adam_.param_groups()[0].options());
  at::_foreach_add_(steps_, 1);
  at::_fused_adam_(with_grad_, grads_, exp_avgs_, exp_avg_sqs_, /*max_exp_avg_sqs=*/{}, steps_,
                   o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(),
                   o.eps(), /*amsgrad=*/false, /*maximize=*/false);
}

void CapturableAdam::count_host_step() {
  for (torch::optim::AdamParamState* s : states_) s->step(s->step() + 1);
}

void CapturableAdam::step() {
  device_step();
  count_host_step();
}

// ---------------------------------------------------------------- GraphedStep

struct GraphedStep::Graph {
#if FRACSWEEP_CUDA_GRAPHS
  at::cuda::CUDAGraph graph;
#endif
  LossTerms outputs;  // in the graph's memory: each replay writes them anew
};

#if FRACSWEEP_CUDA_GRAPHS
namespace {

// Records `body` into `graph` on a side stream of `device`, after the device's current work
// (the copy-in, the warm-up) is done. A capture that fails is ended, leaving the stream out
// of capture mode, and its error thrown.
template <typename Body>
void capture_into(at::cuda::CUDAGraph& graph, c10::DeviceIndex device, Body&& body) {
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device);
  c10::cuda::getCurrentCUDAStream(device).synchronize();
  side.synchronize();
  c10::cuda::CUDAStreamGuard guard(side);
  graph.capture_begin();
  try {
    body();
  } catch (...) {
    try {
      graph.capture_end();
    } catch (...) {
      // The capture failed already; its own error is the one that says why.
    }
    throw;
  }
  graph.capture_end();
  side.synchronize();
}

}  // namespace
#endif

GraphedStep::GraphedStep(JobModel& model, torch::optim::Adam& adam,
                         std::vector<torch::Tensor> params, bool update_in_graph,
                         bool allow_fallback, core::Logger& log, std::string job)
    : model_(model),
      params_(params),
      adam_(adam, std::move(params)),
      update_in_graph_(update_in_graph),
      allow_fallback_(allow_fallback),
      log_(log),
      job_(std::move(job)) {}

GraphedStep::~GraphedStep() = default;

LossTerms GraphedStep::eager(const BatchTensors& b, int epoch) {
  zero_gradients(params_);
  LossTerms t = model_.loss(b, epoch);
  t.total.backward();
  return t;
}

LossTerms GraphedStep::forward_backward(const BatchTensors& b, int epoch) {
  updated_ = false;
  if (failed_) return eager(b, epoch);
  if (!batch_) batch_.emplace(b);  // the first batch fixes the captured shape
  if (!batch_->fits(b)) return eager(b, epoch);  // a smaller last batch
  if (warmup_left_ > 0) {  // cuDNN's autotuning and lazy state, outside the capture
    --warmup_left_;
    return eager(b, epoch);
  }
  if (!graph_) {
    try {
      return capture(b, epoch);
    } catch (const std::exception& e) {
      graph_.reset();
      CHECK_OR_THROW(core::ConfigError, allow_fallback_, job_,
                     ": train.cuda_graphs is on, but the step cannot be captured: ",
                     error_message(e), "; set train.cuda_graphs to auto or off");
      log_.warn(job_, ": CUDA graphs: the step cannot be captured (", error_message(e),
                "); its steps run eagerly");
      failed_ = true;
      return eager(b, epoch);
    }
  }
  batch_->copy_in(b);
  return replay();
}

LossTerms GraphedStep::replay() {
#if FRACSWEEP_CUDA_GRAPHS
  graph_->graph.replay();
  ++replays_;
  if (update_in_graph_) {
    adam_.count_host_step();
    updated_ = true;
  }
  return graph_->outputs;
#else
  INTERNAL_ASSERT(false);  // decide_cuda_graphs() never captures in such a build
  return {};
#endif
}

LossTerms GraphedStep::capture(const BatchTensors& b, int epoch) {
  CHECK_OR_THROW(core::ConfigError, b.images.is_cuda(), "CUDA graphs need batches on a GPU, got ",
                 b.images.device().str());
#if FRACSWEEP_CUDA_GRAPHS
  batch_->copy_in(b);
  auto graph = std::make_unique<Graph>();
  capture_into(graph->graph, b.images.device().index(), [&] {
    graph->outputs = eager(batch_->tensors(), epoch);
    if (update_in_graph_) adam_.device_step();
  });
  graph_ = std::move(graph);
  log_.info(job_, ": CUDA graphs: step captured for batches of ", b.images.sizes());
  return replay();  // the capture recorded the step without running it
#else
  (void)b;
  (void)epoch;
  throw core::ConfigError("this build's LibTorch has no CUDA graphs");
#endif
}

void GraphedStep::update() {
  if (updated_) {
    updated_ = false;
    return;
  }
  adam_.step();
}

// ---------------------------------------------------------------- GraphedEval

struct GraphedEval::Graph {
#if FRACSWEEP_CUDA_GRAPHS
  at::cuda::CUDAGraph graph;
#endif
  torch::Tensor output;
};

GraphedEval::GraphedEval(JobModel& model, bool allow_fallback, core::Logger& log, std::string job)
    : model_(model), allow_fallback_(allow_fallback), log_(log), job_(std::move(job)) {}

GraphedEval::~GraphedEval() = default;

torch::Tensor GraphedEval::probabilities(const BatchTensors& b) {
  if (failed_) return model_.probabilities(b);
  if (!batch_) batch_.emplace(b);
  if (!batch_->fits(b)) return model_.probabilities(b);
  if (warmup_left_ > 0) {
    --warmup_left_;
    return model_.probabilities(b);
  }
#if FRACSWEEP_CUDA_GRAPHS
  batch_->copy_in(b);
  if (!graph_ && !b.images.is_cuda()) {  // nothing to capture on another device
    failed_ = true;
    return model_.probabilities(b);
  }
  if (!graph_) {
    auto graph = std::make_unique<Graph>();
    try {
      capture_into(graph->graph, b.images.device().index(),
                   [&] { graph->output = model_.probabilities(batch_->tensors()); });
    } catch (const std::exception& e) {
      CHECK_OR_THROW(core::ConfigError, allow_fallback_, job_,
                     ": train.cuda_graphs is on, but evaluation cannot be captured: ",
                     error_message(e), "; set train.cuda_graphs to auto or off");
      log_.warn(job_, ": CUDA graphs: evaluation cannot be captured (", error_message(e),
                "); it runs eagerly");
      failed_ = true;
      return model_.probabilities(b);
    }
    graph_ = std::move(graph);
  }
  graph_->graph.replay();
  ++replays_;
  return graph_->output;
#else
  failed_ = true;  // decide_cuda_graphs() never captures in such a build
  return model_.probabilities(b);
#endif
}

std::unique_ptr<GraphedEval> make_graphed_eval(const spec::JobConfig& job, JobModel& model,
                                               const torch::Device& device, core::Logger& log) {
  const GraphDecision d = decide_cuda_graphs(job.train.cuda_graphs, device, job.train.precision,
                                             job.model.variant, job.output);
  if (!d.capture) return nullptr;
  return std::make_unique<GraphedEval>(model, job.train.cuda_graphs == "auto", log, job.output);
}

std::unique_ptr<GraphedStep> make_graphed_step(const spec::JobConfig& job, JobModel& model,
                                               torch::optim::Adam& adam,
                                               const torch::Device& device, int group_size,
                                               core::Logger& log) {
  const GraphDecision d = decide_cuda_graphs(job.train.cuda_graphs, device, job.train.precision,
                                             job.model.variant, job.output);
  if (device.is_cuda())
    log.info(job.output, ": ", d.why);
  else
    log.debug(job.output, ": ", d.why);  // nothing to say on every CPU job
  if (!d.capture) return nullptr;
  return std::make_unique<GraphedStep>(model, adam, model.module().parameters(),
                                       /*update_in_graph=*/group_size == 1,
                                       /*allow_fallback=*/job.train.cuda_graphs == "auto", log,
                                       job.output);
}

}  // namespace fracsweep::trainer
