// See phantom_vcf.h. A patient is sampled once (anatomy, fractures, textures),
// then every patch is rendered by evaluating the scene at the pixel centres of
// the patient's scanner grid and resized to the requested patch size.
//
// Note [VCF phantom geometry]
// World coordinates are millimetres in the sagittal plane: x anterior (left) to
// posterior (right), y cranial (top) to caudal (bottom). Vertebra i has its own
// frame, tilted by angle_i to follow the spinal curvature: v runs caudally along
// the spine, u posteriorly across it, and the normal body is centred at v = 0.
// Endplates are sampled profiles top(t), bot(t) over t = 2u / depth in [-1, 1]
// (anterior to posterior), so wedge, biconcave and crush fractures, normal
// endplate concavity and irregular collapsed endplates are all one table. Bodies
// are stacked along the spine with discs between them, so a collapsed body pulls
// its neighbours closer. Every patch is the same kWindowMm square centred on its
// body, whatever the patch size: absolute body size in the patch follows the
// patient's size, and only comparison with the neighbours (or the edges of the
// neighbours visible in the window) reveals a loss of height.
//
// Determinism: all randomness comes from core::Rng streams named by patient and
// purpose, drawn in a fixed order; transcendental functions are used only per
// patient, per row or per column, never per pixel.
#include "datastore/phantom_vcf.h"

// Byte-identical output needs unfused floating-point arithmetic: GCC in ISO mode
// (-std=c++20, as CMake sets it) does not contract a * b + c into an FMA; Clang
// does unless told not to. Never build this file with -ffast-math.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <algorithm>
#include <array>
#include <cassert>
#include <climits>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::datastore {
namespace {

constexpr double kWindowMm = 60.0;          // physical side of every patch
constexpr double kMeanBodyHeightMm = 23.0;  // normal body height of a mid level
constexpr double kSliceSpacingMm = 3.0;     // lateral distance between slices
constexpr int kProfile = 33;                // endplate samples across the body; odd
constexpr int kMid = kProfile / 2;          // the sample at the middle (t = 0)
constexpr double kPi = 3.14159265358979323846;

double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }
double smooth01(double x) {
  x = clamp01(x);
  return x * x * (3 - 2 * x);
}
// A soft edge `width` millimetres wide, so shapes look like a finite-resolution scan.
struct Edge {
  explicit Edge(double width) : width(width), slope(0.5 / width) {}
  double width, slope;
};
// 1 well inside a shape with signed distance d (negative inside), 0 outside.
double coverage(double d, const Edge& e) { return smooth01(0.5 - d * e.slope); }
double lerp(double a, double b, double t) { return a + (b - a) * t; }
double square(double x) { return x * x; }
double uniform(core::Rng& rng, double lo, double hi) { return lo + (hi - lo) * rng.uniform01(); }
// Standard normal approximated by the Irwin-Hall sum of four 16-bit uniforms:
// one draw, integer arithmetic, so it is cheap and identical everywhere.
double gaussian(core::Rng& rng) {
  const uint64_t x = rng.next_u64();
  const uint64_t s = (x & 0xffff) + ((x >> 16) & 0xffff) + ((x >> 32) & 0xffff) + (x >> 48);
  return (static_cast<double>(s) - 131070.0) / 37837.6;
}

// Two channels of value noise in [0, 1] on a regular grid, smoothly
// interpolated; positions outside the grid clamp to its border.
class Lattice {
 public:
  Lattice() = default;
  Lattice(double u0, double v0, double cell, double width, double height)
      : u0_(u0),
        v0_(v0),
        cell_(cell),
        inv_cell_(1 / cell),
        nu_(static_cast<int>(width / cell) + 3),
        nv_(static_cast<int>(height / cell) + 3),
        values_(2 * static_cast<size_t>(nu_) * nv_) {}
  int nu() const { return nu_; }
  int nv() const { return nv_; }
  double node_u(int iu) const { return u0_ + iu * cell_; }
  double node_v(int iv) const { return v0_ + iv * cell_; }
  double& value(int iu, int iv, int channel) {
    return values_[2 * (static_cast<size_t>(iv) * nu_ + iu) + channel];
  }
  void fill(core::Rng& rng, int channel) {
    for (size_t i = channel; i < values_.size(); i += 2) values_[i] = rng.uniform01();
  }
  std::array<double, 2> at(double u, double v) const {
    const double fu = std::clamp((u - u0_) * inv_cell_, 0.0, nu_ - 1.001);
    const double fv = std::clamp((v - v0_) * inv_cell_, 0.0, nv_ - 1.001);
    const int iu = static_cast<int>(fu), iv = static_cast<int>(fv);
    const double su = smooth01(fu - iu), sv = smooth01(fv - iv);
    const double* p = &values_[2 * (static_cast<size_t>(iv) * nu_ + iu)];
    const double* q = p + 2 * nu_;
    return {lerp(lerp(p[0], p[2], su), lerp(q[0], q[2], su), sv),
            lerp(lerp(p[1], p[3], su), lerp(q[1], q[3], su), sv)};
  }

 private:
  double u0_ = 0, v0_ = 0, cell_ = 1, inv_cell_ = 1;
  int nu_ = 0, nv_ = 0;
  std::vector<double> values_;
};

// A round focus in a body's frame: a metastasis (dark > 0) or a haemangioma (< 0).
struct Lesion {
  double u, v, inv_r2, dark;  // centre, 1 / radius^2, strength
};

// One vertebral body in its own frame. See Note [VCF phantom geometry].
struct Vertebra {
  int label = 0;
  // Centre of the normal body (world mm), tilt, and the tilt's cosine and sine.
  double cx = 0, cy = 0, angle = 0, cos_a = 1, sin_a = 0;
  // Normal height at the middle, without endplate concavity, and the
  // anterior-posterior depth in the middle slice (mm).
  double h = 0, depth = 0;
  // Endplates (v of the upper and lower one) over t in [-1, 1], and the middle,
  // half height and its inverse derived from them by finish_profile.
  std::array<double, kProfile> top{}, bot{};
  std::array<double, kProfile> mid{}, half{}, inv_half{};
  double marrow = 1;  // intensity factor of this level
  // Posterior wall at mid height (mm): < 0 concave, > 0 convex; and an angular
  // bump at the posterosuperior corner (a retropulsed fragment).
  double post_bulge = 0, retro = 0;
  // Low signal of a fracture: strength, share spread over the whole body (vs a
  // band along the collapsed endplates), 1 / band depth, share of the band at the
  // upper endplate, and a thin fracture line's strength and depth.
  double dark = 0, diffuse = 0, inv_band = 1, top_share = 1, line_dark = 0, line_depth = 0;
  std::vector<Lesion> lesions;
  double height_ratio = 1;
  double mid_v() const { return 0.5 * (top[kMid] + bot[kMid]); }
};

// Everything about a patient that is shared by its slices.
struct Anatomy {
  // The labelled levels plus one unlabelled body beyond each end, so the end
  // patches show a spine that continues, as a crop from a real slice does.
  std::vector<Vertebra> bodies;
  std::vector<double> disc_factor;  // intensity factor of the disc below level i
  std::vector<double> disc_gap;     // disc height below level i (mm)
  double marrow = 170, cortex = 40, disc = 95, csf = 35, cord = 105, fat = 165, soft = 80;
  double canal = 14, cord_width = 8;
  double gain = 1, noise_sigma = 5, spacing = 0.6;
  double bias_amp = 0.1, bias_kx = 0.02, bias_ky = 0.02, bias_px = 0, bias_py = 0;
  Lattice tissue;  // soft-tissue heterogeneity in world coordinates
};

// The per-slice view of one vertebra.
struct SliceBody {
  const Vertebra* v = nullptr;
  double half_depth = 0, inv_half_depth = 0, marrow = 1;
  Lattice texture;  // channel 0: marrow heterogeneity (~3.5 mm), 1: fine grain (~0.9 mm)
};

void finish_profile(Vertebra& b) {
  for (int k = 0; k < kProfile; ++k) {
    b.mid[k] = 0.5 * (b.top[k] + b.bot[k]);
    b.half[k] = 0.5 * (b.bot[k] - b.top[k]);
    // Even the most collapsed wall keeps 15% of its height (fracture() caps the loss).
    assert(b.half[k] > 0.05 * b.h);
    b.inv_half[k] = 1 / b.half[k];
  }
}

// Fractured levels: 1-3 of the interior levels (so every fracture has two
// neighbours to be compared with), rarely adjacent to each other.
std::vector<int> pick_fractured_levels(core::Rng& rng, int n) {
  const double u = rng.uniform01();
  const int count = u < 0.55 ? 1 : (u < 0.85 ? 2 : 3);
  std::vector<int> levels;
  for (int attempt = 0; static_cast<int>(levels.size()) < count && attempt < 200; ++attempt) {
    const int level = 1 + static_cast<int>(rng.uniform_below(static_cast<uint64_t>(n - 2)));
    const bool taken = std::find(levels.begin(), levels.end(), level) != levels.end();
    const bool adjacent = std::find(levels.begin(), levels.end(), level - 1) != levels.end() ||
                          std::find(levels.begin(), levels.end(), level + 1) != levels.end();
    const double keep = rng.uniform01();  // drawn every attempt so the stream stays aligned
    if (taken || (adjacent && keep > 0.25)) continue;
    levels.push_back(level);
  }
  return levels;
}

// Normal endplates: slightly concave, as in real vertebrae.
void set_normal_profile(Vertebra& b, double concavity) {
  for (int k = 0; k < kProfile; ++k) {
    const double t = -1 + 2.0 * k / (kProfile - 1);
    b.top[k] = -0.5 * b.h + concavity * (1 - t * t);
    b.bot[k] = 0.5 * b.h - concavity * (1 - t * t);
  }
}

// Collapses the endplates: loss is the fraction of the normal middle height lost.
void fracture(core::Rng& rng, Vertebra& b, int label, double d) {
  const double normal_mid = b.bot[kMid] - b.top[kMid];
  const double loss = uniform(rng, 0.22 - 0.10 * d, 0.50 - 0.15 * d);
  const double s = rng.uniform01();
  const double p_wedge = label == 1 ? 0.45 : 0.35, p_biconcave = label == 1 ? 0.80 : 0.60;
  const int shape = s < p_wedge ? 0 : (s < p_biconcave ? 1 : 2);  // wedge, biconcave, crush
  const double top_share = shape == 0 ? 0.75 : (shape == 1 ? 0.5 : 0.6);
  const double slope = std::min(0.7 * loss, 0.85 - loss);
  Lattice bumps(-1, 0, 0.25, 2, 0);  // endplate irregularity along t
  bumps.fill(rng, 0);
  const double rough = uniform(rng, 0.01, 0.03) * normal_mid;
  for (int k = 0; k < kProfile; ++k) {
    const double t = -1 + 2.0 * k / (kProfile - 1);
    double lost = loss;                                         // crush
    if (shape == 0) lost = loss - slope * t;                    // anterior lower
    if (shape == 1) lost = loss * (0.15 + 0.85 * (1 - t * t));  // middle lower
    if (shape == 2) lost = loss * (1 + 0.08 * t);
    const double irregular = rough * (bumps.at(t, 0)[0] - 0.5) * (1 - t * t);
    b.top[k] += top_share * (lost * normal_mid + irregular);
    b.bot[k] -= (1 - top_share) * (lost * normal_mid + irregular);
  }
  b.height_ratio = (b.bot[kMid] - b.top[kMid]) / normal_mid;
  b.top_share = top_share;
  const double band = uniform(rng, 0.2, 0.4) * normal_mid;
  b.inv_band = 1 / band;
  b.line_depth = uniform(rng, 0.3, 0.6) * band;
  // Benign: band-like oedema along the collapsed endplate, a fracture line, a
  // straight wall, sometimes a retropulsed corner. Malignant: diffuse patchy
  // replacement and a convex wall. Difficulty pulls the two towards each other.
  if (label == 1) {
    b.dark = uniform(rng, 0.22, 0.36) * (1 - 0.3 * d);
    b.diffuse = uniform(rng, 0.0, 0.1 + 0.4 * d);
    b.line_dark = uniform(rng, 0.08, 0.18) * (1 - 0.5 * d);
    b.post_bulge = uniform(rng, -0.3, 0.3);
    b.retro = rng.uniform01() < 0.4 ? uniform(rng, 1.0, 2.5) * (1 - 0.5 * d) : 0.0;
  } else {
    b.dark = uniform(rng, 0.20, 0.36) * (1 - 0.3 * d);
    b.diffuse = uniform(rng, 0.9 - 0.4 * d, 1.0);
    b.line_dark = 0;
    b.post_bulge = uniform(rng, 0.6, 2.2) * (1 - 0.5 * d);
    b.retro = 0;
  }
}

Anatomy sample_anatomy(core::Rng& rng, int label, double d) {
  Anatomy a;
  const int levels = 10 + static_cast<int>(rng.uniform_below(4));
  const int n = levels + 2;
  const double scale = 1 + (0.12 + 0.18 * d) * uniform(rng, -1, 1);
  const double aspect = uniform(rng, 1.3, 1.5);
  const double disc_ratio = uniform(rng, 0.26, 0.36);
  const double growth = uniform(rng, 0.015, 0.03);  // bodies grow caudally
  const double concavity = uniform(rng, 0.015, 0.03);
  a.marrow = uniform(rng, 150, 185);
  a.cortex = uniform(rng, 30, 50);
  a.disc = uniform(rng, 70, 95);
  a.csf = uniform(rng, 25, 45);
  a.cord = uniform(rng, 90, 115);
  a.fat = uniform(rng, 145, 185);
  a.soft = uniform(rng, 70, 110);
  a.canal = uniform(rng, 12, 16) * scale;
  a.cord_width = uniform(rng, 7, 9) * scale;
  a.gain = uniform(rng, 0.8, 1.15);
  a.noise_sigma = (3 + 9 * d) * uniform(rng, 0.8, 1.2);
  a.spacing = uniform(rng, 0.5, 0.8);
  a.bias_amp = (0.04 + 0.14 * d) * uniform(rng, 0.5, 1.0);
  a.bias_kx = 2 * kPi / uniform(rng, 150, 300);
  a.bias_ky = 2 * kPi / uniform(rng, 200, 400);
  a.bias_px = uniform(rng, 0, 2 * kPi);
  a.bias_py = uniform(rng, 0, 2 * kPi);
  const double tilt0 = uniform(rng, -0.08, 0.08), tilt_amp = uniform(rng, 0.05, 0.18);
  const double tilt_freq = uniform(rng, 0.5, 1.0) * 2 * kPi, tilt_phase = uniform(rng, 0, 2 * kPi);

  a.bodies.resize(n);
  a.disc_gap.resize(n);
  a.disc_factor.resize(n);
  for (int i = 0; i < n; ++i) {
    Vertebra& b = a.bodies[i];
    b.h = kMeanBodyHeightMm * scale * (1 + growth * (i - 0.5 * (n - 1))) *
          (1 + 0.015 * gaussian(rng));
    b.depth = aspect * b.h * (1 + 0.02 * gaussian(rng));
    b.marrow = 1 + 0.03 * gaussian(rng);
    b.post_bulge = -uniform(rng, 0.2, 0.8);  // normal posterior walls are slightly concave
    b.angle = std::sin(tilt_freq * i / n + tilt_phase) * tilt_amp + tilt0;
    set_normal_profile(b, concavity * b.h);
    const bool degenerate = rng.uniform01() < 0.12;
    a.disc_gap[i] = disc_ratio * b.h * (1 + 0.08 * gaussian(rng)) * (degenerate ? 0.6 : 1.0);
    a.disc_factor[i] = degenerate ? uniform(rng, 0.65, 0.8) : uniform(rng, 0.95, 1.05);
  }
  for (int level : pick_fractured_levels(rng, levels)) {
    a.bodies[level + 1].label = label;
    fracture(rng, a.bodies[level + 1], label, d);
  }
  // Focal lesions in normal-height bodies: haemangiomas in anyone, and in
  // malignant patients metastases that have not (yet) collapsed the body, which
  // the paper counts as normal vertebrae.
  for (Vertebra& b : a.bodies) {
    if (b.label != 0) continue;
    const double p_met = label == 2 ? 0.05 + 0.10 * d : 0.0;
    const double u = rng.uniform01();
    if (u >= 0.06 + p_met) continue;
    const bool met = u < p_met;
    b.lesions.push_back({uniform(rng, -0.3, 0.3) * b.depth, uniform(rng, -0.25, 0.25) * b.h,
                         1 / square(uniform(rng, 2, met ? 5 : 4)),
                         met ? uniform(rng, 0.25, 0.4) : -uniform(rng, 0.15, 0.3)});
  }
  // Stack the bodies along the curved spine. See Note [VCF phantom geometry].
  for (int i = 1; i < n; ++i) {
    const Vertebra& up = a.bodies[i - 1];
    Vertebra& b = a.bodies[i];
    const double dist = up.bot[kMid] + a.disc_gap[i - 1] - b.top[kMid];
    const double mean_angle = 0.5 * (up.angle + b.angle);
    b.cx = up.cx + dist * std::sin(mean_angle);
    b.cy = up.cy + dist * std::cos(mean_angle);
  }
  double x_min = 0, x_max = 0;
  for (Vertebra& b : a.bodies) {
    b.cos_a = std::cos(b.angle);
    b.sin_a = std::sin(b.angle);
    x_min = std::min(x_min, b.cx);
    x_max = std::max(x_max, b.cx);
  }
  const double y_min = a.bodies.front().cy, y_max = a.bodies.back().cy;
  a.tissue = Lattice(x_min - 80, y_min - 80, 9.0, x_max - x_min + 160, y_max - y_min + 160);
  a.tissue.fill(rng, 0);
  for (Vertebra& b : a.bodies) finish_profile(b);
  return a;
}

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

// Renders the patch centred on body `body` of slice `bodies` on the scanner's
// grid (a.spacing), then resizes it to size x size, as the paper's crops were
// resized to the network input. Small patches are rendered on a grid at most
// twice as fine as the output, with the noise scaled to the larger voxels.
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

std::string patient_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "P%04d", index);
  return buf;
}

}  // namespace

void validate(const VcfPhantomOptions& options) {
  CHECK_OR_THROW(core::ConfigError, options.benign_patients >= 0,
                 "vcf phantom: benign_patients must be >= 0, got ", options.benign_patients);
  CHECK_OR_THROW(core::ConfigError, options.malignant_patients >= 0,
                 "vcf phantom: malignant_patients must be >= 0, got ", options.malignant_patients);
  CHECK_OR_THROW(core::ConfigError, options.benign_patients > 0 || options.malignant_patients > 0,
                 "vcf phantom: benign_patients and malignant_patients are both 0; "
                 "ask for at least one patient");
  CHECK_OR_THROW(core::ConfigError, options.benign_patients <= INT_MAX - options.malignant_patients,
                 "vcf phantom: benign_patients + malignant_patients overflows int (",
                 options.benign_patients, " + ", options.malignant_patients, ")");
  CHECK_OR_THROW(core::ConfigError, options.patch_size >= 16 && options.patch_size <= 2048,
                 "vcf phantom: patch_size must be in [16, 2048], got ", options.patch_size);
  CHECK_OR_THROW(core::ConfigError, options.difficulty >= 0 && options.difficulty <= 1,
                 "vcf phantom: difficulty must be in [0, 1], got ", options.difficulty);
  CHECK_OR_THROW(core::ConfigError, options.slices >= 1 && options.slices <= 7,
                 "vcf phantom: slices must be in [1, 7], got ", options.slices);
}

int total_patients(const VcfPhantomOptions& options) {
  validate(options);
  return options.benign_patients + options.malignant_patients;
}

PhantomPatient synth_vcf_patient(const VcfPhantomOptions& options, int patient_index) {
  const int total = total_patients(options);
  CHECK_OR_THROW(core::ConfigError, patient_index >= 0 && patient_index < total,
                 "vcf phantom: patient index ", patient_index, " is outside [0, ", total, ")");
  const std::string job = "vcf-phantom/patient/" + std::to_string(patient_index);
  const int label = patient_index < options.benign_patients ? 1 : 2;
  const double d = options.difficulty;

  core::Rng anatomy_rng(core::derive_seed(options.seed, job, 0, "anatomy"));
  const Anatomy a = sample_anatomy(anatomy_rng, label, d);
  const int n = static_cast<int>(a.bodies.size());
  const int levels = n - 2;
  // Marrow texture shared by all slices; each slice mixes in its own part.
  core::Rng texture_rng(core::derive_seed(options.seed, job, 0, "texture"));
  std::vector<std::array<Lattice, 2>> shared(n);  // coarse, fine
  for (int i = 0; i < n; ++i) {
    const Vertebra& b = a.bodies[i];
    const double w = b.depth + 12, h = b.h + 12;
    shared[i] = {Lattice(-0.5 * w, -0.5 * h, 3.5, w, h), Lattice(-0.5 * w, -0.5 * h, 0.9, w, h)};
    shared[i][0].fill(texture_rng, 0);
    shared[i][1].fill(texture_rng, 0);
  }

  PhantomPatient patient;
  patient.id = patient_id(patient_index);
  patient.label = label;
  patient.patches.reserve(static_cast<size_t>(options.slices) * levels);
  for (int s = 0; s < options.slices; ++s) {
    core::Rng rng(core::derive_seed(options.seed, job, 0, "slice/" + std::to_string(s)));
    const double z = (s - 0.5 * (options.slices - 1)) * kSliceSpacingMm;
    const double slice_gain = 1 + 0.02 * gaussian(rng);
    // Off the midline the canal narrows (it is round in cross-section).
    const double canal = a.canal * std::sqrt(std::max(0.3, 1 - z * z / 100));
    std::vector<SliceBody> bodies(n);
    for (int i = 0; i < n; ++i) {
      SliceBody& sb = bodies[i];
      sb.v = &a.bodies[i];
      // Bodies are roughly cylinders seen from the side: shallower off the midline.
      const double lateral = 0.55 * sb.v->depth;
      sb.half_depth = 0.5 * sb.v->depth * std::sqrt(1 - z * z / (lateral * lateral)) *
                      (1 + 0.01 * gaussian(rng));
      sb.inv_half_depth = 1 / sb.half_depth;
      sb.marrow = sb.v->marrow * (1 + 0.025 * gaussian(rng));
      std::array<Lattice, 2> own = shared[i];
      own[0].fill(rng, 0);
      own[1].fill(rng, 0);
      // One two-channel lattice on the fine grid, so a pixel costs one lookup.
      sb.texture = shared[i][1];
      for (int iv = 0; iv < sb.texture.nv(); ++iv) {
        for (int iu = 0; iu < sb.texture.nu(); ++iu) {
          const double u = sb.texture.node_u(iu), v = sb.texture.node_v(iv);
          sb.texture.value(iu, iv, 0) = 0.75 * shared[i][0].at(u, v)[0] + 0.25 * own[0].at(u, v)[0];
          sb.texture.value(iu, iv, 1) =
              0.6 * shared[i][1].value(iu, iv, 0) + 0.4 * own[1].value(iu, iv, 0);
        }
      }
    }
    for (int level = 0; level < levels; ++level) {
      const Vertebra& b = a.bodies[level + 1];
      VertebraPatch p;
      p.pixels = render_patch(a, bodies, level + 1, options.patch_size, canal, slice_gain, rng);
      p.label = b.label;
      p.slice = s;
      p.level = level;
      const int index = s * levels + level;
      p.prev = level > 0 ? index - 1 : -1;
      p.next = level + 1 < levels ? index + 1 : -1;
      p.height_ratio = b.label == 0 ? 1.0 : b.height_ratio;
      patient.patches.push_back(std::move(p));
    }
  }
  return patient;
}

}  // namespace fracsweep::datastore
