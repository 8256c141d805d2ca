// Entry point of `fracsweep`: picks the subcommand and reports errors.
//
// This is the one place that catches: a core::ConfigError (bad input) exits
// with kExitBadInput, any other error with kExitFailure, always with one
// line on stderr that says what went wrong.
#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "core/error.h"
#include "launcher/commands.h"

namespace {

using fracsweep::launcher::Args;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"bench", "measure patch reads and batch loading on a store (bench read|loader STORE.h5)",
     fracsweep::launcher::run_bench},
    {"inspect", "validate a patch store (.h5) and print counts per class, patient and split",
     fracsweep::launcher::run_inspect},
    {"metrics", "compute SE/SP/AUC/AP (aSE, aSP, aAUC, mAP) from a predictions CSV",
     fracsweep::launcher::run_metrics},
    {"plan", "expand a sweep file (plan SWEEP.yaml): its jobs, ids and how many are done",
     fracsweep::launcher::run_plan},
    {"report", "a sweep's paper table, tests, curves and HTML page (report OUT_DIR)",
     fracsweep::launcher::run_report},
    {"run", "run a whole sweep on the ranks of an MPI job ([mpirun -np N] run SWEEP.yaml)",
     fracsweep::launcher::run_run},
    {"slurm", "run a sweep as a SLURM batch job: slurm submit SWEEP.yaml | status DIR | cancel DIR",
     fracsweep::launcher::run_slurm},
    {"status", "show a sweep's jobs: done, running, failed, pending per variant, and an ETA",
     fracsweep::launcher::run_status},
    {"synth", "write a phantom data set (synth vcf OUT.h5) with the same schema as real data",
     fracsweep::launcher::run_synth},
    {"train", "train and evaluate one job (train JOB.yaml); run again to resume",
     fracsweep::launcher::run_train},
    {"version", "print the version and the compiled backends", fracsweep::launcher::run_version},
};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "fracsweep: cross-validation and ablation sweeps of fracture-diagnosis models\n\n"
               "usage: fracsweep <command> [options]   (fracsweep <command> --help for more)\n\n"
               "commands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  namespace launcher = fracsweep::launcher;
  if (argc < 2) {
    print_usage(stderr);
    return launcher::kExitBadInput;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return launcher::kExitOk;
  }
  if (name == "--version") return launcher::run_version({});
  const Args args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const fracsweep::core::ConfigError& e) {
      std::fprintf(stderr, "fracsweep %s: error: %s\n", c.name, e.what());
      return launcher::kExitBadInput;
    } catch (const boost::program_options::error& e) {
      std::fprintf(stderr, "fracsweep %s: error: %s (see fracsweep %s --help)\n", c.name,
                   e.what(), c.name);
      return launcher::kExitBadInput;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fracsweep %s: error: %s\n", c.name, e.what());
      return launcher::kExitFailure;
    }
  }
  std::fprintf(stderr, "fracsweep: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr);
  return launcher::kExitBadInput;
}
