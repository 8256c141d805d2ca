// The anterior-pelvis geometry of AASN §3.2, from 16 landmarks to what the
// Siamese model consumes: the line of bilateral symmetry, the image flipped
// about it, the two ROIs (original I and flipped I_f), the thin-plate-spline
// warp from I_f to I, and the fracture mask. Used by the phantoms and by
// real-image ingest alike; pure functions, thread-safe.
//
// Landmarks, in this order: 7 bilateral pairs, image-left side k = 0..6 and its
// image-right partner k + 7, then the top and bottom of the pubic symphysis
// (14, 15). See landmark_name(). Pixel coordinates as in tps.h: pixel (i, j)
// is centred at (x = j, y = i).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "datastore/tps.h"

namespace fracsweep::datastore {

inline constexpr int kPelvisLandmarks = 16;
inline constexpr int kPelvisPairs = 7;
using PelvisLandmarks = std::array<Point2, kPelvisLandmarks>;

// "left obturator foramen, top", ..., "symphysis, bottom".
const char* landmark_name(int k);
// The bilateral partner of landmark k (k +/- 7); the symphysis points are their own.
int landmark_partner(int k);

// A line through `point` along the unit vector `direction`.
struct Line2 {
  Point2 point;
  Point2 direction{0, 1};
};

// The line of symmetry regressed from the landmarks (total least squares through
// the midpoints of the 7 pairs and the 2 symphysis points). Throws
// core::ConfigError when the landmarks are not finite or the points coincide.
Line2 symmetry_axis(const PelvisLandmarks& landmarks);
Point2 reflect(Point2 p, const Line2& axis);

// An axis-aligned rectangle of a source image (pixel coordinates of its outer
// edges) that a ROI of height x width pixels is resampled from, at one scale in
// both directions.
struct RoiBox {
  double x0 = 0, y0 = 0, x1 = 1, y1 = 1;
  double scale(int width) const { return (x1 - x0) / width; }  // source pixels per ROI pixel
};

// The bounding box of the landmarks grown by `margin` (a share of its size) on
// every side, then widened or heightened about its centre to height:width.
RoiBox roi_box(std::span<const Point2> landmarks, int height, int width, double margin);
Point2 to_roi(const RoiBox& box, int width, Point2 source);
Point2 from_roi(const RoiBox& box, int width, Point2 roi);

// Resamples `box` of an 8-bit source image (src_height x src_width) to height x
// width, bilinearly; outside the source is 0. With `flip_about`, the source is
// first reflected about that line: ROI pixel p shows source pixel
// reflect(from_roi(p)), which is how I_f is cut from the flipped image.
std::vector<uint8_t> crop_roi(std::span<const uint8_t> src, int src_height, int src_width,
                              const RoiBox& box, int height, int width,
                              const Line2* flip_about = nullptr);

// p -> (m0 x + m1 y + m2, m3 x + m4 y + m5).
struct Affine2 {
  double m[6] = {1, 0, 0, 0, 1, 0};
  Point2 operator()(Point2 p) const {
    return {m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5]};
  }
  Affine2 inverse() const;  // Throws core::ConfigError when singular.
};

// One image prepared for the Siamese model.
struct PelvisView {
  int height = 0, width = 0;
  std::vector<uint8_t> image, flipped;  // I and I_f, height x width each
  PelvisLandmarks landmarks{};          // in I
  PelvisLandmarks landmarks_flipped{};  // in I_f: landmark k of the flipped image
  Line2 axis;                           // the symmetry line, in I
  std::vector<Point2> points;           // fracture points, in I
  SamplingGrid warp;                    // I -> I_f sampling grid (see make_pelvis_view)
  // I_f pixel -> the I pixel that shows the same source point (the flip, a
  // reflection with the two ROIs' scales and offsets).
  Affine2 flip;
};

struct PelvisViewOptions {
  int height = 256, width = 512;
  double roi_margin = 0.06;  // share of the landmarks' bounding box added on each side
  int warp_stride = 8;       // grid cells of warp_stride x warp_stride pixels
};

// AASN's preprocessing of one source image (src_height x src_width, 8-bit)
// with its landmarks and fracture points, all in source pixels:
//   1. the symmetry axis from the landmarks; the image flipped about it;
//   2. I = roi_box of the landmarks, I_f = roi_box of the reflected landmarks
//      in the flipped image; landmark k of I_f is the reflection of landmark
//      partner(k) (flipping swaps sides);
//   3. the thin-plate spline from I's landmarks to I_f's, as the grid that
//      makes grid_sample(I_f features, warp) line up with I: anatomy at p in I
//      meets its mirrored counterpart.
// Throws core::ConfigError on bad sizes or degenerate landmarks.
PelvisView make_pelvis_view(std::span<const uint8_t> src, int src_height, int src_width,
                            const PelvisLandmarks& landmarks, std::span<const Point2> points,
                            const PelvisViewOptions& options);

// The training target M: 1 within `radius` pixels of any point, else 0.
std::vector<uint8_t> point_mask(std::span<const Point2> points, int height, int width,
                                double radius);

// The fracture points of I_f (the flip of I's points).
std::vector<Point2> flipped_points(const PelvisView& view);

// AASN's M-hat = M ∪ T∘M_f (eq. 2): the mask of I's points, united with the
// flipped image's mask carried onto I by the warp, so that a fracture marks
// both its own place and the place of its mirrored counterpart.
std::vector<uint8_t> contrast_mask(const PelvisView& view, double radius);

}  // namespace fracsweep::datastore
