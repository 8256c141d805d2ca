// See tensorboard.h.
#include "tracking/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/fs.h"
#include "tracking/append_file.h"
#include "tracking/proto/tensorboard.pb.h"
#include "tracking/tfrecord.h"

namespace fracsweep::tracking {

namespace fs = std::filesystem;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "host";
  return name;
}

// Written at the end; a resumed job that ended before drops them (tensorboard.h).
bool is_end_summary(const tb::Event& e) {
  if (!e.has_summary()) return false;
  for (const auto& v : e.summary().value())
    if (v.tag().rfind("_hparams_/", 0) == 0 || v.tag().rfind("test/", 0) == 0) return true;
  return false;
}

void add_scalar(tb::Summary& s, const std::string& tag, double value) {
  tb::Summary::Value* v = s.add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
}

// A value of the hparams plugin: its metadata carries the data, its tensor is
// the plugin's null tensor (a float scalar 0).
void add_hparams_value(tb::Summary& s, const std::string& tag, const tb::HParamsPluginData& data) {
  tb::Summary::Value* v = s.add_value();
  v->set_tag(tag);
  tb::SummaryMetadata* m = v->mutable_metadata();
  m->mutable_plugin_data()->set_plugin_name("hparams");
  m->mutable_plugin_data()->set_content(data.SerializeAsString());
  m->set_data_class(tb::DATA_CLASS_TENSOR);
  tb::TensorProto* t = v->mutable_tensor();
  t->set_dtype(tb::DT_FLOAT);
  t->mutable_tensor_shape();
  t->add_float_val(0);
}

// A number as TensorBoard's hparams table sorts it, else the text.
google::protobuf::Value hparam_value(const std::string& text) {
  google::protobuf::Value v;
  try {
    size_t used = 0;
    const double d = std::stod(text, &used);
    if (used == text.size()) {
      v.set_number_value(d);
      return v;
    }
  } catch (const std::exception&) {
    // Not a number: kept as text below.
  }
  v.set_string_value(text);
  return v;
}

// As TensorBoard infers them from the sessions where no experiment is written
// (plugins/hparams/backend_context.py): numbers get their range, texts their values.
void add_hparam_info(tb::Experiment& x, const HParamsExperiment::HParam& hp) {
  tb::HParamInfo* h = x.add_hparam_infos();
  h->set_name(hp.name);
  h->set_differs(hp.values.size() > 1);
  std::vector<double> numbers;
  for (const std::string& v : hp.values) {
    const google::protobuf::Value value = hparam_value(v);
    if (value.has_number_value()) numbers.push_back(value.number_value());
  }
  if (!numbers.empty() && numbers.size() == hp.values.size()) {
    h->set_type(tb::DATA_TYPE_FLOAT64);
    const auto [low, high] = std::minmax_element(numbers.begin(), numbers.end());
    h->mutable_domain_interval()->set_min_value(*low);
    h->mutable_domain_interval()->set_max_value(*high);
    return;
  }
  h->set_type(tb::DATA_TYPE_STRING);
  for (const std::string& v : hp.values) h->mutable_domain_discrete()->add_values()->set_string_value(v);
}

}  // namespace

// One event file, appended record by record (no fsync: curves are not results,
// and a torn last record is skipped by every reader).
class TensorBoardWriter::File {
 public:
  explicit File(const std::string& path) : path_(path), fd_(open_for_append(path)) {}
  void write(const tb::Event& e) { append_all(fd_.get(), frame_record(e.SerializeAsString()), path_); }

 private:
  std::string path_;
  core::UniqueFd fd_;
};

void write_hparams_experiment(const std::string& dir, const HParamsExperiment& experiment) {
  const double now = now_seconds();
  tb::Event version;
  version.set_wall_time(now);
  version.set_file_version("brain.Event:2");
  tb::HParamsPluginData data;
  tb::Experiment& x = *data.mutable_experiment();
  x.set_name(experiment.name);
  x.set_time_created_secs(now);
  for (const HParamsExperiment::HParam& hp : experiment.hparams) add_hparam_info(x, hp);
  for (const std::string& tag : experiment.metrics) x.add_metric_infos()->mutable_name()->set_tag(tag);
  tb::Event e;
  e.set_wall_time(now);
  add_hparams_value(*e.mutable_summary(), "_hparams_/experiment", data);
  fs::create_directories(dir);
  // One name, replaced atomically: a reader sees the old experiment or the new one.
  core::write_file_atomic(dir + "/events.out.tfevents.0.experiment",
                          frame_record(version.SerializeAsString()) + frame_record(e.SerializeAsString()));
}

size_t prune_event_files(const std::string& tb_dir, int64_t done_epochs) {
  size_t dropped = 0;
  if (!fs::is_directory(tb_dir)) return 0;
  for (const auto& entry : fs::directory_iterator(tb_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find("tfevents") == std::string::npos) continue;
    const std::string content = core::read_file(entry.path().string());
    size_t intact = 0;
    std::string kept;
    size_t here = 0;
    for (const std::string& payload : read_records(content, &intact)) {
      tb::Event e;
      if (e.ParseFromString(payload) && (e.step() > done_epochs || is_end_summary(e))) {
        ++here;
        continue;
      }
      kept += frame_record(payload);
    }
    if (intact != content.size()) ++here;  // a torn tail goes too
    if (here) core::write_file_atomic(entry.path().string(), kept);
    dropped += here;
  }
  return dropped;
}

TensorBoardWriter::TensorBoardWriter(RunInfo run, core::Logger& log)
    : run_(std::move(run)), log_(log) {}

TensorBoardWriter::~TensorBoardWriter() = default;

template <typename Body>
void TensorBoardWriter::guarded(const char* what, Body&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    // See Note [Tracking never stops training]: the curves are lost, the job goes on.
    if (!warned_) log_.warn(run_.dir, ": TensorBoard events not written (", what, "): ", e.what());
    warned_ = true;
    file_.reset();
  }
}

void TensorBoardWriter::started(int done_epochs) noexcept {
  guarded("start", [&] {
    const fs::path dir = fs::path(run_.dir) / "tb";
    fs::create_directories(dir);
    const size_t dropped = prune_event_files(dir.string(), done_epochs);
    if (dropped)
      log_.info(run_.dir, ": tb/: ", dropped, " events after epoch ", done_epochs,
                " dropped (logged again as the job resumes)");
    start_time_ = now_seconds();
    // Named so that files sort in the order they were written (TensorBoard reads
    // a run's files in name order): the time, then a sequence number.
    int seq = 0;
    std::string path;
    do {
      path = (dir / fmt::format("events.out.tfevents.{:010d}.{:04d}.{}",
                                static_cast<int64_t>(start_time_), seq++, host_name()))
                 .string();
    } while (fs::exists(path));
    file_ = std::make_unique<File>(path);
    tb::Event version;
    version.set_wall_time(start_time_);
    version.set_file_version("brain.Event:2");
    file_->write(version);
    last_step_ = done_epochs;
    if (done_epochs > 0) {
      tb::Event restart;
      restart.set_wall_time(start_time_);
      restart.set_step(done_epochs + 1);
      restart.mutable_session_log()->set_status(tb::SessionLog::START);
      file_->write(restart);
    }
  });
}

void TensorBoardWriter::epoch(const nlohmann::json& line) noexcept {
  if (!file_) return;
  guarded("epoch", [&] {
    tb::Event e;
    e.set_wall_time(now_seconds());
    e.set_step(line.at("epoch").get<int64_t>());
    tb::Summary& s = *e.mutable_summary();
    for (const auto& [tag, value] : epoch_scalars(line, run_.headline)) add_scalar(s, tag, value);
    file_->write(e);
    last_step_ = e.step();
  });
}

void TensorBoardWriter::finished(const nlohmann::json& metrics,
                                 const std::vector<std::string>& /*files*/) noexcept {
  if (!file_) return;
  guarded("end", [&] {
    const double now = now_seconds();
    tb::Event e;
    e.set_wall_time(now);
    e.set_step(last_step_);
    tb::Summary& s = *e.mutable_summary();
    for (const auto& [tag, value] : final_scalars(metrics, run_.headline)) add_scalar(s, tag, value);
    tb::HParamsPluginData start;
    tb::SessionStartInfo* info = start.mutable_session_start_info();
    auto& hp = *info->mutable_hparams();
    hp["job"].set_string_value(run_.name);
    if (!run_.sweep.empty()) hp["sweep"].set_string_value(run_.sweep);
    hp["variant"].set_string_value(run_.variant);
    hp["part"].set_string_value(run_.part);
    hp["seed"].set_number_value(static_cast<double>(run_.seed));
    for (const auto& [k, v] : run_.axes) hp[k] = hparam_value(v);
    info->set_start_time_secs(start_time_);
    add_hparams_value(s, "_hparams_/session_start_info", start);
    tb::HParamsPluginData end;
    end.mutable_session_end_info()->set_status(tb::STATUS_SUCCESS);
    end.mutable_session_end_info()->set_end_time_secs(now);
    add_hparams_value(s, "_hparams_/session_end_info", end);
    file_->write(e);
    file_.reset();
  });
}

}  // namespace fracsweep::tracking
