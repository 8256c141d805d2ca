// See preview.h (write_pelvis_contact_sheet).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "datastore/pelvis_geometry.h"
#include "datastore/png.h"
#include "datastore/preview.h"

namespace fracsweep::datastore {
namespace {

struct Rgb {
  uint8_t r, g, b;
};

constexpr Rgb kLeft{230, 60, 50}, kRight{60, 120, 240}, kMid{60, 200, 80}, kAxis{240, 220, 40},
    kPoint{230, 60, 230};

// An RGB canvas with the few drawing operations the sheet needs.
class Sheet {
 public:
  Sheet(int width, int height) : w_(width), h_(height), px_(3 * static_cast<size_t>(width) * height, 24) {}
  int width() const { return w_; }
  int height() const { return h_; }
  const std::vector<uint8_t>& pixels() const { return px_; }

  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    uint8_t* p = &px_[3 * (static_cast<size_t>(y) * w_ + x)];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  void gray(int x0, int y0, int width, std::span<const uint8_t> image) {
    const int height = static_cast<int>(image.size()) / width;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const uint8_t v = image[static_cast<size_t>(y) * width + x];
        set(x0 + x, y0 + y, {v, v, v});
      }
  }
  void dot(double x, double y, int r, Rgb c) {
    for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx)
        if (dx * dx + dy * dy <= r * r)
          set(static_cast<int>(std::lround(x)) + dx, static_cast<int>(std::lround(y)) + dy, c);
  }
  void circle(double x, double y, double r, Rgb c, int x0, int y0, int x1, int y1) {
    const int steps = std::max(16, static_cast<int>(r * 8));
    for (int k = 0; k < steps; ++k) {
      const double t = 2 * 3.14159265358979323846 * k / steps;
      const int px = static_cast<int>(std::lround(x + r * std::cos(t)));
      const int py = static_cast<int>(std::lround(y + r * std::sin(t)));
      if (px >= x0 && px < x1 && py >= y0 && py < y1) {
        set(px, py, c);
        set(px + 1, py, c);
      }
    }
  }
  // The line through p along d, clipped to the panel [x0, x1) x [y0, y1).
  void line(Point2 p, Point2 d, Rgb c, int x0, int y0, int x1, int y1) {
    const double reach = std::hypot(x1 - x0, y1 - y0);
    for (double t = -reach; t <= reach; t += 0.5) {
      const int x = static_cast<int>(std::lround(p.x + t * d.x));
      const int y = static_cast<int>(std::lround(p.y + t * d.y));
      if (x >= x0 && x < x1 && y >= y0 && y < y1) set(x, y, c);
    }
  }
  // Box-averages by an integer factor.
  Sheet shrink(int f) const {
    Sheet out(w_ / f, h_ / f);
    for (int y = 0; y < out.h_; ++y)
      for (int x = 0; x < out.w_; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          int sum = 0;
          for (int dy = 0; dy < f; ++dy)
            for (int dx = 0; dx < f; ++dx)
              sum += px_[3 * (static_cast<size_t>(y * f + dy) * w_ + x * f + dx) + ch];
          out.px_[3 * (static_cast<size_t>(y) * out.w_ + x) + ch] = static_cast<uint8_t>(sum / (f * f));
        }
    return out;
  }

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

Rgb landmark_colour(int k) { return k < kPelvisPairs ? kLeft : (k < 2 * kPelvisPairs ? kRight : kMid); }

void draw_landmarks(Sheet& s, int x0, int y0, const PelvisView& v) {
  for (int k = 0; k < kPelvisLandmarks; ++k)
    s.dot(x0 + v.landmarks[k].x, y0 + v.landmarks[k].y, 3, landmark_colour(k));
}

}  // namespace

void write_pelvis_contact_sheet(const std::string& path, std::span<const PelvisPreviewItem> items,
                                double mask_radius) {
  CHECK_OR_THROW(core::ConfigError, !items.empty(), path, ": no images for the preview");
  const int h = items[0].view->height, w = items[0].view->width;
  constexpr int kGap = 8, kPanels = 4;
  Sheet sheet(kPanels * w + (kPanels + 1) * kGap, static_cast<int>(items.size()) * (h + kGap) + kGap);
  for (size_t r = 0; r < items.size(); ++r) {
    const PelvisView& v = *items[r].view;
    CHECK_OR_THROW(core::ConfigError, v.height == h && v.width == w, path, ": image '",
                   items[r].id, "' is ", v.height, "x", v.width, ", the first is ", h, "x", w);
    const int y0 = kGap + static_cast<int>(r) * (h + kGap);
    const auto x_of = [&](int panel) { return kGap + panel * (w + kGap); };
    const std::vector<uint8_t> twin = warp_image(v.flipped, v.warp, h, w);
    const std::vector<uint8_t> mask = point_mask(v.points, h, w, mask_radius);

    sheet.gray(x_of(0), y0, w, v.image);
    sheet.line({x_of(0) + v.axis.point.x, y0 + v.axis.point.y}, v.axis.direction, kAxis, x_of(0),
               y0, x_of(0) + w, y0 + h);
    draw_landmarks(sheet, x_of(0), y0, v);
    for (const Point2& p : v.points)
      sheet.circle(x_of(0) + p.x, y0 + p.y, mask_radius, kPoint, x_of(0), y0, x_of(0) + w, y0 + h);

    sheet.gray(x_of(1), y0, w, twin);
    draw_landmarks(sheet, x_of(1), y0, v);

    std::vector<uint8_t> diff(twin.size());
    for (size_t i = 0; i < twin.size(); ++i) {
      const int d = std::abs(static_cast<int>(v.image[i]) - static_cast<int>(twin[i]));
      diff[i] = static_cast<uint8_t>(std::min(255, 3 * d));
      const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
      const uint8_t g = v.image[i];
      sheet.set(x_of(2) + x, y0 + y,
                mask[i] ? Rgb{static_cast<uint8_t>(std::min(255, g / 2 + 128)),
                              static_cast<uint8_t>(g / 2), static_cast<uint8_t>(g / 2)}
                        : Rgb{g, g, g});
    }
    sheet.gray(x_of(3), y0, w, diff);
  }
  const int factor = std::max(1, (sheet.width() + 1599) / 1600);
  const Sheet out = factor > 1 ? sheet.shrink(factor) : sheet;
  write_png_rgb(path, out.width(), out.height(), out.pixels());
}

void write_heatmap_overlays(const std::string& path, std::span<const HeatmapOverlayItem> items,
                            int h, int w, double radius) {
  CHECK_OR_THROW(core::ConfigError, !items.empty(), path, ": no images for the overlays");
  constexpr int kGap = 8;
  Sheet sheet(2 * w + 3 * kGap, static_cast<int>(items.size()) * (h + kGap) + kGap);
  for (size_t r = 0; r < items.size(); ++r) {
    const HeatmapOverlayItem& it = items[r];
    const size_t plane = static_cast<size_t>(h) * w;
    CHECK_OR_THROW(core::ConfigError, it.image.size() == plane && it.heatmap.size() == plane, path,
                   ": image '", it.id, "' or its heatmap is not ", h, "x", w);
    const int y0 = kGap + static_cast<int>(r) * (h + kGap);
    const int x0 = kGap, x1 = 2 * kGap + w;
    sheet.gray(x0, y0, w, it.image);
    for (const Point2& p : it.points) sheet.circle(x0 + p.x, y0 + p.y, radius, kPoint, x0, y0, x0 + w, y0 + h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const size_t i = static_cast<size_t>(y) * w + x;
        const double a = std::clamp(static_cast<double>(it.heatmap[i]), 0.0, 1.0);
        const double g = it.image[i];
        sheet.set(x1 + x, y0 + y,
                  {static_cast<uint8_t>(g * (1 - a) + 255 * a), static_cast<uint8_t>(g * (1 - a)),
                   static_cast<uint8_t>(g * (1 - a))});
      }
    for (const Point2& p : it.points) sheet.circle(x1 + p.x, y0 + p.y, radius, kPoint, x1, y0, x1 + w, y0 + h);
  }
  const int factor = std::max(1, (sheet.width() + 1599) / 1600);
  const Sheet out = factor > 1 ? sheet.shrink(factor) : sheet;
  write_png_rgb(path, out.width(), out.height(), out.pixels());
}

}  // namespace fracsweep::datastore
