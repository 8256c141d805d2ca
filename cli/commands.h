// The subcommands of `fracsweep`, and what every command shares.
//
// `fracsweep` itself loads neither LibTorch nor MPI, so the commands that do
// not train start at once. The ones that do (train, run, and the training and
// all-reduce benchmarks) live in a second executable, `fracsweep-train`,
// next to it, to which `fracsweep` hands such a command over (cli/handoff.h),
// as git does with its sub-programs: one command line either way. `ingest`,
// the one command that reads images through ITK, lives likewise in
// `fracsweep-ingest` (cli/ingest_main.cpp), so no other command loads ITK.
//
// Each command takes the arguments after its name and returns the process
// exit code. Flags are parsed with Boost.Program_options; `--help` prints the
// command's usage. Errors propagate as exceptions and are reported by
// run_command() (cli/dispatch.h).
#pragma once

#include <string>
#include <vector>

namespace fracsweep::cli {

// Process exit codes, shared by every command.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;   // a run-time failure: I/O, a transport, a bug
constexpr int kExitBadInput = 2;  // bad flags or bad input files

using Args = std::vector<std::string>;

int run_bench(const Args& args);
int bench_search(const Args& args);  // cli/bench_search.cpp
int run_ingest(const Args& args);  // in fracsweep-ingest alone
int run_inspect(const Args& args);
int run_metrics(const Args& args);
int run_plan(const Args& args);
int run_report(const Args& args);
int run_slurm(const Args& args);
int run_status(const Args& args);
int run_synth(const Args& args);
int run_variants(const Args& args);
int run_version(const Args& args);

}  // namespace fracsweep::cli
