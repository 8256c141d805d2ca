// `fracsweep ingest pelvis`: pelvic radiographs with landmarks and fracture
// points into a pelvis patch store, as AASN §3.1 and §4.1 prepare their data,
// through the same make_pelvis_view() that `synth pelvis` uses (one code path
// for the symmetry line, the flipped image and the thin-plate-spline warp).
//
// The manifest (CSV, one row per patient; paths relative to the manifest):
//   patient    the patient's id (unique)
//   image      a DICOM file (one frame) or a PNG, grey levels
//   landmarks  the 16 landmarks as 32 numbers "x y x y ...", separated by blanks
//              or ';', in pelvis_geometry.h's order (7 image-left points, their 7
//              image-right partners, the top and bottom of the symphysis)
//   points     the fracture points, "x y; x y", empty for none
//   label      optional: 0 or 1, checked against the points
// Coordinates are source pixels, pixel (x, y) centred at (x, y). MONOCHROME1
// images are inverted, intensities normalised per image (intensity.h). The
// model stacks the single grey channel to three; the store keeps one.
#pragma once

#include <string>

#include "datastore/ingest/ingest_vcf.h"

namespace fracsweep::datastore::ingest {

struct PelvisIngestOptions {
  int height = 256, width = 512;  // the ROI, multiples of 32
  int warp_stride = 8;
  double roi_margin = 0.06;       // share of the landmarks' box added on each side
  double mask_radius_px = 51.2;   // the training mask's radius in ROI pixels
  IntensityOptions intensity;
  int compression = 4;
  int threads = 1;
  bool skip_bad = false;
};

// Like ingest_vcf(): errors name the patient, the file and what to do; nothing
// is left at `out` unless the whole store was written; the same inputs give
// the same bytes.
IngestSummary ingest_pelvis(const std::string& manifest, const std::string& out,
                            const PelvisIngestOptions& options,
                            const IngestProgress& progress = {});

}  // namespace fracsweep::datastore::ingest
