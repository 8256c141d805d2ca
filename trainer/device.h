// Where a job trains and in what precision: the one place that turns the job's
// train.device / train.precision / train.channels_last and the rank's GPU into
// a torch::Device, an autocast scope and a memory format.
//
// Every tensor a model or loss makes follows the device of the tensors it is
// given (or of the model's parameters); nothing below here names a device.
#pragma once

#include <string>

#include <torch/types.h>

namespace fracsweep::trainer {

// The device a job trains on. `setting` is train.device: "cpu", "cuda", or
// "auto" (CUDA when `cuda_devices` > 0). `rank_device` is the GPU this rank
// was given (node-local rank mod visible GPUs; launcher/placement.h) and must
// be < cuda_devices when CUDA is chosen. Throws core::ConfigError for
// "cuda" without a visible GPU (naming `where`) or an unknown setting.
torch::Device resolve_device(const std::string& setting, int cuda_devices, int rank_device,
                             const std::string& where);

// Whether train.precision asks for bfloat16 autocast.
bool uses_bf16(const std::string& precision);

// Mixed precision for the forward pass and the loss, as PyTorch's
// torch.autocast(device_type, dtype=torch.bfloat16): matrix products and
// convolutions run in bf16, reductions and losses in fp32; parameters and
// gradients stay fp32 (bf16 has fp32's range, so no loss scaling). Restores
// the previous state on destruction. Does nothing when not enabled or on a
// device type autocast does not know (meta). One scope per thread at a time.
class AutocastScope {
 public:
  AutocastScope(torch::DeviceType device, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  torch::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  torch::ScalarType was_dtype_ = torch::kFloat;
};

// Turns every 4-D parameter and buffer of `module` (convolution weights) into
// channels-last layout, as nn.Module.to(memory_format=torch.channels_last).
void to_channels_last(torch::nn::Module& module);

// Device-wide settings for training on `device`: cuDNN autotuning on CUDA
// (convolution shapes do not change within a job).
void configure_backend(const torch::Device& device);

}  // namespace fracsweep::trainer
