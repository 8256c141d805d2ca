// See mlflow_queue.h.
#include "tracking/mlflow_queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "tracking/append_file.h"

namespace fracsweep::tracking {
namespace {

namespace fs = std::filesystem;

// The complete lines of queue.jsonl that parse, and the bytes they span.
std::vector<nlohmann::json> read_queue(const std::string& path, size_t* intact) {
  std::vector<nlohmann::json> records;
  *intact = 0;
  if (!fs::exists(path)) return records;
  const std::string text = core::read_file(path);
  size_t at = 0;
  for (;;) {
    const size_t end = text.find('\n', at);
    if (end == std::string::npos) break;
    nlohmann::json j = nlohmann::json::parse(text.substr(at, end - at), nullptr, false);
    if (j.is_discarded() || !j.contains("seq")) break;
    records.push_back(std::move(j));
    at = end + 1;
    *intact = at;
  }
  return records;
}

uint64_t last_sent(const std::string& folder) {
  const std::string path = queue_dir(folder) + "/sent";
  if (!fs::exists(path)) return 0;
  const std::string text = core::read_file(path);
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    // Written atomically, so only a hand-edited file gets here: send everything again
    // (every record is idempotent, Note [The MLflow queue]).
    return 0;
  }
}

}  // namespace

std::string queue_dir(const std::string& folder) { return (fs::path(folder) / "mlflow").string(); }

MlflowQueue::MlflowQueue(std::string folder)
    : folder_(std::move(folder)), path_(queue_dir(folder_) + "/queue.jsonl") {
  fs::create_directories(queue_dir(folder_));
  size_t intact = 0;
  const auto records = read_queue(path_, &intact);
  if (fs::exists(path_) && fs::file_size(path_) != intact) fs::resize_file(path_, intact);
  for (const auto& r : records) {
    next_seq_ = std::max(next_seq_, r["seq"].get<uint64_t>() + 1);
    if (r.contains("once")) once_.insert(r["once"].get<std::string>());
  }
}

void MlflowQueue::append(nlohmann::json record) {
  record["seq"] = next_seq_;
  const std::string line = record.dump() + "\n";
  core::UniqueFd fd = open_for_append(path_);
  append_all(fd.get(), line, path_);
  CHECK_OR_THROW(core::IoError, ::fsync(fd.get()) == 0, path_, ": fsync failed: ", std::strerror(errno));
  CHECK_OR_THROW(core::IoError, fd.close() == 0, path_, ": close failed: ", std::strerror(errno));
  if (record.contains("once")) once_.insert(record["once"].get<std::string>());
  ++next_seq_;
}

std::vector<nlohmann::json> pending_records(const std::string& folder) {
  size_t intact = 0;
  std::vector<nlohmann::json> all = read_queue(queue_dir(folder) + "/queue.jsonl", &intact);
  const uint64_t sent = last_sent(folder);
  std::vector<nlohmann::json> out;
  for (auto& r : all)
    if (r["seq"].get<uint64_t>() > sent) out.push_back(std::move(r));
  return out;
}

void mark_sent(const std::string& folder, uint64_t seq) {
  core::write_file_atomic(queue_dir(folder) + "/sent", std::to_string(seq) + "\n");
}

std::optional<MlflowRun> saved_run(const std::string& folder) {
  const std::string path = queue_dir(folder) + "/run.json";
  if (!fs::exists(path)) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(core::read_file(path), nullptr, false);
  if (j.is_discarded()) return std::nullopt;  // written atomically: not ours; created again by key
  return MlflowRun{j.value("run_id", ""), j.value("experiment_id", ""), j.value("artifact_uri", "")};
}

void save_run(const std::string& folder, const MlflowRun& run) {
  core::write_file_atomic(queue_dir(folder) + "/run.json",
                          nlohmann::json{{"run_id", run.run_id},
                                         {"experiment_id", run.experiment_id},
                                         {"artifact_uri", run.artifact_uri}}
                                  .dump() + "\n");
}

}  // namespace fracsweep::tracking
