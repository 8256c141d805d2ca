// A model-free probe of the pelvis phantom: how well a dark-line detector tells
// a fracture from the normal variants a fracture can be mistaken for (vascular
// channels), from the image alone and against its mirrored side (the flipped
// image carried onto it by the landmark warp, as AASN's inputs are). AASN's
// symmetry components are worth having only where the second is clearly better
// than the first (FIDELITY.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "datastore/phantom_pelvis.h"

namespace fracsweep::datastore {

struct PelvisProbe {
  size_t fractures = 0, variants = 0;  // lines measured: fractures and vascular channels
  // ROC AUC of fractures against channels, each line scored by the strongest dark-line
  // response within a few pixels of its centre: in the image alone, and in the image
  // less its mirrored side.
  double lone = 0, mirrored = 0;
};

// Probes every image of the phantom `options` describes. Deterministic.
PelvisProbe probe_pelvis_phantom(const PelvisPhantomOptions& options);

// Per pixel, how much darker a thin line through it is than the pixels `radius`
// away on both sides of it, in the best of four directions and averaged along the
// line (after a 3 x 3 mean against noise), in grey levels; 0 where nothing is
// darker on both sides, and off the bone (surroundings darker than the image's
// median). An edge, dark on one side only, gives 0. Exposed for tests.
std::vector<float> dark_line_response(std::span<const uint8_t> image, int height, int width,
                                      int radius);

}  // namespace fracsweep::datastore
