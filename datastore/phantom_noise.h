// Shared by the phantom generators: portable noise and small smooth helpers.
//
// Every function here uses only +, -, *, / (and integer arithmetic), so phantoms
// built from them are the same bytes wherever the same build runs them; the
// generators compile with -ffp-contract=off for the same reason.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/seed.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace fracsweep::datastore::phantom {

inline double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }
inline double smooth01(double x) {
  x = clamp01(x);
  return x * x * (3 - 2 * x);
}
inline double lerp(double a, double b, double t) { return a + (b - a) * t; }
inline double square(double x) { return x * x; }
// Standard normal approximated by the Irwin-Hall sum of four 16-bit uniforms:
// one draw, integer arithmetic, so it is cheap and identical everywhere.
inline double gaussian(core::Rng& rng) {
  const uint64_t x = rng.next_u64();
  const uint64_t s = (x & 0xffff) + ((x >> 16) & 0xffff) + ((x >> 32) & 0xffff) + (x >> 48);
  return (static_cast<double>(s) - 131070.0) / 37837.6;
}

// Two channels of value noise in [0, 1] on a regular grid, smoothly
// interpolated; positions outside the grid clamp to its border.
class Lattice {
 public:
  Lattice() = default;
  Lattice(double u0, double v0, double cell, double width, double height)
      : u0_(u0),
        v0_(v0),
        cell_(cell),
        inv_cell_(1 / cell),
        nu_(static_cast<int>(width / cell) + 3),
        nv_(static_cast<int>(height / cell) + 3),
        values_(2 * static_cast<size_t>(nu_) * nv_) {}
  int nu() const { return nu_; }
  int nv() const { return nv_; }
  double node_u(int iu) const { return u0_ + iu * cell_; }
  double node_v(int iv) const { return v0_ + iv * cell_; }
  double& value(int iu, int iv, int channel) {
    return values_[2 * (static_cast<size_t>(iv) * nu_ + iu) + channel];
  }
  void fill(core::Rng& rng, int channel) {
    for (size_t i = channel; i < values_.size(); i += 2) values_[i] = rng.uniform01();
  }
  std::array<double, 2> at(double u, double v) const {
    const double fu = std::clamp((u - u0_) * inv_cell_, 0.0, nu_ - 1.001);
    const double fv = std::clamp((v - v0_) * inv_cell_, 0.0, nv_ - 1.001);
    const int iu = static_cast<int>(fu), iv = static_cast<int>(fv);
    const double su = smooth01(fu - iu), sv = smooth01(fv - iv);
    const double* p = &values_[2 * (static_cast<size_t>(iv) * nu_ + iu)];
    const double* q = p + 2 * nu_;
    return {lerp(lerp(p[0], p[2], su), lerp(q[0], q[2], su), sv),
            lerp(lerp(p[1], p[3], su), lerp(q[1], q[3], su), sv)};
  }

 private:
  double u0_ = 0, v0_ = 0, cell_ = 1, inv_cell_ = 1;
  int nu_ = 0, nv_ = 0;
  std::vector<double> values_;
};

}  // namespace fracsweep::datastore::phantom
