// Free-response ROC: localisation performance, in two variants.
//
// 1. Area FROC (AASN §4.1): recall of fracture points against the ratio of
//    false-positive *area*. A point is recalled at threshold t when the heatmap
//    at its pixel is >= t. Pixels within `radius` of any point of their image
//    are ambiguous and ignored; the rest are negative. The FP ratio at t is the
//    fraction of an image's negative pixels >= t, averaged over images (each
//    image weighs the same, as the paper's "ratio of false positive area per
//    image" says, so large and small ROIs count equally; images with no
//    negative pixel are left out of the average). Recall is pooled over all
//    points. See Note [FROC interpolation] for recall at a given FP ratio.
//
// 2. Classic FROC (CAMELYON16, computed exactly as MONAI 1.6's
//    compute_fp_tp_probs / compute_froc_curve_data / compute_froc_score do):
//    detections (x, y, score) against a labelled lesion mask; a detection on
//    background is a false positive, a lesion takes the highest score of the
//    detections on it. Sensitivity against mean false positives per image, and
//    the mean sensitivity at 1/4, 1/2, 1, 2, 4 and 8 FPs per image. Scores need
//    not be probabilities. See Note [Classic FROC as MONAI computes it].
//
// Note [Classic FROC as MONAI computes it]: for any finite scores, logits
// included, the curve is MONAI's, as tests/fixtures/metrics/froc_monai records:
//  - a lesion's score is the maximum over the detections on it, whatever its
//    sign, stored as float32 (0.1 becomes 0.10000000149; from about 3.4e38 up,
//    infinity); false positives keep their double values, and scores are
//    compared as doubles (numpy 2's promotion);
//  - every label 1..max(mask) of an image is a target, so a label absent from
//    the mask (a gap) is a lesion no detection can hit;
//  - a lesion no detection hits enters with score 0;
//  - the thresholds are the distinct scores of false positives and lesions but
//    the smallest, ascending; at each, the false positives and lesions whose
//    score is >= it are counted; then a final (0, 0) point.
// With probabilities the smallest score is 0 whenever a lesion was missed, so
// skipping it means a missed lesion is never found. With scores below 0 it is
// not: a missed lesion's 0 is an ordinary threshold, and at every threshold
// <= 0 it counts as found. That is MONAI's answer, kept for exactness;
// `ClassicFroc::lesions_missed` lets a caller say so, and scores mapped into
// (0, 1] (a sigmoid) avoid it. A lesion hit only by negative scores is found
// only at thresholds <= its best score. (CAMELYON16's own Evaluation_FROC.py
// starts each lesion at 0 and raises it only with a higher score, so there
// such a lesion stays at 0; for scores >= 0 the two agree.)
// Detection coordinates are whole pixels here; metrics/detections.h truncates
// a file's decimals as MONAI does.
//
// Note [FROC interpolation]: a value at a given FP rate is read off the curve
// by linear interpolation between its operating points, exactly as
// numpy.interp does it: with the curve's FP values xp (non-decreasing), the
// segment used is the last j with xp[j] <= x; where several operating points
// share the FP value x, the last one (the highest recall) is taken; beyond the
// ends, the end values. Interpolating between two thresholds is an operating
// point one can reach by randomising between them, unlike a step read-off.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace fracsweep::metrics {

struct PixelPoint {
  int x = 0;  // column
  int y = 0;  // row
};

// One image of the area FROC. `heatmap` is row-major, height × width.
struct HeatmapImage {
  int height = 0;
  int width = 0;
  std::vector<float> heatmap;
  std::vector<PixelPoint> points;  // fracture annotations
};

struct AreaFrocCurve {
  std::vector<double> thresholds;  // distinct, descending
  std::vector<double> fp;          // FP ratio; fp[0] = 0 at threshold +inf, then one per threshold
  std::vector<double> recall;      // recall, aligned with fp
  double recall_at(double fp_ratio) const;  // See Note [FROC interpolation]
};

// Throws core::ConfigError when an image's size and heatmap disagree, a point
// lies outside its image, a heatmap value is not finite, or no image has a point.
AreaFrocCurve area_froc(std::span<const HeatmapImage> images, double radius);

struct Detection {
  int x = 0;  // column
  int y = 0;  // row
  double prob = 0;  // score: any finite number, higher is more confident
};

// One image of the classic FROC. `mask` is row-major, 0 = background,
// 1..L = lesion ids; the image has max(mask) lesions.
struct LesionImage {
  int height = 0;
  int width = 0;
  std::vector<int> mask;
  std::vector<Detection> detections;
};

struct ClassicFroc {
  std::vector<double> fps_per_image;  // per threshold ascending but the smallest, then a final 0
  std::vector<double> sensitivity;    // aligned with fps_per_image, then a final 0
  std::vector<double> eval_fps;       // the FP rates the score averages over
  std::vector<double> sens_at;        // sensitivity at each of eval_fps
  double score = 0;                   // mean of sens_at
  size_t lesions_missed = 0;          // lesions no detection hits (label gaps included)
};

// See Note [Classic FROC as MONAI computes it]. Throws core::ConfigError on a
// detection outside its image, a score that is not finite (NaN, +-inf: no
// place in an order of confidence), or no lesion in any image.
ClassicFroc classic_froc(std::span<const LesionImage> images,
                         std::vector<double> eval_fps = {0.25, 0.5, 1, 2, 4, 8});

// numpy.interp(x, xp, fp) for non-decreasing xp. See Note [FROC interpolation].
double interp(double x, std::span<const double> xp, std::span<const double> fp);

}  // namespace fracsweep::metrics
