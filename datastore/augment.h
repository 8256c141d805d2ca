// Training-time augmentation and normalisation of uint8 patches to float.
//
// An augmentation is a rotation about the patch centre (bilinear, edges
// replicated) followed by optional horizontal and vertical flips. Its random
// draw depends only on (job seed, epoch, sample index), through
// augment_seed(), so an epoch's batches are the same however they are split
// across ranks or threads, and after a resume. A vertebra's neighbours get
// the same transform as the vertebra, so their comparison stays valid.
#pragma once

#include <cstdint>
#include <span>

namespace fracsweep::datastore {

struct AugmentOptions {
  double max_rotation_deg = 0;  // angle drawn uniformly in [-max, +max]
  double hflip_prob = 0;        // anterior <-> posterior
  double vflip_prob = 0;        // cranial <-> caudal
  bool enabled() const { return max_rotation_deg > 0 || hflip_prob > 0 || vflip_prob > 0; }
  // Throws core::ConfigError for a negative angle or a probability outside [0, 1].
  void validate() const;
};

struct AugmentDraw {
  double angle_deg = 0;
  bool hflip = false, vflip = false;
};

// Pixel value v in 0..255 becomes (v / 255 - mean) / std.
struct Normalize {
  float mean = 0.5f, std = 0.5f;
};

uint64_t augment_seed(uint64_t job_seed, int epoch, uint64_t sample);

// The transform for one sample; the identity when options are disabled.
AugmentDraw draw_augment(const AugmentOptions& options, uint64_t seed);

// Writes the transformed, normalised height x width patch `in` to `out`.
void render_patch(std::span<const uint8_t> in, int height, int width, const AugmentDraw& draw,
                  const Normalize& norm, std::span<float> out);

}  // namespace fracsweep::datastore
