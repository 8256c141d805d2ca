// A results table in a paper's shape, and its renderings: Markdown, LaTeX
// (booktabs), CSV and an HTML fragment.
//
// Cells hold mean ± sample std over folds x seeds of a metric in [0, 1]; every
// rendering prints percent with two decimals, as the papers do. The best value
// of each column is bold and the second best underlined (Markdown: bold and
// italics), compared on the printed value, so two cells that print the same
// share a mark; within a table with groups (Table II's data sizes) each group
// is ranked on its own. A cell whose difference from its column's best is
// significant carries a dagger, explained in a footnote.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "metrics/aggregate.h"

namespace fracsweep::metrics {

struct TableCell {
  std::optional<MeanStd> value;  // nullopt: not available ("-"), e.g. no finished job
  std::string gain;              // printed after the value in parentheses, e.g. "+0.41%"
  bool significant = false;      // differs significantly from the column's best
  int rank = 0;                  // 1 best, 2 second, 0 neither; set by rank_cells()
};

struct TableRow {
  std::string method;            // the row's name
  std::string group;             // e.g. "Quarter" in Table II; "" when the table has no groups
  int finished = 0;              // jobs that count
  int jobs = 0;                  // jobs the sweep has for the row
  std::vector<bool> flags;       // one per ResultTable::flag_headers: the row has that component
  // Empty, or one per flag: a word printed after the check mark, as AASN's Table 2 marks its
  // contrastive learning without the projection head ("no proj.").
  std::vector<std::string> flag_notes;
  std::vector<TableCell> cells;  // one per column
};

struct TableColumn {
  std::string key;    // the metric's name, e.g. "SE_0", "recall@fp=0.01"; CSV headers use it
  std::string text;   // Markdown/HTML header, e.g. "aSE (%)"
  std::string latex;  // LaTeX header, e.g. "$SE_0$"
};

struct ResultTable {
  std::string id;            // e.g. "tsccn-table3"
  std::string title;         // e.g. "Table III. Ablation study"
  std::string group_header;  // e.g. "Data size"; "" when rows have no groups
  // Components a row has or not, as check-mark columns before the numbers (AASN Table 2's
  // FF, FA, CL); empty for most tables.
  std::vector<std::string> flag_headers;
  std::vector<TableColumn> columns;
  std::vector<TableRow> rows;
  std::vector<std::string> footnotes;  // plain text, one per line/paragraph
};

// The value as printed: percent rounded to two decimals ("92.56").
std::string percent(double fraction);

// Sets every cell's rank: per column and group, the cells with the highest printed mean
// get 1, those with the next printed mean 2. A column whose cells all print the same marks
// nothing (no row is better than another), and a second mark needs a first one.
void rank_cells(ResultTable& table);

std::string to_markdown(const ResultTable& table);
// A complete `table` float for \usepackage{booktabs}; the std as a subscript.
std::string to_latex(const ResultTable& table);
// One row per table row: method, group, finished, jobs, then each flag (0 or 1), then per column
// <key>_mean, <key>_std (percent, 4 decimals; empty when unknown), <key>_mark
// (best, second or empty) and <key>_significant (0 or 1).
std::string to_csv(const ResultTable& table);
// A <table class="results"> with a <caption>, then the footnotes in <p class="footnote">.
std::string to_html(const ResultTable& table);

// Escapes LaTeX's special characters in text mode.
std::string latex_escape(const std::string& text);

}  // namespace fracsweep::metrics

namespace fracsweep::metrics {

// A table of ready-made strings (the significance tests), in the same four renderings.
struct TextTable {
  std::string id, title;
  std::vector<std::string> header;
  // LaTeX for each header cell (e.g. a two-line \shortstack); empty: the
  // header escaped.
  std::vector<std::string> latex_header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
  std::vector<std::string> footnotes;
};

std::string to_markdown(const TextTable& table);
std::string to_latex(const TextTable& table);
std::string to_csv(const TextTable& table);
std::string to_html(const TextTable& table);

}  // namespace fracsweep::metrics
