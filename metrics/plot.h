// Line charts with bands, drawn by gnuplot, as SVG and PNG files.
//
// gnuplot (Debian's gnuplot-nox: the svg and pngcairo terminals) rather than
// drawing by hand: it is well kept, its output is what papers use, and a plot's
// data and script are kept next to the images so a figure can be restyled
// without recomputing anything.
#pragma once

#include <string>
#include <vector>

#include "metrics/curves.h"

namespace fracsweep::metrics {

struct PlotSeries {
  std::string label;  // legend text; any characters (escaped for gnuplot)
  Band band;          // the mean is drawn as a line, [low, high] as a shaded band
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  bool log_x = false;
  bool diagonal = false;  // a dashed y = x (chance line of a ROC)
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  bool autoscale_y = false;  // for losses: y range from the data
  std::vector<PlotSeries> series;
};

struct PlotFiles {
  std::string svg, png, data, script;
};

// Writes STEM.dat (the series), STEM.gp (the script), STEM.svg and STEM.png.
// Throws core::IoError when gnuplot cannot be run or fails (with what it said),
// core::ConfigError on a spec with no series or mismatched band sizes.
PlotFiles render_plot(const PlotSpec& spec, const std::string& stem);

// The gnuplot script for a spec and its data file; what render_plot runs for
// both terminals. Exposed for tests.
std::string plot_script(const PlotSpec& spec, const std::string& data_path,
                        const std::string& terminal, const std::string& output_path);

}  // namespace fracsweep::metrics
