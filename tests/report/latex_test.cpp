// The LaTeX a user pastes into a paper, compiled: table.tex and
// significance.tex of a real report, and of one whose variant names hold every
// character LaTeX treats specially and non-ASCII letters, in a minimal
// document with pdflatex (the preamble the README gives). Any LaTeX error, or
// a box overfull by more than kOverfullBoundPt, fails the test; the PDF is
// turned into PNGs (pdftoppm) under the build's tests/artifacts/ to look at.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "core/process.h"
#include "report/report.h"
#include "test_util.h"

namespace fracsweep::report {
namespace {

namespace fs = std::filesystem;

constexpr double kOverfullBoundPt = 5.0;

// The preamble the README and the .tex files' first line ask for.
constexpr const char* kPreamble =
    "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n"
    "\\usepackage{graphicx}\n\\usepackage{amssymb}\n";

bool have(const char* program) {
  try {
    return core::run_process({program, "-v"}).exit_code == 0;
  } catch (const core::IoError&) {
    return false;
  }
}

// A copy of the hand-made sweep folder with its variants renamed.
fs::path run_with_variants(const testing::TempDir& dir, const std::string& tag,
                           const std::map<std::string, std::string>& renamed) {
  const fs::path run = dir.path() / tag;
  fs::copy(testing::fixture("report/tsccn-run"), run, fs::copy_options::recursive);
  nlohmann::json manifest = nlohmann::json::parse(core::read_file((run / "sweep.json").string()));
  for (auto& job : manifest["jobs"]) {
    const std::string old = job["variant"];
    const auto it = renamed.find(old);
    if (it == renamed.end()) continue;
    job["variant"] = it->second;
    job["name"] = it->second + job["name"].get<std::string>().substr(old.size());
  }
  for (const auto& [from, to] : renamed) fs::rename(run / from, run / to);
  core::write_file_atomic((run / "sweep.json").string(), manifest.dump(2));
  return run;
}

// Writes the report's LaTeX, compiles it in a document of its own and returns
// pdflatex's log; the pages go to tests/artifacts/<tag>-N.png.
std::string compile_tables(const fs::path& run, const std::string& tag) {
  const SweepResults results = collect_results(run.string());
  const Report built = build_report(results, {});
  const fs::path out = run / "report";
  write_report(results, built, out.string(), {{"latex"}, false});
  for (const char* name : {"table.tex", "significance.tex"})
    EXPECT_EQ(core::read_file((out / name).string()).rfind("% Needs \\usepackage{booktabs}", 0), 0u)
        << name << " does not name its packages on its first line";
  const fs::path doc = out / "paper.tex";
  core::write_file_atomic(doc.string(),
                          std::string(kPreamble) + "\\begin{document}\n\\input{" +
                              (out / "table.tex").string() + "}\n\\input{" +
                              (out / "significance.tex").string() + "}\n\\end{document}\n");
  const core::ProcessResult r =
      core::run_process({"pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                         "-output-directory", out.string(), doc.string()});
  const std::string log = core::read_file((out / "paper.log").string());
  EXPECT_EQ(r.exit_code, 0) << "pdflatex failed on " << tag << ":\n" << r.out;
  const fs::path artifacts = fs::path(testing::test_artifacts());
  fs::create_directories(artifacts);
  const core::ProcessResult png = core::run_process(
      {"pdftoppm", "-png", "-r", "110", (out / "paper.pdf").string(), (artifacts / tag).string()});
  EXPECT_EQ(png.exit_code, 0) << png.err;
  return log;
}

void expect_no_wide_overfull_box(const std::string& log, const std::string& tag) {
  const std::regex overfull(R"(Overfull \\hbox \(([0-9.]+)pt too wide\))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), overfull);
       it != std::sregex_iterator(); ++it)
    EXPECT_LE(std::stod((*it)[1]), kOverfullBoundPt) << tag << ": " << it->str();
}

class LatexTables : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have("pdflatex") && have("pdftoppm"))
        << "pdflatex and pdftoppm are needed (texlive-latex-base, texlive-latex-recommended, "
           "poppler-utils: scripts/setup.sh installs them)";
  }
  testing::TempDir dir_;
};

TEST_F(LatexTables, AReportCompilesWithTheNamedPackages) {
  const std::string log = compile_tables(run_with_variants(dir_, "tables", {}), "tables");
  expect_no_wide_overfull_box(log, "tables");
  EXPECT_EQ(log.find("! "), std::string::npos) << log;
}

TEST_F(LatexTables, VariantNamesWithLatexSpecialsAndNonAsciiLettersCompile) {
  const std::map<std::string, std::string> hostile = {
      {"single-stream", "a_b 50% & #1 $x$"},
      {"two-stream", "~t^c \\b {x}"},
      {"tsccn", "Müller-ß é ø"}};
  const std::string log = compile_tables(run_with_variants(dir_, "hostile", hostile), "hostile");
  expect_no_wide_overfull_box(log, "hostile");
  EXPECT_EQ(log.find("! "), std::string::npos) << log;
  // The names arrive as text: escaped, not interpreted.
  const std::string tex = core::read_file((dir_.path() / "hostile/report/table.tex").string());
  EXPECT_HAS(tex, "a\\_b 50\\% \\& \\#1 \\$x\\$");
  EXPECT_HAS(tex, "\\textasciitilde{}t\\textasciicircum{}c \\textbackslash{}b \\{x\\}");
  EXPECT_HAS(tex, "Müller-ß é ø");
}

}  // namespace
}  // namespace fracsweep::report
