// See nts_net.h.
#include "trainer/models/nts_net.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace fracsweep::trainer {
namespace {

namespace F = torch::nn::functional;

// The anchor kinds of one navigator scale: sides relative to the input (the paper's pixel sizes
// over its 448-pixel input) and aspect ratios (height = side / sqrt(r), width = side * sqrt(r)).
struct AnchorScale {
  double base;
  std::vector<double> multipliers;
};

const std::array<AnchorScale, 3>& anchor_scales() {
  static const std::array<AnchorScale, 3> scales = {
      AnchorScale{48.0 / 448, {std::pow(2.0, 1.0 / 3), std::pow(2.0, 2.0 / 3)}},
      AnchorScale{96.0 / 448, {std::pow(2.0, 1.0 / 3), std::pow(2.0, 2.0 / 3)}},
      AnchorScale{192.0 / 448, {1.0, std::pow(2.0, 1.0 / 3), std::pow(2.0, 2.0 / 3)}}};
  return scales;
}
constexpr double kRatios[] = {2.0 / 3, 1.0, 1.5};

int64_t kinds(int scale) {
  return static_cast<int64_t>(anchor_scales()[scale].multipliers.size() * std::size(kRatios));
}

}  // namespace

std::vector<Box> nts_anchors(const std::array<std::array<int64_t, 2>, 3>& maps) {
  std::vector<Box> out;
  for (int s = 0; s < 3; ++s) {
    const auto [h, w] = maps[s];
    for (double m : anchor_scales()[s].multipliers)
      for (double r : kRatios) {
        const double side = anchor_scales()[s].base * m;
        const double bh = side / std::sqrt(r), bw = side * std::sqrt(r);
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            const double cy = (y + 0.5) / h, cx = (x + 0.5) / w;
            out.push_back({static_cast<float>(cy - bh / 2), static_cast<float>(cx - bw / 2),
                           static_cast<float>(cy + bh / 2), static_cast<float>(cx + bw / 2)});
          }
      }
  }
  return out;
}

double box_iou(const Box& a, const Box& b) {
  const double ih = std::max(0.0, static_cast<double>(std::min(a[2], b[2]) - std::max(a[0], b[0])));
  const double iw = std::max(0.0, static_cast<double>(std::min(a[3], b[3]) - std::max(a[1], b[1])));
  const double inter = ih * iw;
  const double area_a = static_cast<double>(a[2] - a[0]) * (a[3] - a[1]);
  const double area_b = static_cast<double>(b[2] - b[0]) * (b[3] - b[1]);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

std::vector<int64_t> nms_top(const std::vector<float>& scores, const std::vector<Box>& boxes,
                             int count, double iou) {
  CHECK_OR_THROW(core::InternalError, scores.size() == boxes.size(), "nms_top: ", scores.size(),
                 " scores for ", boxes.size(), " boxes");
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: equal scores keep anchor order, so the choice never depends on the sort.
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  const size_t want = std::min(static_cast<size_t>(std::max(count, 0)), order.size());
  std::vector<int64_t> kept, skipped;
  for (int64_t i : order) {
    if (kept.size() == want) break;
    bool overlaps = false;
    for (int64_t k : kept) overlaps = overlaps || box_iou(boxes[i], boxes[k]) > iou;
    (overlaps ? skipped : kept).push_back(i);
  }
  // Few anchors (small inputs): the best of the suppressed fill up, best first.
  for (size_t k = 0; kept.size() < want; ++k) kept.push_back(skipped[k]);
  return kept;
}

torch::Tensor crop_parts(const torch::Tensor& images, const std::vector<std::vector<Box>>& boxes,
                         int64_t size) {
  const int64_t b = images.size(0);
  CHECK_OR_THROW(core::InternalError, static_cast<int64_t>(boxes.size()) == b && b > 0,
                 "crop_parts: ", boxes.size(), " box lists for ", b, " images");
  const int64_t m = static_cast<int64_t>(boxes[0].size());
  // affine_grid maps output coordinates in [-1, 1] to input ones: a box [y0, x0, y1, x1] of the
  // unit square is x_in = (x1 - x0) x_out + (x0 + x1 - 1), and likewise for y.
  std::vector<float> theta;
  for (const auto& per_image : boxes) {
    CHECK_OR_THROW(core::InternalError, static_cast<int64_t>(per_image.size()) == m,
                   "crop_parts: images have different numbers of boxes");
    for (const Box& box : per_image)
      theta.insert(theta.end(), {box[3] - box[1], 0.f, box[1] + box[3] - 1.f, 0.f, box[2] - box[0],
                                 box[0] + box[2] - 1.f});
  }
  const torch::Tensor t =
      torch::tensor(theta, images.options().dtype(torch::kFloat32)).view({b * m, 2, 3});
  const torch::Tensor grid =
      F::affine_grid(t, {b * m, images.size(1), size, size}, /*align_corners=*/false);
  return F::grid_sample(images.repeat_interleave(m, 0), grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kZeros)
                            .align_corners(false));
}

NtsNetImpl::NtsNetImpl(const NtsOptions& options)
    : options_(options), backbone_(ResNet18(options.backbone)) {
  CHECK_OR_THROW(core::ConfigError, options.proposals >= 1 && options.parts >= 1 &&
                                        options.parts <= options.proposals,
                 "NTS-Net needs 1 <= parts (", options.parts, ") <= proposals (",
                 options.proposals, ")");
  CHECK_OR_THROW(core::ConfigError, options.part_scale > 0 && options.part_scale <= 1,
                 "NTS-Net: part_scale ", options.part_scale, " must be in (0, 1]");
  register_module("backbone", backbone_);
  const int64_t c = backbone_->out_channels(kResNetStages - 1);
  using torch::nn::Conv2dOptions;
  down1_ = register_module("down1", torch::nn::Conv2d(Conv2dOptions(c, 128, 3).padding(1)));
  down2_ = register_module("down2",
                           torch::nn::Conv2d(Conv2dOptions(128, 128, 3).stride(2).padding(1)));
  down3_ = register_module("down3",
                           torch::nn::Conv2d(Conv2dOptions(128, 128, 3).stride(2).padding(1)));
  tidy1_ = register_module("tidy1", torch::nn::Conv2d(Conv2dOptions(128, kinds(0), 1)));
  tidy2_ = register_module("tidy2", torch::nn::Conv2d(Conv2dOptions(128, kinds(1), 1)));
  tidy3_ = register_module("tidy3", torch::nn::Conv2d(Conv2dOptions(128, kinds(2), 1)));
  fc_ = register_module("fc", torch::nn::Linear(c, 3));
  part_fc_ = register_module("part_fc", torch::nn::Linear(c, 3));
  concat_fc_ = register_module("concat_fc", torch::nn::Linear(c * (options.parts + 1), 3));
}

torch::Tensor NtsNetImpl::pooled(const torch::Tensor& map) const {
  return map.mean({2, 3});
}

NtsOutput NtsNetImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), m = options_.proposals;
  const torch::Tensor map = backbone_->forward(x);
  const torch::Tensor feature = pooled(map);
  NtsOutput out;
  out.raw_logits = fc_(feature);

  const torch::Tensor d1 = torch::relu(down1_(map));
  const torch::Tensor d2 = torch::relu(down2_(d1));
  const torch::Tensor d3 = torch::relu(down3_(d2));
  const torch::Tensor scores = torch::cat(
      {tidy1_(d1).reshape({b, -1}), tidy2_(d2).reshape({b, -1}), tidy3_(d3).reshape({b, -1})}, 1);
  const std::vector<Box> anchors = nts_anchors(
      {{{d1.size(2), d1.size(3)}, {d2.size(2), d2.size(3)}, {d3.size(2), d3.size(3)}}});

  // Which anchors become parts is a discrete choice: no gradient flows through it, only
  // through the chosen anchors' scores (the ranking loss) and the parts' features.
  const torch::Tensor host = scores.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  std::vector<std::vector<Box>> boxes(b);
  std::vector<int64_t> picked;
  for (int64_t i = 0; i < b; ++i) {
    const float* row = host[i].data_ptr<float>();
    const std::vector<int64_t> top =
        nms_top(std::vector<float>(row, row + host.size(1)), anchors, static_cast<int>(m),
                options_.nms_iou);
    for (int64_t a : top) boxes[i].push_back(anchors[a]);
    picked.insert(picked.end(), top.begin(), top.end());
  }
  const torch::Tensor index =
      torch::tensor(picked, torch::TensorOptions().dtype(torch::kInt64)).view({b, m});
  out.part_scores = scores.gather(1, index.to(scores.device()));

  const int64_t side = std::max<int64_t>(
      1, static_cast<int64_t>(std::lround(options_.part_scale * static_cast<double>(x.size(2)))));
  const torch::Tensor parts = crop_parts(x.detach(), boxes, side);
  const torch::Tensor part_features = pooled(backbone_->forward(parts));
  out.part_logits = part_fc_(part_features);
  const torch::Tensor best_parts =
      part_features.view({b, m, -1}).narrow(1, 0, options_.parts).reshape({b, -1});
  out.concat_logits = concat_fc_(torch::cat({best_parts, feature}, 1));
  return out;
}

torch::Tensor nts_rank_loss(const torch::Tensor& scores, const torch::Tensor& part_ce) {
  const torch::Tensor ce = part_ce.detach();
  // [B, i, j]: pairs where proposal j is the less confident one.
  const torch::Tensor worse = (ce.unsqueeze(1) > ce.unsqueeze(2)).to(scores.dtype());
  const torch::Tensor hinge = torch::relu(1 - scores.unsqueeze(2) + scores.unsqueeze(1));
  return (hinge * worse).sum() / std::max<int64_t>(scores.size(0), 1);
}

LossTerms nts_net_terms(const NtsOutput& out, const torch::Tensor& labels, double rank_weight) {
  const int64_t b = labels.size(0), m = out.part_scores.size(1);
  const torch::Tensor part_labels = labels.repeat_interleave(m);
  LossTerms t;
  t.ce = F::cross_entropy(out.raw_logits, labels) + F::cross_entropy(out.concat_logits, labels);
  const torch::Tensor part_ce = F::cross_entropy(
      out.part_logits, part_labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  t.ce2 = part_ce.mean();
  t.d = nts_rank_loss(out.part_scores, part_ce.view({b, m}));
  t.total = t.ce + t.ce2 + rank_weight * t.d;
  return t;
}

namespace {

class NtsJobModel final : public JobModel {
 public:
  explicit NtsJobModel(const spec::JobConfig& job)
      : in_channels_(job.model.in_channels),
        rank_weight_(job.train.nts_rank_weight),
        net_(NtsOptions{ResNetOptions{job.model.in_channels, job.model.width},
                        job.train.nts_proposals, job.train.nts_parts, job.train.nts_part_scale,
                        NtsOptions{}.nms_iou}) {
    if (!job.model.init_weights.empty())
      load_torchvision_weights(net_->backbone(), job.model.init_weights);
  }
  torch::nn::Module& module() override { return *net_; }
  bool uses_neighbours() const override { return false; }

  LossTerms loss(const BatchTensors& b, int) override {
    return nts_net_terms(net_->forward(input(b)), b.labels, rank_weight_);
  }

  torch::Tensor probabilities(const BatchTensors& b) override {
    return torch::softmax(net_->forward(input(b)).concat_logits, 1);
  }

 private:
  torch::Tensor input(const BatchTensors& b) const {
    return model_input(current_view(b.images), in_channels_);
  }

  int in_channels_;
  double rank_weight_;
  NtsNet net_;
};

}  // namespace

std::unique_ptr<JobModel> make_nts_net(const spec::JobConfig& job) {
  return std::make_unique<NtsJobModel>(job);
}

bool is_nts_net_variant(const std::string& variant) { return variant == "nts-net"; }

}  // namespace fracsweep::trainer
