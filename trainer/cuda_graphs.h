// CUDA graphs for a job's training steps (train.cuda_graphs: auto | on | off).
//
// A small model on a GPU is bound by launching kernels, not by arithmetic (BENCHMARKS.md,
// "On one GPU"): a captured step is one launch. GraphedStep captures, once per job, the
// step of a full batch — zeroing the gradients, forward, loss, backward and, in a group of
// one, Adam's update — and replays it for every later full batch; a batch of another shape
// (the epoch's smaller last one) runs eagerly on the same state. In a data-parallel group the
// graph ends after backward: the gradients are averaged (NCCL) after the replay and the
// update runs after that, uncaptured.
//
// The update is CapturableAdam: LibTorch 2.11's C++ torch::optim::Adam has no fused or
// capturable mode (its step counts live on the host and its bias corrections are host
// arithmetic), so the update calls the op PyTorch's `Adam(fused=True, capturable=True)` calls,
// at::_fused_adam_, with the step counts as device tensors advanced on the device. It works
// on the torch::optim::Adam's own state (exp_avg, exp_avg_sq) and keeps its host step counts
// in step, so checkpoints are the same with graphs on and off.
//
// Note [Which steps are captured]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// decide_cuda_graphs() is the one place that decides, from the setting, the device, the
// precision and the model: a capture needs a CUDA device, fp32 (bf16 autocast caches cast
// weights outside the graph's pool), and a model whose step has no host synchronisation, no
// CPU tensor and no shape that depends on the data (capture_blocker() says which do and
// why). `auto` captures where all hold and logs why not where one fails; a capture that
// still fails at run time (an op the table did not know of) falls back to eager steps,
// logged. `on` is refused where one fails: when the job file is read for train.device: cpu
// (spec/), when the job starts otherwise (ConfigError), and at a failed capture.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/optim/adam.h>
#include <torch/types.h>

#include "core/log.h"
#include "trainer/batch_tensors.h"
#include "spec/job_config.h"
#include "trainer/losses.h"

namespace fracsweep::trainer {

class JobModel;

// Why a variant's training step cannot be captured (a host synchronisation, CPU tensors,
// data-dependent shapes, a loss that changes with the epoch), or nullopt where it can.
std::optional<std::string> capture_blocker(const std::string& variant);

struct GraphDecision {
  bool capture = false;
  std::string why;  // what decided it, for the job's log
};

// See Note [Which steps are captured]. `setting` is train.cuda_graphs (auto, on, off;
// validated when the file was read). Throws core::ConfigError for `on` where a capture
// cannot work, naming `where`, the key, the reason and the fix. Pure.
GraphDecision decide_cuda_graphs(const std::string& setting, const torch::Device& device,
                                 const std::string& precision, const std::string& variant,
                                 const std::string& where);

// Device tensors of one batch shape, which a captured step reads: copy_in() refills them in
// place, so the graph sees each new batch at the addresses it was captured with.
class StaticBatch {
 public:
  // Tensors of `like`'s shapes, dtypes and device, holding `like`'s values.
  explicit StaticBatch(const BatchTensors& like);
  // Whether `b` has the same fields defined, with the same shapes and dtypes.
  bool fits(const BatchTensors& b) const;
  // REQUIRES: fits(b). Copies b's values into the static tensors (asynchronously on CUDA).
  void copy_in(const BatchTensors& b);
  const BatchTensors& tensors() const { return static_; }

 private:
  BatchTensors static_;
};

// Adam's update with device-side step counts (at::_fused_adam_), on `adam`'s own state.
// No host synchronisation, so it can be captured. Supports what the jobs use: one parameter
// group, amsgrad off, not maximize. Throws core::ConfigError otherwise.
class CapturableAdam {
 public:
  CapturableAdam(torch::optim::Adam& adam, std::vector<torch::Tensor> params);
  // One update of every parameter that has a gradient. The first call binds the state
  // (creating it as torch::optim::Adam would; a checkpoint's loaded state is kept), and the
  // parameters with gradients then are the ones updated from there on.
  void step();
  // The two halves of step(): the device's work (capturable), and the host's step counts
  // (after each replay of a graph that holds device_step()).
  void device_step();
  void count_host_step();

 private:
  void bind();
  torch::optim::Adam& adam_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> with_grad_, grads_, exp_avgs_, exp_avg_sqs_, steps_;
  std::vector<torch::optim::AdamParamState*> states_;
  bool bound_ = false;
};

// One job's steps with CUDA graphs, on a CUDA device. Not thread-safe.
class GraphedStep {
 public:
  // `update_in_graph`: the update is captured too (a group of one). `params`: the model's.
  GraphedStep(JobModel& model, torch::optim::Adam& adam, std::vector<torch::Tensor> params,
              bool update_in_graph, bool allow_fallback, core::Logger& log, std::string job);
  ~GraphedStep();

  // Forward, loss and backward of `b` (on the device): the first full batches eagerly
  // (warm-up), then captured, then replayed; a batch of another shape eagerly. When the
  // graph holds the update and this step replayed it, the update is done too.
  LossTerms forward_backward(const BatchTensors& b, int epoch);
  // The update, after the group has averaged the gradients; nothing when the replayed
  // graph did it already.
  void update();
  // Whether steps are still captured (false after a fallback).
  bool capturing() const { return !failed_; }
  int replays() const { return replays_; }

 private:
  LossTerms eager(const BatchTensors& b, int epoch);
  LossTerms capture(const BatchTensors& b, int epoch);
  // REQUIRES: graph_. Runs the graph on the static batch; the update's host count after it.
  LossTerms replay();

  struct Graph;  // the CUDA graph and its outputs (cuda_graphs.cpp)
  JobModel& model_;
  std::vector<torch::Tensor> params_;
  CapturableAdam adam_;
  const bool update_in_graph_, allow_fallback_;
  core::Logger& log_;
  const std::string job_;
  std::optional<StaticBatch> batch_;
  std::unique_ptr<Graph> graph_;
  int warmup_left_ = 2;
  bool failed_ = false, updated_ = false;
  int replays_ = 0;
};

// Evaluation forwards with CUDA graphs: probabilities() of a full batch, in eval mode without
// gradients, captured at the second such batch and replayed from then on; another shape
// eagerly. The graph reads the parameters and running statistics where they live, so it
// follows training. The returned tensor is the graph's output: read it before the next call.
// The model must be in eval mode under torch::NoGradGuard when called (predict() does that).
class GraphedEval {
 public:
  GraphedEval(JobModel& model, bool allow_fallback, core::Logger& log, std::string job);
  ~GraphedEval();
  torch::Tensor probabilities(const BatchTensors& b);
  int replays() const { return replays_; }

 private:
  struct Graph;
  JobModel& model_;
  const bool allow_fallback_;
  core::Logger& log_;
  const std::string job_;
  std::optional<StaticBatch> batch_;
  std::unique_ptr<Graph> graph_;
  int warmup_left_ = 1;
  bool failed_ = false;
  int replays_ = 0;
};

// The job's GraphedStep, or nullptr where its steps are not captured (the decision logged).
// Throws core::ConfigError as decide_cuda_graphs().
std::unique_ptr<GraphedStep> make_graphed_step(const spec::JobConfig& job, JobModel& model,
                                               torch::optim::Adam& adam,
                                               const torch::Device& device, int group_size,
                                               core::Logger& log);

// The job's GraphedEval where its steps are captured (the same decision), else nullptr.
std::unique_ptr<GraphedEval> make_graphed_eval(const spec::JobConfig& job, JobModel& model,
                                               const torch::Device& device, core::Logger& log);

}  // namespace fracsweep::trainer
