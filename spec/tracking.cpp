// See tracking.h.
#include "spec/tracking.h"

#include <charconv>

#include "core/error.h"
#include "spec/yaml_load.h"

namespace fracsweep::spec {

using core::ConfigError;

std::string check_mlflow_uri(const std::string& value, const std::string& key, const std::string& where) {
  const std::string fix = "; give http://HOST:PORT of a running `mlflow server`";
  std::string uri = value;
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  const size_t scheme = uri.find("://");
  CHECK_OR_THROW(ConfigError, scheme != std::string::npos &&
                     (uri.substr(0, scheme) == "http" || uri.substr(0, scheme) == "https"),
                 where, ": ", key, ": '", value, "' is not an http:// or https:// URI", fix);
  const std::string rest = uri.substr(scheme + 3);
  const std::string authority = rest.substr(0, rest.find('/'));
  CHECK_OR_THROW(ConfigError, !authority.empty() && authority.find_first_of(" @?#") == std::string::npos,
                 where, ": ", key, ": '", value, "' has no host (or one with ' ', '@', '?' or '#')", fix);
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    int n = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    CHECK_OR_THROW(ConfigError, ec == std::errc() && end == port.data() + port.size() && n >= 1 &&
                                    n <= 65535 && colon > 0,
                   where, ": ", key, ": '", value, "': the port '", port,
                   "' is not a number from 1 to 65535", fix);
  }
  return uri;
}

namespace {

// `node`, the file's `path`, is a mapping whose keys are all `known`; `example` shows one.
void check_mapping(const YAML::Node& node, const std::string& path, const std::vector<std::string>& known,
                   const char* example, const std::string& where) {
  CHECK_OR_THROW(ConfigError, node.IsMap(), where, ": ", path, ": expected a mapping such as ", example);
  for (const auto& kv : node)
    check_known_key(kv.first.as<std::string>(), path + "." + kv.first.as<std::string>(), known, where);
}

}  // namespace

TrackingSpec parse_tracking(const YAML::Node& node, const std::string& where) {
  TrackingSpec t;
  if (!node || node.IsNull()) return t;
  check_mapping(node, "tracking", {"tensorboard", "mlflow"},
                "{mlflow: {uri: http://HOST:PORT, experiment: NAME}}", where);
  if (node["tensorboard"]) t.tensorboard = scalar<bool>(node["tensorboard"], "tracking.tensorboard", where);
  const YAML::Node m = node["mlflow"];
  if (!m || m.IsNull()) return t;
  check_mapping(m, "tracking.mlflow", {"uri", "experiment"}, "{uri: http://HOST:PORT, experiment: NAME}",
                where);
  CHECK_OR_THROW(ConfigError, m["uri"], where, ": tracking.mlflow.uri is missing; give "
                 "http://HOST:PORT of a running `mlflow server`");
  MlflowSpec spec;
  spec.uri = check_mlflow_uri(scalar<std::string>(m["uri"], "tracking.mlflow.uri", where),
                              "tracking.mlflow.uri", where);
  if (m["experiment"]) {
    spec.experiment = scalar<std::string>(m["experiment"], "tracking.mlflow.experiment", where);
    CHECK_OR_THROW(ConfigError, !spec.experiment.empty() && spec.experiment.size() <= 500, where,
                   ": tracking.mlflow.experiment: '", spec.experiment,
                   "' must be 1 to 500 characters (or leave it out: the sweep's name)");
  }
  t.mlflow = spec;
  return t;
}

}  // namespace fracsweep::spec
