// `fracsweep report OUT_DIR`: the paper's table, significance tests, curves and an HTML page of
// a sweep, recomputed from its jobs' predictions. Only reads the sweep's folder (and writes the
// report folder), so it runs while the sweep is still going, on what has finished.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "cli/options.h"
#include "cli/commands.h"
#include "report/external.h"
#include "report/report.h"
#include "spec/variants.h"

namespace fracsweep::cli {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

}  // namespace

int run_report(const Args& args) {
  namespace po = boost::program_options;
  std::string dir, formats = "md,latex,csv,html", out, table, baseline, select_on = "validation";
  double alpha = 0.05;
  report::ExternalOptions external;
  const spec::VariantRegistry& registry = spec::VariantRegistry::built_in();
  std::string gain_tables;  // the tables with a baseline row
  for (const spec::PaperTable& t : registry.tables())
    if (t.gains) gain_tables += (gain_tables.empty() ? "" : ", ") + t.id;
  po::options_description options(
      "usage: fracsweep report OUT_DIR [options]\n\n"
      "Writes a sweep's results in the shape of its paper's table (mean ± std over folds x\n"
      "seeds, best per column in bold, second underlined), paired t-tests and DeLong tests\n"
      "against the best row, ROC / precision-recall / training curves (gnuplot, SVG and PNG)\n"
      "and one self-contained HTML page, and prints the table. Metrics are recomputed from\n"
      "each job's predictions_test.csv. An unfinished sweep is reported on what has finished,\n"
      "with the missing jobs named per row. A search sweep is reported by nested selection:\n"
      "each fold's configuration is chosen by the search's validation metric, and the table\n"
      "gives the chosen configurations' test metrics, with the choice per fold listed.\n\noptions");
  options.add_options()("help,h", "print this help")("format",
                                                     po::value(&formats)->default_value(formats),
                                                     "comma-separated: md, latex, csv, html")(
      "out", po::value(&out), "where to write (default: OUT_DIR/report)")(
      "table", po::value(&table),
      ("the table's shape: " + registry.table_ids() +
       " (default: inferred from the predictions and the variants; fracsweep variants lists "
       "each table's rows)")
          .c_str())(
      "baseline", po::value(&baseline),
      (gain_tables + ": the row gains are measured from (default: the first)").c_str())(
      "alpha", po::value(&alpha)->default_value(alpha), "significance level of the † marks")(
      "select-on", po::value(&select_on)->default_value(select_on),
      "a search sweep: choose each fold's configuration on validation, or on test (refused "
      "without --force: it overstates the result)")(
      "force", "with --select-on test: make the optimistic table anyway; its title says so")(
      "no-curves", "skip the curves (no gnuplot needed)")(
      "external", po::value(&external.dir),
      "also the external validation of `fracsweep predict`'s folder DIR (report/external.h), "
      "into OUT/external/")(
      "replicates", po::value(&external.replicates)->default_value(external.replicates),
      "--external: bootstrap replicates over patients")(
      "seed", po::value(&external.seed)->default_value(external.seed),
      "--external: the bootstrap's seed")(
      "proposed", po::value(&external.proposed),
      "--external: the row every other is compared with (default: tsccn or aasn, else the last)");
  po::variables_map vm;
  if (!parse_with_positional(args, options, dir, "fracsweep report OUT_DIR", &vm)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, alpha > 0 && alpha < 1, "--alpha ", alpha,
                 " is not a level: give a number between 0 and 1, e.g. 0.05");
  if (out.empty()) out = dir + "/report";

  const report::SweepResults results = report::collect_results(dir);
  const report::Report built =
      report::build_report(results, {table, baseline, alpha, select_on, vm.count("force") > 0});
  report::WriteOptions write;
  write.formats = split_commas(formats);
  write.curves = !vm.count("no-curves");
  const std::vector<std::string> files = report::write_report(results, built, out, write);

  std::cout << metrics::to_markdown(built.table) << "\n"
            << metrics::to_markdown(built.selection ? *built.selection : built.significance);
  if (!built.missing.empty()) {
    std::cout << (built.selection ? "\nMissing:\n" : "\nMissing jobs:\n");
    for (const std::string& m : built.missing) std::cout << "  " << m << "\n";
  }
  std::cout << "\nWrote " << files.size() << " files to " << out << "/";
  for (const char* name : {"table.tex", "table.csv", "report.html"})
    for (const std::string& f : files)
      if (f == out + "/" + name) std::cout << " " << name;
  if (write.curves) std::cout << " curves/";
  std::cout << "\n";
  if (!external.dir.empty()) {
    external.alpha = alpha;
    const report::ExternalReport ext = report::build_external_report(results, built, external);
    const auto ext_files = report::write_external_report(ext, out + "/external", write);
    std::cout << "\n" << metrics::to_markdown(ext.ensemble) << "\n"
              << metrics::to_markdown(ext.paired) << "\n"
              << metrics::to_markdown(ext.side_by_side) << "\nWrote " << ext_files.size()
              << " files to " << out << "/external/\n";
  }
  return kExitOk;
}

}  // namespace fracsweep::cli
