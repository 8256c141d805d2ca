// Where a sweep's jobs are tracked beyond their own folders: the sweep file's
// `tracking:` section (or `fracsweep run --mlflow URI`), checked when it is read.
//
//   tracking:
//     tensorboard: true                   # event files in every job's tb/ (default)
//     mlflow: {uri: http://127.0.0.1:5000, experiment: table3}
//                                         # experiment: default the sweep's name
#pragma once

#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

namespace fracsweep::spec {

struct MlflowSpec {
  // The tracking server, "http://HOST:PORT" or "https://HOST[:PORT][/PREFIX]": the
  // REST API is under <uri>/api/2.0/mlflow/, artifacts under <uri>/api/2.0/mlflow-artifacts/.
  std::string uri;
  // The experiment every job's run goes into (created when missing); empty: the sweep's name.
  std::string experiment;
};

struct TrackingSpec {
  // Event files in each job's tb/: a few writes per epoch, on by default.
  bool tensorboard = true;
  std::optional<MlflowSpec> mlflow;
};

// The `tracking:` section; a missing node gives the defaults. Throws
// core::ConfigError naming `where`, the key and the value, and how to fix it.
TrackingSpec parse_tracking(const YAML::Node& node, const std::string& where);

// A tracking server's URI as given (`uri` names where it came from, e.g.
// "tracking.mlflow.uri" or "--mlflow"); throws core::ConfigError unless it is
// http(s)://HOST[:PORT][/PATH] with a port in 1..65535. Returns it without a
// trailing '/'.
std::string check_mlflow_uri(const std::string& value, const std::string& key, const std::string& where);

}  // namespace fracsweep::spec
