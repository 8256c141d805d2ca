// Intensity normalisation of ingested images: scanner values (any range, after
// the file's rescale) to the store's 8 bits. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fracsweep::datastore::ingest {

struct IntensityOptions {
  // "percentile": the low and high percentiles of the whole series (or image)
  // map to 0 and 255, values beyond them are clipped, so a few bright voxels
  // (fat, contrast, a marker) do not compress the rest; per series, since MRI
  // intensities have no absolute scale. "none": values are rounded and clipped
  // to 0..255 as they are (for data already on that scale).
  std::string mode = "percentile";
  double low = 0.5, high = 99.5;
};

// Throws core::ConfigError naming the setting for an unknown mode or
// percentiles outside 0 <= low < high <= 100.
void validate(const IntensityOptions& options);

struct IntensityWindow {
  double low = 0, high = 255;
};

// The window `options` gives for these values (the percentiles by linear
// interpolation between order statistics, as numpy.percentile does). Throws
// core::ConfigError when the values are empty or the window is empty (a flat
// image), with `what` naming the image.
IntensityWindow intensity_window(std::span<const float> values, const IntensityOptions& options,
                                 const std::string& what);

// Maps values through the window to 0..255, rounding to nearest.
std::vector<uint8_t> to_bytes(std::span<const float> values, const IntensityWindow& window);

}  // namespace fracsweep::datastore::ingest
