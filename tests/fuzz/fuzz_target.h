// What every libFuzzer target here checks: a reader given any bytes returns, or
// throws a core::Error whose message is not empty. Any other exception, a crash, a
// sanitizer report or a hang (libFuzzer's -timeout) is a finding.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "core/error.h"

namespace fracsweep::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `read`; aborts (a finding) on anything but success or a clear core::Error.
template <class Read>
void expect_clear_error(const char* reader, Read&& read) {
  try {
    read();
  } catch (const core::Error& e) {
    if (std::string_view(e.what()).empty()) {
      std::fprintf(stderr, "%s: threw a core::Error with an empty message\n", reader);
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: threw an exception that is not a core::Error: %s\n", reader, e.what());
    std::abort();
  }
}

// A file that a target writes each input to, for readers that take a path: one per
// process (libFuzzer's -jobs run several), removed when the process exits.
class ScratchFile {
 public:
  explicit ScratchFile(const char* suffix);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Replaces the file's content with `data`.
  void write(const uint8_t* data, size_t size) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fracsweep::fuzz
