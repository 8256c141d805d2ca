// `fracsweep slurm submit|status|cancel`: a sweep as a SLURM batch job.
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/process.h"
#include "cluster/shell.h"
#include "cluster/slurm_script.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "sweeps/ledger.h"
#include "sweeps/status.h"
#include "sweeps/sweep.h"

namespace fracsweep::cli {
namespace {

namespace fs = std::filesystem;

// <output>/slurm/jobs.txt: one line per submission, "JOBID TIME SCRIPT".
std::string jobs_file(const std::string& output) { return output + "/slurm/jobs.txt"; }

std::vector<std::string> submitted_jobs(const std::string& output) {
  std::vector<std::string> ids;
  if (!fs::exists(jobs_file(output))) return ids;
  std::istringstream in(core::read_file(jobs_file(output)));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string id;
    if (words >> id) ids.push_back(id);
  }
  return ids;
}

std::string self_binary() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  CHECK_OR_THROW(core::IoError, !ec, "cannot find the fracsweep binary (/proc/self/exe): ",
                 ec.message());
  return p.string();
}

// What the sweep asks of the SLURM job's ranks (cluster::check_sweep_fits).
cluster::SweepNeeds needs_of(const sweeps::Sweep& sweep, bool ranks_from_command_line) {
  cluster::SweepNeeds n;
  n.path = sweep.path;
  n.ranks_per_job = sweep.ranks_per_job;
  n.ranks_from = core::str_cat(ranks_from_command_line ? "--ranks-per-job " : "ranks_per_job ",
                               sweep.ranks_per_job);
  n.gpu_jobs = false;
  int most_cpus = 0;
  for (const sweeps::SweepJob& job : sweep.jobs) {
    const spec::TrainConfig& t = job.config.train;
    if (t.device == "cuda" && n.cuda_job.empty()) n.cuda_job = job.name;
    n.gpu_jobs = n.gpu_jobs || t.device != "cpu";
    const int cpus = t.loader_workers + std::max(t.threads, 1);
    if (cpus > most_cpus) {
      most_cpus = cpus;
      n.loader_workers = t.loader_workers;
      n.threads = t.threads;
      n.cpu_job = job.name;
    }
  }
  return n;
}

int submit(const Args& args) {
  namespace po = boost::program_options;
  cluster::SlurmOptions o;
  std::string path;
  po::options_description options(
      "usage: fracsweep slurm submit SWEEP.yaml [options]\n\n"
      "Writes a batch script that runs `srun fracsweep run SWEEP.yaml` (one rank per GPU, or\n"
      "per task on CPU partitions) into <output>/slurm/ and submits it with sbatch. The sweep\n"
      "is checked against the ranks, GPUs and CPUs asked for before anything is queued. The job\n"
      "asks for SIGUSR1 --signal-lead seconds before its time limit; on USR1 or TERM every\n"
      "running job checkpoints and the script requeues itself (up to --max-requeues times),\n"
      "and the requeued job resumes the sweep.\n\noptions");
  options.add_options()("help,h", "print this help")
      ("nodes", po::value(&o.nodes)->default_value(o.nodes), "nodes")
      ("gpus-per-node", po::value(&o.gpus_per_node)->default_value(o.gpus_per_node),
       "GPUs per node, one rank each; 0 for a CPU partition")
      ("tasks-per-node", po::value(&o.tasks_per_node),
       "ranks per node (default: --gpus-per-node, or 1)")
      ("time", po::value(&o.time)->default_value(o.time), "time limit, [D-]HH:MM:SS")
      ("partition", po::value(&o.partition), "partition")
      ("account", po::value(&o.account), "account")
      ("cpus-per-task", po::value(&o.cpus_per_task),
       "CPUs per rank (default: the sweep's train.loader_workers + train.threads, the most "
       "any job needs)")
      ("cpus-per-node", po::value(&o.cpus_per_node),
       "the nodes' CPUs: warn when the ranks of a node ask for more")
      ("exclusive-gpus", "give every rank a GPU of its own (fracsweep run --exclusive-gpus); "
       "refused with more ranks per node than GPUs")
      ("mem", po::value(&o.mem), "memory per node, e.g. 64G")
      ("ranks-per-job", po::value(&o.ranks_per_job), "ranks per job (default: the sweep's)")
      ("signal-lead", po::value(&o.signal_lead_s)->default_value(o.signal_lead_s),
       "seconds before the time limit at which SLURM sends USR1")
      ("max-requeues", po::value(&o.max_requeues)->default_value(o.max_requeues),
       "how often the job may requeue itself")
      ("mpi", po::value(&o.mpi)->default_value(o.mpi), "srun --mpi type (Open MPI: pmix)")
      ("array", po::value(&o.array),
       "submit a job array of this many tasks, each running its share of the sweep's jobs "
       "with the resources above")
      ("dry-run", "print the script and the sbatch command; submit nothing");
  po::variables_map vm;
  if (!parse_with_positional(args, options, path, "fracsweep slurm submit SWEEP.yaml", &vm))
    return kExitOk;
  o.exclusive_gpus = vm.count("exclusive-gpus") > 0;
  cluster::validate(o);
  // Everything the SLURM job would fail on is refused here, before it is queued.
  const sweeps::Sweep sweep = sweeps::load_sweep(path, o.ranks_per_job);
  const cluster::SweepNeeds needs = needs_of(sweep, o.ranks_per_job > 0);
  cluster::check_sweep_fits(o, needs);
  o = cluster::with_sweep_defaults(o, needs);
  for (const std::string& w : cluster::node_warnings(o)) std::cerr << "warning: " << w << "\n";
  cluster::SweepPaths p;
  p.name = sweep.name;
  p.sweep = fs::absolute(path).lexically_normal().string();
  p.output = fs::absolute(sweep.output).lexically_normal().string();
  p.workdir = fs::current_path().string();
  p.binary = self_binary();
  const std::string script = cluster::batch_script(o, p);
  const std::string script_path =
      p.output + "/slurm/" + "submit-" + std::to_string(submitted_jobs(p.output).size() + 1) + ".sh";
  std::vector<std::string> command = cluster::sbatch_command(o, p, script_path);
  if (vm.count("dry-run")) {
    std::string line;
    for (const std::string& a : command) line += (line.empty() ? "" : " ") + cluster::shell_quote(a);
    std::cout << "# " << script_path << " (" << cluster::slurm_ranks(o) << " ranks)\n"
              << script << "\n# submit with:\n# " << line << "\n";
    return kExitOk;
  }
  fs::create_directories(p.output + "/slurm");
  fs::remove(cluster::cancel_marker(p.output));
  core::write_file_atomic(script_path, script);
  fs::permissions(script_path, fs::perms::owner_exec, fs::perm_options::add);
  const core::ProcessResult r = core::run_process(command);
  CHECK_OR_THROW(core::ClusterError, r.exit_code == 0, "sbatch failed (exit code ", r.exit_code,
                 "): ", r.err.empty() ? r.out : r.err);
  const std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
  CHECK_OR_THROW(core::ClusterError, !id.empty(), "sbatch printed no job id: ", r.out);
  std::ofstream(jobs_file(p.output), std::ios::app)
      << id << " " << core::utc_now_iso8601() << " " << script_path << "\n";
  std::cout << fmt::format(
      "submitted SLURM job {} ({} ranks{}); log {}/slurm/slurm-{}.log\n"
      "watch it with: fracsweep slurm status {}\n",
      id, cluster::slurm_ranks(o), o.array > 0 ? fmt::format(" in each of {} array tasks", o.array) : "",
      p.output, o.array > 0 ? id + "_TASK" : id, cluster::shell_quote(p.output));
  return kExitOk;
}

int status(const Args& args) {
  namespace po = boost::program_options;
  std::string dir;
  po::options_description options(
      "usage: fracsweep slurm status OUT_DIR\n\n"
      "The SLURM jobs submitted for a sweep (from squeue, and sacct where accounting is on)\n"
      "and the sweep's own status.\n\noptions");
  options.add_options()("help,h", "print this help");
  if (!parse_with_positional(args, options, dir, "fracsweep slurm status OUT_DIR")) return kExitOk;
  const std::vector<std::string> ids = submitted_jobs(dir);
  CHECK_OR_THROW(core::ConfigError, !ids.empty(), dir,
                 ": no SLURM job was submitted for this folder (no slurm/jobs.txt); submit with "
                 "fracsweep slurm submit SWEEP.yaml");
  std::string list;
  for (const std::string& id : ids) list += (list.empty() ? "" : ",") + id;
  const auto queue = core::run_process({"squeue", "-h", "-j", list, "-o", "%i %T %M %l %R"});
  std::cout << "SLURM jobs " << list << ":\n";
  if (queue.exit_code == 0 && !queue.out.empty()) {
    std::cout << queue.out;
  } else {
    std::cout << "  none in the queue now" << (queue.exit_code ? " (squeue: " + queue.err + ")" : "")
              << "\n";
  }
  const auto acct = core::run_process({"sacct", "-n", "-X", "-P", "-j", list, "-o",
                                          "JobID,State,Elapsed,ExitCode"});
  if (acct.exit_code == 0 && !acct.out.empty()) std::cout << "accounting:\n" << acct.out;
  std::cout << "\n";
  core::Logger quiet(core::LogLevel::kError);
  std::cout << sweeps::format_status(sweeps::read_sweep_status(dir, quiet));
  return kExitOk;
}

int cancel(const Args& args) {
  namespace po = boost::program_options;
  std::string dir;
  po::options_description options(
      "usage: fracsweep slurm cancel OUT_DIR\n\n"
      "Cancels the sweep's SLURM jobs. Running jobs checkpoint and are not requeued; a later\n"
      "fracsweep slurm submit resumes the sweep.\n\noptions");
  options.add_options()("help,h", "print this help");
  if (!parse_with_positional(args, options, dir, "fracsweep slurm cancel OUT_DIR")) return kExitOk;
  const std::vector<std::string> ids = submitted_jobs(dir);
  CHECK_OR_THROW(core::ConfigError, !ids.empty(), dir,
                 ": no SLURM job was submitted for this folder (no slurm/jobs.txt)");
  core::write_file_atomic(cluster::cancel_marker(dir), core::utc_now_iso8601() + "\n");
  // TERM to the batch shell: it forwards it to the step, whose ranks checkpoint.
  std::vector<std::string> command = {"scancel", "--signal=TERM", "--batch"};
  command.insert(command.end(), ids.begin(), ids.end());
  const auto r = core::run_process(command);
  std::cout << "asked SLURM jobs";
  for (const auto& id : ids) std::cout << " " << id;
  std::cout << " to stop (they checkpoint and are not requeued)"
            << (r.exit_code ? "; scancel: " + r.err : std::string("\n"));
  return kExitOk;
}

}  // namespace

int run_slurm(const Args& args) {
  static constexpr const char* kHelp =
      "usage: fracsweep slurm <command> ...\n\n"
      "  submit SWEEP.yaml   write a batch script for the sweep and submit it (sbatch)\n"
      "  status OUT_DIR      the sweep's SLURM jobs and its progress\n"
      "  cancel OUT_DIR      stop the sweep's SLURM jobs (they checkpoint, no requeue)\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "submit") return submit(rest);
  if (args[0] == "status") return status(rest);
  if (args[0] == "cancel") return cancel(rest);
  throw core::ConfigError(core::str_cat("unknown slurm command '", args[0],
                                        "' (submit, status, cancel)"));
}

}  // namespace fracsweep::cli
