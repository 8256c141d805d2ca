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
  // For every output pixel, the source point: undo the flips, then the
  // rotation. Along a row the source point moves by a constant step, so it is
  // advanced rather than recomputed.
  const double t = draw.angle_deg * std::numbers::pi / 180.0;
  const float c = static_cast<float>(std::cos(t)), s = static_cast<float>(std::sin(t));
  const float cy = (height - 1) / 2.0f, cx = (width - 1) / 2.0f;
  const float xmax = width - 1.0f, ymax = height - 1.0f;
  const float dq = draw.hflip ? -1.0f : 1.0f;  // output column step in flipped coordinates
  const int x_last = std::max(width - 2, 0), y_last = std::max(height - 2, 0);
  for (int r = 0; r < height; ++r) {
    const float fy = static_cast<float>(draw.vflip ? height - 1 - r : r) - cy;
    const float fx0 = static_cast<float>(draw.hflip ? width - 1 : 0) - cx;
    float sx = c * fx0 + s * fy + cx, sy = -s * fx0 + c * fy + cy;
    const float step_x = c * dq, step_y = -s * dq;
    float* dst = out.data() + static_cast<size_t>(r) * width;
    for (int q = 0; q < width; ++q, sx += step_x, sy += step_y) {
      const float x = std::clamp(sx, 0.0f, xmax), y = std::clamp(sy, 0.0f, ymax);
      const int x0 = std::min(static_cast<int>(x), x_last), y0 = std::min(static_cast<int>(y), y_last);
      const int x1 = std::min(x0 + 1, width - 1), y1 = std::min(y0 + 1, height - 1);
      const float ax = x - x0, ay = y - y0;
      const uint8_t* row0 = in.data() + static_cast<size_t>(y0) * width;
      const uint8_t* row1 = in.data() + static_cast<size_t>(y1) * width;
      const float top = row0[x0] + ax * (row0[x1] - row0[x0]);
      const float bottom = row1[x0] + ax * (row1[x1] - row1[x0]);
      dst[q] = (top + ay * (bottom - top)) * scale - shift;
    }
  }
}

}  // namespace fracsweep::datastore
