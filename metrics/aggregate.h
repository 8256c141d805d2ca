// Summaries across runs and resamples: mean ± sample standard deviation over
// folds × seeds, percentiles, and a percentile bootstrap over patients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "metrics/report.h"

namespace fracsweep::metrics {

struct MeanStd {
  double mean = 0;
  double std = 0;  // sample standard deviation (n - 1 in the denominator); NaN when n < 2
  size_t n = 0;
};

// Throws core::ConfigError on an empty input.
MeanStd mean_std(std::span<const double> values);

// Aggregates many runs' MetricValues key by key. Every run must carry the
// same keys in the same order (runs of one variant do); throws otherwise,
// naming the run and key that differ.
std::vector<std::pair<std::string, MeanStd>> aggregate(std::span<const MetricValues> runs);

// The q-th percentile (q in [0, 100]) with linear interpolation between order
// statistics, as numpy.percentile's default method, bit for bit on finite
// values (except where numpy's interpolation overflows: the median of -1e308
// and 1e308 is 0 here, -inf there). Throws core::ConfigError on empty input, q
// outside [0, 100], or a NaN or infinite value (numpy answers NaN, or NaN for
// some infinite inputs).
double percentile(std::vector<double> values, double q);

struct BootstrapOptions {
  // More replicates narrow the Monte-Carlo error of the interval's ends
  // (about ±0.5 percentile point at 1000) at linear cost.
  int replicates = 1000;
  // Two-sided coverage of the interval.
  double confidence = 0.95;
  uint64_t seed = 0;
};

struct BootstrapInterval {
  double low = 0, high = 0;
  int replicates_used = 0;
  // Replicates where the metric was undefined (e.g. a resample with no
  // positive sample of a class) are dropped, and counted here.
  int replicates_skipped = 0;
};

// Percentile bootstrap over patients: each replicate draws as many patients
// as there are, with replacement, and evaluates `metric` on all samples of
// the drawn patients (a patient drawn twice contributes its samples twice),
// so samples of one patient stay together as they are not independent.
// `patient_of_sample[i]` is in 0..num_patients-1. `metric` returns nullopt
// (or NaN) when undefined on a resample. Deterministic for a given seed.
BootstrapInterval bootstrap_over_patients(
    std::span<const int32_t> patient_of_sample, int32_t num_patients,
    const std::function<std::optional<double>(std::span<const size_t> samples)>& metric,
    const BootstrapOptions& options);

}  // namespace fracsweep::metrics
