#include "datastore/phantom_pelvis.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace fracsweep::datastore {
namespace {

PelvisPhantomOptions small(double difficulty = 0.5) {
  PelvisPhantomOptions o;
  o.images = 40;
  o.fractured = 20;
  o.height = 128;
  o.width = 256;
  o.difficulty = difficulty;
  o.seed = 3;
  return o;
}

TEST(PelvisPhantom, ExactlyTheRequestedFracturedImages) {
  PelvisPhantomOptions o;  // the paper's 2,359 images, 759 fractured
  const auto labels = pelvis_labels(o);
  ASSERT_EQ(labels.size(), 2359u);
  int fractured = 0;
  for (int32_t l : labels) fractured += l;
  EXPECT_EQ(fractured, 759);
  o.seed = 1;
  EXPECT_NE(pelvis_labels(o), labels);
}

TEST(PelvisPhantom, ValidatesItsOptions) {
  auto o = small();
  o.height = 100;
  EXPECT_THROW(validate(o), core::ConfigError);
  o = small();
  o.fractured = 41;
  EXPECT_THROW(validate(o), core::ConfigError);
  o = small();
  o.warp_stride = 3;
  EXPECT_THROW(validate(o), core::ConfigError);
  o = small();
  o.difficulty = 1.5;
  EXPECT_THROW(validate(o), core::ConfigError);
  o = small();
  o.width = 1024;  // 1:8
  EXPECT_THROW(validate(o), core::ConfigError);
}

TEST(PelvisPhantom, DeterministicAndConsistent) {
  const auto o = small();
  const PelvisPhantom a = synth_pelvis_image(o, 5, 1), b = synth_pelvis_image(o, 5, 1);
  EXPECT_EQ(a.view.image, b.view.image);
  EXPECT_EQ(a.view.flipped, b.view.flipped);
  EXPECT_EQ(a.view.warp.xy, b.view.warp.xy);
  EXPECT_EQ(a.id, "X0005");
  const PelvisPhantom c = synth_pelvis_image(o, 6, 1);
  EXPECT_NE(a.view.image, c.view.image);
  for (int i = 0; i < 12; ++i) {
    const int32_t label = i % 2;
    const PelvisPhantom p = synth_pelvis_image(o, i, label);
    EXPECT_EQ(p.view.points.empty(), label == 0) << i;
    for (const Point2& q : p.view.points) {
      EXPECT_GE(q.x, 0);
      EXPECT_LE(q.x, o.width - 1);
      EXPECT_GE(q.y, 0);
      EXPECT_LE(q.y, o.height - 1);
    }
    for (const Point2& q : p.view.landmarks) {
      EXPECT_GT(q.x, 0) << i;
      EXPECT_LT(q.x, o.width - 1) << i;
      EXPECT_GT(q.y, 0) << i;
      EXPECT_LT(q.y, o.height - 1) << i;
    }
    // The ROI shows bone and background, not a blank or saturated frame.
    double mean = 0;
    for (uint8_t v : p.view.image) mean += v;
    mean /= p.view.image.size();
    EXPECT_GT(mean, 40) << i;
    EXPECT_LT(mean, 200) << i;
  }
}

// What AASN relies on: a fracture is an asymmetry, so it shows in |I - twin|
// (the image against its flipped, warped twin). The same patient without the
// fracture (fractures draw from their own random stream) is the control.
double mean_diff_near(const PelvisView& v, Point2 p, double r) {
  const auto twin = warp_image(v.flipped, v.warp, v.height, v.width);
  double sum = 0;
  int n = 0;
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x)
      if (std::hypot(x - p.x, y - p.y) <= r) {
        const size_t i = static_cast<size_t>(y) * v.width + x;
        sum += std::abs(v.image[i] - twin[i]);
        ++n;
      }
  return n ? sum / n : 0;
}

TEST(PelvisPhantom, FracturesShowAsAsymmetryAgainstTheWarpedTwin) {
  for (const auto& [d, factor] : {std::pair{0.0, 1.5}, std::pair{0.5, 1.2}}) {
    const auto o = small(d);
    double with = 0, without = 0;
    int n = 0;
    for (int i = 0; i < 16; ++i) {
      const PelvisPhantom p = synth_pelvis_image(o, i, 1), q = synth_pelvis_image(o, i, 0);
      EXPECT_EQ(p.view.landmarks, q.view.landmarks) << "same patient but for the fracture";
      for (const Point2& pt : p.view.points) {
        with += mean_diff_near(p.view, pt, 4);
        without += mean_diff_near(q.view, pt, 4);
        ++n;
      }
    }
    ASSERT_GT(n, 0);
    EXPECT_GT(with / n, factor * (without / n))
        << "difficulty " << d << ": |I - twin| near fractures " << with / n
        << ", at the same places without them " << without / n;
  }
}

}  // namespace
}  // namespace fracsweep::datastore
