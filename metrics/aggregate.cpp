// See aggregate.h.
#include "metrics/aggregate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/seed.h"

namespace fracsweep::metrics {

MeanStd mean_std(std::span<const double> values) {
  CHECK_OR_THROW(core::ConfigError, !values.empty(), "mean ± std of an empty list of values");
  MeanStd out;
  out.n = values.size();
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = sum / static_cast<double>(out.n);
  if (out.n < 2) {
    out.std = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  // Two-pass: subtracting the mean first avoids the cancellation of sum-of-squares.
  double ss = 0;
  for (double v : values) ss += (v - out.mean) * (v - out.mean);
  out.std = std::sqrt(ss / static_cast<double>(out.n - 1));
  return out;
}

std::vector<std::pair<std::string, MeanStd>> aggregate(std::span<const MetricValues> runs) {
  CHECK_OR_THROW(core::ConfigError, !runs.empty(), "aggregate over no runs");
  const MetricValues& first = runs.front();
  std::vector<std::pair<std::string, MeanStd>> out;
  std::vector<double> column(runs.size());
  for (size_t k = 0; k < first.size(); ++k) {
    for (size_t r = 0; r < runs.size(); ++r) {
      CHECK_OR_THROW(core::ConfigError,
                     runs[r].size() == first.size() && runs[r][k].first == first[k].first,
                     "aggregate: run ", r, " does not have metric '", first[k].first,
                     "' at position ", k, " like run 0 (runs of one table must report ",
                     "the same metrics)");
      column[r] = runs[r][k].second;
    }
    out.emplace_back(first[k].first, mean_std(column));
  }
  return out;
}

double percentile(std::vector<double> values, double q) {
  CHECK_OR_THROW(core::ConfigError, !values.empty(), "percentile of an empty list");
  CHECK_OR_THROW(core::ConfigError, q >= 0 && q <= 100, "percentile ", q,
                 " is outside [0, 100]");
  for (size_t i = 0; i < values.size(); ++i) {
    // numpy answers NaN for a NaN, and its interpolation makes NaN of some
    // infinite inputs (inf - inf, inf * 0): no answer worth copying.
    CHECK_OR_THROW(core::ConfigError, std::isfinite(values[i]), "percentile: value ", i, " is ",
                   values[i], "; percentiles are taken of finite numbers");
  }
  std::sort(values.begin(), values.end());
  // numpy's "linear" method, operation for operation: q / 100 times n - 1, and
  // its two-sided lerp (from the lower value below t = 0.5, from the upper one
  // above), so the results are numpy's to the bit.
  const double pos = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double t = pos - static_cast<double>(lo);
  const double a = values[lo], b = values[hi];
  const double diff = b - a;
  // Finite values of opposite signs whose difference overflows (-1e308 and
  // 1e308): numpy's lerp gives NaN or -inf there; a weighted sum of the two
  // cannot overflow, their signs being opposite.
  if (!std::isfinite(diff)) return a * (1 - t) + b * t;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

BootstrapInterval bootstrap_over_patients(
    std::span<const int32_t> patient_of_sample, int32_t num_patients,
    const std::function<std::optional<double>(std::span<const size_t> samples)>& metric,
    const BootstrapOptions& options) {
  CHECK_OR_THROW(core::ConfigError, num_patients > 0, "bootstrap over 0 patients");
  CHECK_OR_THROW(core::ConfigError, options.replicates > 0, "bootstrap replicates must be > 0, got ",
                 options.replicates);
  CHECK_OR_THROW(core::ConfigError, options.confidence > 0 && options.confidence < 1,
                 "bootstrap confidence must be in (0, 1), got ", options.confidence);
  std::vector<std::vector<size_t>> samples_of(static_cast<size_t>(num_patients));
  for (size_t i = 0; i < patient_of_sample.size(); ++i) {
    const int32_t p = patient_of_sample[i];
    CHECK_OR_THROW(core::ConfigError, p >= 0 && p < num_patients, "bootstrap: sample ", i,
                   " has patient index ", p, ", outside 0..", num_patients - 1);
    samples_of[static_cast<size_t>(p)].push_back(i);
  }

  core::Rng rng(options.seed);
  std::vector<double> estimates;
  estimates.reserve(static_cast<size_t>(options.replicates));
  std::vector<size_t> drawn;
  BootstrapInterval out;
  for (int r = 0; r < options.replicates; ++r) {
    drawn.clear();
    for (int32_t k = 0; k < num_patients; ++k) {
      const auto& s = samples_of[rng.uniform_below(static_cast<uint64_t>(num_patients))];
      drawn.insert(drawn.end(), s.begin(), s.end());
    }
    // A NaN is an undefined metric too (a rate over no samples of a class).
    if (const std::optional<double> v = metric(drawn); v && !std::isnan(*v)) {
      estimates.push_back(*v);
    } else {
      ++out.replicates_skipped;
    }
  }
  out.replicates_used = static_cast<int>(estimates.size());
  CHECK_OR_THROW(core::ConfigError, !estimates.empty(), "bootstrap: the metric was undefined on all ",
                 options.replicates, " resamples (too few patients with each class?)");
  const double tail = (1 - options.confidence) / 2 * 100;
  out.low = percentile(estimates, tail);
  out.high = percentile(estimates, 100 - tail);
  return out;
}

}  // namespace fracsweep::metrics
