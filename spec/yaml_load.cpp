// See yaml_load.h.
#include "spec/yaml_load.h"

#include <algorithm>

#include "core/error.h"
#include "core/text.h"

namespace fracsweep::spec {

YAML::Node load_yaml(const std::string& text, const std::string& where) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw core::ConfigError(core::str_cat(where, ":", e.mark.line + 1, ":", e.mark.column + 1,
                                          ": not valid YAML: ", e.msg));
  }
}

void check_known_key(const std::string& key, const std::string& path,
                     const std::vector<std::string>& known, const std::string& where) {
  if (std::find(known.begin(), known.end(), key) != known.end()) return;
  const std::string near = core::nearest_key(key, known);
  std::string list;
  for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
  throw core::ConfigError(core::str_cat(where, ": unknown key '", path, "'",
                                        near.empty() ? "" : " (did you mean '" + near + "'?)",
                                        "; expected one of: ", list));
}

}  // namespace fracsweep::spec
