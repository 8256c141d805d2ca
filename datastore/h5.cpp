// See h5.h.
#include "datastore/h5.h"
#include "datastore/hdf5_exit.h"

#include <cerrno>

namespace fracsweep::datastore {

void close_written(H5File& file, const std::string& path) {
  H5Quiet quiet;
  errno = 0;
  if (file.close() >= 0) return;
  if (core::is_storage_errno(errno))
    core::throw_write_error(path, ": HDF5 could not complete the file: ");
  throw core::IoError(path + ": HDF5 could not complete the file (is the disk full?)");
}

H5PropertyList checksummed_file_access(const std::string& where) {
  H5PropertyList fapl(H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), where));
  H5_CHECK(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), where);
  return fapl;
}

void skip_hdf5_exit_cleanup() { H5dont_atexit(); }

}  // namespace fracsweep::datastore
