// TensorBoard event files: the TFRecord framing against CRC-32C's published
// check value, and a job's curves across a resume without duplicated steps.
// TensorBoard's own reader checks the same files in tensorboard_check.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "core/fs.h"
#include "core/log.h"
#include "tracking/proto/tensorboard.pb.h"
#include "test_util.h"
#include "sample_job.h"
#include "tracking/tensorboard.h"
#include "tracking/tfrecord.h"

namespace fracsweep::tracking {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(Crc32c, PublishedCheckValue) {
  // RFC 3720 (iSCSI) B.4 and every CRC catalogue: CRC-32C("123456789") = 0xE3069283.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  // 32 bytes of zeros, RFC 3720 B.4: 0x8A9136AA.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(TfRecord, FramesAndReadsBackAndStopsAtATornTail) {
  const std::string a = frame_record("hello"), b = frame_record(std::string(300, 'x'));
  ASSERT_EQ(a.size(), 5u + 16u);
  // The header's length, little-endian.
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 5);
  std::string both = a + b;
  size_t intact = 0;
  auto records = read_records(both, &intact);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], std::string(300, 'x'));
  EXPECT_EQ(intact, both.size());
  records = read_records(both.substr(0, both.size() - 3), &intact);
  EXPECT_EQ(records.size(), 1u);
  EXPECT_EQ(intact, a.size());
  both[a.size() + 20] ^= 1;  // a flipped bit in b's payload
  EXPECT_EQ(read_records(both).size(), 1u);
}

// The events of every file in `tb`.
std::vector<tb::Event> all_events(const fs::path& tb) {
  std::vector<tb::Event> events;
  for (const auto& f : fs::directory_iterator(tb))
    for (const std::string& payload : read_records(core::read_file(f.path().string()))) {
      EXPECT_TRUE(events.emplace_back().ParseFromString(payload)) << f.path();
    }
  return events;
}

// Every (tag, step) of every event file in `tb`, with how often it occurs.
std::map<std::pair<std::string, int64_t>, int> all_steps(const fs::path& tb) {
  std::map<std::pair<std::string, int64_t>, int> seen;
  for (const tb::Event& e : all_events(tb))
    for (const auto& v : e.summary().value()) ++seen[{v.tag(), e.step()}];
  return seen;
}

TEST(TensorBoardWriter, AResumedJobLogsEachStepOnce) {
  TempDir dir;
  std::ostringstream sink;
  core::Logger log(core::LogLevel::kInfo, sink);
  {
    TensorBoardWriter first(sample_run(dir.path().string()), log);
    first.started(0);
    for (int e = 1; e <= 3; ++e) first.epoch(sample_epoch_line(e));
    // Killed here: epoch 3 was logged, but its checkpoint was not written.
  }
  TensorBoardWriter second(sample_run(dir.path().string()), log);
  second.started(2);
  EXPECT_HAS(sink.str(), "events after epoch 2 dropped");
  second.epoch(sample_epoch_line(3));
  second.epoch(sample_epoch_line(4));
  second.finished({{"aAUC", 0.9}, {"mAP", 0.8}}, {});
  const auto seen = all_steps(dir.path() / "tb");
  for (const auto& [key, count] : seen) EXPECT_EQ(count, 1) << key.first << " step " << key.second;
  for (int e = 1; e <= 4; ++e) {
    EXPECT_TRUE(seen.count({"val/aAUC", e})) << e;
    EXPECT_TRUE(seen.count({"loss/total", e})) << e;
    EXPECT_TRUE(seen.count({"time/step_seconds", e})) << e;
  }
  EXPECT_TRUE(seen.count({"test/aAUC", 4}));
  EXPECT_TRUE(seen.count({"_hparams_/session_start_info", 4}));
  EXPECT_TRUE(seen.count({"_hparams_/session_end_info", 4}));
}

TEST(TensorBoardWriter, HparamsCarryTheJobsIdentity) {
  TempDir dir;
  std::ostringstream sink;
  core::Logger log(core::LogLevel::kInfo, sink);
  TensorBoardWriter w(sample_run(dir.path().string()), log);
  w.started(0);
  w.epoch(sample_epoch_line(1));
  w.finished({{"aAUC", 0.9}}, {});
  bool found = false;
  for (const tb::Event& e : all_events(dir.path() / "tb"))
    for (const auto& v : e.summary().value()) {
      if (v.tag() != "_hparams_/session_start_info") continue;
      EXPECT_EQ(v.metadata().plugin_data().plugin_name(), "hparams");
      tb::HParamsPluginData data;
      ASSERT_TRUE(data.ParseFromString(v.metadata().plugin_data().content()));
      const auto& hp = data.session_start_info().hparams();
      EXPECT_EQ(hp.at("variant").string_value(), "tsccn");
      EXPECT_EQ(hp.at("part").string_value(), "repeat0");
      EXPECT_EQ(hp.at("seed").number_value(), 1);
      EXPECT_EQ(hp.at("lr").number_value(), 0.001);
      found = true;
    }
  EXPECT_TRUE(found);
}

// The hparams plugin's data of `tag` among the events of `tb`.
std::vector<tb::HParamsPluginData> hparams_data(const fs::path& tb, const std::string& tag) {
  std::vector<tb::HParamsPluginData> found;
  for (const tb::Event& e : all_events(tb))
    for (const auto& v : e.summary().value())
      if (v.tag() == tag) {
        EXPECT_TRUE(found.emplace_back().ParseFromString(v.metadata().plugin_data().content()));
      }
  return found;
}

// A search sweep (curve jobs: nothing trains): each trial's session names the values it
// sampled, and the sweep's experiment offers each searched key across the search's range
// or choices, beside the headline metric first.
TEST(TensorBoardSweep, ATrialsSampledValuesAreItsHyperparameters) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  const std::string sweep = dir.write("sweep.yaml",
      "name: curve-search\n"
      "output: " + out.string() + "\n"
      "preset: tiny\n"
      "dataset: {phantom: {patients: 12, patch_size: 32, seed: 1}}\n"
      "protocol: {split: kfold, folds: 3, val_share: 0.2}\n"
      "seeds: [1]\n"
      "variants:\n"
      "  curve: {model: {variant: curve}}\n"
      "train: {curve_epoch_seconds: 0.01, threads: 1, epochs: 2}\n"
      "search:\n"
      "  metric: aAUC\n"
      "  trials: 3\n"
      "  seed: 3\n"
      "  space:\n"
      "    train.lr: {dist: loguniform, low: 6.0e-4, high: 1.6e-3}\n"
      "    train.sampler: {dist: choice, values: [oversample, shuffle]}\n");
  const auto r = testing::run_fracsweep({"run", sweep});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto experiments = hparams_data(out / "tb", "_hparams_/experiment");
  ASSERT_EQ(experiments.size(), 1u);
  const tb::Experiment& x = experiments[0].experiment();
  ASSERT_GT(x.metric_infos_size(), 0);
  EXPECT_EQ(x.metric_infos(0).name().tag(), "test/aAUC");
  std::map<std::string, tb::HParamInfo> infos;
  for (const tb::HParamInfo& h : x.hparam_infos()) infos[h.name()] = h;
  ASSERT_TRUE(infos.count("train.lr") && infos.count("train.sampler") && infos.count("variant"));
  EXPECT_EQ(infos["train.lr"].domain_interval().min_value(), 6.0e-4);
  EXPECT_EQ(infos["train.lr"].domain_interval().max_value(), 1.6e-3);
  std::set<std::string> choices;
  for (const auto& v : infos["train.sampler"].domain_discrete().values()) choices.insert(v.string_value());
  EXPECT_EQ(choices, (std::set<std::string>{"oversample", "shuffle"}));

  int sessions = 0;
  for (const auto& job : fs::recursive_directory_iterator(out)) {
    if (job.path().filename() != "config.yaml" || !fs::exists(job.path().parent_path() / "tb")) continue;
    const std::string config = core::read_file(job.path().string());
    for (const auto& data : hparams_data(job.path().parent_path() / "tb", "_hparams_/session_start_info")) {
      const auto& hp = data.session_start_info().hparams();
      ASSERT_TRUE(hp.count("train.lr") && hp.count("train.sampler")) << job.path();
      const double lr = hp.at("train.lr").number_value();
      EXPECT_GE(lr, 6.0e-4);
      EXPECT_LE(lr, 1.6e-3);
      EXPECT_TRUE(choices.count(hp.at("train.sampler").string_value())) << job.path();
      EXPECT_HAS(config, "sampler: " + hp.at("train.sampler").string_value());  // the trial's own
      ++sessions;
    }
  }
  EXPECT_GE(sessions, 3);  // every trial's first fold at least
}

TEST(TensorBoardWriter, AnUnwritableFolderWarnsAndNeverThrows) {
  TempDir dir;
  core::write_file_atomic((dir.path() / "tb").string(), "a file where tb/ would be");
  std::ostringstream sink;
  core::Logger log(core::LogLevel::kInfo, sink);
  TensorBoardWriter w(sample_run(dir.path().string()), log);
  w.started(0);
  w.epoch(sample_epoch_line(1));
  w.finished({}, {});
  EXPECT_HAS(sink.str(), "TensorBoard events not written");
}

}  // namespace
}  // namespace fracsweep::tracking
