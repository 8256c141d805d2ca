// Handing a command over to an executable beside `fracsweep` (see
// cli/commands.h): fracsweep-train for the training commands (LibTorch, MPI),
// fracsweep-ingest for `ingest` (ITK).
#pragma once

#include <string>

#include "cli/commands.h"

namespace fracsweep::cli {

// An executable that `fracsweep` hands commands to.
struct Sibling {
  const char* name;  // its file name
  const char* what;  // the start of the error when it is missing: "<what> in <name>, ..."
};
inline constexpr Sibling kTrainingExecutable{"fracsweep-train", "the training commands are"};
inline constexpr Sibling kIngestExecutable{"fracsweep-ingest", "the ingest command is"};

// Where `sibling` is: next to this executable, or in ../libexec/fracsweep/
// from it (an installed layout). Throws core::Error, naming both places, when
// it is in neither.
std::string sibling_executable(const Sibling& sibling);

// Replaces this process by `<sibling> <command> <args>`: the same process id,
// so mpirun, srun and signals see no difference. Returns only by throwing
// core::Error when the executable is missing or cannot be started.
int hand_off(const Sibling& sibling, const std::string& command, const Args& args);

}  // namespace fracsweep::cli
