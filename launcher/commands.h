// The commands of `fracsweep-train`, the executable behind `fracsweep train`,
// `run` and the training benchmarks (see cli/commands.h): those that load
// LibTorch and MPI.
#pragma once

#include "cli/commands.h"
#include "cli/options.h"

namespace fracsweep::launcher {

using cli::Args;
using cli::kExitBadInput;
using cli::kExitFailure;
using cli::kExitOk;
using cli::parse_flags;
using cli::parse_with_positional;
using cli::print_measures;

int run_train(const Args& args);
int run_run(const Args& args);
int run_predict(const Args& args);
// bench train | allreduce | handout
int run_bench(const Args& args);

}  // namespace fracsweep::launcher
