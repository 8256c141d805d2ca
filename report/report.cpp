// See report.h.
#include "report/report.h"

#include "report/budget.h"
#include "report/columns.h"
#include "report/deviations.h"
#include "report/selection.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "datastore/heatmaps.h"
#include "metrics/aggregate.h"
#include "metrics/stats.h"
#include "sweeps/ledger.h"
#include "spec/variants.h"
#include "sweeps/search.h"

namespace fracsweep::report {
namespace {

using sweeps::LedgerEvent;
using sweeps::LedgerRecord;
using sweeps::read_sweep_ledger;
using sweeps::read_manifest;

namespace fs = std::filesystem;

// The data-size axis, by its field alone, as the manifest names axes (sweeps/status.h).
const char* kDataSizeKey = "subset";

// A job's hyperparameters by field (the manifest's axis values).
std::map<std::string, std::string> hparam_map(const ReportJob& j) {
  return {j.job.axes.begin(), j.job.axes.end()};
}

std::string data_size_name(const std::string& value) {
  const double v = std::stod(value);
  if (v == 0.25) return "Quarter";
  if (v == 0.5) return "Half";
  if (v == 1.0) return "Full";
  return fmt::format("{:g}%", 100 * v);
}

// The row of a job and its group: in Table II the data size is the group, not the row.
std::pair<std::string, std::string> row_and_group(const ReportJob& j, bool by_data_size) {
  std::string row = j.job.variant, rest, group;
  for (const auto& [k, v] : hparam_map(j)) {
    if (by_data_size && k == kDataSizeKey) {
      group = data_size_name(v);
      continue;
    }
    rest += (rest.empty() ? "" : ", ") + k + "=" + v;
  }
  if (!rest.empty()) row += " (" + rest + ")";
  return {row, group};
}

// AASN's image score is its heatmap's maximum (§4.1); a file that says otherwise
// (rows out of order, heatmaps of another epoch) would give a FROC of other
// images than the AUC's.
void check_scores_are_maxima(const metrics::Predictions& p, const datastore::HeatmapSet& set,
                             const std::string& path) {
  for (size_t i = 0; i < p.size(); ++i) {
    const auto& m = set.images[i].heatmap;
    if (m.empty()) continue;
    const double peak = *std::max_element(m.begin(), m.end());
    CHECK_OR_THROW(core::ConfigError, std::abs(p.row(i)[0] - peak) <= 1e-5, path, ": image ", i,
                   " ('", p.ids[i], "') has score ", p.row(i)[0],
                   " in predictions_test.csv but its heatmap's maximum is ", peak,
                   "; the two files do not belong together (retrain the job)");
  }
}

// A job's variant in the registry: its config.yaml's model.variant, else (no config
// read) the sweep's name for it; nullptr for one the registry does not know.
const spec::Variant* variant_of(const ReportJob& j) {
  return spec::VariantRegistry::built_in().find(j.model_variant.empty() ? j.job.variant
                                                                         : j.model_variant);
}

std::vector<nlohmann::json> read_log(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A torn last line (a crash mid-write) is dropped: the log is for curves only.
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

// The first row of row `i`'s group whose column `c` is marked best; rows.size() when none.
size_t best_in_group(const metrics::ResultTable& t, size_t i, size_t c) {
  for (size_t b = 0; b < t.rows.size(); ++b)
    if (t.rows[b].group == t.rows[i].group && t.rows[b].cells[c].rank == 1) return b;
  return t.rows.size();
}

using RowValues = std::map<std::string, metrics::MetricValues>;  // "repeat0/seed1" -> metrics

// `key` of the jobs of two rows with the same split and seed, as two aligned lists.
std::pair<std::vector<double>, std::vector<double>> paired_values(const RowValues& a,
                                                                  const RowValues& b,
                                                                  const std::string& key) {
  std::pair<std::vector<double>, std::vector<double>> out;
  for (const auto& [pair, mv] : a) {
    const auto other = b.find(pair);
    if (other == b.end()) continue;
    const auto x = find_value(mv, key), y = find_value(other->second, key);
    if (x && y) {
      out.first.push_back(*x);
      out.second.push_back(*y);
    }
  }
  return out;
}

std::string format_p(double p) {
  if (!std::isfinite(p)) return "-";
  return p < 0.001 ? "<0.001" : fmt::format("{:.3f}", p);
}

// Per sample id, the mean score of column `col` over the given jobs (one split, many seeds)
// and whether the sample is positive (label == `positive_class`).
std::map<std::string, std::pair<double, int>> pooled_scores(const SweepResults& r,
                                                            const std::vector<size_t>& jobs,
                                                            int col, int positive_class) {
  std::map<std::string, std::pair<double, int>> out;  // id -> (score sum, then mean; positive)
  std::map<std::string, int> count;
  for (size_t idx : jobs) {
    const metrics::Predictions& p = r.jobs[idx].test;
    for (size_t i = 0; i < p.size(); ++i) {
      auto& entry = out[p.ids[i]];
      entry.first += p.row(i)[col];
      entry.second = p.label[i] == positive_class ? 1 : 0;
      ++count[p.ids[i]];
    }
  }
  for (auto& [id, entry] : out) entry.first /= count[id];
  return out;
}

// DeLong's test of score column `col` (positive: label == `positive_class`) between the jobs
// of two rows: per split on the scores averaged over seeds, then combined over splits, as
// "p (splits)".
std::string delong_over_splits(const SweepResults& r, const std::vector<size_t>& jobs_a,
                               const std::vector<size_t>& jobs_b, int col, int positive_class) {
  std::map<std::string, std::vector<size_t>> parts_a, parts_b;
  for (size_t idx : jobs_a) parts_a[r.jobs[idx].job.part].push_back(idx);
  for (size_t idx : jobs_b) parts_b[r.jobs[idx].job.part].push_back(idx);
  std::vector<metrics::DelongResult> folds;
  for (const auto& [part, in_a] : parts_a) {
    const auto in_b = parts_b.find(part);
    if (in_b == parts_b.end()) continue;
    const auto sa = pooled_scores(r, in_a, col, positive_class);
    const auto sb = pooled_scores(r, in_b->second, col, positive_class);
    std::vector<double> x, y;
    std::vector<uint8_t> pos;
    for (const auto& [id, v] : sa) {
      const auto o = sb.find(id);
      if (o == sb.end()) continue;
      x.push_back(v.first);
      y.push_back(o->second.first);
      pos.push_back(static_cast<uint8_t>(v.second));
    }
    try {
      folds.push_back(metrics::delong_test(x, y, pos));
    } catch (const core::ConfigError&) {
      // A split whose test set has fewer than 2 samples of a class cannot be tested.
    }
  }
  if (folds.empty()) return "- (0)";
  const size_t n = folds.size();
  return fmt::format("{} ({})", format_p(metrics::combine_delong(std::move(folds)).p), n);
}


}  // namespace

SweepResults collect_results(const std::string& dir) {
  SweepResults out;
  out.dir = dir;
  out.manifest = read_manifest(dir);
  const fs::path copy = fs::path(dir) / "sweep.yaml";
  if (fs::exists(copy))
    out.sweep_text = core::read_file(copy.string());
  else if (!out.manifest.sweep_file.empty() && fs::exists(out.manifest.sweep_file))
    out.sweep_text = core::read_file(out.manifest.sweep_file);

  out.search = search_of(out.sweep_text, (fs::path(dir) / "sweep.yaml").string());

  const bool have_ledger = sweeps::has_ledger(dir);
  std::map<std::string, LedgerEvent> latest;
  std::map<std::string, nlohmann::json> params;
  std::map<std::string, std::map<int, double>> results;  // job -> epoch -> value
  if (have_ledger) {
    core::Logger quiet(core::LogLevel::kError);
    for (const LedgerRecord& rec : read_sweep_ledger(dir, quiet)) {
      if (rec.event == LedgerEvent::kResult) {
        results[rec.job][rec.epoch] = rec.value;
        continue;
      }
      latest[rec.job] = rec.event;
      if (rec.event == LedgerEvent::kStarted && !rec.params.empty() && !params.count(rec.job))
        params[rec.job] = rec.params;
    }
  }
  for (const sweeps::ManifestJob& mj : out.manifest.jobs) {
    ReportJob j;
    j.job = mj;
    j.dir = (fs::path(dir) / mj.name).string();
    const fs::path folder(j.dir);
    if (fs::exists(folder / "config.yaml")) {
      try {
        const YAML::Node config = YAML::LoadFile((folder / "config.yaml").string());
        if (config["model"] && config["model"]["variant"])
          j.model_variant = config["model"]["variant"].as<std::string>();
        if (config["train"] && config["train"]["budget"])
          j.budget = config["train"]["budget"].as<std::string>();
      } catch (const YAML::Exception&) {
        // The variant only helps to pick a table; a damaged config is not a reason to stop.
      }
    }
    if (const auto p = params.find(mj.id); p != params.end()) j.params = p->second;
    if (const auto at = results.find(mj.id); at != results.end()) {
      const auto last = at->second.find(mj.epochs);
      if (last != at->second.end() && std::isfinite(last->second)) j.final_val = last->second;
    }
    const bool files = fs::exists(folder / "predictions_test.csv");
    const auto it = latest.find(mj.id);
    j.finished = files && (have_ledger ? it != latest.end() && it->second == LedgerEvent::kFinished
                                       : fs::exists(folder / "metrics.json"));
    if (j.finished) {
      j.test = metrics::read_predictions((folder / "predictions_test.csv").string());
      j.log = read_log((folder / "log.jsonl").string());
      const fs::path heatmaps = folder / "heatmaps_test.h5";
      if (j.test.kind == metrics::PredictionKind::kBinary && fs::exists(heatmaps)) {
        const datastore::HeatmapSet set = datastore::read_heatmaps(heatmaps.string());
        CHECK_OR_THROW(core::ConfigError, set.images.size() == j.test.size(), heatmaps.string(),
                       ": ", set.images.size(), " heatmaps for the ", j.test.size(),
                       " rows of predictions_test.csv; image i must be row i");
        check_scores_are_maxima(j.test, set, heatmaps.string());
        j.froc = metrics::area_froc(set.images, set.radius);
      }
    }
    out.jobs.push_back(std::move(j));
  }
  return out;
}

std::string infer_table(const SweepResults& r) {
  const ReportJob* any = nullptr;
  std::set<std::string> subsets;
  std::vector<const spec::Variant*> variants;  // the sweep's, each once
  for (const ReportJob& j : r.jobs) {
    if (j.finished && !any) any = &j;
    const auto h = hparam_map(j);
    if (h.count(kDataSizeKey)) subsets.insert(h.at(kDataSizeKey));
    const spec::Variant* v = variant_of(j);
    if (v && std::find(variants.begin(), variants.end(), v) == variants.end())
      variants.push_back(v);
  }
  CHECK_OR_THROW(core::ConfigError, any != nullptr, r.dir,
                 ": no job has finished yet, so there is nothing to report; run the sweep first "
                 "(fracsweep status ",
                 r.dir, " shows where it stands)");
  const spec::Task task = any->test.kind == metrics::PredictionKind::kMulticlass
                              ? spec::Task::kVertebra
                              : spec::Task::kPelvis;
  const auto& tables = spec::VariantRegistry::built_in().tables();
  // The data-size study's table when the jobs vary data.subset and the task has one.
  const bool by_size =
      subsets.size() > 1 && std::any_of(tables.begin(), tables.end(), [&](const auto& t) {
        return t.task == task && t.by_data_size;
      });
  // Of the others, the one with most of the sweep's variants among its rows; the first
  // listed on a tie.
  const spec::PaperTable* best = nullptr;
  size_t best_rows = 0;
  for (const spec::PaperTable& t : tables) {
    if (t.task != task || t.by_data_size != by_size) continue;
    const size_t rows = std::count_if(variants.begin(), variants.end(),
                                      [&](const spec::Variant* v) { return v->row_in(t.id); });
    if (!best || rows > best_rows) {
      best = &t;
      best_rows = rows;
    }
  }
  INTERNAL_ASSERT(best != nullptr);  // the registry has a table of each task
  return best->id;
}

Report build_report(const SweepResults& r, const ReportOptions& options) {
  Report out;
  out.table_kind = options.table.empty() ? infer_table(r) : options.table;
  const spec::PaperTable& table = spec::VariantRegistry::built_in().table_at(out.table_kind);
  const spec::TaskInfo& task = spec::task_info(table.task);
  const bool three_class = table.task == spec::Task::kVertebra;
  for (const ReportJob& j : r.jobs) {
    if (!j.finished) continue;
    const bool multiclass = j.test.kind == metrics::PredictionKind::kMulticlass;
    CHECK_OR_THROW(core::ConfigError, multiclass == three_class, "table ", out.table_kind, " needs ",
                   three_class ? "three-class (vertebra)" : "binary (pelvis)", " predictions, but ",
                   j.dir, "/predictions_test.csv has ", multiclass ? "multi-class" : "binary",
                   " ones");
  }
  if (r.search) {
    build_search_report(r, options, out);
    return out;
  }
  CHECK_OR_THROW(core::ConfigError, options.select_on == "validation" && !options.force, r.dir,
                 " is not a search sweep (its sweep file has no search section): --select-on and "
                 "--force choose a search's configurations, and do not apply here");
  const bool by_size = table.by_data_size;

  // Rows and groups in the order the sweep file lists them.
  std::vector<std::string> row_order, group_order;
  std::map<std::string, std::vector<size_t>> all_jobs;  // row key -> indices
  std::map<std::string, std::string> group_of;
  for (size_t i = 0; i < r.jobs.size(); ++i) {
    auto [row, group] = row_and_group(r.jobs[i], by_size);
    const std::string key = group + "\x1f" + row;
    if (!all_jobs.count(key)) row_order.push_back(key);
    if (std::find(group_order.begin(), group_order.end(), group) == group_order.end())
      group_order.push_back(group);
    all_jobs[key].push_back(i);
    group_of[key] = group;
  }
  std::stable_sort(row_order.begin(), row_order.end(), [&](const auto& a, const auto& b) {
    const auto ga = std::find(group_order.begin(), group_order.end(), group_of[a]);
    const auto gb = std::find(group_order.begin(), group_order.end(), group_of[b]);
    return ga < gb;
  });

  const std::vector<ColumnSpec> cols = columns_of(out.table_kind);
  metrics::ResultTable& t = out.table;
  t.id = out.table_kind;
  t.title = title_of(out.table_kind, r.manifest.name);
  if (by_size) t.group_header = "Data size";
  for (const ColumnSpec& c : cols) t.columns.push_back({c.key, c.text, c.latex});

  // Per row: per finished job its recomputed metrics, keyed by its pairing (split and seed).
  std::vector<RowValues> row_values;
  for (const std::string& key : row_order) {
    const std::vector<size_t>& idx = all_jobs[key];
    metrics::TableRow row;
    row.method = key.substr(key.find('\x1f') + 1);
    row.group = group_of[key];
    row.jobs = static_cast<int>(idx.size());
    RowValues values;
    std::vector<size_t> finished;
    std::vector<std::string> missing;
    for (size_t i : idx) {
      if (r.jobs[i].finished) {
        values[r.jobs[i].job.part + "/seed" + std::to_string(r.jobs[i].job.seed)] =
            job_metrics(r.jobs[i]);
        finished.push_back(i);
      } else {
        missing.push_back(r.jobs[i].job.name);
      }
    }
    row.finished = static_cast<int>(finished.size());
    if (!missing.empty()) {
      std::string names;
      for (size_t m = 0; m < missing.size() && m < 5; ++m) names += (m ? ", " : "") + missing[m];
      if (missing.size() > 5) names += fmt::format(", and {} more", missing.size() - 5);
      out.missing.push_back(fmt::format("{}{}: {} of {} jobs missing: {}", row.method,
                                        row.group.empty() ? "" : " (" + row.group + ")",
                                        missing.size(), idx.size(), names));
    }
    for (const ColumnSpec& c : cols) {
      metrics::TableCell cell;
      std::vector<double> v;
      for (const auto& [pair, mv] : values)
        if (auto x = find_value(mv, c.key)) v.push_back(*x);
      if (!v.empty()) cell.value = metrics::mean_std(v);
      row.cells.push_back(cell);
    }
    const std::string label = row.method + (row.group.empty() ? "" : " (" + row.group + ")");
    out.rows.push_back({label, finished});
    t.rows.push_back(std::move(row));
    row_values.push_back(std::move(values));
  }

  // AASN Table 2: each row's gain over the baseline row, in percentage points as printed.
  if (table.gains && !t.rows.empty()) {
    size_t base = 0;
    if (!options.baseline.empty()) {
      base = t.rows.size();
      for (size_t i = 0; i < t.rows.size(); ++i)
        if (t.rows[i].method == options.baseline) base = i;
      CHECK_OR_THROW(core::ConfigError, base < t.rows.size(), "--baseline '", options.baseline,
                     "' is not a row of the table");
    }
    for (size_t i = 0; i < t.rows.size(); ++i) {
      if (i == base) continue;
      for (size_t c = 0; c < cols.size(); ++c) {
        const auto& a = t.rows[i].cells[c].value;
        const auto& b = t.rows[base].cells[c].value;
        if (!a || !b) continue;
        const double gain =
            std::stod(metrics::percent(a->mean)) - std::stod(metrics::percent(b->mean));
        t.rows[i].cells[c].gain = fmt::format("{:+.2f}%", gain);
      }
    }
    // The paper's component columns, as the registry marks the row's variant in this table.
    t.flag_headers = table.flag_headers;
    for (size_t i = 0; i < t.rows.size(); ++i) {
      metrics::TableRow& row = t.rows[i];
      const spec::Variant* v = variant_of(r.jobs[all_jobs[row_order[i]].front()]);
      const spec::TableRow* in = v ? v->row_in(table.id) : nullptr;
      row.flags.assign(table.flag_headers.size(), false);
      std::vector<std::string> notes(table.flag_headers.size());
      bool noted = false;
      for (size_t f = 0; in != nullptr && f < in->flags.size(); ++f) {
        const auto& [header, note] = in->flags[f];
        const auto k = std::find(table.flag_headers.begin(), table.flag_headers.end(), header);
        INTERNAL_ASSERT(k != table.flag_headers.end());  // the registry checks its rows' flags
        row.flags[k - table.flag_headers.begin()] = true;
        notes[k - table.flag_headers.begin()] = note;
        noted = noted || !note.empty();
      }
      if (noted) row.flag_notes = std::move(notes);
    }
    t.footnotes.push_back("Gains in parentheses are over the baseline row, " + t.rows[base].method +
                          ", in percentage points.");
  }

  metrics::rank_cells(t);

  // Significance marks: each cell against its column's best in the same group, paired by
  // (split, seed).
  int tested = 0;
  for (size_t c = 0; c < cols.size(); ++c) {
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const size_t best = best_in_group(t, i, c);
      if (best == t.rows.size() || best == i || !t.rows[i].cells[c].value ||
          t.rows[i].cells[c].rank == 1)
        continue;
      const auto [a, b] = paired_values(row_values[i], row_values[best], cols[c].key);
      if (a.size() < 2) continue;
      ++tested;
      const metrics::PairedTTest test = metrics::paired_t_test(a, b);
      t.rows[i].cells[c].significant = test.p < options.alpha;
    }
  }
  std::set<std::string> variants;
  for (const ReportJob& j : r.jobs) variants.insert(j.model_variant.empty() ? j.job.variant : j.model_variant);
  for (std::string& note : deviation_notes(variants)) t.footnotes.push_back(std::move(note));
  if (std::string note = budget_note(r, out); !note.empty())
    t.footnotes.push_back(std::move(note));
  t.footnotes.push_back(fmt::format(
      "† differs from the column's best (bold) with p < {:g}: two-sided paired t-test over the "
      "jobs of both rows with the same split and seed{}.",
      options.alpha, tested == 0 ? "; no cell had the 2 pairs a test needs" : ""));
  if (!out.missing.empty())
    t.footnotes.push_back(fmt::format("Partial results: {} of the sweep's jobs are missing.", [&] {
      int m = 0;
      for (const auto& row : t.rows) m += row.jobs - row.finished;
      return m;
    }()));

  // The significance table: every row against the best row of the primary metric.
  const std::string& primary = task.headline;
  size_t primary_col = 0;
  for (size_t c = 0; c < cols.size(); ++c)
    if (cols[c].key == primary) primary_col = c;
  const int classes = task.classes;
  metrics::TextTable& s = out.significance;
  s.id = out.table_kind + "-significance";
  s.title = "Significance against the best row by " + primary;
  s.header = {"Method", "Best", "Δ " + primary + " (pp)", "paired t: p (pairs)"};
  // In LaTeX, two lines a header: the p columns are as narrow as their numbers.
  s.latex_header = {"", "", "\\shortstack{$\\Delta$ " + metrics::latex_escape(primary) + "\\\\(pp)}",
                    "\\shortstack{paired $t$:\\\\$p$ (pairs)}"};
  for (int k = 0; k < classes; ++k) {
    s.header.push_back(three_class ? fmt::format("DeLong AUC_{}: p (splits)", k)
                             : "DeLong AUC: p (splits)");
    s.latex_header.push_back(three_class ? fmt::format("\\shortstack{{DeLong AUC$_{}$:\\\\$p$ (splits)}}", k)
                                   : "\\shortstack{DeLong AUC:\\\\$p$ (splits)}");
  }
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const size_t best = best_in_group(t, i, primary_col);
    if (best == t.rows.size() || best == i || !t.rows[i].cells[primary_col].value) continue;
    std::vector<std::string> line = {out.rows[i].first, out.rows[best].first};
    line.push_back(fmt::format("{:+.2f}", 100 * (t.rows[i].cells[primary_col].value->mean -
                                                 t.rows[best].cells[primary_col].value->mean)));
    const auto [a, b] = paired_values(row_values[i], row_values[best], primary);
    if (a.size() >= 2) {
      const auto test = metrics::paired_t_test(a, b);
      line.push_back(fmt::format("{} ({})", format_p(test.p), test.n));
    } else {
      line.push_back(fmt::format("- ({})", a.size()));
    }
    for (int k = 0; k < classes; ++k)
      line.push_back(delong_over_splits(r, out.rows[i].second, out.rows[best].second, three_class ? k : 0,
                                        three_class ? k : 1));
    s.rows.push_back(std::move(line));
  }
  s.footnotes.push_back(
      "paired t: two-sided paired t-test of " + primary +
      " over the pairs of jobs of both rows with the same split and seed. DeLong: DeLong's test of "
      "correlated AUCs" +
      std::string(three_class ? " (class k against the rest)" : "") +
      " on each split's test samples, scores averaged over seeds, combined over splits as "
      "Σ Δ / √Σ var(Δ); the combination treats splits as independent, which holds for k-fold "
      "test sets and makes p optimistic for repeated random splits, whose test sets overlap.");
  return out;
}

}  // namespace fracsweep::report
