// Entry point of `fracsweep-train`, which `fracsweep` hands its training
// commands to (cli/commands.h); it can be run directly with the same words.
#include "cli/dispatch.h"
#include "datastore/hdf5_exit.h"
#include "launcher/commands.h"

namespace {

using fracsweep::cli::Command;
namespace launcher = fracsweep::launcher;

constexpr Command kCommands[] = {
    {"bench", "training steps and the all-reduce (bench train|allreduce|handout)",
     launcher::run_bench},
    {"predict", "apply a finished sweep's models to an external store (predict SWEEP_DIR STORE.h5)",
     launcher::run_predict},
    {"run", "run a whole sweep on the ranks of an MPI job ([mpirun -np N] run SWEEP.yaml)",
     launcher::run_run},
    {"train", "train and evaluate one job (train JOB.yaml); run again to resume",
     launcher::run_train},
};

}  // namespace

int main(int argc, char** argv) {
  fracsweep::datastore::skip_hdf5_exit_cleanup();
  return fracsweep::cli::dispatch(argc, argv, kCommands);
}
