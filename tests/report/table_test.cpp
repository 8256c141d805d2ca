// The results table: marks on ties, groups, and the four renderings.
#include "metrics/table.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

TableCell cell(double mean, double std = 0.01, size_t n = 4) {
  TableCell c;
  c.value = MeanStd{mean, std, n};
  return c;
}

ResultTable one_column(std::vector<TableCell> cells, std::vector<std::string> groups = {}) {
  ResultTable t;
  t.id = "t";
  t.title = "T";
  t.columns = {{"aSE", "aSE (%)", "aSE(\\%)"}};
  for (size_t i = 0; i < cells.size(); ++i) {
    TableRow r;
    r.method = "m" + std::to_string(i);
    r.group = groups.empty() ? "" : groups[i];
    r.cells = {cells[i]};
    t.rows.push_back(r);
  }
  return t;
}

std::vector<int> ranks(const ResultTable& t) {
  std::vector<int> out;
  for (const TableRow& r : t.rows) out.push_back(r.cells[0].rank);
  return out;
}

TEST(TableMarks, BestBoldSecondUnderlined) {
  ResultTable t = one_column({cell(0.80), cell(0.90), cell(0.85), cell(0.70)});
  rank_cells(t);
  EXPECT_EQ(ranks(t), (std::vector<int>{0, 1, 2, 0}));
}

TEST(TableMarks, TiesOnThePrintedValueShareTheirMark) {
  // 0.912341 and 0.912349 both print 91.23: a reader sees a tie, so both are bold, and the
  // second mark goes to the next printed value, not to the other half of the tie.
  ResultTable t = one_column({cell(0.912341), cell(0.912349), cell(0.90), cell(0.90), cell(0.8)});
  rank_cells(t);
  EXPECT_EQ(ranks(t), (std::vector<int>{1, 1, 2, 2, 0}));
}

TEST(TableMarks, ValuesThatPrintDifferentlyAreNotTied) {
  ResultTable t = one_column({cell(0.91235), cell(0.91244)});  // 91.23 (or .24) vs 91.24
  rank_cells(t);
  EXPECT_EQ(ranks(t)[1], 1);
  EXPECT_EQ(ranks(t)[0], percent(0.91235) == "91.24" ? 1 : 2);
}

TEST(TableMarks, AllEqualMarksNothingAndMissingCellsAreSkipped) {
  ResultTable t = one_column({cell(0.5), cell(0.5), TableCell{}});
  rank_cells(t);
  EXPECT_EQ(ranks(t), (std::vector<int>{0, 0, 0}));
  ResultTable u = one_column({TableCell{}, cell(0.6), cell(0.5)});
  rank_cells(u);
  EXPECT_EQ(ranks(u), (std::vector<int>{0, 1, 2}));
}

TEST(TableMarks, GroupsAreRankedApart) {
  ResultTable t = one_column({cell(0.7), cell(0.8), cell(0.9), cell(0.95)},
                             {"Quarter", "Quarter", "Full", "Full"});
  rank_cells(t);
  EXPECT_EQ(ranks(t), (std::vector<int>{2, 1, 2, 1}));
}

TEST(TableRender, MarksInEveryFormat) {
  ResultTable t = one_column({cell(0.9, 0.012), cell(0.8, 0.02), cell(0.7, 0.0, 1)});
  t.rows[1].cells[0].significant = true;
  t.rows[2].method = "a_b & c";
  rank_cells(t);
  const std::string md = to_markdown(t);
  EXPECT_HAS(md, "| m0 | 0/0 | **90.00** ± 1.20 |");
  EXPECT_HAS(md, "| m1 | 0/0 | *80.00* ± 2.00† |");
  EXPECT_HAS(md, "| a_b & c | 0/0 | 70.00 |");  // one job: no std
  const std::string tex = to_latex(t);
  EXPECT_HAS(tex, "\\textbf{90.00}$_{\\pm 1.20}$");
  EXPECT_HAS(tex, "\\underline{80.00}$_{\\pm 2.00}$$^\\dagger$");
  EXPECT_HAS(tex, "a\\_b \\& c & 70.00 \\\\");
  EXPECT_HAS(tex, "\\toprule");
  const std::string csv = to_csv(t);
  EXPECT_HAS(csv, "method,group,finished,jobs,aSE_mean,aSE_std,aSE_mark,aSE_significant\n");
  EXPECT_HAS(csv, "m0,,0,0,90.0000,1.2000,best,0\n");
  EXPECT_HAS(csv, "m1,,0,0,80.0000,2.0000,second,1\n");
  EXPECT_HAS(csv, "a_b & c,,0,0,70.0000,,,0\n");
  const std::string html = to_html(t);
  EXPECT_HAS(html, "<td><b>90.00</b><sub>±1.20</sub></td>");
  EXPECT_HAS(html, "<td><u>80.00</u><sub>±2.00</sub><sup>†</sup></td>");
  EXPECT_HAS(html, "a_b &amp; c");
}

TEST(TableRender, GainsAndMissingValues) {
  ResultTable t = one_column({cell(0.9), TableCell{}});
  t.rows[0].cells[0].gain = "+0.41%";
  const std::string md = to_markdown(t);
  EXPECT_HAS(md, "90.00 ± 1.00 (+0.41%)");
  EXPECT_HAS(md, "| m1 | 0/0 | - |");
  EXPECT_HAS(to_latex(t), "(+0.41\\%)");
  EXPECT_HAS(to_latex(t), " & -- \\\\");
}

TEST(TableRender, RowsOfAGroupNameItOnce) {
  ResultTable t = one_column({cell(0.7), cell(0.8), cell(0.9)}, {"Quarter", "Quarter", "Full"});
  t.group_header = "Data size";
  const std::string md = to_markdown(t);
  EXPECT_HAS(md, "| m0 | Quarter | 0/0 |");
  EXPECT_HAS(md, "| m1 |  | 0/0 |");
  EXPECT_HAS(md, "| m2 | Full | 0/0 |");
  EXPECT_HAS(to_latex(t), "\\midrule\nm2 & Full");
}

TEST(TableRender, ComponentFlagsAsCheckMarks) {
  ResultTable t = one_column({cell(0.7), cell(0.8)});
  t.flag_headers = {"FF", "CL"};
  t.rows[0].flags = {false, false};
  t.rows[1].flags = {true, false};
  EXPECT_HAS(to_markdown(t), "| Method | FF | CL | Jobs | aSE (%) |");
  EXPECT_HAS(to_markdown(t), "| m1 | ✓ |  | 0/0 |");
  const std::string tex = to_latex(t);
  EXPECT_HAS(tex, "\\begin{tabular}{lccc}");
  EXPECT_HAS(tex, "Method & FF & CL & aSE(\\%)");
  EXPECT_HAS(tex, "m1 & \\checkmark &  & ");
  EXPECT_HAS(tex, "amssymb");
  EXPECT_HAS(to_csv(t), "method,group,finished,jobs,FF,CL,aSE_mean");
  EXPECT_HAS(to_csv(t), "m1,,0,0,1,0,80.0000");
  EXPECT_HAS(to_html(t), "<th>FF</th><th>CL</th><th>Jobs</th>");
  EXPECT_HAS(to_html(t), "<td class=\"flag\">✓</td><td class=\"flag\"></td>");
  t.rows[0].flags = {true};
  EXPECT_THROW(to_csv(t), core::InternalError);
}

TEST(TableRender, RowOfTheWrongWidthIsABug) {
  ResultTable t = one_column({cell(0.7)});
  t.rows[0].cells.push_back(cell(0.1));
  EXPECT_THROW(to_markdown(t), core::InternalError);
}

}  // namespace
}  // namespace fracsweep::metrics
