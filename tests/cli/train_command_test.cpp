// `fracsweep train` through the binary: a stop signal checkpoints and exits
// with code 3, and running the job again resumes it.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/fs.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;

TEST(TrainCommand, StopSignalCheckpointsAndRunningAgainResumes) {
  testing::TempDir dir;
  const std::string store = (dir.path() / "s.h5").string();
  ASSERT_EQ(testing::run_fracsweep({"synth", "vcf", store, "--patients", "10", "--patch-size",
                                    "32", "--slices", "1", "-q"})
                .exit_code,
            0);
  const fs::path out = dir.path() / "job";
  const std::string job = dir.write(
      "job.yaml", "preset: tiny\noutput: " + out.string() + "\ndata: {store: " + store +
                      "}\nmodel: {variant: two-stream}\ntrain: {epochs: 400}\n");
  // Signal once the first epoch is logged: the handlers are installed by then.
  const auto r = testing::run_fracsweep({"train", job, "--no-progress"}, [&](int pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!fs::exists(out / "log.jsonl") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid, SIGUSR1);
  });
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_HAS(r.err, "stopped on signal 10");
  EXPECT_TRUE(fs::exists(out / "checkpoint_last.pt"));
  EXPECT_FALSE(fs::exists(out / "metrics.json"));

  // Again, stopped with SIGTERM once the resumed run has logged an epoch.
  const auto logged = fs::file_size(out / "log.jsonl");
  const auto again = testing::run_fracsweep({"train", job, "--no-progress"}, [&](int pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (fs::file_size(out / "log.jsonl") == logged &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid, SIGTERM);
  });
  EXPECT_EQ(again.exit_code, 3) << again.err;
  EXPECT_HAS(again.err, "resuming at epoch");
}

TEST(TrainCommand, AVertebraModelOnAPelvisStoreExitsWithTwoNamingTheStore) {
  testing::TempDir dir;
  const std::string store = (dir.path() / "pelvis.h5").string();
  ASSERT_EQ(testing::run_fracsweep({"synth", "pelvis", store, "--images", "10", "--height", "32",
                                    "--width", "64", "-q"})
                .exit_code,
            0);
  const std::string job = dir.write(
      "job.yaml", "preset: tiny\noutput: " + (dir.path() / "job").string() +
                      "\ndata: {store: " + store + "}\nmodel: {variant: two-stream}\n");
  const auto r = testing::run_fracsweep({"train", job, "--no-progress"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_HAS(r.err, "is a pelvis store, but variant 'two-stream' classifies vertebrae");
}

TEST(TrainCommand, BadJobFileExitsWithTwo) {
  testing::TempDir dir;
  const std::string job = dir.write("job.yaml", "output: o\ndata: {store: s.h5}\ntrain: {lr: x}\n");
  const auto r = testing::run_fracsweep({"train", job});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "train.lr: expected a number");
}

}  // namespace
}  // namespace fracsweep
