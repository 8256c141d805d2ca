// AASN as a job's model (job_model.h): one of the Table 2 rows on a pelvis
// store, with its loss L = L_b + lambda L_c and the image score = the
// heatmap's maximum (AASN §4.1).
#pragma once

#include <memory>

#include <torch/types.h>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

// AASN's rows, and the Table 1 baselines trained on image-level labels:
//   chexnet      DenseNet-121, global average pooling, a linear layer (Rajpurkar
//                et al.); BCE on the image's label, score = its sigmoid.
//   lse-pooling  DenseNet-121, a 1x1 conv to one map, log-sum-exp pooling with
//                r = 10 (Wang et al., ChestX-ray8); BCE on the image's label.
// Both see the image alone and write no heatmaps (the paper does not evaluate
// their localization). Throws core::ConfigError for another variant.
std::unique_ptr<JobModel> make_aasn_job_model(const spec::JobConfig& job);

// LSE pooling of maps [B, 1, h, w]: (1/r) log(mean exp(r x)), computed stably; [B].
torch::Tensor lse_pool(const torch::Tensor& maps, double r);

}  // namespace fracsweep::trainer
