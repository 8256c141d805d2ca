// NTS-Net (Yang et al., "Learning to Navigate for Fine-grained Classification", ECCV 2018),
// the last competing method of TSCCN's Table I, on the ResNet-18 backbone of the others.
//
// Navigator: three convolutions on the backbone's last feature map (3x3 stride 1, then two
// 3x3 stride 2, each 128 channels and ReLU) score anchors at three scales (nts_anchors). The
// M best after greedy non-maximum suppression are cropped from the image, resized to a part
// image (crop_parts) and classified by the same backbone with its own head (the Teacher).
// Scrutinizer: the image's pooled feature concatenated with the K best parts' features, then a
// linear layer: its softmax is the prediction. The anchors and part sizes are relative to the
// input, so the model works on 64x64 patches as on the paper's 448x448 images (base anchor
// sides 48, 96 and 192 pixels of 448; parts half the input's side).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include "trainer/job_model.h"
#include "trainer/losses.h"
#include "trainer/models/resnet.h"

namespace fracsweep::trainer {

struct NtsOptions {
  ResNetOptions backbone;
  int proposals = 6;         // M: parts the Teacher sees (the paper's PROPOSAL_NUM)
  int parts = 4;             // K <= M: parts the Scrutinizer concatenates (CAT_NUM)
  double part_scale = 0.5;   // part image side / input side (224 of 448)
  double nms_iou = 0.25;     // proposals overlapping a better one by more are skipped
};

// A box in coordinates relative to the image: [y0, x0, y1, x1], y down, x right, in [0, 1]
// for a box inside it (anchors near the border reach beyond; crops pad with zeros).
using Box = std::array<float, 4>;

// The anchors of the three navigator maps of sizes maps[s] = {h, w}, in the order the
// navigator's scores are flattened: scale by scale, then anchor kind, row, column. Kinds per
// scale: base side 48/448, 96/448 (times 2^(1/3) and 2^(2/3)) and 192/448 (times 1, 2^(1/3),
// 2^(2/3)), each with aspect ratios 2/3, 1 and 3/2: 6 + 6 + 9 kinds.
std::vector<Box> nts_anchors(const std::array<std::array<int64_t, 2>, 3>& maps);

// Intersection over union of two boxes.
double box_iou(const Box& a, const Box& b);

// Greedy non-maximum suppression: indices of the `count` best-scoring boxes, skipping a box
// whose IoU with one already kept exceeds `iou`; if fewer than `count` survive, the best of the
// skipped ones fill up, so there are always min(count, boxes) indices, best first.
std::vector<int64_t> nms_top(const std::vector<float>& scores, const std::vector<Box>& boxes,
                             int count, double iou);

// Crops boxes[b][m] out of images[b] ([B, C, H, W]) and resizes each to size x size with
// bilinear sampling (zeros outside the image): [B * M, C, size, size], image-major.
torch::Tensor crop_parts(const torch::Tensor& images, const std::vector<std::vector<Box>>& boxes,
                         int64_t size);

struct NtsOutput {
  torch::Tensor raw_logits;     // [B, 3], the whole image
  torch::Tensor concat_logits;  // [B, 3], the Scrutinizer: the prediction
  torch::Tensor part_logits;    // [B * M, 3], the Teacher on each proposal
  torch::Tensor part_scores;    // [B, M], the Navigator's informativeness of each proposal
};

class NtsNetImpl : public torch::nn::Module {
 public:
  explicit NtsNetImpl(const NtsOptions& options);
  NtsOutput forward(const torch::Tensor& x);
  ResNet18Impl& backbone() { return *backbone_; }
  const NtsOptions& options() const { return options_; }

 private:
  torch::Tensor pooled(const torch::Tensor& map) const;

  NtsOptions options_;
  ResNet18 backbone_;
  torch::nn::Conv2d down1_{nullptr}, down2_{nullptr}, down3_{nullptr};
  torch::nn::Conv2d tidy1_{nullptr}, tidy2_{nullptr}, tidy3_{nullptr};
  torch::nn::Linear fc_{nullptr}, part_fc_{nullptr}, concat_fc_{nullptr};
};
TORCH_MODULE(NtsNet);

// The ranking loss of the Navigator: a proposal the Teacher is more confident in (lower
// cross-entropy) must score higher, by a hinge of margin 1:
//   (1/B) sum_b sum_{i,j: ce_bj > ce_bi} max(0, 1 - s_bi + s_bj).
// scores and part_ce are [B, M]; part_ce carries no gradient.
torch::Tensor nts_rank_loss(const torch::Tensor& scores, const torch::Tensor& part_ce);

// ce = CE(raw) + CE(concat); ce2 = the Teacher's CE over every proposal with its image's
// label; d = nts_rank_loss; total = ce + ce2 + rank_weight * d (the paper's weights: 1).
LossTerms nts_net_terms(const NtsOutput& out, const torch::Tensor& labels, double rank_weight);

// The job model of variant "nts-net": train.nts_* set M, K, the part scale and the rank
// weight; the prediction is the Scrutinizer's softmax. Over-sampled (Table I's caption).
std::unique_ptr<JobModel> make_nts_net(const spec::JobConfig& job);
// Whether make_nts_net builds `variant`.
bool is_nts_net_variant(const std::string& variant);

}  // namespace fracsweep::trainer
