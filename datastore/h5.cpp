// See h5.h.
#include "datastore/h5.h"
#include "datastore/hdf5_exit.h"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/fs.h"

namespace fracsweep::datastore {

void close_written(H5File& file, const std::string& path) {
  H5Quiet quiet;
  errno = 0;
  if (file.close() >= 0) return;
  if (core::is_storage_errno(errno))
    core::throw_write_error(path, ": HDF5 could not complete the file: ");
  throw core::IoError(path + ": HDF5 could not complete the file (is the disk full?)");
}

H5File create_written(const std::string& path) {
  H5Quiet quiet;
  const H5PropertyList fapl = checksummed_file_access(path);
  // The same input gives the same bytes: the root group's header records no times (the
  // 1.8 format's object headers would hold four).
  const H5PropertyList fcpl(H5_CHECK(H5Pcreate(H5P_FILE_CREATE), path));
  H5_CHECK(H5Pset_obj_track_times(fcpl.get(), false), path);
  errno = 0;
  H5File file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()));
  if (file.valid()) return file;
  if (core::is_storage_errno(errno)) core::throw_write_error(path, ": cannot create the HDF5 file: ");
  throw core::IoError(core::str_cat(path, ": cannot create the HDF5 file (",
                                    errno != 0 ? std::strerror(errno) : "HDF5 gave no cause",
                                    "; does the folder exist and is it writable?)"));
}

H5PropertyList checksummed_file_access(const std::string& where) {
  H5PropertyList fapl(H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), where));
  H5_CHECK(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), where);
  return fapl;
}

void check_checksummed_superblock(const std::string& path, const char* kind) {
  const core::ReadOnlyFile file(path);
  static constexpr char kSignature[] = "\x89HDF\r\n\x1a\n";
  // HDF5 looks for its signature at 0, 512, 1024, 2048, ... (after a user block).
  for (uint64_t at = 0; at + 9 <= file.size(); at = at == 0 ? 512 : 2 * at) {
    uint8_t head[9];
    file.read_at(at, head, path);
    if (std::memcmp(head, kSignature, 8) != 0) continue;
    CHECK_OR_THROW(core::ConfigError, head[8] >= 2, path, ": HDF5 superblock version ",
                   static_cast<int>(head[8]), ", without checksums; fracsweep writes its ", kind,
                   " with version 2 or later, so this file is an old one of fracsweep's (write "
                   "it again: fracsweep synth), was written by something else, or is damaged");
    return;
  }
  throw core::ConfigError(path + ": not an HDF5 file (no HDF5 signature); expected a " + kind +
                          " written by fracsweep");
}

void skip_hdf5_exit_cleanup() { H5dont_atexit(); }

}  // namespace fracsweep::datastore
