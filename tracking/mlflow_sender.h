// Sends the MLflow queues of some folders (mlflow_queue.h) to one tracking
// server, in order, on a thread of its own, so that a server that is down or
// slow never holds up training (Note [Tracking never stops training]). While
// the server does not answer, the records wait on disk and the sender retries
// with a backoff of up to 5 s; the log says when the server stops and starts
// answering. Thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "core/log.h"
#include "tracking/http.h"
#include "tracking/mlflow_client.h"

namespace fracsweep::tracking {

class MlflowSender {
 public:
  // `uri` checked by spec::check_mlflow_uri. `http`: tests' fake; null for libcurl.
  MlflowSender(std::string uri, core::Logger& log, HttpTimeouts timeouts = {},
               std::unique_ptr<HttpClient> http = nullptr);
  // Stops the thread; what was not sent stays queued for the next sender.
  ~MlflowSender();
  MlflowSender(const MlflowSender&) = delete;
  MlflowSender& operator=(const MlflowSender&) = delete;

  const std::string& uri() const { return uri_; }
  // Sends <folder>/mlflow/ from now on (again after a restart: it picks up
  // where the `sent` mark says).
  void watch(const std::string& folder);
  // New records were queued: send them now rather than at the next poll.
  void poke();
  // Waits until every watched queue is sent, or `seconds` passed; returns the
  // records still queued.
  size_t flush(double seconds);

 private:
  enum class Drained { kAll, kLater, kUnreachable };
  void loop();
  Drained drain(const std::string& folder);
  // Sends one record; throws MlflowUnreachable, MlflowRejected, or NotReady.
  void send(const std::string& folder, const nlohmann::json& record, std::optional<MlflowRun>& run);
  size_t queued() const;

  const std::string uri_;
  core::Logger& log_;
  std::unique_ptr<MlflowClient> client_;  // used by the thread alone
  std::map<std::string, std::string> experiments_;  // name -> id, the thread's

  mutable std::mutex mu_;
  std::condition_variable wake_, passed_;
  std::set<std::string> folders_;
  bool stop_ = false, poked_ = false;
  uint64_t passes_ = 0;     // finished passes over every folder
  bool last_pass_clean_ = false;
  bool unreachable_ = false;  // the thread's; for the log's "answers again"
  std::thread thread_;
};

}  // namespace fracsweep::tracking
