// Reading job and sweep files: YAML parsing, and the one check for keys the
// file should not have.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace fracsweep::spec {

// Parses YAML text, turning yaml-cpp's parser errors into one core::ConfigError
// "<where>:<line>:<column>: not valid YAML: <why>".
YAML::Node load_yaml(const std::string& text, const std::string& where);

// Throws core::ConfigError "<where>: unknown key '<path>' (did you mean
// '<nearest>'?); expected one of: <known>" when `key` is not in `known`.
// `path` is the key as the file nests it (e.g. "train.lr").
void check_known_key(const std::string& key, const std::string& path,
                     const std::vector<std::string>& known, const std::string& where);

// The node as a T; throws core::ConfigError "<where>: <path>: '<value>' has
// the wrong type" when it is not one.
template <typename T>
T scalar(const YAML::Node& node, const std::string& path, const std::string& where) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw core::ConfigError(core::str_cat(where, ": ", path, ": '", YAML::Dump(node),
                                          "' has the wrong type"));
  }
}

}  // namespace fracsweep::spec
