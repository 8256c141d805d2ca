// See phantom_pelvis.h.
//
// Note [Pelvis phantom]
// Three frames, all in millimetres with y pointing down:
//   side frame     one hemipelvis, x lateral from the midline (x >= 0). Both
//                  sides share one anatomy (drawn once per patient), so they
//                  are mirror images of each other here;
//   patient frame  x to the image's right, origin at the symphysis; side s
//                  (sign -1 image-left, +1 image-right) maps its side frame in
//                  by its own scale (the pelvic rotation that foreshortens one
//                  side) and a small rotation about the symphysis;
//   image frame    the patient frame rotated, scaled and shifted (the pose).
// A pixel is rendered by mapping its centre back to each side frame near it and
// evaluating the bone there (signed distances to ellipses, capsules and a
// rounded box, blended by a polynomial smooth minimum), then adding what lies
// in the image frame: soft tissue, shadows, bowel gas, foreign bodies, noise.
// Breaks (vascular channels on both sides, fractures on one) live in the side
// frame, so a channel sits at the same anatomical place on both sides, and a
// fracture's displaced fragment moves the bone's distance field itself.
//
// Determinism: one core::Rng stream per image and purpose, draws in a fixed
// order; per pixel only +, -, *, / and sqrt (correctly rounded), so the same
// build gives the same bytes on any machine and with any thread count.
#include "datastore/phantom_pelvis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/seed.h"
#include "datastore/phantom_noise.h"

namespace fracsweep::datastore {
namespace {

using core::ConfigError;
using phantom::clamp01;
using phantom::gaussian;
using phantom::Lattice;
using phantom::lerp;
using phantom::smooth01;

double uniform(core::Rng& rng, double a, double b) { return a + (b - a) * rng.uniform01(); }
double bump(double t) {  // (1 - t^2)^2 on |t| < 1: a smooth, cheap bell
  const double u = 1 - t * t;
  return u > 0 ? u * u : 0;
}
double smin(double a, double b, double k) {  // polynomial smooth minimum
  const double h = clamp01(0.5 + 0.5 * (b - a) / k);
  return lerp(b, a, h) - k * h * (1 - h);
}

struct Ellipse {
  double cx = 0, cy = 0, a = 1, b = 1, c = 1, s = 0;  // centre, semi-axes, cos/sin of tilt
  Point2 at(double cos_t, double sin_t) const {  // the point at parameter t
    const double u = a * cos_t, v = b * sin_t;
    return {cx + u * c - v * s, cy + u * s + v * c};
  }
  double sdf(double x, double y) const {  // approximate; exact along the minor axis
    const double dx = x - cx, dy = y - cy;
    const double u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
    return (std::sqrt(u * u + v * v) - 1) * std::min(a, b);
  }
};

struct Capsule {
  Point2 p, q;
  double r = 1;
  double sdf(double x, double y) const {
    const double vx = q.x - p.x, vy = q.y - p.y, wx = x - p.x, wy = y - p.y;
    const double t = std::clamp((wx * vx + wy * vy) / (vx * vx + vy * vy), 0.0, 1.0);
    const double dx = wx - t * vx, dy = wy - t * vy;
    return std::sqrt(dx * dx + dy * dy) - r;
  }
};

// A thin dark line across the bone (a vascular channel or a fracture), and for
// fractures the fragment beyond it shifted along it.
struct Break {
  Point2 q;                   // centre, on the bone
  Point2 n;                   // unit direction of the line
  double half_length = 10;    // extent along the line
  double inv_width = 2;       // 1 / half-width of the dark line
  double contrast = 0.4;      // darkening at the centre line, 0..1
  double shift = 0;           // fragment displacement along n (mm)
  double inv_reach = 1 / 12.0;  // 1 / radius of the displaced region
};

// One hemipelvis in its side frame.
struct Hemipelvis {
  Ellipse foramen, outer;
  double body_cx = 16, body_cy = 7, body_hx = 13, body_hy = 15, body_round = 8;
  Capsule superior, ischium;
  Ellipse head;  // femoral head (a circle)
  double trabecular = 0.25, cortex = 0.22, cortex_mm = 1.4;
  std::vector<Break> breaks;

  double bone_sdf(double x, double y) const {
    const double ring = std::max(outer.sdf(x, y), -foramen.sdf(x, y));
    const double bx = std::abs(x - body_cx) - body_hx + body_round;
    const double by = std::abs(y - body_cy) - body_hy + body_round;
    const double ox = std::max(bx, 0.0), oy = std::max(by, 0.0);
    const double body = std::sqrt(ox * ox + oy * oy) + std::min(std::max(bx, by), 0.0) - body_round;
    double d = smin(ring, body, 3);
    d = smin(d, superior.sdf(x, y), 3);
    return smin(d, ischium.sdf(x, y), 4);
  }
  // Density of this side's bone at (x, y); `px` is the pixel size in mm, `tex` the
  // trabecular texture in [0, 1].
  double density(double x, double y, double px, double tex) const {
    double sx = x, sy = y;
    for (const Break& b : breaks) {
      if (b.shift == 0) continue;
      const double rx = x - b.q.x, ry = y - b.q.y;
      const double reach = 1 - smooth01(std::sqrt(rx * rx + ry * ry) * b.inv_reach * 2 - 1);
      const double across = -rx * b.n.y + ry * b.n.x;  // signed distance to the line
      const double beyond = smooth01(across * b.inv_width * 0.5 + 0.5);
      sx -= b.shift * b.n.x * beyond * reach;
      sy -= b.shift * b.n.y * beyond * reach;
    }
    const double d = bone_sdf(sx, sy);
    double v = 0;
    if (d < px) {
      const double cover = smooth01(0.5 - d / px);
      v = cover * (trabecular * (0.75 + 0.5 * tex)) + cortex * bump((d + cortex_mm) / cortex_mm);
      for (const Break& b : breaks) {
        const double rx = x - b.q.x, ry = y - b.q.y;
        const double along = rx * b.n.x + ry * b.n.y;
        const double across = -rx * b.n.y + ry * b.n.x;
        if (std::abs(along) > b.half_length) continue;
        v *= 1 - b.contrast * bump(across * b.inv_width);
      }
    }
    const double h = head.sdf(x, y);
    if (h < px) v += smooth01(0.5 - h / px) * 0.55 * trabecular * (0.8 + 0.4 * tex) +
                     0.7 * cortex * bump((h + cortex_mm) / cortex_mm);
    return v;
  }
};

// The side frame of side s in the patient frame.
struct SideMap {
  double sign = 1, kx = 1, ky = 1, c = 1, s = 0;  // mirror, scales, rotation about the origin
  Point2 to_patient(Point2 q) const {
    const double x = sign * q.x * kx, y = q.y * ky;
    return {x * c - y * s, x * s + y * c};
  }
  Point2 to_side(Point2 p) const {
    const double x = p.x * c + p.y * s, y = -p.x * s + p.y * c;
    return {sign * x / kx, y / ky};
  }
};

struct Pose {  // patient frame -> image frame
  double c = 1, s = 0, scale = 1, tx = 0, ty = 0;
  Point2 to_image(Point2 p) const {
    return {scale * (p.x * c - p.y * s) + tx, scale * (p.x * s + p.y * c) + ty};
  }
  Point2 to_patient(Point2 q) const {
    const double x = (q.x - tx) / scale, y = (q.y - ty) / scale;
    return {x * c + y * s, -x * s + y * c};
  }
};

struct Blob {  // an ellipse with a soft edge, in the image frame
  Point2 c;
  double inv_rx = 0.1, inv_ry = 0.1, strength = 0, edge = 0.3;
  double at(double x, double y) const {
    const double u = (x - c.x) * inv_rx, v = (y - c.y) * inv_ry;
    const double r2 = u * u + v * v;
    return r2 >= 1 ? 0 : strength * smooth01((1 - std::sqrt(r2)) / edge);
  }
};

struct Scene {
  Hemipelvis bone;        // the shared anatomy; each side adds its own breaks
  Hemipelvis side[2];     // 0 image-left, 1 image-right
  SideMap map[2];
  Pose pose;
  Lattice texture, soft;  // image frame
  std::vector<Blob> blobs;  // shadows, gas (negative), foreign bodies (positive)
  std::vector<Capsule> wires;  // catheters and leads
  double noise = 0.02, gain = 1.6, offset = 0.02;
  std::vector<std::pair<int, Point2>> fractures;  // side, point in the side frame
  std::vector<Point2> channels;  // in the side frame, on both sides
};

// ---------------------------------------------------------------- sampling

Hemipelvis sample_hemipelvis(core::Rng& rng) {
  Hemipelvis h;
  const double size = uniform(rng, 0.92, 1.08);
  const double tilt = uniform(rng, 0.30, 0.55);  // radians, long axis down-laterally
  h.foramen = {48 * size, 12 * size, uniform(rng, 22, 27) * size, uniform(rng, 14, 18) * size,
               std::cos(tilt), std::sin(tilt)};
  const double thick = uniform(rng, 7, 10) * size;
  h.outer = h.foramen;
  h.outer.a += thick;
  h.outer.b += thick;
  h.body_cx = 15 * size;
  h.body_hx = 13 * size;
  h.body_cy = 7 * size;
  h.body_hy = uniform(rng, 14, 17) * size;
  h.superior = {{36 * size, -5 * size}, {86 * size, -24 * size}, uniform(rng, 6, 8) * size};
  h.ischium = {{66 * size, 22 * size}, {76 * size, 46 * size}, uniform(rng, 9, 12) * size};
  const double head_r = uniform(rng, 22, 26) * size;
  h.head = {104 * size, -44 * size, head_r, head_r, 1, 0};
  h.trabecular = uniform(rng, 0.16, 0.21);
  h.cortex = uniform(rng, 0.22, 0.30);
  h.cortex_mm = uniform(rng, 1.1, 1.8);
  return h;
}

// A site on the bone for a break: on the ring around the foramen (rami and
// pubic body), the superior ramus or the ischium; the line crosses the bone.
Break sample_site(const Hemipelvis& h, core::Rng& rng) {
  Break b;
  const double which = rng.uniform01();
  if (which < 0.7) {
    const double deg = uniform(rng, 70, 300);
    const double t = deg * 3.14159265358979323846 / 180;
    const double ct = std::cos(t), st = std::sin(t);
    Ellipse mid = h.foramen;
    const double thick = h.outer.a - h.foramen.a;
    mid.a += thick / 2;
    mid.b += thick / 2;
    b.q = mid.at(ct, st);
    const double gx = ct / mid.a, gy = st / mid.b;  // normal in the ellipse's own axes
    const double n = std::sqrt(gx * gx + gy * gy);
    b.n = {(gx * mid.c - gy * mid.s) / n, (gx * mid.s + gy * mid.c) / n};
    b.half_length = thick / 2 + 2;
  } else {
    const Capsule& c = which < 0.9 ? h.superior : h.ischium;
    const double u = which < 0.9 ? uniform(rng, 0.15, 0.7) : uniform(rng, 0.2, 0.6);
    b.q = {lerp(c.p.x, c.q.x, u), lerp(c.p.y, c.q.y, u)};
    const double vx = c.q.x - c.p.x, vy = c.q.y - c.p.y, n = std::sqrt(vx * vx + vy * vy);
    b.n = {-vy / n, vx / n};
    b.half_length = c.r + 2;
  }
  const double wobble = uniform(rng, -0.35, 0.35);  // not exactly across
  b.n = {b.n.x - wobble * b.n.y, b.n.y + wobble * b.n.x};
  const double n = std::sqrt(b.n.x * b.n.x + b.n.y * b.n.y);
  b.n = {b.n.x / n, b.n.y / n};
  return b;
}

Break vascular_channel(const Hemipelvis& h, core::Rng& rng) {
  Break b = sample_site(h, rng);
  b.inv_width = 1 / uniform(rng, 0.3, 0.6);
  b.contrast = uniform(rng, 0.2, 0.45);
  return b;
}

Break fracture(const Hemipelvis& h, core::Rng& rng, double d) {
  Break b = sample_site(h, rng);
  b.inv_width = 1 / (lerp(1.0, 0.35, d) * uniform(rng, 0.8, 1.25));
  b.contrast = std::min(0.9, lerp(0.75, 0.3, d) * uniform(rng, 0.8, 1.25));
  if (rng.uniform01() < lerp(0.9, 0.4, d)) {
    const double size = uniform(rng, 0.5, 1.0);  // two statements: the draws' order is fixed
    b.shift = lerp(2.8, 0.4, d) * size * (rng.uniform01() < 0.5 ? -1 : 1);
  }
  b.inv_reach = 1 / uniform(rng, 8, 14);
  return b;
}

// The draws of a blob, taken in order: a braced list evaluates left to right,
// unlike a function's arguments, so the phantom does not depend on the compiler.
struct BlobDraw {
  Point2 c;
  double rx, ry, strength, edge;
};
Blob blob(const BlobDraw& d) { return {d.c, 1 / d.rx, 1 / d.ry, d.strength, d.edge}; }

Scene sample_scene(core::Rng& rng, core::Rng& fractures, double d, int32_t label) {
  Scene sc;
  sc.bone = sample_hemipelvis(rng);
  // Pose: in-plane rotation, scale and shift; pelvic rotation foreshortens one side.
  const double amp = lerp(0.6, 1.0, d);
  const double angle = uniform(rng, -0.10, 0.10) * amp;
  sc.pose = {std::cos(angle), std::sin(angle), uniform(rng, 0.92, 1.08), uniform(rng, -6, 6) * amp,
             uniform(rng, -5, 5) * amp};
  const double turn = uniform(rng, -0.08, 0.08) * amp;
  for (int s = 0; s < 2; ++s) {
    const double tilt = uniform(rng, -0.03, 0.03) * amp;
    sc.map[s] = {s == 0 ? -1.0 : 1.0, (1 + (s == 0 ? -turn : turn)) * uniform(rng, 0.98, 1.02),
                 uniform(rng, 0.97, 1.03), std::cos(tilt), std::sin(tilt)};
  }
  // Normal variants at the same anatomical place on both sides.
  const double channels = rng.uniform01();
  const int n_channels = channels < 0.35 ? 0 : (channels < 0.8 ? 1 : 2);
  for (int s = 0; s < 2; ++s) sc.side[s] = sc.bone;
  for (int k = 0; k < n_channels; ++k) {
    const Break b = vascular_channel(sc.bone, rng);
    for (auto& side : sc.side) side.breaks.push_back(b);
    sc.channels.push_back(b.q);
  }
  if (label == 1) {
    const double many = fractures.uniform01();
    const int n = many < 0.75 ? 1 : (many < 0.95 ? 2 : 3);
    int side = fractures.uniform01() < 0.5 ? 0 : 1;
    for (int k = 0; k < n; ++k) {
      if (k > 0 && fractures.uniform01() < 0.3) side = 1 - side;  // bilateral now and then
      const Break b = fracture(sc.bone, fractures, d);
      sc.side[side].breaks.push_back(b);
      sc.fractures.emplace_back(side, b.q);
    }
  }
  sc.texture = Lattice(-130, -90, 1.3, 260, 180);
  sc.texture.fill(rng, 0);
  sc.texture.fill(rng, 1);
  sc.soft = Lattice(-130, -90, 22, 260, 180);
  sc.soft.fill(rng, 0);
  sc.soft.fill(rng, 1);
  // Soft-tissue shadows (skin folds, the other thigh's soft tissue), one-sided.
  const int shadows = static_cast<int>(rng.uniform_below(3));
  for (int k = 0; k < shadows; ++k)
    sc.blobs.push_back(blob({{uniform(rng, -110, 110), uniform(rng, -50, 60)},
                             uniform(rng, 25, 70), uniform(rng, 20, 50),
                             uniform(rng, -0.06, 0.06), 0.5}));
  // Bowel gas: clusters of dark bubbles, mostly over the upper half.
  const int gas = static_cast<int>(rng.uniform_below(4));
  for (int k = 0; k < gas; ++k) {
    const Point2 c{uniform(rng, -100, 100), uniform(rng, -55, 25)};
    const int bubbles = 2 + static_cast<int>(rng.uniform_below(5));
    for (int j = 0; j < bubbles; ++j) {
      const double r = uniform(rng, 3, 10);
      sc.blobs.push_back(blob({{c.x + uniform(rng, -12, 12), c.y + uniform(rng, -8, 8)}, r,
                               r * uniform(rng, 0.7, 1.0), -uniform(rng, 0.05, 0.11), 0.4}));
    }
  }
  // Foreign bodies: snaps and buttons, now and then a catheter.
  if (rng.uniform01() < 0.3) {
    const int items = 1 + static_cast<int>(rng.uniform_below(3));
    for (int k = 0; k < items; ++k)
      sc.blobs.push_back(blob({{uniform(rng, -100, 100), uniform(rng, -50, 50)},
                               uniform(rng, 2, 5), uniform(rng, 2, 5), 0.7, 0.15}));
  }
  if (rng.uniform01() < 0.12) {
    Point2 p{uniform(rng, -110, 110), -70};
    for (int k = 0; k < 6; ++k) {
      const Point2 q{p.x + uniform(rng, -15, 15), p.y + 25};
      sc.wires.push_back({p, q, uniform(rng, 0.6, 1.2)});
      p = q;
    }
  }
  sc.noise = lerp(0.010, 0.028, d) * uniform(rng, 0.8, 1.2);
  sc.gain = uniform(rng, 1.45, 1.75);
  sc.offset = uniform(rng, 0.0, 0.05);
  return sc;
}

// ---------------------------------------------------------------- landmarks

PelvisLandmarks landmarks_mm(const Scene& sc) {
  PelvisLandmarks l;
  for (int s = 0; s < 2; ++s) {
    const Hemipelvis& h = sc.bone;
    const Point2 side_points[kPelvisPairs] = {
        h.foramen.at(0, -1), h.foramen.at(0, 1), h.foramen.at(1, 0), h.foramen.at(-1, 0),
        {h.body_cx + 0.3 * h.body_hx, h.body_cy - h.body_hy},
        {h.ischium.q.x, h.ischium.q.y + h.ischium.r},
        h.superior.q};
    for (int k = 0; k < kPelvisPairs; ++k)
      l[k + s * kPelvisPairs] = sc.pose.to_image(sc.map[s].to_patient(side_points[k]));
  }
  const Hemipelvis& h = sc.bone;
  for (int end = 0; end < 2; ++end) {
    const Point2 corner{h.body_cx - h.body_hx, h.body_cy + (end == 0 ? -h.body_hy : h.body_hy)};
    const Point2 a = sc.map[0].to_patient(corner), b = sc.map[1].to_patient(corner);
    l[14 + end] = sc.pose.to_image({(a.x + b.x) / 2, (a.y + b.y) / 2});
  }
  return l;
}

// ---------------------------------------------------------------- rendering

struct Canvas {
  double x0 = 0, y0 = 0, ppm = 1;  // image-frame mm of the top-left edge; pixels per mm
  int height = 0, width = 0;
  Point2 to_px(Point2 mm) const { return {(mm.x - x0) * ppm - 0.5, (mm.y - y0) * ppm - 0.5}; }
};

// A canvas covering I's and I_f's ROI (with room for landmark error), at the
// ROI's resolution.
Canvas plan_canvas(const PelvisLandmarks& l, const PelvisViewOptions& v) {
  const Line2 axis = symmetry_axis(l);
  PelvisLandmarks r;
  for (int k = 0; k < kPelvisLandmarks; ++k) r[k] = reflect(l[k], axis);
  const RoiBox a = roi_box(l, v.height, v.width, v.roi_margin);
  const RoiBox b = roi_box(r, v.height, v.width, v.roi_margin);
  constexpr double kRoom = 8;  // mm
  Canvas c;
  c.x0 = std::min(a.x0, b.x0) - kRoom;
  c.y0 = std::min(a.y0, b.y0) - kRoom;
  c.ppm = v.width / (a.x1 - a.x0);
  c.width = static_cast<int>(std::ceil((std::max(a.x1, b.x1) + kRoom - c.x0) * c.ppm));
  c.height = static_cast<int>(std::ceil((std::max(a.y1, b.y1) + kRoom - c.y0) * c.ppm));
  return c;
}

std::vector<uint8_t> render(const Scene& sc, const Canvas& cv, core::Rng& noise) {
  std::vector<uint8_t> out(static_cast<size_t>(cv.height) * cv.width);
  const double px = 1 / (cv.ppm * sc.pose.scale);  // one pixel in patient mm
  for (int i = 0; i < cv.height; ++i) {
    const double y = cv.y0 + (i + 0.5) / cv.ppm;
    for (int j = 0; j < cv.width; ++j) {
      const double x = cv.x0 + (j + 0.5) / cv.ppm;
      const auto tex = sc.texture.at(x, y);
      const auto soft = sc.soft.at(x, y);
      const double across = x / 140;
      double v = 0.11 + 0.07 * std::max(0.0, 1 - across * across) + 0.07 * (soft[0] - 0.5);
      const Point2 p = sc.pose.to_patient({x, y});
      for (int s = 0; s < 2; ++s) {
        if ((s == 0 && p.x > 6) || (s == 1 && p.x < -6)) continue;
        const Point2 q = sc.map[s].to_side(p);
        v += sc.side[s].density(q.x, q.y, px, 0.6 * tex[0] + 0.4 * tex[1]);
      }
      for (const Blob& b : sc.blobs) v += b.at(x, y);
      for (const Capsule& w : sc.wires) {
        const double d = w.sdf(x, y);
        if (d < 1) v += 0.5 * smooth01(0.5 - d * cv.ppm);
      }
      v = sc.gain * v + sc.offset + sc.noise * gaussian(noise);
      out[static_cast<size_t>(i) * cv.width + j] = static_cast<uint8_t>(clamp01(v) * 255 + 0.5);
    }
  }
  return out;
}

}  // namespace

void validate(const PelvisPhantomOptions& o) {
  CHECK_OR_THROW(ConfigError, o.images >= 1, "images = ", o.images, " must be >= 1");
  CHECK_OR_THROW(ConfigError, o.fractured >= 0 && o.fractured <= o.images, "fractured = ",
                 o.fractured, " must be in 0..images (", o.images, ")");
  for (const auto& [name, v] : {std::pair{"height", o.height}, std::pair{"width", o.width}})
    CHECK_OR_THROW(ConfigError, v >= 32 && v <= 4096 && v % 32 == 0, name, " = ", v,
                   " must be a multiple of 32 in 32..4096 (the network's stride)");
  CHECK_OR_THROW(ConfigError, o.width <= 4 * o.height && o.height <= 4 * o.width, "size ",
                 o.height, "x", o.width, ": the aspect must be within 1:4 .. 4:1");
  CHECK_OR_THROW(ConfigError, o.difficulty >= 0 && o.difficulty <= 1, "difficulty = ",
                 o.difficulty, " must be in [0, 1]");
  CHECK_OR_THROW(ConfigError, o.warp_stride >= 1 && 32 % o.warp_stride == 0, "warp stride = ",
                 o.warp_stride, " must divide 32 (1, 2, 4, 8, 16 or 32)");
  CHECK_OR_THROW(ConfigError, o.mask_radius_mm > 0 && o.mask_radius_mm <= 100, "mask radius = ",
                 o.mask_radius_mm, " mm must be in (0, 100]");
  CHECK_OR_THROW(ConfigError, o.landmark_error_mm >= 0 && o.landmark_error_mm <= 20,
                 "landmark error = ", o.landmark_error_mm, " mm must be in [0, 20]");
}

double mask_radius_px(const PelvisPhantomOptions& o) {
  return o.mask_radius_mm * o.width / kPelvisRoiWidthMm;
}

std::vector<int32_t> pelvis_labels(const PelvisPhantomOptions& o) {
  validate(o);
  std::vector<int32_t> order(static_cast<size_t>(o.images));
  for (int i = 0; i < o.images; ++i) order[static_cast<size_t>(i)] = i;
  core::Rng rng(core::derive_seed(o.seed, "pelvis", 0, "labels"));
  rng.shuffle(order);
  std::vector<int32_t> labels(order.size(), 0);
  for (int k = 0; k < o.fractured; ++k) labels[static_cast<size_t>(order[static_cast<size_t>(k)])] = 1;
  return labels;
}

PelvisPhantom synth_pelvis_image(const PelvisPhantomOptions& o, int index, int32_t label) {
  validate(o);
  CHECK_OR_THROW(ConfigError, index >= 0 && index < o.images, "image ", index, " is outside 0..",
                 o.images - 1);
  core::Rng rng(core::derive_seed(o.seed, "pelvis", index, "scene"));
  core::Rng noise(core::derive_seed(o.seed, "pelvis", index, "noise"));
  // Fractures draw from their own stream, so an image with and without its
  // fractures is otherwise the same patient, pose and noise.
  core::Rng fractures(core::derive_seed(o.seed, "pelvis", index, "fractures"));
  const Scene sc = sample_scene(rng, fractures, o.difficulty, label);

  PelvisViewOptions v;
  v.height = o.height;
  v.width = o.width;
  v.warp_stride = o.warp_stride;
  const PelvisLandmarks exact = landmarks_mm(sc);
  const Canvas cv = plan_canvas(exact, v);
  const std::vector<uint8_t> canvas = render(sc, cv, noise);
  // The landmarks a detector would report: the same draws at any error, so that
  // only the landmarks and the warp differ between two errors.
  PelvisLandmarks detected;
  const double error = o.landmark_error_mm;
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    const Point2 p = cv.to_px(exact[k]);
    detected[k] = {p.x + error * cv.ppm * gaussian(rng), p.y + error * cv.ppm * gaussian(rng)};
  }
  std::vector<Point2> points;
  for (const auto& [side, q] : sc.fractures)
    points.push_back(cv.to_px(sc.pose.to_image(sc.map[side].to_patient(q))));
  const size_t n_fractures = points.size();
  for (const Point2& q : sc.channels)  // carried into I with the fractures, then split off
    for (int side = 0; side < 2; ++side)
      points.push_back(cv.to_px(sc.pose.to_image(sc.map[side].to_patient(q))));

  PelvisPhantom out;
  char id[32];
  std::snprintf(id, sizeof id, "X%04d", index);
  out.id = id;
  out.label = label;
  out.view = make_pelvis_view(canvas, cv.height, cv.width, detected, points, v);
  out.variants.assign(out.view.points.begin() + static_cast<long>(n_fractures), out.view.points.end());
  out.view.points.resize(n_fractures);
  return out;
}

}  // namespace fracsweep::datastore
