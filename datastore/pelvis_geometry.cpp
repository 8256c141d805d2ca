// See pelvis_geometry.h.
#include "datastore/pelvis_geometry.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fracsweep::datastore {
namespace {

using core::ConfigError;

constexpr const char* kPairNames[kPelvisPairs] = {
    "obturator foramen, top",        "obturator foramen, bottom",
    "obturator foramen, lateral end", "obturator foramen, medial end",
    "pubic tubercle",                 "ischial tuberosity, lowest point",
    "superior pubic ramus, lateral end"};
constexpr const char* kLeftNames[kPelvisPairs] = {
    "left obturator foramen, top",        "left obturator foramen, bottom",
    "left obturator foramen, lateral end", "left obturator foramen, medial end",
    "left pubic tubercle",                 "left ischial tuberosity, lowest point",
    "left superior pubic ramus, lateral end"};
constexpr const char* kRightNames[kPelvisPairs] = {
    "right obturator foramen, top",        "right obturator foramen, bottom",
    "right obturator foramen, lateral end", "right obturator foramen, medial end",
    "right pubic tubercle",                 "right ischial tuberosity, lowest point",
    "right superior pubic ramus, lateral end"};

}  // namespace

const char* landmark_name(int k) {
  INTERNAL_ASSERT(k >= 0 && k < kPelvisLandmarks);
  static_assert(sizeof kPairNames / sizeof *kPairNames == kPelvisPairs);
  if (k < kPelvisPairs) return kLeftNames[k];
  if (k < 2 * kPelvisPairs) return kRightNames[k - kPelvisPairs];
  return k == 14 ? "pubic symphysis, top" : "pubic symphysis, bottom";
}

int landmark_partner(int k) {
  INTERNAL_ASSERT(k >= 0 && k < kPelvisLandmarks);
  if (k < kPelvisPairs) return k + kPelvisPairs;
  if (k < 2 * kPelvisPairs) return k - kPelvisPairs;
  return k;
}

Affine2 Affine2::inverse() const {
  const double det = m[0] * m[4] - m[1] * m[3];
  CHECK_OR_THROW(ConfigError, std::abs(det) > 1e-12, "affine map is singular (determinant ", det, ")");
  Affine2 r;
  r.m[0] = m[4] / det;
  r.m[1] = -m[1] / det;
  r.m[3] = -m[3] / det;
  r.m[4] = m[0] / det;
  r.m[2] = -(r.m[0] * m[2] + r.m[1] * m[5]);
  r.m[5] = -(r.m[3] * m[2] + r.m[4] * m[5]);
  return r;
}

Line2 symmetry_axis(const PelvisLandmarks& l) {
  for (int k = 0; k < kPelvisLandmarks; ++k)
    CHECK_OR_THROW(ConfigError, std::isfinite(l[k].x) && std::isfinite(l[k].y), "landmark ", k,
                   " (", landmark_name(k), ") is not finite");
  std::array<Point2, kPelvisPairs + 2> mid;
  Point2 across{0, 0};  // the mean left-to-right vector of the pairs
  for (int k = 0; k < kPelvisPairs; ++k) {
    const Point2 a = l[k], b = l[k + kPelvisPairs];
    mid[k] = {(a.x + b.x) / 2, (a.y + b.y) / 2};
    across.x += b.x - a.x;
    across.y += b.y - a.y;
  }
  mid[kPelvisPairs] = l[14];
  mid[kPelvisPairs + 1] = l[15];
  Point2 c{0, 0};
  for (const Point2& m : mid) c = {c.x + m.x / mid.size(), c.y + m.y / mid.size()};
  double sxx = 0, syy = 0, sxy = 0;
  for (const Point2& m : mid) {
    sxx += (m.x - c.x) * (m.x - c.x);
    syy += (m.y - c.y) * (m.y - c.y);
    sxy += (m.x - c.x) * (m.y - c.y);
  }
  Point2 d;
  if (sxx + syy > 1e-9) {
    const double angle = 0.5 * std::atan2(2 * sxy, sxx - syy);  // principal direction
    d = {std::cos(angle), std::sin(angle)};
  } else {
    // All midpoints coincide: the axis is perpendicular to the pairs.
    const double n = std::hypot(across.x, across.y);
    CHECK_OR_THROW(ConfigError, n > 1e-9, "the landmarks coincide; no symmetry axis");
    d = {-across.y / n, across.x / n};
  }
  if (d.y < 0) d = {-d.x, -d.y};  // point caudally, for a stable sign
  return {c, d};
}

Point2 reflect(Point2 p, const Line2& axis) {
  // p minus twice its component normal to the axis.
  const double nx = -axis.direction.y, ny = axis.direction.x;
  const double t = (p.x - axis.point.x) * nx + (p.y - axis.point.y) * ny;
  return {p.x - 2 * t * nx, p.y - 2 * t * ny};
}

RoiBox roi_box(std::span<const Point2> landmarks, int height, int width, double margin) {
  CHECK_OR_THROW(ConfigError, height > 0 && width > 0, "ROI size ", height, "x", width,
                 " must be positive");
  CHECK_OR_THROW(ConfigError, !landmarks.empty(), "a ROI needs landmarks");
  double x0 = landmarks[0].x, x1 = x0, y0 = landmarks[0].y, y1 = y0;
  for (const Point2& p : landmarks) {
    x0 = std::min(x0, p.x);
    x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  double w = (x1 - x0) * (1 + 2 * margin), h = (y1 - y0) * (1 + 2 * margin);
  CHECK_OR_THROW(ConfigError, w > 1 && h > 1, "the landmarks span ", x1 - x0, "x", y1 - y0,
                 " pixels, too small for a ROI");
  const double aspect = static_cast<double>(width) / height;
  if (w / h < aspect) w = h * aspect; else h = w / aspect;
  const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

Point2 to_roi(const RoiBox& box, int width, Point2 s) {
  const double scale = box.scale(width);
  return {(s.x - box.x0 + 0.5) / scale - 0.5, (s.y - box.y0 + 0.5) / scale - 0.5};
}

Point2 from_roi(const RoiBox& box, int width, Point2 r) {
  const double scale = box.scale(width);
  return {box.x0 + (r.x + 0.5) * scale - 0.5, box.y0 + (r.y + 0.5) * scale - 0.5};
}

std::vector<uint8_t> crop_roi(std::span<const uint8_t> src, int src_height, int src_width,
                              const RoiBox& box, int height, int width, const Line2* flip_about) {
  CHECK_OR_THROW(ConfigError, src.size() == static_cast<size_t>(src_height) * src_width,
                 "crop: the source has ", src.size(), " pixels, not ", src_height, "x", src_width);
  std::vector<uint8_t> out(static_cast<size_t>(height) * width);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      Point2 s = from_roi(box, width, {static_cast<double>(x), static_cast<double>(y)});
      if (flip_about) s = reflect(s, *flip_about);
      out[static_cast<size_t>(y) * width + x] = sample_bilinear(src, src_height, src_width, s.x, s.y);
    }
  }
  return out;
}

PelvisView make_pelvis_view(std::span<const uint8_t> src, int src_height, int src_width,
                            const PelvisLandmarks& landmarks, std::span<const Point2> points,
                            const PelvisViewOptions& o) {
  const int h = o.height, w = o.width;
  const Line2 axis = symmetry_axis(landmarks);
  PelvisLandmarks reflected;
  for (int k = 0; k < kPelvisLandmarks; ++k) reflected[k] = reflect(landmarks[k], axis);
  const RoiBox box = roi_box(landmarks, h, w, o.roi_margin);
  const RoiBox box_f = roi_box(reflected, h, w, o.roi_margin);

  PelvisView v;
  v.height = h;
  v.width = w;
  v.image = crop_roi(src, src_height, src_width, box, h, w);
  v.flipped = crop_roi(src, src_height, src_width, box_f, h, w, &axis);
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    v.landmarks[k] = to_roi(box, w, landmarks[k]);
    v.landmarks_flipped[k] = to_roi(box_f, w, reflected[landmark_partner(k)]);
  }
  v.axis = {to_roi(box, w, axis.point), axis.direction};
  for (const Point2& p : points) v.points.push_back(to_roi(box, w, p));
  const auto tps = ThinPlateSpline::fit(v.landmarks, v.landmarks_flipped);
  v.warp = sampling_grid(tps, h, w, o.warp_stride, h, w);
  // The flip is affine: read its coefficients off three points.
  const auto flip = [&](Point2 q) { return to_roi(box, w, reflect(from_roi(box_f, w, q), axis)); };
  const Point2 o0 = flip({0, 0}), ox = flip({1, 0}), oy = flip({0, 1});
  v.flip.m[0] = ox.x - o0.x;
  v.flip.m[1] = oy.x - o0.x;
  v.flip.m[2] = o0.x;
  v.flip.m[3] = ox.y - o0.y;
  v.flip.m[4] = oy.y - o0.y;
  v.flip.m[5] = o0.y;
  return v;
}

std::vector<uint8_t> point_mask(std::span<const Point2> points, int height, int width,
                                double radius) {
  CHECK_OR_THROW(ConfigError, height > 0 && width > 0, "mask size ", height, "x", width,
                 " must be positive");
  CHECK_OR_THROW(ConfigError, std::isfinite(radius) && radius >= 0, "mask radius ", radius,
                 " must be finite and >= 0");
  std::vector<uint8_t> mask(static_cast<size_t>(height) * width, 0);
  const double r2 = radius * radius;
  for (const Point2& p : points) {
    const int ya = std::max(0, static_cast<int>(std::ceil(p.y - radius)));
    const int yb = std::min(height - 1, static_cast<int>(std::floor(p.y + radius)));
    const int xa = std::max(0, static_cast<int>(std::ceil(p.x - radius)));
    const int xb = std::min(width - 1, static_cast<int>(std::floor(p.x + radius)));
    for (int y = ya; y <= yb; ++y)
      for (int x = xa; x <= xb; ++x)
        if ((x - p.x) * (x - p.x) + (y - p.y) * (y - p.y) <= r2)
          mask[static_cast<size_t>(y) * width + x] = 1;
  }
  return mask;
}

std::vector<Point2> flipped_points(const PelvisView& v) {
  const Affine2 to_flipped = v.flip.inverse();
  std::vector<Point2> out;
  for (const Point2& p : v.points) out.push_back(to_flipped(p));
  return out;
}

std::vector<uint8_t> contrast_mask(const PelvisView& v, double radius) {
  std::vector<uint8_t> mask = point_mask(v.points, v.height, v.width, radius);
  std::vector<uint8_t> flipped = point_mask(flipped_points(v), v.height, v.width, radius);
  for (uint8_t& x : flipped) x *= 255;
  const std::vector<uint8_t> carried = warp_image(flipped, v.warp, v.height, v.width);
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = mask[i] || carried[i] >= 128;
  return mask;
}

}  // namespace fracsweep::datastore
