// Rendering one patch of a phantom patient: the scene evaluated at the pixel
// centres of the scanner's grid, with bias and noise, then resized to the patch
// size. See phantom_vcf_scene.h.
#include "datastore/phantom_vcf_scene.h"

// Byte-identical output needs unfused floating-point arithmetic: a * b + c must
// not become an FMA where the target has one (-march=native, -mfma). CMake builds
// the datastore with -ffp-contract=off; the pragma covers Clang builds outside
// it. Never build this file with -ffast-math.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/seed.h"

namespace fracsweep::datastore::vcf_phantom {
namespace {

// A soft edge `width` millimetres wide, so shapes look like a finite-resolution scan.
struct Edge {
  explicit Edge(double width) : width(width), slope(0.5 / width) {}
  double width, slope;
};
// 1 well inside a shape with signed distance d (negative inside), 0 outside.
double coverage(double d, const Edge& e) { return smooth01(0.5 - d * e.slope); }

// One row of a patch: where the spine is and what the background looks like there.
struct RowInfo {
  double y, xc, cos_a;  // world y, spine axis x, cosine of the local tilt
  double half;          // half depth of the column (of the bodies) at this row
  double disc_factor;   // of the disc nearest to this row
  double disc_reach2;   // squared reach of its bulge along the spine (mm^2)
  double cleft_x, cleft_y, cleft_sin, cleft_cos;  // mid-plane of that disc
  double lamina;  // 1 at the level of a body's posterior arch, 0 between
  double bias;
};

RowInfo row_info(const Anatomy& a, const std::vector<SliceBody>& bodies, double y) {
  const int n = static_cast<int>(bodies.size());
  int i = 0;  // the segment [i, i + 1] holding y, clamped to the spine's ends
  while (i + 2 < n && a.bodies[i + 1].cy <= y) ++i;
  const Vertebra& b0 = a.bodies[i];
  const Vertebra& b1 = a.bodies[i + 1];
  const double span = b1.cy - b0.cy;
  const double s = (y - b0.cy) / span;
  RowInfo r{};
  r.y = y;
  // Cubic Hermite through the body centres with the bodies' tilts as slopes.
  const double m0 = b0.sin_a / b0.cos_a * span, m1 = b1.sin_a / b1.cos_a * span;
  const double s2 = s * s, s3 = s2 * s;
  if (s < 0) {
    r.xc = b0.cx + m0 * s;  // beyond the ends: straight on
  } else if (s > 1) {
    r.xc = b1.cx + m1 * (s - 1);
  } else {
    r.xc = (2 * s3 - 3 * s2 + 1) * b0.cx + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * b1.cx +
           (s3 - s2) * m1;
  }
  const double angle = lerp(b0.angle, b1.angle, std::clamp(s, 0.0, 1.0));
  r.cos_a = std::cos(angle);
  const double half = lerp(bodies[i].half_depth, bodies[i + 1].half_depth, std::clamp(s, 0.0, 1.0));
  r.half = half;
  // The disc below body i spans from its lower endplate to the next upper one.
  r.disc_factor = a.disc_factor[i];
  r.disc_reach2 = square(0.5 * a.disc_gap[i] + 2.5);
  r.cleft_x = 0.5 * (b0.cx + b0.bot[kMid] * b0.sin_a + b1.cx + b1.top[kMid] * b1.sin_a);
  r.cleft_y = 0.5 * (b0.cy + b0.bot[kMid] * b0.cos_a + b1.cy + b1.top[kMid] * b1.cos_a);
  r.cleft_sin = 0.5 * (b0.sin_a + b1.sin_a);
  r.cleft_cos = 0.5 * (b0.cos_a + b1.cos_a);
  // Posterior arches sit at the level of their bodies.
  const double nearest = std::min(std::abs(y - b0.cy), std::abs(y - b1.cy));
  r.lamina = smooth01(1.2 - 2.0 * nearest / b0.h);
  r.bias = 1 + a.bias_amp * std::sin(a.bias_ky * y + a.bias_py);
  return r;
}

// Intensity of the scene outside every vertebral body: discs, canal, cord,
// posterior elements and soft tissue (before gain, bias and noise).
double background(const Anatomy& a, const RowInfo& r, double x, const Edge& edge,
                  const Edge& soft_edge, double canal) {
  const double uc = (x - r.xc) * r.cos_a;  // across the spine, posterior positive
  // The column between the bodies: disc material, bulging slightly beyond the
  // bodies at mid-disc and tucked under them elsewhere.
  const double dv = (x - r.cleft_x) * r.cleft_sin + (r.y - r.cleft_y) * r.cleft_cos;
  const double bulge = 1.6 * clamp01(1 - dv * dv / r.disc_reach2) - 0.8;
  const double tube = coverage(std::abs(uc) - r.half - bulge, edge);
  double disc = 0;
  if (tube > 0) {
    disc = a.disc * r.disc_factor;
    // Intranuclear cleft: a thin darker line along the disc's mid-plane.
    if (std::abs(dv) < 0.6 && std::abs(uc) < 0.6 * r.half) disc *= 0.75 + 0.25 / 0.6 * std::abs(dv);
    if (tube >= 1) return disc;
  }
  const double tissue = 0.8 + 0.4 * a.tissue.at(x, r.y)[0];
  double outside;
  if (uc < 0) {
    outside = a.soft * tissue;
  } else {
    const double start = r.half + 1.0;
    const double cord_c = start + 0.5 * canal;
    outside = lerp(a.csf, a.cord, coverage(std::abs(uc - cord_c) - 0.5 * a.cord_width, edge));
    const double arch = lerp(a.fat, 0.8 * a.marrow, 0.6 * r.lamina) * tissue;
    outside = lerp(outside, arch, coverage(start + canal - uc, soft_edge));
  }
  return lerp(outside, disc, tube);
}

// Samples vertebra `sb` at world (x, y): returns false when the point is
// outside it, else its intensity in `inner` and its coverage in `alpha`.
bool sample_body(const Anatomy& a, const SliceBody& sb, double x, double y, const Edge& edge,
                 double* inner, double* alpha) {
  const Vertebra& b = *sb.v;
  const double dx = x - b.cx, dy = y - b.cy;
  const double u = dx * b.cos_a - dy * b.sin_a;
  const double v = dx * b.sin_a + dy * b.cos_a;
  const double reach = sb.half_depth + std::max(b.post_bulge, 0.0) + b.retro + edge.width;
  if (std::abs(u) > reach || std::abs(v) > 0.5 * b.h + edge.width) return false;
  // Endplates at this u, from the profile tables.
  const double fk = (std::clamp(u * sb.inv_half_depth, -1.0, 1.0) + 1) * (0.5 * (kProfile - 1));
  const int k = std::min(static_cast<int>(fk), kProfile - 2);
  const double f = fk - k;
  const double mid = lerp(b.mid[k], b.mid[k + 1], f), half = lerp(b.half[k], b.half[k + 1], f);
  const double vn = std::clamp((v - mid) * lerp(b.inv_half[k], b.inv_half[k + 1], f), -1.0, 1.0);
  // Walls: the anterior one slightly concave, the posterior one concave, straight
  // or convex, with an optional angular bump at the posterosuperior corner.
  const double ant = sb.half_depth - 0.4 * (1 - vn * vn);
  const double bump = b.retro * std::max(0.0, 1 - (1 / 0.35) * std::abs(vn + 0.75));
  const double post = sb.half_depth + b.post_bulge * (1 - vn * vn) + bump;
  // Signed distance to a box with rounded corners in (u, v - mid).
  const double du = u < 0 ? -u - ant : u - post;
  const double dv = std::abs(v - mid) - half;
  const double radius = std::min(0.15 * b.h, 0.45 * half);
  const double qx = du + radius, qy = dv + radius;
  const double outer = qx > 0 && qy > 0 ? std::sqrt(qx * qx + qy * qy) : std::max(qx, qy);
  const double dist = std::max(outer, std::min(std::max(qx, qy), 0.0)) - radius;
  if (dist >= edge.width) return false;

  const auto [coarse, fine] = sb.texture.at(u, v);
  double marrow = a.marrow * sb.marrow * (1 + 0.3 * (coarse - 0.5) + 0.28 * (fine - 0.5));
  double dark = 0;
  if (b.dark > 0) {
    const double dt = v - (mid - half), db = mid + half - v;
    // Flat near the endplate, fading out over the band's deeper half.
    const double rt = smooth01(2 - 2 * dt * b.inv_band), rb = smooth01(2 - 2 * db * b.inv_band);
    const double band = b.top_share * rt + (1 - b.top_share) * rb;
    dark = b.dark * lerp(band, 1.0, b.diffuse) * (0.6 + 0.8 * coarse);
    const double off = std::abs(dt - b.line_depth);
    if (off < 0.7) dark += b.line_dark * (1 - (1 / 0.7) * off);
  }
  for (const Lesion& l : b.lesions) {
    const double r2 = ((u - l.u) * (u - l.u) + (v - l.v) * (v - l.v)) * l.inv_r2;
    if (r2 < 1) dark += l.dark * (1 - r2) * (1 - r2);
  }
  marrow *= 1 - std::min(dark, 0.8);
  // Basivertebral vein: a short dark cleft entering from the posterior wall.
  const double vein = std::abs(v - mid);
  if (u > post - 5 && vein < 0.8)
    marrow *= 1 - 0.3 * (1 - 1.25 * vein) * clamp01(0.5 * (u - post + 5));
  *inner = lerp(a.cortex, marrow, coverage(dist + 1.0, edge));  // ~1 mm dark cortex
  *alpha = coverage(dist, edge);
  return true;
}

// Weights of a separable resize from n to m samples: linear interpolation when
// enlarging; when shrinking, the kernel widens so every input pixel counts.
struct Taps {
  int first = 0;
  std::vector<double> weights;
};

std::vector<Taps> resize_taps(int n, int m) {
  const double scale = static_cast<double>(n) / m;
  const double support = std::max(1.0, scale);
  std::vector<Taps> taps(m);
  for (int o = 0; o < m; ++o) {
    const double centre = (o + 0.5) * scale - 0.5;
    const int lo = static_cast<int>(std::ceil(centre - support));
    const int hi = static_cast<int>(std::floor(centre + support));
    Taps& t = taps[o];
    t.first = std::clamp(lo, 0, n - 1);
    const int last = std::clamp(hi, 0, n - 1);
    t.weights.assign(last - t.first + 1, 0.0);
    double total = 0;
    for (int i = lo; i <= hi; ++i) {
      const double w = std::max(0.0, 1 - std::abs(i - centre) / support);
      t.weights[std::clamp(i, 0, n - 1) - t.first] += w;  // the border repeats
      total += w;
    }
    for (double& w : t.weights) w /= total;
  }
  return taps;
}

// Resizes an n x n image to m x m and rounds it to bytes.
std::vector<uint8_t> resize_to_bytes(const std::vector<double>& image, int n, int m) {
  const std::vector<Taps> taps = resize_taps(n, m);
  std::vector<double> rows(static_cast<size_t>(n) * m);  // n rows of m columns
  for (int i = 0; i < n; ++i) {
    const double* in = &image[static_cast<size_t>(i) * n];
    for (int j = 0; j < m; ++j) {
      double sum = 0;
      for (size_t k = 0; k < taps[j].weights.size(); ++k)
        sum += taps[j].weights[k] * in[taps[j].first + k];
      rows[static_cast<size_t>(i) * m + j] = sum;
    }
  }
  std::vector<uint8_t> out(static_cast<size_t>(m) * m);
  std::vector<double> acc(m);
  for (int i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t k = 0; k < taps[i].weights.size(); ++k) {
      const double w = taps[i].weights[k];
      const double* in = &rows[(taps[i].first + k) * m];
      for (int j = 0; j < m; ++j) acc[j] += w * in[j];
    }
    for (int j = 0; j < m; ++j)
      out[static_cast<size_t>(i) * m + j] =
          static_cast<uint8_t>(std::clamp(acc[j] + 0.5, 0.0, 255.0));
  }
  return out;
}

}  // namespace

std::vector<uint8_t> render_patch(const Anatomy& a, const std::vector<SliceBody>& bodies, int body,
                                  int size, double canal, double slice_gain, core::Rng& rng) {
  const Vertebra& c = a.bodies[body];
  const int native = static_cast<int>(std::lround(kWindowMm / a.spacing));
  const int n = std::min(native, 2 * size);
  const double step = kWindowMm / n;
  const double ox = c.cx + c.mid_v() * c.sin_a;
  const double oy = c.cy + c.mid_v() * c.cos_a;
  const Edge edge(0.7 * step);
  const Edge soft_edge(1.5 * edge.width);
  auto world = [&](int i, double o) { return o + (i + 0.5 - 0.5 * n) * step; };

  // Vertical extent of each body in the world (its tilted bounding box), so each
  // row only tests the one or two bodies it can cross.
  std::vector<std::array<double, 2>> extent(bodies.size());
  for (size_t k = 0; k < bodies.size(); ++k) {
    const Vertebra& b = *bodies[k].v;
    const double hu = bodies[k].half_depth + 3, hv = 0.5 * b.h + 1;
    const double ey = std::abs(b.sin_a) * hu + std::abs(b.cos_a) * hv + edge.width;
    extent[k] = {b.cy - ey, b.cy + ey};
  }
  std::vector<const SliceBody*> crossing;
  std::vector<double> col_x(n), col_bias(n);
  for (int j = 0; j < n; ++j) {
    col_x[j] = world(j, ox);
    col_bias[j] = 1 + a.bias_amp * std::sin(a.bias_kx * col_x[j] + a.bias_px);
  }
  std::vector<double> image(static_cast<size_t>(n) * n);
  const double sigma = a.noise_sigma * n / native;
  for (int i = 0; i < n; ++i) {
    const double y = world(i, oy);
    const RowInfo r = row_info(a, bodies, y);
    crossing.clear();
    for (size_t k = 0; k < bodies.size(); ++k)
      if (y >= extent[k][0] && y <= extent[k][1]) crossing.push_back(&bodies[k]);
    for (int j = 0; j < n; ++j) {
      const double x = col_x[j];
      double inner = 0, alpha = 0;
      for (const SliceBody* sb : crossing)
        if (sample_body(a, *sb, x, y, edge, &inner, &alpha)) break;  // bodies never overlap
      const double value =
          alpha >= 1 ? inner : lerp(background(a, r, x, edge, soft_edge, canal), inner, alpha);
      // Magnitude of a complex signal with white Gaussian noise: Rician.
      const double re = value * a.gain * slice_gain * r.bias * col_bias[j] + sigma * gaussian(rng);
      const double im = sigma * gaussian(rng);
      image[static_cast<size_t>(i) * n + j] = std::sqrt(re * re + im * im);
    }
  }
  return resize_to_bytes(image, n, size);
}

}  // namespace fracsweep::datastore::vcf_phantom
