// What every store writer shares (internal to datastore/): the file built under
// a temporary name of its process (STORE.partial.<pid>) and renamed into place on commit, the /images dataset, the
// patients, and the root attributes. The writers of each task add their own
// datasets through file() before commit().
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "datastore/h5.h"
#include "datastore/patch_store.h"

namespace fracsweep::datastore {

class StoreFile {
 public:
  // Throws core::ConfigError on bad sizes or compression, core::IoError when
  // the file cannot be created.
  StoreFile(std::string path, Task task, int height, int width, int compression,
            std::string source);
  ~StoreFile();  // without commit(), removes the temporary file
  StoreFile(const StoreFile&) = delete;
  StoreFile& operator=(const StoreFile&) = delete;

  hid_t file() const { return file_.get(); }
  const std::string& path() const { return path_; }
  const std::string& tmp_path() const { return tmp_path_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int compression() const { return compression_; }
  size_t image_bytes() const { return static_cast<size_t>(height_) * width_; }
  bool committed() const { return committed_; }

  // Registers a patient; returns its index.
  int32_t add_patient(const std::string& id, int32_t label);
  // Appends images (a multiple of image_bytes) with their labels and patient.
  void add_images(std::span<const uint8_t> pixels, std::span<const int32_t> labels,
                  int32_t patient);
  size_t size() const { return labels_.size(); }

  // Writes /samples/label, /samples/patient, /patients, /checksums/images and the root attributes,
  // calls `extra(samples group)` for the task's own sample columns, closes the
  // file, checks that it opens as a store, and renames it into place. Throws
  // core::StorageError when the disk is full, else core::IoError.
  void commit(const std::function<void(hid_t samples)>& extra);

 private:
  void check_reads_back() const;
  std::string path_, tmp_path_, source_;
  Task task_;
  int height_ = 0, width_ = 0, compression_ = 0;
  H5File file_;
  H5Dataset images_;
  std::vector<int32_t> labels_, patients_, patient_label_;
  std::vector<uint32_t> image_crc32_;
  std::vector<std::string> patient_ids_;
  bool committed_ = false;
};

// Reads and validates the pelvis datasets of an open store of n images of
// height x width (for PatchStore::open; pelvis_store.cpp). Throws
// core::ConfigError naming the dataset and what is wrong.
PelvisIndex read_pelvis_index(hid_t file, size_t n, int height, int width,
                              const std::string& path);

}  // namespace fracsweep::datastore
