// The subcommands of the `fracsweep` binary.
//
// Each takes the arguments after its name and returns the process exit code.
// Flags are parsed with Boost.Program_options; `--help` prints the command's
// usage. Errors propagate as core::Error and are reported by main().
#pragma once

#include <string>
#include <vector>

namespace fracsweep::launcher {

// Process exit codes, shared by every command.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // a run-time failure: I/O, a transport, a bug
constexpr int kExitBadInput = 2;  // bad flags or bad input files

using Args = std::vector<std::string>;

int run_bench(const Args& args);
int run_inspect(const Args& args);
int run_metrics(const Args& args);
int run_plan(const Args& args);
int run_report(const Args& args);
int run_status(const Args& args);
int run_run(const Args& args);
int run_slurm(const Args& args);
int run_synth(const Args& args);
int run_train(const Args& args);
int run_version(const Args& args);

}  // namespace fracsweep::launcher
