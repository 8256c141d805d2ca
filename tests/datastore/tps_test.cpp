#include "datastore/tps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::datastore {
namespace {

std::vector<Point2> points(const nlohmann::json& j) {
  std::vector<Point2> out;
  for (const auto& p : j) out.push_back({p[0].get<double>(), p[1].get<double>()});
  return out;
}

// SciPy's RBFInterpolator is the oracle (tests/fixtures/datastore/make_tps_fixture.py).
TEST(ThinPlateSpline, MatchesScipyRbfInterpolator) {
  std::ifstream in(testing::fixture("datastore/tps.json"));
  ASSERT_TRUE(in) << "missing fixture tps.json";
  const auto fixture = nlohmann::json::parse(in);
  ASSERT_GE(fixture["cases"].size(), 4u);
  for (const auto& c : fixture["cases"]) {
    const auto from = points(c["from"]), to = points(c["to"]);
    const auto queries = points(c["queries"]), expected = points(c["expected"]);
    const auto t = ThinPlateSpline::fit(from, to, c["smoothing"].get<double>());
    for (size_t k = 0; k < queries.size(); ++k) {
      const Point2 got = t(queries[k]);
      EXPECT_NEAR(got.x, expected[k].x, 1e-6) << c["name"] << " query " << k;
      EXPECT_NEAR(got.y, expected[k].y, 1e-6) << c["name"] << " query " << k;
    }
  }
}

TEST(ThinPlateSpline, InterpolatesLandmarksAndReproducesAffineMaps) {
  const std::vector<Point2> from = {{10, 10}, {200, 20}, {50, 180}, {220, 230}, {120, 110}, {30, 90}};
  std::vector<Point2> bent = from, affine;
  bent[4] = {131, 97};
  for (const Point2& p : from) affine.push_back({3 + 1.1 * p.x - 0.2 * p.y, -7 + 0.3 * p.x + 0.9 * p.y});
  const auto t = ThinPlateSpline::fit(from, bent);
  for (size_t i = 0; i < from.size(); ++i) {
    EXPECT_NEAR(t(from[i]).x, bent[i].x, 1e-8);
    EXPECT_NEAR(t(from[i]).y, bent[i].y, 1e-8);
  }
  // An affine map has no bending: the spline is that map everywhere.
  const auto a = ThinPlateSpline::fit(from, affine);
  for (const Point2 q : {Point2{0, 0}, Point2{500, -40}, Point2{77, 333}}) {
    EXPECT_NEAR(a(q).x, 3 + 1.1 * q.x - 0.2 * q.y, 1e-7);
    EXPECT_NEAR(a(q).y, -7 + 0.3 * q.x + 0.9 * q.y, 1e-7);
  }
}

TEST(ThinPlateSpline, RefusesDegenerateLandmarks) {
  const std::vector<Point2> line = {{0, 0}, {1, 1}, {2, 2}, {3, 3}};
  EXPECT_THROW(ThinPlateSpline::fit(line, line), core::ConfigError);
  const std::vector<Point2> two = {{0, 0}, {1, 0}};
  EXPECT_THROW(ThinPlateSpline::fit(two, two), core::ConfigError);
  const std::vector<Point2> three = {{0, 0}, {1, 0}, {0, 1}};
  EXPECT_THROW(ThinPlateSpline::fit(three, two), core::ConfigError);
  const std::vector<Point2> nan = {{0, 0}, {1, 0}, {0, std::nan("")}};
  EXPECT_THROW(ThinPlateSpline::fit(nan, three), core::ConfigError);
}

TEST(SamplingGrid, CellCentresAndNormalisation) {
  const std::vector<Point2> from = {{0, 0}, {63, 0}, {0, 31}, {63, 31}};
  const auto identity = ThinPlateSpline::fit(from, from);
  const SamplingGrid g = sampling_grid(identity, 32, 64, 8, 32, 64);
  ASSERT_EQ(g.rows, 4);
  ASSERT_EQ(g.cols, 8);
  // Cell (1, 2) covers pixels 16..23 x 8..15: centre (19.5, 11.5).
  EXPECT_NEAR(g.x(1, 2), to_normalised(19.5, 64), 1e-6);
  EXPECT_NEAR(g.y(1, 2), to_normalised(11.5, 32), 1e-6);
  // The identity grid at stride 8 is exactly linear, so reading it anywhere
  // inside gives the pixel itself.
  const Point2 at = grid_at(g, 40.25, 13);
  EXPECT_NEAR(from_normalised(at.x, 64), 40.25, 1e-4);
  EXPECT_NEAR(from_normalised(at.y, 32), 13, 1e-4);
  EXPECT_NEAR(to_normalised(-0.5, 10), -1, 1e-12);
  EXPECT_NEAR(to_normalised(9.5, 10), 1, 1e-12);
  EXPECT_THROW(sampling_grid(identity, 32, 64, 5, 32, 64), core::ConfigError);
}

// What the model does to features (F.interpolate of the coarse grid, then
// grid_sample, both align_corners=False, zeros outside), warp_image does to an
// image: PyTorch is the oracle (tests/fixtures/datastore/make_grid_sample_fixture.py).
TEST(WarpImage, MatchesTorchGridSampleOfTheResizedGrid) {
  std::ifstream in(testing::fixture("datastore/grid_sample.json"));
  ASSERT_TRUE(in) << "missing fixture grid_sample.json";
  const auto f = nlohmann::json::parse(in);
  const int h = f["height"], w = f["width"], stride = f["stride"];
  SamplingGrid g;
  g.rows = h / stride;
  g.cols = w / stride;
  g.stride = stride;
  g.src_height = h;
  g.src_width = w;
  g.xy = f["grid"].get<std::vector<float>>();
  const auto image = f["image"].get<std::vector<uint8_t>>();
  const auto expected = f["expected"].get<std::vector<double>>();
  const auto got = warp_image(image, g, h, w);
  ASSERT_EQ(got.size(), expected.size());
  int zeros = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 0.51) << "pixel " << i % w << ", " << i / w;
    zeros += expected[i] == 0;
  }
  EXPECT_GT(zeros, 0) << "the fixture should reach outside the image";
}

// A smooth test card: gradients and soft discs, so bilinear resampling loses little.
std::vector<uint8_t> card(int h, int w) {
  std::vector<uint8_t> img(static_cast<size_t>(h) * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = 60 + 0.3 * x + 0.2 * y;
      for (const auto& [cx, cy, r] : {std::tuple{60.0, 50.0, 25.0}, std::tuple{170.0, 70.0, 30.0}}) {
        const double d = std::hypot(x - cx, y - cy) / r;
        if (d < 1) v += 90 * (1 - d * d) * (1 - d * d);
      }
      img[static_cast<size_t>(y) * w + x] = static_cast<uint8_t>(std::min(255.0, v));
    }
  return img;
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int h, int w,
                     int border) {
  double sum = 0;
  int n = 0;
  for (int y = border; y < h - border; ++y)
    for (int x = border; x < w - border; ++x, ++n)
      sum += std::abs(a[static_cast<size_t>(y) * w + x] - b[static_cast<size_t>(y) * w + x]);
  return sum / n;
}

TEST(WarpImage, KnownWarpAndItsInverseReturnTheImage) {
  constexpr int h = 128, w = 256;
  const auto src = card(h, w);
  std::vector<Point2> p, q;
  for (int gy = 0; gy < 4; ++gy)
    for (int gx = 0; gx < 4; ++gx) {
      const double x = 10 + gx * 78, y = 8 + gy * 37;
      p.push_back({x, y});
      q.push_back({x + 9 * std::sin(0.05 * y), y + 6 * std::cos(0.03 * x)});
    }
  const auto forward = ThinPlateSpline::fit(p, q);  // out(x) = src(forward(x))
  const auto back = ThinPlateSpline::fit(q, p);
  const auto warped = warp_image(src, sampling_grid(forward, h, w, 1, h, w), h, w);
  const auto restored = warp_image(warped, sampling_grid(back, h, w, 1, h, w), h, w);
  const double moved = mean_abs_diff(warped, src, h, w, 20);
  const double returned = mean_abs_diff(restored, src, h, w, 20);
  EXPECT_GT(moved, 3.0) << "the warp must move the image for this test to mean anything";
  EXPECT_LT(returned, 1.0) << "mean abs difference after warping back";
  // The same at the stored stride: the grid is interpolated between cell centres.
  const auto coarse = warp_image(src, sampling_grid(forward, h, w, 8, h, w), h, w);
  EXPECT_LT(mean_abs_diff(coarse, warped, h, w, 20), 1.0);
}

}  // namespace
}  // namespace fracsweep::datastore
