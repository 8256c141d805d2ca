// `fracsweep bench train JOB.yaml`: seconds per training step of a job;
// `bench allreduce|handout` (launcher/bench_*.h) measure the MPI side. Run by
// fracsweep-train; `fracsweep bench` hands these over (cli/cmd_bench.cpp).
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "launcher/bench_allreduce.h"
#include "launcher/bench_handout.h"
#include "launcher/commands.h"
#include "spec/job_config.h"
#include "trainer/train_bench.h"

namespace fracsweep::launcher {
namespace {

// Seconds per optimizer step of a job's model: compute only, and end to end
// with the loader.
int bench_train(const Args& args) {
  namespace po = boost::program_options;
  std::string path;
  int steps = 10, warmup = 2;
  po::options_description options(
      "usage: fracsweep bench train JOB.yaml [options]\n\n"
      "Seconds per training step of the job's model and settings: on one batch held in\n"
      "memory (compute only), and with batches from the loader (end to end), on the job's\n"
      "train.device and train.precision; data_wait_share is the part of an end-to-end step\n"
      "spent waiting for the loader.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("steps", po::value(&steps)->default_value(steps), "timed steps")
      ("warmup", po::value(&warmup)->default_value(warmup), "untimed steps first")
      ("json", "print one JSON object instead of a table");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep bench train JOB.yaml", &vm)) return kExitOk;
  const spec::JobConfig job = spec::load_job_config(path);
  const auto r = trainer::bench_training(job, steps, warmup);
  print_measures({{"job", path},
         {"variant", job.model.variant},
         {"device", r.device},
         {"batch_size", r.batch_size},
         {"threads", r.threads},
         {"steps", r.steps},
         {"compute_s_per_step", r.compute_s_per_step},
         {"end_to_end_s_per_step", r.end_to_end_s_per_step},
         {"compute_samples_per_s", r.batch_size / r.compute_s_per_step},
         {"end_to_end_samples_per_s", r.batch_size / r.end_to_end_s_per_step},
         {"data_wait_share", r.data_wait_s_per_step / r.end_to_end_s_per_step}},
        vm.count("json") > 0);
  return kExitOk;
}

// Seconds per AASN training step on inputs held in memory.
int bench_aasn(const Args& args) {
  namespace po = boost::program_options;
  trainer::AasnBenchOptions o;
  po::options_description options(
      "usage: fracsweep bench aasn [options]\n\n"
      "Seconds per training step of AASN (or one of its Table 2 rows) on random inputs held\n"
      "in memory: both branches, L_b + 0.5 L_c, backward and Adam, on the CPU. Compare with\n"
      "the same model in Python: bench/aasn_vs_pytorch.py.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("row", po::value(&o.row)->default_value(o.row),
       "vanilla, ff, ff-fa, ff-cl, ff-fa-cl-noproj or aasn")
      ("growth-rate", po::value(&o.growth_rate)->default_value(o.growth_rate),
       "DenseNet growth rate (32 = DenseNet-121)")
      ("height", po::value(&o.height)->default_value(o.height), "image height, a multiple of 32")
      ("width", po::value(&o.width)->default_value(o.width), "image width, a multiple of 32")
      ("batch", po::value(&o.batch)->default_value(o.batch), "images per step")
      ("steps", po::value(&o.steps)->default_value(o.steps), "timed steps")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed steps first")
      ("threads", po::value(&o.threads)->default_value(o.threads), "intra-op threads (0: the cores)")
      ("json", "print one JSON object instead of a table");
  po::variables_map vm;
  if (!parse_flags(args, options, &vm)) return kExitOk;
  const auto r = trainer::bench_aasn_step(o);
  print_measures({{"row", o.row},
                  {"growth_rate", o.growth_rate},
                  {"input", std::to_string(o.batch) + "x" + std::to_string(o.height) + "x" +
                                std::to_string(o.width)},
                  {"threads", r.threads},
                  {"parameters", r.parameters},
                  {"steps", o.steps},
                  {"s_per_step", r.s_per_step}},
                 vm.count("json") > 0);
  return kExitOk;
}

}  // namespace

int run_bench(const Args& args) {
  CHECK_OR_THROW(core::ConfigError, !args.empty(), "which benchmark? (see fracsweep bench --help)");
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "train") return bench_train(rest);
  if (args[0] == "allreduce") return bench_allreduce(rest);
  if (args[0] == "handout") return bench_handout(rest);
  if (args[0] == "aasn") return bench_aasn(rest);
  throw core::ConfigError(
      core::str_cat("unknown benchmark '", args[0], "' (see fracsweep bench --help)"));
}

}  // namespace fracsweep::launcher
