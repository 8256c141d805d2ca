// AASN as a job's model (job_model.h): one of the Table 2 rows on a pelvis
// store, with its loss L = L_b + lambda L_c and the image score = the
// heatmap's maximum (AASN §4.1).
#pragma once

#include <memory>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// Throws core::ConfigError for a variant that is not AASN's.
std::unique_ptr<JobModel> make_aasn_job_model(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
