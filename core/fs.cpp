// See fs.h. POSIX calls are used directly because std::filesystem has no fsync.
#include "core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/error.h"

namespace fracsweep::core {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() { return std::exchange(fd_, -1); }

int UniqueFd::close() { return ::close(std::exchange(fd_, -1)); }

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK_OR_THROW(IoError, fd.get() >= 0, path, ": cannot open for reading: ", errno_text());
  struct stat st {};
  CHECK_OR_THROW(IoError, ::fstat(fd.get(), &st) == 0, path, ": cannot stat: ", errno_text());
  CHECK_OR_THROW(IoError, !S_ISDIR(st.st_mode), path, ": is a directory, expected a file");
  std::string content;
  content.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  char spill[1 << 16];
  while (true) {
    // Past the size seen by fstat (a growing file or a pipe), read in blocks.
    const bool full = done == content.size();
    char* dst = full ? spill : content.data() + done;
    const size_t room = full ? sizeof spill : content.size() - done;
    const ssize_t n = ::read(fd.get(), dst, room);
    if (n < 0 && errno == EINTR) continue;
    CHECK_OR_THROW(IoError, n >= 0, path, ": read failed: ", errno_text());
    if (n == 0) break;
    if (full) content.append(spill, static_cast<size_t>(n));
    done += static_cast<size_t>(n);
  }
  content.resize(done);
  return content;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // Every failure names the file the caller asked for, and leaves it as it was.
  const auto fail = [&](const char* what) {
    const int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    throw_write_error(path, ": ", what, " (via ", tmp, "): ");
  };
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      if (!is_storage_errno(errno))
        throw IoError(str_cat(path, ": cannot create ", tmp, ": ", errno_text(),
                              " (does the folder exist and is it writable?)"));
      fail("cannot create");
    }
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write failed");
      done += static_cast<size_t>(n);
    }
    if (fd.close() != 0) fail("close failed");
  }
  try {
    rename_durably(tmp, path);
  } catch (const IoError&) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void rename_durably(const std::string& from, const std::string& to) {
  {
    UniqueFd fd(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    CHECK_OR_THROW(IoError, fd.get() >= 0, from, ": cannot open to sync: ", errno_text());
    if (::fsync(fd.get()) != 0) throw_write_error(from, ": fsync failed: ");
  }
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(from.c_str());
    throw IoError(str_cat(to, ": cannot rename ", from, " into place: ", why));
  }
  // The rename itself is durable only once the directory entry is on disk.
  const std::filesystem::path target(to);
  const std::string dir =
      target.has_parent_path() ? target.parent_path().string() : std::string(".");
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Some file systems refuse fsync on folders (EINVAL): that much is best effort. A disk
  // error is not: the rename may be lost in a crash.
  if (dfd.get() >= 0 && ::fsync(dfd.get()) != 0 && is_storage_errno(errno))
    throw_write_error(to, ": renamed into place, but the fsync of its folder failed (a crash "
                      "may lose the rename): ");
}

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CHECK_OR_THROW(IoError, fd_ >= 0, path, ": cannot open for reading: ", errno_text());
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const std::string why = errno_text();
    ::close(std::exchange(fd_, -1));
    throw IoError(str_cat(path, ": cannot stat: ", why));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)), size_(o.size_) {}

ReadOnlyFile& ReadOnlyFile::operator=(ReadOnlyFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    size_ = o.size_;
  }
  return *this;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);  // read-only: nothing to lose on a failed close
}

void ReadOnlyFile::read_at(uint64_t offset, std::span<uint8_t> out, std::string_view what) const {
  INTERNAL_ASSERT(fd_ >= 0);
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    CHECK_OR_THROW(IoError, n >= 0, path_, ": ", what, ": read failed: ", errno_text());
    CHECK_OR_THROW(IoError, n > 0, path_, ": ", what, ": the file ends at byte ", offset + done,
                   ", ", out.size() - done, " bytes early (truncated?)");
    done += static_cast<size_t>(n);
  }
}

std::vector<std::string> files_with_extension(const std::string& dir, std::string_view extension) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == extension) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fracsweep::core
