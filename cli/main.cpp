// Entry point of `fracsweep`. The commands that train are handed over to
// fracsweep-train and `ingest` to fracsweep-ingest (cli/commands.h), so this
// executable links neither LibTorch, MPI nor ITK.
#include <string>

#include "cli/commands.h"
#include "cli/dispatch.h"
#include "cli/exporter.h"
#include "cli/handoff.h"
#include "datastore/hdf5_exit.h"

namespace {

using fracsweep::cli::Args;
using fracsweep::cli::Command;
namespace cli = fracsweep::cli;

constexpr Command kCommands[] = {
    {"bench",
     "measure (bench read|loader|metrics|startup|train|allreduce|handout; bench --help)",
     cli::run_bench},
    {"export", "a PyTorch model file into a package fracsweep trains (export MODEL.py --task T)",
     cli::run_export},
    {"ingest", "real images into a patch store: ingest vcf|pelvis MANIFEST.csv OUT.h5 (DICOM, NIfTI, PNG)",
     [](const Args& a) { return cli::hand_off(cli::kIngestExecutable, "ingest", a); }},
    {"inspect", "validate a patch store (.h5) and print counts per class, patient and split",
     cli::run_inspect},
    {"metrics", "compute SE/SP/AUC/AP (aSE, aSP, aAUC, mAP) from a predictions CSV",
     cli::run_metrics},
    {"plan", "expand a sweep file (plan SWEEP.yaml): its jobs, ids and how many are done",
     cli::run_plan},
    {"predict", "apply a finished sweep's models to an external store (predict SWEEP_DIR STORE.h5)",
     [](const Args& a) { return cli::hand_off(cli::kTrainingExecutable, "predict", a); }},
    {"report", "a sweep's paper table, tests, curves and HTML page (report OUT_DIR)",
     cli::run_report},
    {"run", "run a whole sweep on the ranks of an MPI job ([mpirun -np N] run SWEEP.yaml)",
     [](const Args& a) { return cli::hand_off(cli::kTrainingExecutable, "run", a); }},
    {"slurm", "run a sweep as a SLURM batch job: slurm submit SWEEP.yaml | status DIR | cancel DIR",
     cli::run_slurm},
    {"status", "show a sweep's jobs: done, running, failed, pending per variant, and an ETA",
     cli::run_status},
    {"synth", "write a phantom data set (synth vcf OUT.h5) with the same schema as real data",
     cli::run_synth},
    {"train", "train and evaluate one job (train JOB.yaml); run again to resume",
     [](const Args& a) { return cli::hand_off(cli::kTrainingExecutable, "train", a); }},
    {"variants", "list every model variant: task, inputs, outputs, tables, defaults (--format json)",
     cli::run_variants},
    {"version", "print the version and the compiled backends", cli::run_version},
};

}  // namespace

int main(int argc, char** argv) {
  fracsweep::datastore::skip_hdf5_exit_cleanup();
  if (argc == 2 && std::string(argv[1]) == "--version") return cli::run_version({});
  return cli::dispatch(argc, argv, kCommands);
}
