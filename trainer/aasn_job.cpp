// See aasn_job.h.
#include "trainer/aasn_job.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "trainer/aasn.h"

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

  LossTerms loss(const BatchTensors& b, int /*epoch*/) override {
    const AasnOutput out = forward(b);
    LossTerms t;
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

// A DenseNet-121 that sees the image alone and learns from its label.
class ImageLabelJobModel final : public JobModel {
 public:
  ImageLabelJobModel(const spec::JobConfig& job, bool lse) : lse_(lse) {
    DenseNetOptions o = DenseNetOptions::densenet121(job.model.width);
    o.in_channels = job.model.in_channels;
    o.num_classes = 0;
    net_ = module_.register_module("backbone", DenseNet(o, 0));
    const int64_t c = net_->channels_after_block(4);
    if (lse_)
      map_ = module_.register_module("map", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, 1, 1)));
    else
      fc_ = module_.register_module("classifier", torch::nn::Linear(c, 1));
    if (!job.model.init_weights.empty()) load_torchvision_weights(*net_, job.model.init_weights);
  }
  torch::nn::Module& module() override { return module_; }
  bool uses_neighbours() const override { return false; }
  bool binary() const override { return true; }

  LossTerms loss(const BatchTensors& b, int /*epoch*/) override {
    const torch::Tensor logit = forward(b);
    LossTerms t;
    t.ce = torch::nn::functional::binary_cross_entropy_with_logits(
        logit, b.labels.to(logit.dtype()));
    t.total = t.ce;
    return t;
  }
  torch::Tensor probabilities(const BatchTensors& b) override {
    return torch::sigmoid(forward(b)).unsqueeze(1);
  }

 private:
  torch::Tensor forward(const BatchTensors& b) {
    torch::Tensor x = b.images.narrow(1, 0, 1);  // the image; its twin is not used
    if (net_->options().in_channels == 3) x = x.expand({-1, 3, -1, -1});
    const torch::Tensor f = net_->head(net_->features_to(4, x));
    if (lse_) return lse_pool(map_(f), kLseSharpness);
    return fc_(torch::adaptive_avg_pool2d(f, {1, 1}).flatten(1)).squeeze(1);
  }

  static constexpr double kLseSharpness = 10;  // ChestX-ray8's r
  bool lse_;
  torch::nn::Module module_;
  DenseNet net_{nullptr};
  torch::nn::Conv2d map_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

torch::Tensor lse_pool(const torch::Tensor& maps, double r) {
  const torch::Tensor x = maps.flatten(1) * r;
  return (torch::logsumexp(x, 1) - std::log(static_cast<double>(x.size(1)))) / r;
}

std::unique_ptr<JobModel> make_aasn_job_model(const spec::JobConfig& job) {
  const std::string& v = job.model.variant;
  if (v == "chexnet" || v == "lse-pooling")
    return std::make_unique<ImageLabelJobModel>(job, v == "lse-pooling");
  CHECK_OR_THROW(core::ConfigError, spec::is_pelvis_variant(v), "'", v, "' is not an AASN row");
  AasnOptions o;
  o.backbone = DenseNetOptions::densenet121(job.model.width);
  o.backbone.in_channels = job.model.in_channels;
  o.switches = AasnSwitches::of_row(v == "aasn" ? "aasn" : v.substr(5));
  o.margin = job.train.aasn_margin;
  o.lambda = job.train.aasn_lambda;
  return std::make_unique<AasnJobModel>(job, o);
}

}  // namespace fracsweep::trainer
