// Text that goes into shell scripts and command lines without being read as code.
#pragma once

#include <string>
#include <string_view>

namespace fracsweep::cluster {

// `text` as one shell word: wrapped in single quotes, each ' written as '\''.
// Nothing inside ($, `, ", ;, spaces, newlines) is interpreted by sh or bash.
std::string shell_quote(std::string_view text);

// A SLURM job name made of `text`: letters, digits, '.', '_' and '-' kept,
// every other byte replaced by '_', at most 64 characters, never empty.
std::string slurm_job_name(std::string_view text);

}  // namespace fracsweep::cluster
