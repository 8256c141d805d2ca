// See yaml_load.h.
#include "spec/yaml_load.h"

#include "core/error.h"

namespace fracsweep::spec {

YAML::Node load_yaml(const std::string& text, const std::string& where) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw core::ConfigError(core::str_cat(where, ":", e.mark.line + 1, ":", e.mark.column + 1,
                                          ": not valid YAML: ", e.msg));
  }
}

}  // namespace fracsweep::spec
