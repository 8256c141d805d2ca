// See device.h.
#include "trainer/device.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/nn/module.h>

#include "core/error.h"

namespace fracsweep::trainer {

torch::Device resolve_device(const std::string& setting, int cuda_devices, int rank_device,
                             const std::string& where) {
  if (setting == "cpu") return torch::Device(torch::kCPU);
  CHECK_OR_THROW(core::ConfigError, setting == "auto" || setting == "cuda", where,
                 ": train.device '", setting, "' is not one of auto, cpu, cuda");
  if (cuda_devices <= 0) {
    CHECK_OR_THROW(core::ConfigError, setting == "auto", where,
                   ": train.device is cuda but no CUDA device is visible to this rank (check "
                   "CUDA_VISIBLE_DEVICES and the job's GPU allocation), or set train.device "
                   "to auto or cpu");
    return torch::Device(torch::kCPU);
  }
  CHECK_OR_THROW(core::InternalError, rank_device >= 0 && rank_device < cuda_devices,
                 "rank device ", rank_device, " is not one of the ", cuda_devices,
                 " visible CUDA devices");
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(rank_device));
}

bool uses_bf16(const std::string& precision) { return precision == "bf16"; }

AutocastScope::AutocastScope(torch::DeviceType device, bool enabled) : device_(device) {
  if (!enabled || (device != torch::kCUDA && device != torch::kCPU)) return;
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(device);
  was_dtype_ = at::autocast::get_autocast_dtype(device);
  at::autocast::set_autocast_enabled(device, true);
  at::autocast::set_autocast_dtype(device, torch::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The cast weights are cached for the scope's life; the outermost scope drops them.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, was_enabled_);
  at::autocast::set_autocast_dtype(device_, was_dtype_);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
}

void configure_backend(const torch::Device& device) {
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

}  // namespace fracsweep::trainer
