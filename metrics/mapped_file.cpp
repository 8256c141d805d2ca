// See mapped_file.h. Mapping a file that another process truncates while it
// is read would fault; the files read here are finished outputs, written once
// (atomically, by rename) and not changed in place.
#include "metrics/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "core/fs.h"

namespace fracsweep::metrics {

FileText FileText::load(const std::string& path) {
  FileText out;
  {
    const core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (fd.valid() && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      // MAP_POPULATE maps every page now, from the page cache, rather than
      // one fault at a time during the scan.
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                       MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
      if (p != MAP_FAILED) {
        out.map_ = static_cast<char*>(p);
        out.size_ = static_cast<size_t>(st.st_size);
        return out;
      }
    }
  }
  // Not mappable: read_file reads it, or throws with the reason.
  out.read_ = core::read_file(path);
  return out;
}

FileText::FileText(FileText&& o) noexcept
    : map_(std::exchange(o.map_, nullptr)), size_(std::exchange(o.size_, 0)),
      read_(std::move(o.read_)) {}

FileText::~FileText() {
  // munmap fails only for a range that is not a mapping: nothing to report.
  if (map_) ::munmap(map_, size_);
}

}  // namespace fracsweep::metrics
