// AASN, the anatomy-aware Siamese network (AASN §3.3-3.5), and the switches of
// its Table 2 ablations.
//
//   image I ──encoder──▶ F ───────────────┐
//                                          ├─ transition 3: norm, ReLU of each,
//   twin I_f ─encoder─▶ F_f ─grid_sample─▶ F'_f   concatenated, 1x1 conv, pool ─▶
//                                             dense block 4, norm5, ReLU, 1x1 conv ─▶ heatmap
//   CL: g(F), g(F'_f) with g = 1x1 conv + BatchNorm + ReLU, pulled together
//       outside the fractures and pushed m apart on them (eq. 2).
//
// The encoder is a DenseNet-121 (densenet.h) up to dense block 3, shared by
// both branches. Without FA the twin is aligned as an image (grid_sample of
// I_f before encoding, as earlier symmetry methods did); without FF there is
// no twin at all (the vanilla DenseNet). The heatmap's logits come at the
// encoder's stride 32 and are resized bilinearly to the input, where the
// pixel-wise BCE against the mask M is taken.
//
// Table 1's symmetry baselines are other settings of the same network, each
// aligning the twin as an image before encoding (AASN §4.1): DeepSymNet fuses
// by |F - F'_f|, CBN by a gated concatenation, and Liu et al. read the
// distance between the projected features as the heatmap (no decoder).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>

#include "trainer/models/densenet.h"

namespace fracsweep::trainer {

// How the twin's features F'_f join the image's F inside transition 3.
enum class Fusion {
  kNone,         // no twin: the vanilla DenseNet
  kConcat,       // FF: [F, F'_f] after the ReLU; the 1x1 conv's input channels double
  kSubtract,     // DeepSymNet: |F - F'_f| after the ReLU; the transition as it was
  kGatedConcat,  // CBN: [F, s * F'_f], s = sigmoid(1x1 conv of [F, F'_f]) per channel
};

struct AasnSwitches {
  Fusion fusion = Fusion::kConcat;
  bool align_features = true;    // FA: grid_sample on F_f (else on the twin image)
  bool contrastive = true;       // CL: the pixel-wise margin loss
  bool projection = true;        // g before the distance (else the features themselves)
  // Liu et al.: no decoder; the heatmap is the distance d between g(F) and
  // g(F'_f) itself, p = d / (d + m) (so d = m is even odds), trained by L_c alone.
  bool distance_readout = false;

  bool siamese() const { return fusion != Fusion::kNone || distance_readout; }

  // Table 2's rows: "vanilla", "ff", "ff-fa", "ff-cl", "ff-fa-cl-noproj", "aasn";
  // and Table 1's symmetry baselines, which all align the twin as an image:
  // "liu-distance" (learned distance), "deepsymnet" (subtraction), "cbn" (gated concatenation).
  // Throws core::ConfigError naming the known rows.
  static AasnSwitches of_row(const std::string& row);
};

struct AasnOptions {
  DenseNetOptions backbone = DenseNetOptions::densenet121();
  AasnSwitches switches;
  double margin = 0.5;  // m of eq. 2
  double lambda = 0.5;  // weight of L_c in L = L_b + lambda L_c
};

struct AasnOutput {
  torch::Tensor logits;                  // [B, 1, H, W] heatmap logits at the input's size
  torch::Tensor embedding, embedding_twin;  // g(F), g(F'_f) [B, C, h, w]; undefined without CL
};

class AasnImpl : public torch::nn::Module {
 public:
  explicit AasnImpl(const AasnOptions& options);

  // image, twin: [B, C, H, W] with C 1 or the backbone's in_channels (a grey
  // image is repeated to 3 channels); grid: the stored I -> I_f grid [B, h', w', 2]
  // in grid_sample coordinates at any resolution. H and W: multiples of 32.
  AasnOutput forward(const torch::Tensor& image, const torch::Tensor& twin,
                     const torch::Tensor& grid);

  DenseNet& backbone() { return backbone_; }
  const AasnOptions& options() const { return options_; }

 private:
  torch::Tensor encode(const torch::Tensor& x);
  torch::Tensor fuse(const torch::Tensor& f, const torch::Tensor& f_twin);
  torch::Tensor decode(const torch::Tensor& fused, const torch::Tensor& image);
  torch::Tensor distance_logits(const AasnOutput& out, const torch::Tensor& image) const;
  AasnOptions options_;
  DenseNet backbone_{nullptr};
  torch::nn::Conv2d head_{nullptr};
  torch::nn::Conv2d gate_{nullptr};
  torch::nn::Conv2d project_conv_{nullptr};
  torch::nn::BatchNorm2d project_norm_{nullptr};
};
TORCH_MODULE(Aasn);

// `grid` [B, h', w', 2] resized to [B, h, w, 2] as F.interpolate(bilinear,
// align_corners=False) does: how a grid stored at one stride serves any feature map.
torch::Tensor resize_grid(const torch::Tensor& grid, int64_t h, int64_t w);

// grid_sample(x, resize_grid(grid, x's size)), bilinear, zeros outside, align_corners=False.
torch::Tensor align_to(const torch::Tensor& x, const torch::Tensor& grid);

// L_b: pixel-wise binary cross-entropy of the logits against the mask M (0/1), mean.
torch::Tensor heatmap_bce(const torch::Tensor& logits, const torch::Tensor& mask);

// L_c of eq. 2 with d(x) = ||a(x) - b(x)||_2 over channels: d^2 outside M-hat and
// max(0, m - d)^2 on it, averaged over pixels. `mask_hat` [B, 1, H, W] at any
// resolution is max-pooled to the embeddings' (a cell is on a fracture when any
// of its pixels is).
torch::Tensor contrastive_margin_loss(const torch::Tensor& a, const torch::Tensor& b,
                                      const torch::Tensor& mask_hat, double margin);

// The image-level score: the heatmap's maximum, sigmoid(max logit) [B].
torch::Tensor image_scores(const torch::Tensor& logits);

}  // namespace fracsweep::trainer
