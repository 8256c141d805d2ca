// `fracsweep export`: a researcher's PyTorch model file into a package fracsweep trains
// (python/fracsweep_export.py, run by the project's Python; spec/exported.h reads what
// it writes).
//
// Which Python: FRACSWEEP_PYTHON when set, else the one CMake was configured with
// (the FRACSWEEP_PYTHON cache variable; by default the checkout's .venv/bin/python, which
// scripts/setup.sh makes). The script: python/fracsweep_export.py of the source tree this
// build came from, or ../share/fracsweep/python/ beside an installed fracsweep.
#pragma once

#include <string>
#include <vector>

#include "cli/commands.h"

namespace fracsweep::cli {

// The command line that runs the exporter with `args` (its own flags: MODEL.py --task ...).
// Throws core::ConfigError, naming what is missing and how to fix it, when the Python or
// the script cannot be found.
std::vector<std::string> exporter_command(const Args& args);

// Runs the exporter with `args`, its output going to this process's stdout and stderr as
// it comes (the compile's progress), and returns its exit code (2: bad input, said on
// its last line of stderr).
int run_exporter(const Args& args);

// The same, its standard output returned instead of printed (stderr still streams);
// throws core::Error with the exit code when it fails.
std::string run_exporter_for_output(const Args& args, int* exit_code);

int run_export(const Args& args);  // `fracsweep export`

}  // namespace fracsweep::cli
