// Point detections for the classic FROC: what `fracsweep metrics DETECTIONS.csv
// --lesions MASKS.h5` reads.
//
//   image,x,y,prob
//   0,120,88,0.93
//
// One header line, then one detection per row: `image` is the 0-based index of
// the image in the lesion-mask file, x the column and y the row in pixels, each
// >= 0 (decimals are truncated, as MONAI's compute_fp_tp_probs does: x in
// [c, c + 1) is column c), prob the detection's score: any finite number, higher
// is more confident; probabilities, logits and other scores are all scored as
// MONAI scores them (see Note [Classic FROC as MONAI computes it] in froc.h).
// NaN and infinite scores are refused: they have no place in an order of
// confidence. Comma-separated, no quoting.
#pragma once

#include <span>
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

// Adds each detection to the image it names. Throws core::ConfigError naming
// `source` (the detections) and the detection's 1-based number when it names an
// image that `images` (read from `masks_source`) lacks or lies outside its image.
void attach_detections(std::span<const ImageDetection> detections,
                       std::vector<LesionImage>& images, const std::string& source,
                       const std::string& masks_source);

}  // namespace fracsweep::metrics
