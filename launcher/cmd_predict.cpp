// `fracsweep predict SWEEP_DIR STORE.h5`: a finished sweep's models applied to
// an external store, per job and ensembled per variant (predict_sweep.h).
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cli/options.h"
#include "core/error.h"
#include "core/log.h"
#include "launcher/commands.h"
#include "launcher/mpi.h"
#include "launcher/predict_sweep.h"

namespace fracsweep::launcher {

int run_predict(const Args& args) {
  namespace po = boost::program_options;
  PredictOptions o;
  std::string level = "info", variants;
  po::options_description options(
      "usage: [mpirun -np N | srun] fracsweep predict SWEEP_DIR STORE.h5 [options]\n\n"
      "Applies every finished job's selected checkpoint (the one its evaluation used) to every\n"
      "item of an external store of the sweep's task and image size, on the ranks of one MPI\n"
      "job, and averages each variant's jobs (folds and seeds) into its ensemble. Writes\n"
      "jobs/<job>/ and ensembles/<variant>/ (predictions_test.csv; heatmaps_test.h5 and\n"
      "overlays_test.png for AASN rows) under the output folder. Run it again to resume:\n"
      "finished jobs are skipped. Report it with `fracsweep report SWEEP_DIR --external OUT`.\n"
      "Exit codes: 0 done, 1 some job failed, 2 bad input.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("variants", po::value(&variants), "comma-separated variants to apply (default: all)")
      ("out", po::value(&o.out), "output folder (default: SWEEP_DIR/external/<store's stem>)")
      ("tta", "test-time augmentation: average with the horizontally flipped input "
              "(vertebra task only)")
      ("device", po::value(&o.device)->default_value(o.device), "cpu, cuda or auto")
      ("batch", po::value(&o.batch)->default_value(o.batch),
       "items per forward pass (0: each job's training batch size); any size gives the same "
       "probabilities up to rounding")
      ("streams", po::value(&o.streams)->default_value(o.streams),
       "CPU: batches computed at once, each on one thread (0: one per core of the rank; 1: one "
       "batch at a time on all of them)")
      ("log-level", po::value(&level)->default_value(level), "debug, info, warn, error or off");
  po::variables_map vm;
  if (!cli::parse_with_positionals(args, options, {&o.sweep_dir, &o.store},
                                   "fracsweep predict SWEEP_DIR STORE.h5", &vm))
    return kExitOk;
  const auto log_level = core::parse_log_level(level);
  CHECK_OR_THROW(core::ConfigError, log_level.has_value(), "--log-level '", level,
                 "' is unknown (debug, info, warn, error, off)");
  CHECK_OR_THROW(core::ConfigError, o.batch >= 0, "--batch ", o.batch,
                 " must be a positive number of items (or 0 for each job's training batch size)");
  CHECK_OR_THROW(core::ConfigError, o.streams >= 0, "--streams ", o.streams,
                 " must be a positive number of batches (or 0 for one per core)");
  o.tta = vm.count("tta") > 0;
  std::istringstream list(variants);
  for (std::string v; std::getline(list, v, ',');)
    if (!v.empty()) o.variants.push_back(v);
  // Started without mpirun, Open MPI's singleton start-up forks a run-time
  // daemon (orted) and tears it down at the end, which predict never uses
  // (it spawns nothing): isolated, a lone process starts about 0.2 s sooner.
  // Under mpirun or srun the setting is not read; one given by the user wins.
  ::setenv("OMPI_MCA_ess_singleton_isolated", "1", /*overwrite=*/0);
  MpiSession mpi;
  core::Logger log(*log_level, std::cerr);
  log.set_context(core::str_cat("rank ", mpi.world_rank(), "/", mpi.world_size()));
  try {
    return predict_sweep(mpi, o, log);
  } catch (const core::ConfigError&) {
    throw;  // every rank agreed on it: no peer waits (predict_sweep.h)
  } catch (const std::exception& e) {
    if (mpi.world_size() == 1) throw;
    log.error(e.what(), "; aborting every rank (run the same command again to resume)");
    mpi.abort(kExitFailure);
  }
}

}  // namespace fracsweep::launcher
