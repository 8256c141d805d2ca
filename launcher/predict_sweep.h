// `fracsweep predict SWEEP_DIR STORE.h5`: a finished sweep's models applied to
// an external store on the ranks of one MPI job, resumably.
//
// Every finished job (the ledger's word) of the chosen variants applies its
// selected checkpoint to every item of the store (trainer/apply_model.h); then
// world rank 0 averages each variant's jobs (its folds and seeds) into the
// variant's ensemble: the mean probability per item and class, as nnU-Net
// ensembles its folds, and for heatmap models the mean heatmap. The output
// folder (default <SWEEP_DIR>/external/<store's file stem>) holds:
//   predict.json                 the store (path, items, task, size) and --tta:
//                                a rerun into the folder must name the same
//   jobs/<job name>/             per job, the files of its own folder's test part
//                                over the external store: predictions_test.csv,
//                                and heatmaps_test.h5, overlays_test.png (AASN rows)
//   ensembles/<variant>/         the same files for the ensemble, and
//                                ensemble.json naming its members
// Jobs are dealt to ranks round-robin in the manifest's order (job i to rank
// i mod N), so the ranks agree on the deal without talking. A job's files are
// written into jobs/<name>.partial/ and the folder renamed into place when
// complete: a rerun skips the jobs whose folder exists and starts any partial
// one afresh. Ensembles are rebuilt on every run (they are cheap), from the
// same files in the same order, so a killed and rerun predict ends with the
// same bytes as one uninterrupted run on the same number of ranks and threads.
#pragma once

#include <string>
#include <vector>

#include "core/log.h"
#include "launcher/mpi.h"

namespace fracsweep::launcher {

struct PredictOptions {
  std::string sweep_dir;  // a sweep's output folder (sweep.json, ledger, job folders)
  std::string store;      // the external store (.h5), of the sweep's task and image size
  std::string out;        // "" for <sweep_dir>/external/<store's stem>
  std::vector<std::string> variants;  // the sweep's variants to apply; empty: all
  bool tta = false;       // average with the horizontally flipped input (vertebra task)
  std::string device = "auto";  // cpu, cuda or auto (CUDA when a GPU is visible)
  // Items per forward pass; 0: each job's train.batch_size. Larger pays a
  // small model's per-operator overhead less often, for more memory.
  int batch = 0;
  // CPU: batches computed at once, each on one thread (trainer/evaluate.h,
  // Note [Inference streams]); 0: one per intra-op thread of the rank.
  int streams = 0;
};

// The output folder `options` name.
std::string predict_output_dir(const PredictOptions& options);

// Returns the exit code, the same on every rank: 0 when every job and ensemble
// is written, 1 when a job failed (the others are written; run again), 2 for
// bad input (only rank 0 prints it; nothing is written).
int predict_sweep(const MpiSession& mpi, const PredictOptions& options, core::Logger& log);

}  // namespace fracsweep::launcher
