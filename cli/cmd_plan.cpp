// `fracsweep plan SWEEP.yaml`: the jobs a sweep expands to, and how many are done.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <map>

#include "core/error.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "sweeps/sweep.h"

namespace fracsweep::cli {

int run_plan(const Args& args) {
  namespace po = boost::program_options;
  std::string path;
  int ranks_per_job = 0;
  po::options_description options(
      "usage: fracsweep plan SWEEP.yaml [options]\n\n"
      "Expands a sweep file and prints its jobs (name and stable id) and how many are\n"
      "already done in the output folder. Refuses (exit 2) a sweep that `fracsweep run`\n"
      "would refuse, or whose jobs would fail on their settings when they start.\n\noptions");
  options.add_options()("help,h", "print this help")("quiet,q", "counts only, no job list")
      ("ranks-per-job", po::value(&ranks_per_job),
       "check the jobs against this many ranks per job, as fracsweep run --ranks-per-job "
       "(default: the sweep's ranks_per_job)");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep plan SWEEP.yaml", &vm)) return kExitOk;
  const sweeps::Sweep s = sweeps::load_sweep(path, ranks_per_job);
  size_t done = 0;
  std::map<std::string, std::pair<size_t, size_t>> per_variant;  // done, total
  for (const auto& j : s.jobs) {
    const bool finished = std::filesystem::exists(std::filesystem::path(j.config.output) / "metrics.json");
    done += finished;
    auto& [d, t] = per_variant[j.variant];
    d += finished;
    ++t;
  }
  std::cout << fmt::format("{}: sweep '{}', {} jobs, {} done, {} to run; output {}\n", path, s.name,
                           s.jobs.size(), done, s.jobs.size() - done, s.output)
            << fmt::format("dataset: {}{}; {} rank(s) per job\n", s.store,
                           s.synthesise ? " (phantom, written on first run)" : "", s.ranks_per_job);
  for (const auto& [variant, counts] : per_variant)
    std::cout << fmt::format("  {:<28} {:4} jobs, {:4} done\n", variant, counts.second, counts.first);
  if (vm.count("quiet")) return kExitOk;
  std::cout << "\n";
  for (const auto& j : s.jobs) {
    const bool finished = std::filesystem::exists(std::filesystem::path(j.config.output) / "metrics.json");
    std::cout << fmt::format("{}  {:<5} {}\n", j.id, finished ? "done" : "", j.name);
  }
  return kExitOk;
}

}  // namespace fracsweep::cli
