// See slurm_script.h.
#include "cluster/slurm_script.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "cluster/shell.h"
#include "core/error.h"

namespace fracsweep::cluster {
namespace {

void check_matches(const std::string& value, const std::regex& pattern, const char* option,
                   const char* expected) {
  CHECK_OR_THROW(core::ConfigError, std::regex_match(value, pattern), option, " '", value,
                 "' is not ", expected);
}

}  // namespace

void validate(const SlurmOptions& o) {
  using core::ConfigError;
  CHECK_OR_THROW(ConfigError, o.nodes >= 1, "--nodes must be at least 1, not ", o.nodes);
  CHECK_OR_THROW(ConfigError, o.gpus_per_node >= 0, "--gpus-per-node must not be negative");
  CHECK_OR_THROW(ConfigError, o.tasks_per_node >= 0, "--tasks-per-node must not be negative");
  CHECK_OR_THROW(ConfigError, o.cpus_per_task >= 0, "--cpus-per-task must not be negative");
  CHECK_OR_THROW(ConfigError, o.cpus_per_node >= 0, "--cpus-per-node must not be negative");
  CHECK_OR_THROW(ConfigError, !o.exclusive_gpus || o.gpus_per_node > 0,
                 "--exclusive-gpus gives every rank a GPU of its own, but --gpus-per-node is ",
                 o.gpus_per_node, "; give --gpus-per-node or drop --exclusive-gpus");
  // Written into the script as a comment: one line, no character that ends it.
  CHECK_OR_THROW(core::InternalError,
                 o.cpus_per_task_reason.find_first_of("\n\r") == std::string::npos,
                 "the --cpus-per-task reason holds a line break");
  CHECK_OR_THROW(ConfigError, o.signal_lead_s >= 1, "--signal-lead must be at least 1 second");
  CHECK_OR_THROW(ConfigError, o.max_requeues >= 0, "--max-requeues must not be negative");
  CHECK_OR_THROW(ConfigError, o.ranks_per_job >= 0, "--ranks-per-job must not be negative");
  CHECK_OR_THROW(ConfigError, o.array >= 0, "--array must not be negative");
  check_matches(o.time, std::regex(R"((\d+-)?\d{1,3}:\d{2}:\d{2})"), "--time",
                "a time limit like 01:30:00 or 2-00:00:00");
  const std::regex name(R"([A-Za-z0-9_.,-]*)");
  check_matches(o.partition, name, "--partition", "a partition name (letters, digits, _ . , -)");
  check_matches(o.account, name, "--account", "an account name (letters, digits, _ . , -)");
  check_matches(o.mem, std::regex(R"((\d+[KMGT]?)?)"), "--mem", "a size like 16G or 4000M");
  check_matches(o.mpi, std::regex(R"([a-z0-9_]+)"), "--mpi", "an srun MPI type like pmix");
}

std::string cancel_marker(const std::string& output) { return output + "/slurm/cancelled"; }

int ranks_per_node(const SlurmOptions& o) {
  return o.tasks_per_node > 0 ? o.tasks_per_node : std::max(o.gpus_per_node, 1);
}

int slurm_ranks(const SlurmOptions& o) { return o.nodes * ranks_per_node(o); }

SlurmOptions with_sweep_defaults(SlurmOptions o, const SweepNeeds& needs) {
  if (o.cpus_per_task > 0) return o;
  const int threads = std::max(needs.threads, 1);
  o.cpus_per_task = needs.loader_workers + threads;
  o.cpus_per_task_reason = fmt::format(
      "--cpus-per-task {} = {} loader worker(s) + {} training thread(s) per rank ({}train."
      "loader_workers {}, train.threads {}{}), so that they do not share one core",
      o.cpus_per_task, needs.loader_workers, threads,
      needs.cpu_job.empty() ? "" : "job " + needs.cpu_job + ": ", needs.loader_workers,
      needs.threads, needs.threads == 0 ? " counted as 1" : "");
  return o;
}

void check_sweep_fits(const SlurmOptions& o, const SweepNeeds& n) {
  using core::ConfigError;
  const int per_node = ranks_per_node(o), ranks = slurm_ranks(o), g = o.gpus_per_node;
  const std::string asked = fmt::format(
      "--nodes {} x {} rank(s) per node{}", o.nodes, per_node,
      o.tasks_per_node > 0 ? " (--tasks-per-node)" : g > 0 ? " (--gpus-per-node)" : "");
  CHECK_OR_THROW(ConfigError, ranks % n.ranks_per_job == 0, n.path, ": ", n.ranks_from,
                 " does not divide the ", ranks, " rank(s) the SLURM job asks for (", asked,
                 "), so fracsweep run would refuse to start; ask for a multiple of ",
                 n.ranks_per_job, " ranks or set ranks_per_job (or --ranks-per-job) to a "
                 "divisor of ", ranks);
  CHECK_OR_THROW(ConfigError, n.cuda_job.empty() || g > 0, n.path, ": job ", n.cuda_job,
                 ": train.device: cuda, but the SLURM job asks for no GPUs (--gpus-per-node ",
                 g, "); give --gpus-per-node, or set train.device to auto or cpu");
  CHECK_OR_THROW(ConfigError, !o.exclusive_gpus || per_node <= g, n.path,
                 ": --exclusive-gpus gives each rank a GPU of its own, but ", per_node,
                 " ranks per node (--tasks-per-node) exceed --gpus-per-node ", g,
                 "; ask for at most ", g, " ranks per node or drop --exclusive-gpus");
  // Ranks take GPU (node-local rank mod GPUs) and groups consecutive ranks, so
  // a group's ranks on one node are min(ranks_per_job, ranks per node) in a row:
  // they share a GPU exactly when that is more than the node's GPUs.
  const int on_node = std::min(n.ranks_per_job, per_node);
  CHECK_OR_THROW(ConfigError, g == 0 || !n.gpu_jobs || n.ranks_per_job == 1 || on_node <= g,
                 n.path, ": ", n.ranks_from, " puts ", on_node,
                 " ranks of a data-parallel group on one node, which has ", g,
                 " GPU(s) (--gpus-per-node) for its ", per_node,
                 " ranks, and NCCL cannot put two ranks of a group on one GPU; ask for at most ",
                 g, " ranks per node (--tasks-per-node) or a ranks_per_job of at most ", g,
                 ", or train on the CPU (train.device: cpu)");
}

std::vector<std::string> node_warnings(const SlurmOptions& o) {
  std::vector<std::string> out;
  const int per_node = ranks_per_node(o);
  const int cpus = per_node * std::max(o.cpus_per_task, 1);
  if (o.cpus_per_node > 0 && cpus > o.cpus_per_node)
    out.push_back(fmt::format(
        "{} rank(s) per node x {} CPU(s) each (--cpus-per-task) = {} CPUs, more than a node's "
        "{} (--cpus-per-node): SLURM cannot place the job on such nodes; ask for fewer ranks "
        "per node, or fewer CPUs per rank (--cpus-per-task, or the sweep's train.loader_workers "
        "and train.threads)",
        per_node, std::max(o.cpus_per_task, 1), cpus, o.cpus_per_node));
  if (o.gpus_per_node > per_node)
    out.push_back(fmt::format("{} rank(s) per node (--tasks-per-node) on {} GPUs per node: {} "
                              "GPU(s) of each node stay idle; ask for --tasks-per-node {}",
                              per_node, o.gpus_per_node, o.gpus_per_node - per_node,
                              o.gpus_per_node));
  return out;
}

std::string batch_script(const SlurmOptions& o, const SweepPaths& p) {
  validate(o);
  const int per_node = ranks_per_node(o);
  std::string s = "#!/bin/bash\n";
  s += fmt::format("#SBATCH --job-name={}\n", slurm_job_name("fracsweep-" + p.name));
  s += fmt::format("#SBATCH --nodes={}\n#SBATCH --ntasks-per-node={}\n", o.nodes, per_node);
  if (o.gpus_per_node > 0) s += fmt::format("#SBATCH --gpus-per-node={}\n", o.gpus_per_node);
  if (o.cpus_per_task > 0) {
    if (!o.cpus_per_task_reason.empty()) s += "# " + o.cpus_per_task_reason + "\n";
    s += fmt::format("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  }
  s += fmt::format("#SBATCH --time={}\n", o.time);
  if (!o.partition.empty()) s += fmt::format("#SBATCH --partition={}\n", o.partition);
  if (!o.account.empty()) s += fmt::format("#SBATCH --account={}\n", o.account);
  if (!o.mem.empty()) s += fmt::format("#SBATCH --mem={}\n", o.mem);
  s += fmt::format("#SBATCH --signal=B:USR1@{}\n#SBATCH --requeue\n#SBATCH --open-mode=append\n",
                   o.signal_lead_s);
  if (o.array > 0) s += fmt::format("#SBATCH --array=0-{}\n", o.array - 1);
  // srun does not take --cpus-per-task from sbatch (SLURM 22.05 and later): it is given again.
  std::string run = fmt::format("srun --mpi={}{} {} run {}", o.mpi,
                                o.cpus_per_task > 0 ? fmt::format(" --cpus-per-task={}", o.cpus_per_task)
                                                    : std::string(),
                                shell_quote(p.binary), shell_quote(p.sweep));
  if (o.ranks_per_job > 0) run += fmt::format(" --ranks-per-job {}", o.ranks_per_job);
  if (o.exclusive_gpus) run += " --exclusive-gpus";
  if (o.array > 0) run += fmt::format(" --shard \"${{SLURM_ARRAY_TASK_ID}}/{}\"", o.array);
  s += fmt::format(R"SH(
# Written by `fracsweep slurm submit` for the sweep {name_clean}; it resumes
# the sweep when requeued.
set -u
cd {workdir_q} || exit 2
export OMP_WAIT_POLICY=PASSIVE
# Open MPI refuses to start as root unless told to (test clusters run as root).
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
max_requeues={max}
restart=${{SLURM_RESTART_COUNT:-0}}
# An array task is requeued by its own id, not the whole array's.
self=${{SLURM_JOB_ID}}
if [ -n "${{SLURM_ARRAY_TASK_ID:-}}" ]; then self="${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"; fi
echo "fracsweep-slurm: job $self start $((restart + 1)) on $(hostname) at $(date -u +%FT%TZ)"

# SLURM signals the batch shell only (--signal=B:...): pass the signal on to
# the step, whose ranks checkpoint and exit with code 3. USR1 comes before the
# time limit; TERM comes on preemption or scancel.
reason=""
step=""
on_signal() {{
  reason=$1
  echo "fracsweep-slurm: $1 ($2) at $(date -u +%FT%TZ); checkpointing"
  [ -n "$step" ] && kill -s "$2" "$step" 2>/dev/null
}}
trap 'on_signal "time limit near" USR1' USR1
trap 'on_signal "preempted or cancelled" TERM' TERM

{run} &
step=$!
# `wait` returns early when a trapped signal arrives; wait again until the step is gone.
while true; do
  wait "$step"
  code=$?
  kill -0 "$step" 2>/dev/null || break
done

if [ "$code" -eq 3 ]; then
  if [ -e {cancel_q} ]; then
    echo "fracsweep-slurm: cancelled with fracsweep slurm cancel; not requeueing"
  elif [ "$restart" -lt "$max_requeues" ]; then
    echo "fracsweep-slurm: interrupted (${{reason:-signal}}); requeueing (requeue $((restart + 1)) of $max_requeues)"
    scontrol requeue "$self"
    exit 0
  fi
  echo "fracsweep-slurm: interrupted and requeued $max_requeues times already; not requeueing. Resume with: fracsweep slurm submit again"
fi
echo "fracsweep-slurm: fracsweep run exited with code $code"
exit "$code"
)SH",
                   fmt::arg("name_clean", slurm_job_name(p.name)),
                   fmt::arg("workdir_q", shell_quote(p.workdir)),
                   fmt::arg("cancel_q", shell_quote(cancel_marker(p.output))), fmt::arg("max", o.max_requeues),
                   fmt::arg("run", run));
  return s;
}

std::vector<std::string> sbatch_command(const SlurmOptions& o, const SweepPaths& p,
                                        const std::string& script_path) {
  validate(o);
  return {"sbatch", "--parsable",
          "--output=" + p.output + (o.array > 0 ? "/slurm/slurm-%A_%a.log" : "/slurm/slurm-%j.log"),
          script_path};
}

}  // namespace fracsweep::cluster
