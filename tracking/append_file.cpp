// See append_file.h.
#include "tracking/append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace fracsweep::tracking {

core::UniqueFd open_for_append(const std::string& path) {
  core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  CHECK_OR_THROW(core::IoError, fd.valid(), path, ": cannot open: ", std::strerror(errno));
  return fd;
}

void append_all(int fd, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    CHECK_OR_THROW(core::IoError, n > 0, path, ": write failed: ", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace fracsweep::tracking
