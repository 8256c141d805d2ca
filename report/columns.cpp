// See columns.h.
#include "report/columns.h"

#include <fmt/format.h>

namespace fracsweep::report {

std::vector<ColumnSpec> columns_of(const std::string& kind) {
  const std::vector<ColumnSpec> headline = {{"aSE", "aSE (%)", "aSE(\\%)"},
                                            {"aSP", "aSP (%)", "aSP(\\%)"},
                                            {"aAUC", "aAUC (%)", "aAUC(\\%)"},
                                            {"mAP", "mAP (%)", "mAP(\\%)"}};
  if (kind == "tsccn-1") {
    std::vector<ColumnSpec> out;
    for (int k = 0; k < 3; ++k) {
      out.push_back({fmt::format("SE_{}", k), fmt::format("SE_{}", k), fmt::format("$SE_{}$", k)});
      out.push_back({fmt::format("SP_{}", k), fmt::format("SP_{}", k), fmt::format("$SP_{}$", k)});
    }
    out.insert(out.end(), headline.begin(), headline.end());
    return out;
  }
  if (kind == "tsccn-2" || kind == "tsccn-3") return headline;
  return {{"AUC", "AUC (%)", "AUC(\\%)"},
          {"AP", "AP (%)", "AP(\\%)"},
          {"recall@fp=0.01", "Recall@FP=1% (%)", "Recall$_{FP=1\\%}$(\\%)"},
          {"recall@fp=0.1", "Recall@FP=10% (%)", "Recall$_{FP=10\\%}$(\\%)"}};
}

std::string title_of(const std::string& kind, const std::string& sweep) {
  if (kind == "tsccn-1") return "Table I. Competing methods (" + sweep + ")";
  if (kind == "tsccn-2") return "Table II. Amount of training data (" + sweep + ")";
  if (kind == "tsccn-3") return "Table III. Ablation study (" + sweep + ")";
  if (kind == "aasn-1") return "Table 1. Classification and localization (" + sweep + ")";
  return "Table 2. Ablation study, gain over the baseline in parentheses (" + sweep + ")";
}

// A job's metrics, recomputed from its predictions.
metrics::MetricValues job_metrics(const ReportJob& j) {
  metrics::MetricValues v = metrics::compute_metrics(j.test, 0.5, j.dir + "/predictions_test.csv");
  if (j.froc) {
    v.emplace_back("recall@fp=0.01", j.froc->recall_at(0.01));
    v.emplace_back("recall@fp=0.1", j.froc->recall_at(0.1));
  }
  return v;
}

std::optional<double> find_value(const metrics::MetricValues& values, const std::string& key) {
  for (const auto& [k, v] : values)
    if (k == key) return v;
  return std::nullopt;
}

}  // namespace fracsweep::report
