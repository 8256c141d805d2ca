// Curves of a ranking: ROC and precision-recall points of one job, and the
// mean curve with a band over many jobs (folds x seeds) on a common grid.
//
// Single curves follow scikit-learn (roc_curve with drop_intermediate=False,
// precision_recall_curve), so they can be checked against it. Bands put every
// job's curve on one grid of x values first (see Note [Curve grids]) and take,
// per grid point, the mean and the sample standard deviation; the band is
// mean ± std clipped to [0, 1].
//
// Note [Curve grids]: ROC: tpr at each fpr of the grid, by numpy.interp on the
// job's points (ties in fpr: the last, highest tpr). Precision-recall: the
// interpolated precision at recall r, max precision over points with recall >= r
// (the usual "envelope", so a band never dips at a saw-tooth). Area FROC: the
// recall at each FP ratio of a log-spaced grid, by AreaFrocCurve::recall_at.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "metrics/froc.h"

namespace fracsweep::metrics {

struct Curve {
  std::vector<double> x, y;  // ROC: fpr, tpr; PR: recall, precision
};

// ROC points from (0, 0) through one point per distinct score, descending, to (1, 1).
// Throws core::ConfigError when the sizes differ or a class is missing.
Curve roc_curve(std::span<const double> scores, std::span<const uint8_t> positive);

// Precision-recall points as sklearn's precision_recall_curve: one per distinct
// score, in order of increasing threshold, ending with (recall 0, precision 1).
Curve pr_curve(std::span<const double> scores, std::span<const uint8_t> positive);

struct Band {
  std::vector<double> x;     // the grid
  std::vector<double> mean;  // per grid point
  std::vector<double> low;   // max(0, mean - std); mean when n < 2
  std::vector<double> high;  // min(1, mean + std); mean when n < 2
  size_t n = 0;              // curves averaged
};

// Throws core::ConfigError on no curves. `points` >= 2 grid points in [0, 1].
Band roc_band(std::span<const Curve> rocs, int points = 101);
Band pr_band(std::span<const Curve> prs, int points = 101);
// Log-spaced FP ratios from `fp_min` to 1.
Band froc_band(std::span<const AreaFrocCurve> frocs, double fp_min = 1e-4, int points = 81);
// Curves that share their x values (e.g. a loss per epoch): mean and band per x
// over the curves that have it (epochs past a short curve's end average fewer
// curves); low/high are mean ± std, not clipped.
Band pointwise_band(std::span<const Curve> curves);

}  // namespace fracsweep::metrics
