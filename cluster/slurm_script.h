// The batch script that runs a sweep under SLURM, and the sbatch command line
// that submits it.
//
// The script runs `srun fracsweep run SWEEP.yaml` with one rank per GPU (or
// per task on CPU partitions). SLURM is asked to send SIGUSR1 a lead time
// before the time limit (--signal=B:USR1@lead); the script forwards USR1 or
// TERM to the step, so every rank checkpoints its job and `fracsweep run`
// exits with code 3, and then requeues itself (scontrol requeue) up to a
// limit; the requeued job resumes the sweep. USR1 (time limit near) and TERM
// (preemption or scancel) are logged as what they are. The log is appended to
// across requeues.
//
// Nothing the user wrote reaches the script as code: paths are single-quoted
// (shell.h), and #SBATCH values are checked against narrow character sets
// (validate()) or, for the job name, cleaned.
#pragma once

#include <string>
#include <vector>

namespace fracsweep::cluster {

struct SlurmOptions {
  int nodes = 1;
  int gpus_per_node = 0;   // 0: a CPU partition
  int tasks_per_node = 0;  // ranks per node; 0: gpus_per_node, or 1 without GPUs
  // CPUs per rank; 0: SLURM's default of one. `fracsweep slurm submit` sets it from the
  // sweep when not given (with_sweep_defaults), so that a rank's loader workers and
  // training threads do not share one core.
  int cpus_per_task = 0;
  // Why cpus_per_task has its value: written as a comment above it in the script (one
  // line of text; empty: none).
  std::string cpus_per_task_reason;
  // The CPUs of a node, when known, for the warning of node_warnings(); 0: unknown.
  int cpus_per_node = 0;
  // Every rank of a node gets a GPU of its own (fracsweep run --exclusive-gpus), so
  // ranks per node must not exceed gpus_per_node.
  bool exclusive_gpus = false;
  std::string time = "01:00:00";  // [D-]HH:MM:SS
  std::string partition, account, mem;  // empty: SLURM's default
  int signal_lead_s = 300;  // USR1 this long before the time limit
  int max_requeues = 10;    // the script requeues itself at most this often
  int ranks_per_job = 0;    // passed to `fracsweep run`; 0: the sweep's
  std::string mpi = "pmix";  // srun --mpi
  // > 0: a job array of this many tasks, each running the shard of the sweep
  // whose job indices equal its task id modulo `array` (fracsweep run --shard)
  // with the resources above; the tasks share the sweep's ledger.
  int array = 0;
};

// Throws core::ConfigError naming the option whose value is out of range or
// holds characters SLURM options cannot (e.g. a partition with a space).
void validate(const SlurmOptions& options);

// Ranks of the SLURM job (of each task of an array): nodes × tasks per node.
int slurm_ranks(const SlurmOptions& options);

// Ranks on each node: tasks_per_node, or gpus_per_node (one rank per GPU), or 1.
int ranks_per_node(const SlurmOptions& options);

// What a sweep asks of the ranks that run it, to check a submission against
// before it is queued (filled from the sweep by `fracsweep slurm submit`).
struct SweepNeeds {
  std::string path;        // the sweep file, for messages
  int ranks_per_job = 1;   // as `fracsweep run` will use it
  std::string ranks_from = "ranks_per_job 1";  // where it was set, e.g. "--ranks-per-job 2"
  std::string cuda_job;    // the first job with train.device: cuda; empty: none
  bool gpu_jobs = true;    // some job trains on a GPU where one is visible (device auto or cuda)
  // The job that needs the most CPUs per rank: its train.loader_workers and train.threads
  // (0: the rank's share of the node's cores), and its name.
  int loader_workers = 0, threads = 0;
  std::string cpu_job;
};

// `options` with what the sweep decides filled in: without a --cpus-per-task, one
// CPU per loader worker plus one per training thread of a rank (train.threads 0
// counted as one), with the reason for the script.
SlurmOptions with_sweep_defaults(SlurmOptions options, const SweepNeeds& needs);

// Throws core::ConfigError naming the sweep file, the key or option, its value and
// the fix, when the SLURM job asked for could not run the sweep: ranks_per_job does not
// divide its ranks (fracsweep run would refuse to start); the ranks of a data-parallel
// group on one node would share a GPU (NCCL cannot); with exclusive GPUs, more ranks
// per node than GPUs; a job with train.device: cuda and no GPUs asked for.
void check_sweep_fits(const SlurmOptions& options, const SweepNeeds& needs);

// Warnings (one line each, none when all is well) about resources the job asks
// for but would not use well: the CPUs its ranks ask for beyond a node's
// (cpus_per_node, when known), GPUs left without a rank.
std::vector<std::string> node_warnings(const SlurmOptions& options);

struct SweepPaths {
  std::string name;     // the sweep's name (becomes the job name, cleaned)
  std::string sweep;    // the sweep file, absolute
  std::string output;   // the sweep's output folder, absolute
  std::string binary;   // the fracsweep binary, absolute
  std::string workdir;  // where `fracsweep run` runs (relative paths in the sweep resolve here)
};

// <output>/slurm/cancelled: while it exists, an interrupted batch script does
// not requeue itself (written by `fracsweep slurm cancel`).
std::string cancel_marker(const std::string& output);

// The batch script's text.
std::string batch_script(const SlurmOptions& options, const SweepPaths& paths);

// The sbatch command line (argv, no shell) for `script_path`; --parsable so
// that sbatch prints just the job id. The log goes to <output>/slurm/slurm-%j.log
// (slurm-%A_%a.log for an array task).
std::vector<std::string> sbatch_command(const SlurmOptions& options, const SweepPaths& paths,
                                        const std::string& script_path);

}  // namespace fracsweep::cluster
