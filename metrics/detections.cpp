// See detections.h.
#include "metrics/detections.h"

#include <charconv>
#include <cmath>

#include "core/error.h"
#include "core/fs.h"
#include "metrics/csv_lines.h"

namespace fracsweep::metrics {
namespace {

using core::ConfigError;

double number(std::string_view field, const std::string& where, const char* column) {
  double value = 0;
  const auto r = std::from_chars(field.data(), field.data() + field.size(), value);
  CHECK_OR_THROW(ConfigError, r.ec == std::errc() && r.ptr == field.data() + field.size(), where,
                 ": column '", column, "' holds '", field, "', which is not a number");
  CHECK_OR_THROW(ConfigError, std::isfinite(value), where, ": column '", column, "' is ", field,
                 "; it must be finite");
  return value;
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
    const double x = number(fields[1], where, "x"), y = number(fields[2], where, "y");
    CHECK_OR_THROW(ConfigError, std::abs(x) < 1e9 && std::abs(y) < 1e9, where,
                   ": coordinates (", fields[1], ", ", fields[2], ") are out of range");
    d.detection = {static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)),
                   number(fields[3], where, "prob")};
    out.push_back(d);
  }
  return out;
}

std::vector<ImageDetection> read_detections(const std::string& path) {
  return parse_detections(core::read_file(path), path);
}

}  // namespace fracsweep::metrics
