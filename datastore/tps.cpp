// See tps.h.
#include "datastore/tps.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fracsweep::datastore {
namespace {

using core::ConfigError;

double kernel(double dx, double dy) {
  const double r2 = dx * dx + dy * dy;
  return r2 > 0 ? 0.5 * r2 * std::log(r2) : 0.0;  // r^2 log r
}

}  // namespace

ThinPlateSpline ThinPlateSpline::fit(std::span<const Point2> from, std::span<const Point2> to,
                                     double smoothing) {
  CHECK_OR_THROW(ConfigError, from.size() == to.size(), "thin-plate spline: ", from.size(),
                 " source landmarks but ", to.size(), " targets");
  CHECK_OR_THROW(ConfigError, from.size() >= 3, "thin-plate spline: ", from.size(),
                 " landmarks, at least 3 needed");
  CHECK_OR_THROW(ConfigError, std::isfinite(smoothing) && smoothing >= 0,
                 "thin-plate spline: smoothing ", smoothing, " must be finite and >= 0");
  const auto n = static_cast<Eigen::Index>(from.size());
  for (Eigen::Index i = 0; i < n; ++i) {
    const Point2 a = from[static_cast<size_t>(i)], b = to[static_cast<size_t>(i)];
    CHECK_OR_THROW(ConfigError,
                   std::isfinite(a.x) && std::isfinite(a.y) && std::isfinite(b.x) &&
                       std::isfinite(b.y),
                   "thin-plate spline: landmark ", i, " is not finite");
  }
  // [K + sI  P] [w]   [v]
  // [P^T     0] [a] = [0]
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(n + 3, n + 3);
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(n + 3, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Point2 a = from[static_cast<size_t>(i)];
    for (Eigen::Index j = 0; j < n; ++j) {
      const Point2 b = from[static_cast<size_t>(j)];
      m(i, j) = kernel(a.x - b.x, a.y - b.y);
    }
    m(i, i) += smoothing;
    m(i, n) = m(n, i) = 1;
    m(i, n + 1) = m(n + 1, i) = a.x;
    m(i, n + 2) = m(n + 2, i) = a.y;
    rhs(i, 0) = to[static_cast<size_t>(i)].x;
    rhs(i, 1) = to[static_cast<size_t>(i)].y;
  }
  // Collinear (or coincident) landmarks leave the affine part undetermined.
  Eigen::MatrixXd p = m.block(0, n, n, 3);
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> affine(p);
  affine.setThreshold(1e-9);
  CHECK_OR_THROW(ConfigError, affine.rank() == 3,
                 "thin-plate spline: the landmarks are collinear; a warp needs at least 3 "
                 "points that are not on one line");
  Eigen::FullPivLU<Eigen::MatrixXd> lu(m);
  CHECK_OR_THROW(ConfigError, lu.isInvertible(),
                 "thin-plate spline: the landmark system is singular (two landmarks at the "
                 "same place with different targets?)");
  const Eigen::MatrixXd solution = lu.solve(rhs);

  ThinPlateSpline t;
  t.centres_.assign(from.begin(), from.end());
  t.wx_.resize(from.size());
  t.wy_.resize(from.size());
  for (Eigen::Index i = 0; i < n; ++i) {
    t.wx_[static_cast<size_t>(i)] = solution(i, 0);
    t.wy_[static_cast<size_t>(i)] = solution(i, 1);
  }
  for (int k = 0; k < 3; ++k) {
    t.ax_[k] = solution(n + k, 0);
    t.ay_[k] = solution(n + k, 1);
  }
  return t;
}

Point2 ThinPlateSpline::operator()(Point2 p) const {
  double x = ax_[0] + ax_[1] * p.x + ax_[2] * p.y;
  double y = ay_[0] + ay_[1] * p.x + ay_[2] * p.y;
  for (size_t i = 0; i < centres_.size(); ++i) {
    const double u = kernel(p.x - centres_[i].x, p.y - centres_[i].y);
    x += wx_[i] * u;
    y += wy_[i] * u;
  }
  return {x, y};
}

uint8_t sample_bilinear(std::span<const uint8_t> src, int height, int width, double x, double y,
                        uint8_t fill) {
  const auto at = [&](int r, int c) -> double {
    return r < 0 || c < 0 || r >= height || c >= width ? fill
                                                       : src[static_cast<size_t>(r) * width + c];
  };
  // Far outside the image every neighbour is `fill`; clamping keeps the casts defined.
  x = std::clamp(x, -2.0, width + 1.0);
  y = std::clamp(y, -2.0, height + 1.0);
  const double fx = std::floor(x), fy = std::floor(y);
  const int c = static_cast<int>(fx), r = static_cast<int>(fy);
  const double tx = x - fx, ty = y - fy;
  const double v = (at(r, c) * (1 - tx) + at(r, c + 1) * tx) * (1 - ty) +
                   (at(r + 1, c) * (1 - tx) + at(r + 1, c + 1) * tx) * ty;
  return static_cast<uint8_t>(std::clamp(v + 0.5, 0.0, 255.0));
}

SamplingGrid sampling_grid(const ThinPlateSpline& map, int height, int width, int stride,
                           int src_height, int src_width) {
  CHECK_OR_THROW(ConfigError, height > 0 && width > 0 && src_height > 0 && src_width > 0,
                 "sampling grid: sizes ", height, "x", width, " and ", src_height, "x", src_width,
                 " must be positive");
  CHECK_OR_THROW(ConfigError, stride > 0 && height % stride == 0 && width % stride == 0,
                 "sampling grid: stride ", stride, " must divide the size ", height, "x", width);
  SamplingGrid g;
  g.rows = height / stride;
  g.cols = width / stride;
  g.stride = stride;
  g.src_height = src_height;
  g.src_width = src_width;
  g.xy.resize(2 * static_cast<size_t>(g.rows) * g.cols);
  const double half = (stride - 1) / 2.0;
  for (int r = 0; r < g.rows; ++r) {
    for (int c = 0; c < g.cols; ++c) {
      const Point2 s = map({c * stride + half, r * stride + half});
      const size_t k = 2 * (static_cast<size_t>(r) * g.cols + c);
      g.xy[k] = static_cast<float>(to_normalised(s.x, src_width));
      g.xy[k + 1] = static_cast<float>(to_normalised(s.y, src_height));
    }
  }
  return g;
}

Point2 grid_at(const SamplingGrid& g, double x, double y) {
  const double half = (g.stride - 1) / 2.0;
  const double fc = std::clamp((x - half) / g.stride, 0.0, g.cols - 1.0);
  const double fr = std::clamp((y - half) / g.stride, 0.0, g.rows - 1.0);
  const int c0 = std::min(static_cast<int>(fc), g.cols - 1), r0 = std::min(static_cast<int>(fr), g.rows - 1);
  const int c1 = std::min(c0 + 1, g.cols - 1), r1 = std::min(r0 + 1, g.rows - 1);
  const double tc = fc - c0, tr = fr - r0;
  const auto mix = [&](auto get) {
    const double top = get(r0, c0) * (1 - tc) + get(r0, c1) * tc;
    const double bottom = get(r1, c0) * (1 - tc) + get(r1, c1) * tc;
    return top * (1 - tr) + bottom * tr;
  };
  return {mix([&](int r, int c) { return double{g.x(r, c)}; }),
          mix([&](int r, int c) { return double{g.y(r, c)}; })};
}

std::vector<uint8_t> warp_image(std::span<const uint8_t> src, const SamplingGrid& g, int height,
                                int width, uint8_t fill) {
  const int sh = g.src_height, sw = g.src_width;
  CHECK_OR_THROW(ConfigError, src.size() == static_cast<size_t>(sh) * sw, "warp: the source has ",
                 src.size(), " pixels, the grid expects ", sh, "x", sw);
  CHECK_OR_THROW(ConfigError, height == g.rows * g.stride && width == g.cols * g.stride,
                 "warp: output ", height, "x", width, " is not the grid's ", g.rows * g.stride,
                 "x", g.cols * g.stride);
  std::vector<uint8_t> out(static_cast<size_t>(height) * width);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const Point2 n = grid_at(g, x, y);
      out[static_cast<size_t>(y) * width + x] =
          sample_bilinear(src, sh, sw, from_normalised(n.x, sw), from_normalised(n.y, sh), fill);
    }
  }
  return out;
}

}  // namespace fracsweep::datastore
