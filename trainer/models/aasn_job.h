// AASN as a job's model (job_model.h): one of the Table 2 rows on a pelvis
// store, with its loss L = L_b + lambda L_c and the image score = the
// heatmap's maximum (AASN §4.1); and Table 1's symmetry baselines, which are
// other switches of the same network.
#pragma once

#include <memory>
#include <string>

#include <torch/types.h>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// Whether make_aasn_job_model builds `variant`: a Table 2 row ("aasn",
// "aasn-<row>" of AasnSwitches::of_row) or a Table 1 symmetry baseline
// ("liu-distance", "deepsymnet", "cbn").
bool is_aasn_variant(const std::string& variant);

// The job model of one of those. Throws core::ConfigError for another variant.
std::unique_ptr<JobModel> make_aasn_job_model(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
