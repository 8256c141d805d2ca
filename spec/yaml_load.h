// Parses YAML text for job and sweep files, turning yaml-cpp's parser errors
// into one core::ConfigError "<where>:<line>:<column>: not valid YAML: <why>".
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace fracsweep::spec {

YAML::Node load_yaml(const std::string& text, const std::string& where);

}  // namespace fracsweep::spec
