// One job end to end on a tiny phantom store: every variant trains, a resumed
// job equals an uninterrupted one, bad jobs fail with clear errors.
#include "trainer/train_job.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"
#include "datastore/heatmaps.h"
#include "datastore/loader.h"
#include "metrics/predictions.h"
#include "trainer/batch_tensors.h"
#include "trainer/job_model.h"
#include "trainer/stop_signals.h"
#include "trainer/torch_compat.h"

#include <torch/torch.h>

namespace fracsweep::trainer {
namespace {

namespace fs = std::filesystem;

spec::JobConfig tiny_job(const std::string& variant, const fs::path& out, int epochs = 1) {
  spec::JobConfig j = spec::parse_job_config(
      "preset: tiny\noutput: " + out.string() + "\ndata: {store: " + testing::tiny_vcf_store() +
          "}\n" +
          "model: {variant: " + variant + "}\ntrain: {epochs: " + std::to_string(epochs) + "}\n",
      "test job");
  return j;
}

core::Logger quiet_log() { return core::Logger(core::LogLevel::kOff); }

class EveryVariant : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryVariant, TrainsAndWritesItsFolder) {
  testing::TempDir dir;
  const fs::path out = dir.path() / "job";
  auto log = quiet_log();
  ASSERT_EQ(train_job(tiny_job(GetParam(), out), log, {.progress = false}), 0);
  for (const char* f : {"config.yaml", "split.json", "log.jsonl", "checkpoint_last.pt",
                        "checkpoint_best.pt", "predictions_val.csv", "predictions_test.csv",
                        "metrics.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto metrics = nlohmann::json::parse(core::read_file((out / "metrics.json").string()));
  EXPECT_TRUE(metrics.contains("aAUC"));
  EXPECT_EQ(metrics["best_epoch"], 1);
  const auto line = nlohmann::json::parse(core::read_file((out / "log.jsonl").string()));
  EXPECT_EQ(line["epoch"], 1);
  EXPECT_GT(line["train"]["total"].get<double>(), 0);
  EXPECT_GT(line["steps"].get<int>(), 0);
}

INSTANTIATE_TEST_SUITE_P(Trainer, EveryVariant,
                         ::testing::Values("single-stream", "single-stream+triplet", "two-stream",
                                           "two-stream+triplet", "two-stream+triplet+compare",
                                           "tsccn", "resnet18", "rs", "cb-rw", "smote",
                                           "ldam", "ldam-drw", "pc-net", "nts-net", "sdl-net"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// Trains `variant` at DenseNet growth rate 2 on fold `fold` of the tiny pelvis store.
int train_pelvis_job(const std::string& variant, const fs::path& out, int fold, int epochs) {
  const auto job = spec::parse_job_config(
      "preset: tiny\noutput: " + out.string() + "\ndata: {store: " + testing::tiny_pelvis_store() +
          ", split: kfold, folds: 5, fold: " + std::to_string(fold) + "}\nmodel: {variant: " +
          variant + ", width: 2}\ntrain: {epochs: " + std::to_string(epochs) +
          ", batch_size: 4}\n",
      "test job");
  auto log = quiet_log();
  return train_job(job, log, {.progress = false});
}

// AASN on a tiny pelvis phantom: binary predictions whose score is each test
// image's heatmap maximum, heatmaps_test.h5 in the same order with the
// image's points, and the loss terms under their own names.
TEST(TrainJob, AasnWritesBinaryScoresAndTheirHeatmaps) {
  testing::TempDir dir;
  const std::string store = testing::tiny_pelvis_store();
  for (const std::string variant : {"aasn", "aasn-vanilla"}) {
    const fs::path out = dir.path() / variant;
    ASSERT_EQ(train_pelvis_job(variant, out, 1, 2), 0) << variant;
    const metrics::Predictions test = metrics::read_predictions((out / "predictions_test.csv").string());
    ASSERT_EQ(test.kind, metrics::PredictionKind::kBinary);
    const datastore::HeatmapSet maps = datastore::read_heatmaps((out / "heatmaps_test.h5").string());
    ASSERT_EQ(maps.images.size(), test.size());
    EXPECT_NEAR(maps.radius, 20.0 * 128 / 200, 1e-9);
    const datastore::PatchStore s = datastore::PatchStore::open(store);
    size_t points = 0;
    for (size_t i = 0; i < test.size(); ++i) {
      const auto& m = maps.images[i].heatmap;
      EXPECT_NEAR(test.row(i)[0], *std::max_element(m.begin(), m.end()), 1e-6) << i;
      EXPECT_EQ(maps.images[i].points.empty(), test.label[i] == 0) << i;
      points += maps.images[i].points.size();
    }
    EXPECT_GT(points, 0u) << "the test fold has fractures";
    EXPECT_EQ(core::read_file((out / "overlays_test.png").string()).substr(1, 3), "PNG");
    const auto metrics = nlohmann::json::parse(core::read_file((out / "metrics.json").string()));
    EXPECT_TRUE(metrics.contains("AUC"));
    EXPECT_EQ(metrics["selection_metric"], "AUC");
    const auto line = nlohmann::json::parse(core::read_file((out / "log.jsonl").string()).substr(0,
        core::read_file((out / "log.jsonl").string()).find('\n')));
    EXPECT_TRUE(line["train"].contains("bce")) << line.dump();
    EXPECT_EQ(line["train"]["contrastive"].get<double>() > 0, variant == "aasn") << line.dump();
  }
}

// Table 1's baselines through the same run: the symmetry baselines write
// heatmaps whose maxima are their scores, the image-label ones none; each
// logs its own loss terms and no slot it does not fill.
TEST(TrainJob, Table1BaselinesWriteWhatTheirTaskAndModelMake) {
  testing::TempDir dir;
  const std::map<std::string, std::set<std::string>> terms = {
      {"liu-distance", {"contrastive", "total"}},
      {"deepsymnet", {"bce", "contrastive", "total"}},
      {"two-stage", {"stage1", "stage2", "total"}},
      {"chexnet", {"bce", "total"}}};
  for (const auto& [variant, names] : terms) {
    const fs::path out = dir.path() / variant;
    ASSERT_EQ(train_pelvis_job(variant, out, 2, 1), 0) << variant;
    const bool heatmaps = variant == "liu-distance" || variant == "deepsymnet";
    EXPECT_EQ(fs::exists(out / "heatmaps_test.h5"), heatmaps) << variant;
    const metrics::Predictions test = metrics::read_predictions((out / "predictions_test.csv").string());
    if (heatmaps) {
      const datastore::HeatmapSet maps = datastore::read_heatmaps((out / "heatmaps_test.h5").string());
      ASSERT_EQ(maps.images.size(), test.size());
      for (size_t i = 0; i < test.size(); ++i) {
        const auto& m = maps.images[i].heatmap;
        EXPECT_NEAR(test.row(i)[0], *std::max_element(m.begin(), m.end()), 1e-6) << variant << i;
      }
    }
    const std::string text = core::read_file((out / "log.jsonl").string());
    const auto line = nlohmann::json::parse(text.substr(0, text.find('\n')));
    std::set<std::string> logged;
    for (const auto& item : line["train"].items()) logged.insert(item.key());
    EXPECT_EQ(logged, names) << variant;
  }
}

// The smallest end-to-end check that model, losses and optimizer fit together:
// full TSCCN at width 4 learns 32 phantom vertebrae (every VCF of the store and
// normal ones) by heart.
TEST(TrainJob, TinyTsccnOverfits32Patches) {
  auto store = std::make_shared<const datastore::PatchStore>(
      datastore::PatchStore::open(testing::tiny_vcf_store()));
  const auto& ix = store->index();
  std::vector<uint32_t> picked;
  for (uint32_t i = 0; i < ix.size() && picked.size() < 16; ++i)
    if (ix.label[i] != 0) picked.push_back(i);
  for (uint32_t i = 0; i < ix.size() && picked.size() < 32; ++i)
    if (ix.label[i] == 0) picked.push_back(i);
  ASSERT_EQ(picked.size(), 32u);
  datastore::LoaderOptions lo;
  lo.batch_size = 32;
  lo.workers = 1;
  datastore::BatchLoader loader(store, lo);
  loader.start_epoch(0, picked);
  const BatchTensors batch = to_tensors(std::move(*loader.next()));
  EXPECT_GT(batch.labels.gt(0).sum().item<int64_t>(), 8);

  testing::TempDir dir;
  spec::JobConfig job = tiny_job("tsccn", dir.path() / "unused");
  torch::manual_seed(5);
  auto model = make_job_model(job, {16, 8, 8});
  torch::optim::Adam opt(model->module().parameters(), torch::optim::AdamOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    LossTerms t = model->loss(batch, 0);
    if (step == 0) first = t.ce.item<double>();
    last = t.ce.item<double>();
    opt.zero_grad();
    t.total.backward();
    opt.step();
  }
  EXPECT_LT(last, 0.05) << "three-class CE went from " << first << " to " << last;
  model->module().train();  // batch statistics: the ones the model fitted
  torch::NoGradGuard no_grad;
  const auto predicted = model->probabilities(batch).argmax(1);
  EXPECT_EQ(predicted.eq(batch.labels).sum().item<int64_t>(), 32);
}

// Batch norm cannot train on a batch of one sample: an epoch whose last batch
// would hold one leaves that sample out, and a batch size that gives every
// rank batches of one is refused.
TEST(TrainJob, ALastBatchOfOneSampleIsLeftOutNotAFailure) {
  testing::TempDir dir;
  auto log = quiet_log();
  spec::JobConfig probe = tiny_job("resnet18", dir.path() / "probe");
  probe.train.batch_size = 4096;  // one batch: the epoch's size
  ASSERT_EQ(train_job(probe, log, {.progress = false}), 0);
  const auto line = nlohmann::json::parse(core::read_file((dir.path() / "probe/log.jsonl").string()));
  const int n = line["samples"];
  ASSERT_GT(n, 3);
  spec::JobConfig job = tiny_job("resnet18", dir.path() / "job");
  job.train.batch_size = n - 1;  // a full batch, then a batch of one
  ASSERT_EQ(train_job(job, log, {.progress = false}), 0);
  const auto trained = nlohmann::json::parse(core::read_file((dir.path() / "job/log.jsonl").string()));
  EXPECT_EQ(trained["samples"], n - 1);
  EXPECT_EQ(trained["steps"], 1);

  spec::JobConfig ones = tiny_job("resnet18", dir.path() / "ones");
  ones.train.batch_size = 1;
  try {
    train_job(ones, log, {.progress = false});
    FAIL() << "a batch size of one was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "batches of one sample");
  }
}

// train.budget: steps makes a shuffled row's epoch as long as an over-sampled one, so
// rows that differ in sampler train for the same steps; the default is the sampler's own.
TEST(TrainJob, AnEqualStepsBudgetGivesAShuffledRowTheOverSampledSteps) {
  testing::TempDir dir;
  auto log = quiet_log();
  const auto logged = [&](const std::string& sampler, const std::string& budget) {
    spec::JobConfig job = tiny_job("resnet18", dir.path() / (sampler + "-" + budget));
    job.train.batch_size = 8;
    job.train.sampler = sampler;
    job.train.budget = budget;
    EXPECT_EQ(train_job(job, log, {.progress = false}), 0);
    return nlohmann::json::parse(core::read_file(job.output + "/log.jsonl"));
  };
  const auto shuffled = logged("shuffle", "epochs");
  const auto over = logged("oversample", "epochs");
  const auto equal = logged("shuffle", "steps");
  ASSERT_GT(over["samples"].get<int>(), shuffled["samples"].get<int>() * 3 / 2)
      << "the tiny store is imbalanced; an over-sampled epoch is much longer";
  EXPECT_EQ(equal["samples"], over["samples"]);
  EXPECT_EQ(equal["steps"], over["steps"]);
  EXPECT_EQ(logged("oversample", "steps")["steps"], over["steps"]);
  EXPECT_THROW(logged("shuffle", "hours"), core::ConfigError);
}

// A ledger record and the error a user reads carry LibTorch's message, not its backtrace.
TEST(TrainJob, ErrorMessagesLeaveLibTorchsBacktraceOut) {
  try {
    TORCH_CHECK(false, "Expected more than 1 value per channel");
    FAIL() << "no exception";
  } catch (const std::exception& e) {
    EXPECT_HAS(std::string(e.what()), "Exception raised from");
    EXPECT_EQ(error_message(e), "Expected more than 1 value per channel");
  }
  EXPECT_EQ(error_message(core::IoError("disk full")), "disk full");
}

// Note [Checkpoint checksums]: a damaged last checkpoint gives way to the
// previous one, and with both damaged the job starts over; either way the job
// ends with the predictions of a run that was never damaged.
TEST(TrainJob, ADamagedCheckpointFallsBackToThePreviousOneOrStartsOver) {
  testing::TempDir dir;
  auto log = quiet_log();
  const fs::path a = dir.path() / "a";
  ASSERT_EQ(train_job(tiny_job("tsccn", a, 2), log, {.progress = false}), 0);
  const std::string log_text = core::read_file((a / "log.jsonl").string());
  const int steps = nlohmann::json::parse(log_text.substr(0, log_text.find('\n')))["steps"];
  const auto damage = [](const fs::path& file, bool truncate) {
    std::string bytes = core::read_file(file.string());
    if (truncate) bytes.resize(bytes.size() / 2);
    else bytes[bytes.size() / 2] ^= 0x5a;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  };
  for (const bool both : {false, true}) {
    const fs::path b = dir.path() / (both ? "both" : "last");
    const spec::JobConfig jb = tiny_job("tsccn", b, 2);
    // One step into epoch 2: checkpoint_prev.pt is the end of epoch 1.
    ASSERT_EQ(train_job(jb, log, {.progress = false, .stop_after_steps = steps + 1}),
              kExitInterrupted);
    ASSERT_TRUE(fs::exists(b / "checkpoint_prev.pt"));
    ASSERT_TRUE(fs::exists(b / "checkpoint_last.pt.sum"));
    damage(b / "checkpoint_last.pt", false);
    if (both) damage(b / "checkpoint_prev.pt", true);
    std::ostringstream warnings;
    core::Logger watch(core::LogLevel::kWarn, warnings);
    ASSERT_EQ(train_job(jb, watch, {.progress = false}), 0) << warnings.str();
    EXPECT_HAS(warnings.str(), "checkpoint_last.pt cannot be used: its bytes do not match");
    if (both) EXPECT_HAS(warnings.str(), "no intact checkpoint; training the job from the start");
    else EXPECT_EQ(warnings.str().find("from the start"), std::string::npos) << warnings.str();
    EXPECT_EQ(core::read_file((a / "predictions_test.csv").string()),
              core::read_file((b / "predictions_test.csv").string()));
  }
}

TEST(TrainJob, ResumedJobEqualsUninterruptedOne) {
  testing::TempDir dir;
  auto log = quiet_log();
  const fs::path a = dir.path() / "a", b = dir.path() / "b";
  ASSERT_EQ(train_job(tiny_job("tsccn", a, 2), log, {.progress = false}), 0);
  // Stopped twice, mid-epoch both times, then finished.
  spec::JobConfig jb = tiny_job("tsccn", b, 2);
  EXPECT_EQ(train_job(jb, log, {.progress = false, .stop_after_steps = 3}), kExitInterrupted);
  EXPECT_FALSE(fs::exists(b / "metrics.json"));
  {  // The checkpoint names the LibTorch that wrote it (see torch_compat.h).
    torch::serialize::InputArchive archive;
    archive.load_from((b / "checkpoint_last.pt").string());
    torch::Tensor version;
    ASSERT_TRUE(archive.try_read("torch_version", version));
    EXPECT_EQ(version.item<double>(), kTorchVersion);
  }
  EXPECT_EQ(train_job(jb, log, {.progress = false, .stop_after_steps = 9}), kExitInterrupted);
  // The trainer hands back the metrics it wrote.
  const JobResult done = run_job(jb, log, {.progress = false});
  ASSERT_EQ(done.code, 0);
  const auto written = nlohmann::json::parse(core::read_file((b / "metrics.json").string()));
  EXPECT_EQ(done.metrics, written);
  EXPECT_TRUE(done.metrics.contains("aAUC"));
  EXPECT_EQ(core::read_file((a / "predictions_test.csv").string()),
            core::read_file((b / "predictions_test.csv").string()));
  EXPECT_EQ(core::read_file((a / "predictions_val.csv").string()),
            core::read_file((b / "predictions_val.csv").string()));
  // The epoch lines agree on everything but timing.
  std::istringstream la(core::read_file((a / "log.jsonl").string()));
  std::istringstream lb(core::read_file((b / "log.jsonl").string()));
  std::string x, y;
  int lines = 0;
  while (std::getline(la, x) && std::getline(lb, y)) {
    auto jx = nlohmann::json::parse(x), jy = nlohmann::json::parse(y);
    for (auto* j : {&jx, &jy}) {
      j->erase("seconds");
      j->erase("samples_per_s");
    }
    EXPECT_EQ(jx, jy);
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  // A finished job is not run again; its metrics come from its folder.
  const JobResult again = run_job(jb, log, {.progress = false, .stop_after_steps = 1});
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.metrics, written);
}

TEST(TrainJob, RefusesAFolderOfAnotherJob) {
  testing::TempDir dir;
  auto log = quiet_log();
  const fs::path out = dir.path() / "job";
  ASSERT_EQ(train_job(tiny_job("resnet18", out), log, {.progress = false, .stop_after_steps = 1}),
            kExitInterrupted);
  try {
    train_job(tiny_job("rs", out), log, {.progress = false});
    ADD_FAILURE() << "trained into another job's folder";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("holds a different job"), std::string::npos) << e.what();
  }
}

TEST(TrainJob, NonFiniteLossNamesEpochStepAndTerm) {
  testing::TempDir dir;
  auto log = quiet_log();
  spec::JobConfig j = tiny_job("tsccn", dir.path() / "job");
  j.train.lr = 1e30;  // the first update overflows the weights
  try {
    train_job(j, log, {.progress = false});
    ADD_FAILURE() << "a diverging job finished";
  } catch (const core::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("epoch 1 step "), std::string::npos) << m;
    EXPECT_HAS(m, "loss term '");
  }
}

TEST(TrainJob, UnknownVariantIsRefusedWithTheKnownOnes) {
  try {
    spec::parse_job_config("output: x\ndata: {store: x.h5}\nmodel: {variant: b-cnn}\n", "test job");
    ADD_FAILURE() << "accepted";
  } catch (const core::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("b-cnn"), std::string::npos) << m;
    EXPECT_NE(m.find("nts-net"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace fracsweep::trainer
