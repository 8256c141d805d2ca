// The SLURM batch script: quoting that lets no text run as code, option
// checks, and the script's requeue and signal logic, run by bash with stub
// srun and scontrol commands (no SLURM needed).
#include "cluster/slurm_script.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <tuple>

#include "core/process.h"
#include "cluster/shell.h"
#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fracsweep::cluster {
namespace {

using core::ProcessResult;
using core::run_process;

namespace fs = std::filesystem;

const std::vector<std::string> kNasty = {
    "plain", "with space", "x\"; rm -rf ~; echo \"", "$(touch pwned)", "`touch pwned`",
    "it's", "'", "''", "a\nb", "$HOME", "back\\slash", "semi;colon&amp|pipe>redir", ""};

TEST(ShellQuote, BashReadsEveryStringBackUnchanged) {
  testing::TempDir dir;
  for (const std::string& s : kNasty) {
    const auto r = run_process({"bash", "-c", "cd " + shell_quote(dir.path().string()) +
                                                  " && printf %s " + shell_quote(s)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, s);
  }
  EXPECT_FALSE(fs::exists(dir.path() / "pwned"));
}

TEST(SlurmJobName, KeepsSafeCharactersOnly) {
  EXPECT_EQ(slurm_job_name("tsccn-table3.tiny_2"), "tsccn-table3.tiny_2");
  EXPECT_EQ(slurm_job_name("x\"; rm -rf ~"), "x___rm_-rf__");
  EXPECT_EQ(slurm_job_name(""), "fracsweep");
  EXPECT_EQ(slurm_job_name(std::string(100, 'a')).size(), 64u);
}

TEST(SlurmOptions, ValuesThatCannotBeSlurmOptionsAreRejectedByName) {
  const auto error_of = [](SlurmOptions o) {
    try {
      validate(o);
    } catch (const core::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SlurmOptions o;
  EXPECT_EQ(error_of(o), "");
  o.partition = "gpu; rm";
  EXPECT_HAS(error_of(o), "--partition 'gpu; rm'");
  o = {};
  o.time = "1 hour";
  EXPECT_HAS(error_of(o), "--time '1 hour'");
  o = {};
  o.mem = "16 G";
  EXPECT_HAS(error_of(o), "--mem");
  o = {};
  o.nodes = 0;
  EXPECT_HAS(error_of(o), "--nodes");
  o = {};
  o.time = "2-00:00:00";
  o.gpus_per_node = 4;
  EXPECT_EQ(error_of(o), "");
  EXPECT_EQ(slurm_ranks(o), 4);
}

TEST(BatchScript, HoldsTheRequestedResourcesAndSignal) {
  SlurmOptions o;
  o.nodes = 2;
  o.gpus_per_node = 4;
  o.time = "12:00:00";
  o.partition = "gpu";
  o.signal_lead_s = 120;
  o.ranks_per_job = 2;
  const std::string s = batch_script(o, {"t3", "/s/t3.yaml", "/o", "/bin/fracsweep", "/w"});
  for (const char* line : {"#SBATCH --nodes=2\n", "#SBATCH --ntasks-per-node=4\n",
                           "#SBATCH --gpus-per-node=4\n", "#SBATCH --time=12:00:00\n",
                           "#SBATCH --partition=gpu\n", "#SBATCH --signal=B:USR1@120\n",
                           "#SBATCH --requeue\n", "#SBATCH --open-mode=append\n",
                           "srun --mpi=pmix '/bin/fracsweep' run '/s/t3.yaml' --ranks-per-job 2"})
    EXPECT_HAS(s, line);
  EXPECT_EQ(slurm_ranks(o), 8);
}

// Runs a generated script with stub srun and scontrol that log their
// arguments (one per line) and with srun exiting `srun_code`.
class ScriptRun : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = dir_.path() / "bin";
    fs::create_directories(bin_);
    work_ = dir_.path() / "work $(touch pwned)";
    fs::create_directories(work_);
    paths_ = {"x\"; touch pwned; echo \"", (work_ / "s'weep $(touch pwned).yaml").string(),
              (dir_.path() / "out `touch pwned`").string(), "/opt/frac sweep/fracsweep",
              work_.string()};
    fs::create_directories(paths_.output + "/slurm");
  }

  void stub(const std::string& name, const std::string& body) {
    const std::string path = (bin_ / name).string();
    core::write_file_atomic(path, "#!/bin/bash\n" + body);
    fs::permissions(path, fs::perms::owner_all);
  }

  ProcessResult run(const SlurmOptions& o, int restart, const std::string& extra = "",
                    const std::vector<std::string>& env = {}) {
    const std::string script = dir_.write("job.sh", batch_script(o, paths_));
    std::vector<std::string> argv = {"env", "PATH=" + bin_.string() + ":/usr/bin:/bin",
                                     "SLURM_JOB_ID=42",
                                     "SLURM_RESTART_COUNT=" + std::to_string(restart)};
    argv.insert(argv.end(), env.begin(), env.end());
    for (const char* tail : {"bash", "-c"}) argv.push_back(tail);
    argv.push_back("bash " + shell_quote(script) + extra);
    return run_process(argv);
  }

  std::vector<std::string> lines_of(const std::string& name) {
    const fs::path p = dir_.path() / name;
    std::vector<std::string> out;
    if (!fs::exists(p)) return out;
    std::istringstream in(core::read_file(p.string()));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  bool pwned() const {
    for (const auto& e : fs::recursive_directory_iterator(dir_.path()))
      if (e.path().filename() == "pwned") return true;
    return fs::exists("pwned");
  }

  testing::TempDir dir_;
  fs::path bin_, work_;
  SweepPaths paths_;
};

TEST_F(ScriptRun, SrunGetsThePathsVerbatimAndNothingRunsAsCode) {
  const std::string log = (dir_.path() / "srun.args").string();
  stub("srun", "for a in \"$@\"; do echo \"$a\" >> " + shell_quote(log) + "; done\nexit 0\n");
  stub("scontrol", "echo \"$@\" >> " + shell_quote((dir_.path() / "scontrol.args").string()) + "\n");
  const auto r = run(SlurmOptions{}, 0);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(lines_of("srun.args"),
            (std::vector<std::string>{"--mpi=pmix", paths_.binary, "run", paths_.sweep}));
  EXPECT_TRUE(lines_of("scontrol.args").empty());  // finished: no requeue
  EXPECT_FALSE(pwned());
}

TEST_F(ScriptRun, AnInterruptedSweepRequeuesItselfUpToTheLimitUnlessCancelled) {
  stub("srun", "exit 3\n");
  stub("scontrol", "echo \"$@\" >> " + shell_quote((dir_.path() / "scontrol.args").string()) + "\n");
  SlurmOptions o;
  o.max_requeues = 2;
  auto r = run(o, 1);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_HAS(r.out, "requeueing (requeue 2 of 2)");
  EXPECT_EQ(lines_of("scontrol.args"), (std::vector<std::string>{"requeue 42"}));

  r = run(o, 2);  // the limit is reached: exit with fracsweep's code, no requeue
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_HAS(r.out, "requeued 2 times already");
  EXPECT_EQ(lines_of("scontrol.args").size(), 1u);

  core::write_file_atomic(cancel_marker(paths_.output), "now\n");
  r = run(o, 0);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_HAS(r.out, "cancelled with fracsweep slurm cancel");
  EXPECT_EQ(lines_of("scontrol.args").size(), 1u);
  EXPECT_FALSE(pwned());
}

TEST_F(ScriptRun, AnArrayTaskRunsItsShardAndRequeuesItselfOnly) {
  const std::string log = (dir_.path() / "srun.args").string();
  stub("srun", "for a in \"$@\"; do echo \"$a\" >> " + shell_quote(log) + "; done\nexit 3\n");
  stub("scontrol", "echo \"$@\" >> " + shell_quote((dir_.path() / "scontrol.args").string()) + "\n");
  SlurmOptions o;
  o.array = 4;
  EXPECT_HAS(batch_script(o, paths_), "#SBATCH --array=0-3\n");
  const auto r = run(o, 0, "", {"SLURM_ARRAY_JOB_ID=40", "SLURM_ARRAY_TASK_ID=3"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(lines_of("srun.args"), (std::vector<std::string>{"--mpi=pmix", paths_.binary, "run",
                                                             paths_.sweep, "--shard", "3/4"}));
  EXPECT_EQ(lines_of("scontrol.args"), (std::vector<std::string>{"requeue 40_3"}));
  const auto cmd = sbatch_command(o, paths_, "/s.sh");
  EXPECT_EQ(cmd.at(2), "--output=" + paths_.output + "/slurm/slurm-%A_%a.log");
}

TEST_F(ScriptRun, UsrOneAndTermReachTheStepAndAreToldApart) {
  const std::string log = (dir_.path() / "srun.log").string();
  // The step checkpoints on a signal and exits 3, as fracsweep run does.
  stub("srun", "trap 'echo USR1 >> " + shell_quote(log) + "; exit 3' USR1\n"
               "trap 'echo TERM >> " + shell_quote(log) + "; exit 3' TERM\n"
               "echo started >> " + shell_quote(log) + "\n"
               "for i in $(seq 200); do sleep 0.05; done\nexit 0\n");
  stub("scontrol", "exit 0\n");
  for (const std::string sig : {"USR1", "TERM"}) {
    fs::remove(log);
    // Signal the batch shell once the step has started, as SLURM signals B:.
    const auto r = run(SlurmOptions{}, 0,
                       " & pid=$!; while ! grep -q started " + shell_quote(log) +
                           " 2>/dev/null; do sleep 0.05; done; kill -" + sig +
                           " $pid; wait $pid");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(lines_of("srun.log"), (std::vector<std::string>{"started", sig}));
    EXPECT_HAS(r.out, sig == "USR1" ? "time limit near (USR1)" : "preempted or cancelled (TERM)");
    EXPECT_HAS(r.out, "requeueing");
  }
}

std::string fit_error(const SlurmOptions& o, const SweepNeeds& n) {
  try {
    check_sweep_fits(o, n);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

SweepNeeds needs(int ranks_per_job) {
  SweepNeeds n;
  n.path = "s.yaml";
  n.ranks_per_job = ranks_per_job;
  n.ranks_from = "ranks_per_job " + std::to_string(ranks_per_job);
  return n;
}

// fracsweep run groups world ranks r / ranks_per_job; srun puts ranks in blocks on the
// nodes, and a rank takes GPU (node-local rank mod GPUs): simulated rank by rank.
bool a_group_shares_a_gpu(int nodes, int per_node, int gpus, int ranks_per_job) {
  std::set<std::tuple<int, int, int>> taken;  // group, node, GPU
  for (int r = 0; r < nodes * per_node; ++r)
    if (!taken.emplace(r / ranks_per_job, r / per_node, (r % per_node) % gpus).second) return true;
  return false;
}

// slurm submit compares the sweep's ranks per job with the ranks it asks for: a
// mismatch used to show only once the cluster job started.
TEST(SlurmFit, RanksPerJobMustDivideTheRanksAskedFor) {
  SlurmOptions o;
  o.nodes = 2;
  o.tasks_per_node = 3;
  EXPECT_EQ(fit_error(o, needs(1)), "");
  EXPECT_EQ(fit_error(o, needs(2)), "");
  EXPECT_EQ(fit_error(o, needs(6)), "");
  EXPECT_EQ(fit_error(o, needs(4)),
            "s.yaml: ranks_per_job 4 does not divide the 6 rank(s) the SLURM job asks for "
            "(--nodes 2 x 3 rank(s) per node (--tasks-per-node)), so fracsweep run would refuse "
            "to start; ask for a multiple of 4 ranks or set ranks_per_job (or --ranks-per-job) "
            "to a divisor of 6");
  SweepNeeds from_command_line = needs(12);
  from_command_line.ranks_from = "--ranks-per-job 12";
  EXPECT_HAS(fit_error(o, from_command_line), "s.yaml: --ranks-per-job 12 does not divide the 6");
}

// On GPUs a data-parallel group reduces through NCCL, which cannot put two of a group's
// ranks on one GPU: compared with a simulation of the placement, for every shape.
TEST(SlurmFit, AGroupWhoseRanksWouldShareAGpuIsRefusedExactlyWhenTheySharedOne) {
  for (int nodes = 1; nodes <= 3; ++nodes)
    for (int gpus = 1; gpus <= 4; ++gpus)
      for (int per_node = 1; per_node <= 8; ++per_node)
        for (int rpj = 1; rpj <= nodes * per_node; ++rpj) {
          if (nodes * per_node % rpj != 0) continue;
          SlurmOptions o;
          o.nodes = nodes;
          o.gpus_per_node = gpus;
          o.tasks_per_node = per_node;
          const std::string e = fit_error(o, needs(rpj));
          EXPECT_EQ(!e.empty(), a_group_shares_a_gpu(nodes, per_node, gpus, rpj))
              << nodes << " nodes, " << per_node << " ranks and " << gpus << " GPUs each, "
              << rpj << " ranks per job: " << e;
          SweepNeeds on_cpu = needs(rpj);
          on_cpu.gpu_jobs = false;  // every job has train.device: cpu
          EXPECT_EQ(fit_error(o, on_cpu), "");
        }
  SlurmOptions o;
  o.gpus_per_node = 2;
  o.tasks_per_node = 4;
  EXPECT_EQ(fit_error(o, needs(4)),
            "s.yaml: ranks_per_job 4 puts 4 ranks of a data-parallel group on one node, which "
            "has 2 GPU(s) (--gpus-per-node) for its 4 ranks, and NCCL cannot put two ranks of a "
            "group on one GPU; ask for at most 2 ranks per node (--tasks-per-node) or a "
            "ranks_per_job of at most 2, or train on the CPU (train.device: cpu)");
}

TEST(SlurmFit, CudaJobsNeedGpusAndExclusiveGpusOneEach) {
  SlurmOptions o;
  SweepNeeds n = needs(1);
  n.cuda_job = "tsccn/fold0/seed1";
  EXPECT_EQ(fit_error(o, n),
            "s.yaml: job tsccn/fold0/seed1: train.device: cuda, but the SLURM job asks for no "
            "GPUs (--gpus-per-node 0); give --gpus-per-node, or set train.device to auto or cpu");
  o.gpus_per_node = 1;
  EXPECT_EQ(fit_error(o, n), "");
  o.exclusive_gpus = true;
  o.tasks_per_node = 2;
  EXPECT_HAS(fit_error(o, n), "s.yaml: --exclusive-gpus gives each rank a GPU of its own, but 2 "
                              "ranks per node (--tasks-per-node) exceed --gpus-per-node 1");
  o.tasks_per_node = 1;
  EXPECT_EQ(fit_error(o, n), "");
  o.gpus_per_node = 0;
  EXPECT_THROW(validate(o), core::ConfigError);  // exclusive GPUs without GPUs
  EXPECT_HAS(batch_script([] {
               SlurmOptions x;
               x.gpus_per_node = 2;
               x.exclusive_gpus = true;
               return x;
             }(), {"t", "/s.yaml", "/o", "/bin/fracsweep", "/w"}),
             "run '/s.yaml' --exclusive-gpus");
}

// Without --cpus-per-task SLURM gives a rank one CPU, which its loader workers and
// LibTorch's threads would share: the default comes from the sweep, with its reason.
TEST(SlurmCpus, CpusPerTaskDefaultsToTheSweepsWorkersAndThreadsWithItsReason) {
  SweepNeeds n = needs(1);
  n.loader_workers = 4;
  n.threads = 2;
  n.cpu_job = "tsccn/repeat0/seed1";
  SlurmOptions o = with_sweep_defaults(SlurmOptions{}, n);
  EXPECT_EQ(o.cpus_per_task, 6);
  const std::string s = batch_script(o, {"t", "/s.yaml", "/o", "/bin/fracsweep", "/w"});
  EXPECT_HAS(s, "# --cpus-per-task 6 = 4 loader worker(s) + 2 training thread(s) per rank (job "
                "tsccn/repeat0/seed1: train.loader_workers 4, train.threads 2), so that they do "
                "not share one core\n#SBATCH --cpus-per-task=6\n");
  EXPECT_HAS(s, "srun --mpi=pmix --cpus-per-task=6 '/bin/fracsweep' run");
  n.threads = 0;  // the rank's cores: one at least
  EXPECT_EQ(with_sweep_defaults(SlurmOptions{}, n).cpus_per_task, 5);
  EXPECT_HAS(with_sweep_defaults(SlurmOptions{}, n).cpus_per_task_reason, "train.threads 0 counted as 1");
  // Given, it stays, with no reason written.
  SlurmOptions given;
  given.cpus_per_task = 3;
  const SlurmOptions kept = with_sweep_defaults(given, n);
  EXPECT_EQ(kept.cpus_per_task, 3);
  EXPECT_EQ(kept.cpus_per_task_reason, "");
  const std::string script = batch_script(kept, {"t", "/s.yaml", "/o", "/bin/fracsweep", "/w"});
  EXPECT_HAS(script, "#SBATCH --cpus-per-task=3\n");
  EXPECT_EQ(script.find("# --cpus-per-task"), std::string::npos) << script;
}

TEST(SlurmCpus, ANodeWhoseCpusCannotCoverItsRanksIsWarnedOf) {
  SlurmOptions o;
  o.gpus_per_node = 4;
  o.cpus_per_task = 3;
  EXPECT_TRUE(node_warnings(o).empty());  // the node's CPUs unknown
  o.cpus_per_node = 12;
  EXPECT_TRUE(node_warnings(o).empty());  // 4 x 3 = 12
  o.cpus_per_node = 11;
  ASSERT_EQ(node_warnings(o).size(), 1u);
  EXPECT_HAS(node_warnings(o)[0], "4 rank(s) per node x 3 CPU(s) each (--cpus-per-task) = 12 "
                                  "CPUs, more than a node's 11 (--cpus-per-node)");
  o.cpus_per_node = 0;
  o.tasks_per_node = 2;  // two of the four GPUs without a rank
  ASSERT_EQ(node_warnings(o).size(), 1u);
  EXPECT_HAS(node_warnings(o)[0], "2 GPU(s) of each node stay idle");
}

// Through the binary: every mistake refused (exit 2, one line naming the file, the key or
// option, the value and the fix) before anything is written or queued; the script of a
// sweep that fits carries the CPUs per rank and why.
TEST(SlurmSubmit, RefusesWhatTheClusterJobWouldFailOnAndDefaultsTheCpusPerRank) {
  testing::TempDir dir;
  const fs::path out = dir.path() / "out";
  const auto sweep_with = [&](const std::string& extra) {
    return dir.write("sweep.yaml", "name: fit\noutput: " + out.string() +
                                       "\npreset: tiny\ndataset: {store: s.h5}\nvariants:\n"
                                       "  a: {model: {variant: tsccn}}\n" + extra);
  };
  const auto refused = [&](const std::string& sweep, const std::vector<std::string>& options,
                           const std::string& message) {
    std::vector<std::string> args = {"slurm", "submit", sweep, "--dry-run"};
    args.insert(args.end(), options.begin(), options.end());
    const auto r = testing::run_fracsweep(args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_HAS(r.err, message);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  std::string sweep = sweep_with("ranks_per_job: 3\ntrain: {batch_size: 18}\n");
  refused(sweep, {"--gpus-per-node", "4"},
          sweep + ": ranks_per_job 3 does not divide the 4 rank(s) the SLURM job asks for");
  refused(sweep, {"--gpus-per-node", "3", "--ranks-per-job", "2"},
          sweep + ": --ranks-per-job 2 does not divide the 3 rank(s)");
  refused(sweep, {"--gpus-per-node", "2", "--tasks-per-node", "3"},
          sweep + ": ranks_per_job 3 puts 3 ranks of a data-parallel group on one node");
  sweep = sweep_with("train: {batch_size: 12}\n");
  refused(sweep, {"--gpus-per-node", "8", "--ranks-per-job", "8"},
          sweep + ": job a/repeat0/seed1: train.batch_size 12 over --ranks-per-job 8");
  sweep = sweep_with("train: {device: cuda}\n");
  refused(sweep, {}, sweep + ": job a/repeat0/seed1: train.device: cuda, but the SLURM job asks "
                             "for no GPUs (--gpus-per-node 0)");
  sweep = sweep_with("dataset_typo: 1\n");
  refused(sweep, {}, sweep + ": unknown key 'dataset_typo'");
  EXPECT_FALSE(fs::exists(out));

  sweep = sweep_with("train: {device: cuda, loader_workers: 3, threads: 4}\n");
  const auto r = testing::run_fracsweep({"slurm", "submit", sweep, "--dry-run", "--gpus-per-node",
                                         "2", "--cpus-per-node", "8"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "# --cpus-per-task 7 = 3 loader worker(s) + 4 training thread(s) per rank");
  EXPECT_HAS(r.out, "#SBATCH --cpus-per-task=7\n");
  EXPECT_HAS(r.out, "srun --mpi=pmix --cpus-per-task=7 ");
  EXPECT_HAS(r.err, "warning: 2 rank(s) per node x 7 CPU(s) each (--cpus-per-task) = 14 CPUs, "
                    "more than a node's 8 (--cpus-per-node)");
  const auto given = testing::run_fracsweep(
      {"slurm", "submit", sweep, "--dry-run", "--gpus-per-node", "2", "--cpus-per-task", "4"});
  EXPECT_EQ(given.exit_code, 0) << given.err;
  EXPECT_HAS(given.out, "#SBATCH --cpus-per-task=4\n");
  EXPECT_EQ(given.err, "");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace fracsweep::cluster
