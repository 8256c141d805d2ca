// See inspect_pelvis.h.
#include "cli/inspect_pelvis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

#include "core/error.h"
#include "datastore/pelvis_store.h"
#include "datastore/preview.h"
#include "datastore/split.h"

namespace fracsweep::cli {
namespace {

using datastore::PatchStore;

std::string part_text(const datastore::SampleIndex& ix, const std::vector<int32_t>& patients) {
  size_t fractured = 0;
  for (int32_t p : patients) fractured += ix.patient_label[static_cast<size_t>(p)] == 1;
  return fmt::format("{:5} patients ({:5.1f}%), {:4} fractured ({:4.1f}%)", patients.size(),
                     100.0 * patients.size() / std::max<size_t>(1, ix.num_patients()), fractured,
                     patients.empty() ? 0.0 : 100.0 * fractured / patients.size());
}

void print_annotations(const PatchStore& store) {
  const auto& ix = store.index();
  const auto& p = *store.pelvis();
  size_t fractured = 0, per_image[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < ix.size(); ++i) {
    fractured += ix.label[i] == 1;
    if (ix.label[i] == 1) ++per_image[std::min<size_t>(3, p.num_points(i))];
  }
  std::cout << fmt::format(
      "per class:\n  0 no fracture {:6}  {:5.1f}%\n  1 fracture    {:6}  {:5.1f}%\n", ix.size() - fractured,
      100.0 * (ix.size() - fractured) / std::max<size_t>(1, ix.size()), fractured,
      100.0 * fractured / std::max<size_t>(1, ix.size()));
  std::cout << fmt::format(
      "\nfracture points: {} ({} images with 1, {} with 2, {} with 3 or more)\n"
      "training mask: radius {:.1f} px{}\n"
      "landmarks: 16 per image (7 bilateral pairs, 2 on the symphysis), symmetry axis per image\n"
      "warp: I -> I_f grid of {}x{} cells at stride {}\n",
      p.points_begin.back(), per_image[1], per_image[2], per_image[3], p.mask_radius,
      p.pixel_spacing_mm > 0 ? fmt::format(" ({:.1f} mm at {:.3f} mm per pixel, nominal)",
                                           p.mask_radius * p.pixel_spacing_mm, p.pixel_spacing_mm)
                             : std::string(),
      p.warp_rows, p.warp_cols, p.warp_stride);
}

void print_folds(const datastore::SampleIndex& ix, const InspectSettings& s) {
  std::cout << fmt::format(
      "\n{}-fold CV, patient-grouped and stratified (seed {}, validation {:.0f}% of patients):\n",
      s.folds, s.seed, 100 * s.val_share);
  for (int f = 0; f < s.folds; ++f) {
    const auto k = datastore::kfold_split(ix.patient_label, s.folds, f, s.val_share, s.seed);
    std::vector<int32_t> all = k.train;
    all.insert(all.end(), k.val.begin(), k.val.end());
    all.insert(all.end(), k.test.begin(), k.test.end());
    std::sort(all.begin(), all.end());
    const bool grouped = std::adjacent_find(all.begin(), all.end()) == all.end() &&
                         all.size() == ix.num_patients();
    std::cout << fmt::format("  fold {}  train {}\n          val   {}\n          test  {}{}\n", f,
                             part_text(ix, k.train), part_text(ix, k.val), part_text(ix, k.test),
                             grouped ? "" : "\n          PARTS OVERLAP OR MISS PATIENTS");
    CHECK_OR_THROW(core::ConfigError, grouped, "fold ", f,
                   ": the split's parts overlap or miss patients (a bug; please report it)");
  }
}

// Reads every image, twin and warp; reports intensities, how much of each grid
// falls inside I_f, and how far the stored warp carries each landmark from its
// mirrored partner (the thin-plate spline is exact at the landmarks; the grid
// interpolates between cell centres).
void print_images(const PatchStore& store) {
  const auto& ix = store.index();
  double sum[2] = {0, 0}, sum2[2] = {0, 0};
  size_t count[2] = {0, 0}, inside = 0, cells = 0;
  std::vector<double> landmark_error;
  for (size_t i = 0; i < ix.size(); ++i) {
    const datastore::PelvisView v = datastore::read_pelvis_view(store, i);
    for (uint8_t x : v.image) {
      sum[ix.label[i]] += x;
      sum2[ix.label[i]] += static_cast<double>(x) * x;
    }
    count[ix.label[i]] += v.image.size();
    for (size_t k = 0; k < v.warp.xy.size(); ++k) inside += std::abs(v.warp.xy[k]) <= 1;
    cells += v.warp.xy.size();
    for (int k = 0; k < datastore::kPelvisLandmarks; ++k) {
      const auto at = datastore::grid_at(v.warp, v.landmarks[k].x, v.landmarks[k].y);
      const double x = datastore::from_normalised(at.x, v.width);
      const double y = datastore::from_normalised(at.y, v.height);
      landmark_error.push_back(std::hypot(x - v.landmarks_flipped[k].x, y - v.landmarks_flipped[k].y));
    }
  }
  std::cout << "\nimages:\n";
  const char* names[2] = {"no fracture", "fracture"};
  for (int c = 0; c < 2; ++c) {
    if (count[c] == 0) continue;
    const double mean = sum[c] / count[c];
    std::cout << fmt::format("  {} {:<12} mean {:6.1f}  std {:5.1f}\n", c, names[c], mean,
                             std::sqrt(std::max(0.0, sum2[c] / count[c] - mean * mean)));
  }
  std::sort(landmark_error.begin(), landmark_error.end());
  const auto q = [&](double f) {
    return landmark_error.empty() ? 0.0 : landmark_error[static_cast<size_t>(f * (landmark_error.size() - 1))];
  };
  std::cout << fmt::format(
      "  warp grids: {:.1f}% of coordinates inside I_f; a landmark carried by the grid lands "
      "{:.2f} px (median) / {:.2f} px (99th percentile) from its mirrored partner\n",
      cells ? 100.0 * inside / cells : 0.0, q(0.5), q(0.99));
}

void write_preview(const PatchStore& store, const std::string& path) {
  const auto& ix = store.index();
  std::vector<size_t> chosen;
  for (int label : {1, 0}) {
    int taken = 0;
    for (size_t i = 0; i < ix.size() && taken < 3; ++i)
      if (ix.label[i] == label) {
        chosen.push_back(i);
        ++taken;
      }
  }
  std::vector<datastore::PelvisView> views;
  for (size_t i : chosen) views.push_back(datastore::read_pelvis_view(store, i));
  std::vector<datastore::PelvisPreviewItem> items;
  for (size_t k = 0; k < chosen.size(); ++k)
    items.push_back({ix.patient_ids[static_cast<size_t>(ix.patient[chosen[k]])], &views[k]});
  datastore::write_pelvis_contact_sheet(path, items, store.pelvis()->mask_radius);
  std::cout << "\npreview: " << path << "\n";
}

}  // namespace

void inspect_pelvis(const PatchStore& store, const InspectSettings& s) {
  print_annotations(store);
  print_folds(store.index(), s);
  print_images(store);
  if (!s.preview.empty()) write_preview(store, s.preview);
}

}  // namespace fracsweep::cli
