// What differs between the LibTorch versions fracsweep builds against: Debian's
// 1.13 (CPU) and the 2.x that CUDA builds bring. Code that would behave
// differently under the two goes through here, so that a job trains the same
// way, and its checkpoint resumes, whichever version built the binary.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>
#include <torch/version.h>

namespace fracsweep::trainer {

// The LibTorch this binary was built against, as major * 100 + minor
// (1.13 -> 113, 2.11 -> 211).
inline constexpr int kTorchVersion = TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR;

// "1.13" for 113.
std::string torch_version_name(int version);

// Sets every defined gradient of `params` to zero in place. torch::optim's
// zero_grad() zeroes in 1.13 but drops the gradients in 2.x, and Adam moves a
// parameter whose gradient is zero but skips one that has none, so the
// optimizer's own call would make the two versions train differently.
void zero_gradients(std::vector<torch::Tensor>& params);

// Whether an optimizer state saved by LibTorch `writer` is restored correctly
// by LibTorch `reader`. LibTorch 2.2 keys Adam's per-parameter state by a
// number where earlier versions wrote the address as hex text ("0x..."); 2.2
// and later parse such a key as 0 and give every parameter the wrong moments.
// Later versions can be read by earlier ones (they keep keys as opaque text).
bool optimizer_state_portable(int writer, int reader);

// Throws core::ConfigError naming `checkpoint` and both versions when its
// optimizer state, written by `writer`, cannot be restored by `reader`.
void check_optimizer_state_portable(const std::string& checkpoint, int writer,
                                    int reader = kTorchVersion);

}  // namespace fracsweep::trainer
