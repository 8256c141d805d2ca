// A PNG contact sheet of phantom vertebra patches, to eyeball what a model sees.
//
// One row per class (normal, benign VCF, malignant VCF). Each example is a strip
// of the previous, current and next vertebra of the same slice, as TSCCN's
// compare network receives them, so a fracture shows as a body lower than its
// neighbours. Downscaled to at most 96 pixels per patch to keep the file small.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "datastore/tps.h"

#include "datastore/phantom_vcf.h"

namespace fracsweep::datastore {

// Writes the sheet to `path` (atomically, see write_png_gray). Examples are
// picked deterministically from the middle slice (slices / 2) of each patient,
// vertebrae with both neighbours first: patients are visited in order, taking at
// most one example per patient per pass, so a row shows as many patients as
// possible before repeating one, at varied levels. A class with fewer than
// `per_class` examples leaves blank space; a missing neighbour is a dark tile.
// The left margin shows the class number; a white bar marks the current patch.
// Throws core::ConfigError when `patients` is empty, per_class < 1, patches
// differ in size or are not square, or prev/next point outside the patient's
// patches; core::IoError when encoding or writing fails.
void write_vcf_contact_sheet(const std::string& path, std::span<const PhantomPatient> patients,
                             int per_class = 8);

}  // namespace fracsweep::datastore

namespace fracsweep::datastore {

struct PelvisView;

// One example of the pelvis contact sheet.
struct PelvisPreviewItem {
  std::string id;
  const PelvisView* view = nullptr;
};

// A PNG contact sheet of pelvis images, one row per image, four panels each:
//   1. I with its landmarks (left side red, right side blue, symphysis green),
//      the symmetry axis (yellow) and the fracture points (magenta circles of
//      the mask radius);
//   2. the twin: I_f warped onto I by the stored grid, with I's landmarks,
//      which should sit on the same anatomy;
//   3. I with the training mask tinted red;
//   4. |I - twin|, brightened: what differs between the two sides.
// The sheet is downscaled to at most 1600 pixels wide. Throws
// core::ConfigError when `items` is empty or sizes differ, core::IoError when
// writing fails.
void write_pelvis_contact_sheet(const std::string& path, std::span<const PelvisPreviewItem> items,
                                double mask_radius);

// One test image with a model's heatmap, for write_heatmap_overlays.
struct HeatmapOverlayItem {
  std::string id;
  std::span<const uint8_t> image;  // height x width
  std::span<const float> heatmap;  // height x width, probabilities in [0, 1]
  std::vector<Point2> points;      // annotated fracture points
};

// A PNG of images beside their heatmaps: per row the image with its points
// (magenta circles of `radius`), and the image tinted red by the heatmap.
// Throws core::ConfigError when `items` is empty or sizes disagree.
void write_heatmap_overlays(const std::string& path, std::span<const HeatmapOverlayItem> items,
                            int height, int width, double radius);

}  // namespace fracsweep::datastore
