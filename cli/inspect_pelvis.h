// The pelvis half of `fracsweep inspect`.
#pragma once

#include <cstdint>
#include <string>

#include "datastore/patch_store.h"

namespace fracsweep::cli {

struct InspectSettings {
  uint64_t seed = 0;
  int folds = 5;
  double val_share = 0.1;
  std::string preview;  // a PNG path, or empty
};

// Prints points, landmarks, warps, every fold's split and image statistics;
// reads every image, twin and warp. Writes the preview when asked.
void inspect_pelvis(const datastore::PatchStore& store, const InspectSettings& settings);

}  // namespace fracsweep::cli
