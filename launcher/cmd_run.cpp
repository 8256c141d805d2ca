// `fracsweep run SWEEP.yaml`: runs a sweep on every rank of an MPI job.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/log.h"
#include "cli/options.h"
#include "launcher/commands.h"
#include "launcher/mpi.h"
#include "launcher/run_sweep.h"

namespace fracsweep::launcher {

int run_run(const Args& args) {
  namespace po = boost::program_options;
  RunOptions o;
  std::string level = "info";
  double bucket_mib = 0;
  po::options_description options(
      "usage: [mpirun -np N | srun] fracsweep run SWEEP.yaml [options]\n\n"
      "Runs every job of a sweep on the ranks of one MPI job: groups of --ranks-per-job ranks\n"
      "take jobs as they become free and train each one data-parallel. Results go to the\n"
      "sweep's output folder: one folder per job and the ledger (ledger.d/). Run the same command again\n"
      "to resume: finished jobs are skipped, interrupted ones continue from their checkpoint.\n"
      "Watch it with `fracsweep status OUT_DIR`. Exit codes: 0 all jobs finished, 1 some\n"
      "failed, 2 bad input, 3 interrupted by a signal (run again to resume).\n\noptions");
  options.add_options()("help,h", "print this help")
      ("ranks-per-job", po::value(&o.ranks_per_job),
       "ranks that train one job together (data-parallel); default: the sweep's ranks_per_job")
      ("retry-failed", "run the jobs whose latest attempt failed again")
      ("timeout", po::value(&o.timeout_seconds)->default_value(o.timeout_seconds),
       "seconds of silence after which a group is named as possibly stuck")
      ("abort-after", po::value(&o.abort_after_seconds)->default_value(o.abort_after_seconds),
       "seconds of silence after which a group's rank is taken for stopped or hung and the run "
       "is aborted (jobs resume from their checkpoints when run again)")
      ("prepare-timeout", po::value(&o.prepare_timeout_seconds)->default_value(o.prepare_timeout_seconds),
       "seconds to wait for another run (a shard of the same array) that writes the sweep's "
       "phantom and sweep.json, before giving up")
      ("bucket-mib", po::value(&bucket_mib), "gradient all-reduce bucket size in MiB (default 8)")
      ("job-progress", "also show rank 0's per-step progress of its jobs")
      ("exclusive-gpus", "give every rank of a node a GPU of its own and refuse to start with "
       "more ranks than GPUs (default: ranks share GPUs, node-local rank mod GPUs)")
      ("shard", po::value<std::string>(),
       "I/K: run only the jobs whose index is I modulo K (one SLURM array task each)")
      ("mlflow", po::value(&o.mlflow_uri),
       "URI: track every job as a run in this MLflow server (http://HOST:PORT), as the sweep "
       "file's tracking: {mlflow: {uri: ...}} does")
      ("log-level", po::value(&level)->default_value(level), "debug, info, warn, error or off");
  po::variables_map vm;
  if (!parse_with_positional(args, options, o.sweep_path, "fracsweep run SWEEP.yaml", &vm))
    return kExitOk;
  const auto log_level = core::parse_log_level(level);
  CHECK_OR_THROW(core::ConfigError, log_level.has_value(), "--log-level '", level,
                 "' is unknown (debug, info, warn, error, off)");
  CHECK_OR_THROW(core::ConfigError, o.timeout_seconds > 0, "--timeout must be positive");
  CHECK_OR_THROW(core::ConfigError, o.abort_after_seconds > o.timeout_seconds, "--abort-after (",
                 o.abort_after_seconds, ") must be longer than --timeout (", o.timeout_seconds, ")");
  CHECK_OR_THROW(core::ConfigError, o.prepare_timeout_seconds > 0,
                 "--prepare-timeout must be positive");
  CHECK_OR_THROW(core::ConfigError, bucket_mib >= 0, "--bucket-mib must not be negative");
  o.bucket_bytes = static_cast<size_t>(bucket_mib * (1 << 20));
  o.retry_failed = vm.count("retry-failed") > 0;
  o.job_progress = vm.count("job-progress") > 0;
  o.exclusive_gpus = vm.count("exclusive-gpus") > 0;
  if (vm.count("shard")) {
    const std::string text = vm["shard"].as<std::string>();
    const auto slash = text.find('/');
    try {
      CHECK_OR_THROW(core::ConfigError, slash != std::string::npos, "no slash");
      size_t used = 0;
      o.shard = std::stoi(text.substr(0, slash), &used);
      CHECK_OR_THROW(core::ConfigError, used == slash, "junk");
      o.shards = std::stoi(text.substr(slash + 1), &used);
      CHECK_OR_THROW(core::ConfigError, used == text.size() - slash - 1, "junk");
    } catch (const std::exception&) {
      o.shards = 0;
    }
    CHECK_OR_THROW(core::ConfigError, o.shards >= 1 && o.shard >= 0 && o.shard < o.shards,
                   "--shard '", text, "' is not I/K with 0 <= I < K (e.g. 3/8)");
  }

  MpiSession mpi;
  mpi.limit_finalize(o.abort_after_seconds);
  core::Logger log(*log_level, std::cerr);
  log.set_context(core::str_cat("rank ", mpi.world_rank(), "/", mpi.world_size()));
  try {
    return run_sweep(mpi, o, log);
  } catch (const std::exception& e) {
    // Peers may be blocked in a collective this rank will never join: only an
    // abort releases them. The ledger and checkpoints let a rerun resume.
    if (mpi.world_size() == 1) throw;
    log.error(e.what(), "; aborting every rank (run the same command again to resume)");
    mpi.abort(kExitFailure);
  }
}

}  // namespace fracsweep::launcher
