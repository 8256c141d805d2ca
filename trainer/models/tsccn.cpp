// See tsccn.h.
#include "trainer/models/tsccn.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>

#include "core/error.h"

namespace fracsweep::trainer {
namespace {

namespace nn = torch::nn;

constexpr int64_t kClasses = 3;  // normal, benign, malignant

struct Variant {
  const char* name;
  int streams;
  bool triplet;
  bool compare_network;  // with its discriminator, as in the paper's Fig. 3(b)
  bool weight_control;
};

// Table III, top to bottom.
constexpr std::array<Variant, 6> kVariants{{
    {"single-stream", 1, false, false, false},
    {"single-stream+triplet", 1, true, false, false},
    {"two-stream", 2, false, false, false},
    {"two-stream+triplet", 2, true, false, false},
    {"two-stream+triplet+compare", 2, true, true, false},
    {"tsccn", 2, true, true, true},
}};

torch::Tensor global_average_pool(const torch::Tensor& x) { return x.mean({2, 3}); }

void check_flags(const torch::Tensor& flags, const char* name, int64_t batch) {
  if (!flags.defined()) return;
  CHECK_OR_THROW(core::ConfigError,
                 flags.dim() == 1 && flags.size(0) == batch && flags.scalar_type() == torch::kBool,
                 "TSCCN: ", name, " must be bool [", batch, "], got ", flags.scalar_type(), " ",
                 flags.sizes());
}

}  // namespace

void validate(const TsccnOptions& o) {
  CHECK_OR_THROW(core::ConfigError, o.streams == 1 || o.streams == 2,
                 "TSCCN: streams must be 1 or 2, got ", o.streams);
  CHECK_OR_THROW(core::ConfigError, o.split_stage >= 1 && o.split_stage <= kResNetStages,
                 "TSCCN: split_stage must be in [1, ", kResNetStages,
                 "] (branches are ResNet stages [0, split_stage)), got ", o.split_stage);
  CHECK_OR_THROW(core::ConfigError, o.embedding_dim >= 1,
                 "TSCCN: embedding_dim must be at least 1, got ", o.embedding_dim);
  CHECK_OR_THROW(core::ConfigError, !o.discriminator || o.compare_network,
                 "TSCCN: discriminator = true needs compare_network = true (it compares the "
                 "branches' features); set discriminator = false");
  CHECK_OR_THROW(core::ConfigError, !o.weight_control || o.streams == 2,
                 "TSCCN: weight_control = true weighs two streams but streams = ", o.streams,
                 "; set weight_control = false or streams = 2");
  CHECK_OR_THROW(core::ConfigError, o.backbone.in_channels == 1 || o.backbone.in_channels == 3,
                 "TSCCN: backbone.in_channels must be 1 or 3, got ", o.backbone.in_channels);
  CHECK_OR_THROW(core::ConfigError, o.backbone.width >= 1,
                 "TSCCN: backbone.width must be at least 1, got ", o.backbone.width);
}

std::vector<std::string> tsccn_variant_names() {
  std::vector<std::string> names;
  for (const Variant& v : kVariants) names.emplace_back(v.name);
  return names;
}

TsccnOptions tsccn_variant(std::string_view name) {
  std::string known;
  for (const Variant& v : kVariants) {
    if (name == v.name) {
      TsccnOptions o;
      o.streams = v.streams;
      o.triplet = v.triplet;
      o.compare_network = v.compare_network;
      o.discriminator = v.compare_network;
      o.weight_control = v.weight_control;
      return o;
    }
    known += (known.empty() ? "" : ", ") + std::string(v.name);
  }
  throw core::ConfigError(core::str_cat("unknown TSCCN variant '", name, "' (known: ", known, ")"));
}

TsccnOutputFields tsccn_output_fields(const TsccnOptions& o) {
  TsccnOutputFields fields;
  fields.disc = o.compare_network && o.discriminator;
  fields.weights = o.streams == 2 && o.weight_control;
  return fields;
}

TsccnImpl::TsccnImpl(const TsccnOptions& options) : options_(options) {
  validate(options);
  const int split = options.split_stage;
  recognition_ =
      register_module(options.streams == 2 ? "recognition" : "encoder", ResNet18(options.backbone));
  if (options.streams == 2)
    classification_ = register_module("classification", ResNet18(options.backbone));
  if (options.compare_network && !options.share_branches) {
    branch_prev_ = register_module("branch_prev", ResNet18(options.backbone, split));
    branch_next_ = register_module("branch_next", ResNet18(options.backbone, split));
  }
  const int64_t features = recognition_->out_channels(kResNetStages - 1);
  if (options.compare_network && options.discriminator) {
    // Small on purpose: the branches should learn the comparison, not the head.
    const int64_t branch = recognition_->out_channels(split - 1);
    discriminator_ = register_module(
        "discriminator",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(2 * branch, branch, 3).padding(1).bias(false)),
                       nn::BatchNorm2d(branch), nn::ReLU(),
                       nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)), nn::Flatten(),
                       nn::Linear(branch, branch), nn::ReLU(), nn::Linear(branch, 2)));
  }
  if (tsccn_output_fields(options).weights) {
    // Squeeze-and-excitation shape, reduction 8 over the 2C concatenated channels.
    const int64_t hidden = std::max<int64_t>(1, features / 4);
    weight_control_ = register_module("weight_control",
                                      nn::Sequential(nn::Linear(2 * features, hidden), nn::ReLU(),
                                                     nn::Linear(hidden, 2), nn::Sigmoid()));
  }
  head_ = register_module("head", nn::Linear(options.streams * features, kClasses));
  binary_head_ = register_module("binary_head", nn::Linear(features, 2));
  embedding_ = register_module("embedding", nn::Linear(features, options.embedding_dim));
}

torch::Tensor TsccnImpl::view(const torch::Tensor& images, int64_t index) const {
  torch::Tensor x = images.select(1, index).unsqueeze(1);
  if (options_.backbone.in_channels == 3) x = x.expand({-1, 3, -1, -1});
  return x;
}

torch::Tensor TsccnImpl::recognize(const torch::Tensor& prev, const torch::Tensor& current,
                                   const torch::Tensor& next, TsccnOutput& out) {
  const int split = options_.split_stage;
  torch::Tensor f_l, f_c, f_n;
  if (options_.share_branches) {
    // One pass over all three views. Besides being faster, it makes training-mode BatchNorm
    // normalise the three positions with the same statistics, as the running statistics
    // will at evaluation.
    const auto parts =
        recognition_->forward_stages(torch::cat({prev, current, next}, 0), 0, split).chunk(3, 0);
    f_l = parts[0];
    f_c = parts[1];
    f_n = parts[2];
  } else {
    f_l = branch_prev_->forward(prev);
    f_c = recognition_->forward_stages(current, 0, split);
    f_n = branch_next_->forward(next);
  }
  if (!discriminator_.is_empty()) {
    const auto pairs =
        discriminator_
            ->forward(torch::cat({torch::cat({f_c, f_l}, 1), torch::cat({f_c, f_n}, 1)}, 0))
            .chunk(2, 0);
    out.disc_prev = pairs[0];
    out.disc_next = pairs[1];
  }
  return recognition_->forward_stages(f_l + f_c + f_n, split, kResNetStages);  // eq. 1
}

TsccnOutput TsccnImpl::forward(const torch::Tensor& images, const torch::Tensor& has_prev,
                               const torch::Tensor& has_next) {
  CHECK_OR_THROW(core::ConfigError,
                 images.defined() && images.dim() == 4 && images.is_floating_point(),
                 "TSCCN: images must be float [B, views, H, W], got ",
                 images.defined() ? images.sizes() : c10::IntArrayRef{});
  const int64_t views = images.size(1);
  CHECK_OR_THROW(core::ConfigError, views == 3 || (views == 1 && !options_.compare_network),
                 "TSCCN: images have ", views,
                 " views; the model needs 3 (previous, current, next)",
                 options_.compare_network ? " for the compare network" : " or 1 (current)");
  const int64_t batch = images.size(0);
  check_flags(has_prev, "has_prev", batch);
  check_flags(has_next, "has_next", batch);

  TsccnOutput out;
  const torch::Tensor current = view(images, views == 3 ? 1 : 0);
  const torch::Tensor f_r = options_.compare_network
                                ? recognize(view(images, 0), current, view(images, 2), out)
                                : recognition_->forward(current);
  const torch::Tensor g_r = global_average_pool(f_r);
  if (options_.streams == 1) {
    // Fig. 8(a): both heads on the one encoder.
    out.logits = head_(g_r);
    out.binary_logits = binary_head_(g_r);
    out.embedding = embedding_(g_r);
    return out;
  }
  const torch::Tensor g_c = global_average_pool(classification_->forward(current));
  out.binary_logits = binary_head_(g_c);
  out.embedding = embedding_(g_c);
  if (weight_control_.is_empty()) {
    out.logits = head_(torch::cat({g_r, g_c}, 1));
  } else {
    out.weights = weight_control_->forward(torch::cat({g_r, g_c}, 1));  // eq. 4
    const torch::Tensor fused =
        torch::cat({out.weights.slice(1, 0, 1) * g_r, out.weights.slice(1, 1, 2) * g_c}, 1);
    out.logits = head_(fused);
  }
  return out;
}

void TsccnImpl::load_backbone_weights(const std::string& torchscript_path,
                                      const std::string& prefix_in_file) {
  for (ResNet18* net : {&recognition_, &classification_, &branch_prev_, &branch_next_}) {
    if (!net->is_empty()) load_torchvision_weights(**net, torchscript_path, prefix_in_file);
  }
}

}  // namespace fracsweep::trainer
