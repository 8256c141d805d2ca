// `fracsweep version`: what this build is and which backends it carries.
#include <iostream>

#include "launcher/commands.h"
#include "trainer/backends.h"

namespace fracsweep::launcher {

int run_version(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: fracsweep version\n\nPrints the version and the compiled backends.\n";
    return kExitOk;
  }
  std::cout << "fracsweep " << FRACSWEEP_VERSION_STRING << "\n" << trainer::backend_summary() << "\n";
  return kExitOk;
}

}  // namespace fracsweep::launcher
