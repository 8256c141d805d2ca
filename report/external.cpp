// See external.h.
#include "report/external.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/heatmaps.h"
#include "metrics/bootstrap.h"
#include "metrics/delong.h"
#include "metrics/html.h"
#include "metrics/plot.h"
#include "report/columns.h"

namespace fracsweep::report {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPredictions = "predictions_test.csv";
constexpr const char* kHeatmaps = "heatmaps_test.h5";

// One variant's ensemble on the external cohort, and its bootstrap replicates.
struct Ensemble {
  std::string variant;
  ReportJob job;  // test: the ensemble's predictions; froc: of its mean heatmaps
  metrics::MetricValues values;  // headline metrics, then Brier and ECE
  std::map<std::string, std::vector<double>> replicates;  // key -> value per replicate
  metrics::Calibration calibration;
};

// The external files of a job-like folder: its predictions and, when there, its FROC.
ReportJob read_external(ReportJob j, const fs::path& folder) {
  j.dir = folder.string();
  j.log.clear();
  j.froc.reset();
  j.finished = fs::exists(folder / kPredictions);
  if (!j.finished) return j;
  j.test = metrics::read_predictions((folder / kPredictions).string());
  if (fs::exists(folder / kHeatmaps)) {
    const datastore::HeatmapSet set = datastore::read_heatmaps((folder / kHeatmaps).string());
    j.froc = metrics::area_froc(set.images, set.radius);
  }
  return j;
}

// Brier score and ECE of the predictions' fracture probabilities.
metrics::Calibration calibration_of(const metrics::Predictions& p) {
  std::vector<double> prob;
  std::vector<uint8_t> pos;
  metrics::fracture_probabilities(p, prob, pos);
  return metrics::calibration(prob, pos, 10);
}

// The headline metrics of `p` by key (NaN where undefined), and Brier and ECE.
std::vector<double> replicate_values(const metrics::Predictions& p,
                                     const std::vector<std::string>& keys) {
  std::vector<double> out(keys.size(), NAN);
  metrics::MetricValues v;
  try {
    v = metrics::compute_metrics(p, 0.5, "replicate");
  } catch (const core::ConfigError&) {
    // A resample without a class: its AUC and AP are undefined, left out of the interval.
  }
  const metrics::Calibration cal = calibration_of(p);
  for (size_t k = 0; k < keys.size(); ++k) {
    if (keys[k] == "Brier") out[k] = cal.brier;
    else if (keys[k] == "ECE") out[k] = cal.ece;
    else if (const auto x = find_value(v, keys[k])) out[k] = *x;
  }
  return out;
}

std::vector<std::string> variants_in_order(const Report& internal, const fs::path& ensembles) {
  std::vector<std::string> out;
  for (const auto& [row, jobs] : internal.rows)
    if (fs::exists(ensembles / row / kPredictions)) out.push_back(row);
  for (const auto& e : fs::directory_iterator(ensembles)) {
    const std::string v = e.path().filename().string();
    if (e.is_directory() && fs::exists(e.path() / kPredictions) &&
        std::find(out.begin(), out.end(), v) == out.end())
      out.push_back(v);
  }
  return out;
}

bool is_fraction(const std::string& key) { return key != "Brier" && key != "ECE"; }

std::string value_text(const std::string& key, double v) {
  if (std::isnan(v)) return "-";
  return is_fraction(key) ? metrics::percent(v) : fmt::format("{:.4f}", v);
}

std::string signed_text(const std::string& key, double v) {
  const std::string s = value_text(key, std::abs(v));
  return (v < 0 ? "-" : "+") + s;
}

std::string p_text(double p) { return p < 0.001 ? "p<0.001" : fmt::format("p={:.3f}", p); }

// The ensemble table: value [low, high] per key.
metrics::TextTable ensemble_table(const std::vector<Ensemble>& ensembles,
                                  const std::vector<std::string>& keys, const ExternalOptions& o,
                                  const std::map<std::string, int>& members) {
  metrics::TextTable t;
  t.id = "external-ensemble";
  t.title = fmt::format("External validation: ensembles, {:g} % intervals", 100 * (1 - o.alpha));
  t.header = {"Method", "Models"};
  for (const std::string& k : keys) t.header.push_back(is_fraction(k) ? k + " (%)" : k);
  for (const Ensemble& e : ensembles) {
    std::vector<std::string> row = {e.variant, std::to_string(members.at(e.variant))};
    for (const std::string& k : keys) {
      const double v = find_value(e.values, k).value_or(NAN);
      std::string cell = value_text(k, v);
      const auto it = e.replicates.find(k);
      if (it != e.replicates.end() && !std::isnan(v))
        if (const auto ci = metrics::percentile_interval(it->second, o.alpha))
          cell += fmt::format(" [{}, {}]", value_text(k, ci->low), value_text(k, ci->high));
      row.push_back(cell);
    }
    t.rows.push_back(std::move(row));
  }
  t.footnotes = {fmt::format(
      "Each ensemble averages its folds' and seeds' probabilities (Models). Intervals: "
      "percentile bootstrap over patients, stratified by the patient's highest label, {} "
      "replicates, SplitMix64 seed {}. Brier score and expected calibration error (10 bins) of "
      "the fracture probability.{}",
      o.replicates, o.seed,
      keys.end() != std::find_if(keys.begin(), keys.end(),
                                 [](const std::string& k) { return k.rfind("recall@", 0) == 0; })
          ? " FROC recalls are point values."
          : "")};
  return t;
}

// Every other ensemble against the proposed one on the same cases.
metrics::TextTable paired_table(const std::vector<Ensemble>& ensembles, size_t proposed,
                                const std::vector<std::string>& keys, const ExternalOptions& o) {
  const Ensemble& b = ensembles[proposed];
  const bool binary = b.job.test.kind == metrics::PredictionKind::kBinary;
  const int classes = binary ? 1 : b.job.test.num_classes;
  metrics::TextTable t;
  t.id = "external-paired";
  t.title = "External validation: each row against " + b.variant + " on the same cases";
  t.header = {"Method"};
  std::vector<std::string> boot;
  for (const std::string& k : keys)
    if (k != "AUC" && k.rfind("recall@", 0) != 0) boot.push_back(k);
  for (int c = 0; c < classes; ++c)
    t.header.push_back(binary ? "AUC (DeLong)" : fmt::format("AUC_{} (DeLong)", c));
  for (const std::string& k : boot) t.header.push_back(k + " (paired bootstrap)");
  for (size_t r = 0; r < ensembles.size(); ++r) {
    if (r == proposed) continue;
    const Ensemble& a = ensembles[r];
    std::vector<std::string> row = {a.variant};
    for (int c = 0; c < classes; ++c) {
      std::vector<double> sa, sb;
      std::vector<uint8_t> pos;
      for (size_t i = 0; i < b.job.test.size(); ++i) {
        sa.push_back(a.job.test.row(i)[binary ? 0 : static_cast<size_t>(c)]);
        sb.push_back(b.job.test.row(i)[binary ? 0 : static_cast<size_t>(c)]);
        pos.push_back(b.job.test.label[i] == (binary ? 1 : c) ? 1 : 0);
      }
      try {
        const metrics::DelongResult d = metrics::delong_test(sa, sb, pos);
        row.push_back(fmt::format("{} {}", signed_text("AUC", d.auc_a - d.auc_b), p_text(d.p)));
      } catch (const core::ConfigError&) {
        row.push_back("-");  // a class with fewer than two cases
      }
    }
    for (const std::string& k : boot) {
      const auto d = metrics::paired_difference(
          find_value(a.values, k).value_or(NAN), find_value(b.values, k).value_or(NAN),
          a.replicates.at(k), b.replicates.at(k), o.alpha);
      row.push_back(d ? fmt::format("{} [{}, {}] {}", signed_text(k, d->difference),
                                    signed_text(k, d->interval.low),
                                    signed_text(k, d->interval.high), p_text(d->p))
                      : "-");
    }
    t.rows.push_back(std::move(row));
  }
  t.footnotes = {fmt::format(
      "Differences are row minus {} (percentage points; Brier and ECE in their units), with "
      "the paired bootstrap's {:g} % interval and two-sided p from the same {} resamples of "
      "patients as the ensemble table. DeLong's test treats every case as independent.",
      b.variant, 100 * (1 - o.alpha), o.replicates)};
  return t;
}

const metrics::TableCell* cell_of(const metrics::ResultTable& t, const std::string& row,
                                  const std::string& key) {
  for (size_t c = 0; c < t.columns.size(); ++c)
    if (t.columns[c].key == key)
      for (const metrics::TableRow& r : t.rows)
        if (r.method == row && c < r.cells.size()) return &r.cells[c];
  return nullptr;
}

std::string mean_std_text(const metrics::TableCell* c) {
  if (!c || !c->value) return "-";
  if (c->value->n < 2) return metrics::percent(c->value->mean);
  return metrics::percent(c->value->mean) + " ± " + metrics::percent(c->value->std);
}

metrics::TextTable side_by_side_table(const std::vector<Ensemble>& ensembles,
                                      const std::vector<ColumnSpec>& columns,
                                      const Report& internal, const Report& single) {
  metrics::TextTable t;
  t.id = "internal-vs-external";
  t.title = "Internal and external validation";
  t.header = {"Method", "Metric", "Internal (%)", "External, single models (%)",
              "External, ensemble (%)", "External - internal (points)"};
  for (const Ensemble& e : ensembles)
    for (const ColumnSpec& col : columns) {
      const metrics::TableCell* in = cell_of(internal.table, e.variant, col.key);
      const metrics::TableCell* ex = cell_of(single.table, e.variant, col.key);
      const auto ens = find_value(e.values, col.key);
      std::string drop = "-";
      if (in && in->value && ex && ex->value)
        drop = signed_text(col.key, ex->value->mean - in->value->mean);
      t.rows.push_back({e.variant, col.key, mean_std_text(in), mean_std_text(ex),
                        ens ? metrics::percent(*ens) : "-", drop});
    }
  t.footnotes = {"Internal: the sweep's own test parts, mean ± std over folds x seeds. External "
                 "single models: the same models on the external cohort, likewise. External - "
                 "internal: the drop, external single models minus internal (negative: worse "
                 "outside)."};
  return t;
}

}  // namespace

ExternalReport build_external_report(const SweepResults& internal, const Report& internal_report,
                                     const ExternalOptions& o) {
  CHECK_OR_THROW(core::ConfigError, o.replicates >= 100, "--replicates ", o.replicates,
                 " is too few for a 95 % percentile interval; give at least 100 (default 2000)");
  CHECK_OR_THROW(core::ConfigError, o.alpha > 0 && o.alpha < 1, "--alpha ", o.alpha,
                 " is not a level: give a number between 0 and 1, e.g. 0.05");
  const fs::path dir(o.dir);
  CHECK_OR_THROW(core::ConfigError, fs::exists(dir / "predict.json"), "--external ", o.dir,
                 ": no predict.json, so not a folder `fracsweep predict` wrote; run fracsweep "
                 "predict ", internal.dir, " STORE.h5 and name its output folder");
  ExternalReport out;
  out.table_kind = internal_report.table_kind;
  out.single_results = internal;
  for (ReportJob& j : out.single_results.jobs)
    j = read_external(std::move(j), dir / "jobs" / j.job.name);
  ReportOptions ro;
  ro.table = out.table_kind;
  ro.alpha = o.alpha;
  out.single = build_report(out.single_results, ro);

  const std::vector<std::string> variants = variants_in_order(internal_report, dir / "ensembles");
  CHECK_OR_THROW(core::ConfigError, !variants.empty(), "--external ", o.dir,
                 ": no ensemble under ensembles/; run fracsweep predict to the end");
  const std::vector<ColumnSpec> columns = columns_of(out.table_kind);
  std::vector<std::string> keys;
  for (const ColumnSpec& c : columns) keys.push_back(c.key);
  keys.push_back("Brier");
  keys.push_back("ECE");

  std::vector<Ensemble> ensembles;
  std::map<std::string, int> members;
  for (const std::string& v : variants) {
    Ensemble e;
    e.variant = v;
    e.job = read_external(ReportJob{}, dir / "ensembles" / v);
    e.calibration = calibration_of(e.job.test);
    e.values = job_metrics(e.job);
    e.values.emplace_back("Brier", e.calibration.brier);
    e.values.emplace_back("ECE", e.calibration.ece);
    const auto record = nlohmann::json::parse(
        core::read_file((dir / "ensembles" / v / "ensemble.json").string()));
    members[v] = static_cast<int>(record.at("members").size());
    if (!ensembles.empty())
      CHECK_OR_THROW(core::ConfigError,
                     e.job.test.label == ensembles.front().job.test.label &&
                         e.job.test.patient_names == ensembles.front().job.test.patient_names,
                     o.dir, ": ensembles ", v, " and ", ensembles.front().variant,
                     " are of different cases; predict every variant on the same store");
    ensembles.push_back(std::move(e));
  }
  // Every ensemble on the same resamples, so that differences pair.
  const auto draws = metrics::resample_patients(metrics::patient_strata(ensembles.front().job.test),
                                                o.replicates, o.seed);
  for (Ensemble& e : ensembles) {
    for (const std::string& k : keys) e.replicates[k].reserve(draws.size());
    for (const auto& drawn : draws) {
      const std::vector<double> v =
          replicate_values(metrics::rows_of_patients(e.job.test, drawn), keys);
      for (size_t k = 0; k < keys.size(); ++k)
        if (keys[k].rfind("recall@", 0) != 0) e.replicates[keys[k]].push_back(v[k]);
    }
  }
  size_t proposed = ensembles.size() - 1;
  const std::string wanted = o.proposed;
  for (size_t i = 0; i < ensembles.size(); ++i)
    if (ensembles[i].variant == wanted ||
        (wanted.empty() && (ensembles[i].variant == "tsccn" || ensembles[i].variant == "aasn")))
      proposed = i;
  if (!wanted.empty()) {
    std::string names;
    for (const Ensemble& e : ensembles) names += (names.empty() ? "" : ", ") + e.variant;
    CHECK_OR_THROW(core::ConfigError, ensembles[proposed].variant == wanted, "--proposed '",
                   wanted, "' is not a row of ", o.dir, " (its rows: ", names, ")");
  }
  out.proposed = ensembles[proposed].variant;
  out.ensemble = ensemble_table(ensembles, keys, o, members);
  out.paired = paired_table(ensembles, proposed, keys, o);
  out.side_by_side = side_by_side_table(ensembles, columns, internal_report, out.single);
  for (const Ensemble& e : ensembles) out.calibration.emplace_back(e.variant, e.calibration);
  return out;
}

std::vector<std::string> write_external_report(const ExternalReport& r, const std::string& out_dir,
                                               const WriteOptions& options) {
  fs::create_directories(out_dir);
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& text) {
    core::write_file_atomic(out_dir + "/" + name, text);
    written.push_back(out_dir + "/" + name);
  };
  auto wants = [&](const char* f) {
    return std::find(options.formats.begin(), options.formats.end(), f) != options.formats.end();
  };
  for (const auto& [name, table] : {std::pair{"ensemble", &r.ensemble},
                                    std::pair{"paired", &r.paired},
                                    std::pair{"internal_vs_external", &r.side_by_side}}) {
    if (wants("md")) put(std::string(name) + ".md", metrics::to_markdown(*table));
    if (wants("latex")) put(std::string(name) + ".tex", metrics::to_latex(*table));
    if (wants("csv")) put(std::string(name) + ".csv", metrics::to_csv(*table));
  }
  const std::vector<std::string> single =
      write_report(r.single_results, r.single, out_dir + "/single_models", options);
  written.insert(written.end(), single.begin(), single.end());

  std::vector<metrics::HtmlFigure> figures;
  if (options.curves) {
    metrics::PlotSpec rel;
    rel.title = "Reliability of the ensembles' fracture probability";
    rel.xlabel = "mean predicted probability (10 bins)";
    rel.ylabel = "fraction with a fracture";
    rel.diagonal = true;
    for (const auto& [variant, cal] : r.calibration) {
      metrics::Band band;
      for (const metrics::ReliabilityBin& b : cal.bins) {
        band.x.push_back(b.mean_probability);
        band.mean.push_back(b.fraction_positive);
      }
      band.low = band.high = band.mean;
      band.n = 1;
      if (!band.x.empty()) rel.series.push_back({variant, std::move(band)});
    }
    const metrics::PlotFiles files = metrics::render_plot(rel, out_dir + "/reliability");
    written.push_back(files.svg);
    written.push_back(files.png);
    figures.push_back({"Reliability diagram: each ensemble's bins against the diagonal",
                       core::read_file(files.svg)});
    for (const std::string& f : single)
      if (f.size() > 4 && f.ends_with(".svg"))
        figures.push_back({"Single models on the external cohort: " +
                               fs::path(f).stem().string() + ", mean over folds × seeds, ± 1 std",
                           core::read_file(f)});
  }
  if (wants("html")) {
    metrics::HtmlPage page;
    page.title = r.single_results.manifest.name + ": external validation";
    page.subtitle = "proposed model: " + r.proposed;
    page.sections.push_back({"Ensembles", metrics::to_html(r.ensemble), {}});
    page.sections.push_back({"Against " + r.proposed, metrics::to_html(r.paired), {}});
    page.sections.push_back(
        {"Internal and external", metrics::to_html(r.side_by_side), {}});
    page.sections.push_back({"Single models", metrics::to_html(r.single.table), {}});
    page.sections.push_back({"Curves", "", std::move(figures)});
    page.config = r.single_results.sweep_text;
    put("external.html", metrics::html_page(page));
  }
  return written;
}

}  // namespace fracsweep::report
