// Writes the pelvis task's patch store (the layout is in patch_store.h): one
// image per patient, with its flipped twin, landmarks, symmetry axis, fracture
// points and the I -> I_f warp grid. Read it back with PatchStore::open().
#pragma once

#include <memory>
#include <string>

#include "datastore/patch_store.h"
#include "datastore/pelvis_geometry.h"

namespace fracsweep::datastore {

struct PelvisStoreSettings {
  int height = 256, width = 512;
  int warp_stride = 8;
  double mask_radius = 51.2;     // pixels
  double pixel_spacing_mm = 0;   // nominal, 0 when unknown
  int compression = 0;           // 0 = none, 1..9 = deflate level
  std::string source;            // provenance
};

// Like VcfStoreWriter: built under a temporary name, renamed into place by
// commit(); the same input gives the same bytes.
class PelvisStoreWriter {
 public:
  // Throws core::ConfigError on bad settings, core::IoError when the file
  // cannot be created.
  PelvisStoreWriter(std::string path, PelvisStoreSettings settings);
  ~PelvisStoreWriter();
  PelvisStoreWriter(const PelvisStoreWriter&) = delete;
  PelvisStoreWriter& operator=(const PelvisStoreWriter&) = delete;

  // One patient's image. Throws core::ConfigError when the view's size or warp
  // differs from the settings, a value is not finite, or a point lies outside
  // the image; `label` must be 1 exactly when the view has points.
  void add(const std::string& patient_id, int32_t label, const PelvisView& view);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fracsweep::datastore

namespace fracsweep::datastore {

// Image i of an open pelvis store as the view it was written from (pixels,
// flipped twin, landmarks, axis, points, warp). Throws core::ConfigError on a
// vertebra store or an index out of range.
PelvisView read_pelvis_view(const PatchStore& store, size_t i);

}  // namespace fracsweep::datastore
