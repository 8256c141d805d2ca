// Names from sweep files that become folder names: a variant's name and each
// axis point's "field=value" are path components of a job's folder
// (<output>/<variant>/<part>/seed<S>/<field>=<value>).
//
// Any character a file name can hold is kept (LaTeX's specials and non-ASCII
// letters included: the report escapes them), but a name that would leave the
// sweep's folder, hide in a listing, break a terminal or be cut by the file
// system is refused, as are two names that only case tells apart (one folder on
// a case-insensitive file system).
#pragma once

#include <string>
#include <string_view>

namespace fracsweep::sweeps {

// The longest name taken, in bytes: file systems allow 255 per component; the
// rest is left for what tools append ("<name>.tmp", suffixes).
inline constexpr size_t kMaxNameBytes = 200;

// Throws core::ConfigError "<where>: <what> '<name>' ..." saying what is wrong
// and what to do, when `name` is empty, "." or "..", holds '/', a control
// character (bytes below 0x20 and 0x7f) or invalid UTF-8, starts or ends with
// a space, or is longer than kMaxNameBytes.
void check_folder_name(std::string_view name, const std::string& what, const std::string& where);

// The name as a case-insensitive file system compares it (ASCII letters folded
// to lower case); two names with the same key would share a folder there.
std::string collision_key(std::string_view name);

}  // namespace fracsweep::sweeps
