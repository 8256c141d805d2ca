// TSCCN, the Two-Stream Compare and Contrast Network for vertebral compression fractures, as
// one model whose switches cover every row of the paper's ablation (Table III).
//
// The recognition stream tells normal vertebrae from fractures by comparing the current
// vertebra with its neighbours (the compare network: three branches f_l, f_c, f_n whose
// outputs are added pixel-wise, eq. 1, then the rest of a ResNet-18, M, and a discriminator
// on branch features). The classification stream, its own ResNet-18 on the current vertebra,
// tells benign from malignant (binary head and a triplet embedding, eq. 3). A weight control
// module (eq. 4) scales the two pooled features before the three-class head. Losses live in
// trainer/losses.h; this file only computes outputs.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "trainer/models/resnet.h"

namespace fracsweep::trainer {

struct TsccnOptions {
  // Every ResNet-18 in the model (streams and branches) uses these.
  ResNetOptions backbone;
  // 2: recognition and classification streams (Fig. 3, Fig. 8(b)). 1: one encoder feeding
  // both the three-class head and the binary head + embedding (Fig. 8(a)).
  int streams = 2;
  // Whether the loss adds the triplet term on the embedding. The model computes the
  // embedding either way; the flag lives here so that a variant is one struct.
  bool triplet = true;
  // The recognition stream (the encoder with streams == 1) sees previous, current and next
  // vertebra through three branches; when false it sees only the current one.
  bool compare_network = true;
  // Discriminator on (f_c(x_c), f_l(x_l)) and (f_c(x_c), f_n(x_n)), eq. 2. Needs
  // compare_network, since it compares branch features.
  bool discriminator = true;
  // Weight control module (eq. 4) between the streams. Needs streams == 2.
  bool weight_control = true;
  // The branches are ResNet stages [0, split_stage), M is [split_stage, 5); valid 1..5.
  // The paper does not say where it splits. 2 (after layer1) is our default: features there
  // are still local shape and intensity, which is what a comparison of adjacent vertebrae
  // needs (height loss, signal change), while layers 2..4 have depth and receptive field
  // left to reason about the fused difference.
  int split_stage = 2;
  // One set of branch weights for f_l, f_c and f_n instead of three. The paper only says
  // "the three branches have the same network structure". Sharing is our default: a
  // vertebra is the same kind of object in all three positions, and each branch weight then
  // learns from three times as many vertebrae. false adds two copies of stages
  // [0, split_stage).
  bool share_branches = true;
  // Size of the classification stream's embedding used by the triplet loss.
  int embedding_dim = 128;
};

// Throws core::ConfigError, saying which field to change, for a combination the model cannot
// build: streams not 1 or 2, split_stage outside [1, 5], embedding_dim < 1, discriminator
// without compare_network, weight_control with one stream, or a bad backbone.
void validate(const TsccnOptions& options);

// The rows of Table III, in its order: "single-stream", "single-stream+triplet",
// "two-stream", "two-stream+triplet", "two-stream+triplet+compare" (the compare network
// includes its discriminator) and "tsccn" (everything on).
std::vector<std::string> tsccn_variant_names();
// The options of a named variant, with all other fields at their defaults. Throws
// core::ConfigError listing the valid names for an unknown one.
TsccnOptions tsccn_variant(std::string_view name);

// What forward() fills in. logits, binary_logits and embedding are always defined.
struct TsccnOutput {
  torch::Tensor logits;         // [B, 3]: normal, benign, malignant
  torch::Tensor binary_logits;  // [B, 2]: benign, malignant (classification stream, eq. 3)
  torch::Tensor embedding;      // [B, embedding_dim]: classification stream, for the triplet
  torch::Tensor disc_prev;      // [B, 2]: D(f_c(x_c), f_l(x_l)); undefined without discriminator
  torch::Tensor disc_next;      // [B, 2]: D(f_c(x_c), f_n(x_n)); undefined without discriminator
  torch::Tensor weights;        // [B, 2]: (w_R, w_C) in (0, 1); undefined without weight control
};

// Which TsccnOutput fields a configuration defines, so that losses and tests agree with the
// model.
struct TsccnOutputFields {
  bool logits = true;
  bool binary_logits = true;
  bool embedding = true;
  bool disc = false;  // disc_prev and disc_next
  bool weights = false;
  bool operator==(const TsccnOutputFields&) const = default;
};
TsccnOutputFields tsccn_output_fields(const TsccnOptions& options);

// Submodules, and so parameter names: with two streams "recognition" (f_c and M) and
// "classification", each a torchvision-named ResNet-18; with one stream "encoder" instead of
// both. With share_branches == false also "branch_prev" and "branch_next" (f_l, f_n: stages
// [0, split_stage) only). Heads: "head" (three classes), "binary_head", "embedding",
// "discriminator", "weight_control". A module exists only if the configuration uses it, so
// every parameter receives a gradient.
//
// Construction initialises from the global generator (callers seed with
// torch::manual_seed) and throws like validate().
class TsccnImpl : public torch::nn::Module {
 public:
  explicit TsccnImpl(const TsccnOptions& options);

  // images: float [B, 3, H, W] with views previous, current, next, one grayscale image each
  // (see BatchTensors); without the compare network [B, 1, H, W], the current view only, is
  // accepted too. has_prev, has_next: bool [B], or undefined tensors. The model itself does
  // not need them: where a neighbour is missing, the batch already holds a copy of the
  // current patch in its place, which the comparison reads as "same as here"; whether such a
  // pair counts in the discriminator loss is for the loss code to decide from these flags.
  // They are checked here so that a misassembled batch fails early. Throws
  // core::ConfigError on a shape or dtype mismatch.
  TsccnOutput forward(const torch::Tensor& images, const torch::Tensor& has_prev,
                      const torch::Tensor& has_next);

  // Loads torchvision weights (see load_torchvision_weights) into every ResNet-18 of the
  // model: streams, encoder and unshared branches.
  void load_backbone_weights(const std::string& torchscript_path,
                             const std::string& prefix_in_file = "");

  const TsccnOptions& options() const { return options_; }

 private:
  // The recognition stream (or the single encoder) on the three views: features after M.
  torch::Tensor recognize(const torch::Tensor& prev, const torch::Tensor& current,
                          const torch::Tensor& next, TsccnOutput& out);
  // One view as the backbone's input: [B, in_channels, H, W].
  torch::Tensor view(const torch::Tensor& images, int64_t index) const;

  TsccnOptions options_;
  ResNet18 recognition_{nullptr};  // "recognition", or "encoder" with one stream
  ResNet18 classification_{nullptr};
  ResNet18 branch_prev_{nullptr};
  ResNet18 branch_next_{nullptr};
  torch::nn::Sequential discriminator_{nullptr};
  torch::nn::Sequential weight_control_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Linear binary_head_{nullptr};
  torch::nn::Linear embedding_{nullptr};
};
TORCH_MODULE(Tsccn);

}  // namespace fracsweep::trainer
