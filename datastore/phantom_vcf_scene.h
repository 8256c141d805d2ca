// The scene of one VCF phantom patient (its vertebrae, discs and tissue) and the
// helpers that sampling it and rendering it share. Internal to phantom_vcf*.cpp,
// not part of the public API, which is phantom_vcf.h.
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
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/seed.h"
#include "datastore/phantom_noise.h"

// The inline helpers below need unfused arithmetic as much as the .cpp files do
// (see the comment at the top of each); this holds to the end of the includer.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace fracsweep::datastore::vcf_phantom {

inline constexpr double kWindowMm = 60.0;  // physical side of every patch
inline constexpr int kProfile = 33;        // endplate samples across the body; odd
inline constexpr int kMid = kProfile / 2;  // the sample at the middle (t = 0)

using phantom::clamp01;
using phantom::gaussian;
using phantom::Lattice;
using phantom::lerp;
using phantom::smooth01;
using phantom::square;

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

// Draws a patient's anatomy from `rng`: the spine with its 1-3 fractures of kind
// `label` (1 benign, 2 malignant), focal lesions, tissue contrasts and scanner
// settings. `d` is the difficulty, in [0, 1].
Anatomy sample_anatomy(core::Rng& rng, int label, double d);

// Renders the patch centred on body `body` of slice `bodies` on the scanner's
// grid (a.spacing), then resizes it to size x size, as the paper's crops were
// resized to the network input. Small patches are rendered on a grid at most
// twice as fine as the output, with the noise scaled to the larger voxels.
std::vector<uint8_t> render_patch(const Anatomy& a, const std::vector<SliceBody>& bodies, int body,
                                  int size, double canal, double slice_gain, core::Rng& rng);

}  // namespace fracsweep::datastore::vcf_phantom
