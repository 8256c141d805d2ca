#include "datastore/phantom_pelvis.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "datastore/phantom_pelvis_probe.h"

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
  for (const double error : {-0.1, 25.0}) {
    o = small();
    o.landmark_error_mm = error;
    EXPECT_THROW(validate(o), core::ConfigError) << error;
  }
  o = small();
  o.landmark_error_mm = 0;
  EXPECT_NO_THROW(validate(o));
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

// The landmark detector's error moves the landmarks by its size, and with them the
// ROI and the symmetry axis (placed from the landmarks, as for real images) and the
// warp; exact landmarks align the warped twin with the image best.
TEST(PelvisPhantom, TheLandmarkErrorMovesTheLandmarksByItsSize) {
  auto exact = small(0), noisy = small(0);
  exact.landmark_error_mm = 0;
  noisy.landmark_error_mm = 2;
  const double px_per_mm = exact.width / kPelvisRoiWidthMm;  // nominal; pose scales +/-8 %
  double sum2 = 0, diff_exact = 0, diff_noisy = 0;
  int n = 0;
  for (int i = 0; i < 20; ++i) {
    const PelvisPhantom a = synth_pelvis_image(exact, i, 0), b = synth_pelvis_image(noisy, i, 0);
    // The ROI follows the landmarks' mean: what is left is each landmark's own error.
    Point2 mean{0, 0};
    for (int k = 0; k < kPelvisLandmarks; ++k) {
      mean.x += (b.view.landmarks[k].x - a.view.landmarks[k].x) / kPelvisLandmarks;
      mean.y += (b.view.landmarks[k].y - a.view.landmarks[k].y) / kPelvisLandmarks;
    }
    for (int k = 0; k < kPelvisLandmarks; ++k) {
      const double dx = b.view.landmarks[k].x - a.view.landmarks[k].x - mean.x;
      const double dy = b.view.landmarks[k].y - a.view.landmarks[k].y - mean.y;
      sum2 += dx * dx + dy * dy;
      n += 2;
    }
    for (const PelvisPhantom* p : {&a, &b}) {
      const auto twin = warp_image(p->view.flipped, p->view.warp, p->view.height, p->view.width);
      double d = 0;
      for (size_t j = 0; j < twin.size(); ++j) d += std::abs(p->view.image[j] - twin[j]);
      (p == &a ? diff_exact : diff_noisy) += d / twin.size();
    }
  }
  const double sd_mm = std::sqrt(sum2 / n) / px_per_mm;
  EXPECT_GT(sd_mm, 1.7);  // 2.02 with this seed
  EXPECT_LT(sd_mm, 2.3);
  EXPECT_LT(diff_exact, 0.8 * diff_noisy)
      << "|I - warped twin| per pixel: exact landmarks " << diff_exact / 20 << ", 2 mm "
      << diff_noisy / 20;
}

// The probe's detector: a dark line across a bright block responds on the line, the
// block's flat inside responds nothing, and the dark background is off the bone.
TEST(PelvisProbe, TheDarkLineResponseFindsALineOnBoneAndNothingElse) {
  const int h = 32, w = 64;
  std::vector<uint8_t> image(static_cast<size_t>(h * w), 20);
  for (int y = 8; y < 24; ++y)
    for (int x = 16; x < 48; ++x) image[static_cast<size_t>(y * w + x)] = x == 30 ? 0 : 200;
  const std::vector<float> r = dark_line_response(image, h, w, 4);
  const auto at = [&](int y, int x) { return r[static_cast<size_t>(y * w + x)]; };
  // The line's 3 x 3 mean is 400 / 3, and 4 pixels to either side it is 200.
  EXPECT_NEAR(at(16, 30), 200 - 400.0 / 3, 1e-3);
  EXPECT_FLOAT_EQ(at(16, 16), 0.0f);  // the block's edge: dark on one side only
  EXPECT_FLOAT_EQ(at(16, 40), 0.0f);
  EXPECT_FLOAT_EQ(at(1, 1), 0.0f);
}

// The model-free probe (FIDELITY.md): in one image alone a dark-line detector
// tells fractures from the vascular channels around them only in part; less its
// mirrored side it does clearly better (a channel has its twin there, a fracture
// has none); both fall with difficulty.
TEST(PelvisProbe, OneSideAloneLeavesHeadroomThatTheMirroredSideRecovers) {
  PelvisPhantomOptions o = small(0.5);
  o.images = 120;
  o.fractured = 40;
  const PelvisProbe mid = probe_pelvis_phantom(o);
  std::printf("d=0.5: alone %.3f, against the mirrored side %.3f (%zu fractures, %zu channels)\n",
              mid.lone, mid.mirrored, mid.fractures, mid.variants);
  ASSERT_GE(mid.fractures, 40u);
  ASSERT_GT(mid.variants, 100u);
  EXPECT_LT(mid.lone, 0.8);
  EXPECT_GT(mid.mirrored, mid.lone + 0.02);
  o.difficulty = 0;
  const PelvisProbe easy = probe_pelvis_phantom(o);
  std::printf("d=0: alone %.3f, against the mirrored side %.3f\n", easy.lone, easy.mirrored);
  EXPECT_GT(easy.lone, mid.lone);
  EXPECT_GT(easy.mirrored, mid.mirrored);
  EXPECT_GT(easy.mirrored, easy.lone + 0.05);
}

// Every image's normal variants are on both sides, inside the image, and the same
// places with or without the image's fractures.
TEST(PelvisPhantom, NormalVariantsComeInMirroredPairs) {
  const auto o = small();
  size_t total = 0;
  for (int i = 0; i < 12; ++i) {
    const PelvisPhantom p = synth_pelvis_image(o, i, 1), q = synth_pelvis_image(o, i, 0);
    ASSERT_EQ(p.variants.size() % 2, 0u);
    ASSERT_EQ(p.variants.size(), q.variants.size());
    for (size_t k = 0; k < p.variants.size(); ++k) {
      EXPECT_EQ(p.variants[k].x, q.variants[k].x);
      EXPECT_GE(p.variants[k].x, 0);
      EXPECT_LT(p.variants[k].x, o.width);
    }
    for (size_t k = 0; k < p.variants.size(); k += 2)  // left and right of the axis
      EXPECT_LT((p.variants[k].x - o.width / 2.0) * (p.variants[k + 1].x - o.width / 2.0), 0);
    total += p.variants.size();
  }
  EXPECT_GT(total, 8u);
}

}  // namespace
}  // namespace fracsweep::datastore
