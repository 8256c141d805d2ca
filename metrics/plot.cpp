// See plot.h. The data file holds one gnuplot data block per series (x, mean,
// low, high), separated by two blank lines so the script addresses them with
// `index`. The script names the data and output by bare file name and gnuplot
// is started in the stem's folder, so a copied or moved results folder can
// still be redrawn there with `gnuplot STEM.gp`.
#include "metrics/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "core/error.h"
#include "core/fs.h"
#include "core/process.h"

namespace fracsweep::metrics {
namespace {

namespace fs = std::filesystem;
using core::ConfigError;
using core::IoError;

// Okabe and Ito's palette, which the common colour-vision deficiencies keep
// apart (its yellow left out: too pale on white), darkest first; and a dash
// pattern per series as well, so that curves stay apart in greyscale print.
// Seven colours and five dashes give 35 series a pair of their own.
constexpr std::array<const char*, 7> kColours = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                 "#000000", "#E69F00", "#56B4E9"};
constexpr std::array<const char*, 5> kDashes = {"solid", "(12,6)", "(3,5)", "(14,5,3,5)",
                                                "(6,4,2,4,2,4)"};

// Control characters (a newline would end the gnuplot command) become spaces.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

// A gnuplot single-quoted string: no backslash escapes there, only '' for '.
std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : one_line(s)) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

// Shortest text that reads back as the same double; gnuplot skips NaN points.
std::string number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "NaN"; }

void check_spec(const PlotSpec& spec) {
  CHECK_OR_THROW(ConfigError, !spec.series.empty(), "plot '", spec.title,
                 "': no series to draw; give at least one");
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const Band& b = spec.series[i].band;
    CHECK_OR_THROW(ConfigError,
                   !b.x.empty() && b.mean.size() == b.x.size() && b.low.size() == b.x.size() &&
                       b.high.size() == b.x.size(),
                   "plot '", spec.title, "': series ", i, " ('", spec.series[i].label,
                   "') has ", b.x.size(), " x, ", b.mean.size(), " mean, ", b.low.size(),
                   " low and ", b.high.size(), " high values; need the same number, at least one");
  }
  CHECK_OR_THROW(ConfigError, std::isfinite(spec.xmin) && std::isfinite(spec.xmax) &&
                                  spec.xmin < spec.xmax,
                 "plot '", spec.title, "': x range [", spec.xmin, ", ", spec.xmax,
                 "] must be finite with xmin < xmax");
  CHECK_OR_THROW(ConfigError, !spec.log_x || spec.xmin > 0, "plot '", spec.title,
                 "': a log x axis needs xmin > 0, got ", spec.xmin);
  CHECK_OR_THROW(ConfigError, spec.autoscale_y || (std::isfinite(spec.ymin) &&
                                                   std::isfinite(spec.ymax) &&
                                                   spec.ymin < spec.ymax),
                 "plot '", spec.title, "': y range [", spec.ymin, ", ", spec.ymax,
                 "] must be finite with ymin < ymax (or set autoscale_y)");
}

std::string terminal_command(const std::string& terminal) {
  CHECK_OR_THROW(ConfigError,
                 !terminal.empty() && std::all_of(terminal.begin(), terminal.end(),
                                                  [](char c) {
                                                    return (c >= 'a' && c <= 'z') ||
                                                           (c >= '0' && c <= '9') || c == '_';
                                                  }),
                 "plot: '", terminal, "' is not a gnuplot terminal name (e.g. svg, pngcairo)");
  // Enhanced text stays on for tic labels (10^{-3} on a log axis); every text
  // from the spec is marked noenhanced where it is set.
  // 680 px wide at 14 pt reads as about 7-8 pt in a paper's column (3.4 in).
  if (terminal == "svg")
    return "set terminal svg size 680,560 dynamic enhanced font 'Helvetica,14' "
           "background rgb 'white'";
  if (terminal == "pngcairo")
    return "set terminal pngcairo size 680,560 enhanced font 'Sans,14' background rgb 'white'";
  return "set terminal " + terminal;
}

std::string data_text(const PlotSpec& spec) {
  std::string out = "# One block per series, in the order of the plot; columns: x mean low high\n";
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const PlotSeries& s = spec.series[i];
    if (i > 0) out += "\n\n";  // two blank lines end a block: gnuplot's `index`
    out += fmt::format("# index {}: {} (n = {})\n", i, one_line(s.label), s.band.n);
    for (size_t k = 0; k < s.band.x.size(); ++k) {
      out += fmt::format("{} {} {} {}\n", number(s.band.x[k]), number(s.band.mean[k]),
                         number(s.band.low[k]), number(s.band.high[k]));
    }
  }
  return out;
}

void remove_if_present(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  CHECK_OR_THROW(IoError, !ec, "plot: cannot remove the old '", path, "': ", ec.message());
}

// Runs `gnuplot -e "cd DIR" SCRIPT` and checks that `output` came out.
void run_gnuplot(const fs::path& dir, const std::string& script, const std::string& output) {
  core::ProcessResult r;
  try {
    r = core::run_process({"gnuplot", "-e", "cd " + quote(dir.string()), script});
  } catch (const IoError& e) {
    throw IoError(core::str_cat("plot '", output, "': ", e.what(),
                                "; install gnuplot (Debian: apt-get install gnuplot-nox)"));
  }
  CHECK_OR_THROW(IoError, r.exit_code == 0, "plot '", output, "': gnuplot ", script,
                 " failed with exit code ", r.exit_code, ": ", r.err);
  std::error_code ec;
  const auto size = fs::file_size(output, ec);
  CHECK_OR_THROW(IoError, !ec && size > 0, "plot '", output, "': gnuplot ", script,
                 " exited cleanly but wrote no image; it said: ", r.err);
}

}  // namespace

std::string plot_script(const PlotSpec& spec, const std::string& data_path,
                        const std::string& terminal, const std::string& output_path) {
  check_spec(spec);
  std::string s;
  s += fmt::format("# {}\n", one_line(spec.title.empty() ? "fracsweep plot" : spec.title));
  s += "# Relative paths are taken from where gnuplot runs: run `gnuplot` on this file\n"
       "# from its folder. Data: one block per series (`index`), columns x mean low high.\n";
  s += "set encoding utf8\n";
  s += terminal_command(terminal) + "\n";
  s += "set output " + quote(output_path) + "\n";
  if (!spec.title.empty()) s += "set title " + quote(spec.title) + " noenhanced\n";
  if (!spec.xlabel.empty()) s += "set xlabel " + quote(spec.xlabel) + " noenhanced\n";
  if (!spec.ylabel.empty()) s += "set ylabel " + quote(spec.ylabel) + " noenhanced\n";
  if (spec.log_x) s += "set logscale x 10\nset format x '10^{%L}'\n";
  s += fmt::format("set xrange [{}:{}]\n", number(spec.xmin), number(spec.xmax));
  if (spec.autoscale_y) s += "set autoscale y\n";
  else s += fmt::format("set yrange [{}:{}]\n", number(spec.ymin), number(spec.ymax));
  s += "set grid lt 1 lw 1 lc rgb '#d8d8d8'\n";
  // Below the plot area, never over the curves or their bands; two columns.
  s += fmt::format(
      "set key outside below center horizontal maxrows {} reverse Left samplen 2 width -1 "
      "font ',12' noenhanced\n",
      std::max<size_t>(1, (spec.series.size() + 1) / 2));
  s += "set style fill transparent solid 0.2 noborder\n";
  s += "plot \\\n";
  const std::string data = quote(data_path);
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const char* colour = kColours[i % kColours.size()];
    const char* dash = kDashes[i % kDashes.size()];
    if (i > 0) s += ", \\\n";
    // The band first so its line is drawn over it; only lines get a legend entry.
    s += fmt::format("  {} index {} using 1:3:4 with filledcurves lc rgb '{}' notitle, \\\n",
                     data, i, colour);
    s += fmt::format(
        "  {} index {} using 1:2 with lines lw 2.5 lc rgb '{}' dt {} title {} noenhanced", data,
        i, colour, dash, quote(spec.series[i].label));
  }
  if (spec.diagonal) s += ", \\\n  x with lines dt 2 lw 1 lc rgb '#808080' notitle";
  s += "\nset output\n";
  return s;
}

PlotFiles render_plot(const PlotSpec& spec, const std::string& stem) {
  check_spec(spec);
  const fs::path stem_path(stem);
  const std::string name = stem_path.filename().string();
  CHECK_OR_THROW(ConfigError, !name.empty() && name != "." && name != "..", "plot '",
                 spec.title, "': output stem '", stem,
                 "' names a folder; give a path and a file name without extension");
  std::error_code ec;
  const fs::path dir = fs::absolute(stem_path, ec).parent_path();
  CHECK_OR_THROW(IoError, !ec, "plot: cannot resolve '", stem, "': ", ec.message());
  fs::create_directories(dir, ec);
  CHECK_OR_THROW(IoError, !ec, "plot: cannot create the folder '", dir.string(),
                 "': ", ec.message());

  const std::string data = (dir / (name + ".dat")).string();
  const std::string script = (dir / (name + ".gp")).string();
  const std::string svg = (dir / (name + ".svg")).string();
  const std::string png = (dir / (name + ".png")).string();
  // A failed run must not leave last time's images looking current.
  remove_if_present(svg);
  remove_if_present(png);

  core::write_file_atomic(data, data_text(spec));
  core::write_file_atomic(script, plot_script(spec, name + ".dat", "svg", name + ".svg"));
  run_gnuplot(dir, script, svg);

  // The PNG script differs only in its terminal and output; it lives just for
  // this run, so STEM.gp stays the one script to edit.
  const std::string png_script = (dir / (name + ".png.gp")).string();
  core::write_file_atomic(png_script,
                          plot_script(spec, name + ".dat", "pngcairo", name + ".png"));
  try {
    run_gnuplot(dir, png_script, png);
  } catch (...) {
    fs::remove(png_script, ec);  // best effort: the error being thrown matters more
    throw;
  }
  remove_if_present(png_script);
  return {.svg = stem + ".svg", .png = stem + ".png", .data = stem + ".dat",
          .script = stem + ".gp"};
}

}  // namespace fracsweep::metrics
