// See froc.h. Both curves are built by one sweep over values sorted in
// descending order, so an area FROC over N pixels costs O(N log N) rather than
// one pass over all pixels per threshold.
#include "metrics/froc.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.h"

namespace fracsweep::metrics {
namespace {

using core::ConfigError;

void check_size(int height, int width, size_t values, size_t index, const char* what) {
  CHECK_OR_THROW(ConfigError, height > 0 && width > 0, "FROC image ", index,
                 ": size ", height, "x", width, " must be positive");
  CHECK_OR_THROW(ConfigError,
                 values == static_cast<size_t>(height) * static_cast<size_t>(width),
                 "FROC image ", index, ": ", what, " has ", values, " values, expected ",
                 height, "x", width, " = ", static_cast<size_t>(height) * width);
}

void check_inside(int x, int y, int height, int width, size_t index, const char* what) {
  CHECK_OR_THROW(ConfigError, x >= 0 && x < width && y >= 0 && y < height, "FROC image ",
                 index, ": ", what, " at (x=", x, ", y=", y, ") lies outside the ", width,
                 "x", height, " image");
}

// numpy's float32 cast of a double (round to nearest, ties to even; from
// halfway between FLT_MAX and 2^128 on, infinity), as MONAI stores lesion
// scores. Spelled out at the top of the range, where a plain static_cast of a
// double beyond FLT_MAX is undefined behaviour.
double as_float32(double v) {
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  constexpr double kHalfway = 0x1.ffffffp127;  // (FLT_MAX + 2^128) / 2
  if (std::abs(v) >= kHalfway) return std::copysign(std::numeric_limits<double>::infinity(), v);
  if (std::abs(v) > kFloatMax) return std::copysign(kFloatMax, v);
  return static_cast<double>(static_cast<float>(v));
}

struct NegativePixel {
  float value;
  int32_t image;
};

}  // namespace

double interp(double x, std::span<const double> xp, std::span<const double> fp) {
  INTERNAL_ASSERT(!xp.empty() && xp.size() == fp.size());
  if (x < xp.front()) return fp.front();
  if (x > xp.back()) return fp.back();
  const size_t j =
      static_cast<size_t>(std::upper_bound(xp.begin(), xp.end(), x) - xp.begin()) - 1;
  if (j == xp.size() - 1 || xp[j] == x) return fp[j];
  const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  return slope * (x - xp[j]) + fp[j];
}

double AreaFrocCurve::recall_at(double fp_ratio) const { return interp(fp_ratio, fp, recall); }

AreaFrocCurve area_froc(std::span<const HeatmapImage> images, double radius) {
  CHECK_OR_THROW(ConfigError, std::isfinite(radius) && radius >= 0,
                 "FROC radius must be a finite number >= 0, got ", radius);
  std::vector<float> point_values;
  std::vector<NegativePixel> negatives;
  std::vector<int64_t> negatives_per_image(images.size(), 0);
  const double r2 = radius * radius;
  const int reach = static_cast<int>(std::floor(radius));

  for (size_t i = 0; i < images.size(); ++i) {
    const HeatmapImage& im = images[i];
    check_size(im.height, im.width, im.heatmap.size(), i, "heatmap");
    std::vector<uint8_t> ambiguous(im.heatmap.size(), 0);
    for (const PixelPoint& pt : im.points) {
      check_inside(pt.x, pt.y, im.height, im.width, i, "fracture point");
      for (int y = std::max(0, pt.y - reach); y <= std::min(im.height - 1, pt.y + reach); ++y) {
        for (int x = std::max(0, pt.x - reach); x <= std::min(im.width - 1, pt.x + reach); ++x) {
          const double dx = x - pt.x, dy = y - pt.y;
          if (dx * dx + dy * dy <= r2) ambiguous[static_cast<size_t>(y) * im.width + x] = 1;
        }
      }
      point_values.push_back(im.heatmap[static_cast<size_t>(pt.y) * im.width + pt.x]);
    }
    for (size_t p = 0; p < im.heatmap.size(); ++p) {
      CHECK_OR_THROW(ConfigError, std::isfinite(im.heatmap[p]), "FROC image ", i,
                     ": heatmap value at (x=", p % im.width, ", y=", p / im.width, ") is ",
                     im.heatmap[p], "; heatmap values must be finite (any real scores)");
      if (ambiguous[p]) continue;
      negatives.push_back({im.heatmap[p], static_cast<int32_t>(i)});
      ++negatives_per_image[i];
    }
  }
  CHECK_OR_THROW(ConfigError, !point_values.empty(), "FROC over ", images.size(),
                 " images: no fracture point in any image, so recall is undefined");
  const auto images_with_negatives = static_cast<double>(std::count_if(
      negatives_per_image.begin(), negatives_per_image.end(), [](int64_t n) { return n > 0; }));

  std::sort(point_values.begin(), point_values.end(), std::greater<>());
  std::sort(negatives.begin(), negatives.end(),
            [](const NegativePixel& a, const NegativePixel& b) { return a.value > b.value; });

  AreaFrocCurve curve;
  curve.fp.push_back(0);
  curve.recall.push_back(0);
  const double num_points = static_cast<double>(point_values.size());
  size_t pi = 0, ni = 0;
  size_t points_found = 0;
  // Sum over images of (negatives above threshold / negatives of the image);
  // long double keeps the running sum exact enough over millions of pixels.
  long double fp_sum = 0;
  while (pi < point_values.size() || ni < negatives.size()) {
    float t;
    if (pi == point_values.size()) t = negatives[ni].value;
    else if (ni == negatives.size()) t = point_values[pi];
    else t = std::max(point_values[pi], negatives[ni].value);
    while (pi < point_values.size() && point_values[pi] == t) {
      ++points_found;
      ++pi;
    }
    while (ni < negatives.size() && negatives[ni].value == t) {
      fp_sum += 1.0L / static_cast<long double>(negatives_per_image[negatives[ni].image]);
      ++ni;
    }
    curve.thresholds.push_back(t);
    curve.fp.push_back(images_with_negatives > 0
                           ? static_cast<double>(fp_sum / images_with_negatives)
                           : 0.0);
    curve.recall.push_back(static_cast<double>(points_found) / num_points);
  }
  return curve;
}

ClassicFroc classic_froc(std::span<const LesionImage> images, std::vector<double> eval_fps) {
  // See Note [Classic FROC as MONAI computes it].
  std::vector<double> fp_probs, tp_probs;
  size_t missed = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const LesionImage& im = images[i];
    check_size(im.height, im.width, im.mask.size(), i, "lesion mask");
    int lesions = 0;
    for (int v : im.mask) {
      CHECK_OR_THROW(ConfigError, v >= 0, "FROC image ", i, ": lesion mask holds ", v,
                     "; ids must be 0 (background) or 1..L");
      lesions = std::max(lesions, v);
    }
    // The best score on each lesion, while `hit` says whether any detection has
    // hit it yet: a lesion's score is its detections' maximum, whatever its sign.
    std::vector<double> best(static_cast<size_t>(lesions), 0.0);
    std::vector<uint8_t> hit(static_cast<size_t>(lesions), 0);
    for (const Detection& d : im.detections) {
      check_inside(d.x, d.y, im.height, im.width, i, "detection");
      CHECK_OR_THROW(ConfigError, std::isfinite(d.prob), "FROC image ", i,
                     ": detection at (x=", d.x, ", y=", d.y, ") has a score that is not finite");
      const int label = im.mask[static_cast<size_t>(d.y) * im.width + d.x];
      if (label == 0) {
        fp_probs.push_back(d.prob);
        continue;
      }
      const size_t k = static_cast<size_t>(label - 1);
      best[k] = hit[k] ? std::max(best[k], d.prob) : d.prob;
      hit[k] = 1;
    }
    for (size_t k = 0; k < best.size(); ++k) {
      tp_probs.push_back(hit[k] ? as_float32(best[k]) : 0.0);
      missed += hit[k] ? 0 : 1;
    }
  }
  CHECK_OR_THROW(ConfigError, !tp_probs.empty(), "FROC over ", images.size(),
                 " images: no lesion in any mask, so sensitivity is undefined");

  std::vector<double> thresholds(fp_probs);
  thresholds.insert(thresholds.end(), tp_probs.begin(), tp_probs.end());
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  std::sort(fp_probs.begin(), fp_probs.end());
  std::sort(tp_probs.begin(), tp_probs.end());
  const auto at_or_above = [](const std::vector<double>& sorted, double t) {
    return static_cast<double>(sorted.end() -
                               std::lower_bound(sorted.begin(), sorted.end(), t));
  };

  ClassicFroc out;
  const double num_images = static_cast<double>(images.size());
  const double num_targets = static_cast<double>(tp_probs.size());
  // The reference skips the smallest threshold (see the Note).
  for (size_t k = 1; k < thresholds.size(); ++k) {
    const double t = thresholds[k];
    out.fps_per_image.push_back(at_or_above(fp_probs, t) / num_images);
    out.sensitivity.push_back(at_or_above(tp_probs, t) / num_targets);
  }
  out.fps_per_image.push_back(0);
  out.sensitivity.push_back(0);

  const std::vector<double> xp(out.fps_per_image.rbegin(), out.fps_per_image.rend());
  const std::vector<double> yp(out.sensitivity.rbegin(), out.sensitivity.rend());
  out.eval_fps = std::move(eval_fps);
  double sum = 0;
  for (double x : out.eval_fps) {
    out.sens_at.push_back(interp(x, xp, yp));
    sum += out.sens_at.back();
  }
  out.score = out.eval_fps.empty() ? 0 : sum / static_cast<double>(out.eval_fps.size());
  out.lesions_missed = missed;
  return out;
}

}  // namespace fracsweep::metrics
