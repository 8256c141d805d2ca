#include "datastore/pelvis_geometry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "core/error.h"

namespace fracsweep::datastore {
namespace {

// Landmarks symmetric about the line through `c` along the unit vector `d`:
// each left landmark is given by (lateral offset, position along the line).
PelvisLandmarks symmetric_landmarks(Point2 c, Point2 d) {
  const Point2 n{-d.y, d.x};  // towards image-left when d points down
  const double lateral[7] = {60, 62, 85, 35, 18, 75, 110};
  const double along[7] = {-10, 25, 20, 8, -25, 55, -30};
  PelvisLandmarks l;
  for (int k = 0; k < 7; ++k) {
    const Point2 m{c.x + along[k] * d.x, c.y + along[k] * d.y};
    l[k] = {m.x + lateral[k] * n.x, m.y + lateral[k] * n.y};
    l[k + 7] = {m.x - lateral[k] * n.x, m.y - lateral[k] * n.y};
  }
  l[14] = {c.x - 20 * d.x, c.y - 20 * d.y};
  l[15] = {c.x + 15 * d.x, c.y + 15 * d.y};
  return l;
}

TEST(PelvisLandmarks, PartnersAndNames) {
  std::set<std::string> names;
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    EXPECT_EQ(landmark_partner(landmark_partner(k)), k);
    names.insert(landmark_name(k));
  }
  EXPECT_EQ(names.size(), 16u);
  EXPECT_EQ(landmark_partner(3), 10);
  EXPECT_EQ(landmark_partner(14), 14);
}

TEST(SymmetryAxis, RecoversTheLineOfSymmetry) {
  const double a = 0.12;
  const Point2 c{300, 210}, d{std::sin(a), std::cos(a)};
  const auto l = symmetry_axis(symmetric_landmarks(c, {-d.x, -d.y}));
  EXPECT_NEAR(l.direction.x, d.x, 1e-9);
  EXPECT_NEAR(l.direction.y, d.y, 1e-9);
  // c lies on the recovered line.
  const double off = (c.x - l.point.x) * -l.direction.y + (c.y - l.point.y) * l.direction.x;
  EXPECT_NEAR(off, 0, 1e-9);
  const Point2 p{17, 40}, r = reflect(p, l), back = reflect(r, l);
  EXPECT_NEAR(back.x, p.x, 1e-9);
  EXPECT_NEAR(back.y, p.y, 1e-9);
  PelvisLandmarks bad{};
  bad[3].x = std::nan("");
  EXPECT_THROW(symmetry_axis(bad), core::ConfigError);
}

TEST(RoiBox, HasTheOutputAspectAndHoldsTheLandmarks) {
  const auto l = symmetric_landmarks({300, 200}, {0, 1});
  const RoiBox b = roi_box(l, 64, 128, 0.05);
  EXPECT_NEAR((b.x1 - b.x0) / (b.y1 - b.y0), 2.0, 1e-12);
  for (const Point2& p : l) {
    const Point2 r = to_roi(b, 128, p);
    EXPECT_GT(r.x, 0);
    EXPECT_LT(r.x, 127);
    EXPECT_GT(r.y, 0);
    EXPECT_LT(r.y, 63);
    const Point2 s = from_roi(b, 128, r);
    EXPECT_NEAR(s.x, p.x, 1e-9);
    EXPECT_NEAR(s.y, p.y, 1e-9);
  }
}

// A source image with a tilted axis of symmetry, plus one mark on its left side only.
struct Source {
  int h = 420, w = 600;
  Line2 axis{{300, 210}, {std::sin(0.1), std::cos(0.1)}};
  std::vector<uint8_t> pixels;
  Point2 mark;
};

Source symmetric_source() {
  Source s;
  s.pixels.resize(static_cast<size_t>(s.h) * s.w);
  const Point2 n{-s.axis.direction.y, s.axis.direction.x};
  s.mark = {s.axis.point.x + 70 * n.x, s.axis.point.y + 70 * n.y};
  for (int y = 0; y < s.h; ++y)
    for (int x = 0; x < s.w; ++x) {
      const double u = (x - s.axis.point.x) * n.x + (y - s.axis.point.y) * n.y;  // across
      const double v = (x - s.axis.point.x) * s.axis.direction.x + (y - s.axis.point.y) * s.axis.direction.y;
      double value = 80 + 60 * std::cos(std::abs(u) / 17.0) * std::cos(v / 23.0);
      if (std::hypot(x - s.mark.x, y - s.mark.y) < 6) value = 250;
      s.pixels[static_cast<size_t>(y) * s.w + x] = static_cast<uint8_t>(value);
    }
  return s;
}

TEST(PelvisView, SymmetricImageGivesItsOwnTwinAndTheMarkOnlyOnOneSide) {
  const Source s = symmetric_source();
  const auto l = symmetric_landmarks(s.axis.point, {-s.axis.direction.x, -s.axis.direction.y});
  PelvisViewOptions o;
  o.height = 96;
  o.width = 192;
  o.warp_stride = 8;
  const PelvisView v = make_pelvis_view(s.pixels, s.h, s.w, l, std::vector<Point2>{s.mark}, o);
  // Exactly symmetric landmarks: the twin's landmarks are the image's, the warp the identity.
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    EXPECT_NEAR(v.landmarks_flipped[k].x, v.landmarks[k].x, 1e-6) << k;
    EXPECT_NEAR(v.landmarks_flipped[k].y, v.landmarks[k].y, 1e-6) << k;
  }
  const auto twin = warp_image(v.flipped, v.warp, o.height, o.width);
  ASSERT_EQ(v.points.size(), 1u);
  const Point2 m = v.points[0];
  const Point2 mirrored = to_roi(roi_box(l, o.height, o.width, o.roi_margin), o.width,
                                 reflect(s.mark, s.axis));
  double away = 0;
  int n = 0;
  for (int y = 8; y < o.height - 8; ++y)
    for (int x = 8; x < o.width - 8; ++x) {
      const double dm = std::hypot(x - m.x, y - m.y), dr = std::hypot(x - mirrored.x, y - mirrored.y);
      if (dm < 6 || dr < 6) continue;
      const size_t i = static_cast<size_t>(y) * o.width + x;
      away += std::abs(v.image[i] - twin[i]);
      ++n;
    }
  EXPECT_LT(away / n, 2.0) << "a symmetric image differs from its twin";
  const auto at = [&](const std::vector<uint8_t>& img, Point2 p) {
    return img[static_cast<size_t>(std::lround(p.y)) * o.width + static_cast<size_t>(std::lround(p.x))];
  };
  // M-hat marks the point and its mirror image, nothing far from both.
  const auto hat = contrast_mask(v, 5);
  const auto mask_at = [&](Point2 p) {
    return hat[static_cast<size_t>(std::lround(p.y)) * o.width + static_cast<size_t>(std::lround(p.x))];
  };
  EXPECT_EQ(mask_at(m), 1);
  EXPECT_EQ(mask_at(mirrored), 1);
  EXPECT_EQ(mask_at({o.width / 2.0, 5}), 0);
  size_t marked = 0;
  for (uint8_t x : hat) marked += x;
  EXPECT_NEAR(static_cast<double>(marked), 2 * 3.14159 * 25, 25) << "two discs of radius 5";
  EXPECT_GT(at(v.image, m), 240);    // the mark is in I ...
  EXPECT_LT(at(twin, m), 200);       // ... not in the twin at the same place ...
  EXPECT_GT(at(twin, mirrored), 240);  // ... which shows it on the other side.
}

TEST(PelvisView, WarpCarriesLandmarksOntoTheirMirroredPartners) {
  const Source s = symmetric_source();
  auto l = symmetric_landmarks(s.axis.point, {-s.axis.direction.x, -s.axis.direction.y});
  // Pose asymmetry: one side larger and shifted.
  for (int k = 7; k < 14; ++k) l[k] = {s.axis.point.x + 1.1 * (l[k].x - s.axis.point.x) + 4,
                                       s.axis.point.y + 1.05 * (l[k].y - s.axis.point.y) - 3};
  PelvisViewOptions o;
  o.height = 128;
  o.width = 256;
  const PelvisView v = make_pelvis_view(s.pixels, s.h, s.w, l, {}, o);
  const Line2 axis = symmetry_axis(l);
  PelvisLandmarks reflected;
  for (int k = 0; k < kPelvisLandmarks; ++k) reflected[k] = reflect(l[k], axis);
  const RoiBox box_f = roi_box(reflected, o.height, o.width, o.roi_margin);
  double worst = 0;
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    // In the source, landmark k of I_f is the reflection of k's partner.
    const Point2 src = reflect(from_roi(box_f, o.width, v.landmarks_flipped[k]), axis);
    EXPECT_NEAR(src.x, l[landmark_partner(k)].x, 1e-6) << k;
    EXPECT_NEAR(src.y, l[landmark_partner(k)].y, 1e-6) << k;
    // The stored grid takes I's landmark k to I_f's landmark k.
    const Point2 g = grid_at(v.warp, v.landmarks[k].x, v.landmarks[k].y);
    worst = std::max(worst, std::hypot(from_normalised(g.x, o.width) - v.landmarks_flipped[k].x,
                                       from_normalised(g.y, o.height) - v.landmarks_flipped[k].y));
  }
  EXPECT_LT(worst, 1.0) << "pixels between a landmark carried by the grid and its partner";
  // The flip takes I_f's landmark k to the I pixel of the same source point: I's partner(k).
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    const Point2 p = v.flip(v.landmarks_flipped[k]);
    EXPECT_NEAR(p.x, v.landmarks[landmark_partner(k)].x, 1e-6) << k;
    EXPECT_NEAR(p.y, v.landmarks[landmark_partner(k)].y, 1e-6) << k;
    const Point2 back = v.flip.inverse()(p);
    EXPECT_NEAR(back.x, v.landmarks_flipped[k].x, 1e-6) << k;
  }
}

TEST(PelvisView, FlippedMaskIsTheMaskOfTheFlippedPoints) {
  const Source s = symmetric_source();
  const std::vector<Point2> pts = {{250, 180}, {330, 260}};
  const auto src_mask = point_mask(pts, s.h, s.w, 20);
  std::vector<uint8_t> src255(src_mask.size());
  for (size_t i = 0; i < src_mask.size(); ++i) src255[i] = src_mask[i] * 255;
  const auto l = symmetric_landmarks(s.axis.point, {-s.axis.direction.x, -s.axis.direction.y});
  PelvisLandmarks reflected;
  for (int k = 0; k < kPelvisLandmarks; ++k) reflected[k] = reflect(l[k], s.axis);
  const RoiBox box_f = roi_box(reflected, 128, 256, 0.06);
  const auto flipped = crop_roi(src255, s.h, s.w, box_f, 128, 256, &s.axis);
  std::vector<Point2> flipped_points;
  for (const Point2& p : pts) flipped_points.push_back(to_roi(box_f, 256, reflect(p, s.axis)));
  const auto expected = point_mask(flipped_points, 128, 256, 20 / box_f.scale(256));
  size_t both = 0, either = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const bool a = flipped[i] >= 128, b = expected[i] != 0;
    both += a && b;
    either += a || b;
  }
  ASSERT_GT(either, 100u);
  EXPECT_GT(static_cast<double>(both) / either, 0.95) << "intersection over union";
}

TEST(PointMask, DiscsOfTheRadiusClippedToTheImage) {
  const auto m = point_mask(std::vector<Point2>{{10, 10}, {0, 0}}, 40, 50, 5);
  size_t ones = 0;
  for (uint8_t v : m) ones += v;
  // A full disc of radius 5 holds 81 lattice points; the quarter at the corner
  // (x, y >= 0, x^2 + y^2 <= 25) holds 6 + 5 + 5 + 5 + 4 + 1 = 26.
  EXPECT_EQ(ones, 81u + 26u);
  EXPECT_EQ(m[10 * 50 + 15], 1);
  EXPECT_EQ(m[10 * 50 + 16], 0);
  EXPECT_THROW(point_mask({}, 0, 5, 1), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::datastore
