// See names.h.
#include "sweeps/names.h"

#include <fmt/format.h>

#include "core/error.h"

namespace fracsweep::sweeps {
namespace {

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not one
// (a stray continuation byte, a truncated or overlong sequence).
size_t utf8_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) >> 6) != 0x2) return 0;
  if (n == 2 && b < 0xc2) return 0;  // overlong
  return n;
}

// What is wrong with the name, or empty when nothing is.
std::string problem_of(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "would name the folder itself or its parent";
  if (name.size() > kMaxNameBytes)
    return fmt::format("is {} bytes long; at most {} fit in a folder name", name.size(),
                       kMaxNameBytes);
  if (name.front() == ' ' || name.back() == ' ') return "starts or ends with a space";
  for (size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '/') return "holds '/', which would make it a path of several folders";
    if (c < 0x20 || c == 0x7f) return fmt::format("holds the control character 0x{:02x}", c);
    const size_t n = utf8_length(name, i);
    if (n == 0) return fmt::format("is not valid UTF-8 (byte 0x{:02x} at offset {})", c, i);
    i += n;
  }
  return {};
}

}  // namespace

void check_folder_name(std::string_view name, const std::string& what, const std::string& where) {
  const std::string problem = problem_of(name);
  if (problem.empty()) return;
  std::string shown;
  for (char c : name.substr(0, 60)) {
    const auto u = static_cast<unsigned char>(c);
    shown += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  if (name.size() > 60) shown += "...";
  throw core::ConfigError(fmt::format("{}: {} '{}' {}: it becomes a folder name; choose another",
                                      where, what, shown, problem));
}

std::string collision_key(std::string_view name) {
  std::string key(name);
  for (char& c : key)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return key;
}

}  // namespace fracsweep::sweeps
