// The SLURM batch script: quoting that lets no text run as code, option
// checks, and the script's requeue and signal logic, run by bash with stub
// srun and scontrol commands (no SLURM needed).
#include "cluster/slurm_script.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

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

}  // namespace
}  // namespace fracsweep::cluster
