// `fracsweep status OUT_DIR`: how far a sweep has got, from the files in its output folder.
//
// Only reads: it works while `fracsweep run` is going (from another shell, another node, a
// login node) and after it stopped, and needs neither the sweep file nor MPI.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/log.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "sweeps/ledger.h"
#include "sweeps/status.h"

namespace fracsweep::cli {

int run_status(const Args& args) {
  namespace po = boost::program_options;
  std::string dir;
  po::options_description options(
      "usage: fracsweep status OUT_DIR [options]\n\n"
      "Prints how the jobs of a sweep stand, per variant: done, running, failed, pending and\n"
      "interrupted (started by a run that stopped; the next run resumes them), an estimate of\n"
      "the time left, and the failed jobs with their errors. OUT_DIR is the sweep's output\n"
      "folder (the `output:` of its sweep file), where fracsweep run keeps sweep.json,\n"
      "the progress and ledger files (progress.d/, ledger.d/).\n\noptions");
  options.add_options()("help,h", "print this help")("json", "print the status as JSON");
  po::variables_map vm;
  if (!parse_with_positional(args, options, dir, "fracsweep status OUT_DIR", &vm)) return kExitOk;

  // Warnings (a torn last ledger line while a run appends) go to stderr, apart from the result.
  core::Logger log(core::LogLevel::kWarn, std::cerr);
  const sweeps::SweepStatus status = sweeps::read_sweep_status(dir, log);
  if (vm.count("json")) {
    // `replace`: a name or an error quoting bytes that are not UTF-8 must not stop the report.
    std::cout << sweeps::to_json(status).dump(2, ' ', false,
                                              nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << sweeps::format_status(status);
  }
  return kExitOk;
}

}  // namespace fracsweep::cli
