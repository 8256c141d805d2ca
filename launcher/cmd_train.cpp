// `fracsweep train JOB.yaml`: train and evaluate one job, without MPI.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/log.h"
#include "cli/options.h"
#include "launcher/commands.h"
#include "spec/job_config.h"
#include "trainer/stop_signals.h"
#include "trainer/train_job.h"
#include "tracking/job_tracking.h"

namespace fracsweep::launcher {

int run_train(const Args& args) {
  namespace po = boost::program_options;
  std::string path, level = "info";
  po::options_description options(
      "usage: fracsweep train JOB.yaml [options]\n\n"
      "Trains and evaluates one job (a model variant, a split, training settings) and writes\n"
      "config.yaml, split.json, log.jsonl, checkpoints, predictions_{val,test}.csv and\n"
      "metrics.json into the job's output folder. Run it again to resume an interrupted job.\n"
      "SIGINT, SIGTERM and SIGUSR1 checkpoint and exit with code 3.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("no-progress", "no progress bar or progress lines")
      ("log-level", po::value(&level)->default_value(level), "debug, info, warn, error or off");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep train JOB.yaml", &vm)) return kExitOk;
  const auto log_level = core::parse_log_level(level);
  CHECK_OR_THROW(core::ConfigError, log_level.has_value(), "--log-level '", level,
                 "' is unknown (debug, info, warn, error, off)");
  core::Logger log(*log_level, std::cerr);
  const spec::JobConfig job = spec::load_job_config(path);
  log.set_context("job=" + job.name);
  trainer::TrainRunOptions run;
  run.progress = vm.count("no-progress") == 0;
  // TensorBoard's event files in the job's tb/ (tracking/tensorboard.h).
  tracking::RunInfo info;
  info.dir = job.output;
  info.name = job.name;
  info.variant = job.model.variant;
  info.part = job.data.split == "kfold" ? core::str_cat("fold", job.data.fold)
                                         : core::str_cat("repeat", job.data.repeat);
  info.seed = job.train.seed;
  info.headline = job.train.selection_metric;
  tracking::JobTracking tracker(std::move(info), spec::TrackingSpec{}, nullptr, "", "", log);
  run.observer = &tracker;
  return trainer::train_job(job, log, run);
}

}  // namespace fracsweep::launcher
