// See table.h.
#include "metrics/table.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "metrics/html.h"

namespace fracsweep::metrics {
namespace {

// LaTeX numbers tables itself: "Table III. Ablation study" is captioned "Ablation study".
std::string caption_of(const std::string& title) {
  const size_t dot = title.find(". ");
  return title.rfind("Table ", 0) == 0 && dot != std::string::npos ? title.substr(dot + 2) : title;
}

bool has_std(const MeanStd& m) { return m.n >= 2 && std::isfinite(m.std); }

const char* kDagger = "†";

void check_shape(const ResultTable& t) {
  for (const TableRow& r : t.rows) {
    CHECK_OR_THROW(core::InternalError, r.cells.size() == t.columns.size(), "table ", t.id,
                   ": row '", r.method, "' has ", r.cells.size(), " cells for ", t.columns.size(),
                   " columns");
    CHECK_OR_THROW(core::InternalError, r.flags.size() == t.flag_headers.size(), "table ", t.id,
                   ": row '", r.method, "' has ", r.flags.size(), " flags for ",
                   t.flag_headers.size(), " flag columns");
    CHECK_OR_THROW(core::InternalError, r.flag_notes.empty() || r.flag_notes.size() == r.flags.size(),
                   "table ", t.id, ": row '", r.method, "' has ", r.flag_notes.size(),
                   " flag notes for ", r.flags.size(), " flags");
  }
}

const char* kCheck = "✓";

// The note of flag k of a row, after `gap`; "" when it has none.
std::string flag_note(const TableRow& r, size_t k, const char* gap) {
  if (r.flag_notes.empty() || r.flag_notes[k].empty()) return "";
  return gap + r.flag_notes[k];
}

// Rows of one group are printed together; the group's name only on its first row.
bool first_of_group(const ResultTable& t, size_t i) {
  return i == 0 || t.rows[i - 1].group != t.rows[i].group;
}

// The tabular as it is when it fits the text width, scaled down to the width
// when it does not (graphicx), so that no name or column count can push a
// table into the margin of the user's paper.
std::string fitted(const std::string& tabular) {
  return "\\sbox0{%\n" + tabular +
         "}%\n\\ifdim\\wd0>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox0}\\else\\usebox0\\fi\n";
}

std::string latex_text(const std::string& text) {
  std::string escaped = latex_escape(text);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"±", "$\\pm$"},
                                 {"×", "$\\times$"},
                                 {"Σ", "$\\Sigma$"},
                                 {"√", "$\\surd$"},
                                 {"Δ", "$\\Delta$"},
                                 {kDagger, "$^\\dagger$"}})
    for (size_t p = escaped.find(from); p != std::string::npos;
         p = escaped.find(from, p + to.size()))
      escaped.replace(p, from.size(), to);
  return escaped;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string percent(double fraction) { return fmt::format("{:.2f}", 100 * fraction); }

void rank_cells(ResultTable& table) {
  check_shape(table);
  for (size_t c = 0; c < table.columns.size(); ++c) {
    std::map<std::string, std::vector<TableCell*>> groups;
    for (TableRow& r : table.rows) groups[r.group].push_back(&r.cells[c]);
    for (auto& [group, cells] : groups) {
      // Ranked on the printed numbers: what a reader compares is what must agree with the marks.
      std::set<double, std::greater<>> printed;
      for (TableCell* cell : cells) {
        cell->rank = 0;
        if (cell->value) printed.insert(std::stod(percent(cell->value->mean)));
      }
      if (printed.size() < 2) continue;
      const double best = *printed.begin(), second = *std::next(printed.begin());
      for (TableCell* cell : cells) {
        if (!cell->value) continue;
        const double v = std::stod(percent(cell->value->mean));
        cell->rank = v == best ? 1 : v == second ? 2 : 0;
      }
    }
  }
}

std::string to_markdown(const ResultTable& t) {
  check_shape(t);
  std::string out = fmt::format("**{}**\n\n|", t.title);
  std::string rule = "|";
  out += " Method |";
  rule += "---|";
  if (!t.group_header.empty()) {
    out += fmt::format(" {} |", t.group_header);
    rule += "---|";
  }
  for (const std::string& f : t.flag_headers) {
    out += fmt::format(" {} |", f);
    rule += ":---:|";
  }
  out += " Jobs |";
  rule += "---:|";
  for (const TableColumn& col : t.columns) {
    out += fmt::format(" {} |", col.text);
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const TableRow& r = t.rows[i];
    out += fmt::format("| {} |", r.method);
    if (!t.group_header.empty()) out += fmt::format(" {} |", first_of_group(t, i) ? r.group : "");
    for (size_t k = 0; k < r.flags.size(); ++k)
      out += fmt::format(" {}{} |", r.flags[k] ? kCheck : "", flag_note(r, k, " "));
    out += fmt::format(" {}/{} |", r.finished, r.jobs);
    for (const TableCell& cell : r.cells) {
      if (!cell.value) {
        out += " - |";
        continue;
      }
      std::string mean = percent(cell.value->mean);
      if (cell.rank == 1) mean = "**" + mean + "**";
      if (cell.rank == 2) mean = "*" + mean + "*";
      std::string text =
          has_std(*cell.value) ? fmt::format("{} ± {}", mean, percent(cell.value->std)) : mean;
      if (cell.significant) text += kDagger;
      if (!cell.gain.empty()) text += fmt::format(" ({})", cell.gain);
      out += " " + text + " |";
    }
    out += "\n";
  }
  std::vector<std::string> notes = t.footnotes;
  notes.insert(notes.begin(),
               "Mean ± std over folds × seeds, in percent. Best per column in bold, "
               "second in italics" +
                   std::string(t.group_header.empty() ? "" : ", within each group") + ".");
  for (const std::string& n : notes) out += "\n" + n + "\n";
  return out;
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
      case '%':
      case '$':
      case '#':
      case '_':
      case '{':
      case '}':
        out += '\\';
        out += c;
        break;
      case '<':
        out += "\\textless{}";
        break;
      case '>':
        out += "\\textgreater{}";
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      case '\\':
        out += "\\textbackslash{}";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string to_latex(const ResultTable& t) {
  check_shape(t);
  const bool groups = !t.group_header.empty();
  std::string spec = groups ? "ll" : "l";
  for (size_t c = 0; c < t.flag_headers.size() + t.columns.size(); ++c) spec += "c";
  std::string out =
      t.flag_headers.empty()
          ? "% Needs \\usepackage{booktabs} and \\usepackage{graphicx}.\n"
          : "% Needs \\usepackage{booktabs}, \\usepackage{graphicx} and \\usepackage{amssymb} "
            "(\\checkmark).\n";
  out += "\\begin{table}[t]\n\\centering\n";
  out +=
      fmt::format("\\caption{{{}}}\n\\label{{tab:{}}}\n", latex_escape(caption_of(t.title)), t.id);
  std::string tab;
  tab += fmt::format("\\begin{{tabular}}{{{}}}\n\\toprule\nMethod", spec);
  if (groups) tab += " & " + latex_escape(t.group_header);
  for (const std::string& f : t.flag_headers) tab += " & " + latex_escape(f);
  for (const TableColumn& col : t.columns) tab += " & " + col.latex;
  tab += " \\\\\n\\midrule\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const TableRow& r = t.rows[i];
    if (groups && i > 0 && first_of_group(t, i)) tab += "\\midrule\n";
    tab += latex_escape(r.method);
    if (groups) tab += " & " + (first_of_group(t, i) ? latex_escape(r.group) : std::string());
    for (size_t k = 0; k < r.flags.size(); ++k) {
      tab += r.flags[k] ? " & \\checkmark" : " & ";
      if (!flag_note(r, k, "").empty()) tab += "{\\scriptsize " + latex_escape(flag_note(r, k, "")) + "}";
    }
    for (const TableCell& cell : r.cells) {
      tab += " & ";
      if (!cell.value) {
        tab += "--";
        continue;
      }
      const std::string mean = percent(cell.value->mean);
      tab += cell.rank == 1   ? "\\textbf{" + mean + "}"
             : cell.rank == 2 ? "\\underline{" + mean + "}"
                              : mean;
      if (has_std(*cell.value)) tab += fmt::format("$_{{\\pm {}}}$", percent(cell.value->std));
      if (cell.significant) tab += "$^\\dagger$";
      if (!cell.gain.empty()) tab += fmt::format(" ({})", latex_escape(cell.gain));
    }
    tab += " \\\\\n";
  }
  tab += "\\bottomrule\n\\end{tabular}\n";
  out += fitted(tab);
  std::vector<std::string> notes = t.footnotes;
  notes.insert(notes.begin(),
               "Mean ± std over folds × seeds, in percent. Best per column "
               "in bold, second underlined" +
                   std::string(groups ? ", within each group" : "") + ".");
  for (const std::string& n : notes)
    out += "\\par\\smallskip\\footnotesize " + latex_text(n) + "\n";
  out += "\\end{table}\n";
  return out;
}

std::string to_csv(const ResultTable& t) {
  check_shape(t);
  std::string out = "method,group,finished,jobs";
  for (const std::string& f : t.flag_headers) out += "," + csv_field(f);
  for (const TableColumn& col : t.columns)
    out += fmt::format(",{0}_mean,{0}_std,{0}_mark,{0}_significant", csv_field(col.key));
  out += "\n";
  for (const TableRow& r : t.rows) {
    out += fmt::format("{},{},{},{}", csv_field(r.method), csv_field(r.group), r.finished, r.jobs);
    for (bool f : r.flags) out += f ? ",1" : ",0";
    for (const TableCell& cell : r.cells) {
      const bool v = cell.value.has_value();
      out +=
          fmt::format(",{},{},{},{}", v ? fmt::format("{:.4f}", 100 * cell.value->mean) : "",
                      v && has_std(*cell.value) ? fmt::format("{:.4f}", 100 * cell.value->std) : "",
                      cell.rank == 1   ? "best"
                      : cell.rank == 2 ? "second"
                                       : "",
                      cell.significant ? 1 : 0);
    }
    out += "\n";
  }
  return out;
}

std::string to_html(const ResultTable& t) {
  check_shape(t);
  const bool groups = !t.group_header.empty();
  std::string out = fmt::format("<table class=\"results\" id=\"{}\">\n<caption>{}</caption>\n",
                                html_escape(t.id), html_escape(t.title));
  out += "<thead><tr><th>Method</th>";
  if (groups) out += "<th>" + html_escape(t.group_header) + "</th>";
  for (const std::string& f : t.flag_headers) out += "<th>" + html_escape(f) + "</th>";
  out += "<th>Jobs</th>";
  for (const TableColumn& col : t.columns) out += "<th>" + html_escape(col.text) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const TableRow& r = t.rows[i];
    out += "<tr><th scope=\"row\">" + html_escape(r.method) + "</th>";
    if (groups) out += "<td>" + (first_of_group(t, i) ? html_escape(r.group) : "") + "</td>";
    for (size_t k = 0; k < r.flags.size(); ++k)
      out += std::string("<td class=\"flag\">") + (r.flags[k] ? kCheck : "") +
             html_escape(flag_note(r, k, " ")) + "</td>";
    out += fmt::format("<td>{}/{}</td>", r.finished, r.jobs);
    for (const TableCell& cell : r.cells) {
      if (!cell.value) {
        out += "<td>-</td>";
        continue;
      }
      std::string mean = percent(cell.value->mean);
      if (cell.rank == 1) mean = "<b>" + mean + "</b>";
      if (cell.rank == 2) mean = "<u>" + mean + "</u>";
      out += "<td>" + mean;
      if (has_std(*cell.value)) out += "<sub>±" + percent(cell.value->std) + "</sub>";
      if (cell.significant) out += "<sup>" + std::string(kDagger) + "</sup>";
      if (!cell.gain.empty()) out += " (" + html_escape(cell.gain) + ")";
      out += "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  out +=
      "<p class=\"footnote\">Mean<sub>±std</sub> over folds × seeds, in percent. Best per "
      "column in bold, second underlined" +
      std::string(groups ? ", within each group" : "") + ".</p>\n";
  for (const std::string& n : t.footnotes)
    out += "<p class=\"footnote\">" + html_escape(n) + "</p>\n";
  return out;
}

namespace {

void check_shape(const TextTable& t) {
  for (const auto& r : t.rows)
    CHECK_OR_THROW(core::InternalError, r.size() == t.header.size(), "table ", t.id, ": a row has ",
                   r.size(), " cells for ", t.header.size(), " columns");
}

}  // namespace

std::string to_markdown(const TextTable& t) {
  check_shape(t);
  std::string out = fmt::format("**{}**\n\n|", t.title), rule = "|";
  for (const std::string& h : t.header) {
    out += " " + h + " |";
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (const std::string& c : r) out += " " + c + " |";
    out += "\n";
  }
  for (const std::string& n : t.footnotes) out += "\n" + n + "\n";
  return out;
}

std::string to_latex(const TextTable& t) {
  check_shape(t);
  std::string out =
      "% Needs \\usepackage{booktabs} and \\usepackage{graphicx}.\n\\begin{table}[t]\n\\centering\n";
  out += fmt::format("\\caption{{{}}}\n\\label{{tab:{}}}\n", latex_text(t.title), t.id);
  std::string tab;
  tab += "\\begin{tabular}{l" + std::string(t.header.size() > 0 ? t.header.size() - 1 : 0, 'c') +
         "}\n\\toprule\n";
  for (size_t i = 0; i < t.header.size(); ++i)
    tab += (i ? " & " : "") +
           (i < t.latex_header.size() && !t.latex_header[i].empty() ? t.latex_header[i]
                                                                     : latex_text(t.header[i]));
  tab += " \\\\\n\\midrule\n";
  for (const auto& r : t.rows) {
    for (size_t i = 0; i < r.size(); ++i) tab += (i ? " & " : "") + latex_text(r[i]);
    tab += " \\\\\n";
  }
  tab += "\\bottomrule\n\\end{tabular}\n";
  out += fitted(tab);
  for (const std::string& n : t.footnotes)
    out += "\\par\\smallskip\\footnotesize " + latex_text(n) + "\n";
  return out + "\\end{table}\n";
}

std::string to_csv(const TextTable& t) {
  check_shape(t);
  std::string out;
  for (size_t i = 0; i < t.header.size(); ++i) out += (i ? "," : "") + csv_field(t.header[i]);
  out += "\n";
  for (const auto& r : t.rows) {
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + csv_field(r[i]);
    out += "\n";
  }
  return out;
}

std::string to_html(const TextTable& t) {
  check_shape(t);
  std::string out =
      fmt::format("<table class=\"results\" id=\"{}\">\n<caption>{}</caption>\n<thead><tr>",
                  html_escape(t.id), html_escape(t.title));
  for (const std::string& h : t.header) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& r : t.rows) {
    out += "<tr>";
    for (size_t i = 0; i < r.size(); ++i)
      out += (i == 0 ? "<th scope=\"row\">" : "<td>") + html_escape(r[i]) +
             (i == 0 ? "</th>" : "</td>");
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  for (const std::string& n : t.footnotes)
    out += "<p class=\"footnote\">" + html_escape(n) + "</p>\n";
  return out;
}

}  // namespace fracsweep::metrics
