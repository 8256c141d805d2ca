// See phantom_pelvis_probe.h.
#include "datastore/phantom_pelvis_probe.h"

#include <algorithm>
#include <cmath>

#include "datastore/tps.h"
#include "metrics/ranking.h"

namespace fracsweep::datastore {
namespace {

// The mean over a (2r + 1)^2 box around every pixel, the box clipped at the border,
// from a summed-area table.
std::vector<float> box_mean(const std::vector<float>& in, int height, int width, int r) {
  const size_t w1 = static_cast<size_t>(width) + 1;
  std::vector<double> sat(static_cast<size_t>(height + 1) * w1, 0.0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      sat[(y + 1) * w1 + x + 1] = in[static_cast<size_t>(y) * width + x] + sat[y * w1 + x + 1] +
                                  sat[(y + 1) * w1 + x] - sat[y * w1 + x];
  std::vector<float> out(in.size());
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int y0 = std::max(0, y - r), y1 = std::min(height, y + r + 1);
      const int x0 = std::max(0, x - r), x1 = std::min(width, x + r + 1);
      const double sum = sat[y1 * w1 + x1] - sat[y0 * w1 + x1] - sat[y1 * w1 + x0] + sat[y0 * w1 + x0];
      out[static_cast<size_t>(y) * width + x] = static_cast<float>(sum / ((y1 - y0) * (x1 - x0)));
    }
  return out;
}

// The largest value in a (2r + 1)^2 box around every pixel: a mirrored line that the
// warp puts a few pixels off still cancels the line it mirrors.
std::vector<float> box_max(const std::vector<float>& in, int height, int width, int r) {
  std::vector<float> rows(in.size()), out(in.size());
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      float m = in[static_cast<size_t>(y) * width + x];
      for (int k = std::max(0, x - r); k <= std::min(width - 1, x + r); ++k)
        m = std::max(m, in[static_cast<size_t>(y) * width + k]);
      rows[static_cast<size_t>(y) * width + x] = m;
    }
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      float m = rows[static_cast<size_t>(y) * width + x];
      for (int k = std::max(0, y - r); k <= std::min(height - 1, y + r); ++k)
        m = std::max(m, rows[static_cast<size_t>(k) * width + x]);
      out[static_cast<size_t>(y) * width + x] = m;
    }
  return out;
}

double auc(const std::vector<double>& score, const std::vector<uint8_t>& positive) {
  return metrics::ranking_metrics(score, positive).auc;
}

// The largest score within `reach` pixels of p.
double max_near(const std::vector<float>& score, int height, int width, Point2 p, double reach) {
  double best = 0;
  const int r = static_cast<int>(std::ceil(reach));
  const int cx = static_cast<int>(std::lround(p.x)), cy = static_cast<int>(std::lround(p.y));
  for (int y = std::max(0, cy - r); y <= std::min(height - 1, cy + r); ++y)
    for (int x = std::max(0, cx - r); x <= std::min(width - 1, cx + r); ++x)
      if ((x - p.x) * (x - p.x) + (y - p.y) * (y - p.y) <= reach * reach)
        best = std::max(best, static_cast<double>(score[static_cast<size_t>(y) * width + x]));
  return best;
}

}  // namespace

std::vector<float> dark_line_response(std::span<const uint8_t> image, int height, int width,
                                      int radius) {
  const std::vector<float> grey(image.begin(), image.end());
  const std::vector<float> smooth = box_mean(grey, height, width, 1);
  const std::vector<float> around = box_mean(smooth, height, width, 2 * radius);
  std::vector<float> sorted = grey;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2), sorted.end());
  const float median = sorted[sorted.size() / 2];
  const auto at = [&](int y, int x) {
    return smooth[static_cast<size_t>(std::clamp(y, 0, height - 1)) * width +
                  std::clamp(x, 0, width - 1)];
  };
  // A valley across direction (dx, dy): darker than the pixels `radius` away on both
  // sides (an edge is darker than one side only), averaged along the line over
  // +-radius so that a line outweighs a speck of noise.
  constexpr int kDirections[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
  std::vector<float> out(grey.size(), 0.0f);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      if (around[static_cast<size_t>(y) * width + x] <= median) continue;  // off the bone
      float best = 0;
      for (const auto& d : kDirections) {
        float sum = 0;
        for (int t = -radius; t <= radius; ++t) {
          const int cy = y + t * d[0], cx = x - t * d[1];  // along the line
          const float c = at(cy, cx);
          sum += std::min(at(cy + radius * d[1], cx + radius * d[0]) - c,
                          at(cy - radius * d[1], cx - radius * d[0]) - c);
        }
        best = std::max(best, sum / (2 * radius + 1));
      }
      out[static_cast<size_t>(y) * width + x] = best;
    }
  return out;
}

PelvisProbe probe_pelvis_phantom(const PelvisPhantomOptions& options) {
  validate(options);
  const int h = options.height, w = options.width;
  // A line is one or two pixels wide at 256 columns; the landmark warp puts a mirrored
  // line up to a few pixels off.
  const int radius = std::max(2, w / 128), slack = std::max(1, w / 128);
  const double reach = std::max(3.0, w / 85.0);
  const std::vector<int32_t> labels = pelvis_labels(options);
  std::vector<double> lone, mirrored;
  std::vector<uint8_t> fracture;
  PelvisProbe probe;
  for (int i = 0; i < options.images; ++i) {
    const PelvisPhantom p = synth_pelvis_image(options, i, labels[static_cast<size_t>(i)]);
    const std::vector<float> here = dark_line_response(p.view.image, h, w, radius);
    const std::vector<uint8_t> mirror = warp_image(p.view.flipped, p.view.warp, h, w);
    const std::vector<float> there = box_max(dark_line_response(mirror, h, w, radius), h, w, slack);
    std::vector<float> difference(here.size());
    for (size_t k = 0; k < here.size(); ++k) difference[k] = std::max(0.0f, here[k] - there[k]);
    const auto candidate = [&](Point2 q, bool is_fracture) {
      lone.push_back(max_near(here, h, w, q, reach));
      mirrored.push_back(max_near(difference, h, w, q, reach));
      fracture.push_back(is_fracture ? 1 : 0);
      ++(is_fracture ? probe.fractures : probe.variants);
    };
    for (const Point2& q : p.view.points) candidate(q, true);
    for (const Point2& q : p.variants) candidate(q, false);
  }
  probe.lone = auc(lone, fracture);
  probe.mirrored = auc(mirrored, fracture);
  return probe;
}

}  // namespace fracsweep::datastore
