// AASN's Table 1 baselines that learn from image-level labels alone (AASN §4.1):
//   chexnet      DenseNet-121, global average pooling, a linear layer (Rajpurkar
//                et al.); BCE on the image's label, score = its sigmoid.
//   lse-pooling  DenseNet-121, a 1x1 conv to one map, log-sum-exp pooling with
//                r = 10 (Wang et al., ChestX-ray8); BCE on the image's label.
//   two-stage    Wang et al.'s two-stage classification: stage 1 is lse-pooling;
//                stage 2, a second DenseNet-121, classifies the half-size window
//                centred on stage 1's strongest cell (chosen without gradient,
//                kept inside the image). Both stages learn from the image's label
//                (BCE each, summed); the score is the mean of their probabilities.
// All see the image alone (not its twin) and write no heatmaps: the paper does
// not evaluate their localization.
#pragma once

#include <memory>

#include <torch/types.h>

#include "spec/job_config.h"
#include "trainer/job_model.h"

namespace fracsweep::trainer {

bool is_image_label_variant(const std::string& variant);

// Throws core::ConfigError for a variant that is not one of the three.
std::unique_ptr<JobModel> make_image_label_job_model(const spec::JobConfig& job);

// LSE pooling of maps [B, 1, h, w]: (1/r) log(mean exp(r x)), computed stably; [B].
torch::Tensor lse_pool(const torch::Tensor& maps, double r);

// The window [B, C, H/2, W/2] of `images` [B, C, H, W] centred on each map's
// largest cell (maps [B, 1, h, w] over the same field of view), moved inside
// the image where it would reach out; bilinear, align_corners=False.
torch::Tensor crop_at_peak(const torch::Tensor& images, const torch::Tensor& maps);

}  // namespace fracsweep::trainer
