// See mlflow_client.h.
#include "tracking/mlflow_client.h"

#include <cctype>

#include "core/log.h"

namespace fracsweep::tracking {
namespace {

// Percent-encodes a query value or a path segment (RFC 3986 unreserved kept).
std::string encode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Throws for anything but a 2xx answer: MlflowUnreachable where trying later may
// help, MlflowRejected where it will not.
void check(const HttpResponse& r, const std::string& what) {
  if (!r.answered()) throw MlflowUnreachable(what + ": " + r.error);
  if (r.status >= 200 && r.status < 300) return;
  const std::string text = core::str_cat(what, ": HTTP ", r.status, ": ", r.body.substr(0, 300));
  if (r.status >= 500 || r.status == 429 || r.status == 408) throw MlflowUnreachable(text);
  throw MlflowRejected(text);
}

MlflowRun run_of(const nlohmann::json& run) {
  const nlohmann::json& info = run.at("info");
  return {info.at("run_id").get<std::string>(), info.at("experiment_id").get<std::string>(),
          info.value("artifact_uri", std::string())};
}

}  // namespace

MlflowClient::MlflowClient(std::string uri, std::unique_ptr<HttpClient> http)
    : uri_(std::move(uri)), http_(std::move(http)) {}

nlohmann::json MlflowClient::call(const std::string& method, const std::string& path,
                                  const nlohmann::json& body) {
  const std::string url = uri_ + "/api/2.0/mlflow/" + path;
  const HttpResponse r =
      http_->request(method, url, method == "GET" ? std::string() : body.dump(), "application/json");
  check(r, method + " " + url);
  if (r.body.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) throw MlflowRejected(method + " " + url + ": the answer is not JSON");
  return j;
}

std::string MlflowClient::experiment_id(const std::string& name) {
  const std::string url =
      uri_ + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + encode(name, false);
  std::string refused;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const HttpResponse r = http_->request("GET", url, "", "");
    if (r.answered() && r.status == 404) {
      try {
        return call("POST", "experiments/create", {{"name", name}}).at("experiment_id").get<std::string>();
      } catch (const MlflowRejected& e) {
        // Another process may have created it between our two calls
        // (RESOURCE_ALREADY_EXISTS): ask again.
        refused = e.what();
        continue;
      }
    }
    check(r, "GET " + url);
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("experiment"))
      throw MlflowRejected("GET " + url + ": no experiment in the answer");
    return j["experiment"].at("experiment_id").get<std::string>();
  }
  throw MlflowRejected("experiment '" + name + "' is neither found nor created: " + refused);
}

std::optional<MlflowRun> MlflowClient::find_run(const std::string& experiment_id,
                                                const std::string& key, const std::string& value) {
  const nlohmann::json j = call("POST", "runs/search",
                                {{"experiment_ids", {experiment_id}},
                                 {"filter", "tags.`" + key + "` = '" + value + "'"},
                                 {"run_view_type", "ALL"},
                                 {"max_results", 1}});
  if (!j.contains("runs") || j["runs"].empty()) return std::nullopt;
  return run_of(j["runs"][0]);
}

MlflowRun MlflowClient::create_run(const std::string& experiment_id, const std::string& name,
                                   int64_t start_ms, const Tags& tags) {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& [k, v] : tags) t.push_back({{"key", k}, {"value", v}});
  return run_of(call("POST", "runs/create",
                     {{"experiment_id", experiment_id}, {"run_name", name},
                      {"start_time", start_ms}, {"tags", t}})
                    .at("run"));
}

void MlflowClient::log_batch(const std::string& run_id, const nlohmann::json& metrics,
                             const nlohmann::json& params, const nlohmann::json& tags) {
  call("POST", "runs/log-batch",
       {{"run_id", run_id}, {"metrics", metrics}, {"params", params}, {"tags", tags}});
}

void MlflowClient::end_run(const std::string& run_id, const std::string& status, int64_t end_ms) {
  call("POST", "runs/update", {{"run_id", run_id}, {"status", status}, {"end_time", end_ms}});
}

void MlflowClient::upload_artifact(const MlflowRun& run, const std::string& name,
                                   const std::string& content) {
  const std::string scheme = "mlflow-artifacts:";
  if (run.artifact_uri.rfind(scheme, 0) != 0)
    throw MlflowRejected(core::str_cat("run ", run.run_id, ": its artifacts go to '", run.artifact_uri,
                                       "', which the tracking server does not serve; start it "
                                       "with --serve-artifacts (MLflow's default) to keep them"));
  // "mlflow-artifacts:/1/<run>/artifacts" or "mlflow-artifacts://host:port/1/<run>/artifacts".
  std::string path = run.artifact_uri.substr(scheme.size());
  if (path.rfind("//", 0) == 0) path = path.substr(path.find('/', 2));
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  const std::string url =
      uri_ + "/api/2.0/mlflow-artifacts/artifacts/" + encode(path + "/" + name, true);
  check(http_->request("PUT", url, content, "application/octet-stream"), "PUT " + url);
}

}  // namespace fracsweep::tracking
