// See report.h.
#include "metrics/report.h"

#include <cstdint>

#include "core/error.h"
#include "metrics/ranking.h"

namespace fracsweep::metrics {
namespace {

void check_both_sides(int64_t positives, int64_t total, const std::string& source,
                      const std::string& what) {
  CHECK_OR_THROW(core::ConfigError, positives > 0, source, ": ", what,
                 " has no positive sample, so its AUC and AP are undefined",
                 " (every evaluated part needs at least one sample of each class)");
  CHECK_OR_THROW(core::ConfigError, positives < total, source, ": ", what,
                 " has no negative sample (all ", total,
                 " samples belong to it), so its AUC and AP are undefined");
}

}  // namespace

MetricValues MulticlassReport::values() const {
  MetricValues out;
  const auto add = [&](const char* name, double ClassMetrics::*field) {
    for (size_t k = 0; k < per_class.size(); ++k)
      out.emplace_back(name + std::to_string(k), per_class[k].*field);
  };
  add("SE_", &ClassMetrics::se);
  add("SP_", &ClassMetrics::sp);
  add("AUC_", &ClassMetrics::auc);
  add("AP_", &ClassMetrics::ap);
  out.emplace_back("aSE", ase);
  out.emplace_back("aSP", asp);
  out.emplace_back("aAUC", aauc);
  out.emplace_back("mAP", map);
  return out;
}

MetricValues BinaryReport::values() const {
  return {{"AUC", auc}, {"AP", ap}, {"SE", se}, {"SP", sp}};
}

std::vector<std::string> metric_names(int classes) {
  MulticlassReport multiclass;
  multiclass.per_class.resize(static_cast<size_t>(std::max(classes, 0)));
  std::vector<std::string> names;
  for (const auto& [name, value] : classes > 1 ? multiclass.values() : BinaryReport{}.values())
    names.push_back(name);
  return names;
}

MulticlassReport multiclass_report(const Predictions& p, const std::string& source) {
  CHECK_OR_THROW(core::ConfigError, p.kind == PredictionKind::kMulticlass, source,
                 ": expected K-class probabilities (columns p0..pK-1), found a binary score");
  const size_t n = p.size();
  const size_t num_classes = static_cast<size_t>(p.num_classes);
  std::vector<int32_t> predicted(n);
  std::vector<int64_t> positives(num_classes, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto row = p.row(i);
    size_t best = 0;
    for (size_t k = 1; k < num_classes; ++k)
      if (row[k] > row[best]) best = k;
    predicted[i] = static_cast<int32_t>(best);
    ++positives[static_cast<size_t>(p.label[i])];
  }

  MulticlassReport report;
  report.per_class.resize(num_classes);
  std::vector<double> column(n);
  std::vector<uint8_t> is_k(n);
  for (size_t k = 0; k < num_classes; ++k) {
    check_both_sides(positives[k], static_cast<int64_t>(n), source,
                     "class " + std::to_string(k));
    Confusion c;
    for (size_t i = 0; i < n; ++i) {
      const bool truth = static_cast<size_t>(p.label[i]) == k;
      const bool said = static_cast<size_t>(predicted[i]) == k;
      c.tp += truth && said;
      c.fn += truth && !said;
      c.fp += !truth && said;
      c.tn += !truth && !said;
      column[i] = p.scores[i * num_classes + k];
      is_k[i] = truth;
    }
    const RankingMetrics r = ranking_metrics(column, is_k);
    report.per_class[k] = {c.sensitivity(), c.specificity(), r.auc, r.ap};
  }
  for (const ClassMetrics& c : report.per_class) {
    report.ase += c.se;
    report.asp += c.sp;
    report.aauc += c.auc;
    report.map += c.ap;
  }
  const double kk = static_cast<double>(num_classes);
  report.ase /= kk;
  report.asp /= kk;
  report.aauc /= kk;
  report.map /= kk;
  return report;
}

BinaryReport binary_report(const Predictions& p, double threshold, const std::string& source) {
  CHECK_OR_THROW(core::ConfigError, p.kind == PredictionKind::kBinary, source,
                 ": expected one binary 'score' column, found ", p.num_classes,
                 " probability columns");
  const size_t n = p.size();
  std::vector<uint8_t> positive(n);
  Confusion c;
  int64_t num_pos = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool truth = p.label[i] == 1;
    const bool said = p.scores[i] >= threshold;
    positive[i] = truth;
    num_pos += truth;
    c.tp += truth && said;
    c.fn += truth && !said;
    c.fp += !truth && said;
    c.tn += !truth && !said;
  }
  check_both_sides(num_pos, static_cast<int64_t>(n), source, "class 1 (label 1)");
  const RankingMetrics r = ranking_metrics(p.scores, positive);
  BinaryReport report;
  report.auc = r.auc;
  report.ap = r.ap;
  report.se = c.sensitivity();
  report.sp = c.specificity();
  report.threshold = threshold;
  return report;
}

MetricValues compute_metrics(const Predictions& p, double threshold, const std::string& source) {
  if (p.kind == PredictionKind::kBinary) return binary_report(p, threshold, source).values();
  return multiclass_report(p, source).values();
}

}  // namespace fracsweep::metrics
