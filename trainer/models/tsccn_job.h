// TSCCN and its Table III ablations as a job's model (job_model.h): the loss of
// eq. 6 over a batch, and class probabilities. The network itself is tsccn.h.
#pragma once

#include <memory>
#include <string>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// Whether make_tsccn_job_model builds `variant` (one of tsccn_variant_names()).
bool is_tsccn_variant(const std::string& variant);

// The job model of a TSCCN variant: model.width, in_channels, split_stage and
// share_branches shape it; model.init_weights loads the backbone. Throws
// core::ConfigError for another variant.
std::unique_ptr<JobModel> make_tsccn_job_model(const spec::JobConfig& job);

}  // namespace fracsweep::trainer
