// See densenet.h.
#include "trainer/models/densenet.h"

#include <torch/torch.h>


#include "core/error.h"
#include "trainer/weights.h"

namespace fracsweep::trainer {
namespace {

namespace nn = torch::nn;

// torchvision's _DenseLayer: a bottleneck (norm1, relu, 1x1 conv1, norm2, relu,
// 3x3 conv2) whose growth_rate new channels are concatenated to its input.
class DenseLayerImpl : public nn::Module {
 public:
  DenseLayerImpl(int64_t in, int64_t growth, int64_t bn_size)
      : norm1_(register_module("norm1", nn::BatchNorm2d(in))),
        conv1_(register_module(
            "conv1", nn::Conv2d(nn::Conv2dOptions(in, bn_size * growth, 1).bias(false)))),
        norm2_(register_module("norm2", nn::BatchNorm2d(bn_size * growth))),
        conv2_(register_module(
            "conv2",
            nn::Conv2d(nn::Conv2dOptions(bn_size * growth, growth, 3).padding(1).bias(false)))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto y = conv2_(torch::relu(norm2_(conv1_(torch::relu(norm1_(x))))));
    return torch::cat({x, y}, 1);
  }

 private:
  nn::BatchNorm2d norm1_;
  nn::Conv2d conv1_;
  nn::BatchNorm2d norm2_;
  nn::Conv2d conv2_;
};
TORCH_MODULE(DenseLayer);

class DenseBlockImpl : public nn::Module {
 public:
  DenseBlockImpl(int layers, int64_t in, int64_t growth, int64_t bn_size) {
    for (int i = 0; i < layers; ++i)
      layers_.push_back(register_module(core::str_cat("denselayer", i + 1),
                                        DenseLayer(in + i * growth, growth, bn_size)));
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& layer : layers_) x = layer(x);
    return x;
  }

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

void init_like_torchvision(nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& module : m.modules(/*include_self=*/false)) {
    if (auto* c = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight);  // torchvision's defaults: fan_in, gain sqrt(2)
    } else if (auto* b = module->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    } else if (auto* l = module->as<nn::Linear>()) {
      nn::init::zeros_(l->bias);
    }
  }
}

}  // namespace

DenseNetOptions DenseNetOptions::densenet121(int width) {
  DenseNetOptions o;
  o.growth_rate = width;
  o.init_features = 2 * width;
  return o;
}

DenseTransitionImpl::DenseTransitionImpl(int64_t in_channels, int64_t out_channels,
                                         int64_t conv_in)
    : norm_(register_module("norm", nn::BatchNorm2d(in_channels))),
      conv_(register_module("conv",
                            nn::Conv2d(nn::Conv2dOptions(conv_in, out_channels, 1).bias(false)))) {}

torch::Tensor DenseTransitionImpl::pre(const torch::Tensor& x) { return torch::relu(norm_(x)); }

torch::Tensor DenseTransitionImpl::post(const torch::Tensor& x) {
  return torch::avg_pool2d(conv_(x), 2, 2);
}

DenseNetImpl::DenseNetImpl(const DenseNetOptions& o, int fused_transition) : options_(o) {
  CHECK_OR_THROW(core::ConfigError, o.in_channels == 1 || o.in_channels == 3,
                 "DenseNet: in_channels must be 1 or 3, got ", o.in_channels);
  CHECK_OR_THROW(core::ConfigError, o.growth_rate >= 1 && o.init_features >= 1 && o.bn_size >= 1,
                 "DenseNet: growth_rate, init_features and bn_size must be >= 1");
  CHECK_OR_THROW(core::ConfigError, o.blocks == 3 || o.blocks == 4,
                 "DenseNet: blocks must be 3 (an encoder) or 4, got ", o.blocks);
  CHECK_OR_THROW(core::ConfigError, fused_transition >= 0 && fused_transition < o.blocks,
                 "DenseNet: the fused transition must be 1..", o.blocks - 1, " or 0 for none");
  CHECK_OR_THROW(core::ConfigError, o.blocks == 4 || o.num_classes == 0,
                 "DenseNet: an encoder (blocks 3) has no classifier");
  features_ = register_module("features", std::make_shared<nn::Module>());
  conv0_ = features_->register_module(
      "conv0", nn::Conv2d(nn::Conv2dOptions(o.in_channels, o.init_features, 7)
                              .stride(2).padding(3).bias(false)));
  norm0_ = features_->register_module("norm0", nn::BatchNorm2d(o.init_features));
  int64_t channels = o.init_features;
  for (int k = 1; k <= o.blocks; ++k) {
    const int layers = o.block_config[static_cast<size_t>(k - 1)];
    CHECK_OR_THROW(core::ConfigError, layers >= 1, "DenseNet: block ", k, " needs a layer");
    blocks_.push_back(features_->register_module(
        core::str_cat("denseblock", k), DenseBlock(layers, channels, o.growth_rate, o.bn_size)));
    channels += int64_t{layers} * o.growth_rate;
    block_channels_[static_cast<size_t>(k - 1)] = channels;
    if (k < o.blocks) {
      const int64_t conv_in = k == fused_transition ? 2 * channels : channels;
      transitions_.push_back(features_->register_module(
          core::str_cat("transition", k), DenseTransition(channels, channels / 2, conv_in)));
      channels /= 2;
    }
  }
  if (o.blocks == 4) norm5_ = features_->register_module("norm5", nn::BatchNorm2d(channels));
  if (o.num_classes > 0)
    classifier_ = register_module("classifier", nn::Linear(channels, o.num_classes));
  init_like_torchvision(*this);
}

torch::Tensor DenseNetImpl::stem(const torch::Tensor& x) {
  return torch::max_pool2d(torch::relu(norm0_(conv0_(x))), 3, 2, 1);
}

torch::Tensor DenseNetImpl::block(int k, const torch::Tensor& x) {
  INTERNAL_ASSERT(k >= 1 && k <= options_.blocks);
  return std::static_pointer_cast<DenseBlockImpl>(blocks_[static_cast<size_t>(k - 1)])->forward(x);
}

DenseTransition& DenseNetImpl::transition(int k) {
  INTERNAL_ASSERT(k >= 1 && k < options_.blocks);
  return transitions_[static_cast<size_t>(k - 1)];
}

torch::Tensor DenseNetImpl::head(const torch::Tensor& x) {
  INTERNAL_ASSERT(options_.blocks == 4);
  return torch::relu(norm5_(x));
}

torch::Tensor DenseNetImpl::features_to(int k, torch::Tensor x) {
  INTERNAL_ASSERT(k >= 1 && k <= options_.blocks);
  x = stem(x);
  for (int j = 1; j <= k; ++j) {
    x = block(j, x);
    if (j < k) x = transition(j)(x);
  }
  return x;
}

torch::Tensor DenseNetImpl::forward(const torch::Tensor& x) {
  CHECK_OR_THROW(core::ConfigError, !classifier_.is_empty(),
                 "DenseNet: built without a classifier (num_classes 0)");
  const auto y = torch::adaptive_avg_pool2d(head(features_to(4, x)), {1, 1}).flatten(1);
  return classifier_(y);
}

int64_t DenseNetImpl::channels_after_block(int k) const {
  INTERNAL_ASSERT(k >= 1 && k <= options_.blocks);
  return block_channels_[static_cast<size_t>(k - 1)];
}

void load_torchvision_weights(DenseNetImpl& net, const std::string& path,
                              const std::string& prefix) {
  NamedLoad l;
  l.path = path;
  l.prefix = prefix;
  l.owner = "the DenseNet";
  l.shape_context = "(another width or block configuration?)";
  l.architecture = "this DenseNet";
  l.adapt = [](const std::string& name, const torch::Tensor& ours, const torch::Tensor& theirs) {
    if (name == "features.conv0.weight" && ours.size(1) == 1 && theirs.dim() == 4 &&
        theirs.size(1) == 3)
      return theirs.sum(1, /*keepdim=*/true);  // a grey image repeated over R, G, B
    if (ours.dim() == 4 && theirs.dim() == 4 && ours.size(1) == 2 * theirs.size(1) &&
        name.find(".transition") != std::string::npos)
      return torch::cat({theirs / 2, theirs / 2}, 1);  // a fused transition's two branches
    return theirs;
  };
  l.skip = [&net](const std::string& name) {
    const auto starts = [&name](const char* p) { return name.rfind(p, 0) == 0; };
    if (starts("classifier.")) return net.options().num_classes == 0;
    return net.options().blocks == 3 && (starts("features.transition3.") ||
                                         starts("features.denseblock4.") ||
                                         starts("features.norm5."));
  };
  load_by_name(net, l);
}

}  // namespace fracsweep::trainer
