// `fracsweep report` on a hand-made sweep folder: the aggregates against scikit-learn and SciPy
// (tests/fixtures/report/expected.json), golden files per format, partial sweeps, table
// inference, and the command end to end with its HTML page checked in headless Chromium.
#include "report/report.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/fs.h"
#include "core/process.h"
#include "datastore/heatmaps.h"
#include "metrics/aggregate.h"
#include "sweeps/ledger.h"
#include "sweeps/sweep.h"
#include "test_util.h"

namespace fracsweep::report {
namespace {

using sweeps::Ledger;
using sweeps::ledger_path;
using sweeps::ManifestJob;
using sweeps::SweepManifest;
using sweeps::LedgerEvent;
using sweeps::LedgerRecord;
using sweeps::load_sweep;
using sweeps::Sweep;
using sweeps::SweepJob;

namespace fs = std::filesystem;

// A copy of the hand-made folder, so tests may write into it.
fs::path copy_fixture(const testing::TempDir& dir) {
  const fs::path to = dir.path() / "run";
  fs::copy(testing::fixture("report/tsccn-run"), to, fs::copy_options::recursive);
  return to;
}

nlohmann::json expected() {
  return nlohmann::json::parse(core::read_file(testing::fixture("report/expected.json")));
}

TEST(ReportFixture, AggregatesMatchScikitLearn) {
  testing::TempDir dir;
  const SweepResults r = collect_results(copy_fixture(dir).string());
  const Report report = build_report(r, {});
  EXPECT_EQ(report.table_kind, "tsccn-3");
  const nlohmann::json want = expected();
  // tsccn-3 has the four headline columns; check all ten through tsccn-1 as well.
  for (const std::string kind : {"tsccn-3", "tsccn-1"}) {
    const Report rep = build_report(r, {kind, "", 0.05});
    ASSERT_EQ(rep.table.rows.size(), 3u);
    for (const metrics::TableRow& row : rep.table.rows) {
      const auto& v = want["variants"][row.method];
      EXPECT_EQ(row.finished, v["finished"].get<int>()) << row.method;
      EXPECT_EQ(row.jobs, 4);
      for (size_t c = 0; c < rep.table.columns.size(); ++c) {
        const std::string& key = rep.table.columns[c].key;
        ASSERT_TRUE(row.cells[c].value) << row.method << " " << key;
        EXPECT_NEAR(row.cells[c].value->mean, v["mean"][key].get<double>(), 1e-12)
            << row.method << " " << key;
        EXPECT_NEAR(row.cells[c].value->std, v["std"][key].get<double>(), 1e-12)
            << row.method << " " << key;
      }
    }
  }
}

TEST(ReportFixture, PartialSweepNamesTheMissingJobs) {
  testing::TempDir dir;
  const Report report = build_report(collect_results(copy_fixture(dir).string()), {});
  ASSERT_EQ(report.missing.size(), 1u);
  EXPECT_EQ(report.missing[0], "tsccn: 1 of 4 jobs missing: tsccn/repeat1/seed2");
  EXPECT_EQ(report.table.rows[2].finished, 3);
  bool noted = false;
  for (const std::string& f : report.table.footnotes)
    noted |= f.find("1 of the sweep's jobs are missing") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(ReportFixture, LedgerDecidesWhatCounts) {
  // With a ledger, a job whose latest record is a failure does not count even if files exist.
  testing::TempDir dir;
  const fs::path run = copy_fixture(dir);
  const SweepResults before = collect_results(run.string());
  {
    core::Logger quiet(core::LogLevel::kError);
    Ledger ledger(ledger_path(run.string(), sweeps::run_writer()), quiet);
    for (const ReportJob& j : before.jobs) {
      LedgerRecord rec;
      rec.job = j.job.id;
      rec.name = j.job.name;
      rec.event = j.job.name == "single-stream/repeat0/seed1" ? LedgerEvent::kFailed
                                                              : LedgerEvent::kFinished;
      rec.time = "2026-01-01T00:00:00.000Z";
      if (rec.event == LedgerEvent::kFailed) rec.error = "x";
      ledger.append(rec);
    }
  }
  const Report report = build_report(collect_results(run.string()), {});
  EXPECT_EQ(report.table.rows[0].finished, 3);
  ASSERT_EQ(report.missing.size(), 2u);
  EXPECT_EQ(report.missing[0], "single-stream: 1 of 4 jobs missing: single-stream/repeat0/seed1");
}

TEST(ReportFixture, SignificanceAgainstScipy) {
  testing::TempDir dir;
  const Report report = build_report(collect_results(copy_fixture(dir).string()), {});
  const nlohmann::json want = expected()["ttest_aAUC_single_vs_two"];
  // The best aAUC row is tsccn, so the table tests every row against it; the two-stream row
  // against single-stream is checked through the one-column paired test of the † marks by
  // making two-stream the best: drop tsccn.
  testing::TempDir dir2;
  const fs::path run = copy_fixture(dir2);
  fs::remove_all(run / "tsccn");
  const Report two = build_report(collect_results(run.string()), {"", "", 0.2});
  ASSERT_EQ(two.significance.rows.size(), 1u);
  EXPECT_EQ(two.significance.rows[0][0], "single-stream");
  EXPECT_EQ(two.significance.rows[0][1], "two-stream");
  char p[32];
  std::snprintf(p, sizeof p, "%.3f (4)", want["p"].get<double>());
  EXPECT_EQ(two.significance.rows[0][3], p);
  // p ~ 0.108: significant at 0.2, the † sits on the single-stream aAUC cell.
  const size_t aauc = 2;
  EXPECT_EQ(two.table.columns[aauc].key, "aAUC");
  EXPECT_EQ(two.table.rows[0].cells[aauc].significant, want["p"].get<double>() < 0.2);
  const Report strict = build_report(collect_results(run.string()), {"", "", 0.05});
  EXPECT_FALSE(strict.table.rows[0].cells[aauc].significant);
  EXPECT_EQ(report.significance.header.size(), 7u);  // + DeLong per class
}

std::string golden_path(const std::string& name) {
  return testing::fixture("report/golden/" + name);
}

TEST(ReportGolden, EveryFormatMatchesItsGoldenFile) {
  testing::TempDir dir;
  const fs::path run = copy_fixture(dir);
  const SweepResults r = collect_results(run.string());
  const Report report = build_report(r, {});
  WriteOptions w;
  w.curves = false;
  w.formats = {"md", "latex", "csv"};
  const std::string out = (dir.path() / "report").string();
  write_report(r, report, out, w);
  // The table also in Table I's shape, whose per-class columns Table III lacks.
  const Report table1 = build_report(r, {"tsccn-1", "", 0.05});
  const bool update = std::getenv("FRACSWEEP_UPDATE_GOLDEN") != nullptr;
  std::vector<std::pair<std::string, std::string>> files;
  for (const char* name : {"table.md", "table.tex", "table.csv", "significance.md",
                           "significance.tex", "significance.csv"})
    files.push_back({name, core::read_file(out + "/" + name)});
  files.push_back({"table1.tex", metrics::to_latex(table1.table)});
  files.push_back({"table1.md", metrics::to_markdown(table1.table)});
  // HTML: the tables as report.html holds them (the page around them is checked in Chromium).
  files.push_back({"table.html", metrics::to_html(report.table)});
  files.push_back({"significance.html", metrics::to_html(report.significance)});
  for (const auto& [name, text] : files) {
    if (update) {
      fs::create_directories(fs::path(golden_path(name)).parent_path());
      core::write_file_atomic(golden_path(name), text);
      continue;
    }
    ASSERT_TRUE(fs::exists(golden_path(name)))
        << name << ": no golden file; run with FRACSWEEP_UPDATE_GOLDEN=1 to write it";
    EXPECT_EQ(text, core::read_file(golden_path(name))) << name << " differs from its golden file";
  }
}

// In-memory sweeps for inference and the other table shapes.
ReportJob job(const std::string& variant, const std::string& rest, int quality,
              bool binary = false) {
  ReportJob j;
  j.job.variant = variant;
  j.job.name = variant + "/" + rest;
  j.job.id = j.job.name;
  j.dir = "mem/" + j.job.name;
  // "<part>/seed<S>[/<field>=<value>...]", as the sweep names it; the manifest carries the pieces.
  std::vector<std::string> pieces;
  for (size_t at = 0, slash; at <= rest.size(); at = slash + 1) {
    slash = std::min(rest.find('/', at), rest.size());
    pieces.push_back(rest.substr(at, slash - at));
  }
  j.job.part = pieces[0];
  j.job.seed = std::stoull(pieces[1].substr(4));
  for (size_t i = 2; i < pieces.size(); ++i) {
    const size_t eq = pieces[i].find('=');
    j.job.axes.emplace_back(pieces[i].substr(0, eq), pieces[i].substr(eq + 1));
  }
  j.finished = true;
  metrics::Predictions& p = j.test;
  p.kind = binary ? metrics::PredictionKind::kBinary : metrics::PredictionKind::kMulticlass;
  p.num_classes = binary ? 2 : 3;
  p.patient_names = {"P0"};
  const int n = 30;
  for (int i = 0; i < n; ++i) {
    const int label = binary ? i % 2 : i % 3;
    p.ids.push_back("s" + std::to_string(i));
    p.patient.push_back(0);
    p.label.push_back(label);
    // Higher quality: the true class gets more of the score; a sample-dependent wobble keeps
    // the rankings from being perfect.
    const double wobble = ((i * 7 + quality * 3 + static_cast<int>('0' + j.job.seed % 10)) % 11) / 11.0;
    if (binary) {
      p.scores.push_back(label == 1 ? 0.3 + 0.05 * quality + 0.4 * wobble : 0.6 * wobble);
    } else {
      double row[3];
      for (int k = 0; k < 3; ++k)
        row[k] = k == label ? 0.1 + 0.08 * quality + 0.3 * wobble : 0.5 * ((i + k * 5) % 7) / 7.0;
      const double sum = row[0] + row[1] + row[2];
      for (double x : row) p.scores.push_back(x / sum);
    }
  }
  return j;
}

TEST(ReportInference, DataSizesMakeTableTwoWithGroups) {
  // The job names of the example Table II sweep, as `run` names them.
  const Sweep sweep = load_sweep(testing::fixture("../../examples/sweeps/tsccn-table2-tiny.yaml"));
  SweepResults r;
  r.dir = "mem";
  r.manifest.name = sweep.name;
  for (const SweepJob& sj : sweep.jobs) {
    const std::string rest = sj.name.substr(sj.variant.size() + 1);
    const int size_quality = rest.find("subset=1") != std::string::npos ? 2 : 0;
    r.jobs.push_back(job(sj.variant, rest, (sj.variant == "tsccn" ? 2 : 0) + size_quality));
    r.jobs.back().model_variant = sj.config.model.variant;
  }
  ASSERT_EQ(r.jobs.size(), 12u);
  EXPECT_EQ(infer_table(r), "tsccn-2");
  const Report rep = build_report(r, {});
  ASSERT_EQ(rep.table.rows.size(), 6u);
  EXPECT_EQ(rep.table.group_header, "Data size");
  const std::vector<std::string> groups = {"Quarter", "Quarter", "Half", "Half", "Full", "Full"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(rep.table.rows[i].group, groups[i]);
    EXPECT_EQ(rep.table.rows[i].method, i % 2 ? "tsccn" : "resnet18");
    EXPECT_EQ(rep.table.rows[i].finished, 2);
  }
  // Each data size has its own best.
  int best = 0;
  for (const auto& row : rep.table.rows) best += row.cells[2].rank == 1;
  EXPECT_GE(best, 3);
}

// Every example sweep gets the table its file is named after, from the variant registry's
// rows (spec/variants.h), whatever the sweep calls its rows: the file names are the oracle.
TEST(ReportInference, EveryExampleSweepGetsThePaperTableItIsFor) {
  const std::vector<std::pair<std::string, std::string>> by_prefix = {
      {"tsccn-table1", "tsccn-1"},   {"tsccn-table2", "tsccn-2"}, {"tsccn-table3", "tsccn-3"},
      {"tsccn-fidelity", "tsccn-3"}, {"tsccn-search", "tsccn-3"}, {"aasn-table1", "aasn-1"},
      {"aasn-table2", "aasn-2"},     {"aasn-fidelity", "aasn-2"}};
  int checked = 0;
  for (const auto& f : fs::directory_iterator(testing::fixture("../../examples/sweeps"))) {
    const std::string stem = f.path().stem().string();
    std::string want;
    for (const auto& [prefix, table] : by_prefix)
      if (stem.rfind(prefix, 0) == 0) want = table;
    if (want.empty()) continue;  // a sweep of no paper's table
    const Sweep sweep = load_sweep(f.path().string());
    SweepResults r;
    r.dir = "mem";
    r.manifest.name = sweep.name;
    for (const SweepJob& sj : sweep.jobs) {
      const bool binary = spec::VariantRegistry::built_in().at(sj.config.model.variant).task ==
                          spec::Task::kPelvis;
      r.jobs.push_back(job(sj.variant, sj.name.substr(sj.variant.size() + 1), 1, binary));
      r.jobs.back().model_variant = sj.config.model.variant;
    }
    EXPECT_EQ(infer_table(r), want) << stem;
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST(ReportInference, BaselinesMakeTableOneAndAblationsTableThree) {
  SweepResults r;
  r.dir = "mem";
  r.jobs = {job("resnet18", "repeat0/seed1", 0), job("tsccn", "repeat0/seed1", 1)};
  EXPECT_EQ(infer_table(r), "tsccn-1");
  r.jobs = {job("two-stream", "repeat0/seed1", 0), job("tsccn", "repeat0/seed1", 1)};
  EXPECT_EQ(infer_table(r), "tsccn-3");
  // NTS-Net is one of Table I's baselines.
  r.jobs = {job("nts-net", "repeat0/seed1", 0), job("tsccn", "repeat0/seed1", 1)};
  EXPECT_EQ(infer_table(r), "tsccn-1");
  r.jobs[0].finished = r.jobs[1].finished = false;
  EXPECT_THROW(infer_table(r), core::ConfigError);
}

TEST(ReportInference, PelvisTablesAndGainsOverTheBaseline) {
  SweepResults r;
  r.dir = "mem";
  r.manifest.name = "aasn";
  // Rows named as a sweep may name them; the components come from their model.variant.
  for (const auto& [v, model, q] : std::vector<std::tuple<std::string, std::string, int>>{
           {"vanilla", "aasn-vanilla", 0}, {"ff", "aasn-ff", 1}, {"ff-fa-cl", "aasn", 3}})
    for (const char* part : {"fold0/seed1", "fold1/seed1", "fold2/seed1"}) {
      r.jobs.push_back(job(v, part, q, true));
      r.jobs.back().model_variant = model;
    }
  EXPECT_EQ(infer_table(r), "aasn-2");
  const Report rep = build_report(r, {});
  ASSERT_EQ(rep.table.columns.size(), 4u);
  EXPECT_EQ(rep.table.columns[0].key, "AUC");
  EXPECT_TRUE(rep.table.rows[0].cells[0].gain.empty());
  // The gain of the printed values, as the paper's "(+0.41%)" are.
  const double gain = std::stod(metrics::percent(rep.table.rows[2].cells[0].value->mean)) -
                      std::stod(metrics::percent(rep.table.rows[0].cells[0].value->mean));
  char want[32];
  std::snprintf(want, sizeof want, "%+.2f%%", gain);
  EXPECT_EQ(rep.table.rows[2].cells[0].gain, want);
  EXPECT_FALSE(rep.table.rows[2].cells[2].value);  // no heatmaps: no localization
  // The paper's component columns, from the registry's rows of Table 2.
  EXPECT_EQ(rep.table.flag_headers, (std::vector<std::string>{"FF", "FA", "CL"}));
  EXPECT_EQ(rep.table.rows[0].flags, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(rep.table.rows[1].flags, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(rep.table.rows[2].flags, (std::vector<bool>{true, true, true}));
  EXPECT_TRUE(rep.table.rows[2].flag_notes.empty());
  const Report named = build_report(r, {"", "ff", 0.05});
  EXPECT_TRUE(named.table.rows[1].cells[0].gain.empty());
  EXPECT_THROW(build_report(r, {"", "nope", 0.05}), core::ConfigError);
  EXPECT_THROW(build_report(r, {"tsccn-3", "", 0.05}), core::ConfigError);
  // Choosing a search's configurations means nothing for a sweep without a search.
  EXPECT_THROW(build_report(r, {"", "", 0.05, "test", true}), core::ConfigError);
  const std::vector<ReportJob> all = r.jobs;
  r.jobs.assign(all.begin(), all.begin() + 3);  // vanilla only: a row of Table 2 alone
  EXPECT_EQ(infer_table(r), "aasn-2");
  r.jobs.assign(all.begin() + 6, all.end());  // AASN alone: a row of both tables, Table 1 first
  EXPECT_EQ(infer_table(r), "aasn-1");
}

// The known departures from the papers are footnotes of the tables whose rows they touch,
// and AASN's row without the projection head carries the paper's "no proj." mark.
TEST(ReportFootnotes, NameTheDeviationsOfTheRowsInTheTable) {
  SweepResults r;
  r.dir = "mem";
  for (const char* v : {"smote", "nts-net", "tsccn"}) {
    r.jobs.push_back(job(v, "repeat0/seed1", 1));
    r.jobs.back().model_variant = v;
  }
  std::string notes;
  for (const auto& f : build_report(r, {}).table.footnotes) notes += f + "\n";
  EXPECT_HAS(notes, "SMOTE synthesises each minority sample");
  EXPECT_HAS(notes, "NTS-Net runs on ResNet-18");
  EXPECT_HAS(notes, "eq. 5");
  r.jobs.erase(r.jobs.begin(), r.jobs.begin() + 2);  // TSCCN alone
  notes.clear();
  for (const auto& f : build_report(r, {}).table.footnotes) notes += f + "\n";
  EXPECT_EQ(notes.find("SMOTE"), std::string::npos);
  EXPECT_HAS(notes, "eq. 5");

  SweepResults p;
  p.dir = "mem";
  for (const auto& [name, variant] : std::vector<std::pair<std::string, std::string>>{
           {"vanilla", "aasn-vanilla"}, {"ff-fa-cl-noproj", "aasn-ff-fa-cl-noproj"}, {"aasn", "aasn"}})
    for (const char* part : {"fold0/seed1", "fold1/seed1"}) {
      p.jobs.push_back(job(name, part, 1, true));
      p.jobs.back().model_variant = variant;
    }
  const Report rep = build_report(p, {});
  ASSERT_EQ(rep.table.rows.size(), 3u);
  EXPECT_EQ(rep.table.rows[1].flags, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(rep.table.rows[1].flag_notes, (std::vector<std::string>{"", "", "no proj."}));
  EXPECT_TRUE(rep.table.rows[2].flag_notes.empty());
  EXPECT_HAS(metrics::to_markdown(rep.table), "✓ no proj.");
  EXPECT_HAS(metrics::to_latex(rep.table), "\\checkmark{\\scriptsize no proj.}");
  notes.clear();
  for (const auto& f : rep.table.footnotes) notes += f + "\n";
  EXPECT_HAS(notes, "without the non-linear projection head");
}

// Every table says which training budget its rows had and what it came to in optimiser
// steps, read from the jobs' logs (an epoch logged twice by a resumed run counts once).
TEST(ReportFootnotes, StateTheTrainingBudgetAndTheStepsItCameTo) {
  const auto log = [](std::initializer_list<int> steps) {
    std::vector<nlohmann::json> lines;
    int epoch = 0;
    for (int s : steps) lines.push_back({{"epoch", ++epoch}, {"steps", s}});
    return lines;
  };
  SweepResults r;
  r.dir = "mem";
  for (const char* part : {"repeat0/seed1", "repeat1/seed1"}) {
    r.jobs.push_back(job("resnet18", part, 1));
    r.jobs.back().log = log({10, 10});
    r.jobs.push_back(job("tsccn", part, 2));
    r.jobs.back().log = log({26, 26});
  }
  r.jobs[1].log.push_back({{"epoch", 2}, {"steps", 26}});  // epoch 2 again, after a kill
  const auto note_of = [](const Report& rep) {
    for (const auto& f : rep.table.footnotes)
      if (f.rfind("Training budget", 0) == 0) return f;
    return std::string();
  };
  std::string note = note_of(build_report(r, {}));
  EXPECT_HAS(note, "equal epochs (train.budget: epochs)");
  EXPECT_HAS(note, "from 20 (resnet18) to 52 (tsccn)");
  EXPECT_HAS(note, "so an over-sampled row takes more steps");
  for (ReportJob& j : r.jobs) {
    j.budget = "steps";
    if (j.job.variant == "resnet18") j.log = log({26, 26});
  }
  note = note_of(build_report(r, {}));
  EXPECT_HAS(note, "equal steps (train.budget: steps)");
  EXPECT_HAS(note, "every row took 52 optimiser steps per job");
  r.jobs[0].budget = r.jobs[2].budget = "epochs";
  note = note_of(build_report(r, {}));
  EXPECT_HAS(note, "mixed; equal epochs for resnet18; equal steps for tsccn");
  for (ReportJob& j : r.jobs) j.budget = "epochs";  // equal epochs that came to equal steps
  note = note_of(build_report(r, {}));
  EXPECT_HAS(note, "own sampler's order; every row took 52 optimiser steps per job.");
  for (ReportJob& j : r.jobs) j.log.clear();  // no logs: the budget alone
  EXPECT_EQ(note_of(build_report(r, {})).find("optimiser"), std::string::npos);
}

// A hand-made pelvis sweep folder: AASN ablation rows x 3 folds, binary predictions and
// heatmaps whose fracture points light up more the better the row is.
struct PelvisRun {
  fs::path dir;
  std::map<std::string, std::vector<double>> recall_1pct;  // row -> per job, from metrics
};

PelvisRun make_pelvis_run(const testing::TempDir& tmp) {
  PelvisRun run;
  run.dir = tmp.path() / "pelvis";
  SweepManifest m;
  m.name = "handmade-aasn";
  // The sweep's row names, the model.variant each job's config.yaml names, the quality.
  const std::vector<std::tuple<std::string, std::string, int>> rows = {
      {"vanilla", "aasn-vanilla", 0}, {"ff", "aasn-ff", 1}, {"ff-fa-cl", "aasn", 3}};
  for (const auto& [variant, model, quality] : rows) {
    for (int fold = 0; fold < 3; ++fold) {
      ManifestJob j;
      j.name = variant + "/fold" + std::to_string(fold) + "/seed1";
      j.id = j.name;
      j.variant = variant;
      j.epochs = 1;
      m.jobs.push_back(j);
      const fs::path d = run.dir / j.name;
      fs::create_directories(d);
      metrics::Predictions p;
      p.kind = metrics::PredictionKind::kBinary;
      p.num_classes = 2;
      datastore::HeatmapSet set;
      set.radius = 1.5;
      for (int i = 0; i < 16; ++i) {
        const int label = i % 2;
        metrics::HeatmapImage im;
        im.height = im.width = 12;
        for (int px = 0; px < 144; ++px)
          im.heatmap.push_back(0.5f * static_cast<float>((px * 37 + i * 11 + fold * 5) % 97) /
                               97.f);
        if (label) {
          const metrics::PixelPoint pt{2 + (i % 7), 3 + (i % 5)};
          im.points.push_back(pt);
          im.heatmap[pt.y * 12 + pt.x] =
              0.35f + 0.1f * static_cast<float>(quality) + 0.02f * static_cast<float>(i % 4);
        }
        float peak = 0;
        for (float v : im.heatmap) peak = std::max(peak, v);
        p.ids.push_back("img" + std::to_string(fold) + "-" + std::to_string(i));
        if (p.patient_names.size() <= static_cast<size_t>(i / 2))
          p.patient_names.push_back("P" + std::to_string(i / 2));
        p.patient.push_back(i / 2);
        p.label.push_back(label);
        p.scores.push_back(peak);
        set.images.push_back(std::move(im));
      }
      metrics::write_predictions(p, (d / "predictions_test.csv").string());
      datastore::write_heatmaps((d / "heatmaps_test.h5").string(), set);
      core::write_file_atomic((d / "metrics.json").string(), "{}\n");
      core::write_file_atomic((d / "config.yaml").string(), "model: {variant: " + model + "}\n");
      core::write_file_atomic((d / "log.jsonl").string(),
                              "{\"epoch\":1,\"train\":{\"total\":1.5},\"val\":{\"AUC\":0.8}}\n");
      run.recall_1pct[variant].push_back(
          metrics::area_froc(set.images, set.radius).recall_at(0.01));
    }
  }
  write_manifest(run.dir.string(), m);
  return run;
}

TEST(ReportPelvis, TableTwoWithGainsLocalizationAndFroc) {
  testing::TempDir tmp;
  const PelvisRun run = make_pelvis_run(tmp);
  const auto res = testing::run_fracsweep({"report", run.dir.string()});
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_HAS(res.out, "Table 2. Ablation study, gain over the baseline in parentheses");
  EXPECT_HAS(res.out,
             "| Method | FF | FA | CL | Jobs | AUC (%) | AP (%) | Recall@FP=1% (%) | "
             "Recall@FP=10% (%) |");
  EXPECT_HAS(res.out, "DeLong AUC: p (splits)");
  EXPECT_TRUE(fs::exists(run.dir / "report/curves/froc.svg"));
  EXPECT_TRUE(fs::exists(run.dir / "report/curves/roc.png"));
  // Recall at 1% FP area, mean over the folds, against the metrics computed here.
  const std::string csv = core::read_file((run.dir / "report/table.csv").string());
  for (const auto& [row, values] : run.recall_1pct) {
    const double mean = metrics::mean_std(values).mean;
    const size_t at = csv.find("\n" + row + ",");
    ASSERT_NE(at, std::string::npos) << csv;
    const std::string line = csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
    std::vector<std::string> fields;
    std::string cur;
    for (char c : line + ",") {
      if (c == ',') {
        fields.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    // method,group,finished,jobs, FF,FA,CL, then 4 fields per column: recall@fp=0.01 is the
    // third.
    EXPECT_NEAR(std::stod(fields[4 + 3 + 2 * 4]), 100 * mean, 1e-4) << line;
  }
  const std::string md = core::read_file((run.dir / "report/table.md").string());
  EXPECT_HAS(md, "| vanilla |  |  |  | 3/3 |");
  EXPECT_HAS(md, "| ff-fa-cl | ✓ | ✓ | ✓ | 3/3 |");
  EXPECT_HAS(md, "(+");
}

TEST(ReportPelvis, HeatmapsThatDoNotMatchThePredictionsAreRefused) {
  testing::TempDir tmp;
  const PelvisRun run = make_pelvis_run(tmp);
  datastore::HeatmapSet few =
      datastore::read_heatmaps((run.dir / "ff/fold0/seed1/heatmaps_test.h5").string());
  few.images.resize(3);
  datastore::write_heatmaps((run.dir / "ff/fold0/seed1/heatmaps_test.h5").string(), few);
  const auto res = testing::run_fracsweep({"report", run.dir.string(), "--no-curves"});
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_HAS(res.err, "3 heatmaps for the 16 rows of predictions_test.csv");
}

TEST(ReportPelvis, AScoreThatIsNotItsHeatmapsMaximumIsRefused) {
  testing::TempDir tmp;
  const PelvisRun run = make_pelvis_run(tmp);
  const std::string path = (run.dir / "ff/fold0/seed1/heatmaps_test.h5").string();
  datastore::HeatmapSet set = datastore::read_heatmaps(path);
  for (float& v : set.images[4].heatmap) v *= 0.5f;  // another epoch's heatmap, say
  datastore::write_heatmaps(path, set);
  const auto res = testing::run_fracsweep({"report", run.dir.string(), "--no-curves"});
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_HAS(res.err, "image 4 ('img0-4') has score");
  EXPECT_HAS(res.err, "the two files do not belong together");
}

TEST(ReportCommand, WritesEveryFormatCurvesAndAPageChromiumLoads) {
  testing::TempDir dir;
  const fs::path run = copy_fixture(dir);
  const auto res = testing::run_fracsweep({"report", run.string()});
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_HAS(res.out, "Table III. Ablation study (handmade-table3)");
  EXPECT_HAS(res.out, "tsccn: 1 of 4 jobs missing");
  const fs::path out = run / "report";
  for (const char* f : {"table.md", "table.tex", "table.csv", "report.html",
                        "curves/roc_class0.svg", "curves/roc_class2.png", "curves/pr_class1.svg",
                        "curves/train_loss.png", "curves/val_aAUC.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f << "\n" << res.out;
  const std::string html = core::read_file((out / "report.html").string());
  EXPECT_HAS(html, "handmade-table3");
  EXPECT_HAS(html, "A hand-made sweep folder for the report tests.");  // the sweep file
  EXPECT_HAS(html, "<svg");

  const std::string check = testing::fixture("../report/check_html.sh");
  const std::string shot = (dir.path() / "report.png").string();
  const core::ProcessResult page =
      core::run_process({"bash", check, (out / "report.html").string(), shot});
  if (page.exit_code == 77) GTEST_SKIP() << "chromium is not installed: " << page.out << page.err;
  ASSERT_EQ(page.exit_code, 0) << page.out << page.err;
  EXPECT_HAS(page.out, "tables=2");  // the results and the significance table
  // The screenshot: the window's size, and a rendered page, not a blank one: text, rules and
  // figures give many colours and a fair share of pixels that are not background.
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&image, shot.c_str())) << image.message;
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> rgb(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr)) << image.message;
  EXPECT_EQ(image.width, 1200u);
  EXPECT_EQ(image.height, 1600u);
  std::set<uint32_t> colours;
  size_t ink = 0;
  for (size_t i = 0; i + 2 < rgb.size(); i += 3) {
    colours.insert(rgb[i] << 16 | rgb[i + 1] << 8 | rgb[i + 2]);
    ink += rgb[i] < 200 || rgb[i + 1] < 200 || rgb[i + 2] < 200;
  }
  EXPECT_GT(colours.size(), 50u);
  EXPECT_GT(ink, rgb.size() / 3 / 100) << "fewer than 1% of the pixels are drawn";
}

TEST(ReportCommand, BadInputIsRefusedWithExitTwo) {
  testing::TempDir dir;
  auto r = testing::run_fracsweep({"report", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "sweep.json");
  const fs::path run = copy_fixture(dir);
  r = testing::run_fracsweep({"report", run.string(), "--format", "md,pdf", "--no-curves"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "unknown format 'pdf'");
  r = testing::run_fracsweep({"report", run.string(), "--table", "aasn-1", "--no-curves"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "binary (pelvis)");
  r = testing::run_fracsweep({"report", run.string(), "--table", "tsccn-9", "--no-curves"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.err, "unknown table 'tsccn-9'");
}

}  // namespace
}  // namespace fracsweep::report
