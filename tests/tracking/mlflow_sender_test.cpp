// A job's MLflow records against a fake server that goes down and comes back:
// the log says when it is unreachable and when it answers again, nothing is
// lost, and a job killed and resumed logs each epoch's metrics once, under the
// one run created for it (Note [The MLflow queue]). The real server is in
// mlflow_e2e.py.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <map>
#include <mutex>
#include <sstream>

#include "core/fs.h"
#include "core/log.h"
#include "test_util.h"
#include "sample_job.h"
#include "tracking/job_tracking.h"
#include "tracking/mlflow_sender.h"

namespace fracsweep::tracking {
namespace {

using testing::TempDir;

// Answers MLflow's REST calls from memory; down() makes every call fail as a
// refused connection does. Thread-safe (the sender's thread calls it).
class FakeMlflow final : public HttpClient {
 public:
  struct State {
    bool down = false;
    int runs_created = 0;
    std::map<std::pair<std::string, int64_t>, int> metric_logs;  // (key, step) -> times
    std::map<std::string, std::string> params, tags, artifacts;
    std::string status;
  };
  explicit FakeMlflow(std::shared_ptr<std::pair<std::mutex, State>> s) : s_(std::move(s)) {}

  HttpResponse request(const std::string& method, const std::string& url, const std::string& body,
                       const std::string& /*content_type*/) override {
    std::lock_guard lock(s_->first);
    State& st = s_->second;
    HttpResponse r;
    if (st.down) {
      r.error = "Couldn't connect to server";
      return r;
    }
    r.status = 200;
    const auto j = body.empty() || method == "PUT" ? nlohmann::json() : nlohmann::json::parse(body);
    const nlohmann::json run = {
        {"info", {{"run_id", "r1"}, {"experiment_id", "1"}, {"artifact_uri", "mlflow-artifacts:/1/r1/artifacts"}}}};
    if (url.find("experiments/get-by-name") != std::string::npos) {
      r.body = nlohmann::json{{"experiment", {{"experiment_id", "1"}}}}.dump();
    } else if (url.find("runs/search") != std::string::npos) {
      r.body = st.runs_created ? nlohmann::json{{"runs", {run}}}.dump() : "{}";
    } else if (url.find("runs/create") != std::string::npos) {
      ++st.runs_created;
      for (const auto& t : j.at("tags")) st.tags[t.at("key")] = t.at("value");
      r.body = nlohmann::json{{"run", run}}.dump();
    } else if (url.find("runs/log-batch") != std::string::npos) {
      for (const auto& m : j.at("metrics")) ++st.metric_logs[{m.at("key"), m.at("step").get<int64_t>()}];
      for (const auto& p : j.at("params")) st.params[p.at("key")] = p.at("value");
    } else if (url.find("runs/update") != std::string::npos) {
      st.status = j.at("status");
    } else if (method == "PUT" && url.find("mlflow-artifacts/artifacts/1/r1/artifacts/") != std::string::npos) {
      st.artifacts[url.substr(url.rfind('/') + 1)] = body;
    } else {
      r.status = 404;
    }
    return r;
  }

 private:
  std::shared_ptr<std::pair<std::mutex, State>> s_;
};

TEST(MlflowSender, AServerDownThenBackGetsEveryEpochOnceAcrossAResume) {
  TempDir dir;
  const std::string job = (dir.path() / "job").string();
  std::filesystem::create_directories(job);
  core::write_file_atomic(job + "/metrics.json", "{\"aAUC\": 0.9}\n");
  auto state = std::make_shared<std::pair<std::mutex, FakeMlflow::State>>();
  state->second.down = true;
  std::ostringstream sink;
  core::Logger log(core::LogLevel::kInfo, sink);
  spec::TrackingSpec spec;
  spec.tensorboard = false;
  {
    MlflowSender sender("http://fake:5000", log, {}, std::make_unique<FakeMlflow>(state));
    JobTracking first(sample_run(job), spec, &sender, "exp", "", log);
    first.started(0);
    for (int e = 1; e <= 3; ++e) first.epoch(sample_epoch_line(e));
    EXPECT_GT(sender.flush(0.3), 0u) << "sent while the server is down";
    EXPECT_HAS(sink.str(), "MLflow at http://fake:5000 is unreachable");
    EXPECT_HAS(sink.str(), "training goes on");
    // Killed here, after epoch 3 was logged but before its checkpoint.
  }
  {
    std::lock_guard lock(state->first);
    state->second.down = false;
  }
  {
    MlflowSender sender("http://fake:5000", log, {}, std::make_unique<FakeMlflow>(state));
    JobTracking second(sample_run(job), spec, &sender, "exp", "", log);
    second.started(2);
    second.epoch(sample_epoch_line(3));  // queued by the killed run already
    second.epoch(sample_epoch_line(4));
    second.finished({{"aAUC", 0.9}}, {"metrics.json"});
    EXPECT_EQ(sender.flush(20), 0u) << sink.str();
  }
  std::lock_guard lock(state->first);
  const FakeMlflow::State& st = state->second;
  EXPECT_EQ(st.runs_created, 1);
  for (int e = 1; e <= 4; ++e) {
    EXPECT_EQ((st.metric_logs.count({"val/aAUC", e}) ? st.metric_logs.at({"val/aAUC", e}) : 0), 1) << e;
    EXPECT_EQ((st.metric_logs.count({"loss/total", e}) ? st.metric_logs.at({"loss/total", e}) : 0), 1) << e;
  }
  EXPECT_EQ(st.metric_logs.count({"val/aAUC", 5}), 0u);
  EXPECT_EQ(st.metric_logs.at({"test/aAUC", 4}), 1);
  EXPECT_EQ(st.params.at("train.lr"), "0.001");
  EXPECT_EQ(st.tags.at("variant"), "tsccn");
  EXPECT_EQ(st.tags.at("fold"), "repeat0");
  EXPECT_EQ(st.tags.at("seed"), "1");
  EXPECT_EQ(st.tags.at("sweep"), "tiny");
  EXPECT_EQ(st.artifacts.at("metrics.json"), "{\"aAUC\": 0.9}\n");
  EXPECT_EQ(st.status, "FINISHED");
}

// Not a check but a measurement (BENCHMARKS.md, "Tracking: TensorBoard and MLflow per
// epoch"): what the trackers' calls cost the training thread per epoch, for a log line
// of the tiny Table III sweep's size (25 metrics, 6 loss terms), TensorBoard alone and
// with the MLflow queue (fsync'd; the sender thread sends to the fake server beside it).
// Run with --gtest_also_run_disabled_tests --gtest_filter='TrackingCost.*'.
TEST(TrackingCost, DISABLED_TheTrainingThreadsCallsPerEpoch) {
  nlohmann::json line = sample_epoch_line(1);
  for (const char* m : {"AP", "AUC", "SE", "SP"})
    for (int c = 0; c < 3; ++c) line["val"][std::string(m) + "_" + std::to_string(c)] = 0.5 + 0.01 * c;
  for (const char* m : {"aSE", "aSP", "loss", "AP", "AUC", "ECE", "Brier", "F1", "acc", "kappa", "MCC"})
    line["val"][m] = 0.7;
  for (const char* t : {"ce2", "d", "triplet", "w"}) line["train"][t] = 0.3;
  constexpr int kEpochs = 300;
  for (const bool mlflow : {false, true}) {
    TempDir dir;
    std::ostringstream sink;
    core::Logger log(core::LogLevel::kInfo, sink);
    auto state = std::make_shared<std::pair<std::mutex, FakeMlflow::State>>();
    std::optional<MlflowSender> sender;
    if (mlflow) sender.emplace("http://fake:5000", log, HttpTimeouts{}, std::make_unique<FakeMlflow>(state));
    JobTracking tracking(sample_run((dir.path() / "job").string()), spec::TrackingSpec{},
                         sender ? &*sender : nullptr, "exp", "", log);
    tracking.started(0);
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = 1; e <= kEpochs; ++e) {
      line["epoch"] = e;
      tracking.epoch(line);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << (mlflow ? "TensorBoard and the MLflow queue" : "TensorBoard alone") << ": "
              << ms / kEpochs << " ms per epoch on the training thread (" << kEpochs << " epochs, "
              << epoch_scalars(line, "aAUC").size() << " scalars each)\n";
    if (sender) {
      EXPECT_EQ(sender->flush(60), 0u) << sink.str();
    }
  }
}

TEST(EpochScalars, TheHeadlineFirstThenLossTermsLrAndTimes) {
  const nlohmann::json line = {{"epoch", 2}, {"train", {{"ce", 0.4}, {"total", 0.5}}}, {"lr", 1e-3},
                               {"steps", 4}, {"seconds", 2.0}, {"samples_per_s", 8.0},
                               {"val", {{"AP", 0.3}, {"aAUC", 0.7}, {"undefined", nullptr}}}};
  std::vector<std::string> keys;
  for (const auto& [k, v] : epoch_scalars(line, "aAUC")) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"val/aAUC", "val/AP", "loss/total", "loss/ce", "lr",
                                            "time/step_seconds", "time/samples_per_s",
                                            "time/epoch_seconds"}));
  EXPECT_EQ(epoch_scalars(line, "aAUC")[5].second, 0.5);  // 2 s over 4 steps
}

}  // namespace
}  // namespace fracsweep::tracking
