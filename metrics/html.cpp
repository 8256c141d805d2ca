// See html.h. The page is plain HTML5 with one inline style sheet; figures are
// inline SVG so that the page is a single file. Section ids are "sec-N-slug":
// numbered so two sections with the same heading still get distinct anchors,
// prefixed so they cannot clash with the ids of the tables inside them.
#include "metrics/html.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/error.h"

namespace fracsweep::metrics {
namespace {

// Readable on screen and on paper: one column at most ~70em wide, tables with
// thin rules and tabular figures, best (<b>) and second best (<u>) values
// marked as table.cpp writes them. Figures share one width, two to a row on a
// wide screen: gnuplot's `dynamic` svg has only a viewBox, no size of its own.
constexpr std::string_view kStyle = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0 auto; padding: 1.5em 2em 3em; max-width: 72em;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
  color: #1f2328; background: #fff;
}
header { border-bottom: 2px solid #d0d7de; margin-bottom: 1em; }
h1 { font-size: 1.7em; margin: 0 0 0.2em; }
h2 { font-size: 1.3em; margin: 1.8em 0 0.6em; padding-bottom: 0.2em;
     border-bottom: 1px solid #d0d7de; }
.subtitle { color: #57606a; margin: 0 0 0.8em; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
          padding: 0.6em 1.2em; display: inline-block; min-width: 20em; }
nav.toc h2 { font-size: 1em; margin: 0 0 0.3em; border: 0; padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.4em; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.content { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.8em 0 0.4em; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #d8dee4; white-space: nowrap; }
thead th { border-bottom: 2px solid #8c959f; background: #f6f8fa; text-align: center; }
tbody th { text-align: left; font-weight: 500; }
td { text-align: right; }
td.flag { text-align: center; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef4fb; }
b { font-weight: 700; }
u { text-decoration-thickness: 1px; text-underline-offset: 2px; }
sub, sup { font-size: 0.72em; color: #57606a; }
.footnote { font-size: 0.85em; color: #57606a; margin: 0.2em 0; }
.figures { display: flex; flex-wrap: wrap; gap: 1em 1.5em; margin: 1.2em 0; }
figure { margin: 0; flex: 0 1 32em; min-width: 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #57606a; margin-top: 0.3em; }
pre.config { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
             padding: 0.8em 1em; overflow-x: auto; font-size: 0.85em; line-height: 1.4; }
@media print {
  body { max-width: none; padding: 0; }
  nav.toc { display: none; }
  figure, table { break-inside: avoid; }
}
)css";

// Lower-case ASCII letters and digits joined by single dashes; the readable
// part of an anchor ("ROC curves (test)" -> "roc-curves-test").
std::string slug(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) && c < 128) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string section_id(size_t index, const std::string& heading) {
  const std::string s = slug(heading);
  return "sec-" + std::to_string(index + 1) + (s.empty() ? "" : "-" + s);
}

bool starts_svg_tag(std::string_view text, size_t pos) {
  if (text.compare(pos, 4, "<svg") != 0 || pos + 4 >= text.size()) return false;
  const char next = text[pos + 4];
  return next == '>' || next == '/' || std::isspace(static_cast<unsigned char>(next));
}

// The offset just past what starts at `pos` and ends with `end`, or npos.
size_t past(std::string_view text, size_t pos, std::string_view end) {
  const size_t at = text.find(end, pos);
  return at == std::string_view::npos ? at : at + end.size();
}

// Where the root element starts: after a byte order mark, the XML declaration,
// processing instructions, comments, a DOCTYPE (with or without an internal
// subset) and white space. npos when the prolog is unterminated.
size_t skip_prolog(std::string_view text) {
  size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (pos < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    } else if (text.compare(pos, 2, "<?") == 0) {
      pos = past(text, pos, "?>");
    } else if (text.compare(pos, 4, "<!--") == 0) {
      pos = past(text, pos, "-->");
    } else if (text.compare(pos, 2, "<!") == 0) {
      const size_t close = text.find('>', pos), subset = text.find('[', pos);
      pos = subset < close ? past(text, past(text, subset, "]"), ">") : past(text, pos, ">");
    } else {
      break;
    }
    if (pos == std::string_view::npos) break;
  }
  return pos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The <svg> element of an SVG file: the XML prolog, a DOCTYPE (older gnuplot
// writes one naming the SVG 1.1 DTD by URL) and comments before it are
// dropped, as is anything after the closing tag; none of it is valid inside HTML.
// Every figure's ids and references to them get a prefix: each gnuplot SVG names its
// elements alike (gnuplot_canvas, gpPt0, ...), and ids must be unique in one page.
std::string prefix_ids(std::string body, const std::string& prefix) {
  for (const char* key : {" id=\"", " id='", "href=\"#", "href='#", "url(#"}) {
    const std::string k(key);
    for (size_t p = body.find(k); p != std::string::npos; p = body.find(k, p + k.size()))
      body.insert(p + k.size(), prefix);
  }
  return body;
}

std::string inline_svg(const HtmlFigure& figure) {
  const std::string_view svg = figure.svg;
  const size_t start = skip_prolog(svg);
  CHECK_OR_THROW(core::ConfigError, start != std::string_view::npos && starts_svg_tag(svg, start),
                 "figure '", figure.caption, "': the SVG text does not start with an <svg> ",
                 "element after its prolog (", svg.size(), " bytes: '", svg.substr(0, 40),
                 "'); pass the contents of the .svg file, not its path");
  const size_t close = svg.rfind("</svg>");
  CHECK_OR_THROW(core::ConfigError, close != std::string_view::npos && close > start, "figure '",
                 figure.caption, "': the SVG text has no closing </svg>; is the file truncated?");
  std::string body(svg.substr(start, close + 6 - start));
  // The page promises no script; gnuplot adds one (and a reference to its
  // gnuplot_svg.js) only with `set terminal svg mouse`.
  CHECK_OR_THROW(core::ConfigError, lower(body).find("<script") == std::string::npos, "figure '",
                 figure.caption,
                 "': the SVG contains a <script>; draw it with gnuplot's svg "
                 "terminal without the `mouse` option");
  return body;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_page(const HtmlPage& page) {
  const std::string title = page.title.empty() ? "fracsweep report" : page.title;
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"fracsweep\">\n";
  out += "<title>" + html_escape(title) + "</title>\n<style>" + std::string(kStyle) +
         "</style>\n</head>\n<body>\n";

  out += "<header>\n<h1>" + html_escape(title) + "</h1>\n";
  if (!page.subtitle.empty())
    out += "<p class=\"subtitle\">" + html_escape(page.subtitle) + "</p>\n";
  out += "</header>\n";

  const bool has_config = !page.config.empty();
  if (!page.sections.empty() || has_config) {
    out += "<nav class=\"toc\">\n<h2>Contents</h2>\n<ol>\n";
    for (size_t i = 0; i < page.sections.size(); ++i) {
      out += "<li><a href=\"#" + section_id(i, page.sections[i].heading) + "\">" +
             html_escape(page.sections[i].heading) + "</a></li>\n";
    }
    if (has_config) out += "<li><a href=\"#sec-config\">Configuration</a></li>\n";
    out += "</ol>\n</nav>\n";
  }

  out += "<main>\n";
  int figures = 0;
  for (size_t i = 0; i < page.sections.size(); ++i) {
    const HtmlSection& s = page.sections[i];
    out += "<section id=\"" + section_id(i, s.heading) + "\">\n<h2>" + html_escape(s.heading) +
           "</h2>\n";
    if (!s.html.empty()) out += "<div class=\"content\">\n" + s.html + "\n</div>\n";
    if (!s.figures.empty()) out += "<div class=\"figures\">\n";
    for (const HtmlFigure& f : s.figures) {
      out +=
          "<figure>\n" + prefix_ids(inline_svg(f), "fig" + std::to_string(++figures) + "-") + "\n";
      if (!f.caption.empty()) out += "<figcaption>" + html_escape(f.caption) + "</figcaption>\n";
      out += "</figure>\n";
    }
    if (!s.figures.empty()) out += "</div>\n";
    out += "</section>\n";
  }
  if (has_config) {
    // "sec-config" cannot clash with the numbered section ids. The parser drops
    // one newline right after <pre>, so one is written to keep the text verbatim.
    out += "<section id=\"sec-config\">\n<h2>Configuration</h2>\n<pre class=\"config\">\n" +
           html_escape(page.config) + "</pre>\n</section>\n";
  }
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace fracsweep::metrics
