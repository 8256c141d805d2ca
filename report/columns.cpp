// See columns.h.
#include "report/columns.h"

#include <fmt/format.h>

#include "spec/variants.h"

namespace fracsweep::report {

std::vector<ColumnSpec> columns_of(const std::string& kind) {
  const std::vector<ColumnSpec> headline = {{"aSE", "aSE (%)", "aSE(\\%)"},
                                            {"aSP", "aSP (%)", "aSP(\\%)"},
                                            {"aAUC", "aAUC (%)", "aAUC(\\%)"},
                                            {"mAP", "mAP (%)", "mAP(\\%)"}};
  const spec::PaperTable& table = spec::VariantRegistry::built_in().table_at(kind);
  if (table.task == spec::Task::kPelvis)
    return {{"AUC", "AUC (%)", "AUC(\\%)"},
            {"AP", "AP (%)", "AP(\\%)"},
            {"recall@fp=0.01", "Recall@FP=1% (%)", "Recall$_{FP=1\\%}$(\\%)"},
            {"recall@fp=0.1", "Recall@FP=10% (%)", "Recall$_{FP=10\\%}$(\\%)"}};
  if (!table.per_class) return headline;
  std::vector<ColumnSpec> out;
  for (int k = 0; k < spec::task_info(table.task).classes; ++k) {
    out.push_back({fmt::format("SE_{}", k), fmt::format("SE_{}", k), fmt::format("$SE_{}$", k)});
    out.push_back({fmt::format("SP_{}", k), fmt::format("SP_{}", k), fmt::format("$SP_{}$", k)});
  }
  out.insert(out.end(), headline.begin(), headline.end());
  return out;
}

std::string title_of(const std::string& kind, const std::string& sweep) {
  return spec::VariantRegistry::built_in().table_at(kind).title + " (" + sweep + ")";
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
