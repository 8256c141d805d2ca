// A self-contained HTML page: everything inline (CSS, SVG figures), no script
// and nothing fetched, so it opens from disk anywhere and can be mailed.
#pragma once

#include <string>
#include <vector>

namespace fracsweep::metrics {

struct HtmlFigure {
  std::string caption;
  std::string svg;  // the contents of an SVG file; inlined after its XML prolog is dropped
};

struct HtmlSection {
  std::string heading;
  std::string html;  // trusted markup made by fracsweep (tables, lists)
  std::vector<HtmlFigure> figures;
};

struct HtmlPage {
  std::string title;
  std::string subtitle;  // e.g. "12 of 12 jobs finished"
  std::vector<HtmlSection> sections;
  std::string config;  // shown verbatim (escaped) in a <pre> at the end; the sweep file
};

// Escapes & < > " ' for text and attribute values.
std::string html_escape(const std::string& text);

std::string html_page(const HtmlPage& page);

}  // namespace fracsweep::metrics
