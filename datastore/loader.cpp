// See loader.h.
#include "datastore/loader.h"

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "datastore/pelvis_store.h"

namespace fracsweep::datastore {

void LoaderOptions::validate() const {
  CHECK_OR_THROW(core::ConfigError, batch_size >= 1, "batch size ", batch_size, " must be >= 1");
  CHECK_OR_THROW(core::ConfigError, workers >= 1 && workers <= 64, "loader workers ", workers,
                 " must be in 1..64");
  CHECK_OR_THROW(core::ConfigError, prefetch >= 1, "prefetch ", prefetch, " must be >= 1");
  CHECK_OR_THROW(core::ConfigError, normalize.std > 0, "normalisation std ", normalize.std,
                 " must be > 0");
  augment.validate();
}

BatchLoader::BatchLoader(std::shared_ptr<const PatchStore> store, LoaderOptions options)
    : store_(std::move(store)), options_(options) {
  INTERNAL_ASSERT(store_ != nullptr);
  options_.validate();
  if (store_->pelvis()) {
    CHECK_OR_THROW(core::ConfigError, !options_.neighbours, store_->path(),
                   ": a pelvis store has no neighbouring vertebrae; load it without neighbours");
    CHECK_OR_THROW(core::ConfigError, !options_.augment.enabled(), store_->path(),
                   ": rotations and flips would break a pelvis image's stored warp and "
                   "symmetry axis; load it without geometric augmentation");
  }
  for (int w = 0; w < options_.workers; ++w) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_workers_.notify_all();
  for (auto& w : workers_) w.join();
}

void BatchLoader::start_epoch(int epoch, std::vector<uint32_t> order) {
  for (uint32_t i : order)
    CHECK_OR_THROW(core::ConfigError, i < store_->size(), store_->path(), ": sample ", i,
                   " is outside the store's ", store_->size(), " samples");
  const size_t b = static_cast<size_t>(options_.batch_size);
  const size_t batches = options_.drop_last ? order.size() / b : (order.size() + b - 1) / b;
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::make_shared<const std::vector<uint32_t>>(std::move(order));
    num_batches_ = batches;
    next_to_build_ = next_to_deliver_ = 0;
    ready_.clear();
  }
  wake_workers_.notify_all();
}

size_t BatchLoader::batches_in_epoch() const {
  std::lock_guard lock(mutex_);
  return num_batches_;
}

std::optional<Batch> BatchLoader::next() {
  std::unique_lock lock(mutex_);
  if (next_to_deliver_ >= num_batches_) return std::nullopt;
  wake_consumer_.wait(lock, [&] { return ready_.count(next_to_deliver_) > 0; });
  auto node = ready_.extract(next_to_deliver_++);
  if (node.mapped().error) {
    num_batches_ = next_to_deliver_;  // the epoch ends here for this loader
    std::rethrow_exception(node.mapped().error);
  }
  lock.unlock();
  wake_workers_.notify_all();
  return std::move(node.mapped().batch);
}

void BatchLoader::work() {
  while (true) {
    std::unique_lock lock(mutex_);
    const size_t ahead = static_cast<size_t>(options_.prefetch);
    wake_workers_.wait(lock, [&] {
      return stop_ ||
             (next_to_build_ < num_batches_ && next_to_build_ < next_to_deliver_ + ahead);
    });
    if (stop_) return;
    const uint64_t generation = generation_;
    const int epoch = epoch_;
    const size_t number = next_to_build_++;
    const auto order = order_;  // keeps this epoch's order alive while we build
    lock.unlock();

    Done done;
    try {
      done.batch = build(epoch, number, *order);
    } catch (...) {
      done.error = std::current_exception();
    }
    lock.lock();
    if (generation != generation_) continue;  // a new epoch began meanwhile
    ready_.emplace(number, std::move(done));
    lock.unlock();
    wake_consumer_.notify_all();
  }
}

Batch BatchLoader::build(int epoch, size_t number, const std::vector<uint32_t>& order) const {
  const PatchStore& store = *store_;
  const SampleIndex& ix = store.index();
  const size_t first = number * static_cast<size_t>(options_.batch_size);
  const size_t count = std::min(order.size() - first, static_cast<size_t>(options_.batch_size));
  Batch b;
  b.epoch = epoch;
  b.number = number;
  b.size = static_cast<int>(count);
  b.views = options_.neighbours ? 3 : (store.pelvis() ? 2 : 1);
  b.height = store.info().height;
  b.width = store.info().width;
  const size_t plane = store.image_bytes();
  b.pixels.resize(count * b.views * plane);
  b.labels.resize(count);
  b.samples.resize(count);
  b.has_prev.assign(count, 1);
  b.has_next.assign(count, 1);
  b.prev_labels.assign(count, -1);
  b.next_labels.assign(count, -1);
  std::vector<uint8_t> current(plane), prev(plane), next(plane);
  for (size_t k = 0; k < count; ++k) {
    const uint32_t i = order[first + k];
    b.labels[k] = ix.label[i];
    b.samples[k] = i;
    const AugmentDraw draw = draw_augment(options_.augment, augment_seed(options_.seed, epoch, i));
    float* out = b.pixels.data() + k * b.views * plane;
    if (store.pelvis()) {
      add_pelvis_sample(b, k, i);
      continue;
    }
    store.read_image(i, current);
    if (!options_.neighbours) {
      render_patch(current, b.height, b.width, draw, options_.normalize, {out, plane});
      continue;
    }
    const int32_t p = ix.prev[i], n = ix.next[i];
    if (p >= 0) store.read_image(static_cast<size_t>(p), prev);
    if (n >= 0) store.read_image(static_cast<size_t>(n), next);
    const std::vector<uint8_t>& above = p >= 0 ? prev : current;
    const std::vector<uint8_t>& below = n >= 0 ? next : current;
    // After a vertical flip the caudal neighbour is the one shown above.
    const bool swap = draw.vflip;
    const int32_t shown_above = swap ? n : p, shown_below = swap ? p : n;
    b.has_prev[k] = shown_above >= 0;
    b.has_next[k] = shown_below >= 0;
    if (shown_above >= 0) b.prev_labels[k] = ix.label[static_cast<size_t>(shown_above)];
    if (shown_below >= 0) b.next_labels[k] = ix.label[static_cast<size_t>(shown_below)];
    render_patch(swap ? below : above, b.height, b.width, draw, options_.normalize, {out, plane});
    render_patch(current, b.height, b.width, draw, options_.normalize, {out + plane, plane});
    render_patch(swap ? above : below, b.height, b.width, draw, options_.normalize,
                 {out + 2 * plane, plane});
  }
  return b;
}

void BatchLoader::add_pelvis_sample(Batch& b, size_t k, uint32_t i) const {
  const PelvisView v = read_pelvis_view(*store_, i);
  const double radius = store_->pelvis()->mask_radius;
  const size_t plane = v.image.size();
  if (b.grids.empty()) {
    b.grid_rows = v.warp.rows;
    b.grid_cols = v.warp.cols;
    b.grids.resize(static_cast<size_t>(b.size) * v.warp.xy.size());
    b.masks.resize(static_cast<size_t>(b.size) * 2 * plane);
  }
  float* out = b.pixels.data() + k * 2 * plane;
  const AugmentDraw none;
  render_patch(v.image, b.height, b.width, none, options_.normalize, {out, plane});
  render_patch(v.flipped, b.height, b.width, none, options_.normalize, {out + plane, plane});
  std::copy(v.warp.xy.begin(), v.warp.xy.end(), b.grids.begin() + k * v.warp.xy.size());
  float* masks = b.masks.data() + k * 2 * plane;
  const std::vector<uint8_t> m = point_mask(v.points, v.height, v.width, radius);
  const std::vector<uint8_t> hat = contrast_mask(v, radius);
  std::copy(m.begin(), m.end(), masks);
  std::copy(hat.begin(), hat.end(), masks + plane);
}

}  // namespace fracsweep::datastore
