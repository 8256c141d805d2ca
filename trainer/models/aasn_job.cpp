// See aasn_job.h.
#include "trainer/models/aasn_job.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "trainer/models/aasn.h"

namespace fracsweep::trainer {
namespace {

class AasnJobModel final : public JobModel {
 public:
  AasnJobModel(const spec::JobConfig& job, const AasnOptions& options)
      : options_(options), net_(options) {
    if (!job.model.init_weights.empty())
      load_torchvision_weights(*net_->backbone(), job.model.init_weights, "");
  }
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return false; }
  bool binary() const override { return true; }
  std::array<const char*, kLossTerms> term_names() const override {
    // L_b (none for Liu et al.'s distance read-out), L_c (zero for the rows without CL)
    return {options_.switches.distance_readout ? nullptr : "bce", "contrastive", nullptr,
            nullptr, nullptr, "total"};
  }

  LossTerms loss(const BatchTensors& b, int /*epoch*/) override {
    const AasnOutput out = forward(b);
    LossTerms t;
    if (options_.switches.distance_readout) {  // Liu et al.: the learned distance alone
      t.d = contrastive_margin_loss(out.embedding, out.embedding_twin, b.masks_hat,
                                    options_.margin);
      t.total = t.d;
      return t;
    }
    t.ce = heatmap_bce(out.logits, b.masks);  // L_b
    t.total = t.ce;
    if (out.embedding.defined()) {
      t.d = contrastive_margin_loss(out.embedding, out.embedding_twin, b.masks_hat,
                                    options_.margin);  // L_c
      t.total = t.total + options_.lambda * t.d;
    }
    return t;
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    return image_scores(forward(b).logits).unsqueeze(1);
  }

  std::pair<torch::Tensor, torch::Tensor> scores_and_heatmaps(const BatchTensors& b) override {
    const torch::Tensor logits = forward(b).logits;
    return {image_scores(logits).unsqueeze(1), torch::sigmoid(logits).squeeze(1)};
  }

 private:
  AasnOutput forward(const BatchTensors& b) {
    CHECK_OR_THROW(core::ConfigError, b.grids.defined() && b.images.size(1) == 2,
                   "AASN needs pelvis batches (an image, its twin and its warp grid)");
    return net_->forward(b.images.narrow(1, 0, 1), b.images.narrow(1, 1, 1), b.grids);
  }

  AasnOptions options_;
  Aasn net_;
};

// The AasnSwitches row of a variant this file builds, or "" for another variant.
// Table 2's rows are "aasn" and "aasn-<row>"; Table 1's symmetry baselines go by their names.
std::string aasn_row(const std::string& v) {
  if (v == "aasn" || v == "liu-distance" || v == "deepsymnet" || v == "cbn") return v;
  if (v.rfind("aasn-", 0) == 0) return v.substr(5);
  return "";
}

}  // namespace

bool is_aasn_variant(const std::string& variant) { return !aasn_row(variant).empty(); }

std::unique_ptr<JobModel> make_aasn_job_model(const spec::JobConfig& job) {
  const std::string& v = job.model.variant;
  CHECK_OR_THROW(core::ConfigError, is_aasn_variant(v), "'", v, "' is not an AASN row");
  AasnOptions o;
  o.backbone = DenseNetOptions::densenet121(job.model.width);
  o.backbone.in_channels = job.model.in_channels;
  o.switches = AasnSwitches::of_row(aasn_row(v));
  o.margin = job.train.aasn_margin;
  o.lambda = job.train.aasn_lambda;
  return std::make_unique<AasnJobModel>(job, o);
}

}  // namespace fracsweep::trainer
