// See delong.h. Notation follows Sun & Xu: m positives X, n negatives Y;
// T_x, T_y, T_z are midranks within X, within Y and within X ∪ Y. The
// placement values are V10_i = (T_z(X_i) - T_x(X_i)) / n and
// V01_j = 1 - (T_z(Y_j) - T_y(Y_j)) / m.
#include "metrics/delong.h"

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "metrics/ranking.h"

namespace fracsweep::metrics {
namespace {

struct Placements {
  double auc = 0;
  std::vector<double> v10, v01;
};

Placements placements(std::span<const double> scores, std::span<const uint8_t> positive) {
  std::vector<double> x, y;
  for (size_t i = 0; i < scores.size(); ++i) (positive[i] ? x : y).push_back(scores[i]);
  std::vector<double> z(x);
  z.insert(z.end(), y.begin(), y.end());
  const std::vector<double> tx = midranks(x), ty = midranks(y), tz = midranks(z);
  const size_t m = x.size(), n = y.size();
  Placements out;
  out.v10.resize(m);
  out.v01.resize(n);
  double sum = 0;
  for (size_t i = 0; i < m; ++i) {
    out.v10[i] = (tz[i] - tx[i]) / static_cast<double>(n);
    sum += out.v10[i];
  }
  for (size_t j = 0; j < n; ++j)
    out.v01[j] = 1.0 - (tz[m + j] - ty[j]) / static_cast<double>(m);
  out.auc = sum / static_cast<double>(m);
  return out;
}

// Sample covariance (n - 1) of two equally long series.
double covariance(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(a.size());
  mb /= static_cast<double>(b.size());
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - ma) * (b[i] - mb);
  return s / static_cast<double>(a.size() - 1);
}

}  // namespace

DelongResult delong_test(std::span<const double> scores_a, std::span<const double> scores_b,
                         std::span<const uint8_t> positive) {
  CHECK_OR_THROW(core::ConfigError,
                 scores_a.size() == positive.size() && scores_b.size() == positive.size(),
                 "DeLong test: ", scores_a.size(), " and ", scores_b.size(), " scores for ",
                 positive.size(), " labels; both models must score the same samples");
  for (size_t i = 0; i < positive.size(); ++i) {
    CHECK_OR_THROW(core::ConfigError, std::isfinite(scores_a[i]) && std::isfinite(scores_b[i]),
                   "DeLong test: sample ", i, " has scores ", scores_a[i], " and ", scores_b[i],
                   "; scores must be finite numbers");
  }
  size_t m = 0;
  for (uint8_t p : positive) m += p != 0;
  const size_t n = positive.size() - m;
  CHECK_OR_THROW(core::ConfigError, m >= 2 && n >= 2, "DeLong test needs at least 2 positive ",
                 "and 2 negative samples, got ", m, " and ", n);
  const Placements a = placements(scores_a, positive), b = placements(scores_b, positive);
  const double md = static_cast<double>(m), nd = static_cast<double>(n);
  DelongResult out;
  out.auc_a = a.auc;
  out.auc_b = b.auc;
  out.var_a = covariance(a.v10, a.v10) / md + covariance(a.v01, a.v01) / nd;
  out.var_b = covariance(b.v10, b.v10) / md + covariance(b.v01, b.v01) / nd;
  out.cov_ab = covariance(a.v10, b.v10) / md + covariance(a.v01, b.v01) / nd;
  delong_z_and_p(out.auc_a - out.auc_b, out.var_a + out.var_b - 2 * out.cov_ab, out.z, out.p);
  return out;
}

void delong_z_and_p(double diff, double var_diff, double& z, double& p) {
  if (var_diff > 0) {
    z = diff / std::sqrt(var_diff);
    p = std::erfc(std::fabs(z) / std::sqrt(2.0));
  } else if (diff == 0) {
    // 0 / 0: the reference (numpy) gives NaN; no evidence of a difference.
    z = 0;
    p = 1;
  } else {
    // A difference with no variance at all (say AUC 1 against all scores
    // tied, AUC 0.5): diff / 0 is infinite, as numpy divides, and p is 0.
    z = std::copysign(std::numeric_limits<double>::infinity(), diff);
    p = 0;
  }
}

}  // namespace fracsweep::metrics
