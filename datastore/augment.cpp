// See augment.h.
#include "datastore/augment.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::datastore {

void AugmentOptions::validate() const {
  CHECK_OR_THROW(core::ConfigError, max_rotation_deg >= 0 && max_rotation_deg <= 180,
                 "rotation ", max_rotation_deg, " degrees must be in 0..180");
  CHECK_OR_THROW(core::ConfigError, hflip_prob >= 0 && hflip_prob <= 1, "hflip probability ",
                 hflip_prob, " must be in [0, 1]");
  CHECK_OR_THROW(core::ConfigError, vflip_prob >= 0 && vflip_prob <= 1, "vflip probability ",
                 vflip_prob, " must be in [0, 1]");
}

uint64_t augment_seed(uint64_t job_seed, int epoch, uint64_t sample) {
  return core::mix64(core::mix64(job_seed ^ core::mix64(static_cast<uint64_t>(epoch) + 1)) + sample);
}

AugmentDraw draw_augment(const AugmentOptions& options, uint64_t seed) {
  AugmentDraw d;
  if (!options.enabled()) return d;
  core::Rng rng(seed);
  // Always three draws in this order, so one option never shifts another's.
  const double a = rng.uniform01(), h = rng.uniform01(), v = rng.uniform01();
  d.angle_deg = (2 * a - 1) * options.max_rotation_deg;
  d.hflip = h < options.hflip_prob;
  d.vflip = v < options.vflip_prob;
  return d;
}

void render_patch(std::span<const uint8_t> in, int height, int width, const AugmentDraw& draw,
                  const Normalize& norm, std::span<float> out) {
  const size_t n = static_cast<size_t>(height) * width;
  INTERNAL_ASSERT(in.size() == n && out.size() == n && norm.std > 0);
  const float scale = 1.0f / (255.0f * norm.std), shift = norm.mean / norm.std;
  if (draw.angle_deg == 0 && !draw.hflip && !draw.vflip) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) * scale - shift;
    return;
  }
  // For every output pixel, the source point: undo the flips, then the rotation.
  const double t = draw.angle_deg * std::numbers::pi / 180.0;
  const double c = std::cos(t), s = std::sin(t);
  const double cy = (height - 1) / 2.0, cx = (width - 1) / 2.0;
  for (int r = 0; r < height; ++r) {
    const double fy = (draw.vflip ? height - 1 - r : r) - cy;
    for (int q = 0; q < width; ++q) {
      const double fx = (draw.hflip ? width - 1 - q : q) - cx;
      double sx = c * fx + s * fy + cx, sy = -s * fx + c * fy + cy;
      sx = std::clamp(sx, 0.0, width - 1.0);
      sy = std::clamp(sy, 0.0, height - 1.0);
      const int x0 = std::min(static_cast<int>(sx), width - 2 < 0 ? 0 : width - 2);
      const int y0 = std::min(static_cast<int>(sy), height - 2 < 0 ? 0 : height - 2);
      const int x1 = std::min(x0 + 1, width - 1), y1 = std::min(y0 + 1, height - 1);
      const double ax = sx - x0, ay = sy - y0;
      const uint8_t* row0 = in.data() + static_cast<size_t>(y0) * width;
      const uint8_t* row1 = in.data() + static_cast<size_t>(y1) * width;
      const double top = row0[x0] + ax * (row0[x1] - row0[x0]);
      const double bottom = row1[x0] + ax * (row1[x1] - row1[x0]);
      out[static_cast<size_t>(r) * width + q] =
          static_cast<float>(top + ay * (bottom - top)) * scale - shift;
    }
  }
}

}  // namespace fracsweep::datastore
