// AASN as a job's model (job_model.h): one of the Table 2 rows on a pelvis
// store, with its loss L = L_b + lambda L_c and the image score = the
// heatmap's maximum (AASN §4.1); and every Table 1 baseline.
#pragma once

#include <memory>

#include <torch/types.h>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// A Table 2 row ("aasn", "aasn-<row>" of AasnSwitches::of_row), a Table 1
// symmetry baseline ("liu-distance", "deepsymnet", "cbn": other switches of the
// same network) or an image-label baseline (image_label_baselines.h).
// Throws core::ConfigError for another variant.
std::unique_ptr<JobModel> make_aasn_job_model(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
