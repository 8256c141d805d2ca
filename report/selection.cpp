// See selection.h.
#include "report/selection.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <map>
#include <vector>

#include "core/error.h"
#include "metrics/aggregate.h"
#include "report/columns.h"
#include "spec/variants.h"

namespace fracsweep::report {
namespace {

// "lr=0.001, triplet_margin=0.3": a trial's values without their sections.
std::string configuration_text(const nlohmann::json& params) {
  std::string out;
  for (const auto& [key, value] : params.items()) {
    const std::string field = key.substr(key.find('.') + 1);
    out += (out.empty() ? "" : ", ") + field + "=" +
           (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out.empty() ? "(none recorded)" : out;
}

// How a search's configurations are chosen (report.h).
struct Selection {
  bool on_test = false;
  bool maximize = true;
  std::string primary;  // the table's headline test metric: aAUC or AUC
  std::string by;       // "validation aAUC", "test aAUC"
};

Selection selection_of(const sweeps::SearchSpec& search, const ReportOptions& options,
                       const std::string& table_kind) {
  CHECK_OR_THROW(core::ConfigError, options.select_on == "validation" || options.select_on == "test",
                 "--select-on '", options.select_on, "': use validation or test");
  Selection s;
  s.on_test = options.select_on == "test";
  CHECK_OR_THROW(core::ConfigError, !s.on_test || options.force,
                 "--select-on test chooses each fold's configuration by its test score, which "
                 "overstates how well the chosen configuration does on unseen data; the search "
                 "report chooses on validation. Add --force to get the optimistic table anyway "
                 "(its title says how it was chosen)");
  s.primary =
      spec::task_info(spec::VariantRegistry::built_in().table_at(table_kind).task).headline;
  s.maximize = s.on_test || search.maximize;
  s.by = s.on_test ? "test " + s.primary : "validation " + search.metric;
  return s;
}

// Folds (part and seed) in sweep order, each with its finished jobs.
std::vector<std::pair<std::string, std::vector<size_t>>> finished_per_fold(const SweepResults& r) {
  std::vector<std::pair<std::string, std::vector<size_t>>> out;
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < r.jobs.size(); ++i) {
    const ReportJob& j = r.jobs[i];
    const std::string fold = j.job.part + "/seed" + std::to_string(j.job.seed);
    if (!at.count(fold)) {
      at[fold] = out.size();
      out.push_back({fold, {}});
    }
    if (j.finished) out[at[fold]].second.push_back(i);
  }
  return out;
}

// The fold's best job by the selection's value; nullopt when none has one.
std::optional<size_t> choose(const SweepResults& r, const std::vector<size_t>& jobs,
                             const Selection& s) {
  std::optional<size_t> best;
  double best_value = 0;
  for (size_t i : jobs) {
    const ReportJob& j = r.jobs[i];
    const std::optional<double> v = s.on_test ? find_value(job_metrics(j), s.primary) : j.final_val;
    if (!v || !std::isfinite(*v)) continue;
    if (!best || (s.maximize ? *v > best_value : *v < best_value)) {
      best = i;
      best_value = *v;
    }
  }
  return best;
}

// The table's one row: the chosen jobs' test metrics, mean ± std over folds.
metrics::TableRow chosen_row(const SweepResults& r, const std::vector<ColumnSpec>& cols,
                             const std::vector<size_t>& chosen, size_t folds) {
  metrics::TableRow row;
  row.method = (r.jobs.empty() ? std::string("search") : r.jobs.front().job.variant) +
               " (nested selection)";
  row.jobs = static_cast<int>(folds);
  row.finished = static_cast<int>(chosen.size());
  std::vector<metrics::MetricValues> values;
  for (size_t i : chosen) values.push_back(job_metrics(r.jobs[i]));
  for (const ColumnSpec& c : cols) {
    metrics::TableCell cell;
    std::vector<double> v;
    for (const metrics::MetricValues& mv : values)
      if (auto x = find_value(mv, c.key)) v.push_back(*x);
    if (!v.empty()) cell.value = metrics::mean_std(v);
    row.cells.push_back(cell);
  }
  return row;
}

}  // namespace

std::optional<sweeps::SearchSpec> search_of(const std::string& sweep_text, const std::string& where) {
  if (sweep_text.empty()) return std::nullopt;
  try {
    const YAML::Node root = YAML::Load(sweep_text);
    if (!root.IsMap() || !root["search"]) return std::nullopt;
    return sweeps::parse_search_spec(YAML::Dump(root["search"]), where);
  } catch (const YAML::Exception& e) {
    throw core::ConfigError(core::str_cat(where, ": not valid YAML: ", e.what()));
  }
}

void build_search_report(const SweepResults& r, const ReportOptions& options, Report& out) {
  const sweeps::SearchSpec& search = *r.search;
  const Selection s = selection_of(search, options, out.table_kind);

  metrics::TextTable& sel = out.selection.emplace();
  sel.id = "selection";
  sel.title = "Configuration chosen per fold by " + s.by;
  sel.header = {"Fold", "Trial", "Configuration", "Validation " + search.metric,
                "Test " + s.primary, "Trials finished"};
  const auto folds = finished_per_fold(r);
  std::vector<size_t> chosen;
  for (const auto& [fold, jobs] : folds) {
    const std::optional<size_t> best = choose(r, jobs, s);
    if (!best) {
      out.missing.push_back(fold + ": no trial finished with a " + s.by + " value");
      continue;
    }
    chosen.push_back(*best);
    const ReportJob& j = r.jobs[*best];
    const std::optional<double> test = find_value(job_metrics(j), s.primary);
    sel.rows.push_back({fold, std::to_string(j.job.trial), configuration_text(j.params),
                        j.final_val ? fmt::format("{:.4f}", *j.final_val) : "-",
                        test ? fmt::format("{:.4f}", *test) : "-", std::to_string(jobs.size())});
  }
  sel.footnotes.push_back(
      s.on_test ? "Chosen by the TEST metric: the table is optimistic, not an estimate of "
                  "performance on unseen data."
                : "Each fold's configuration is chosen by the validation " + search.metric +
                      " of its last epoch (the value the search saw), among the trials that "
                      "finished in that fold; test data play no part in the choice.");

  const std::vector<ColumnSpec> cols = columns_of(out.table_kind);
  metrics::ResultTable& t = out.table;
  t.id = out.table_kind;
  t.title = title_of(out.table_kind, r.manifest.name) + ", configuration chosen per fold by " +
            s.by + (s.on_test ? " (OPTIMISTIC: chosen on test)" : "");
  for (const ColumnSpec& c : cols) t.columns.push_back({c.key, c.text, c.latex});
  t.rows.push_back(chosen_row(r, cols, chosen, folds.size()));
  out.rows.push_back({t.rows.back().method, chosen});
  t.footnotes.push_back(fmt::format(
      "Mean ± std over {} fold(s) of the test metrics of the configuration chosen in each fold by "
      "{}; {} trials were searched (search.trials).", chosen.size(), s.by, search.trials));
  if (s.on_test)
    t.footnotes.push_back("The configurations were chosen on the test metric (--select-on test "
                          "--force): these numbers overstate performance on unseen data.");
}

}  // namespace fracsweep::report
