// What the training loop needs from a model, whatever the variant, and the
// factory from the job's `model.variant` to a model with its loss: each file of
// trainer/models/ says which variants it builds (what each variant is, its task,
// inputs and defaults, is spec/variants.h's data).
//
// A TSCCN ablation is a set of switches on one TSCCN model (models/tsccn.h); a
// baseline is a ResNet-18 classifier with its own loss, re-weighting or
// sampling (§IV-C, models/resnet_baselines.h). The loop never branches on the
// variant: it asks the model for the loss terms of a batch and for class
// probabilities.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "trainer/batch_tensors.h"
#include "spec/job_config.h"
#include "trainer/losses.h"

namespace fracsweep::trainer {

class JobModel {
 public:
  virtual ~JobModel() = default;
  virtual torch::nn::Module& module() = 0;
  // Moves the parameters and buffers, and any tensor the model keeps beside
  // them (class weights, margins), to `device`. Every tensor loss() and
  // probabilities() make follows the device of the batch they are given.
  virtual void to(const torch::Device& device) { module().to(device); }
  // Whether batches must carry the previous and next vertebra.
  virtual bool uses_neighbours() const = 0;
  // The loss terms of one training batch (terms a variant lacks are zero);
  // `epoch` drives schedules such as DRW.
  virtual LossTerms loss(const BatchTensors& batch, int epoch) = 0;
  // For evaluation: three-class probabilities [B, 3] (vertebra models), or the
  // image-level fracture score [B, 1] (binary models).
  virtual torch::Tensor probabilities(const BatchTensors& batch) = 0;
  // Whether probabilities() gives one score per image (binary) or three classes.
  virtual bool binary() const { return false; }
  // The log's name of each LossTerms slot (ce, d, ce2, triplet, w, total);
  // nullptr for a slot the model never fills, which the log leaves out.
  virtual std::array<const char*, kLossTerms> term_names() const {
    return {"ce", "d", "ce2", "triplet", "w", "total"};
  }
  // Heatmap models: probabilities() and the heatmaps [B, H, W] (fracture
  // probability per pixel) of one forward pass; others return {}.
  virtual std::pair<torch::Tensor, torch::Tensor> scores_and_heatmaps(const BatchTensors&) {
    return {};
  }
};

// The sampler the paper used for a variant (Table I caption, §IV-B, §IV-C, AASN
// §4.1): "oversample" or "shuffle", as the variant registry (spec/variants.h)
// gives it. Throws core::ConfigError for a variant the registry lacks.
std::string paper_sampler(const std::string& variant);

// Whether make_job_model builds `variant` (one of trainer/models/).
bool can_build(const std::string& variant);

// Builds the job's model. class_counts are the training samples per class
// (for re-weighting and margins). The caller seeds torch first.
// Throws core::ConfigError for a variant this build cannot train.
std::unique_ptr<JobModel> make_job_model(const spec::JobConfig& job,
                                         const std::array<int64_t, 3>& class_counts);

}  // namespace fracsweep::trainer
