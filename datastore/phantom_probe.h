// A model-free probe of the vertebra phantom: how well simple measurements of
// the drawn pixels separate fractured from normal vertebrae, from one patch
// alone and against its previous and next vertebra. TSCCN's compare network is
// worth having only where the second is clearly better than the first
// (FIDELITY.md); the probe measures that instead of assuming it.
#pragma once

#include <cstddef>

#include "datastore/phantom_vcf.h"

namespace fracsweep::datastore {

struct VcfProbe {
  size_t normal = 0, fractured = 0;  // vertebrae measured (middle slice, both neighbours present)
  // ROC AUC of fractured vs normal for one measurement of a lone patch each:
  double lone_shape = 0;   // the body's depth over its height, in pixels
  double lone_height = 0;  // the body's height in pixels (the window is fixed)
  double lone_signal = 0;  // how dark the body's centre band is
  double lone_best() const;
  // ... and for the body's height against its neighbours' mean height.
  double neighbours = 0;
  // Logistic regression on the three lone measurements, and on them plus the
  // neighbour ratio: fitted on the even patients, scored on the odd ones.
  double lone_combined = 0, with_neighbours_combined = 0;
};

// Measures every vertebra with two neighbours in the middle slice of the
// phantom `options` describes. Deterministic; generates the patients itself.
VcfProbe probe_vcf_phantom(const VcfPhantomOptions& options);

// The body's height and depth in pixels at the patch centre: the runs of rows
// (columns) around the centre brighter than halfway between the centre's level
// and the darkest row (column) of a central band. Exposed for tests.
double probe_body_height_px(const VertebraPatch& patch, int size);
double probe_body_depth_px(const VertebraPatch& patch, int size);

}  // namespace fracsweep::datastore
