// `fracsweep export` without its Python, and `fracsweep run` refusing a sweep's exported
// package before any job starts: a package for another task, LibTorch or device, a file
// that is no package, a manifest whose input shape disagrees with the store. One line
// each, naming the package, exit code 2, and no job folder made. The packages are
// tests/fixtures/exported's; Python runs only to write a model file's seed weights.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "core/fs.h"
#include "spec/exported.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
using testing::fixture;
using testing::run_fracsweep;
using testing::TempDir;

TEST(ExportCommand, SaysWhenTheProjectsPythonIsMissing) {
  TempDir dir;
  const std::string model = dir.write("model.py", "def build_model():\n    pass\n");
  ::setenv("FRACSWEEP_PYTHON", (dir.path() / "no-python").c_str(), 1);
  const auto r = run_fracsweep({"export", model, "--task", "vertebra"});
  ::unsetenv("FRACSWEEP_PYTHON");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_HAS(r.err, "no-python' is not there");
  EXPECT_HAS(r.err, "FRACSWEEP_PYTHON");
}

// A sweep of one exported variant on a `size` x `size` vertebra phantom, trained on the CPU.
std::string sweep_with(const TempDir& dir, const std::string& package, int size = 32) {
  return dir.write("sweep.yaml",
                   "name: exported\n"
                   "output: " + (dir.path() / "run").string() + "\n"
                   "preset: tiny\n"
                   "dataset: {phantom: {patients: 12, patch_size: " + std::to_string(size) +
                   ", seed: 1}}\n"
                   "protocol: {split: random, repeats: [0]}\n"
                   "seeds: [1]\n"
                   "variants:\n"
                   "  own: {model: {variant: own, package: " + package + "}}\n"
                   "train: {epochs: 1, device: cpu, threads: 1, loader_workers: 1}\n");
}

// `fracsweep run` of that sweep: exit 2, one line naming the package and `expected`.
void expect_refused(const std::string& package, const std::string& expected) {
  TempDir dir;
  const auto r = run_fracsweep({"run", sweep_with(dir, fixture(package))});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_HAS(r.err, fs::path(package).filename().string());
  EXPECT_HAS(r.err, expected);
  size_t error_lines = 0;
  for (size_t at = r.err.find("error"); at != std::string::npos; at = r.err.find("error", at + 1))
    ++error_lines;
  EXPECT_LE(error_lines, 1u) << r.err;
  // Before any job starts: no job has a folder.
  const fs::path run = dir.path() / "run";
  if (fs::exists(run)) {
    for (const auto& e : fs::recursive_directory_iterator(run))
      EXPECT_NE(e.path().filename(), "config.yaml") << e.path();
  }
}

// The package the refusals start from, on a store of its own input shape, trains as a job
// of the sweep to its end: checked by the job (trainer/train_job.cpp) as by the sweep.
TEST(RunExported, TrainsAPackageToTheEndAndPredictsWithItFromTwoStreams) {
  TempDir dir;
  const auto r = run_fracsweep({"run", sweep_with(dir, fixture("exported/tiny_cnn.pt2"), 16)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path job = dir.path() / "run" / "own" / "repeat0" / "seed1";
  EXPECT_TRUE(fs::exists(job / "metrics.json")) << r.out << r.err;
  EXPECT_TRUE(fs::exists(job / "predictions_test.csv"));
  EXPECT_HAS(r.out, "| own | 1/1 |");
  // Applied to another cohort by predict, the package is called from two inference streams
  // at once: the files are those of one stream, byte for byte.
  const std::string external = (dir.path() / "external.h5").string();
  ASSERT_EQ(run_fracsweep({"synth", "vcf", external, "--patients", "6", "--patch-size", "16",
                           "--seed", "5"}).exit_code, 0);
  std::map<std::string, std::string> predicted[2];
  for (int streams : {1, 2}) {
    const fs::path out = dir.path() / ("predicted" + std::to_string(streams));
    const auto p = run_fracsweep({"predict", (dir.path() / "run").string(), external, "--out",
                                  out.string(), "--streams", std::to_string(streams)});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    predicted[streams - 1] = testing::files_below(out, [](const std::string& name) {
      return name != "predict.json";  // names its own folder
    });
  }
  EXPECT_FALSE(predicted[0].empty());
  EXPECT_EQ(predicted[0], predicted[1]);
}

// A data-parallel group of two ranks trains a package as it trains a built-in model: the
// package's gradients, put into the parameters' .grad by the step, are all-reduced by the
// group, and the job ends with its results on the group's writer.
TEST(RunExported, ADataParallelGroupOfTwoTrainsAPackage) {
  TempDir dir;
  const std::string sweep = sweep_with(dir, fixture("exported/tiny_cnn.pt2"), 16);
  const auto r = testing::run_fracsweep_mpi(2, {"run", sweep, "--ranks-per-job", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_HAS(r.err, "1 group(s) of 2 rank(s)");
  const fs::path job = dir.path() / "run" / "own" / "repeat0" / "seed1";
  EXPECT_TRUE(fs::exists(job / "metrics.json")) << r.out << r.err;
  EXPECT_HAS(r.out, "| own | 1/1 |");
}

// A sweep naming a model file (.py) exports it once (here the fixture's package is its
// cache already, so nothing compiles) and starts each seed's job from that seed's own
// initial weights, written beside the cached package before any job starts.
TEST(RunExported, AModelFileStartsEachSeedFromItsOwnInitialWeights) {
  TempDir dir;
  const std::string model = (dir.path() / "tiny_cnn.py").string();
  fs::copy_file(fixture("exported/tiny_cnn.py"), model);
  const std::string cache = spec::exported_cache_path(model);
  fs::create_directories(fs::path(cache).parent_path());
  fs::copy_file(fixture("exported/tiny_cnn.pt2"), cache);
  std::string sweep = core::read_file(sweep_with(dir, model, 16));
  sweep.replace(sweep.find("seeds: [1]"), 10, "seeds: [1, 2]");
  const std::string path = dir.write("sweep.yaml", sweep);

  const auto r = run_fracsweep({"run", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = r.out + r.err;
  EXPECT_HAS(log, "initial weights for seed(s) 1,2");
  for (uint64_t seed : {1, 2}) {
    const std::string weights = spec::seed_weights_path(cache, seed);
    EXPECT_TRUE(fs::exists(weights)) << weights;
    EXPECT_HAS(log, "seed" + std::to_string(seed) + ": initial weights " + weights);
  }
  EXPECT_NE(core::read_file(spec::seed_weights_path(cache, 1)),
            core::read_file(spec::seed_weights_path(cache, 2)));
  // Run again: the weights are there, nothing is written twice.
  const auto again = run_fracsweep({"run", path});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ((again.out + again.err).find("initial weights for seed"), std::string::npos)
      << again.out << again.err;
}

TEST(RunExported, RefusesAPackageForAnotherTask) {
  expect_refused("exported/bad/pelvis_task.pt2",
                 "manifest task is 'pelvis' but the job trains the vertebra task");
}

TEST(RunExported, RefusesAPackageForAnotherLibTorch) {
  expect_refused("exported/bad/old_libtorch.pt2", "manifest libtorch is '2.9.1+cpu'");
}

TEST(RunExported, RefusesAPackageForAnotherDevice) {
  expect_refused("exported/bad/cuda_device.pt2", "manifest device is 'cuda' but the job trains on the cpu");
}

TEST(RunExported, RefusesAFileThatIsNoPackage) {
  expect_refused("exported/bad/not_a_package.pt2", "is not a fracsweep package");
}

TEST(RunExported, RefusesInputShapesThatDisagreeWithTheStore) {
  expect_refused("exported/tiny_cnn.pt2",
                 "manifest inputs[0].shape [B, 1, 16, 16] disagrees with the store's samples "
                 "[B, 1, 32, 32]; export the model with --size 32");
}

}  // namespace
}  // namespace fracsweep
