// A pelvis job's test heatmaps: what the localization metrics (the area FROC of
// AASN §4.1, recall at a false-positive area ratio) are recomputed from.
//
// heatmaps_test.h5 sits next to predictions_test.csv; image i belongs to the
// CSV's row i, so the file needs no ids of its own:
//   /heatmaps  (N, H, W) float32, one image per chunk, deflate
//   /points    (M, 3) int32: image index, x (column), y (row) of each fracture point
//   attributes on /: schema = 1, radius (double, pixels: the ambiguous extent,
//   2 cm in the paper, around every point)
#pragma once

#include <string>
#include <vector>

#include "metrics/froc.h"

namespace fracsweep::datastore {

inline constexpr int kHeatmapSchema = 1;

struct HeatmapSet {
  std::vector<metrics::HeatmapImage> images;  // all of one size
  double radius = 0;
};

// Writes atomically (a temporary file, then a rename). Throws core::ConfigError when
// the images differ in size or a heatmap's length is not height x width, core::IoError
// when the file cannot be written.
void write_heatmaps(const std::string& path, const HeatmapSet& set);

// Reads and validates: the schema, the shapes, every heatmap value finite, every point inside
// its image and naming an image that exists. Values are read as float32 (HDF5 converts a
// float64 dataset, rounding). Throws core::ConfigError naming the file and what is wrong,
// core::IoError when it cannot be read.
HeatmapSet read_heatmaps(const std::string& path);

// A lesion-mask file for the classic FROC, written by any HDF5 tool (h5py: 
// f["masks"] = labels):
//   /masks  integer (N, H, W): per image, 0 background and 1..L its lesions
// Returns one LesionImage per image, without detections. Throws
// core::ConfigError naming the file when the dataset is missing, not 3-D, not
// integer, or holds a negative label; core::IoError when it cannot be read.
std::vector<metrics::LesionImage> read_lesion_masks(const std::string& path);

}  // namespace fracsweep::datastore
