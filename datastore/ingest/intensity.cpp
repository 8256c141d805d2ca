// See intensity.h.
#include "datastore/ingest/intensity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fracsweep::datastore::ingest {

void validate(const IntensityOptions& o) {
  CHECK_OR_THROW(core::ConfigError, o.mode == "percentile" || o.mode == "none",
                 "intensity = '", o.mode, "': use percentile or none");
  CHECK_OR_THROW(core::ConfigError, o.low >= 0 && o.low < o.high && o.high <= 100,
                 "percentiles ", o.low, ",", o.high, " must satisfy 0 <= low < high <= 100");
}

namespace {

// numpy.percentile's default ("linear"): position p/100 * (n - 1) between order statistics.
double percentile(std::vector<float>& v, double p) {
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(below), v.end());
  const double a = v[below];
  if (below + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(below) + 1, v.end());
  return a + (pos - static_cast<double>(below)) * (b - a);
}

}  // namespace

IntensityWindow intensity_window(std::span<const float> values, const IntensityOptions& o,
                                 const std::string& what) {
  validate(o);
  CHECK_OR_THROW(core::ConfigError, !values.empty(), what, ": the image has no voxels");
  for (float x : values)
    CHECK_OR_THROW(core::ConfigError, std::isfinite(x), what,
                   ": the image holds a value that is not a finite number");
  if (o.mode == "none") return {0, 255};
  std::vector<float> copy(values.begin(), values.end());
  IntensityWindow w{percentile(copy, o.low), percentile(copy, o.high)};
  CHECK_OR_THROW(core::ConfigError, w.high > w.low, what, ": the image is flat between the ",
                 o.low, "th and ", o.high, "th percentiles (all ", w.low,
                 "); check the file, or widen --percentiles");
  return w;
}

std::vector<uint8_t> to_bytes(std::span<const float> values, const IntensityWindow& w) {
  std::vector<uint8_t> out(values.size());
  const double scale = 255.0 / (w.high - w.low);
  for (size_t n = 0; n < values.size(); ++n) {
    const double x = std::round((values[n] - w.low) * scale);
    out[n] = static_cast<uint8_t>(std::clamp(x, 0.0, 255.0));
  }
  return out;
}

}  // namespace fracsweep::datastore::ingest
