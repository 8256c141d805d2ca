// See stats.h. The t statistic follows scipy.stats.ttest_rel: the mean of the
// differences over their standard error, with the sample variance (ddof 1).
#include "metrics/stats.h"

#include <algorithm>
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
  // A NaN or infinite score (a failed job) gives NaN, as in scipy, rather than
  // an exception that would lose the rest of the report; the NaN shows in it.
  if (!std::all_of(d.begin(), d.end(), [](double x) { return std::isfinite(x); })) {
    double sum = 0;
    for (double x : d) sum += x;
    out.mean_diff = sum / nd;
    out.t = out.p = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  // t is the same for the differences times any power of two, and such a
  // scaling is exact: bring the largest to about 1, so that neither the sum nor
  // the squares below underflow (differences near 1e-300) or overflow (1e200).
  // Values that need no scaling keep their bits, so ordinary inputs give
  // exactly what the unscaled formula gives.
  double largest = 0;
  for (double x : d) largest = std::max(largest, std::fabs(x));
  int exponent = 0;
  std::frexp(largest, &exponent);
  const int shift = largest < 0x1p-400 || largest > 0x1p400 ? -exponent : 0;
  double sum_scaled = 0;
  for (double& x : d) {
    x = std::ldexp(x, shift);
    sum_scaled += x;
  }
  const double mean_scaled = sum_scaled / nd;
  out.mean_diff = std::ldexp(mean_scaled, -shift);
  double ss = 0;
  for (double x : d) ss += (x - mean_scaled) * (x - mean_scaled);
  out.t = mean_scaled / std::sqrt(ss / (nd - 1) / nd);
  INTERNAL_ASSERT(std::isfinite(out.t));
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
  // No variance at all (identical rankings in every fold, say): answered as
  // delong_test answers for a single fold.
  delong_z_and_p(sum_diff, sum_var, out.z, out.p);
  return out;
}

}  // namespace fracsweep::metrics
