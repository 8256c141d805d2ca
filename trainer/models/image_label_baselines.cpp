// See image_label_baselines.h.
#include "trainer/models/image_label_baselines.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "trainer/models/densenet.h"

namespace fracsweep::trainer {
namespace {

namespace F = torch::nn::functional;
constexpr double kLseSharpness = 10;  // ChestX-ray8's r

// A DenseNet-121 (width and input channels of the job) without a classifier.
// (Module names must not be Python keywords such as "global": checkpoints are TorchScript.)
DenseNet make_densenet(torch::nn::Module& owner, const std::string& name,
                       const spec::JobConfig& job) {
  DenseNetOptions o = DenseNetOptions::densenet121(job.model.width);
  o.in_channels = job.model.in_channels;
  o.num_classes = 0;
  DenseNet net = owner.register_module(name, DenseNet(o, 0));
  if (!job.model.init_weights.empty()) load_torchvision_weights(*net, job.model.init_weights);
  return net;
}

// The image of a pelvis batch (its twin is not used), as the backbone takes it.
torch::Tensor image_of(const BatchTensors& b, const DenseNet& net) {
  torch::Tensor x = b.images.narrow(1, 0, 1);
  return net->options().in_channels == 3 ? x.expand({-1, 3, -1, -1}) : x;
}

torch::Tensor image_bce(const torch::Tensor& logit, const BatchTensors& b) {
  return F::binary_cross_entropy_with_logits(logit, b.labels.to(logit.dtype()));
}

// chexnet and lse-pooling: one DenseNet, one logit per image.
class ImageLabelJobModel final : public JobModel {
 public:
  ImageLabelJobModel(const spec::JobConfig& job, bool lse) : lse_(lse) {
    net_ = make_densenet(module_, "backbone", job);
    const int64_t c = net_->channels_after_block(4);
    if (lse_)
      map_ = module_.register_module("map", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, 1, 1)));
    else
      fc_ = module_.register_module("classifier", torch::nn::Linear(c, 1));
  }
  torch::nn::Module& module() override { return module_; }
  bool uses_neighbours() const override { return false; }
  bool binary() const override { return true; }
  std::array<const char*, kLossTerms> term_names() const override {
    return {"bce", nullptr, nullptr, nullptr, nullptr, "total"};
  }
  LossTerms loss(const BatchTensors& b, int /*epoch*/) override {
    LossTerms t;
    t.ce = image_bce(forward(b), b);
    t.total = t.ce;
    return t;
  }
  torch::Tensor probabilities(const BatchTensors& b) override {
    return torch::sigmoid(forward(b)).unsqueeze(1);
  }

 private:
  torch::Tensor forward(const BatchTensors& b) {
    const torch::Tensor f = net_->head(net_->features_to(4, image_of(b, net_)));
    if (lse_) return lse_pool(map_(f), kLseSharpness);
    return fc_(torch::adaptive_avg_pool2d(f, {1, 1}).flatten(1)).squeeze(1);
  }

  bool lse_;
  torch::nn::Module module_;
  DenseNet net_{nullptr};
  torch::nn::Conv2d map_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

// two-stage: an LSE-pooled DenseNet finds the window, a second one judges it.
class TwoStageJobModel final : public JobModel {
 public:
  explicit TwoStageJobModel(const spec::JobConfig& job) {
    global_ = make_densenet(module_, "stage1", job);
    local_ = make_densenet(module_, "stage2", job);
    map_ = module_.register_module(
        "map", torch::nn::Conv2d(torch::nn::Conv2dOptions(global_->channels_after_block(4), 1, 1)));
    fc_ = module_.register_module("classifier",
                                  torch::nn::Linear(local_->channels_after_block(4), 1));
  }
  torch::nn::Module& module() override { return module_; }
  bool uses_neighbours() const override { return false; }
  bool binary() const override { return true; }
  std::array<const char*, kLossTerms> term_names() const override {
    return {"stage1", nullptr, "stage2", nullptr, nullptr, "total"};
  }
  LossTerms loss(const BatchTensors& b, int /*epoch*/) override {
    const auto [first, second] = forward(b);
    LossTerms t;
    t.ce = image_bce(first, b);
    t.ce2 = image_bce(second, b);
    t.total = t.ce + t.ce2;
    return t;
  }
  torch::Tensor probabilities(const BatchTensors& b) override {
    const auto [first, second] = forward(b);
    return ((torch::sigmoid(first) + torch::sigmoid(second)) / 2).unsqueeze(1);
  }

 private:
  std::pair<torch::Tensor, torch::Tensor> forward(const BatchTensors& b) {
    const torch::Tensor x = image_of(b, global_);
    const torch::Tensor maps = map_(global_->head(global_->features_to(4, x)));
    const torch::Tensor window = crop_at_peak(x, maps.detach());
    const torch::Tensor f = local_->head(local_->features_to(4, window));
    const torch::Tensor second = fc_(torch::adaptive_avg_pool2d(f, {1, 1}).flatten(1)).squeeze(1);
    return {lse_pool(maps, kLseSharpness), second};
  }

  torch::nn::Module module_;
  DenseNet global_{nullptr}, local_{nullptr};
  torch::nn::Conv2d map_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

bool is_image_label_variant(const std::string& v) {
  return v == "chexnet" || v == "lse-pooling" || v == "two-stage";
}

std::unique_ptr<JobModel> make_image_label_job_model(const spec::JobConfig& job) {
  const std::string& v = job.model.variant;
  CHECK_OR_THROW(core::ConfigError, is_image_label_variant(v), "'", v,
                 "' is not an image-label baseline (chexnet, lse-pooling, two-stage)");
  if (v == "two-stage") return std::make_unique<TwoStageJobModel>(job);
  return std::make_unique<ImageLabelJobModel>(job, v == "lse-pooling");
}

torch::Tensor lse_pool(const torch::Tensor& maps, double r) {
  const torch::Tensor x = maps.flatten(1) * r;
  return (torch::logsumexp(x, 1) - std::log(static_cast<double>(x.size(1)))) / r;
}

torch::Tensor crop_at_peak(const torch::Tensor& images, const torch::Tensor& maps) {
  CHECK_OR_THROW(core::ConfigError, images.dim() == 4 && maps.dim() == 4 &&
                                        maps.size(0) == images.size(0) && maps.size(1) == 1,
                 "crop_at_peak: images [B, C, H, W] and maps [B, 1, h, w], got ", images.sizes(),
                 " and ", maps.sizes());
  const int64_t h = maps.size(2), w = maps.size(3);
  const torch::Tensor peak = maps.flatten(1).argmax(1);
  const auto opts = images.options();
  // The peak cell's centre in grid_sample's [-1, 1] coordinates; a half-size
  // window's centre stays within [-0.5, 0.5] so that it never leaves the image.
  const torch::Tensor cy =
      ((2 * torch::floor_divide(peak, w) + 1).to(opts.dtype()) / h - 1).clamp(-0.5, 0.5);
  const torch::Tensor cx =
      ((2 * torch::remainder(peak, w) + 1).to(opts.dtype()) / w - 1).clamp(-0.5, 0.5);
  const torch::Tensor zero = torch::zeros_like(cx), half = torch::full_like(cx, 0.5);
  const torch::Tensor theta =
      torch::stack({torch::stack({half, zero, cx}, 1), torch::stack({zero, half, cy}, 1)}, 1);
  const std::vector<int64_t> size = {images.size(0), images.size(1), images.size(2) / 2,
                                     images.size(3) / 2};
  const torch::Tensor grid = F::affine_grid(theta, size, /*align_corners=*/false);
  return F::grid_sample(images, grid, F::GridSampleFuncOptions()
                                          .mode(torch::kBilinear)
                                          .padding_mode(torch::kBorder)
                                          .align_corners(false));
}

}  // namespace fracsweep::trainer
