// Batches for training and evaluation, assembled ahead of time on background
// threads.
//
// A BatchLoader serves one rank. Each epoch it is given that rank's order of
// store indices (see sampler.h: epoch_order, then rank_slice) and delivers
// the batches of that order, in order, while `workers` background threads read,
// inflate, augment and normalise up to `prefetch` batches ahead. Reading goes
// through PatchStore's positioned reads, never through HDF5, so the workers run
// in parallel. For the vertebra task each sample also carries its previous and
// next vertebra in the same slice (TSCCN's compare network needs them); for the
// pelvis task its flipped twin, its warp grid and its masks (AASN's inputs and
// targets, see Batch).
// Batch contents depend only on the order, the epoch and the seed, never on
// thread timing. An exception while building a batch is rethrown by the
// next() that would have returned that batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "datastore/augment.h"
#include "datastore/patch_store.h"

namespace fracsweep::datastore {

struct LoaderOptions {
  int batch_size = 32;
  // Also deliver each sample's previous and next vertebra (vertebra stores only).
  bool neighbours = true;
  // Leave out the last batch of an epoch when it is smaller than batch_size.
  bool drop_last = false;
  AugmentOptions augment;  // disabled by default (evaluation)
  Normalize normalize;
  uint64_t seed = 0;  // the job's augmentation seed, see augment_seed()
  int workers = 2;
  int prefetch = 4;  // batches prepared ahead of the consumer, >= 1
  void validate() const;  // throws core::ConfigError naming the option
};

// One batch; `views` images per sample, each height x width floats.
// With neighbours: views = 3, in the order previous, current, next (cranial to
// caudal as displayed: a vertical flip swaps previous and next). A missing
// neighbour (the first or last level) is a copy of the current patch, flagged
// by has_prev / has_next = 0, so a comparison with it reads "no change".
struct Batch {
  int epoch = 0;
  size_t number = 0;  // 0-based within the epoch
  int size = 0, views = 1, height = 0, width = 0;
  std::vector<float> pixels;      // [size, views, height, width]
  std::vector<int64_t> labels;    // [size]
  std::vector<int64_t> samples;   // [size] store indices
  std::vector<uint8_t> has_prev, has_next;  // [size], all 1 without neighbours
  // [size] the neighbours' classes (TSCCN's discriminator compares them with
  // the current one), -1 where has_prev / has_next is 0 or without neighbours.
  std::vector<int64_t> prev_labels, next_labels;
  // Pelvis stores: views = 2 (the image I, then its twin I_f); the I -> I_f
  // grids [size, grid_rows, grid_cols, 2]; and masks [size, 2, height, width]:
  // M (1 within the store's mask radius of a fracture point) and AASN's
  // M-hat = M ∪ T∘M_f, as 0 / 1 floats.
  int grid_rows = 0, grid_cols = 0;
  std::vector<float> grids;
  std::vector<float> masks;
};

class BatchLoader {
 public:
  // The store is shared: other loaders (e.g. for validation) may read it too.
  BatchLoader(std::shared_ptr<const PatchStore> store, LoaderOptions options);
  ~BatchLoader();  // stops and joins the workers
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Throws core::ConfigError for a pelvis store with neighbours or geometric
  // augmentation (which would break the stored warp).
  //
  // Begins epoch `epoch` over `order` (store indices); batches of an earlier
  // epoch not yet taken are dropped. Throws core::ConfigError for an index
  // outside the store.
  void start_epoch(int epoch, std::vector<uint32_t> order);

  // The next batch of the current epoch; nullopt once it is exhausted.
  std::optional<Batch> next();

  size_t batches_in_epoch() const;
  const LoaderOptions& options() const { return options_; }

 private:
  void work();
  Batch build(int epoch, size_t number, const std::vector<uint32_t>& order) const;
  void add_pelvis_sample(Batch& b, size_t k, uint32_t i) const;

  std::shared_ptr<const PatchStore> store_;
  LoaderOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_workers_, wake_consumer_;
  uint64_t generation_ = 0;
  int epoch_ = 0;
  std::shared_ptr<const std::vector<uint32_t>> order_;
  size_t num_batches_ = 0, next_to_build_ = 0, next_to_deliver_ = 0;
  // Finished batches by number: the batch, or what went wrong building it.
  struct Done {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  std::map<size_t, Done> ready_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fracsweep::datastore
