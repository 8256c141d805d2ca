// LibTorch views of the datastore's batches.
//
// The datastore stays free of LibTorch (it builds in seconds and its tests need
// no model); this is where a datastore::Batch becomes tensors. No pixel is
// copied: the tensors own the batch's buffers.
#pragma once

#include <torch/types.h>

#include "datastore/loader.h"

namespace fracsweep::trainer {

struct BatchTensors {
  torch::Tensor images;    // float32 [B, views, H, W]: previous, current, next with neighbours
  torch::Tensor labels;    // int64 [B]
  torch::Tensor samples;   // int64 [B], store indices
  torch::Tensor has_prev;  // bool [B]
  torch::Tensor has_next;  // bool [B]
  torch::Tensor prev_labels, next_labels;  // int64 [B], -1 where the neighbour is missing
  // Pelvis batches (images then hold I and its twin I_f as views 0 and 1):
  torch::Tensor grids;      // float32 [B, h, w, 2], the I -> I_f sampling grids
  torch::Tensor masks;      // float32 [B, 1, H, W], M
  torch::Tensor masks_hat;  // float32 [B, 1, H, W], M-hat = M ∪ T∘M_f
};

BatchTensors to_tensors(datastore::Batch&& batch);

// The batch on `device` (itself on the CPU). To a GPU the host buffers are
// pinned and copied without waiting, so the copy overlaps the previous step's
// work on the device; images go channels-last when the model is.
BatchTensors to_device(BatchTensors batch, const torch::Device& device, bool channels_last);

// The current vertebra, [B, 1, H, W], from a batch with or without neighbours.
torch::Tensor current_view(const torch::Tensor& images);

// A gray batch [B, 1, H, W] as a model takes it: repeated to three channels for
// RGB-pretrained weights (in_channels 3), else itself.
torch::Tensor model_input(const torch::Tensor& gray, int in_channels);

}  // namespace fracsweep::trainer
