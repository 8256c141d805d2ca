#include "metrics/plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "core/process.h"
#include "test_util.h"

namespace fracsweep::metrics {
namespace {

namespace fs = std::filesystem;

Band line_band(double slope, double spread) {
  Band b;
  b.n = 3;
  for (int i = 0; i <= 10; ++i) {
    const double x = i / 10.0;
    b.x.push_back(x);
    b.mean.push_back(slope * x);
    b.low.push_back(std::max(0.0, slope * x - spread));
    b.high.push_back(std::min(1.0, slope * x + spread));
  }
  return b;
}

PlotSpec roc_spec() {
  PlotSpec spec;
  spec.title = "ROC of it's_a & b";
  spec.xlabel = "false positive rate";
  spec.ylabel = "true positive rate";
  spec.diagonal = true;
  spec.series.push_back({"TSCCN_{fold} it's \"q\" & <b> ^2 @x", line_band(0.9, 0.05)});
  spec.series.push_back({"AASN", line_band(0.6, 0.1)});
  return spec;
}

bool has_gnuplot() {
  try {
    return core::run_process({"gnuplot", "--version"}).exit_code == 0;
  } catch (const core::IoError&) {
    return false;
  }
}

// Sets an environment variable for one scope and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Changes the working directory for one scope.
class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() {
    std::error_code ignored;  // nothing useful to do if the old folder vanished
    fs::current_path(old_, ignored);
  }

 private:
  fs::path old_;
};

TEST(PlotScript, QuotesLabelsAndKeepsThemPlain) {
  const std::string s = plot_script(roc_spec(), "roc.dat", "svg", "roc.svg");
  EXPECT_HAS(s, "set terminal svg size 680,560");
  EXPECT_HAS(s, "set output 'roc.svg'");
  EXPECT_HAS(s, "set title 'ROC of it''s_a & b' noenhanced");
  EXPECT_HAS(s, "title 'TSCCN_{fold} it''s \"q\" & <b> ^2 @x' noenhanced");
  EXPECT_HAS(s, "'roc.dat' index 1 using 1:3:4 with filledcurves");
  EXPECT_HAS(s, "'roc.dat' index 1 using 1:2 with lines");
  EXPECT_HAS(s, "fill transparent solid 0.2");
  EXPECT_HAS(s, "x with lines dt 2");
  EXPECT_EQ(s.find("logscale"), std::string::npos);
  // Bands carry no legend entry: two `notitle` bands plus the diagonal.
  size_t notitles = 0;
  for (size_t at = s.find("notitle"); at != std::string::npos; at = s.find("notitle", at + 1))
    ++notitles;
  EXPECT_EQ(notitles, 3u);
}

// A reviewer reads the figures printed in grey, or with a colour-vision
// deficiency: every series has a colour and a dash pattern of its own, and
// the legend sits below the plot area, never over the data.
TEST(PlotScript, LegendBelowThePlotAndEverySeriesItsOwnColourAndDash) {
  PlotSpec spec = roc_spec();
  for (int i = 0; i < 10; ++i)
    spec.series.push_back({"variant " + std::to_string(i), line_band(0.5 + 0.04 * i, 0.02)});
  const std::string s = plot_script(spec, "roc.dat", "pngcairo", "roc.png");
  EXPECT_HAS(s, "set key outside below");
  EXPECT_EQ(s.find("opaque"), std::string::npos);
  std::set<std::string> styles;
  size_t lines = 0;
  for (size_t at = s.find("with lines lw"); at != std::string::npos;
       at = s.find("with lines lw", at + 1)) {
    const size_t lc = s.find("lc rgb", at), title = s.find(" title ", at);
    ASSERT_NE(title, std::string::npos);
    styles.insert(s.substr(lc, title - lc));  // "lc rgb '#...' dt ..."
    EXPECT_NE(s.substr(lc, title - lc).find(" dt "), std::string::npos);
    ++lines;
  }
  EXPECT_EQ(lines, spec.series.size());
  EXPECT_EQ(styles.size(), spec.series.size());
  EXPECT_EQ(s.find("#F0E442"), std::string::npos);  // Okabe-Ito's yellow: too pale on white
}

TEST(PlotScript, NewlinesInLabelsCannotEndACommand) {
  PlotSpec spec = roc_spec();
  spec.series[1].label = "two\nlines'\nset output '/etc/x'";
  const std::string s = plot_script(spec, "d.dat", "pngcairo", "d.png");
  EXPECT_HAS(s, "title 'two lines'' set output ''/etc/x''' noenhanced");
  EXPECT_HAS(s, "set terminal pngcairo size 680,560");
}

TEST(PlotScript, LogAxisAndAutoscale) {
  PlotSpec spec = roc_spec();
  spec.log_x = true;
  spec.xmin = 1e-4;
  spec.autoscale_y = true;
  spec.diagonal = false;
  const std::string s = plot_script(spec, "d.dat", "svg", "d.svg");
  EXPECT_HAS(s, "set logscale x");
  EXPECT_HAS(s, "set xrange [0.0001:1]");
  EXPECT_HAS(s, "set autoscale y");
  EXPECT_EQ(s.find("yrange"), std::string::npos);
}

TEST(PlotScript, RejectsBadSpecs) {
  PlotSpec empty;
  EXPECT_THROW(plot_script(empty, "d.dat", "svg", "d.svg"), core::ConfigError);
  PlotSpec spec = roc_spec();
  spec.series[0].band.low.pop_back();
  EXPECT_THROW(plot_script(spec, "d.dat", "svg", "d.svg"), core::ConfigError);
  EXPECT_THROW(render_plot(spec, "unused"), core::ConfigError);
  spec = roc_spec();
  spec.log_x = true;  // xmin is 0
  EXPECT_THROW(plot_script(spec, "d.dat", "svg", "d.svg"), core::ConfigError);
  EXPECT_THROW(plot_script(roc_spec(), "d.dat", "svg; system 'x'", "d.svg"),
               core::ConfigError);
}

TEST(PlotRender, WritesSvgPngDataAndScript) {
  if (!has_gnuplot()) GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox)";
  testing::TempDir tmp;
  const std::string stem = (tmp.path() / "figures" / "roc" / "roc_fold").string();
  const PlotFiles files = render_plot(roc_spec(), stem);
  EXPECT_EQ(files.svg, stem + ".svg");
  EXPECT_EQ(files.png, stem + ".png");
  EXPECT_EQ(files.data, stem + ".dat");
  EXPECT_EQ(files.script, stem + ".gp");

  const std::string svg = core::read_file(files.svg);
  EXPECT_HAS(svg, "<svg");
  EXPECT_HAS(svg, "TSCCN_{fold} it's \"q\" &amp; &lt;b> ^2 @x");
  EXPECT_HAS(svg, "AASN");
  EXPECT_HAS(svg, "ROC of it's_a &amp; b");

  const std::string png = core::read_file(files.png);
  ASSERT_GT(png.size(), 1024u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  const std::string dat = core::read_file(files.data);
  EXPECT_HAS(dat, "\n\n\n# index 1: AASN (n = 3)\n");  // two blank lines between blocks
  EXPECT_FALSE(fs::exists(stem + ".png.gp"));  // the PNG script is temporary

  // The kept script redraws the SVG by hand, from its folder.
  fs::remove(files.svg);
  {
    ScopedCwd cwd(fs::path(stem).parent_path());
    const core::ProcessResult r = core::run_process({"gnuplot", "roc_fold.gp"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_HAS(core::read_file(files.svg), "AASN");
}

TEST(PlotRender, LogAxisAndAutoscaledLossPlots) {
  if (!has_gnuplot()) GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox)";
  testing::TempDir tmp;
  PlotSpec froc;
  froc.title = "FROC";
  froc.log_x = true;
  froc.xmin = 1e-4;
  Band b;
  b.n = 1;
  for (int i = 0; i <= 8; ++i) {
    b.x.push_back(std::pow(10.0, -4 + i * 0.5));
    b.mean.push_back(i / 8.0);
    b.low.push_back(i / 8.0);
    b.high.push_back(i / 8.0);
  }
  froc.series.push_back({"recall", b});
  const PlotFiles f = render_plot(froc, (tmp.path() / "froc").string());
  EXPECT_HAS(core::read_file(f.svg), "<svg");

  PlotSpec loss;
  loss.title = "training loss";
  loss.autoscale_y = true;
  loss.xmin = 1;
  loss.xmax = 3;
  loss.series.push_back({"loss", Band{{1, 2, 3}, {2.5, 1.5, 1.2}, {2, 1, 1}, {3, 2, 1.4}, 2}});
  const PlotFiles g = render_plot(loss, (tmp.path() / "loss").string());
  EXPECT_GT(fs::file_size(g.png), 1024u);
}

TEST(PlotRender, MissingGnuplotIsAClearError) {
  testing::TempDir tmp;  // an empty folder as the whole PATH
  ScopedEnv path("PATH", tmp.path().string());
  try {
    render_plot(roc_spec(), (tmp.path() / "roc").string());
    FAIL() << "expected core::IoError";
  } catch (const core::IoError& e) {
    const std::string what = e.what();
    EXPECT_HAS(what, "gnuplot");
    EXPECT_HAS(what, "install");
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "roc.svg"));
}

}  // namespace
}  // namespace fracsweep::metrics
