// `fracsweep run` end to end: under mpirun, resumed after kill -9, and its
// bookkeeping (lock, ledger, failed jobs).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "core/fs.h"
#include "core/log.h"
#include "datastore/patch_store.h"
#include "sweeps/ledger.h"
#include "sweeps/status.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
using testing::run_fracsweep;
using testing::run_fracsweep_mpi;
using testing::mini_sweep;
using testing::TempDir;

std::vector<sweeps::LedgerRecord> ledger_of(const fs::path& output) {
  core::Logger quiet(core::LogLevel::kOff);
  return sweeps::read_sweep_ledger(output.string(), quiet);
}

// Job name -> number of finished records.
std::map<std::string, int> finished_counts(const fs::path& output) {
  std::map<std::string, int> n;
  for (const auto& r : ledger_of(output))
    if (r.event == sweeps::LedgerEvent::kFinished) ++n[r.name];
  return n;
}

// Once the killed or aborted run has let go of the folder, runs the sweep again
// on two ranks to the end and expects each of `jobs` jobs finished exactly once.
void expect_rerun_finishes_each_job_once(const fs::path& out, const std::string& sweep,
                                         size_t jobs) {
  for (int i = 0; i < 500 && sweeps::sweep_running(out.string()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto again = run_fracsweep_mpi(2, {"run", sweep});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto after = finished_counts(out);
  EXPECT_EQ(after.size(), jobs);
  for (const auto& [name, n] : after) EXPECT_EQ(n, 1) << name << " finished " << n << " times";
}

// Every job's results, file by file: what must not depend on how it was run.
std::map<std::string, std::string> results_of(const fs::path& output) {
  return testing::files_below(output, [](const std::string& name) {
    return name == "metrics.json" || name == "predictions_test.csv" ||
           name == "predictions_val.csv";
  });
}

// One uninterrupted single-rank run of the 2-epoch sweep, shared by the tests
// that compare against it.
class RunCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reference_dir_ = new TempDir;
    const fs::path out = reference_dir_->path() / "out";
    const std::string sweep = reference_dir_->write("sweep.yaml", mini_sweep(out, 2));
    const auto r = run_fracsweep({"run", sweep});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reference_ = new std::map<std::string, std::string>(results_of(out));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_dir_;
  }
  static TempDir* reference_dir_;
  static std::map<std::string, std::string>* reference_;
};
TempDir* RunCommand::reference_dir_ = nullptr;
std::map<std::string, std::string>* RunCommand::reference_ = nullptr;

TEST_F(RunCommand, TwoRanksGiveTheSameResultsAsOne) {
  ASSERT_EQ(reference_->size(), 12u);  // 4 jobs x 3 files
  TempDir dir;
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(dir.path() / "out", 2));
  const auto r = run_fracsweep_mpi(2, {"run", sweep, "--ranks-per-job", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.out, "results in " + (dir.path() / "out").string());
  EXPECT_HAS(r.err, "2 group(s) of 1 rank(s)");
  // Both ranks took jobs.
  std::set<int> ranks;
  for (const auto& rec : ledger_of(dir.path() / "out")) ranks.insert(rec.rank);
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
  EXPECT_EQ(results_of(dir.path() / "out"), *reference_);
}

// A tmpfs of a given size at a folder, in a mount namespace of this process's
// own (made on first use, so nothing outside sees the mount; the children the
// test starts inherit it), unmounted when done.
class SmallDisk {
 public:
  // Why no small disk can be made here ("" when one can).
  static const std::string& unavailable() {
    static const std::string why = [] {
      if (::unshare(CLONE_NEWNS) != 0)
        return "cannot make a mount namespace (unshare: " + std::string(std::strerror(errno)) +
               "; needs CAP_SYS_ADMIN)";
      if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return "cannot make mounts private (" + std::string(std::strerror(errno)) + ")";
      return std::string();
    }();
    return why;
  }
  SmallDisk(fs::path where, const std::string& size) : where_(std::move(where)) {
    fs::create_directories(where_);
    mounted_ = ::mount("tmpfs", where_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  void resize(const std::string& size) {
    ASSERT_EQ(::mount("tmpfs", where_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()), 0)
        << std::strerror(errno);
  }
  uintmax_t used() const {
    const fs::space_info s = fs::space(where_);
    return s.capacity - s.free;
  }

 private:
  fs::path where_;
  bool mounted_ = false;
};

// One clear error, no crash or HDF5 error stack in between.
void expect_one_clear_write_error(const testing::CommandResult& r, const fs::path& disk) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.err.find("No space left on device") != std::string::npos ||
              r.err.find("disk is full") != std::string::npos)
      << r.err;
  EXPECT_HAS(r.err, disk.string());
  for (const char* crash : {"Segmentation", "terminate called", "HDF5-DIAG", "infinite loop"})
    EXPECT_EQ(r.err.find(crash), std::string::npos) << crash << " in:\n" << r.err;
}

// A disk that fills while the phantom store, sweep.json, progress or a
// checkpoint is written: each time one error naming the file and the cause,
// exit code 1; once space is freed, a rerun finishes every job once with the
// results of an uninterrupted run, and the report, refused on a full disk,
// is written.
TEST_F(RunCommand, AFullDiskStopsTheSweepWithOneClearErrorAndARerunLosesNothing) {
  if (!SmallDisk::unavailable().empty()) GTEST_SKIP() << SmallDisk::unavailable();
  // Sizes at which this sweep runs out while writing, in order: the store (HDF5
  // reports success but leaves a chunk out; it does not read back), the store
  // (HDF5 fails to complete it), the progress file, a checkpoint.
  for (const std::string size : {"40k", "200k", "500k", "1500k"}) {
    SCOPED_TRACE("a disk of " + size);
    TempDir dir;
    const fs::path mnt = dir.path() / "disk";
    SmallDisk disk(mnt, size);
    if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    const fs::path out = mnt / "out";
    const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 2));
    expect_one_clear_write_error(run_fracsweep({"run", sweep}), mnt);
    disk.resize("64m");
    const auto rerun = run_fracsweep({"run", sweep});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    for (const auto& [name, n] : finished_counts(out)) EXPECT_EQ(n, 1) << name;
    EXPECT_EQ(finished_counts(out).size(), 4u);
    EXPECT_EQ(results_of(out), *reference_);
    if (size != "1500k") continue;
    disk.resize(std::to_string((disk.used() >> 10) + 20) + "k");
    expect_one_clear_write_error(run_fracsweep({"report", out.string()}), mnt / "out" / "report");
    disk.resize("64m");
    const auto report = run_fracsweep({"report", out.string()});
    EXPECT_EQ(report.exit_code, 0) << report.err;
  }
}

// A disk that reports I/O errors (EIO), injected by a preloaded library
// (tests/faults/eio_preload.c): on fsync (the ledger, sweep.json, progress, checkpoints,
// predictions, the store's rename), on pwrite (HDF5's writes of the phantom store) or on
// write (every file fracsweep writes itself), each call failing at random with the
// probability below, seeded. Each trial: one error naming the file and the cause, exit
// code 1, no hang; then a rerun on a healthy disk finishes every job once with the results
// of an uninterrupted run. FRACSWEEP_EIO_TRIALS (default 1) sets the trials per call,
// FRACSWEEP_EIO_SEED (default 1) the first seed.
TEST_F(RunCommand, DiskErrorsStopTheSweepWithOneClearErrorAndARerunLosesNothing) {
  const char* trials_env = std::getenv("FRACSWEEP_EIO_TRIALS");
  const int trials = trials_env ? std::max(1, std::atoi(trials_env)) : 1;
  const char* seed_env = std::getenv("FRACSWEEP_EIO_SEED");
  const uint64_t first_seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 1;
  std::map<std::string, int> failed_files;
  // The lower the probability, the likelier the first fault lands past the phantom store,
  // in the jobs' own files: each trial of a call takes the next of three.
  const std::map<std::string, double> base = {{"fsync", 0.05}, {"pwrite", 0.25}, {"write", 0.04}};
  int no_fault = 0;
  for (const auto& [call, p0] : base)
    for (int trial = 0; trial < trials; ++trial) {
      const uint64_t seed = first_seed + trial;
      const double probability = p0 / (1 << (2 * (trial % 3)));
      SCOPED_TRACE(call + ", probability " + std::to_string(probability) + ", seed " +
                   std::to_string(seed));
      TempDir dir;
      const fs::path out = dir.path() / "out";
      const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 2));
      const auto r = testing::run_fracsweep_failing(call, probability, seed, {"run", sweep},
                                                    std::chrono::seconds(300));
      ASSERT_NE(r.exit_code, testing::CommandResult::kTimedOut) << "a hang:\n" << r.err;
      if (r.err.find("eio_preload: EIO") == std::string::npos) {
        // No call failed: the run is an ordinary one.
        ++no_fault;
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(results_of(out), *reference_);
        continue;
      }
      EXPECT_EQ(r.exit_code, 1) << r.err;
      // HDF5 does not always pass a failed write on; the store's read-back check names it.
      EXPECT_TRUE(r.err.find(std::strerror(EIO)) != std::string::npos ||
                  r.err.find("a write was lost") != std::string::npos)
          << r.err;
      for (const char* crash : {"Segmentation", "terminate called", "HDF5-DIAG", "core dumped"})
        EXPECT_EQ(r.err.find(crash), std::string::npos) << crash << " in:\n" << r.err;
      const size_t error = r.err.find(" ERROR ");
      ASSERT_NE(error, std::string::npos) << r.err;
      const size_t at = r.err.find(out.string(), error);
      EXPECT_NE(at, std::string::npos) << "the error names no file:\n" << r.err;
      if (at != std::string::npos)
        ++failed_files[call + " on " +
                       fs::path(r.err.substr(at, r.err.find_first_of(": \n", at) - at))
                           .filename()
                           .string()];
      const auto rerun = run_fracsweep({"run", sweep});
      ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
      const auto finished = finished_counts(out);
      EXPECT_EQ(finished.size(), 4u);
      for (const auto& [name, n] : finished) EXPECT_EQ(n, 1) << name;
      EXPECT_EQ(results_of(out), *reference_);
    }
  for (const auto& [what, n] : failed_files) std::cout << "EIO in " << what << ": " << n << "\n";
  std::cout << "trials that met no fault (and finished as usual): " << no_fault << "\n";
}

TEST_F(RunCommand, KillNineMidSweepThenRestartFinishesEveryJobOnceWithTheSameResults) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 2));
  const auto killed = run_fracsweep_mpi(2, {"run", sweep}, [&](int pid) {
    // Kill once one job is finished and another is under way.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      if (sweeps::has_ledger(out.string()) && finished_counts(out).size() >= 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    testing::kill_tree(pid, SIGKILL);
  });
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  const auto before = finished_counts(out);
  ASSERT_GE(before.size(), 1u);
  ASSERT_LT(before.size(), 4u) << "the sweep ended before it was killed; the test proves nothing";
  // The kernel drops the dead rank 0's lock; wait until it has.
  for (int i = 0; i < 500 && sweeps::sweep_running(out.string()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  const auto r = run_fracsweep_mpi(2, {"run", sweep});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.err, before.size() == 1 ? "1 finished before" : "finished before");
  const auto after = finished_counts(out);
  EXPECT_EQ(after.size(), 4u);
  for (const auto& [name, n] : after) EXPECT_EQ(n, 1) << name << " finished " << n << " times";
  EXPECT_EQ(results_of(out), *reference_);

  // A finished sweep does nothing and says so.
  const auto again = run_fracsweep({"run", sweep});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_HAS(again.out, "nothing to run: 4 of 4 jobs finished");
  EXPECT_EQ(finished_counts(out), after);
}

// SIGKILL of the whole `mpirun -np 2 fracsweep run` at seeded random moments
// (while the phantom, a checkpoint, the ledger, a progress file or predictions
// are being written), then a run to the end: every job finished exactly once,
// with the results of an uninterrupted run. FRACSWEEP_KILLS (default 2) and
// FRACSWEEP_KILL_SEED choose how many kills and where; the seed is printed.
TEST_F(RunCommand, KillsAtRandomMomentsLoseNothing) {
  const char* kills_env = std::getenv("FRACSWEEP_KILLS");
  const char* seed_env = std::getenv("FRACSWEEP_KILL_SEED");
  const int kills = kills_env ? std::atoi(kills_env) : 2;
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10)
                                 : static_cast<uint64_t>(std::random_device{}());
  std::cout << "kill seed " << seed << " (FRACSWEEP_KILL_SEED=" << seed << " repeats it)\n";
  RecordProperty("kill_seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(30, 1500);
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 2));
  for (int k = 0; k < kills; ++k) {
    const int ms = delay_ms(rng);
    const auto killed = run_fracsweep_mpi(2, {"run", sweep}, [&](int pid) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      testing::kill_tree(pid, SIGKILL);
    });
    SCOPED_TRACE("kill " + std::to_string(k) + " after " + std::to_string(ms) + " ms");
    // The kernel drops the dead rank 0's lock; wait until it has.
    for (int i = 0; i < 500 && sweeps::sweep_running(out.string()); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (killed.exit_code == 0) {  // it finished first
      std::cout << "the sweep finished before kill " << k << "\n";
      break;
    }
    std::cout << "killed after " << ms << " ms\n";
  }
  const auto r = run_fracsweep_mpi(2, {"run", sweep});
  ASSERT_EQ(r.exit_code, 0) << "seed " << seed << "\n" << r.err;
  const auto after = finished_counts(out);
  EXPECT_EQ(after.size(), 4u) << "seed " << seed;
  for (const auto& [name, n] : after) EXPECT_EQ(n, 1) << name << " finished " << n << " times";
  EXPECT_EQ(results_of(out), *reference_) << "seed " << seed;
}

// One rank killed alone (not its whole job): the other does not hang (mpirun
// sends it SIGTERM, and it checkpoints its job), the run ends within a bounded
// time with the dead rank named, and a rerun finishes the sweep with nothing
// lost.
TEST_F(RunCommand, ARankKilledAloneEndsTheRunNamingItAndARerunFinishes) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 2));
  std::chrono::steady_clock::time_point killed_at{};
  const auto killed = run_fracsweep_mpi(2, {"run", sweep}, [&](int pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int rank1 = -1;
    while (std::chrono::steady_clock::now() < deadline) {
      if (sweeps::has_ledger(out.string()) && (rank1 = testing::mpi_rank_pid(pid, 1)) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GT(rank1, 0) << "no rank 1 under mpirun " << pid;
    ::kill(rank1, SIGKILL);
    killed_at = std::chrono::steady_clock::now();
  });
  const double ended_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_NE(killed.exit_code, 0) << killed.err;
  EXPECT_LT(ended_s, 60) << "the surviving rank waited " << ended_s << " s";
  EXPECT_HAS(killed.err + killed.out, "rank 1 with PID");  // mpirun names the dead rank
  expect_rerun_finishes_each_job_once(out, sweep, 4);
  EXPECT_EQ(results_of(out), *reference_);
}

// A rank stopped (SIGSTOP) mid-job would keep the run waiting forever: its
// group falls silent, is named after --timeout, and after --abort-after the
// run is aborted; a rerun finishes the sweep.
TEST(RunCommandFailures, AStoppedRankIsNamedAndTheRunAbortedNotWaitedOn) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 8));
  std::chrono::steady_clock::time_point stopped_at{};
  int rank1 = -1;
  const auto r = run_fracsweep_mpi(2, {"run", sweep, "--timeout", "1", "--abort-after", "3"},
                                   [&](int pid) {
    // Once rank 1 has started a job (the ledger says so), so that its group is expected to report.
    const auto rank1_started = [&] {
      core::Logger quiet(core::LogLevel::kOff);
      for (const auto& rec : sweeps::read_sweep_ledger(out.string(), quiet))
        if (rec.event == sweeps::LedgerEvent::kStarted && rec.rank == 1) return true;
      return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (rank1_started() && (rank1 = testing::mpi_rank_pid(pid, 1)) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GT(rank1, 0) << "rank 1 under mpirun " << pid << " started no job";
    ::kill(rank1, SIGSTOP);
    stopped_at = std::chrono::steady_clock::now();
  });
  if (rank1 > 0) ::kill(rank1, SIGKILL);  // in case it outlived the abort
  const double ended_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_LT(ended_s, 40) << "the run waited " << ended_s << " s on a stopped rank";
  EXPECT_HAS(r.err, "has not reported for");
  EXPECT_HAS(r.err, "aborting the run");
  expect_rerun_finishes_each_job_once(out, sweep, 4);
}

// A rank stopped while it holds no job: the coordinator waits for every group
// to ask for work before it ends, and the root for every rank at the end, so
// either wait would last forever; both are limited by --abort-after. One job,
// three groups: once the ledger shows which rank took it, one of ranks 1 and 2
// that did not holds none and is stopped.
TEST(RunCommandFailures, ARankStoppedWithoutAJobIsNamedAndTheRunAbortedNotWaitedOn) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write(
      "sweep.yaml", "name: one\noutput: " + out.string() +
                        "\npreset: tiny\ndataset: {phantom: {patients: 12, patch_size: 32, "
                        "seed: 1}}\nprotocol: {split: random, repeats: [0]}\nvariants:\n  "
                        "resnet: {model: {variant: resnet18}}\ntrain: {epochs: 2, threads: 1, "
                        "loader_workers: 1}\n");
  int idle = -1, taker = -1;
  std::chrono::steady_clock::time_point stopped_at{};
  const auto r = run_fracsweep_mpi(
      3, {"run", sweep, "--ranks-per-job", "1", "--timeout", "1", "--abort-after", "3"},
      [&](int pid) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline && taker < 0) {
          for (const auto& rec : ledger_of(out))
            if (rec.event == sweeps::LedgerEvent::kStarted) taker = rec.rank;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ASSERT_GE(taker, 0) << "no rank started the job";
        idle = testing::mpi_rank_pid(pid, taker == 1 ? 2 : 1);  // a rank other than root and taker
        ASSERT_GT(idle, 0) << "no idle rank under mpirun " << pid;
        ::kill(idle, SIGSTOP);
        stopped_at = std::chrono::steady_clock::now();
      });
  if (idle > 0) ::kill(idle, SIGKILL);  // in case it outlived the abort
  const double ended_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_LT(ended_s, 40) << "the run waited " << ended_s << " s on a stopped rank";
  EXPECT_HAS(r.err, "aborting the run");
  EXPECT_TRUE(r.err.find("without asking for a job") != std::string::npos ||
              r.err.find("every rank at the end of the run") != std::string::npos)
      << r.err;
  expect_rerun_finishes_each_job_once(out, sweep, 1);
}

TEST_F(RunCommand, ASecondRunOnTheSameFolderIsRefusedNamingTheHolder) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 3));
  testing::CommandResult second;
  const auto first = run_fracsweep({"run", sweep}, [&](int pid) {
    while (!sweeps::has_ledger(out.string()))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    second = run_fracsweep({"run", sweep});
    ::kill(pid, SIGTERM);
  });
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_HAS(second.err, "held by pid");
  // The first stopped on SIGTERM with checkpoints: exit code 3, resumable.
  EXPECT_EQ(first.exit_code, 3) << first.err;
  EXPECT_HAS(first.out, "run the same command again to resume");
}

TEST(RunCommandFailures, AFailedJobIsRecordedTheSweepGoesOnAndRetryFailedRerunsIt) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  // The weights file exists, so the sweep is valid, but it is not a model:
  // the job fails when it loads it.
  const std::string weights = dir.write("weights.pt", "not a TorchScript file");
  const std::string sweep = dir.write(
      "sweep.yaml", mini_sweep(out, 1, "  pretrained: {model: {variant: resnet18, width: 2, "
                                       "init_weights: " + weights + "}}\n"));
  const auto r = run_fracsweep({"run", sweep});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_HAS(r.err, "FAILED pretrained/repeat0/seed1");
  EXPECT_EQ(finished_counts(out).size(), 4u);  // the other jobs ran
  const auto state = sweeps::summarize(ledger_of(out));
  EXPECT_EQ(state.count(sweeps::JobStatus::kFailed), 2);
  const auto status = run_fracsweep({"status", out.string()});
  EXPECT_HAS(status.out, "pretrained/repeat0/seed1");

  // Without --retry-failed the failed jobs are skipped ...
  const auto skipped = run_fracsweep({"run", sweep});
  EXPECT_EQ(skipped.exit_code, 1);
  EXPECT_HAS(skipped.err, "2 failed skipped (--retry-failed reruns them)");
  // ... with it, they run again (and fail again: the file is still not a model).
  const auto retried = run_fracsweep({"run", sweep, "--retry-failed"});
  EXPECT_EQ(retried.exit_code, 1) << retried.err;
  EXPECT_HAS(retried.err, "start pretrained/repeat0/seed1");
  EXPECT_HAS(retried.err, "start pretrained/repeat1/seed1");
  const auto retried_state = sweeps::summarize(ledger_of(out));
  for (const auto& [id, job] : retried_state.jobs)
    if (job.status == sweeps::JobStatus::kFailed) {
      EXPECT_EQ(job.failures, 2) << job.name;
    }
  EXPECT_EQ(finished_counts(out).size(), 4u);  // finished jobs were not rerun
}

TEST(RunCommandFailures, UnderSlurmTheLedgerRecordsSlurmsJobId) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 1));
  ::setenv("SLURM_JOB_ID", "4242", 1);
  const auto r = run_fracsweep({"run", sweep});
  ::unsetenv("SLURM_JOB_ID");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = ledger_of(out);
  ASSERT_EQ(records.size(), 8u);
  for (const auto& rec : records) EXPECT_EQ(rec.slurm_job, "4242");
}

// Each shard writes a ledger and a progress file of its own; readers merge them.
TEST(RunCommandFailures, ShardsRunSideBySideEachWithItsOwnLedger) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 1));
  // Shard 0 is still running while shard 1 starts: separate locks.
  testing::CommandResult second;
  const auto first = run_fracsweep({"run", sweep, "--shard", "0/2"}, [&](int) {
    while (!sweeps::has_ledger(out.string()))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    second = run_fracsweep({"run", sweep, "--shard", "1/2"});
  });
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_HAS(second.err, "shard 1 of 2");
  const auto counts = finished_counts(out);
  EXPECT_EQ(counts.size(), 4u);
  for (const auto& [name, n] : counts) EXPECT_EQ(n, 1) << name;
  // Jobs 0 and 2 (sweep order: tsccn/repeat0, resnet/repeat0) were shard 0's.
  EXPECT_HAS(first.err, "start tsccn/repeat0/seed1");
  EXPECT_HAS(first.err, "start resnet/repeat0/seed1");
  EXPECT_HAS(second.err, "start tsccn/repeat1/seed1");
  for (const char* writer : {"shard-0-of-2", "shard-1-of-2"}) {
    EXPECT_TRUE(fs::exists(out / "ledger.d" / (std::string(writer) + ".jsonl"))) << writer;
    EXPECT_TRUE(fs::exists(out / "progress.d" / (std::string(writer) + ".json"))) << writer;
  }
  EXPECT_FALSE(fs::exists(out / "ledger.jsonl"));
  const auto json = nlohmann::json::parse(run_fracsweep({"status", out.string(), "--json"}).out);
  EXPECT_EQ(json["total"]["done"], 4);
  EXPECT_EQ(json["unlisted"], 0);
  ASSERT_EQ(json["writers"].size(), 2u);
  EXPECT_EQ(json["writers"][0]["writer"], "shard-0-of-2");
  const auto status = run_fracsweep({"status", out.string()});
  EXPECT_HAS(status.out, "shard-0-of-2: host ");
  EXPECT_HAS(status.out, "shard-1-of-2: host ");
  // Run again unsharded: nothing is left to do, whoever ran it.
  const auto again = run_fracsweep({"run", sweep});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_HAS(again.out, "nothing to run");
  const auto bad = run_fracsweep({"run", sweep, "--shard", "2/2"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_HAS(bad.err, "--shard '2/2' is not I/K");
}

// The shards of a SLURM array start together on a fresh folder: one writes the phantom and
// sweep.json while the others wait for it, then use what it wrote. Each used to write the
// phantom itself under one temporary name, and all but one stopped on HDF5's lock of it
// ("cannot create the HDF5 file (Resource temporarily unavailable)").
TEST(RunCommandFailures, FourShardsStartedTogetherOnAFreshFolderWriteThePhantomOnce) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  // A phantom that takes a while to write, so that every shard arrives while it is written.
  std::string text = mini_sweep(out, 1);
  const std::string small = "patients: 12,";
  text.replace(text.find(small), small.size(), "patients: 40,");
  const std::string sweep = dir.write("sweep.yaml", text);
  constexpr int kShards = 4;
  std::vector<testing::CommandResult> shard(kShards);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kShards; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kShards) std::this_thread::yield();
      shard[i] = run_fracsweep({"run", sweep, "--shard", std::to_string(i) + "/" +
                                                             std::to_string(kShards)});
    });
  for (auto& t : threads) t.join();
  int writers = 0;
  for (int i = 0; i < kShards; ++i) {
    EXPECT_EQ(shard[i].exit_code, 0) << "shard " << i << ":\n" << shard[i].err;
    if (shard[i].err.find("writing the phantom data set") != std::string::npos) ++writers;
  }
  EXPECT_EQ(writers, 1);
  const auto counts = finished_counts(out);
  EXPECT_EQ(counts.size(), 4u);
  for (const auto& [name, n] : counts) EXPECT_EQ(n, 1) << name;
  EXPECT_NO_THROW(datastore::PatchStore::open((out / "phantom.h5").string()));
  EXPECT_EQ(sweeps::read_manifest(out.string()).jobs.size(), 4u);
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".partial"), std::string::npos) << "left behind: " << name;
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind: " << name;
  }
}

TEST(RunCommandFailures, RanksThatCannotFormGroupsAreBadInput) {
  TempDir dir;
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(dir.path() / "out", 1));
  const auto r = run_fracsweep({"run", sweep, "--ranks-per-job", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "cannot form groups of 2 ranks per job");
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
}

// A batch size the ranks of a job cannot split is refused by plan and run before any job
// starts, naming the file, the job, the key and the value (it used to fail every job); run
// checks the ranks per job it runs with: --ranks-per-job over the file's.
TEST(RunCommandFailures, ABatchSizeTheRanksCannotSplitIsRefusedBeforeAnyJobStarts) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string ones = dir.write(
      "ones.yaml", mini_sweep(out, 1, "  ones: {model: {variant: resnet18}, train: {batch_size: 1}}\n"));
  for (const std::string command : {"plan", "run"}) {
    const auto r = run_fracsweep({command, ones});
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_HAS(r.err, ones + ": job ones/repeat0/seed1: train.batch_size 1 over ranks_per_job 1");
  }
  EXPECT_FALSE(fs::exists(out));
  // The tiny preset's batch of 16 splits over 2 ranks, not over 32; the file says 1.
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 1));
  for (const std::string command : {"plan", "run"}) {
    const auto r = run_fracsweep({command, sweep, "--ranks-per-job", "32"});
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_HAS(r.err, sweep + ": job tsccn/repeat0/seed1: train.batch_size 16 over --ranks-per-job 32");
  }
  const auto planned = run_fracsweep({"plan", sweep, "--ranks-per-job", "2", "--quiet"});
  EXPECT_EQ(planned.exit_code, 0) << planned.err;
  EXPECT_HAS(planned.out, "2 rank(s) per job");
  EXPECT_FALSE(fs::exists(out));
}

// A bad vertebra phantom is refused with the file and the key before the phantom is written.
TEST(RunCommandFailures, ABadPhantomIsRefusedNamingTheFileAndTheKey) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  std::string text = mini_sweep(out, 1);
  text.replace(text.find("patch_size: 32"), 14, "patch_size: 4000");
  const std::string sweep = dir.write("sweep.yaml", text);
  for (const std::string command : {"plan", "run"}) {
    const auto r = run_fracsweep({command, sweep});
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_HAS(r.err, sweep + ": dataset.phantom: vcf phantom: patch_size must be in [16, 2048], got 4000");
  }
  EXPECT_FALSE(fs::exists(out));
}

// train.device: cuda where no GPU is visible: the run is refused before any job starts,
// rather than every such job being recorded as failed.
TEST(RunCommandFailures, TrainDeviceCudaWithoutAGpuIsRefusedBeforeAnyJobStarts) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write(
      "sweep.yaml", mini_sweep(out, 1, "  gpu: {model: {variant: resnet18, width: 2}, train: {device: cuda}}\n"));
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::optional<std::string> saved = visible ? std::optional<std::string>(visible) : std::nullopt;
  ::setenv("CUDA_VISIBLE_DEVICES", "", 1);  // no GPU, on any machine
  const auto r = run_fracsweep({"run", sweep});
  if (saved) {
    ::setenv("CUDA_VISIBLE_DEVICES", saved->c_str(), 1);
  } else {
    ::unsetenv("CUDA_VISIBLE_DEVICES");
  }
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_HAS(r.err, sweep + ": job gpu/repeat0/seed1: train.device: cuda, but this rank");
  EXPECT_EQ(r.err.find("start tsccn/"), std::string::npos) << r.err;
  EXPECT_TRUE(finished_counts(out).empty());
  EXPECT_FALSE(fs::exists(out / "tsccn"));
}

TEST(RunCommandFailures, DataParallelGroupsOfTwoRunTheSweep) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml", mini_sweep(out, 1));
  const auto r = run_fracsweep_mpi(2, {"run", sweep, "--ranks-per-job", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.err, "1 group(s) of 2 rank(s)");
  EXPECT_EQ(finished_counts(out).size(), 4u);
  for (const auto& rec : ledger_of(out)) EXPECT_EQ(rec.rank, 0);  // the group's leader
  // Only the leader writes a job's folder; its files are complete.
  EXPECT_TRUE(fs::exists(out / "tsccn/repeat0/seed1/metrics.json"));
}

// A write error on the writer of a data-parallel group (its rank 0, which writes the
// job's folder) stops the group together, and the run with it, as it does for a group of
// one: exit code 1, the file named, a rerun resumes. The other rank used to wait in the
// group's next collective until --abort-after aborted the run. One job of two epochs on a
// group of two ranks, with every write of one file failing (tests/faults/eio_preload.c,
// FRACSWEEP_EIO_PATH), in turn: config.yaml (the job's start), the best checkpoint (the
// end of epoch 1, before its log line), the last checkpoint (the end of epoch 1, before
// epoch 2's steps) and metrics.json (on the writer alone, after the last collective). The
// ledger, which rank 0 writes too, stays healthy.
// One job (`variant`, its train settings `train`) on one group of two ranks, every write
// of `file` failing on the group's writer: the run ends well before --abort-after, exit
// code 1, the file named, not the job's fault; a rerun on a healthy disk finishes it once.
void expect_the_group_stops_on_a_write_error(const std::string& variant, const std::string& train,
                                             const std::string& file) {
  SCOPED_TRACE(variant + ", " + file);
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write(
      "sweep.yaml", "name: one\noutput: " + out.string() +
                        "\npreset: tiny\ndataset: {phantom: {patients: 12, patch_size: 32, "
                        "seed: 1}}\nprotocol: {split: random, repeats: [0]}\nseeds: [1]\n"
                        "variants:\n  " + variant + ": {model: {variant: " + variant + "}}\ntrain: " +
                        train + "\n");
  testing::DiskFault fault;
  fault.call = "write";
  fault.path = file;
  fault.mpi_ranks = 2;
  const auto started = std::chrono::steady_clock::now();
  const auto r = testing::run_fracsweep_failing(
      fault, {"run", sweep, "--ranks-per-job", "2", "--timeout", "60", "--abort-after", "120"},
      std::chrono::seconds(300));
  const double ended_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_NE(r.exit_code, testing::CommandResult::kTimedOut) << "a hang:\n" << r.err;
  EXPECT_LT(ended_s, 60) << "the run waited " << ended_s << " s:\n" << r.err;
  const std::string job = (out / (variant + "/repeat0/seed1")).string();
  EXPECT_HAS(r.err, "eio_preload: EIO from write on " + job + "/" + file);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_HAS(r.err, "stopped: " + job + "/" + file);
  EXPECT_HAS(r.err, std::strerror(EIO));
  EXPECT_HAS(r.out, "stopped by a write error, run the same command again to resume");
  EXPECT_EQ(r.err.find("aborting the run"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("FAILED"), std::string::npos) << r.err;  // not the job's fault
  EXPECT_TRUE(finished_counts(out).empty());

  const auto again = run_fracsweep_mpi(2, {"run", sweep, "--ranks-per-job", "2"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(finished_counts(out), (std::map<std::string, int>{{variant + "/repeat0/seed1", 1}}));
  EXPECT_TRUE(fs::exists(job + "/metrics.json"));
}

TEST(RunCommandFailures, AWriteErrorOnAGroupsWriterStopsTheGroupNotWaitingForAbortAfter) {
  for (const std::string file : {"config.yaml", "checkpoint_best", "checkpoint_last", "metrics.json"})
    expect_the_group_stops_on_a_write_error("resnet18", "{epochs: 2, threads: 1, loader_workers: 1}", file);
}

// The same for the synthetic curve model the search tests train: its writer's
// configuration, log line and state file.
TEST(RunCommandFailures, AWriteErrorOnACurveGroupsWriterStopsTheGroup) {
  for (const std::string file : {"config.yaml", "log.jsonl", "curve_state.json"})
    expect_the_group_stops_on_a_write_error("curve", "{epochs: 3, curve_epoch_seconds: 0.05, threads: 1}",
                                            file);
}

}  // namespace
}  // namespace fracsweep
