// Handing a training command over to `fracsweep-train` (see cli/commands.h).
#pragma once

#include <string>

#include "cli/commands.h"

namespace fracsweep::cli {

// Where fracsweep-train is: next to this executable, or in
// ../libexec/fracsweep/ from it (an installed layout). Throws core::Error,
// naming both places, when it is in neither.
std::string training_executable();

// Replaces this process by `fracsweep-train <command> <args>`: the same
// process id, so mpirun, srun and signals see no difference. Returns only by
// throwing core::Error when the executable cannot be started.
int hand_off(const std::string& command, const Args& args);

}  // namespace fracsweep::cli
