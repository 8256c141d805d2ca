// A model exported from PyTorch and compiled by AOTInductor (`fracsweep export`;
// spec/exported.h describes the package), trained as a built-in model is.
//
// The package's "train" model runs forward, loss and backward as one graph and returns
// the loss, the output and every parameter's gradient; it updates BatchNorm's running
// statistics in place. Its "eval" model is the forward in eval mode. Both read the
// parameters and buffers as AOTInductor constants that this side owns: the tensors of an
// ordinary torch::nn::Module, bound once as user-managed constants (no copy per step), so
// the optimiser, checkpoints, the device move and the group's gradient all-reduce see
// them as any model's. The loss the job backpropagates is the package's loss with those
// gradients attached (loss.backward() puts them into the parameters' .grad).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "spec/exported.h"
#include "trainer/job_model.h"

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace fracsweep::trainer {

class ExportedModel {
 public:
  // Loads the package's two models and its initial weights. Throws core::ConfigError,
  // one line naming the package, when it is not a package this build can run on
  // `device` ("cpu", "cuda"; "" for the package's own): another LibTorch version,
  // another device, no package.
  ExportedModel(const std::string& package, const std::string& device);
  ~ExportedModel();
  ExportedModel(const ExportedModel&) = delete;
  ExportedModel& operator=(const ExportedModel&) = delete;

  const spec::ExportedManifest& manifest() const { return manifest_; }
  // The parameters and buffers, under the names of the PyTorch module.
  torch::nn::Module& module() { return *module_; }
  // Moves the parameters and buffers to `device` (the package's device).
  void to(const torch::Device& device);
  // Pretrained weights: copies a PyTorch state dict saved as a plain dict
  // (`torch.save(dict(model.state_dict()), PATH)`) into the parameters and buffers by name. Throws core::ConfigError naming `path` and the
  // first name that one side lacks or whose shape differs.
  void load_state_dict(const std::string& path);

  struct StepResult {
    torch::Tensor loss;    // scalar, carrying the gradients to the parameters on backward()
    torch::Tensor output;  // the training forward's output (no gradient)
  };
  // One training step on (input, target); the parameters' gradients arrive on
  // result.loss.backward(). BatchNorm's running statistics are updated now.
  StepResult train_step(const torch::Tensor& input, const torch::Tensor& target);
  // The evaluation forward (eval mode; no gradient). Thread-safe: inference streams call
  // it at once, each on a model instance of its own.
  torch::Tensor forward(const torch::Tensor& input);

 private:
  void bind();  // hands the module's tensors to both models as their constants

  spec::ExportedManifest manifest_;
  std::shared_ptr<torch::nn::Module> module_;
  std::vector<std::pair<std::string, torch::Tensor>> named_;  // "m." + name -> tensor
  std::vector<torch::Tensor> params_;  // in the manifest's gradient order
  std::vector<torch::Tensor> counters_;  // BatchNorm's num_batches_tracked
  std::vector<void*> bound_;           // the data pointers bind() handed over
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> train_, eval_;
  // forward() may be called from several threads: the check of the binding and the first
  // run after it go one at a time.
  std::mutex forward_mutex_;
  bool eval_folded_ = false;
};

// The job model of a job whose model.package names an exported package.
std::unique_ptr<JobModel> make_exported_job_model(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
