// See batch_tensors.h.
#include "trainer/batch_tensors.h"

#include <memory>
#include <vector>

namespace fracsweep::trainer {
namespace {

// Hands a vector's buffer to a tensor, which frees it when the last view dies.
template <typename T>
torch::Tensor adopt(std::vector<T>&& data, std::vector<int64_t> shape, torch::Dtype dtype) {
  auto owner = new std::vector<T>(std::move(data));
  return torch::from_blob(
      owner->data(), shape, [owner](void*) { delete owner; },
      torch::TensorOptions().dtype(dtype));
}

}  // namespace

BatchTensors to_tensors(datastore::Batch&& b) {
  const int64_t n = b.size;
  BatchTensors t;
  t.images = adopt(std::move(b.pixels), {n, b.views, b.height, b.width}, torch::kFloat32);
  t.labels = adopt(std::move(b.labels), {n}, torch::kInt64);
  t.samples = adopt(std::move(b.samples), {n}, torch::kInt64);
  t.has_prev = adopt(std::move(b.has_prev), {n}, torch::kUInt8).to(torch::kBool);
  t.has_next = adopt(std::move(b.has_next), {n}, torch::kUInt8).to(torch::kBool);
  t.prev_labels = adopt(std::move(b.prev_labels), {n}, torch::kInt64);
  t.next_labels = adopt(std::move(b.next_labels), {n}, torch::kInt64);
  if (!b.grids.empty()) {
    t.grids = adopt(std::move(b.grids), {n, b.grid_rows, b.grid_cols, 2}, torch::kFloat32);
    const auto masks = adopt(std::move(b.masks), {n, 2, b.height, b.width}, torch::kFloat32);
    t.masks = masks.narrow(1, 0, 1);
    t.masks_hat = masks.narrow(1, 1, 1);
  }
  return t;
}

BatchTensors to_device(BatchTensors b, const torch::Device& device, bool channels_last) {
  const bool cuda = device.is_cuda();
  const auto move = [&](torch::Tensor& t) {
    if (!t.defined() || t.device() == device) return;
    t = (cuda ? t.pin_memory() : t).to(device, /*non_blocking=*/cuda);
  };
  for (torch::Tensor* t : {&b.images, &b.labels, &b.samples, &b.has_prev, &b.has_next,
                           &b.prev_labels, &b.next_labels, &b.grids, &b.masks, &b.masks_hat})
    move(*t);
  if (channels_last && b.images.defined() && b.images.dim() == 4)
    b.images = b.images.contiguous(torch::MemoryFormat::ChannelsLast);
  return b;
}

torch::Tensor current_view(const torch::Tensor& images) {
  return images.size(1) == 3 ? images.narrow(1, 1, 1) : images;
}

torch::Tensor model_input(const torch::Tensor& gray, int in_channels) {
  return in_channels == 3 ? gray.expand({gray.size(0), 3, gray.size(2), gray.size(3)}) : gray;
}

}  // namespace fracsweep::trainer
