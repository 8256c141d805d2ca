// Point detections for the classic FROC: what `fracsweep metrics DETECTIONS.csv
// --lesions MASKS.h5` reads.
//
//   image,x,y,prob
//   0,120,88,0.93
//
// One header line, then one detection per row: `image` is the 0-based index of
// the image in the lesion-mask file, x the column and y the row in pixels
// (decimals are rounded to the nearest pixel), prob the detection's score (any
// finite number; higher is more confident). Comma-separated, no quoting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metrics/froc.h"

namespace fracsweep::metrics {

struct ImageDetection {
  int image = 0;
  Detection detection;
};

// Throws core::ConfigError with "SOURCE:LINE: what was wrong" on the first bad
// row, a wrong header, or a file without rows.
std::vector<ImageDetection> parse_detections(std::string_view text, const std::string& source);
std::vector<ImageDetection> read_detections(const std::string& path);

}  // namespace fracsweep::metrics
