// The bytes of one file for a reader that scans them once: a regular file is
// mapped read-only (no copy, no zeroed buffer), anything else (a pipe, an
// empty file, a file that cannot be mapped) is read into memory. Owns the
// bytes; move-only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fracsweep::metrics {

class FileText {
 public:
  // Throws core::IoError, naming the path, when the file cannot be read.
  static FileText load(const std::string& path);

  FileText(FileText&& o) noexcept;
  FileText& operator=(FileText&&) = delete;
  FileText(const FileText&) = delete;
  FileText& operator=(const FileText&) = delete;
  ~FileText();

  std::string_view view() const { return map_ ? std::string_view(map_, size_) : read_; }

 private:
  FileText() = default;
  char* map_ = nullptr;  // the mapping, or null when read_ holds the bytes
  size_t size_ = 0;
  std::string read_;
};

}  // namespace fracsweep::metrics
