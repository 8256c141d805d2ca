#include "datastore/augment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace fracsweep::datastore {
namespace {

constexpr int kH = 7, kW = 5;

std::vector<uint8_t> ramp() {
  std::vector<uint8_t> in(kH * kW);
  for (int i = 0; i < kH * kW; ++i) in[i] = static_cast<uint8_t>(7 * i + (i % 3) * 11);
  return in;
}

std::vector<float> render(const std::vector<uint8_t>& in, int h, int w, AugmentDraw d,
                          Normalize n = {}) {
  std::vector<float> out(in.size());
  render_patch(in, h, w, d, n, out);
  return out;
}

TEST(Augment, IdentityNormalises) {
  const auto in = ramp();
  const auto out = render(in, kH, kW, {}, {0.25f, 0.5f});
  for (size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(out[i], (in[i] / 255.0f - 0.25f) / 0.5f, 1e-6);
}

TEST(Augment, FlipsMirrorExactly) {
  const auto in = ramp();
  const auto base = render(in, kH, kW, {});
  const auto h = render(in, kH, kW, {0, true, false});
  const auto v = render(in, kH, kW, {0, false, true});
  for (int r = 0; r < kH; ++r)
    for (int c = 0; c < kW; ++c) {
      EXPECT_FLOAT_EQ(h[r * kW + c], base[r * kW + (kW - 1 - c)]);
      EXPECT_FLOAT_EQ(v[r * kW + c], base[(kH - 1 - r) * kW + c]);
    }
}

TEST(Augment, HalfTurnEqualsBothFlipsAndQuarterTurnTransposes) {
  const auto in = ramp();
  const auto turned = render(in, kH, kW, {180, false, false});
  const auto flipped = render(in, kH, kW, {0, true, true});
  for (size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(turned[i], flipped[i], 1e-4);
  // A square image turned by 90 degrees: each output pixel is an input pixel.
  std::vector<uint8_t> sq(36);
  for (int i = 0; i < 36; ++i) sq[i] = static_cast<uint8_t>(i * 5);
  const auto q = render(sq, 6, 6, {90, false, false}, {0, 1});
  const auto base = render(sq, 6, 6, {}, {0, 1});
  std::vector<float> sorted_q = q, sorted_b = base;
  for (auto& x : sorted_q) x = std::round(x * 255);
  for (auto& x : sorted_b) x = std::round(x * 255);
  std::sort(sorted_q.begin(), sorted_q.end());
  std::sort(sorted_b.begin(), sorted_b.end());
  EXPECT_EQ(sorted_q, sorted_b);
  EXPECT_NE(q, base);
}

TEST(Augment, SmallRotationStaysCloseAndReplicatesEdges) {
  std::vector<uint8_t> flat(kH * kW, 200);
  const auto out = render(flat, kH, kW, {7, false, false}, {0, 1});
  for (float x : out) EXPECT_NEAR(x, 200 / 255.0f, 1e-5);  // no dark corners
}

TEST(Augment, DrawsDependOnSeedOnly) {
  AugmentOptions o{15, 0.5, 0.5};
  const auto a = draw_augment(o, augment_seed(1, 0, 42));
  const auto b = draw_augment(o, augment_seed(1, 0, 42));
  EXPECT_EQ(a.angle_deg, b.angle_deg);
  EXPECT_EQ(a.hflip, b.hflip);
  int hflips = 0, vflips = 0, differ = 0;
  for (uint64_t s = 0; s < 400; ++s) {
    const auto d = draw_augment(o, augment_seed(1, 3, s));
    EXPECT_LE(std::abs(d.angle_deg), 15.0);
    hflips += d.hflip;
    vflips += d.vflip;
    differ += d.angle_deg != draw_augment(o, augment_seed(1, 4, s)).angle_deg;
  }
  EXPECT_NEAR(hflips, 200, 50);
  EXPECT_NEAR(vflips, 200, 50);
  EXPECT_EQ(differ, 400);  // another epoch, another draw
  const auto none = draw_augment({}, 99);
  EXPECT_EQ(none.angle_deg, 0);
  EXPECT_FALSE(none.hflip || none.vflip);
}

TEST(Augment, RejectsBadOptions) {
  EXPECT_THROW((AugmentOptions{-1, 0, 0}.validate()), core::ConfigError);
  EXPECT_THROW((AugmentOptions{0, 1.5, 0}.validate()), core::ConfigError);
  EXPECT_NO_THROW((AugmentOptions{10, 0.5, 0}.validate()));
}

}  // namespace
}  // namespace fracsweep::datastore
