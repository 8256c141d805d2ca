// See aasn.h.
#include "trainer/aasn.h"

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
  if (row == "vanilla") return {false, false, false, false};
  if (row == "ff") return {true, false, false, false};
  if (row == "ff-fa") return {true, true, false, false};
  if (row == "ff-cl") return {true, false, true, true};
  if (row == "ff-fa-cl-noproj") return {true, true, true, false};
  if (row == "aasn") return s;
  throw core::ConfigError(core::str_cat("unknown AASN row '", row,
                                        "': vanilla, ff, ff-fa, ff-cl, ff-fa-cl-noproj, aasn"));
}

AasnImpl::AasnImpl(const AasnOptions& o) : options_(o) {
  const AasnSwitches& s = o.switches;
  CHECK_OR_THROW(core::ConfigError, !s.contrastive || s.siamese,
                 "AASN: contrastive learning needs the Siamese twin (FF)");
  CHECK_OR_THROW(core::ConfigError, o.margin > 0 && o.lambda >= 0,
                 "AASN: margin must be > 0 and lambda >= 0");
  DenseNetOptions b = o.backbone;
  b.num_classes = 0;
  backbone_ = register_module("backbone", DenseNet(b, s.siamese ? kSplitBlock : 0));
  const int64_t decoded = backbone_->channels_after_block(4);
  head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(decoded, 1, 1)));
  if (s.contrastive && s.projection) {
    const int64_t c = backbone_->channels_after_block(kSplitBlock);
    project_conv_ = register_module("project_conv", nn::Conv2d(nn::Conv2dOptions(c, c / 2, 1)));
    project_norm_ = register_module("project_norm", nn::BatchNorm2d(c / 2));
  }
}

torch::Tensor AasnImpl::encode(const torch::Tensor& x) {
  const auto in = x.size(1) == 1 && options_.backbone.in_channels == 3 ? x.expand({-1, 3, -1, -1}) : x;
  return backbone_->features_to(kSplitBlock, in);
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
  auto& transition = backbone_->transition(kSplitBlock);
  torch::Tensor fused;
  if (!s.siamese) {
    fused = transition->forward(f);
  } else {
    const torch::Tensor f_twin =
        s.align_features ? align_to(encode(twin), grid) : encode(align_to(twin, grid));
    fused = transition->post(torch::cat({transition->pre(f), transition->pre(f_twin)}, 1));
    if (s.contrastive) {
      const auto g = [&](const torch::Tensor& x) {
        return s.projection ? torch::relu(project_norm_(project_conv_(x))) : x;
      };
      out.embedding = g(f);
      out.embedding_twin = g(f_twin);
    }
  }
  const torch::Tensor decoded = backbone_->head(backbone_->block(4, fused));
  out.logits = F::interpolate(head_(decoded), F::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{image.size(2), image.size(3)})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
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
