// See torch_compat.h.
#include "trainer/torch_compat.h"

#include <torch/torch.h>

#include "core/error.h"

namespace fracsweep::trainer {

namespace {
constexpr int kAdamKeysChanged = 202;  // LibTorch 2.2
}  // namespace

std::string torch_version_name(int version) {
  return core::str_cat(version / 100, ".", version % 100);
}

void zero_gradients(std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : params)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

bool optimizer_state_portable(int writer, int reader) {
  return !(writer < kAdamKeysChanged && reader >= kAdamKeysChanged);
}

void check_optimizer_state_portable(const std::string& checkpoint, int writer, int reader) {
  CHECK_OR_THROW(core::ConfigError, optimizer_state_portable(writer, reader), checkpoint,
                 ": its optimizer state was written by LibTorch ", torch_version_name(writer),
                 ", whose Adam state LibTorch ", torch_version_name(reader),
                 " (this build) cannot map back to the parameters; resume the job with a build "
                 "against LibTorch ",
                 torch_version_name(writer), ", or delete the checkpoint to restart it");
}

}  // namespace fracsweep::trainer
