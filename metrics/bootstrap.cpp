// See bootstrap.h, Note [Patient bootstrap].
#include "metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"

namespace fracsweep::metrics {

std::vector<std::vector<int32_t>> patient_strata(const Predictions& p) {
  std::vector<int32_t> top(p.patient_names.size(), -1);
  for (size_t i = 0; i < p.size(); ++i) {
    int32_t& t = top[static_cast<size_t>(p.patient[i])];
    t = std::max(t, p.label[i]);
  }
  std::map<int32_t, std::vector<int32_t>> by_label;
  for (size_t k = 0; k < top.size(); ++k)
    if (top[k] >= 0) by_label[top[k]].push_back(static_cast<int32_t>(k));
  std::vector<std::vector<int32_t>> out;
  for (auto& [label, patients] : by_label) out.push_back(std::move(patients));
  return out;
}

std::vector<std::vector<int32_t>> resample_patients(
    const std::vector<std::vector<int32_t>>& strata, int replicates, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(std::max(replicates, 0)));
  for (auto& sample : out)
    for (const auto& stratum : strata)
      for (size_t j = 0; j < stratum.size(); ++j)
        sample.push_back(stratum[rng.next() % stratum.size()]);
  return out;
}

Predictions rows_of_patients(const Predictions& p, std::span<const int32_t> patients) {
  std::vector<std::vector<size_t>> rows(p.patient_names.size());
  for (size_t i = 0; i < p.size(); ++i) rows[static_cast<size_t>(p.patient[i])].push_back(i);
  Predictions out;
  out.kind = p.kind;
  out.num_classes = p.num_classes;
  const size_t k = static_cast<size_t>(p.score_columns());
  for (size_t n = 0; n < patients.size(); ++n) {
    out.patient_names.push_back(p.patient_names[static_cast<size_t>(patients[n])]);
    for (size_t i : rows[static_cast<size_t>(patients[n])]) {
      out.patient.push_back(static_cast<int32_t>(n));  // a patient drawn twice is two patients
      out.label.push_back(p.label[i]);
      out.scores.insert(out.scores.end(), p.scores.begin() + static_cast<ptrdiff_t>(i * k),
                        p.scores.begin() + static_cast<ptrdiff_t>((i + 1) * k));
    }
  }
  return out;
}

std::optional<BootstrapInterval> percentile_interval(std::span<const double> values,
                                                     double alpha) {
  std::vector<double> defined;
  for (double x : values)
    if (!std::isnan(x)) defined.push_back(x);
  if (defined.empty()) return std::nullopt;
  BootstrapInterval out;
  out.replicates_used = static_cast<int>(defined.size());
  out.replicates_skipped = static_cast<int>(values.size() - defined.size());
  out.low = percentile(defined, alpha / 2 * 100);
  out.high = percentile(std::move(defined), 100 - alpha / 2 * 100);
  return out;
}

std::optional<PairedDifference> paired_difference(double a, double b,
                                                  std::span<const double> reps_a,
                                                  std::span<const double> reps_b, double alpha) {
  CHECK_OR_THROW(core::ConfigError, reps_a.size() == reps_b.size(), "paired replicates differ in "
                 "number: ", reps_a.size(), " and ", reps_b.size());
  std::vector<double> d;
  size_t at_most_zero = 0, at_least_zero = 0;
  for (size_t r = 0; r < reps_a.size(); ++r) {
    if (std::isnan(reps_a[r]) || std::isnan(reps_b[r])) continue;
    d.push_back(reps_a[r] - reps_b[r]);
    at_most_zero += d.back() <= 0;
    at_least_zero += d.back() >= 0;
  }
  const auto interval = percentile_interval(d, alpha);
  if (!interval) return std::nullopt;
  PairedDifference out;
  out.difference = a - b;
  out.interval = *interval;
  const double n = static_cast<double>(d.size());
  out.p = std::min(1.0, 2 * std::min(at_most_zero / n, at_least_zero / n));
  return out;
}

}  // namespace fracsweep::metrics
