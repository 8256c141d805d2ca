// The HDF5 patch store: one file per dataset, for both task families.
//
// Layout (schema version 1; see Note [Store layout] in patch_store.cpp):
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
// The pelvis task (AASN) adds /samples/points_begin int64 [N+1] and
// /points float32 [M, 2] (fracture points, x then y, in image pixels), and
// /landmarks float32 [N, L, 2]; its writer comes with the AASN models.
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

namespace fracsweep::datastore {

inline constexpr int kSchemaVersion = 1;
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
  size_t image_bytes() const;

  // Copies patch i into `out` (image_bytes() long): one positioned read of
  // its chunk, inflated here when compressed. Thread-safe.
  void read_image(size_t i, std::span<uint8_t> out) const;

  // The stored (possibly compressed) bytes of patch i, and whether they are
  // deflated; for readers that inflate elsewhere. Thread-safe.
  bool read_raw_chunk(size_t i, std::vector<uint8_t>& out) const;

 private:
  struct Impl;
  static void locate_chunks(Impl& s);
  explicit PatchStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Inflates one deflated chunk into `out`; throws core::IoError naming `where`
// when the bytes are corrupt or of the wrong size.
void inflate_chunk(std::span<const uint8_t> compressed, std::span<uint8_t> out,
                   const std::string& where);

}  // namespace fracsweep::datastore
