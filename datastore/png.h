// Writes 8-bit grayscale and RGB PNG files, for previews of generated data.
//
// The image is encoded in memory with libpng and written through
// core::write_file_atomic, so a reader never sees a half-written file.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace fracsweep::datastore {

// Writes `pixels` (width * height bytes, row-major, top row first) to `path` as a
// grayscale PNG. Throws core::ConfigError when width or height is not positive or
// the pixel count differs from width * height, and core::IoError naming the path
// when libpng or the file system fails. Thread-safe for distinct paths.
void write_png_gray(const std::string& path, int width, int height,
                    std::span<const uint8_t> pixels);

// The same for colour: `pixels` holds width * height * 3 bytes, R, G, B per pixel.
void write_png_rgb(const std::string& path, int width, int height,
                   std::span<const uint8_t> pixels);

}  // namespace fracsweep::datastore
