// Sweeps through a real single-node SLURM (tests/cluster/local_slurm.sh):
// submitted with `fracsweep slurm submit`, preempted mid-way with USR1 to the
// batch shell, requeued by its script, and finished with every job finished
// exactly once; then a job array of two tasks shares another sweep. Skipped
// (never passed) where SLURM cannot start.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/process.h"
#include "cluster/shell.h"
#include "core/fs.h"
#include "core/log.h"
#include "sweeps/ledger.h"
#include "test_util.h"

namespace fracsweep::cluster {
namespace {

using core::ProcessResult;
using core::run_process;

namespace fs = std::filesystem;

std::string script() { return testing::fixture("../cluster/local_slurm.sh"); }

std::map<std::string, int> finished_counts(const fs::path& out) {
  core::Logger quiet(core::LogLevel::kOff);
  std::map<std::string, int> n;
  if (!sweeps::has_ledger(out.string())) return n;
  for (const auto& r : sweeps::read_sweep_ledger(out.string(), quiet))
    if (r.event == sweeps::LedgerEvent::kFinished) ++n[r.name];
  return n;
}

std::string slurm_logs(const fs::path& out);
void array_of_two_tasks(const testing::TempDir& dir);

class LocalSlurm : public ::testing::Test {
 protected:
  void SetUp() override {
    // The daemons run as other users (munge, slurm), who must reach the folder.
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
    const auto up = run_process({"bash", script(), "up", (dir_.path() / "slurm").string()});
    if (up.exit_code == 77) GTEST_SKIP() << "SLURM cannot run here: " << up.err;
    ASSERT_EQ(up.exit_code, 0) << up.err;
    ::setenv("SLURM_CONF", (dir_.path() / "slurm/slurm.conf").c_str(), 1);
    started_ = true;
  }
  void TearDown() override {
    if (!started_) return;
    // Nothing of the cluster may outlive the test: daemons and job steps alike.
    const auto down = run_process({"bash", script(), "down", (dir_.path() / "slurm").string()});
    EXPECT_EQ(down.exit_code, 0) << down.err;
    ::unsetenv("SLURM_CONF");
  }
  testing::TempDir dir_;
  bool started_ = false;
};

// A test that dies without taking its cluster down leaves nothing running: the
// watchdog `up` leaves behind runs `down` once the owner (here a stand-in
// process, killed) is gone.
TEST(LocalSlurmScript, TheClusterGoesDownWhenItsOwnerDiesWithoutDown) {
  testing::TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    ::pause();  // until killed
    ::_exit(0);
  }
  ::setenv("LOCAL_SLURM_OWNER", std::to_string(owner).c_str(), 1);
  const fs::path cluster = dir.path() / "slurm";
  const auto up = run_process({"bash", script(), "up", cluster.string()});
  ::unsetenv("LOCAL_SLURM_OWNER");
  if (up.exit_code == 77) {
    ::kill(owner, SIGKILL);
    ::waitpid(owner, nullptr, 0);
    GTEST_SKIP() << "SLURM cannot run here: " << up.err;
  }
  ASSERT_EQ(up.exit_code, 0) << up.err;
  std::vector<int> pids;
  {
    std::istringstream in(core::read_file((cluster / "pids").string()));
    std::string name;
    for (int pid; in >> name >> pid;) pids.push_back(pid);
  }
  ASSERT_GE(pids.size(), 4u) << "munged, slurmctld, slurmd and the watchdog";
  for (int pid : pids) EXPECT_EQ(::kill(pid, 0), 0) << "pid " << pid << " is not running";
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const auto running = [&] {
    int n = 0;
    for (int pid : pids) n += ::kill(pid, 0) == 0 ? 1 : 0;
    return n;
  };
  while (running() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(running(), 0) << "the cluster outlived its owner";
  if (running() > 0) run_process({"bash", script(), "down", cluster.string()});
}

TEST_F(LocalSlurm, APreemptedSweepIsRequeuedAndAnArrayOfTwoTasksSharesASweep) {
  const fs::path out = dir_.path() / "out dir";
  const std::string sweep = dir_.write(
      "sweep.yaml",
      "name: slurm-mini\noutput: '" + out.string() + "'\npreset: tiny\n"
      "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
      "protocol: {split: random, repeats: [0, 1]}\nseeds: [1]\n"
      "variants:\n  tsccn: {model: {variant: tsccn}}\n  resnet: {model: {variant: resnet18}}\n"
      "train: {epochs: 12, threads: 1, loader_workers: 1}\n");
  const auto submitted = testing::run_fracsweep(
      {"slurm", "submit", sweep, "--tasks-per-node", "2", "--time", "00:20:00", "--signal-lead", "60",
       "--cpus-per-task", "1"});  // not the sweep's 2 (worker + thread): test nodes may have 2 CPUs
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err << submitted.out;
  EXPECT_HAS(submitted.out, "submitted SLURM job ");
  const std::string id = submitted.out.substr(20, submitted.out.find(' ', 20) - 20);

  // Preempt once the first job has finished and others are under way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (finished_counts(out).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(finished_counts(out).empty()) << "no job finished; see " << out << "/slurm";
  ASSERT_LT(finished_counts(out).size(), 4u) << "the sweep ended before it could be preempted";
  const auto signalled = run_process({"scancel", "--signal=USR1", "--batch", id});
  ASSERT_EQ(signalled.exit_code, 0) << signalled.err;

  while (finished_counts(out).size() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string log = core::read_file((out / "slurm" / ("slurm-" + id + ".log")).string());
  const auto counts = finished_counts(out);
  ASSERT_EQ(counts.size(), 4u) << slurm_logs(out);
  for (const auto& [name, n] : counts) EXPECT_EQ(n, 1) << name;
  EXPECT_HAS(log, "time limit near (USR1)");
  EXPECT_HAS(log, "requeueing (requeue 1 of 10)");
  EXPECT_HAS(log, "start 2 on");
  // The ledger names the SLURM job that ran each record.
  core::Logger quiet(core::LogLevel::kOff);
  for (const auto& r : sweeps::read_sweep_ledger(out.string(), quiet))
    EXPECT_EQ(r.slurm_job, id);

  const auto status = testing::run_fracsweep({"slurm", "status", out.string()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_HAS(status.out, "SLURM jobs " + id);

  array_of_two_tasks(dir_);
}

// Every log SLURM wrote for the sweep, for failure messages.
std::string slurm_logs(const fs::path& out) {
  std::string text;
  if (!fs::exists(out / "slurm")) return text;
  for (const auto& e : fs::directory_iterator(out / "slurm"))
    if (e.path().extension() == ".log")
      text += "--- " + e.path().string() + "\n" + core::read_file(e.path().string());
  return text;
}

// One cluster for both scenarios: two at once on one host (ctest -j) slow each other down.
void array_of_two_tasks(const testing::TempDir& dir_) {
  const fs::path out = dir_.path() / "out-array";
  const std::string sweep = dir_.write(
      "sweep.yaml",
      "name: slurm-array\noutput: '" + out.string() + "'\npreset: tiny\n"
      "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
      "protocol: {split: random, repeats: [0, 1]}\nseeds: [1]\n"
      "variants:\n  tsccn: {model: {variant: tsccn}}\n  resnet: {model: {variant: resnet18}}\n"
      "train: {epochs: 1, threads: 1, loader_workers: 1}\n");
  // Both tasks may synthesise the phantom; write it first, as a real sweep would be.
  const auto first = testing::run_fracsweep({"run", sweep, "--shard", "0/4"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto submitted =
      testing::run_fracsweep({"slurm", "submit", sweep, "--array", "2", "--time", "00:20:00",
                              "--cpus-per-task", "1"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err << submitted.out;
  EXPECT_HAS(submitted.out, "in each of 2 array tasks");
  const std::string id = submitted.out.substr(20, submitted.out.find(' ', 20) - 20);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (finished_counts(out).size() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto counts = finished_counts(out);
  ASSERT_EQ(counts.size(), 4u) << slurm_logs(out);
  for (const auto& [name, n] : counts) EXPECT_EQ(n, 1) << name;
  std::set<std::string> tasks;
  core::Logger quiet(core::LogLevel::kOff);
  for (const auto& r : sweeps::read_sweep_ledger(out.string(), quiet))
    if (!r.slurm_job.empty()) tasks.insert(r.slurm_job);
  EXPECT_EQ(tasks, (std::set<std::string>{id + "_0", id + "_1"}));
  // Each task wrote its own ledger, and status shows both with their SLURM tasks.
  for (const char* writer : {"shard-0-of-2", "shard-1-of-2"})
    EXPECT_TRUE(fs::exists(out / "ledger.d" / (std::string(writer) + ".jsonl"))) << writer;
  const auto status = testing::run_fracsweep({"status", out.string()});
  EXPECT_HAS(status.out, "shard-0-of-2: host ");
  EXPECT_HAS(status.out, "shard-1-of-2: host ");
  EXPECT_HAS(status.out, "SLURM job " + id + "_0");
  EXPECT_HAS(status.out, "SLURM job " + id + "_1");
}

}  // namespace
}  // namespace fracsweep::cluster
