// `fracsweep version`: what this build is and which backends it carries.
#include <iostream>

#include "launcher/commands.h"
#include "trainer/backends.h"
#include "trainer/torch_compat.h"

namespace fracsweep::launcher {

int run_version(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: fracsweep version\n\nPrints the version, the LibTorch it was built "
                 "against and the compiled backends.\n";
    return kExitOk;
  }
  // The LibTorch matters beyond the build: a checkpoint records it (torch_compat.h).
  std::cout << "fracsweep " << FRACSWEEP_VERSION_STRING << "\n"
            << "libtorch: " << trainer::torch_version_name(trainer::kTorchVersion) << "\n"
            << trainer::backend_summary() << "\n";
  return kExitOk;
}

}  // namespace fracsweep::launcher
