// See aasn.h.
#include "trainer/models/aasn.h"

#include <torch/torch.h>

#include "core/error.h"

namespace fracsweep::trainer {
namespace {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

// AASN fuses inside the transition after dense block 3 (§3.3: "we split at a
// middle level after the 3rd dense block").
constexpr int kSplitBlock = 3;

}  // namespace

AasnSwitches AasnSwitches::of_row(const std::string& row) {
  AasnSwitches s;
  const auto with = [](Fusion f, bool fa, bool cl, bool proj) {
    AasnSwitches out;
    out.fusion = f;
    out.align_features = fa;
    out.contrastive = cl;
    out.projection = proj;
    return out;
  };
  if (row == "vanilla") return with(Fusion::kNone, false, false, false);
  if (row == "ff") return with(Fusion::kConcat, false, false, false);
  if (row == "ff-fa") return with(Fusion::kConcat, true, false, false);
  if (row == "ff-cl") return with(Fusion::kConcat, false, true, true);
  if (row == "ff-fa-cl-noproj") return with(Fusion::kConcat, true, true, false);
  if (row == "aasn") return s;
  if (row == "deepsymnet") return with(Fusion::kSubtract, false, false, false);
  if (row == "cbn") return with(Fusion::kGatedConcat, false, false, false);
  if (row == "liu-distance") {
    s = with(Fusion::kNone, false, true, true);
    s.distance_readout = true;
    return s;
  }
  throw core::ConfigError(core::str_cat("unknown AASN row '", row,
                                        "': vanilla, ff, ff-fa, ff-cl, ff-fa-cl-noproj, aasn, "
                                        "liu-distance, deepsymnet, cbn"));
}

AasnImpl::AasnImpl(const AasnOptions& o) : options_(o) {
  const AasnSwitches& s = o.switches;
  CHECK_OR_THROW(core::ConfigError, !s.contrastive || s.siamese(),
                 "AASN: contrastive learning needs the Siamese twin (FF)");
  CHECK_OR_THROW(core::ConfigError, !s.distance_readout || (s.contrastive && s.fusion == Fusion::kNone),
                 "AASN: a distance read-out is trained by the contrastive loss alone, without fusion");
  CHECK_OR_THROW(core::ConfigError, o.margin > 0 && o.lambda >= 0,
                 "AASN: margin must be > 0 and lambda >= 0");
  DenseNetOptions b = o.backbone;
  b.num_classes = 0;
  if (s.distance_readout) b.blocks = kSplitBlock;  // nothing decodes
  const bool doubled = s.fusion == Fusion::kConcat || s.fusion == Fusion::kGatedConcat;
  backbone_ = register_module("backbone", DenseNet(b, doubled ? kSplitBlock : 0));
  const int64_t c = backbone_->channels_after_block(kSplitBlock);
  if (!s.distance_readout) {
    const int64_t decoded = backbone_->channels_after_block(4);
    head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(decoded, 1, 1)));
  }
  if (s.fusion == Fusion::kGatedConcat)
    gate_ = register_module("gate", nn::Conv2d(nn::Conv2dOptions(2 * c, c, 1)));
  if (s.contrastive && s.projection) {
    project_conv_ = register_module("project_conv", nn::Conv2d(nn::Conv2dOptions(c, c / 2, 1)));
    project_norm_ = register_module("project_norm", nn::BatchNorm2d(c / 2));
  }
}

torch::Tensor AasnImpl::encode(const torch::Tensor& x) {
  const auto in = x.size(1) == 1 && options_.backbone.in_channels == 3 ? x.expand({-1, 3, -1, -1}) : x;
  return backbone_->features_to(kSplitBlock, in);
}

// Transition 3 with the twin's features joined after its ReLU.
torch::Tensor AasnImpl::fuse(const torch::Tensor& f, const torch::Tensor& f_twin) {
  auto& transition = backbone_->transition(kSplitBlock);
  if (options_.switches.fusion == Fusion::kNone) return transition->forward(f);
  const torch::Tensor a = transition->pre(f), b = transition->pre(f_twin);
  switch (options_.switches.fusion) {
    case Fusion::kSubtract:
      return transition->post((a - b).abs());
    case Fusion::kGatedConcat: {
      const torch::Tensor both = torch::cat({a, b}, 1);
      return transition->post(torch::cat({a, torch::sigmoid(gate_(both)) * b}, 1));
    }
    default:
      return transition->post(torch::cat({a, b}, 1));
  }
}

// Dense block 4, norm5, ReLU and the 1x1 conv to heatmap logits at the image's size.
torch::Tensor AasnImpl::decode(const torch::Tensor& fused, const torch::Tensor& image) {
  const torch::Tensor decoded = backbone_->head(backbone_->block(4, fused));
  return F::interpolate(head_(decoded), F::InterpolateFuncOptions()
                                            .size(std::vector<int64_t>{image.size(2), image.size(3)})
                                            .mode(torch::kBilinear)
                                            .align_corners(false));
}

// Liu et al.'s read-out: logit(d / (d + m)) = log(d / m), upsampled to the image.
torch::Tensor AasnImpl::distance_logits(const AasnOutput& out, const torch::Tensor& image) const {
  const auto d2 = (out.embedding - out.embedding_twin).pow(2).sum(1, /*keepdim=*/true);
  const auto logits = 0.5 * torch::log(d2 + 1e-12) - std::log(options_.margin);
  return F::interpolate(logits, F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{image.size(2), image.size(3)})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
}

AasnOutput AasnImpl::forward(const torch::Tensor& image, const torch::Tensor& twin,
                             const torch::Tensor& grid) {
  CHECK_OR_THROW(core::ConfigError, image.dim() == 4 && image.size(2) % 32 == 0 &&
                                        image.size(3) % 32 == 0,
                 "AASN: images must be [B, C, H, W] with H and W multiples of 32, got ",
                 image.sizes());
  const AasnSwitches& s = options_.switches;
  AasnOutput out;
  const torch::Tensor f = encode(image);
  torch::Tensor f_twin;
  if (s.siamese())
    f_twin = s.align_features ? align_to(encode(twin), grid) : encode(align_to(twin, grid));
  if (s.contrastive) {
    const auto g = [&](const torch::Tensor& x) {
      return s.projection ? torch::relu(project_norm_(project_conv_(x))) : x;
    };
    out.embedding = g(f);
    out.embedding_twin = g(f_twin);
  }
  out.logits = s.distance_readout ? distance_logits(out, image) : decode(fuse(f, f_twin), image);
  return out;
}

torch::Tensor resize_grid(const torch::Tensor& grid, int64_t h, int64_t w) {
  CHECK_OR_THROW(core::ConfigError, grid.dim() == 4 && grid.size(3) == 2,
                 "a sampling grid must be [B, h, w, 2], got ", grid.sizes());
  if (grid.size(1) == h && grid.size(2) == w) return grid;
  const auto resized = F::interpolate(grid.permute({0, 3, 1, 2}),
                                      F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{h, w})
                                          .mode(torch::kBilinear)
                                          .align_corners(false));
  return resized.permute({0, 2, 3, 1});
}

torch::Tensor align_to(const torch::Tensor& x, const torch::Tensor& grid) {
  const auto g = resize_grid(grid.to(x.dtype()), x.size(2), x.size(3));
  return F::grid_sample(x, g, F::GridSampleFuncOptions()
                                  .mode(torch::kBilinear)
                                  .padding_mode(torch::kZeros)
                                  .align_corners(false));
}

torch::Tensor heatmap_bce(const torch::Tensor& logits, const torch::Tensor& mask) {
  CHECK_OR_THROW(core::ConfigError, logits.sizes() == mask.sizes(), "heatmap ", logits.sizes(),
                 " and mask ", mask.sizes(), " differ in shape");
  return F::binary_cross_entropy_with_logits(logits, mask.to(logits.dtype()));
}

torch::Tensor contrastive_margin_loss(const torch::Tensor& a, const torch::Tensor& b,
                                      const torch::Tensor& mask_hat, double margin) {
  CHECK_OR_THROW(core::ConfigError, a.sizes() == b.sizes() && a.dim() == 4,
                 "contrastive loss: embeddings ", a.sizes(), " and ", b.sizes(), " differ");
  const auto on = F::adaptive_max_pool2d(mask_hat.to(a.dtype()),
                                         F::AdaptiveMaxPool2dFuncOptions({a.size(2), a.size(3)}));
  const auto d2 = (a - b).pow(2).sum(1, /*keepdim=*/true);
  // sqrt has no gradient at 0; the pull term needs none (d^2 is smooth), the push term
  // only where d > 0.
  const auto d = (d2 + 1e-12).sqrt();
  const auto push = torch::clamp_min(margin - d, 0).pow(2);
  return torch::where(on > 0.5, push, d2).mean();
}

torch::Tensor image_scores(const torch::Tensor& logits) {
  return torch::sigmoid(logits.flatten(1).amax(1));
}

}  // namespace fracsweep::trainer
