// See shell.h.
#include "cluster/shell.h"

#include <cctype>

namespace fracsweep::cluster {

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string slurm_job_name(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) || c == '.' || c == '_' || c == '-' ? c : '_';
  }
  return out.empty() ? "fracsweep" : out;
}

}  // namespace fracsweep::cluster
