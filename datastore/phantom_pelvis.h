// Synthetic anterior-pelvis radiographs standing in for AASN's private data
// (2,359 trauma PXRs, 759 with fractures; paper §4).
//
// Each image is one patient. The bone is bilaterally symmetric by construction:
// pubic bodies meeting at the symphysis, superior and inferior pubic rami
// around the obturator foramina, the ischia below, the femoral heads at the
// upper corners, with a cortical rim and trabecular texture. On top of that
// comes asymmetry that is *not* pathological: pose (in-plane rotation, shift,
// scale, and a pelvic rotation that foreshortens one side), soft-tissue
// shadows, bowel gas and foreign bodies. Each patient also carries 0-2
// normal variants (vascular channels: thin dark lines across a ramus) at the
// same place on both sides. A fracture is a one-sided cortical break across a
// ramus, the pubic body or the ischium: a thin dark line, at low difficulty
// with a displaced fragment and a wide gap, at high difficulty hardly more
// than a vascular channel. So one side alone is ambiguous and the comparison
// with the mirrored side is not: the property AASN relies on. See Note
// [Pelvis phantom] in phantom_pelvis.cpp.
//
// An image is rendered on a canvas of physical units (mm), landmarks are
// "detected" with a small error, and then it goes through the same
// make_pelvis_view() that real images go through. Everything is derived from
// (seed, image index) through core::Rng: pure functions, thread-safe, the same
// bytes for the same options on the same build.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datastore/pelvis_geometry.h"

namespace fracsweep::datastore {

struct PelvisPhantomOptions {
  int images = 2359;     // one per patient
  int fractured = 759;   // images with at least one fracture
  int height = 256;      // ROI size, multiples of 32 (the network's stride)
  int width = 512;
  double difficulty = 0.5;  // 0 obvious .. 1 subtle
  uint64_t seed = 0;
  int warp_stride = 8;      // cell size of the stored warp grid, divides 32
  // The training mask's radius (AASN: 2 cm, 50 px on their images). The ROI
  // spans about 200 mm, so at 512 px this is about 51 px.
  double mask_radius_mm = 20;
  // The error of the landmark detector, per coordinate (sd, mm): the landmarks
  // stored, and the warp fitted to them, are the true ones plus this. Between
  // landmarks the warp carries it along: at 0.8 mm the warped twin's outlines
  // sit about 2 px (at 0.78 mm per px) from the image's (FIDELITY.md).
  double landmark_error_mm = 0.8;
};

// The nominal physical width of the ROI in mm (the landmarks' extent with its
// margin, at scale 1); pose varies the true width by about +/-10 %.
inline constexpr double kPelvisRoiWidthMm = 200;

// Throws core::ConfigError naming the option when images < 1, fractured is
// outside 0..images, height or width is not a positive multiple of 32 (at most
// 4096), the aspect is outside 1:4..4:1, difficulty is outside [0, 1],
// warp_stride does not divide 32, the mask radius is outside (0, 100] mm, or
// the landmark error is outside [0, 20] mm.
void validate(const PelvisPhantomOptions& options);

// The mask radius in ROI pixels.
double mask_radius_px(const PelvisPhantomOptions& options);

// Which images are fractured: exactly options.fractured of them, chosen by the
// seed. One entry per image, 0 or 1.
std::vector<int32_t> pelvis_labels(const PelvisPhantomOptions& options);

struct PelvisPhantom {
  std::string id;     // "X0000", ... (the image index, 4 digits or more)
  int32_t label = 0;  // 1 when points is not empty
  PelvisView view;
  // The centres of the normal variants (vascular channels, on both sides) in I: the
  // lines a fracture can be mistaken for, for probes and tests; not in any store.
  std::vector<Point2> variants;
};

// Image `index` (0-based) with the label pelvis_labels() gives it.
PelvisPhantom synth_pelvis_image(const PelvisPhantomOptions& options, int index, int32_t label);

}  // namespace fracsweep::datastore
