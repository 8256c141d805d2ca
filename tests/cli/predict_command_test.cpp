// `fracsweep predict`: a finished sweep's models applied to another store, per
// job and ensembled per variant; resumed after kill -9 with the same bytes.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "core/fs.h"
#include "datastore/patch_store.h"
#include "metrics/delong.h"
#include "metrics/predictions.h"
#include "metrics/report.h"
#include "test_util.h"

namespace fracsweep {
namespace {

namespace fs = std::filesystem;
using testing::run_fracsweep;
using testing::run_fracsweep_mpi;
using testing::TempDir;

const char* kJobs[] = {"tsccn/repeat0/seed1", "tsccn/repeat1/seed1", "resnet/repeat0/seed1",
                       "resnet/repeat1/seed1"};

// The finished sweep, and an "external" phantom of another seed and difficulty,
// shared by the tests; the reference prediction is one uninterrupted 2-rank run.
class PredictCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const std::string sweep = dir_->write("sweep.yaml", testing::mini_sweep(sweep_dir(), 1));
    const auto r = run_fracsweep({"run", sweep});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto s = run_fracsweep({"synth", "vcf", external(), "--patients", "8", "--patch-size",
                                  "32", "--slices", "1", "--seed", "9", "--difficulty", "0.8",
                                  "-q"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    const auto p = run_fracsweep_mpi(2, {"predict", sweep_dir().string(), external(), "--out",
                                         reference().string()});
    ASSERT_EQ(p.exit_code, 0) << p.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path sweep_dir() { return dir_->path() / "out"; }
  static std::string external() { return (dir_->path() / "other.h5").string(); }
  static fs::path reference() { return dir_->path() / "reference"; }
  static TempDir* dir_;
};
TempDir* PredictCommand::dir_ = nullptr;

TEST_F(PredictCommand, WritesEveryJobAndOneEnsemblePerVariant) {
  for (const char* job : kJobs) {
    const auto p = metrics::read_predictions(
        (reference() / "jobs" / job / "predictions_test.csv").string());
    EXPECT_EQ(p.size(), datastore::PatchStore::open(external()).size()) << job;
  }
  for (const char* v : {"tsccn", "resnet"}) {
    EXPECT_TRUE(fs::exists(reference() / "ensembles" / v / "predictions_test.csv")) << v;
    EXPECT_HAS(core::read_file((reference() / "ensembles" / v / "ensemble.json").string()),
               std::string(v) + "/repeat1/seed1");
  }
  EXPECT_FALSE(fs::exists(reference() / "jobs" / "tsccn" / "repeat0" / "seed1.partial"));
}

// The ensemble is the mean probability of its members, item by item.
TEST_F(PredictCommand, EnsembleIsTheMeanProbabilityOfTheFoldsAndSeeds) {
  const auto a = metrics::read_predictions(
      (reference() / "jobs/tsccn/repeat0/seed1/predictions_test.csv").string());
  const auto b = metrics::read_predictions(
      (reference() / "jobs/tsccn/repeat1/seed1/predictions_test.csv").string());
  const auto e = metrics::read_predictions(
      (reference() / "ensembles/tsccn/predictions_test.csv").string());
  ASSERT_EQ(e.ids, a.ids);
  ASSERT_EQ(e.ids, b.ids);
  EXPECT_EQ(e.label, a.label);
  bool members_differ = false;
  for (size_t i = 0; i < e.scores.size(); ++i) {
    EXPECT_DOUBLE_EQ(e.scores[i], (a.scores[i] + b.scores[i]) / 2) << "score " << i;
    members_differ = members_differ || a.scores[i] != b.scores[i];
  }
  EXPECT_TRUE(members_differ) << "two folds' models gave the same scores: nothing was averaged";
}

// Applied to the store it was trained on, a job's model gives its test part
// exactly the predictions its own evaluation wrote.
TEST_F(PredictCommand, ReproducesEachJobsOwnTestPredictionsOnItsTrainingStore) {
  TempDir out;
  const auto r = run_fracsweep({"predict", sweep_dir().string(),
                                (sweep_dir() / "phantom.h5").string(), "--out",
                                out.path().string(), "--log-level", "warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* job : kJobs) {
    const auto own =
        metrics::read_predictions((sweep_dir() / job / "predictions_test.csv").string());
    const auto all =
        metrics::read_predictions((out.path() / "jobs" / job / "predictions_test.csv").string());
    std::map<std::string, size_t> row;
    for (size_t i = 0; i < all.size(); ++i) row[all.ids[i]] = i;
    ASSERT_GT(own.size(), 0u);
    for (size_t i = 0; i < own.size(); ++i) {
      ASSERT_TRUE(row.count(own.ids[i])) << job << ": " << own.ids[i];
      const size_t k = row[own.ids[i]];
      EXPECT_EQ(all.label[k], own.label[i]);
      for (int c = 0; c < 3; ++c)
        EXPECT_NEAR(all.row(k)[c], own.row(i)[c], 1e-12) << job << " " << own.ids[i];
    }
  }
}

// Note [Inference streams]: batches taken by several threads come back in
// order with the bytes of one batch at a time (the reference's two ranks have
// one thread, so one stream, each); another batch size changes only rounding.
TEST_F(PredictCommand, StreamsAndBatchSizeLeaveThePredictionsUnchanged) {
  const fs::path streams = dir_->path() / "streams", batch = dir_->path() / "batch5";
  const auto a = run_fracsweep({"predict", sweep_dir().string(), external(), "--out",
                                streams.string(), "--device", "cpu", "--streams", "3"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const auto b = run_fracsweep({"predict", sweep_dir().string(), external(), "--out",
                                batch.string(), "--device", "cpu", "--streams", "2", "--batch",
                                "5"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (const char* job : kJobs) {
    const fs::path file = fs::path("jobs") / job / "predictions_test.csv";
    EXPECT_EQ(core::read_file((streams / file).string()),
              core::read_file((reference() / file).string()))
        << job;
    const auto want = metrics::read_predictions((reference() / file).string());
    const auto got = metrics::read_predictions((batch / file).string());
    ASSERT_EQ(got.ids, want.ids) << job;
    ASSERT_EQ(got.scores.size(), want.scores.size()) << job;
    for (size_t i = 0; i < want.scores.size(); ++i)
      EXPECT_NEAR(got.scores[i], want.scores[i], 1e-6) << job << " score " << i;
  }
}

TEST_F(PredictCommand, KilledAndRerunEndsWithTheSameFilesByteForByte) {
  TempDir out;
  const fs::path folder = out.path() / "p";
  const std::vector<std::string> args = {"predict", sweep_dir().string(), external(), "--out",
                                         folder.string()};
  const auto killed = run_fracsweep_mpi(2, args, [&](int pid) {
    // Kill once a job's folder is complete and the others are not.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline &&
           !fs::exists(folder / "jobs" / kJobs[0] / "predictions_test.csv") &&
           !fs::exists(folder / "jobs" / kJobs[1] / "predictions_test.csv"))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    testing::kill_tree(pid, SIGKILL);
  });
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  ASSERT_FALSE(fs::exists(folder / "ensembles")) << "predict ended before it was killed";
  const auto again = run_fracsweep_mpi(2, args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto expected = testing::files_below(reference());
  auto got = testing::files_below(folder);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, bytes] : expected) {
    if (name == "predict.json") continue;  // names the folder's store by its path, the same here
    EXPECT_TRUE(got.count(name) && got[name] == bytes) << name << " differs";
  }
  EXPECT_EQ(got["predict.json"], expected["predict.json"]);
  // A second rerun has nothing to do and changes nothing.
  const auto third = run_fracsweep_mpi(2, args);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(testing::files_below(folder), got);
}

TEST_F(PredictCommand, TestTimeFlipChangesTheProbabilitiesAndKeepsThemDistributions) {
  TempDir out;
  const auto r = run_fracsweep({"predict", sweep_dir().string(), external(), "--out",
                                out.path().string(), "--tta", "--variants", "tsccn",
                                "--log-level", "warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto plain = metrics::read_predictions(
      (reference() / "jobs/tsccn/repeat0/seed1/predictions_test.csv").string());
  const auto flip = metrics::read_predictions(
      (out.path() / "jobs/tsccn/repeat0/seed1/predictions_test.csv").string());
  ASSERT_EQ(flip.ids, plain.ids);
  double moved = 0;
  for (size_t i = 0; i < flip.size(); ++i) {
    EXPECT_NEAR(flip.row(i)[0] + flip.row(i)[1] + flip.row(i)[2], 1.0, 1e-6);
    for (int c = 0; c < 3; ++c) moved = std::max(moved, std::abs(flip.row(i)[c] - plain.row(i)[c]));
  }
  EXPECT_GT(moved, 1e-6);
  EXPECT_FALSE(fs::exists(out.path() / "ensembles" / "resnet"));
  // The folder is of --tta now: the same folder without it is refused.
  const auto mixed = run_fracsweep({"predict", sweep_dir().string(), external(), "--out",
                                    out.path().string()});
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_HAS(mixed.err, "predict.json");
  EXPECT_HAS(mixed.err, "--out");
}

TEST_F(PredictCommand, ReportExternalGivesIntervalsPairedTestsCalibrationAndTheDrop) {
  TempDir out;
  const auto r = run_fracsweep({"report", sweep_dir().string(), "--external",
                                reference().string(), "--replicates", "200", "--no-curves",
                                "--format", "md,csv", "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path ext = out.path() / "external";
  for (const char* f : {"ensemble.csv", "paired.csv", "internal_vs_external.csv",
                        "single_models/table.csv", "ensemble.md"})
    EXPECT_TRUE(fs::exists(ext / f)) << f;
  // The ensemble's point value is the metric of the ensemble's predictions.
  const auto e = metrics::read_predictions(
      (reference() / "ensembles/tsccn/predictions_test.csv").string());
  const std::string ensemble = core::read_file((ext / "ensemble.csv").string());
  const double aauc = metrics::multiclass_report(e, "ensemble").aauc;
  char cell[64];
  std::snprintf(cell, sizeof cell, "%.2f [", 100 * aauc);
  EXPECT_HAS(ensemble, cell);
  EXPECT_HAS(ensemble, "Brier");
  // resnet against tsccn, the proposed model: DeLong on class 0's AUC.
  const auto b = metrics::read_predictions(
      (reference() / "ensembles/resnet/predictions_test.csv").string());
  std::vector<double> sa, sb;
  std::vector<uint8_t> pos;
  for (size_t i = 0; i < e.size(); ++i) {
    sa.push_back(b.row(i)[0]);
    sb.push_back(e.row(i)[0]);
    pos.push_back(e.label[i] == 0);
  }
  const metrics::DelongResult d = metrics::delong_test(sa, sb, pos);
  const std::string paired = core::read_file((ext / "paired.csv").string());
  EXPECT_HAS(paired, "resnet");
  std::snprintf(cell, sizeof cell, "%.2f p", 100 * std::abs(d.auc_a - d.auc_b));
  EXPECT_HAS(paired, cell);
  const std::string both = core::read_file((ext / "internal_vs_external.csv").string());
  EXPECT_HAS(both, "aAUC");
  EXPECT_HAS(r.out, "Internal and external validation");
  const auto bad = run_fracsweep({"report", sweep_dir().string(), "--external",
                                  sweep_dir().string(), "--no-curves", "--out",
                                  out.path().string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_HAS(bad.err, "predict.json");
}

TEST_F(PredictCommand, RefusesAStoreOfAnotherPatchSizeNamingBoth) {
  TempDir out;
  const std::string big = (out.path() / "big.h5").string();
  ASSERT_EQ(run_fracsweep({"synth", "vcf", big, "--patients", "2", "--patch-size", "48",
                           "--slices", "1", "-q"})
                .exit_code,
            0);
  const auto r = run_fracsweep_mpi(2, {"predict", sweep_dir().string(), big, "--out",
                                       (out.path() / "p").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "48x48");
  EXPECT_HAS(r.err, "32x32");
  EXPECT_FALSE(fs::exists(out.path() / "p"));
  const auto pelvis = run_fracsweep({"predict", sweep_dir().string(),
                                     testing::tiny_pelvis_store(), "--out",
                                     (out.path() / "q").string()});
  EXPECT_EQ(pelvis.exit_code, 2);
  EXPECT_HAS(pelvis.err, "is a pelvis store");
  const auto unknown = run_fracsweep({"predict", sweep_dir().string(), external(),
                                      "--variants", "tscnn"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_HAS(unknown.err, "'tscnn' is not a variant");
}

}  // namespace
}  // namespace fracsweep
