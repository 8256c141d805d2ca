// The thin-plate-spline warp (Bookstein 1989) between two sets of landmarks, and
// the sampling grid a spatial transformer uses to apply it.
//
// One piece of code for every user of the warp: the pelvis phantoms, the Siamese
// model's feature alignment (AASN §3.2: a pixel-to-pixel warp from the flipped
// image to the original) and real-image ingest.
//
// Coordinates are pixels with pixel (row i, column j) centred at (x = j, y = i).
// A grid is written in the normalised coordinates of PyTorch's grid_sample with
// align_corners = false: x_n = (2x + 1) / width - 1, so -1 and +1 are the outer
// edges of the image and a grid is valid for a feature map of any resolution.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fracsweep::datastore {

struct Point2 {
  double x = 0;
  double y = 0;
  friend bool operator==(const Point2&, const Point2&) = default;
};

// f(p) = a0 + a1 x + a2 y + sum_i w_i U(|p - c_i|), U(r) = r^2 log r, fitted
// so that f(from[i]) = to[i] exactly when `smoothing` is 0; a positive value is
// added to the kernel matrix's diagonal and trades exactness for a smoother
// warp (Bookstein's regularised form; SciPy's RBFInterpolator smoothing).
class ThinPlateSpline {
 public:
  // Throws core::ConfigError when the spans differ in length, hold fewer than 3
  // points, a point is not finite, or the points are collinear (no unique affine
  // part), naming the problem.
  static ThinPlateSpline fit(std::span<const Point2> from, std::span<const Point2> to,
                             double smoothing = 0);

  Point2 operator()(Point2 p) const;
  size_t size() const { return centres_.size(); }

 private:
  std::vector<Point2> centres_;
  std::vector<double> wx_, wy_;  // kernel weights per centre
  double ax_[3] = {0, 1, 0}, ay_[3] = {0, 0, 1};
};

// Where each output cell samples its source: for an output image of height x width
// seen at `stride` (cells of stride x stride pixels, cell (r, c) centred at pixel
// x = c*stride + (stride-1)/2, y likewise), the source position map(centre) in
// grid_sample's normalised coordinates of a source of src_height x src_width.
struct SamplingGrid {
  int rows = 0, cols = 0, stride = 1;
  int src_height = 0, src_width = 0;
  std::vector<float> xy;  // rows * cols * 2: x then y, row-major

  float x(int r, int c) const { return xy[2 * (static_cast<size_t>(r) * cols + c)]; }
  float y(int r, int c) const { return xy[2 * (static_cast<size_t>(r) * cols + c) + 1]; }
};

// Throws core::ConfigError when a size is not positive or stride does not
// divide height and width.
SamplingGrid sampling_grid(const ThinPlateSpline& map, int height, int width, int stride,
                           int src_height, int src_width);

// The source position (normalised) at output pixel (x, y), read off the grid by
// bilinear interpolation between cell centres (clamped at the border): what
// grid_sample(grid, ...) with align_corners = false does when a coarse grid is
// resized to a finer feature map.
Point2 grid_at(const SamplingGrid& grid, double x, double y);

// grid_sample for an 8-bit image: each output pixel (height x width, the grid's
// output at stride 1 after grid_at) samples `src` bilinearly; outside the source
// is `fill`. Rounds to nearest.
std::vector<uint8_t> warp_image(std::span<const uint8_t> src, const SamplingGrid& grid,
                                int height, int width, uint8_t fill = 0);

// An 8-bit image sampled bilinearly at pixel position (x, y), a neighbour
// outside the image counting as `fill` (grid_sample's zeros padding for 0);
// rounded to nearest.
uint8_t sample_bilinear(std::span<const uint8_t> src, int height, int width, double x, double y,
                        uint8_t fill = 0);

// Pixel coordinates <-> grid_sample's normalised coordinates (align_corners = false).
inline double to_normalised(double pixel, int size) { return (2 * pixel + 1) / size - 1; }
inline double from_normalised(double n, int size) { return ((n + 1) * size - 1) / 2; }

}  // namespace fracsweep::datastore
