// ResNet-18 backbone with torchvision's layout, split into stages so that models can cut it.
//
// Submodule, parameter and buffer names are torchvision's (conv1, bn1, layer1.0.conv1, ...,
// layer2.0.downsample.0, ..., layer4.1.bn2), so weights exported from torchvision to a
// TorchScript file load by name. The classifier (avgpool, fc) is not part of the backbone:
// every model that uses it pools and adds its own heads.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>

namespace fracsweep::trainer {

struct ResNetOptions {
  // Channels of the input image: 1 for the grayscale patches we store, 3 to take RGB input
  // exactly as torchvision does (models then repeat the gray channel).
  int in_channels = 1;
  // Channels after the stem and in layer1; layer2..4 double it each time. torchvision uses
  // 64; small widths (4, 8) make tests fast, at the cost of capacity.
  int width = 64;
};

// Stage 0 is the stem (conv1, bn1, relu, maxpool, overall stride 4); stages 1..4 are
// layer1..layer4 (strides 1, 2, 2, 2). A full network has kResNetStages stages.
inline constexpr int kResNetStages = 5;

// Construction initialises like torchvision: Kaiming normal (fan_out, relu) for every
// convolution, BatchNorm weight 1 and bias 0. It draws from the global generator, so callers
// seed with torch::manual_seed. Not thread-safe (like any torch::nn::Module).
class ResNet18Impl : public torch::nn::Module {
 public:
  // Builds stages [0, num_stages) only; a branch that feeds a later shared part needs no
  // more. Throws core::ConfigError for in_channels other than 1 or 3, width < 1, or
  // num_stages outside [1, kResNetStages].
  explicit ResNet18Impl(const ResNetOptions& options, int num_stages = kResNetStages);

  // All built stages: the feature map before global pooling, [B, out_channels(last), h, w].
  torch::Tensor forward(const torch::Tensor& x);
  // Runs stages [from, to) on x, which must be the output of stage from - 1 (the image when
  // from == 0). from == to returns x. Throws core::ConfigError unless
  // 0 <= from <= to <= num_stages().
  torch::Tensor forward_stages(torch::Tensor x, int from, int to);

  // Channels of the output of `stage` (width for stages 0 and 1, then 2x, 4x, 8x width).
  int64_t out_channels(int stage) const;
  int num_stages() const { return num_stages_; }
  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  int num_stages_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::array<torch::nn::Sequential, 4> layers_;  // layer1..layer4; empty holders if not built
};
TORCH_MODULE(ResNet18);

// Copies the parameters and buffers of the module saved in `torchscript_path` (a file that
// torch::jit::load reads, e.g. torch.jit.script(torchvision.models.resnet18(...)).save(...))
// into `net`, by name: our "layer1.0.conv1.weight" is the file's
// prefix_in_file + "layer1.0.conv1.weight" (prefix "" for a bare torchvision model,
// "backbone." for one held as .backbone). Under the prefix, fc.* is skipped, and so are the
// stages that `net` does not build. With in_channels == 1, an RGB conv1.weight is summed
// over its input channels: a gray image then gives the same response as that image
// repeated in R, G and B.
//
// All or nothing: everything is checked before anything is copied. Throws core::IoError if
// the file cannot be read, and core::ConfigError naming the file and the tensor if one of
// ours is missing from the file, has another shape, or the file holds a tensor under the
// prefix that we have no place for (a deeper ResNet, say).
void load_torchvision_weights(ResNet18Impl& net, const std::string& torchscript_path,
                              const std::string& prefix_in_file = "");

}  // namespace fracsweep::trainer
