// `fracsweep version`: what this build is and which backends it carries, as
// known when it was configured (this executable loads neither LibTorch nor
// NCCL; fracsweep-train does).
#include <iostream>

#include "cli/commands.h"

namespace fracsweep::cli {

int run_version(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: fracsweep version\n\nPrints the version, the LibTorch it was built "
                 "against and the compiled backends.\n";
    return kExitOk;
  }
  // The LibTorch matters beyond the build: a checkpoint records it (trainer/torch_compat.h).
  std::cout << "fracsweep " << FRACSWEEP_VERSION_STRING << "\n"
            << "libtorch: " << FRACSWEEP_TORCH_VERSION << "\n";
#ifdef FRACSWEEP_NCCL_VERSION
  std::cout << "nccl: compiled (NCCL " << FRACSWEEP_NCCL_VERSION << ", CUDA " << FRACSWEEP_CUDA_VERSION
            << ")\n";
#else
  std::cout << "nccl: not compiled (CUDA or NCCL not found at configure time)\n";
#endif
  return kExitOk;
}

}  // namespace fracsweep::cli
