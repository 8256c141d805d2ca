// See stats.h. The t statistic follows scipy.stats.ttest_rel: the mean of the
// differences over their standard error, with the sample variance (ddof 1).
#include "metrics/stats.h"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <utility>

#include "core/error.h"

namespace fracsweep::metrics {

PairedTTest paired_t_test(std::span<const double> a, std::span<const double> b) {
  CHECK_OR_THROW(core::ConfigError, a.size() == b.size(), "paired t-test: ", a.size(), " and ",
                 b.size(), " values; both variants must be measured on the same folds and seeds");
  CHECK_OR_THROW(core::ConfigError, a.size() >= 2, "paired t-test needs at least 2 pairs, got ",
                 a.size(), "; run more folds or seeds to compare variants");
  const size_t n = a.size();
  const double nd = static_cast<double>(n);
  std::vector<double> d(n);
  bool constant = true;
  for (size_t i = 0; i < n; ++i) {
    d[i] = a[i] - b[i];
    constant = constant && d[i] == d[0];
  }
  PairedTTest out;
  out.n = n;
  double sum = 0;
  for (double x : d) sum += x;
  out.mean_diff = sum / nd;
  // Equal differences are tested exactly: a two-pass variance of, say, three
  // copies of 0.1 is a rounding residue, not 0, and would give a huge finite t.
  if (constant) {
    out.mean_diff = d[0];
    if (d[0] == 0) {
      out.t = 0;
      out.p = 1;
    } else if (std::isfinite(d[0])) {
      out.t = std::copysign(std::numeric_limits<double>::infinity(), d[0]);
      out.p = 0;
    } else {
      out.t = out.p = std::numeric_limits<double>::quiet_NaN();
    }
    return out;
  }
  double ss = 0;
  for (double x : d) ss += (x - out.mean_diff) * (x - out.mean_diff);
  out.t = out.mean_diff / std::sqrt(ss / (nd - 1) / nd);
  // A NaN or infinite score (a failed job) gives NaN, as in scipy, rather than
  // an exception that would lose the rest of the report; the NaN shows in it.
  if (!std::isfinite(out.t)) {
    out.t = out.p = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const boost::math::students_t dist(nd - 1);
  out.p = 2 * boost::math::cdf(boost::math::complement(dist, std::fabs(out.t)));
  return out;
}

CombinedDelong combine_delong(std::vector<DelongResult> folds) {
  CHECK_OR_THROW(core::ConfigError, !folds.empty(),
                 "combined DeLong test: no folds; each fold's test needs its own predictions");
  CombinedDelong out;
  double sum_diff = 0, sum_var = 0;
  for (const DelongResult& f : folds) {
    sum_diff += f.auc_a - f.auc_b;
    sum_var += f.var_a + f.var_b - 2 * f.cov_ab;
  }
  out.diff = sum_diff / static_cast<double>(folds.size());
  out.folds = std::move(folds);
  // No variance at all (identical rankings in every fold): no evidence of a
  // difference, as delong_test answers for a single fold.
  if (!(sum_var > 0)) {
    out.z = 0;
    out.p = 1;
    return out;
  }
  out.z = sum_diff / std::sqrt(sum_var);
  out.p = std::erfc(std::fabs(out.z) / std::sqrt(2.0));
  return out;
}

}  // namespace fracsweep::metrics
