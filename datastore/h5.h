// RAII ownership of HDF5 identifiers, and checked calls into the HDF5 C API.
//
// H5Handle<Close> owns one hid_t and releases it with `Close` (H5Fclose,
// H5Dclose, ...). Move-only; the destructor never throws. HDF5's own error
// printing is switched off by the store (H5Quiet) because every call is
// checked here and turned into one core::IoError that names the file and the
// object, which reads better than HDF5's stack dump.
#pragma once

#include <hdf5.h>

#include <cerrno>
#include <string>
#include <utility>

#include "core/error.h"

namespace fracsweep::datastore {

template <herr_t (*Close)(hid_t)>
class H5Handle {
 public:
  H5Handle() = default;
  explicit H5Handle(hid_t id) : id_(id) {}
  H5Handle(H5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  ~H5Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() noexcept {
    if (id_ >= 0) Close(id_);  // a failed close cannot be reported from a destructor
    id_ = H5I_INVALID_HID;
  }
  // Releases the id and returns what `Close` returned (negative: it failed).
  herr_t close() noexcept {
    const herr_t r = id_ >= 0 ? Close(id_) : 0;
    id_ = H5I_INVALID_HID;
    return r;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using H5File = H5Handle<H5Fclose>;
using H5Dataset = H5Handle<H5Dclose>;
using H5Dataspace = H5Handle<H5Sclose>;
using H5Group = H5Handle<H5Gclose>;
using H5Attribute = H5Handle<H5Aclose>;
using H5Type = H5Handle<H5Tclose>;
using H5PropertyList = H5Handle<H5Pclose>;

// File access for writing with HDF5's newer object formats (1.8 and later),
// whose metadata (superblock, object headers, B-trees) carry checksums: a
// damaged file then fails to open or read instead of steering HDF5's parser,
// which can crash on damaged metadata of the old formats.
H5PropertyList checksummed_file_access(const std::string& where);

// Reads the HDF5 superblock's version at `path` without HDF5 and throws
// core::ConfigError unless it is 2 or later (what checksummed_file_access writes): a
// reader of files fracsweep wrote calls this before HDF5 parses anything, so that a
// damaged or crafted file cannot take HDF5 down the unchecked old formats' parser
// (HDF5 1.10 overruns a buffer on some). `kind` names the file in the message.
void check_checksummed_superblock(const std::string& path, const char* kind);

// Closes a file being written, whose metadata HDF5 writes only now, and throws
// core::StorageError (a full disk, an I/O error) or core::IoError naming `path`
// when that fails, so that no caller renames an incomplete file into place.
void close_written(H5File& file, const std::string& path);

// Creates (truncating) the HDF5 file `path` for writing, with checksummed metadata
// (checksummed_file_access), and throws core::StorageError for a full disk or a disk
// error, core::IoError otherwise, naming `path` and the cause.
H5File create_written(const std::string& path);

// Silences HDF5's automatic error stack printing for its lifetime, restoring
// the previous handler after. HDF5's handler is process-wide; hold one of
// these around any block of checked calls.
class H5Quiet {
 public:
  H5Quiet() {
    H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5Quiet() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }
  H5Quiet(const H5Quiet&) = delete;
  H5Quiet& operator=(const H5Quiet&) = delete;

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// Throws core::IoError "<where>: <call> failed" when an HDF5 call returns < 0;
// core::StorageError, with the system's reason, when the call failed on a full
// or failing disk (H5_CHECK clears errno before the call, so what errno holds
// after it is the call's own).
inline hid_t h5_check(hid_t result, const std::string& where, const char* call) {
  if (result >= 0) return result;
  if (core::is_storage_errno(errno)) core::throw_write_error(where, ": ", call, " failed: ");
  throw core::IoError(core::str_cat(where, ": ", call, " failed"));
}

}  // namespace fracsweep::datastore

#define H5_CHECK(call, where) \
  (errno = 0, ::fracsweep::datastore::h5_check((call), (where), #call))
