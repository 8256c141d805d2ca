// See curves.h. Both single curves come from one pass over the samples sorted
// by descending score, one operating point per group of tied scores, as
// scikit-learn's _binary_clf_curve builds them.
#include "metrics/curves.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include "core/error.h"

namespace fracsweep::metrics {
namespace {

using core::ConfigError;

// Cumulative true and false positives at each distinct score, descending.
struct Counts {
  std::vector<int64_t> tp, fp;
};

Counts count_by_threshold(std::span<const double> scores, std::span<const uint8_t> positive,
                          const char* what) {
  CHECK_OR_THROW(ConfigError, scores.size() == positive.size(), what, ": ", scores.size(),
                 " scores but ", positive.size(), " labels");
  for (size_t i = 0; i < scores.size(); ++i) {
    CHECK_OR_THROW(ConfigError, std::isfinite(scores[i]), what, ": score ", i, " is ",
                   scores[i], "; scores must be finite numbers");
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  Counts c;
  int64_t tp = 0, fp = 0;
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    while (end < order.size() && scores[order[end]] == scores[order[begin]]) {
      if (positive[order[end]] != 0) ++tp;
      else ++fp;
      ++end;
    }
    c.tp.push_back(tp);
    c.fp.push_back(fp);
    begin = end;
  }
  return c;
}

// numpy.linspace(0, 1, points): i * step, with the last value exactly 1, so
// grid values equal numpy's bit for bit (a curve point on the grid stays on it).
std::vector<double> unit_grid(int points, const char* what) {
  CHECK_OR_THROW(ConfigError, points >= 2, what, ": the grid needs at least 2 points, got ",
                 points);
  std::vector<double> grid(static_cast<size_t>(points));
  const double step = 1.0 / static_cast<double>(points - 1);
  for (int i = 0; i < points; ++i) grid[static_cast<size_t>(i)] = i * step;
  grid.back() = 1.0;
  return grid;
}

void check_curve(const Curve& c, size_t index, const char* what) {
  CHECK_OR_THROW(ConfigError, !c.x.empty() && c.x.size() == c.y.size(), what, ": curve ",
                 index, " has ", c.x.size(), " x and ", c.y.size(),
                 " y values; need the same number, at least one");
  for (size_t i = 0; i < c.x.size(); ++i) {
    CHECK_OR_THROW(ConfigError, std::isfinite(c.x[i]) && std::isfinite(c.y[i]), what,
                   ": curve ", index, " point ", i, " is (", c.x[i], ", ", c.y[i],
                   "); values must be finite");
  }
}

struct MeanSd {
  double mean = 0;
  double sd = 0;  // sample standard deviation (n - 1); 0 for a single value
};

MeanSd mean_sd(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  double sum = 0;
  for (double y : v) sum += y;
  MeanSd out;
  out.mean = sum / n;
  if (v.size() < 2) return out;
  // Two passes: squared deviations rather than sum of squares minus squared
  // sum, which cancels badly when every curve is near the same value.
  double ss = 0;
  for (double y : v) ss += (y - out.mean) * (y - out.mean);
  out.sd = std::sqrt(ss / (n - 1));
  return out;
}

void append(Band& b, double x, const MeanSd& s, bool clip) {
  b.x.push_back(x);
  b.mean.push_back(s.mean);
  b.low.push_back(clip ? std::max(0.0, s.mean - s.sd) : s.mean - s.sd);
  b.high.push_back(clip ? std::min(1.0, s.mean + s.sd) : s.mean + s.sd);
}

// Mean and band over rows of rates, one row per curve on the shared grid,
// the band clipped to [0, 1].
Band summarize(const std::vector<double>& grid, const std::vector<std::vector<double>>& rows) {
  Band b;
  b.n = rows.size();
  std::vector<double> column(rows.size());
  for (size_t j = 0; j < grid.size(); ++j) {
    for (size_t i = 0; i < rows.size(); ++i) column[i] = rows[i][j];
    append(b, grid[j], mean_sd(column), /*clip=*/true);
  }
  return b;
}

}  // namespace

Curve roc_curve(std::span<const double> scores, std::span<const uint8_t> positive) {
  const Counts c = count_by_threshold(scores, positive, "ROC curve");
  const int64_t num_pos = c.tp.empty() ? 0 : c.tp.back();
  const int64_t num_neg = c.fp.empty() ? 0 : c.fp.back();
  CHECK_OR_THROW(ConfigError, num_pos > 0 && num_neg > 0, "ROC curve is undefined with ",
                 num_pos, " positive and ", num_neg,
                 " negative samples (need at least one of each)");
  Curve out;
  out.x.reserve(c.tp.size() + 1);
  out.y.reserve(c.tp.size() + 1);
  out.x.push_back(0);
  out.y.push_back(0);
  for (size_t k = 0; k < c.tp.size(); ++k) {
    out.x.push_back(static_cast<double>(c.fp[k]) / static_cast<double>(num_neg));
    out.y.push_back(static_cast<double>(c.tp[k]) / static_cast<double>(num_pos));
  }
  return out;
}

// Needs positives only: with no negative every precision is 1, as in sklearn.
Curve pr_curve(std::span<const double> scores, std::span<const uint8_t> positive) {
  const Counts c = count_by_threshold(scores, positive, "precision-recall curve");
  const int64_t num_pos = c.tp.empty() ? 0 : c.tp.back();
  CHECK_OR_THROW(ConfigError, num_pos > 0, "precision-recall curve over ", scores.size(),
                 " samples: no positive sample, so recall is undefined");
  Curve out;
  out.x.reserve(c.tp.size() + 1);
  out.y.reserve(c.tp.size() + 1);
  // Lowest threshold (every sample called positive) first.
  for (size_t k = c.tp.size(); k-- > 0;) {
    out.x.push_back(static_cast<double>(c.tp[k]) / static_cast<double>(num_pos));
    out.y.push_back(static_cast<double>(c.tp[k]) / static_cast<double>(c.tp[k] + c.fp[k]));
  }
  out.x.push_back(0);
  out.y.push_back(1);
  return out;
}

Band roc_band(std::span<const Curve> rocs, int points) {
  CHECK_OR_THROW(ConfigError, !rocs.empty(), "ROC band: no curves to average");
  const std::vector<double> grid = unit_grid(points, "ROC band");
  std::vector<std::vector<double>> rows;
  rows.reserve(rocs.size());
  for (size_t i = 0; i < rocs.size(); ++i) {
    const Curve& c = rocs[i];
    check_curve(c, i, "ROC band");
    CHECK_OR_THROW(ConfigError, std::is_sorted(c.x.begin(), c.x.end()), "ROC band: curve ", i,
                   " has false-positive rates that decrease; pass curves from roc_curve");
    std::vector<double>& row = rows.emplace_back(grid.size());
    for (size_t j = 0; j < grid.size(); ++j) row[j] = interp(grid[j], c.x, c.y);
  }
  return summarize(grid, rows);
}

Band pr_band(std::span<const Curve> prs, int points) {
  CHECK_OR_THROW(ConfigError, !prs.empty(), "precision-recall band: no curves to average");
  const std::vector<double> grid = unit_grid(points, "precision-recall band");
  std::vector<std::vector<double>> rows;
  rows.reserve(prs.size());
  for (size_t i = 0; i < prs.size(); ++i) {
    const Curve& c = prs[i];
    check_curve(c, i, "precision-recall band");
    // Points by ascending recall; best[k] = max precision of points k.. (recall >= theirs).
    std::vector<size_t> order(c.x.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return c.x[a] < c.x[b]; });
    std::vector<double> recall(order.size()), best(order.size());
    for (size_t k = 0; k < order.size(); ++k) recall[k] = c.x[order[k]];
    for (size_t k = order.size(); k-- > 0;) {
      best[k] = c.y[order[k]];
      if (k + 1 < order.size()) best[k] = std::max(best[k], best[k + 1]);
    }
    std::vector<double>& row = rows.emplace_back(grid.size());
    for (size_t j = 0; j < grid.size(); ++j) {
      const size_t k =
          static_cast<size_t>(std::lower_bound(recall.begin(), recall.end(), grid[j]) -
                              recall.begin());
      // Past the curve's highest recall no operating point reaches r: precision 0.
      // (sklearn curves always reach recall 1, so this only affects other input.)
      row[j] = k < best.size() ? best[k] : 0.0;
    }
  }
  return summarize(grid, rows);
}

Band froc_band(std::span<const AreaFrocCurve> frocs, double fp_min, int points) {
  CHECK_OR_THROW(ConfigError, !frocs.empty(), "FROC band: no curves to average");
  CHECK_OR_THROW(ConfigError, std::isfinite(fp_min) && fp_min > 0 && fp_min < 1,
                 "FROC band: the smallest FP ratio must lie in (0, 1), got ", fp_min);
  CHECK_OR_THROW(ConfigError, points >= 2, "FROC band: the grid needs at least 2 points, got ",
                 points);
  // numpy.logspace(log10(fp_min), 0, points).
  std::vector<double> grid(static_cast<size_t>(points));
  const double lo = std::log10(fp_min);
  const double step = -lo / static_cast<double>(points - 1);
  for (int i = 0; i < points; ++i)
    grid[static_cast<size_t>(i)] = std::pow(10.0, lo + i * step);
  grid.back() = 1.0;
  std::vector<std::vector<double>> rows;
  rows.reserve(frocs.size());
  for (size_t i = 0; i < frocs.size(); ++i) {
    const AreaFrocCurve& c = frocs[i];
    CHECK_OR_THROW(ConfigError, !c.fp.empty() && c.fp.size() == c.recall.size(),
                   "FROC band: curve ", i, " has ", c.fp.size(), " FP ratios and ",
                   c.recall.size(), " recalls; need the same number, at least one");
    std::vector<double>& row = rows.emplace_back(grid.size());
    for (size_t j = 0; j < grid.size(); ++j) row[j] = c.recall_at(grid[j]);
  }
  return summarize(grid, rows);
}

Band pointwise_band(std::span<const Curve> curves) {
  CHECK_OR_THROW(ConfigError, !curves.empty(), "pointwise band: no curves to average");
  // Per x, the y of every curve that has a finite value there. A non-finite y
  // (a diverged run's NaN loss) leaves that curve out at that x rather than
  // turning the whole mean into NaN; a plot is no place to stop a report.
  std::map<double, std::vector<double>> at;
  for (size_t i = 0; i < curves.size(); ++i) {
    const Curve& c = curves[i];
    CHECK_OR_THROW(ConfigError, c.x.size() == c.y.size(), "pointwise band: curve ", i,
                   " has ", c.x.size(), " x and ", c.y.size(), " y values");
    for (size_t k = 0; k < c.x.size(); ++k) {
      CHECK_OR_THROW(ConfigError, std::isfinite(c.x[k]), "pointwise band: curve ", i,
                     " point ", k, " has x = ", c.x[k], "; x values must be finite");
      if (std::isfinite(c.y[k])) at[c.x[k]].push_back(c.y[k]);
    }
  }
  Band b;
  b.n = curves.size();
  for (const auto& [x, ys] : at) append(b, x, mean_sd(ys), /*clip=*/false);
  return b;
}

}  // namespace fracsweep::metrics
