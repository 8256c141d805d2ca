#include "fuzz_target.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace fracsweep::fuzz {

ScratchFile::ScratchFile(const char* suffix)
    : path_((std::filesystem::temp_directory_path() /
             ("fracsweep-fuzz-" + std::to_string(::getpid()) + suffix))
                .string()) {}

ScratchFile::~ScratchFile() { ::unlink(path_.c_str()); }

void ScratchFile::write(const uint8_t* data, size_t size) const {
  const std::string& path = path_;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace fracsweep::fuzz
