// Table I's ResNet-18 classifiers as a job's model (job_model.h): plain
// cross-entropy ("resnet18"; "rs" is the same model on over-sampled batches),
// class-balanced re-weighting ("cb-rw", train.cb_beta) and the LDAM margin loss
// with and without deferred re-weighting ("ldam", "ldam-drw", train.drw_epoch).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// Whether make_resnet_baseline builds `variant`.
bool is_resnet_baseline(const std::string& variant);

// The job model of a ResNet-18 baseline; class_counts are the training samples per
// class (for re-weighting and margins). Throws core::ConfigError for another variant.
std::unique_ptr<JobModel> make_resnet_baseline(const spec::JobConfig& job,
                                               const std::array<int64_t, 3>& class_counts);

}  // namespace fracsweep::trainer
