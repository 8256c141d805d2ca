// Medical images read in physical space, through ITK (and GDCM for DICOM): a
// volume turned onto the sagittal grid, and a 2-D radiograph. The only part of
// ingest that includes ITK, so its heavy templates compile in one place.
//
// Note [Sagittal grid]
// Volumes are turned (axes permuted and flipped, never resampled) so that index
// i runs anterior to posterior, j head to feet and k the patient's right to left:
// slice k is a sagittal image shown as a radiologist reads it, face to the left.
// An oblique acquisition keeps its obliquity (the closest such permutation).
// Intensities are floats after the file's rescale slope and intercept.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fracsweep::datastore::ingest {

// Where voxel (i, j, k) lies: physical = origin + direction * (spacing .* index),
// in DICOM's patient coordinates (millimetres, x to the left, y to the back,
// z to the head). direction is row-major 3x3, its columns the axes.
struct Geometry {
  std::array<int, 3> size{};
  std::array<double, 3> spacing{1, 1, 1}, origin{};
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};

  std::array<double, 3> to_physical(const std::array<double, 3>& index) const;
  std::array<double, 3> to_index(const std::array<double, 3>& physical) const;
};

// A volume on the sagittal grid (Note [Sagittal grid]).
class SagittalVolume {
 public:
  // `path` is a folder of one DICOM series (or several: `series_uid` picks one,
  // and is required then), a DICOM file (ITK reads a multi-frame one as a volume), or a
  // NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd) file.
  // Throws core::ConfigError naming the path and what is wrong: no image, mixed
  // series without a choice, an unknown series, a series whose slices do not
  // make one volume (a duplicated, missing or tilted slice, one instance number
  // in two files, uneven spacing: Note [Slice order] in medical_image.cpp), a
  // 2-D image. core::IoError when a file cannot be read at all.
  static SagittalVolume read(const std::string& path, const std::string& series_uid = "");

  // A label map (integer values; 0 is background) read like read() and carried
  // onto `grid`'s voxels by nearest neighbour in physical space. Voxels of the
  // grid outside the label map are 0.
  static SagittalVolume read_labels(const std::string& path, const SagittalVolume& grid);

  SagittalVolume(SagittalVolume&&) noexcept;
  SagittalVolume& operator=(SagittalVolume&&) noexcept;
  ~SagittalVolume();

  const Geometry& geometry() const;   // of the sagittal grid
  const Geometry& file_geometry() const;  // of the image as stored
  // What was read, for provenance: "DICOM series <uid> (<n> files)", "NIfTI", ...
  const std::string& description() const;
  // Voxels, i fastest, then j, then k.
  std::span<const float> voxels() const;
  float at(int i, int j, int k) const;

  // A size x size patch of slice k centred at (ci, cj) (continuous indices of
  // the sagittal grid) and side_mm wide, rows head to feet, columns anterior to
  // posterior, by linear interpolation in physical space (ITK's resampler).
  // Outside the volume is 0.
  std::vector<float> patch(double ci, double cj, int k, double side_mm, int size) const;

 private:
  struct Impl;
  explicit SagittalVolume(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A 2-D radiograph: height x width floats, rows top to bottom.
struct Radiograph {
  int height = 0, width = 0;
  std::vector<float> pixels;
  // Millimetres per pixel (column, row); 0 when the file does not say (PNG).
  double spacing_x = 0, spacing_y = 0;
  // The file was MONOCHROME1 (bright = low values) and was inverted (some
  // constant minus the value), so bone is bright as in MONOCHROME2.
  bool inverted = false;
  std::string description;  // "DICOM CR, 12-bit", "PNG"
};

// Reads a DICOM file (a single frame) or a PNG. Throws core::ConfigError for a
// volume, a colour image or an unknown format, naming the path.
Radiograph read_radiograph(const std::string& path);

// ITK and GDCM print warnings of their own on stderr (a missing optional tag,
// MONOCHROME1 converted, uneven slices, which read() refuses with a clearer
// message). This turns them off for the process; a command calls it once.
void quiet_library_warnings();

// Writers for tests and tools: `volume` on `geometry` (any direction) as one
// NIfTI file, or as a DICOM series of 16-bit slices (one file per k, in
// `folder`) with the given series UID. Values are rounded to integers for DICOM.
// Slice k gets the instance number first_instance + k and the SOP Instance UID
// <instance_uid_root>.<its instance number> (the root defaults to the series UID),
// so that tests can add files to a series.
void write_nifti(const std::string& path, const Geometry& geometry, std::span<const float> volume);
void write_dicom_series(const std::string& folder, const Geometry& geometry,
                        std::span<const float> volume, const std::string& series_uid,
                        int first_instance = 1, const std::string& instance_uid_root = "");

}  // namespace fracsweep::datastore::ingest
