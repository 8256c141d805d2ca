// The HDF5 patch store: one file per dataset, for both task families.
//
// Layout (schema version 2; see Note [Store layout] in patch_store.cpp):
//   /                 attributes: format = "fracsweep-patches", schema_version,
//                     task ("vcf" | "pelvis"), source (provenance), compression,
//                     image_height, image_width, created_by
//   /images           uint8 [N, H, W], chunked one patch per chunk, optional deflate
//   /samples/label    int32 [N]   vcf: 0 normal, 1 benign VCF, 2 malignant VCF
//   /samples/patient  int32 [N]   index into /patients
//   /samples/slice    int32 [N]   vcf: sagittal slice
//   /samples/level    int32 [N]   vcf: vertebra level, cranial to caudal
//   /samples/prev     int32 [N]   vcf: sample index of the previous vertebra in the
//   /samples/next     int32 [N]        same slice and patient, -1 at the ends
//   /patients/id      fixed-length strings [P]
//   /patients/label   int32 [P]   patient-level label
//   /checksums/images uint32 [N]  CRC-32 of each image's pixels; every other dataset
//                     has a `crc32` attribute over its values (Note [Checksums] in
//                     h5_io.h). Version 1 stores have neither and are read unchecked.
// The pelvis task (AASN; one image per patient, label 0 no fracture, 1 fracture)
// has no slice/level/prev/next on file (in memory: 0, 0, -1, -1) and adds, all
// in pixels with pixel (i, j) centred at (x = j, y = i), see pelvis_store.h:
//   /flipped          uint8 [N, H, W]  I_f, the image flipped about its symmetry
//                     line, same chunking as /images
//   /warp             float32 [N, H/s, W/s, 2]  the I -> I_f sampling grid in
//                     grid_sample's normalised coordinates (tps.h), s = warp_stride
//   /landmarks        float32 [N, 16, 2]  in I (pelvis_geometry.h's order)
//   /landmarks_flipped float32 [N, 16, 2] in I_f
//   /axis             float32 [N, 4]  symmetry line in I: point x, y, unit direction
//   /flip             float64 [N, 6]  the affine map from I_f pixels to I pixels
//                     (pelvis_geometry.h's Affine2)
//   /samples/points_begin int64 [N+1]  image i's points are rows begin[i]..begin[i+1]-1
//   /points           float32 [M, 2]  fracture points, x then y, inside I
//   root attributes   warp_stride, mask_radius (pixels), pixel_spacing_mm (nominal)
//
// Opening validates everything and throws core::ConfigError with one message
// naming the file, the dataset and what is wrong; core::IoError when the file
// cannot be read at all. The writer and open() call into HDF5, which is not
// thread-safe: keep them on one thread at a time. Reads of an open store never
// enter HDF5 (see Note [Direct chunk reads]), so any number of threads may call
// read_image() and read_raw_chunk() on one store at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datastore/tps.h"

namespace fracsweep::datastore {

inline constexpr int kSchemaVersion = 2;
inline constexpr const char* kFormatName = "fracsweep-patches";

enum class Task { kVcf, kPelvis };
const char* task_name(Task task);

// Everything about the samples but their pixels; small enough to keep in memory.
struct SampleIndex {
  std::vector<int32_t> label, patient, slice, level, prev, next;
  std::vector<std::string> patient_ids;
  std::vector<int32_t> patient_label;

  size_t size() const { return label.size(); }
  size_t num_patients() const { return patient_ids.size(); }
};

// The pelvis task's annotations (see the layout above), validated on open.
struct PelvisIndex {
  int warp_rows = 0, warp_cols = 0, warp_stride = 0;
  double mask_radius = 0;       // pixels
  double pixel_spacing_mm = 0;  // nominal
  std::vector<float> landmarks;          // N * 16 * 2
  std::vector<float> landmarks_flipped;  // N * 16 * 2
  std::vector<float> axis;               // N * 4
  std::vector<double> flip;              // N * 6
  std::vector<int64_t> points_begin;     // N + 1
  std::vector<float> points;             // M * 2

  size_t num_points(size_t i) const {
    return static_cast<size_t>(points_begin[i + 1] - points_begin[i]);
  }
  Point2 point(size_t i, size_t k) const {
    const size_t r = static_cast<size_t>(points_begin[i]) + k;
    return {points[2 * r], points[2 * r + 1]};
  }
  Point2 landmark(size_t i, int k, bool flipped = false) const {
    const auto& v = flipped ? landmarks_flipped : landmarks;
    const size_t r = 2 * (i * 16 + static_cast<size_t>(k));
    return {v[r], v[r + 1]};
  }
};

struct StoreInfo {
  Task task = Task::kVcf;
  int schema_version = kSchemaVersion;
  std::string source;       // where the data came from, free text
  int compression = 0;      // 0 = none, 1..9 = deflate level
  int height = 0, width = 0;
  std::string created_by;
};

// One vertebra patch as the writer takes it. prev/next are indices into the
// same add_patient() call's span (-1 at the ends); the writer makes them global.
struct VcfPatchRecord {
  std::span<const uint8_t> pixels;  // height * width, row-major
  int32_t label = 0, slice = 0, level = 0, prev = -1, next = -1;
};

// Writes a vertebra store. The file is built under a temporary name and
// renamed into place by commit(), so a crash never leaves a half-written
// store under the final name. The same input gives the same bytes: HDF5's
// object timestamps are turned off.
class VcfStoreWriter {
 public:
  // compression: 0 = none, 1..9 = deflate level. Throws core::ConfigError on
  // bad sizes, core::IoError when the file cannot be created.
  VcfStoreWriter(std::string path, int height, int width, int compression, std::string source);
  ~VcfStoreWriter();  // without commit(), removes the temporary file
  VcfStoreWriter(const VcfStoreWriter&) = delete;
  VcfStoreWriter& operator=(const VcfStoreWriter&) = delete;

  void add_patient(const std::string& id, int32_t label, std::span<const VcfPatchRecord> patches);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A validated, open store.
class PatchStore {
 public:
  static PatchStore open(const std::string& path);
  PatchStore(PatchStore&&) noexcept;
  PatchStore& operator=(PatchStore&&) noexcept;
  ~PatchStore();

  const std::string& path() const;
  const StoreInfo& info() const;
  const SampleIndex& index() const;
  size_t size() const { return index().size(); }
  // The pelvis annotations; nullptr for a vertebra store.
  const PelvisIndex* pelvis() const;
  size_t image_bytes() const;

  // Copies patch i into `out` (image_bytes() long): one positioned read of
  // its chunk, inflated here when compressed. Thread-safe.
  void read_image(size_t i, std::span<uint8_t> out) const;

  // The stored (possibly compressed) bytes of patch i, and whether they are
  // deflated; for readers that inflate elsewhere. Thread-safe.
  bool read_raw_chunk(size_t i, std::vector<uint8_t>& out) const;

  // Pelvis stores: image i's I_f (image_bytes() long) and its I -> I_f grid.
  // Thread-safe; throw core::ConfigError on a vertebra store.
  void read_flipped(size_t i, std::span<uint8_t> out) const;
  SamplingGrid read_warp(size_t i) const;

  // Reads every item (images; a pelvis store's twins and warps too), each checked
  // against its checksum: throws as the readers above do at the first that fails.
  void read_every_item() const;

 private:
  struct Impl;
  explicit PatchStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Inflates one deflated chunk into `out`; throws core::IoError naming `where`
// when the bytes are corrupt or of the wrong size.
void inflate_chunk(std::span<const uint8_t> compressed, std::span<uint8_t> out,
                   const std::string& where);

}  // namespace fracsweep::datastore
