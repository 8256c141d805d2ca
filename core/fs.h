// Whole-file reads and crash-safe writes.
//
// write_file_atomic writes to a temporary file beside the target, fsyncs it,
// renames it over the target and fsyncs the directory, so a reader (or a run
// restarted after a crash) sees either the old content or the new, never a
// torn mix. Both throw core::IoError naming the path and the system error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fracsweep::core {

std::string read_file(const std::string& path);

void write_file_atomic(const std::string& path, std::string_view content);

// fsyncs `from` (a finished file written by other means, e.g. HDF5), renames
// it to `to` and fsyncs the folder, so `to` is either absent or complete.
void rename_durably(const std::string& from, const std::string& to);

// The files in `dir` whose names end in `extension` (e.g. ".jsonl"), sorted by
// path; none when `dir` does not exist.
std::vector<std::string> files_with_extension(const std::string& dir, std::string_view extension);

// Owns a POSIX file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();  // a failed close here cannot be reported; close() written files first

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();  // gives up ownership, returns the descriptor
  int close();    // closes now and returns close()'s result, for files that were written

 private:
  int fd_;
};

// A file opened read-only for positioned reads. pread() does not move a shared
// file position, so any number of threads may read through one ReadOnlyFile.
class ReadOnlyFile {
 public:
  ReadOnlyFile() = default;
  explicit ReadOnlyFile(const std::string& path);  // throws core::IoError
  ReadOnlyFile(ReadOnlyFile&& o) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& o) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Fills `out` from byte `offset`; throws core::IoError naming `what` when the
  // file ends early or the read fails.
  void read_at(uint64_t offset, std::span<uint8_t> out, std::string_view what) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace fracsweep::core
