// See preview.h. Pixels are composed into one buffer and handed to write_png_gray.
#include "datastore/preview.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "datastore/png.h"

namespace fracsweep::datastore {
namespace {

constexpr int kMaxTile = 96;  // largest shown side of one patch
constexpr int kGap = 8;       // between strips, rows and around the sheet
constexpr int kMarker = 14;   // left margin holding the class digit
constexpr uint8_t kBackground = 48, kBlank = 16, kSeparator = 0, kInk = 255;

// 3x5 glyphs of the digits 0, 1 and 2, one row per entry, bit 2 = left column.
constexpr std::array<std::array<uint8_t, 5>, 3> kDigits = {{
    {7, 5, 5, 5, 7},
    {2, 6, 2, 2, 7},
    {7, 1, 7, 4, 7},
}};

struct Canvas {
  int width, height;
  std::vector<uint8_t> pixels;
  void fill(int x, int y, int w, int h, uint8_t value) {
    for (int r = y; r < y + h; ++r)
      std::fill_n(pixels.begin() + static_cast<size_t>(r) * width + x, w, value);
  }
};

// Area-averages a size x size patch into tile x tile pixels at (x, y); each
// output pixel averages a whole-pixel box of the input.
void draw_patch(Canvas& canvas, int x, int y, int tile, const VertebraPatch& patch, int size) {
  for (int r = 0; r < tile; ++r) {
    const int r0 = r * size / tile, r1 = std::max(r0 + 1, (r + 1) * size / tile);
    for (int c = 0; c < tile; ++c) {
      const int c0 = c * size / tile, c1 = std::max(c0 + 1, (c + 1) * size / tile);
      int sum = 0;
      for (int i = r0; i < r1; ++i)
        for (int j = c0; j < c1; ++j) sum += patch.pixels[static_cast<size_t>(i) * size + j];
      const int count = (r1 - r0) * (c1 - c0);
      canvas.pixels[static_cast<size_t>(y + r) * canvas.width + x + c] =
          static_cast<uint8_t>((sum + count / 2) / count);
    }
  }
}

struct Example {
  const PhantomPatient* patient;
  int index;  // of the current patch in patient->patches
};

// The patches of class `label` in the patient's middle slice, those with both
// neighbours first (they show the comparison best).
struct Pool {
  std::vector<int> indices;
  size_t inner = 0;  // indices[0, inner) have both neighbours
};

Pool candidates(const PhantomPatient& p, int label) {
  int slices = 0;
  for (const VertebraPatch& v : p.patches) slices = std::max(slices, v.slice + 1);
  const int slice = slices / 2;
  std::vector<int> inner, ends;
  for (size_t i = 0; i < p.patches.size(); ++i) {
    const VertebraPatch& v = p.patches[i];
    if (v.slice != slice || v.label != label) continue;
    (v.prev >= 0 && v.next >= 0 ? inner : ends).push_back(static_cast<int>(i));
  }
  Pool pool{inner, inner.size()};
  pool.indices.insert(pool.indices.end(), ends.begin(), ends.end());
  return pool;
}

std::vector<Example> pick(std::span<const PhantomPatient> patients, int label, int per_class) {
  std::vector<Pool> pools;
  size_t deepest = 0;
  for (const PhantomPatient& p : patients) {
    pools.push_back(candidates(p, label));
    deepest = std::max(deepest, pools.back().indices.size());
  }
  std::vector<Example> out;
  for (size_t pass = 0; pass < deepest; ++pass) {
    for (size_t i = 0; i < patients.size(); ++i) {
      if (static_cast<int>(out.size()) == per_class) return out;
      const Pool& pool = pools[i];
      if (pass >= pool.indices.size()) continue;
      // Rotate the start by patient so normal examples come from varied levels.
      const size_t k = pass < pool.inner ? (i * 3 + pass) % pool.inner : pass;
      out.push_back({&patients[i], pool.indices[k]});
    }
  }
  return out;
}

}  // namespace

void write_vcf_contact_sheet(const std::string& path, std::span<const PhantomPatient> patients,
                             int per_class) {
  CHECK_OR_THROW(core::ConfigError, !patients.empty(), path,
                 ": a contact sheet needs at least one patient");
  CHECK_OR_THROW(core::ConfigError, per_class >= 1, path, ": per_class must be >= 1, got ",
                 per_class);
  int size = 0;
  for (const PhantomPatient& p : patients) {
    for (const VertebraPatch& v : p.patches) {
      const int side =
          static_cast<int>(std::lround(std::sqrt(static_cast<double>(v.pixels.size()))));
      CHECK_OR_THROW(
          core::ConfigError, side > 0 && static_cast<size_t>(side) * side == v.pixels.size(), path,
          ": patient ", p.id, " has a patch of ", v.pixels.size(), " pixels, which is not square");
      if (size == 0) size = side;
      CHECK_OR_THROW(core::ConfigError, side == size, path, ": patient ", p.id, " has ", side,
                     "-pixel patches, earlier patients ", size);
      const int count = static_cast<int>(p.patches.size());
      CHECK_OR_THROW(core::ConfigError,
                     v.prev >= -1 && v.prev < count && v.next >= -1 && v.next < count, path,
                     ": patient ", p.id, " has a patch whose neighbours (", v.prev, ", ", v.next,
                     ") are outside its ", count, " patches");
    }
  }
  CHECK_OR_THROW(core::ConfigError, size > 0, path, ": the patients hold no patches");

  const int tile = std::min(kMaxTile, size);
  const int strip = 3 * tile + 2;   // prev | current | next with 1-pixel separators
  const int row_height = tile + 3;  // the bar under the current patch
  Canvas canvas;
  canvas.width = kGap + kMarker + per_class * (strip + kGap);
  canvas.height = kGap + 3 * (row_height + kGap);
  canvas.pixels.assign(static_cast<size_t>(canvas.width) * canvas.height, kBackground);
  for (int label = 0; label < 3; ++label) {
    const int y = kGap + label * (row_height + kGap);
    // The class digit, each glyph cell 2x2 pixels, centred on the row.
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 3; ++c)
        if (kDigits[label][r] & (4 >> c))
          canvas.fill(kGap + 2 * c, y + tile / 2 - 5 + 2 * r, 2, 2, kInk);
    const std::vector<Example> examples = pick(patients, label, per_class);
    for (size_t e = 0; e < examples.size(); ++e) {
      const int x = kGap + kMarker + static_cast<int>(e) * (strip + kGap);
      const auto& patches = examples[e].patient->patches;
      const VertebraPatch& current = patches[examples[e].index];
      const std::array<int, 3> shown = {current.prev, examples[e].index, current.next};
      canvas.fill(x, y, strip, tile, kSeparator);
      for (int k = 0; k < 3; ++k) {
        const int tx = x + k * (tile + 1);
        if (shown[k] < 0) {
          canvas.fill(tx, y, tile, tile, kBlank);
        } else {
          draw_patch(canvas, tx, y, tile, patches[shown[k]], size);
        }
      }
      canvas.fill(x + tile + 1, y + tile + 1, tile, 2, kInk);
    }
  }
  write_png_gray(path, canvas.width, canvas.height, canvas.pixels);
}

}  // namespace fracsweep::datastore
