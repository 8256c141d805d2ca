// MLflow's REST API (2.0), the calls a job's run needs: experiments by name,
// runs created, found by tag, updated, metrics/params/tags in batches, and
// artifacts uploaded to a server that serves them (`mlflow server
// --serve-artifacts`, the default since MLflow 2: PUT
// /api/2.0/mlflow-artifacts/artifacts/<path>).
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracking/http.h"

namespace fracsweep::tracking {

// No answer, or one that says to try later (5xx, 429): the record stays queued.
struct MlflowUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The server refused the request (4xx): sending it again will not help.
struct MlflowRejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MlflowRun {
  std::string run_id;
  std::string experiment_id;
  std::string artifact_uri;  // e.g. "mlflow-artifacts:/1/<run_id>/artifacts"
};

using Tags = std::vector<std::pair<std::string, std::string>>;

class MlflowClient {
 public:
  // `uri`: http(s)://HOST:PORT[/PREFIX], checked by spec::check_mlflow_uri.
  MlflowClient(std::string uri, std::unique_ptr<HttpClient> http);

  // The experiment's id, created when missing (a race with another creator is fine).
  std::string experiment_id(const std::string& name);
  // The run of `experiment_id` whose tag `key` is `value`, if any.
  std::optional<MlflowRun> find_run(const std::string& experiment_id, const std::string& key,
                                    const std::string& value);
  MlflowRun create_run(const std::string& experiment_id, const std::string& name,
                       int64_t start_ms, const Tags& tags);
  // runs/log-batch: `metrics` [{key, value, timestamp, step}], `params` and `tags`
  // [{key, value}]; at most 1000 metrics, 100 params, 100 tags (the API's limits).
  void log_batch(const std::string& run_id, const nlohmann::json& metrics,
                 const nlohmann::json& params, const nlohmann::json& tags);
  void end_run(const std::string& run_id, const std::string& status, int64_t end_ms);
  // Uploads `content` as `name` into the run's artifacts; MlflowRejected when the
  // run's artifact store is not served by the tracking server (an s3:// or file:
  // artifact root), naming it.
  void upload_artifact(const MlflowRun& run, const std::string& name, const std::string& content);

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body);
  std::string uri_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace fracsweep::tracking
