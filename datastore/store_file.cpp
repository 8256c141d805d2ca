// See store_file.h.
#include "datastore/store_file.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/h5_io.h"

namespace fracsweep::datastore {

using core::ConfigError;
using core::IoError;

StoreFile::StoreFile(std::string path, Task task, int height, int width, int compression,
                     std::string source)
    // One temporary name per process: two writers of one store (the shards of an array
    // starting on a fresh folder) must not create one file, which HDF5 refuses to open twice.
    : path_(std::move(path)), tmp_path_(path_ + ".partial." + std::to_string(::getpid())),
      source_(std::move(source)),
      task_(task), height_(height), width_(width), compression_(compression) {
  CHECK_OR_THROW(ConfigError, height > 0 && width > 0, path_, ": patch size ", height, "x", width,
                 " must be positive");
  CHECK_OR_THROW(ConfigError, compression >= 0 && compression <= 9, path_, ": compression level ",
                 compression, " is outside 0 (none) .. 9");
  H5Quiet quiet;
  // Checksummed metadata: HDF5 then refuses a damaged header instead of parsing it.
  file_ = create_written(tmp_path_);
  images_ = create_item_dataset(file_.get(), "images", H5T_STD_U8LE,
                                {static_cast<hsize_t>(height), static_cast<hsize_t>(width)},
                                compression, tmp_path_);
}

StoreFile::~StoreFile() {
  if (!committed_) {
    H5Quiet quiet;  // closing a file whose writes failed: its errors were reported already
    images_.reset();
    file_.reset();
    std::remove(tmp_path_.c_str());  // an abandoned store must not look finished
  }
}

int32_t StoreFile::add_patient(const std::string& id, int32_t label) {
  CHECK_OR_THROW(ConfigError, !committed_, path_, ": add_patient after commit");
  patient_ids_.push_back(id);
  patient_label_.push_back(label);
  return static_cast<int32_t>(patient_ids_.size() - 1);
}

void StoreFile::add_images(std::span<const uint8_t> pixels, std::span<const int32_t> labels,
                           int32_t patient) {
  CHECK_OR_THROW(ConfigError, !committed_, path_, ": add_images after commit");
  INTERNAL_ASSERT(pixels.size() == labels.size() * image_bytes());
  INTERNAL_ASSERT(patient >= 0 && static_cast<size_t>(patient) < patient_ids_.size());
  const hsize_t first = labels_.size();
  labels_.insert(labels_.end(), labels.begin(), labels.end());
  patients_.insert(patients_.end(), labels.size(), patient);
  H5Quiet quiet;
  append_items(images_.get(), first, labels.size(),
               {static_cast<hsize_t>(height_), static_cast<hsize_t>(width_)}, H5T_NATIVE_UINT8,
               pixels.data(), tmp_path_ + ": /images");
  append_item_checksums(pixels.data(), labels.size(), image_bytes(), image_crc32_);
}

void StoreFile::commit(const std::function<void(hid_t samples)>& extra) {
  CHECK_OR_THROW(ConfigError, !committed_, path_, ": commit called twice");
  H5Quiet quiet;
  const std::string& where = tmp_path_;
  const hid_t f = file_.get();
  H5PropertyList gcpl = untimed_create_plist(H5P_GROUP_CREATE, where);
  {
    H5Group samples(H5_CHECK(H5Gcreate2(f, "samples", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), where));
    write_int32s(samples.get(), "label", labels_, where);
    write_int32s(samples.get(), "patient", patients_, where);
    if (extra) extra(samples.get());
  }
  {
    H5Group patients(H5_CHECK(H5Gcreate2(f, "patients", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), where));
    write_int32s(patients.get(), "label", patient_label_, where);
    size_t width = 1;
    for (const auto& id : patient_ids_) width = std::max(width, id.size());
    std::vector<char> packed(width * patient_ids_.size(), '\0');
    for (size_t p = 0; p < patient_ids_.size(); ++p)
      std::copy(patient_ids_[p].begin(), patient_ids_[p].end(), packed.begin() + p * width);
    H5Type type(H5_CHECK(H5Tcopy(H5T_C_S1), where));
    H5_CHECK(H5Tset_size(type.get(), width), where);
    write_array(patients.get(), "id", type.get(), type.get(), {patient_ids_.size()},
                packed.data(), where);
  }
  write_item_checksums(f, "images", image_crc32_, where);
  write_attr_string(f, "format", kFormatName, where);
  write_attr_int(f, "schema_version", kSchemaVersion, where);
  write_attr_string(f, "task", task_name(task_), where);
  write_attr_string(f, "source", source_, where);
  write_attr_int(f, "compression", compression_, where);
  write_attr_int(f, "image_height", height_, where);
  write_attr_int(f, "image_width", width_, where);
  write_attr_string(f, "created_by", "fracsweep " FRACSWEEP_VERSION_STRING, where);
  images_.reset();
  close_written(file_, tmp_path_);
  check_reads_back();
  core::rename_durably(tmp_path_, path_);
  committed_ = true;
}

// HDF5 has been seen to report success on a full disk, and on a disk error (EIO) in one
// of its own writes, and leave part of the file unwritten. The file goes into place only
// once it opens and validates as a reader will (PatchStore::open) and every item matches
// its checksum.
void StoreFile::check_reads_back() const {
  try {
    PatchStore::open(tmp_path_).read_every_item();
  } catch (const core::ConfigError& e) {
    struct statvfs fs {};
    const bool full = ::statvfs(tmp_path_.c_str(), &fs) == 0 &&
                      static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < (uint64_t{1} << 20);
    throw core::StorageError(core::str_cat(
        path_, ": the store written (", tmp_path_, ") does not read back: a write was lost",
        full ? " and the disk is full" : " (a disk error, or a disk that filled)", ": ", e.what()));
  }
}

}  // namespace fracsweep::datastore
