// Which gradient all-reduce backends this build of fracsweep carries.
#pragma once

#include <string>

namespace fracsweep::trainer {

// True when the NCCL/CUDA backend was compiled in (CUDA and NCCL were found at
// configure time). Says nothing about whether a GPU is present at run time.
bool nccl_compiled();

// Number of CUDA devices visible now; 0 without the backend or without a GPU.
int cuda_device_count();

// A one-line summary for `fracsweep version`, e.g. "nccl: compiled (NCCL 2.27.3), 0 GPUs".
std::string backend_summary();

}  // namespace fracsweep::trainer
