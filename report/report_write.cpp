// write_report(): the files of `fracsweep report`. See report.h.
#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <set>
#include <type_traits>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/curves.h"
#include "metrics/html.h"
#include "metrics/plot.h"
#include "report/report.h"
#include "spec/variants.h"

namespace fracsweep::report {
namespace {

namespace fs = std::filesystem;

const char* kClassNames[] = {"normal", "benign VCF", "malignant VCF"};

struct Figure {
  std::string caption;
  metrics::PlotFiles files;
};

// Per row, the band over its finished jobs' curves: `curve_of` gives a job's curve, or nullopt
// when the job has none (no heatmaps, an empty log); rows without any curve are left out.
template <typename CurveOf, typename BandOf>
std::vector<metrics::PlotSeries> series_of(const SweepResults& r, const Report& report,
                                           CurveOf curve_of, BandOf band_of) {
  using Curve = typename std::invoke_result_t<CurveOf, const ReportJob&>::value_type;
  std::vector<metrics::PlotSeries> out;
  for (const auto& [label, jobs] : report.rows) {
    std::vector<Curve> curves;
    for (size_t j : jobs)
      if (auto c = curve_of(r.jobs[j])) curves.push_back(std::move(*c));
    if (!curves.empty()) out.push_back({label, band_of(std::span<const Curve>(curves))});
  }
  return out;
}

// One-vs-rest scores and truth of class k (binary files: the score and label 1).
std::pair<std::vector<double>, std::vector<uint8_t>> one_vs_rest(const metrics::Predictions& p,
                                                                 int k) {
  std::vector<double> s(p.size());
  std::vector<uint8_t> pos(p.size());
  const bool binary = p.kind == metrics::PredictionKind::kBinary;
  for (size_t i = 0; i < p.size(); ++i) {
    s[i] = p.row(i)[binary ? 0 : k];
    pos[i] = p.label[i] == (binary ? 1 : k) ? 1 : 0;
  }
  return {s, pos};
}

// Training curves: a value of log.jsonl per epoch, e.g. {"train", "total"}.
std::vector<metrics::PlotSeries> log_series(const SweepResults& r, const Report& report,
                                            const std::string& section, const std::string& key) {
  const auto curve_of = [&](const ReportJob& job) -> std::optional<metrics::Curve> {
    metrics::Curve c;
    for (const nlohmann::json& e : job.log) {
      if (!e.contains("epoch") || !e.contains(section) || !e[section].contains(key)) continue;
      if (!e[section][key].is_number()) continue;
      c.x.push_back(e["epoch"].get<double>());
      c.y.push_back(e[section][key].get<double>());
    }
    if (c.x.empty()) return std::nullopt;
    return c;
  };
  return series_of(r, report, curve_of,
                   [](std::span<const metrics::Curve> c) { return metrics::pointwise_band(c); });
}

std::vector<Figure> draw_curves(const SweepResults& r, const Report& report,
                                const std::string& dir) {
  std::vector<Figure> figures;
  const spec::Task task = spec::VariantRegistry::built_in().table_at(report.table_kind).task;
  const bool tsccn = task == spec::Task::kVertebra;
  const int classes = spec::task_info(task).classes;
  for (int k = 0; k < classes; ++k) {
    const std::string cls = tsccn ? fmt::format("class {} ({})", k, kClassNames[k]) : "fracture";
    const std::string suffix = tsccn ? fmt::format("_class{}", k) : "";
    auto roc_of = [k](const ReportJob& j) {
      auto [s, pos] = one_vs_rest(j.test, k);
      return std::optional(metrics::roc_curve(s, pos));
    };
    auto pr_of = [k](const ReportJob& j) {
      auto [s, pos] = one_vs_rest(j.test, k);
      return std::optional(metrics::pr_curve(s, pos));
    };
    metrics::PlotSpec roc;
    roc.title = "ROC, " + cls;
    roc.xlabel = "false positive rate";
    roc.ylabel = "true positive rate";
    roc.diagonal = true;
    roc.series = series_of(r, report, roc_of,
                           [](std::span<const metrics::Curve> c) { return metrics::roc_band(c); });
    if (!roc.series.empty())
      figures.push_back({roc.title + ": mean over folds × seeds, band ± 1 std",
                         metrics::render_plot(roc, dir + "/roc" + suffix)});
    metrics::PlotSpec pr;
    pr.title = "Precision-recall, " + cls;
    pr.xlabel = "recall";
    pr.ylabel = "precision";
    pr.series = series_of(r, report, pr_of,
                          [](std::span<const metrics::Curve> c) { return metrics::pr_band(c); });
    if (!pr.series.empty())
      figures.push_back(
          {pr.title + ": mean interpolated precision over folds × seeds, band ± 1 std",
           metrics::render_plot(pr, dir + "/pr" + suffix)});
  }
  if (!tsccn) {
    metrics::PlotSpec froc;
    froc.title = "FROC: fracture recall against false-positive area";
    froc.xlabel = "ratio of false-positive area per image";
    froc.ylabel = "recall of fracture points";
    froc.log_x = true;
    froc.xmin = 1e-4;
    froc.series = series_of(
        r, report, [](const ReportJob& j) { return j.froc; },
        [&](std::span<const metrics::AreaFrocCurve> c) { return metrics::froc_band(c, froc.xmin); });
    if (!froc.series.empty())
      figures.push_back({"FROC (AASN §4.1): mean recall over folds × seeds, band ± 1 std",
                         metrics::render_plot(froc, dir + "/froc")});
  }
  metrics::PlotSpec loss;
  loss.title = "Training loss";
  loss.xlabel = "epoch";
  loss.ylabel = "total loss";
  loss.autoscale_y = true;
  loss.series = log_series(r, report, "train", "total");
  if (!loss.series.empty()) {
    loss.xmin = 1;
    loss.xmax = 1;
    for (const auto& s : loss.series)
      for (double x : s.band.x) loss.xmax = std::max(loss.xmax, x);
    if (loss.xmax == loss.xmin) loss.xmax += 1;
    figures.push_back({"Training loss per epoch: mean over folds × seeds, band ± 1 std",
                       metrics::render_plot(loss, dir + "/train_loss")});
  }
  const std::string primary = tsccn ? "aAUC" : "AUC";
  metrics::PlotSpec val;
  val.title = "Validation " + primary;
  val.xlabel = "epoch";
  val.ylabel = primary;
  val.autoscale_y = true;
  val.series = log_series(r, report, "val", primary);
  if (!val.series.empty()) {
    val.xmin = 1;
    val.xmax = loss.xmax > 1 ? loss.xmax : 2;
    figures.push_back(
        {"Validation " + primary + " per epoch: mean over folds × seeds, band ± 1 std",
         metrics::render_plot(val, dir + "/val_" + primary)});
  }
  return figures;
}

void put(const std::string& path, const std::string& text, std::vector<std::string>& written) {
  core::write_file_atomic(path, text);
  written.push_back(path);
}

}  // namespace

std::vector<std::string> write_report(const SweepResults& r, const Report& report,
                                      const std::string& out_dir, const WriteOptions& options) {
  static const std::set<std::string> kFormats = {"md", "latex", "csv", "html"};
  for (const std::string& f : options.formats)
    CHECK_OR_THROW(core::ConfigError, kFormats.count(f), "unknown format '", f,
                   "': use md, latex, csv or html (comma-separated)");
  auto wants = [&](const char* f) {
    return std::find(options.formats.begin(), options.formats.end(), f) != options.formats.end();
  };
  fs::create_directories(out_dir);
  std::vector<std::string> written;
  // The second table: significance tests, or a search's choice per fold.
  const metrics::TextTable& second = report.selection ? *report.selection : report.significance;
  const std::string second_name = report.selection ? "selection" : "significance";
  if (wants("md")) {
    put(out_dir + "/table.md", metrics::to_markdown(report.table), written);
    put(out_dir + "/" + second_name + ".md", metrics::to_markdown(second), written);
  }
  if (wants("latex")) {
    put(out_dir + "/table.tex", metrics::to_latex(report.table), written);
    put(out_dir + "/" + second_name + ".tex", metrics::to_latex(second), written);
  }
  if (wants("csv")) {
    put(out_dir + "/table.csv", metrics::to_csv(report.table), written);
    put(out_dir + "/" + second_name + ".csv", metrics::to_csv(second), written);
  }
  std::vector<Figure> figures;
  if (options.curves) {
    fs::create_directories(out_dir + "/curves");
    figures = draw_curves(r, report, out_dir + "/curves");
    for (const Figure& f : figures) {
      written.push_back(f.files.svg);
      written.push_back(f.files.png);
    }
  }
  if (wants("html")) {
    metrics::HtmlPage page;
    page.title = r.manifest.name + ": results";
    int finished = 0;
    for (const ReportJob& j : r.jobs) finished += j.finished ? 1 : 0;
    page.subtitle =
        fmt::format("{} of {} jobs finished; {}", finished, r.jobs.size(), report.table.title);
    page.sections.push_back({"Results", metrics::to_html(report.table), {}});
    page.sections.push_back({report.selection ? "Configuration per fold" : "Significance",
                             metrics::to_html(second), {}});
    if (!report.missing.empty()) {
      std::string list = "<ul>\n";
      for (const std::string& m : report.missing)
        list += "<li>" + metrics::html_escape(m) + "</li>\n";
      page.sections.push_back({"Missing jobs", list + "</ul>\n", {}});
    }
    if (!figures.empty()) {
      metrics::HtmlSection curves{"Curves", "", {}};
      for (const Figure& f : figures)
        curves.figures.push_back({f.caption, core::read_file(f.files.svg)});
      page.sections.push_back(std::move(curves));
    }
    page.config = r.sweep_text.empty() ? "(the sweep file was not found)" : r.sweep_text;
    put(out_dir + "/report.html", metrics::html_page(page), written);
  }
  return written;
}

}  // namespace fracsweep::report
