// See png.h. libpng reports errors by longjmp to a setjmp point; jumping over
// C++ objects with destructors is undefined, so the only code between setjmp and
// the libpng calls (encode_rows) holds plain data, and the handles and the output
// buffer live in the caller, which turns a failure into core::IoError.
#include "datastore/png.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <new>
#include <string>

#include "core/error.h"
#include "core/fs.h"

namespace fracsweep::datastore {
namespace {

// What libpng's callbacks share with us: the output and the first error message.
struct Sink {
  std::string* out = nullptr;
  char message[256] = {};
};

void on_error(png_structp png, png_const_charp message) {
  auto* sink = static_cast<Sink*>(png_get_error_ptr(png));
  if (sink->message[0] == '\0') std::snprintf(sink->message, sizeof sink->message, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {
  // Warnings (e.g. about ancillary chunks) do not affect the pixels we write.
}

void on_write(png_structp png, png_bytep data, png_size_t length) {
  auto* sink = static_cast<Sink*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    sink->out->append(reinterpret_cast<const char*>(data), length);
  } catch (const std::bad_alloc&) {
    failed = true;  // an exception must not cross libpng's C frames
  }
  if (failed) png_error(png, "out of memory while encoding");
}

void on_flush(png_structp) {}

// Owns one png_struct and its png_info; destroys both on every path.
class PngWriter {
 public:
  // Errors and warnings go to on_error / on_warning with `sink` as their pointer.
  explicit PngWriter(Sink* sink) {
    png_ = png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, on_error, on_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
  }
  PngWriter(const PngWriter&) = delete;
  PngWriter& operator=(const PngWriter&) = delete;
  ~PngWriter() {
    if (png_ != nullptr) png_destroy_write_struct(&png_, info_ != nullptr ? &info_ : nullptr);
  }
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// Encodes the image; returns false after a libpng error (message in the sink).
// Only trivially destructible objects live here: see the note at the top.
bool encode_rows(png_structp png, png_infop info, Sink* sink, int width, int height,
                 int channels, const uint8_t* pixels) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, sink, on_write, on_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int row = 0; row < height; ++row) {
    png_write_row(png, pixels + static_cast<size_t>(row) * width * channels);
  }
  png_write_end(png, info);
  return true;
}

}  // namespace

namespace {

void write_png(const std::string& path, int width, int height, int channels,
               std::span<const uint8_t> pixels) {
  CHECK_OR_THROW(core::ConfigError, width > 0 && height > 0, path, ": cannot write a PNG of ",
                 width, " x ", height, " pixels");
  CHECK_OR_THROW(core::ConfigError,
                 pixels.size() == static_cast<size_t>(width) * static_cast<size_t>(height) * channels,
                 path, ": ", pixels.size(), " bytes given for a ", width, " x ", height, " PNG of ",
                 channels, " channel(s)");
  std::string encoded;
  Sink sink;
  sink.out = &encoded;
  PngWriter writer(&sink);
  CHECK_OR_THROW(core::IoError, writer.png() != nullptr && writer.info() != nullptr, path,
                 ": cannot create a libpng writer (out of memory?)");
  const bool ok =
      encode_rows(writer.png(), writer.info(), &sink, width, height, channels, pixels.data());
  CHECK_OR_THROW(core::IoError, ok, path, ": PNG encoding failed: ", sink.message);
  core::write_file_atomic(path, encoded);
}

}  // namespace

void write_png_gray(const std::string& path, int width, int height,
                    std::span<const uint8_t> pixels) {
  write_png(path, width, height, 1, pixels);
}

void write_png_rgb(const std::string& path, int width, int height,
                   std::span<const uint8_t> pixels) {
  write_png(path, width, height, 3, pixels);
}

}  // namespace fracsweep::datastore
