// Sampling a phantom patient's anatomy: the spine, its fractures and lesions, the
// tissue contrasts and the scanner settings. See phantom_vcf_scene.h.
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
#include <cassert>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/seed.h"

namespace fracsweep::datastore::vcf_phantom {
namespace {

constexpr double kMeanBodyHeightMm = 23.0;  // normal body height of a mid level
constexpr double kPi = 3.14159265358979323846;

double uniform(core::Rng& rng, double lo, double hi) { return lo + (hi - lo) * rng.uniform01(); }

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

// The share of the middle height a fracture loses, by Genant's semiquantitative
// grades: 1 (mild, 20-25 %), 2 (moderate, 25-40 %), 3 (severe, 40-55 % here).
// Difficulty makes mild fractures more common and severe ones rarer.
double genant_loss(core::Rng& rng, double d) {
  const double u = rng.uniform01();
  const double p_mild = 0.15 + 0.35 * d, p_severe = 0.25 - 0.15 * d;
  if (u < p_mild) return uniform(rng, 0.20, 0.25);
  if (u < 1 - p_severe) return uniform(rng, 0.25, 0.40);
  return uniform(rng, 0.40, 0.55);
}

// Collapses the endplates: loss is the fraction of the normal middle height lost.
void fracture(core::Rng& rng, Vertebra& b, int label, double d) {
  const double normal_mid = b.bot[kMid] - b.top[kMid];
  const double loss = genant_loss(rng, d);
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

// A normal body wedged by posture or shape, as often at the thoracolumbar
// junction: the anterior wall lower than the posterior one, no fracture.
void wedge_normal(core::Rng& rng, Vertebra& b) {
  const double anterior = uniform(rng, 0.08, 0.16) * b.h;  // height lost at the front
  for (int k = 0; k < kProfile; ++k) {
    const double t = -1 + 2.0 * k / (kProfile - 1);
    const double lost = anterior * 0.5 * (1 - t);  // t = -1 anterior, +1 posterior
    b.top[k] += 0.6 * lost;
    b.bot[k] -= 0.4 * lost;
  }
}

// Degenerative change in a normal body of a patient with poor spine health
// (Fig. 1 c, d of the TSCCN paper): low signal along an endplate (Modic-like
// oedema, the same band a benign fracture shows, without the collapse), or a
// Schmorl's node (a small dent in the endplate with a dark rim below it).
void degenerate_normal(core::Rng& rng, Vertebra& b, double health) {
  if (rng.uniform01() < 0.5) {
    b.dark = uniform(rng, 0.08, 0.22) * health;
    b.diffuse = uniform(rng, 0.0, 0.15);
    b.inv_band = 1 / (uniform(rng, 0.12, 0.25) * b.h);
    b.top_share = rng.uniform01() < 0.5 ? 1.0 : 0.0;
    b.line_dark = 0;
    return;
  }
  const bool upper = rng.uniform01() < 0.5;
  const double t0 = uniform(rng, -0.5, 0.5), width = uniform(rng, 0.15, 0.3);
  const double dent = uniform(rng, 0.04, 0.09) * b.h;
  for (int k = 0; k < kProfile; ++k) {
    const double t = -1 + 2.0 * k / (kProfile - 1);
    const double x = (t - t0) / width;
    if (std::abs(x) >= 1) continue;
    (upper ? b.top[k] : b.bot[k]) += (upper ? 1 : -1) * dent * (1 - x * x);
  }
  const double v = (upper ? -0.5 : 0.5) * b.h + (upper ? 1 : -1) * (dent + 1.5);
  b.lesions.push_back({t0 * 0.5 * b.depth, v, 1 / square(uniform(rng, 1.5, 2.5)),
                       uniform(rng, 0.15, 0.3) * health});
}

}  // namespace

Anatomy sample_anatomy(core::Rng& rng, int label, double d) {
  Anatomy a;
  const int levels = 10 + static_cast<int>(rng.uniform_below(4));
  const int n = levels + 2;
  const double scale = 1 + (0.15 + 0.25 * d) * uniform(rng, -1, 1);
  // Depth over height of the patient's normal bodies: wide enough, with the
  // per-level drift and jitter below, that a lone body's shape overlaps that of
  // a mild fracture, while neighbours in one spine share it.
  // Poor spine health (0 .. 1): flatter, more concave normal bodies throughout
  // the spine, as in osteopenia, and more degenerative change (Fig. 1 c, d).
  const double health = clamp01(uniform(rng, 0, 1) * (0.6 + 0.8 * d));
  const double aspect =
      1.4 * (1 + (0.18 + 0.22 * d) * uniform(rng, -1, 1)) * (1 + 0.5 * health);
  const double aspect_drift = uniform(rng, -0.06, 0.06);  // thoracic vs lumbar shape
  const double jitter = 0.02 + 0.05 * d;
  const double disc_ratio = uniform(rng, 0.26, 0.36);
  const double growth = uniform(rng, 0.015, 0.03);  // bodies grow caudally
  const double concavity = uniform(rng, 0.015, 0.03) + 0.05 * health;
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
    const double along = (i - 0.5 * (n - 1)) / n;  // -0.5 cranial .. 0.5 caudal
    b.h = kMeanBodyHeightMm * scale * (1 + growth * (i - 0.5 * (n - 1))) *
          (1 + jitter * gaussian(rng));
    b.depth = aspect * (1 + aspect_drift * along) * b.h * (1 + jitter * gaussian(rng));
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
  // A wedged normal body in the lower half (the thoracolumbar junction), and
  // degenerative change, both in normal bodies only.
  if (rng.uniform01() < 0.3 + 0.4 * d) {
    const int at = n / 2 + static_cast<int>(rng.uniform_below(static_cast<uint64_t>(n - n / 2 - 1)));
    if (a.bodies[at].label == 0) wedge_normal(rng, a.bodies[at]);
  }
  for (Vertebra& b : a.bodies) {
    const double u = rng.uniform01();
    if (b.label == 0 && u < 0.35 * health) degenerate_normal(rng, b, health);
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

}  // namespace fracsweep::datastore::vcf_phantom
