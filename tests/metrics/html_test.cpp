#include "metrics/html.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "core/process.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

// What gnuplot 5.4's svg terminal writes, shortened: the XML prolog, the two
// namespace URIs, <defs> used through xlink:href.
constexpr const char* kGnuplotSvg = R"svg(<?xml version="1.0" encoding="utf-8"  standalone="no"?>
<svg 
 width="200" height="100"
 viewBox="0 0 200 100"
 xmlns="http://www.w3.org/2000/svg"
 xmlns:xlink="http://www.w3.org/1999/xlink"
>

<title>Gnuplot</title>
<desc>Produced by GNUPLOT 5.4 patchlevel 4 </desc>

<g id="gnuplot_canvas">

<rect x="0" y="0" width="200" height="100" fill="none"/>
<defs>
	<circle id='gpDot' r='0.5' stroke-width='0.5' stroke='currentColor'/>
</defs>
<g fill="none" color="black" stroke="currentColor" stroke-width="1.00" stroke-linecap="butt">
	<path stroke='rgb(148,   0, 211)' d='M10,90 L60,40 L110,60 L190,10'/>
	<use xlink:href='#gpDot' x='60' y='40' color='rgb(148,   0, 211)'/>
</g>
</g>
</svg>

)svg";

HtmlPage sample_page() {
  HtmlPage page;
  page.title = "Sweep <vcf> & results";
  page.subtitle = "12 of 12 jobs finished";
  HtmlSection results;
  results.heading = "Results";
  results.html =
      "<table class=\"results\" id=\"main\">\n<caption>AUC</caption>\n<thead><tr><th>Method</th>"
      "<th>AUC</th></tr></thead>\n<tbody>\n<tr><th scope=\"row\">TSCCN</th><td><b>91.2</b>"
      "<sub>±1.1</sub></td></tr>\n<tr><th scope=\"row\">AASN</th><td><u>89.9</u></td></tr>\n"
      "</tbody>\n</table>\n<p class=\"footnote\">Best in bold, second underlined.</p>\n";
  HtmlSection curves;
  curves.heading = "ROC curves";
  curves.figures = {{"ROC of fold \"1\" <test>", kGnuplotSvg}, {"Loss", kGnuplotSvg}};
  page.sections = {results, curves};
  page.config = "name: vcf\nparams:\n  model: [tsccn, aasn]  # <all> & 'both'\n";
  return page;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

TEST(HtmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
  EXPECT_EQ(html_escape("<script>"), "&lt;script&gt;");
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("91.2 ± 1.1 (†)"), "91.2 ± 1.1 (†)");
}

TEST(HtmlPage, IsOneHtml5DocumentWithInlineStyle) {
  const std::string html = html_page(sample_page());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u) << html.substr(0, 80);
  EXPECT_HAS(html, "<meta charset=\"utf-8\">");
  EXPECT_HAS(html, "<style>");
  EXPECT_HAS(html, ".footnote");
  EXPECT_HAS(html, "</html>\n");
  EXPECT_EQ(count(html, "<script"), 0u);
  EXPECT_EQ(count(html, "<link"), 0u);
  EXPECT_EQ(count(html, "<title>Sweep &lt;vcf&gt; &amp; results</title>"), 1u);
  EXPECT_HAS(html, "<h1>Sweep &lt;vcf&gt; &amp; results</h1>");
  EXPECT_HAS(html, "12 of 12 jobs finished");
}

TEST(HtmlPage, HasEachSectionWithATableOfContents) {
  const std::string html = html_page(sample_page());
  EXPECT_HAS(html, "<h2>Results</h2>");
  EXPECT_HAS(html, "<h2>ROC curves</h2>");
  EXPECT_HAS(html, "<h2>Configuration</h2>");
  // Every contents link leads to an id on the page.
  const std::regex link("href=\"#([^\"]+)\"");
  int links = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), link);
       it != std::sregex_iterator(); ++it) {
    const std::string id = (*it)[1];
    EXPECT_EQ(count(html, "id=\"" + id + "\""), 1u) << id;
    ++links;
  }
  EXPECT_EQ(links, 3);
  EXPECT_LT(html.find("Contents"), html.find("<h2>Results</h2>"));
  // The trusted fragment goes in unchanged.
  EXPECT_HAS(html, "<td><b>91.2</b><sub>±1.1</sub></td>");
  EXPECT_HAS(html, "<p class=\"footnote\">");
}

TEST(HtmlPage, SectionsWithTheSameHeadingGetDistinctAnchors) {
  HtmlPage page;
  page.title = "t";
  page.sections = {{"Fold 1", "", {}}, {"Fold 1", "", {}}, {"ÄÖ", "", {}}};
  const std::string html = html_page(page);
  EXPECT_HAS(html, "id=\"sec-1-fold-1\"");
  EXPECT_HAS(html, "id=\"sec-2-fold-1\"");
  EXPECT_HAS(html, "id=\"sec-3\"");
  EXPECT_EQ(count(html, "Configuration"), 0u);  // no config, no section for it
}

TEST(HtmlPage, ConfigIsEscapedVerbatimInPre) {
  const std::string html = html_page(sample_page());
  EXPECT_HAS(html, "<pre class=\"config\">\nname: vcf\nparams:\n  model: [tsccn, aasn]  # "
                   "&lt;all&gt; &amp; &#39;both&#39;\n</pre>");
  EXPECT_GT(html.find("<pre"), html.rfind("</figure>"));  // at the end
}

TEST(HtmlPage, InlinesSvgFiguresWithCaptions) {
  const std::string html = html_page(sample_page());
  EXPECT_EQ(count(html, "<?xml"), 0u);
  EXPECT_EQ(count(html, "<figure>\n<svg \n width=\"200\""), 2u);
  EXPECT_EQ(count(html, "</svg>\n<figcaption>"), 2u);
  EXPECT_HAS(html, "<figcaption>ROC of fold &quot;1&quot; &lt;test&gt;</figcaption>");
  EXPECT_HAS(html, "<figcaption>Loss</figcaption>");
  EXPECT_HAS(html, "<use xlink:href='#fig1-gpDot'");
}

// Nothing is fetched: the only URIs are the namespace names gnuplot writes
// (and XHTML's, should an SVG carry one), which browsers never load.
TEST(HtmlPage, FiguresKeepTheirIdsApart) {
  // Both figures are the same gnuplot SVG: their ids and the references to them are prefixed
  // per figure, so the page has each id once and each <use> points into its own figure.
  const std::string page = html_page(sample_page());
  EXPECT_EQ(count(page, "id=\"gnuplot_canvas\""), 0u);
  EXPECT_EQ(count(page, "id=\"fig1-gnuplot_canvas\""), 1u);
  EXPECT_EQ(count(page, "id=\"fig2-gnuplot_canvas\""), 1u);
  EXPECT_EQ(count(page, "id='fig1-gpDot'"), 1u);
  EXPECT_EQ(count(page, "xlink:href='#fig1-gpDot'"), 1u);
  EXPECT_EQ(count(page, "xlink:href='#fig2-gpDot'"), 1u);
  EXPECT_EQ(count(page, "href='#gpDot'"), 0u);
}

TEST(HtmlPage, HasNoUrlsButXmlNamespaces) {
  HtmlPage page = sample_page();
  page.sections[1].figures.push_back(
      {"xhtml", "<svg xmlns=\"http://www.w3.org/2000/svg\"><foreignObject><div "
                "xmlns=\"http://www.w3.org/1999/xhtml\">x</div></foreignObject></svg>"});
  const std::string html = html_page(page);
  const std::set<std::string> allowed = {"http://www.w3.org/2000/svg",
                                         "http://www.w3.org/1999/xlink",
                                         "http://www.w3.org/1999/xhtml"};
  const std::regex uri(R"re(([\w:-]+)=["'](https?://[^"']*)["'])re");
  size_t seen = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), uri);
       it != std::sregex_iterator(); ++it) {
    const std::string attribute = (*it)[1], value = (*it)[2];
    EXPECT_TRUE(attribute == "xmlns" || attribute == "xmlns:xlink") << attribute << "=" << value;
    EXPECT_TRUE(allowed.count(value)) << value;
    ++seen;
  }
  EXPECT_EQ(seen, 6u);  // two per gnuplot figure, two in the xhtml one
  EXPECT_EQ(count(html, "http://") + count(html, "https://"), seen);
}

TEST(HtmlPage, DropsDoctypeAndCommentsBeforeTheSvg) {
  HtmlPage page;
  page.title = "t";
  page.sections = {{"Figure", "", {{"old gnuplot",
      "<?xml version=\"1.0\" standalone=\"no\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
      "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<!-- <svg> in a comment -->\n"
      "<svg width=\"10\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>\n"}}}};
  const std::string html = html_page(page);
  EXPECT_EQ(count(html, "<!DOCTYPE"), 1u);  // the page's own
  EXPECT_EQ(count(html, "DTD"), 0u);
  EXPECT_EQ(count(html, "<!--"), 0u);
  EXPECT_HAS(html, "<figure>\n<svg width=\"10\" height=\"10\" "
                   "xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>\n<figcaption>");
}

TEST(HtmlPage, RejectsSvgTextThatIsNoSvg) {
  HtmlPage page;
  page.sections = {{"Figure", "", {{"roc", "plots/roc.svg"}}}};
  try {
    html_page(page);
    FAIL() << "expected a ConfigError";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "figure 'roc'");
  }
  page.sections[0].figures[0].svg = "<svg><rect/>";
  EXPECT_THROW(html_page(page), core::ConfigError);
}

TEST(HtmlPage, RejectsSvgWithScript) {
  HtmlPage page;
  page.sections = {{"Figure", "", {{"mouse", "<svg onload=\"init(evt)\"><SCRIPT "
                                             "href=\"gnuplot_svg.js\"/><rect/></svg>"}}}};
  EXPECT_THROW(html_page(page), core::ConfigError);
}

// tests/report/check_html.sh loads a page in headless Chromium.
core::ProcessResult check_html(const std::string& page_path, const std::string& png_path) {
  const std::string script = testing::fixture("../report/check_html.sh");
  return core::run_process({"bash", script, page_path, png_path});
}

TEST(HtmlChromium, RendersPageWithOneTableAndWritesScreenshot) {
  testing::TempDir dir;
  HtmlPage page = sample_page();
  page.sections[1].figures.resize(1);
  const std::string page_path = dir.write("report.html", html_page(page));
  const std::string png = (dir.path() / "report.png").string();
  const core::ProcessResult r = check_html(page_path, png);
  if (r.exit_code == 77) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_HAS(r.out, "tables=1\n");
  EXPECT_HAS(r.out, "screenshot=" + png + "\n");
  const std::string bytes = core::read_file(png);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(HtmlChromium, ConsoleErrorFailsTheCheck) {
  testing::TempDir dir;
  HtmlPage page;
  page.title = "broken";
  page.sections = {{"Script", "<script>console.error(\"x\")</script>", {}}};
  const std::string page_path = dir.write("broken.html", html_page(page));
  const core::ProcessResult r = check_html(page_path, (dir.path() / "broken.png").string());
  if (r.exit_code == 77) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_HAS(r.err, "CONSOLE");
  EXPECT_HAS(r.err, "\"x\"");
}

TEST(HtmlChromium, MissingResourceFailsTheCheck) {
  testing::TempDir dir;
  HtmlPage page;
  page.title = "missing image";
  page.sections = {{"Image", "<img src=\"missing.png\" alt=\"\">", {}}};
  const std::string page_path = dir.write("missing.html", html_page(page));
  const core::ProcessResult r = check_html(page_path, (dir.path() / "missing.png").string());
  if (r.exit_code == 77) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_HAS(r.err, "src=\"missing.png\"");
}

}  // namespace
}  // namespace fracsweep::metrics
