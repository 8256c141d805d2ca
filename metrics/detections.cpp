// See detections.h.
#include "metrics/detections.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/csv_lines.h"

namespace fracsweep::metrics {
namespace {

using core::ConfigError;

double number(std::string_view field, const std::string& where, const char* column) {
  double value = 0;
  const auto r = std::from_chars(field.data(), field.data() + field.size(), value);
  CHECK_OR_THROW(ConfigError,
                 (r.ec == std::errc() || r.ec == std::errc::result_out_of_range) &&
                     r.ptr == field.data() + field.size(),
                 where, ": column '", column, "' holds '", field, "', which is not a number");
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars stores nothing for text beyond a double's range, in either
    // direction; strtod (this program keeps the "C" locale) gives what Python's
    // float() and numpy give: 0 for 1e-400, inf for 1e400, refused below.
    value = std::strtod(std::string(field).c_str(), nullptr);
  }
  CHECK_OR_THROW(ConfigError, std::isfinite(value), where, ": column '", column, "' holds ",
                 field, "; it must be a finite number",
                 std::string_view(column) == "prob"
                     ? " (a score may be any real value, higher meaning more confident: "
                       "rescore or drop this detection)"
                     : "");
  return value;
}

// A pixel index as MONAI's compute_fp_tp_probs takes it: the coordinate
// truncated towards zero. Negative coordinates are refused: MONAI would read
// (-1, 0) as pixel 0 and wrap lower values around to the far edge of the mask.
int pixel(std::string_view field, const std::string& where, const char* column) {
  const double v = number(field, where, column);
  CHECK_OR_THROW(ConfigError, v >= 0 && v < 1e9, where, ": column '", column, "' is ", field,
                 "; a pixel coordinate is >= 0 (0 is the first ",
                 column[0] == 'x' ? "column" : "row", ") and below the image's ",
                 column[0] == 'x' ? "width" : "height");
  return static_cast<int>(v);
}

}  // namespace

std::vector<ImageDetection> parse_detections(std::string_view text, const std::string& source) {
  csv::LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> fields;
  CHECK_OR_THROW(ConfigError, lines.next(line), source,
                 ": is empty; expected a header 'image,x,y,prob'");
  csv::split_fields(line, fields);
  CHECK_OR_THROW(ConfigError,
                 fields.size() == 4 && fields[0] == "image" && fields[1] == "x" &&
                     fields[2] == "y" && fields[3] == "prob",
                 source, ":1: header is '", line, "'; expected 'image,x,y,prob'");
  std::vector<ImageDetection> out;
  while (lines.next(line)) {
    if (csv::trim(line).empty()) continue;
    const std::string where = core::str_cat(source, ":", lines.line_number());
    csv::split_fields(line, fields);
    CHECK_OR_THROW(ConfigError, fields.size() == 4, where, ": has ", fields.size(),
                   " fields; expected 4 (image,x,y,prob)");
    ImageDetection d;
    const double image = number(fields[0], where, "image");
    CHECK_OR_THROW(ConfigError, image >= 0 && image == std::floor(image) && image < 2e9, where,
                   ": image ", fields[0], " is not a 0-based image index");
    d.image = static_cast<int>(image);
    d.detection = {pixel(fields[1], where, "x"), pixel(fields[2], where, "y"),
                   number(fields[3], where, "prob")};
    out.push_back(d);
  }
  return out;
}

std::vector<ImageDetection> read_detections(const std::string& path) {
  return parse_detections(core::read_file(path), path);
}

void attach_detections(std::span<const ImageDetection> detections,
                       std::vector<LesionImage>& images, const std::string& source,
                       const std::string& masks_source) {
  for (size_t k = 0; k < detections.size(); ++k) {
    const ImageDetection& d = detections[k];
    CHECK_OR_THROW(ConfigError, static_cast<size_t>(d.image) < images.size(), source,
                   ": detection ", k + 1, " names image ", d.image, " but ", masks_source,
                   " has ", images.size(), " images (0..", images.size() - 1, ")");
    LesionImage& im = images[static_cast<size_t>(d.image)];
    CHECK_OR_THROW(ConfigError,
                   d.detection.x >= 0 && d.detection.x < im.width && d.detection.y >= 0 &&
                       d.detection.y < im.height,
                   source, ": detection ", k + 1, " at (", d.detection.x, ", ", d.detection.y,
                   ") lies outside its ", im.width, "x", im.height, " image");
    im.detections.push_back(d.detection);
  }
}

}  // namespace fracsweep::metrics
