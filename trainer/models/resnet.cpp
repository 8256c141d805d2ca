// See resnet.h.
#include "trainer/models/resnet.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "trainer/weights.h"

namespace fracsweep::trainer {
namespace {

namespace nn = torch::nn;

// torchvision's BasicBlock; registration order fixes the parameter order, which is
// torchvision's too (conv1, bn1, conv2, bn2, downsample).
class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
      : conv1_(register_module(
            "conv1",
            nn::Conv2d(
                nn::Conv2dOptions(in_planes, planes, 3).stride(stride).padding(1).bias(false)))),
        bn1_(register_module("bn1", nn::BatchNorm2d(planes))),
        conv2_(register_module(
            "conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3).padding(1).bias(false)))),
        bn2_(register_module("bn2", nn::BatchNorm2d(planes))) {
    if (stride != 1 || in_planes != planes) {
      downsample_ = register_module(
          "downsample",
          nn::Sequential(
              nn::Conv2d(nn::Conv2dOptions(in_planes, planes, 1).stride(stride).bias(false)),
              nn::BatchNorm2d(planes)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = torch::relu(bn1_(conv1_(x)));
    out = bn2_(conv2_(out));
    const torch::Tensor identity = downsample_.is_empty() ? x : downsample_->forward(x);
    return torch::relu(out + identity);
  }

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

// Which stage a backbone tensor name belongs to: "layer3.1.bn2.weight" -> 3, stem -> 0.
int stage_of(const std::string& name) {
  if (name.size() > 6 && name.compare(0, 5, "layer") == 0 && name[6] == '.' && name[5] >= '1' &&
      name[5] <= '4') {
    return name[5] - '0';
  }
  return 0;
}

}  // namespace

ResNet18Impl::ResNet18Impl(const ResNetOptions& options, int num_stages)
    : options_(options),
      num_stages_(num_stages),
      layers_{{nn::Sequential(nullptr), nn::Sequential(nullptr), nn::Sequential(nullptr),
               nn::Sequential(nullptr)}} {
  CHECK_OR_THROW(core::ConfigError, options.in_channels == 1 || options.in_channels == 3,
                 "ResNet-18: in_channels must be 1 (grayscale) or 3 (RGB), got ",
                 options.in_channels);
  CHECK_OR_THROW(core::ConfigError, options.width >= 1,
                 "ResNet-18: width must be at least 1 (torchvision uses 64), got ", options.width);
  CHECK_OR_THROW(core::ConfigError, num_stages >= 1 && num_stages <= kResNetStages,
                 "ResNet-18: num_stages must be in [1, ", kResNetStages, "], got ", num_stages);
  const int64_t width = options.width;
  conv1_ = register_module(
      "conv1",
      nn::Conv2d(
          nn::Conv2dOptions(options.in_channels, width, 7).stride(2).padding(3).bias(false)));
  bn1_ = register_module("bn1", nn::BatchNorm2d(width));
  int64_t in_planes = width;
  for (int layer = 1; layer < num_stages; ++layer) {
    const int64_t planes = out_channels(layer);
    const int64_t stride = layer == 1 ? 1 : 2;
    layers_[layer - 1] = register_module(
        "layer" + std::to_string(layer),
        nn::Sequential(BasicBlock(in_planes, planes, stride), BasicBlock(planes, planes, 1)));
    in_planes = planes;
  }
  // torchvision's initialisation; BatchNorm already starts at weight 1, bias 0.
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(conv->weight, /*a=*/0.0, torch::kFanOut, torch::kReLU);
    }
  }
}

torch::Tensor ResNet18Impl::forward(const torch::Tensor& x) {
  return forward_stages(x, 0, num_stages_);
}

torch::Tensor ResNet18Impl::forward_stages(torch::Tensor x, int from, int to) {
  CHECK_OR_THROW(core::ConfigError, 0 <= from && from <= to && to <= num_stages_,
                 "ResNet-18: stages [", from, ", ", to, ") are not within the ", num_stages_,
                 " built stages");
  for (int stage = from; stage < to; ++stage) {
    if (stage == 0) {
      x = torch::max_pool2d(torch::relu(bn1_(conv1_(x))), /*kernel_size=*/3, /*stride=*/2,
                            /*padding=*/1);
    } else {
      x = layers_[stage - 1]->forward(x);
    }
  }
  return x;
}

int64_t ResNet18Impl::out_channels(int stage) const {
  CHECK_OR_THROW(core::ConfigError, 0 <= stage && stage < kResNetStages,
                 "ResNet-18: stage must be in [0, ", kResNetStages, "), got ", stage);
  return stage <= 1 ? options_.width : int64_t{options_.width} << (stage - 1);
}

void load_torchvision_weights(ResNet18Impl& net, const std::string& torchscript_path,
                              const std::string& prefix_in_file) {
  NamedLoad l;
  l.path = torchscript_path;
  l.prefix = prefix_in_file;
  l.owner = "the backbone";
  l.shape_context = core::str_cat("(in_channels ", net.options().in_channels, ", width ",
                                  net.options().width, ")");
  l.architecture = "a torchvision ResNet-18";
  l.adapt = [](const std::string& name, const torch::Tensor& ours, const torch::Tensor& theirs) {
    // A gray image x repeated over R, G, B gives sum_c W_c * x = (sum_c W_c) * x.
    if (name == "conv1.weight" && ours.dim() == 4 && ours.size(1) == 1 && theirs.dim() == 4 &&
        theirs.size(1) == 3)
      return theirs.sum(1, /*keepdim=*/true);
    return theirs;
  };
  l.skip = [&net](const std::string& name) {
    return name.compare(0, 3, "fc.") == 0 || stage_of(name) >= net.num_stages();
  };
  load_by_name(net, l);
}

}  // namespace fracsweep::trainer
