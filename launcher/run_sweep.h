// `fracsweep run SWEEP.yaml`: one MPI job runs a whole sweep, resumably.
//
// Every rank calls run_sweep. World rank 0 takes the output folder's lock,
// writes the phantom store on first use, reads the ledger and queues the jobs
// that are not finished (interrupted ones first, then the longest first, so
// the last jobs to finish are short ones), and coordinates (launcher/
// schedule/coordinator.h). Groups of ranks train the jobs they are handed, data-parallel
// inside a group (MPI on CPUs; NCCL on GPUs when built with it). Rank 0 writes
// every record to the run's own ledger (ledger.d/<run or shard>.jsonl), so a
// file has one writer even when shards share a folder on a shared file system,
// and rewrites its progress.d/<run or shard>.json every few seconds for
// `fracsweep status`.
#pragma once

#include <string>

#include "core/log.h"
#include "launcher/mpi.h"

namespace fracsweep::launcher {

struct RunOptions {
  std::string sweep_path;
  int ranks_per_job = 0;         // 0: the sweep file's ranks_per_job
  bool retry_failed = false;     // run jobs whose latest attempt failed again
  double timeout_seconds = 600;  // a group silent for longer is named in the log
  // A group silent for longer aborts the run (every rank, through MPI_Abort):
  // a stopped or hung rank would keep the others waiting in a collective
  // forever. Jobs resume from their checkpoints on the next run.
  double abort_after_seconds = 1800;
  // How long a run waits for another (a shard of the same array) that writes the
  // phantom and sweep.json before it gives up; a large phantom takes minutes.
  double prepare_timeout_seconds = 3600;
  double tick_seconds = 2;       // how often the progress file and the live line are renewed
  size_t bucket_bytes = 0;       // gradient all-reduce bucket; 0: the sync's default
  bool job_progress = false;     // each job's own progress lines (rank 0's group only)
  // Run only the jobs whose index in the sweep is `shard` modulo `shards`
  // (one SLURM array task each); shards lock the folder separately and each
  // writes a ledger of its own (sweeps/ledger.h).
  int shard = 0, shards = 1;
  // Every rank of a node gets a GPU of its own (refused when the node has more
  // ranks than GPUs); otherwise ranks share them (launcher/placement.h).
  bool exclusive_gpus = false;
  // --mlflow URI: track every job in that MLflow server (spec/tracking.h), as the
  // sweep file's tracking.mlflow.uri would; empty: the file's setting.
  std::string mlflow_uri;
};

// Returns the process's exit code, the same on every rank: 0 when every job is
// finished, 1 when some failed (the others ran), 2 for a bad sweep or command
// line, 3 when a stop signal interrupted the sweep (run it again to resume).
// Only rank 0 prints the error of a bad sweep.
int run_sweep(const MpiSession& mpi, const RunOptions& options, core::Logger& log);

}  // namespace fracsweep::launcher
