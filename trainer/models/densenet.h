// DenseNet-121 with torchvision's layout, in pieces that a Siamese model can cut.
//
// Names are torchvision's (features.conv0, features.norm0, features.denseblock1
// .denselayer1.norm1 ... conv2, features.transition1.norm/conv, ...,
// features.norm5, classifier), so weights a user exports from torchvision as
// TorchScript load by name (load_torchvision_weights). The transitions are
// split at their ReLU, where AASN fuses the flipped branch (§3.4).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <array>
#include <string>
#include <vector>

namespace fracsweep::trainer {

struct DenseNetOptions {
  int growth_rate = 32;                    // torchvision's DenseNet-121
  std::array<int, 4> block_config{6, 12, 24, 16};
  int init_features = 64;
  int bn_size = 4;
  int in_channels = 3;    // 3 for ImageNet weights (models repeat the grey channel)
  int num_classes = 0;    // 0: no classifier (the Siamese model decodes heatmaps)
  // Dense blocks built: 4 for the whole network; 3 for an encoder that ends
  // after dense block 3 (no transition 3, block 4, norm5 or classifier).
  int blocks = 4;

  // DenseNet-121 at `width` / 32 of its channels: growth_rate = width,
  // init_features = 2 * width. width 32 is torchvision's; 4 or 8 keep CPU runs small.
  static DenseNetOptions densenet121(int width = 32);
};

// Conv, norm and the two halves of a transition (norm, ReLU | conv, average pool).
class DenseTransitionImpl : public torch::nn::Module {
 public:
  // `conv_in` is the 1x1 conv's input channels: in_channels, or twice that when
  // a second branch is concatenated after the ReLU.
  DenseTransitionImpl(int64_t in_channels, int64_t out_channels, int64_t conv_in);
  torch::Tensor pre(const torch::Tensor& x);   // relu(norm(x))
  torch::Tensor post(const torch::Tensor& x);  // avg_pool(conv(x), 2)
  torch::Tensor forward(const torch::Tensor& x) { return post(pre(x)); }
  torch::nn::Conv2d& conv() { return conv_; }

 private:
  torch::nn::BatchNorm2d norm_{nullptr};
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(DenseTransition);

class DenseNetImpl : public torch::nn::Module {
 public:
  // `fused_transition`: transition k (1..3) whose conv takes twice its input
  // channels (AASN's fusion); 0 for none. Initialises like torchvision (Kaiming
  // normal convolutions, BatchNorm 1 and 0, zero linear bias), from the global
  // generator. Throws core::ConfigError on sizes < 1 or in_channels not 1 or 3.
  explicit DenseNetImpl(const DenseNetOptions& options, int fused_transition = 0);

  torch::Tensor stem(const torch::Tensor& x);               // conv0, norm0, relu, max pool
  torch::Tensor block(int k, const torch::Tensor& x);       // denseblock k, 1..4
  DenseTransition& transition(int k);                        // transition k, 1..3
  torch::Tensor head(const torch::Tensor& x);                // relu(norm5(x))
  // Up to and including dense block k (the stem, then blocks and transitions).
  torch::Tensor features_to(int k, torch::Tensor x);
  // The whole network: logits [B, num_classes] (needs a classifier).
  torch::Tensor forward(const torch::Tensor& x);

  int64_t channels_after_block(int k) const;  // k = 1..4
  const DenseNetOptions& options() const { return options_; }

 private:
  DenseNetOptions options_;
  std::shared_ptr<torch::nn::Module> features_;
  torch::nn::Conv2d conv0_{nullptr};
  torch::nn::BatchNorm2d norm0_{nullptr}, norm5_{nullptr};
  std::vector<std::shared_ptr<torch::nn::Module>> blocks_;
  std::vector<DenseTransition> transitions_;
  torch::nn::Linear classifier_{nullptr};
  std::array<int64_t, 4> block_channels_{};
};
TORCH_MODULE(DenseNet);

// Copies the tensors of a TorchScript export of a torchvision DenseNet (e.g.
// torch.jit.script(torchvision.models.densenet121(weights=...)).save(path))
// into `net` by name, below `prefix_in_file`. The classifier is skipped when
// `net` has none. With in_channels 1, conv0's RGB kernel is summed over its
// inputs. A fused transition's conv (twice the input channels) gets the file's
// kernel halved in both halves, so identical branches give the pretrained
// response. All or nothing; throws core::ConfigError naming the file and the
// tensor on a missing, misshapen or unexpected tensor, core::IoError when the
// file cannot be read.
void load_torchvision_weights(DenseNetImpl& net, const std::string& torchscript_path,
                              const std::string& prefix_in_file = "");

}  // namespace fracsweep::trainer
