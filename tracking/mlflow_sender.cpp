// See mlflow_sender.h.
#include "tracking/mlflow_sender.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "tracking/mlflow_queue.h"

namespace fracsweep::tracking {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The record waits for something else first (its parent run to be created).
struct NotReady : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Holds <folder>/mlflow/send.lock (flock) while this sender sends that queue.
class SendLock {
 public:
  explicit SendLock(const std::string& folder)
      : fd_(::open((queue_dir(folder) + "/send.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {}
  bool held() { return fd_.valid() && ::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0; }

 private:
  core::UniqueFd fd_;  // closing it releases the lock
};

}  // namespace

MlflowSender::MlflowSender(std::string uri, core::Logger& log, HttpTimeouts timeouts,
                           std::unique_ptr<HttpClient> http)
    : uri_(std::move(uri)),
      log_(log),
      client_(std::make_unique<MlflowClient>(uri_, http ? std::move(http) : make_curl_client(timeouts))) {
  thread_ = std::thread([this] { loop(); });
}

MlflowSender::~MlflowSender() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void MlflowSender::watch(const std::string& folder) {
  {
    std::lock_guard lock(mu_);
    folders_.insert(folder);
    poked_ = true;
  }
  wake_.notify_all();
}

void MlflowSender::poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
}

size_t MlflowSender::queued() const {
  std::set<std::string> folders;
  {
    std::lock_guard lock(mu_);
    folders = folders_;
  }
  size_t n = 0;
  for (const std::string& f : folders) {
    try {
      n += pending_records(f).size();
    } catch (const std::exception&) {
      // An unreadable queue counts as nothing left to send here; drain() says why.
    }
  }
  return n;
}

size_t MlflowSender::flush(double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds));
  std::unique_lock lock(mu_);
  poked_ = true;
  wake_.notify_all();
  // A pass that starts after this call and finds nothing left.
  const uint64_t after = passes_ + 1;
  passed_.wait_until(lock, deadline, [&] { return passes_ > after && last_pass_clean_; });
  lock.unlock();
  return queued();
}

void MlflowSender::loop() {
  auto backoff = std::chrono::milliseconds(500);
  std::unique_lock lock(mu_);
  while (!stop_) {
    poked_ = false;
    const std::set<std::string> folders = folders_;
    lock.unlock();
    bool clean = true, unreachable = false;
    for (const std::string& f : folders) {
      const Drained d = drain(f);
      clean = clean && d == Drained::kAll;
      if (d == Drained::kUnreachable) {
        unreachable = true;
        break;  // one server for all of them
      }
    }
    lock.lock();
    ++passes_;
    last_pass_clean_ = clean;
    passed_.notify_all();
    if (stop_) break;
    if (unreachable) {
      wake_.wait_for(lock, backoff, [&] { return stop_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(500);
    wake_.wait_for(lock, clean ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(200),
                   [&] { return stop_ || poked_; });
  }
}

MlflowSender::Drained MlflowSender::drain(const std::string& folder) {
  SendLock lock(folder);
  if (!lock.held()) return Drained::kLater;  // another process's sender has it
  std::vector<nlohmann::json> records;
  std::optional<MlflowRun> run;
  try {
    records = pending_records(folder);
    run = saved_run(folder);
  } catch (const std::exception& e) {
    log_.warn(folder, ": MLflow queue unreadable: ", e.what());
    return Drained::kLater;
  }
  for (const nlohmann::json& r : records) {
    const uint64_t seq = r["seq"].get<uint64_t>();
    try {
      send(folder, r, run);
      if (unreachable_) log_.info("MLflow at ", uri_, " answers again; sending the queued records");
      unreachable_ = false;
    } catch (const MlflowUnreachable& e) {
      if (!unreachable_)
        log_.warn("MLflow at ", uri_, " is unreachable (", e.what(), "); ", folder,
                  ": records stay queued in mlflow/ and are sent in order once it answers; "
                  "training goes on");
      unreachable_ = true;
      return Drained::kUnreachable;
    } catch (const NotReady&) {
      return Drained::kLater;
    } catch (const std::exception& e) {
      // MlflowRejected, or a record we cannot send (a missing artifact file):
      // sending it again would not help, and the records after it must go on.
      log_.warn(folder, ": MLflow record ", seq, " (", r.value("op", "?"), ") skipped: ", e.what());
    }
    try {
      mark_sent(folder, seq);
    } catch (const std::exception& e) {
      log_.warn(folder, ": ", e.what(), " (the record may be sent again; the server absorbs it)");
      return Drained::kLater;
    }
  }
  return Drained::kAll;
}

void MlflowSender::send(const std::string& folder, const nlohmann::json& r,
                        std::optional<MlflowRun>& run) {
  const std::string op = r.value("op", "");
  if (op == "create") {
    if (run) return;
    Tags tags;
    // Named: a range-for over a temporary's items() would dangle.
    const nlohmann::json given = r.value("tags", nlohmann::json::object());
    for (const auto& [k, v] : given.items()) tags.emplace_back(k, v.get<std::string>());
    const std::string parent = r.value("parent", "");
    if (!parent.empty()) {
      const std::optional<MlflowRun> p = saved_run(parent);
      if (!p) throw NotReady("the sweep's run is not created yet");
      tags.emplace_back("mlflow.parentRunId", p->run_id);
    }
    const std::string experiment = r.at("experiment").get<std::string>();
    auto known = experiments_.find(experiment);
    if (known == experiments_.end())
      known = experiments_.emplace(experiment, client_->experiment_id(experiment)).first;
    const std::string key = r.at("key").get<std::string>();
    run = client_->find_run(known->second, "fracsweep.key", key);
    if (!run) run = client_->create_run(known->second, r.value("name", ""), r.value("start_ms", int64_t{0}), tags);
    save_run(folder, *run);
    return;
  }
  if (!run) throw MlflowRejected("no run: the queue does not start with its creation");
  if (op == "log") {
    client_->log_batch(run->run_id, r.value("metrics", nlohmann::json::array()),
                       r.value("params", nlohmann::json::array()), r.value("tags", nlohmann::json::array()));
  } else if (op == "artifact") {
    fs::path file = r.at("file").get<std::string>();
    if (file.is_relative()) file = fs::path(folder) / file;
    if (!fs::exists(file)) throw MlflowRejected(file.string() + " no longer exists");
    client_->upload_artifact(*run, r.at("name").get<std::string>(), core::read_file(file.string()));
  } else if (op == "end") {
    client_->end_run(run->run_id, r.value("status", "FINISHED"), r.value("end_ms", int64_t{0}));
  } else {
    throw MlflowRejected("unknown record '" + op + "'");
  }
}

}  // namespace fracsweep::tracking
