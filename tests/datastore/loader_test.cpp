#include "datastore/loader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <thread>

#include "core/error.h"
#include "datastore/h5.h"
#include "datastore/pelvis_store.h"
#include "datastore/sampler.h"
#include "datastore/synth_pelvis.h"
#include "test_util.h"

namespace fracsweep::datastore {
namespace {

constexpr int kH = 8, kW = 6, kPatients = 4, kLevels = 5;

uint8_t pixel_of(size_t sample, int i) { return static_cast<uint8_t>((sample * 37 + i * 3) % 251); }

// kPatients patients, one slice of kLevels vertebrae each; the middle one is
// fractured. Pixels encode the global sample index.
std::string write_store(const testing::TempDir& dir, int compression) {
  const std::string path = (dir.path() / ("l" + std::to_string(compression) + ".h5")).string();
  VcfStoreWriter w(path, kH, kW, compression, "loader test");
  size_t sample = 0;
  for (int p = 0; p < kPatients; ++p) {
    std::vector<std::vector<uint8_t>> pixels(kLevels, std::vector<uint8_t>(kH * kW));
    std::vector<VcfPatchRecord> records(kLevels);
    for (int k = 0; k < kLevels; ++k, ++sample) {
      for (int i = 0; i < kH * kW; ++i) pixels[k][i] = pixel_of(sample, i);
      records[k] = {pixels[k], k == 2 ? 1 + p % 2 : 0, 0, k, k - 1, k + 1 < kLevels ? k + 1 : -1};
    }
    w.add_patient("P" + std::to_string(p), 1 + p % 2, records);
  }
  w.commit();
  return path;
}

float normalised(uint8_t v, Normalize n = {}) { return (v / 255.0f - n.mean) / n.std; }

std::vector<Batch> drain(BatchLoader& loader) {
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

class LoaderTest : public ::testing::TestWithParam<int> {};

TEST_P(LoaderTest, DeliversTheOrderWithNeighbours) {
  testing::TempDir dir;
  auto store = std::make_shared<const PatchStore>(PatchStore::open(write_store(dir, GetParam())));
  LoaderOptions o;
  o.batch_size = 3;
  o.workers = 2;
  o.prefetch = 2;
  BatchLoader loader(store, o);
  const std::vector<uint32_t> order = {7, 0, 19, 4, 12, 12, 3};
  loader.start_epoch(0, order);
  EXPECT_EQ(loader.batches_in_epoch(), 3u);
  const auto batches = drain(loader);
  ASSERT_EQ(batches.size(), 3u);
  const auto& ix = store->index();
  size_t pos = 0;
  for (const Batch& b : batches) {
    EXPECT_EQ(b.views, 3);
    EXPECT_EQ(b.size, pos + 3 <= order.size() ? 3 : 1);
    for (int k = 0; k < b.size; ++k, ++pos) {
      const uint32_t i = order[pos];
      EXPECT_EQ(b.samples[k], i);
      EXPECT_EQ(b.labels[k], ix.label[i]);
      const int32_t p = ix.prev[i], n = ix.next[i];
      EXPECT_EQ(b.has_prev[k], p >= 0);
      EXPECT_EQ(b.has_next[k], n >= 0);
      EXPECT_EQ(b.prev_labels[k], p >= 0 ? ix.label[p] : -1);
      EXPECT_EQ(b.next_labels[k], n >= 0 ? ix.label[n] : -1);
      const size_t views[3] = {p >= 0 ? size_t(p) : i, i, n >= 0 ? size_t(n) : i};
      for (int v = 0; v < 3; ++v)
        for (int q = 0; q < kH * kW; ++q)
          ASSERT_NEAR(b.pixels[(k * 3 + v) * kH * kW + q], normalised(pixel_of(views[v], q)), 1e-6)
              << "sample " << i << " view " << v << " pixel " << q;
    }
  }
  EXPECT_EQ(pos, order.size());
  EXPECT_FALSE(loader.next().has_value());  // stays exhausted
}

INSTANTIATE_TEST_SUITE_P(Compression, LoaderTest, ::testing::Values(0, 3));

TEST(Loader, SameBatchesWhateverTheThreads) {
  testing::TempDir dir;
  auto store = std::make_shared<const PatchStore>(PatchStore::open(write_store(dir, 1)));
  std::vector<uint32_t> order(store->size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::vector<Batch>> runs;
  for (int workers : {1, 4}) {
    LoaderOptions o;
    o.batch_size = 4;
    o.workers = workers;
    o.prefetch = workers == 1 ? 1 : 6;
    o.augment = {20, 0.5, 0.5};
    o.seed = 11;
    BatchLoader loader(store, o);
    loader.start_epoch(2, order);
    runs.push_back(drain(loader));
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  for (size_t b = 0; b < runs[0].size(); ++b) {
    EXPECT_EQ(runs[0][b].pixels, runs[1][b].pixels) << b;
    EXPECT_EQ(runs[0][b].has_prev, runs[1][b].has_prev) << b;
  }
}

TEST(Loader, AugmentsPerEpochAndSwapsNeighboursOnVerticalFlip) {
  testing::TempDir dir;
  auto store = std::make_shared<const PatchStore>(PatchStore::open(write_store(dir, 0)));
  LoaderOptions o;
  o.batch_size = 20;
  o.augment = {0, 0, 1};  // always flip vertically
  o.neighbours = true;
  BatchLoader loader(store, o);
  const std::vector<uint32_t> order = {0, 1};  // first level: no previous vertebra
  loader.start_epoch(0, order);
  const Batch b = *loader.next();
  // Sample 0 flipped: its next vertebra (1) is now shown above it.
  EXPECT_EQ(b.has_prev[0], 1);
  EXPECT_EQ(b.has_next[0], 0);
  EXPECT_EQ(b.prev_labels[0], store->index().label[1]);
  EXPECT_EQ(b.next_labels[0], -1);
  const size_t plane = kH * kW;
  for (int r = 0; r < kH; ++r)
    for (int c = 0; c < kW; ++c)
      ASSERT_NEAR(b.pixels[r * kW + c], normalised(pixel_of(1, (kH - 1 - r) * kW + c)), 1e-6);
  // The missing neighbour is the flipped current patch.
  for (size_t q = 0; q < plane; ++q) ASSERT_FLOAT_EQ(b.pixels[2 * plane + q], b.pixels[plane + q]);

  LoaderOptions rot;
  rot.batch_size = 2;
  rot.neighbours = false;
  rot.augment = {30, 0, 0};
  BatchLoader rotating(store, rot);
  rotating.start_epoch(0, order);
  const Batch e0 = *rotating.next();
  rotating.start_epoch(1, order);
  const Batch e1 = *rotating.next();
  EXPECT_EQ(e0.views, 1);
  EXPECT_NE(e0.pixels, e1.pixels);
}

TEST(Loader, DropLastAndNewEpochs) {
  testing::TempDir dir;
  auto store = std::make_shared<const PatchStore>(PatchStore::open(write_store(dir, 0)));
  LoaderOptions o;
  o.batch_size = 3;
  o.drop_last = true;
  BatchLoader loader(store, o);
  loader.start_epoch(0, {0, 1, 2, 3, 4, 5, 6});
  EXPECT_EQ(loader.batches_in_epoch(), 2u);
  ASSERT_TRUE(loader.next().has_value());
  // A new epoch before the old one was drained: only new batches come.
  loader.start_epoch(1, {9, 8, 7});
  const auto rest = drain(loader);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].epoch, 1);
  EXPECT_EQ(rest[0].samples, (std::vector<int64_t>{9, 8, 7}));
  EXPECT_THROW(loader.start_epoch(2, {20}), core::ConfigError);
}

TEST(Loader, PelvisBatchesCarryTwinGridAndBothMasks) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "p.h5").string();
  PelvisSynthOptions so;
  so.phantom.images = 6;
  so.phantom.fractured = 3;
  so.phantom.height = 32;
  so.phantom.width = 64;
  write_pelvis_phantom_store(path, so);
  auto store = std::make_shared<const PatchStore>(PatchStore::open(path));
  LoaderOptions o;
  o.batch_size = 4;
  o.neighbours = false;
  o.workers = 2;
  BatchLoader loader(store, o);
  loader.start_epoch(0, {5, 4, 3, 2, 1, 0});
  size_t seen = 0, marked = 0;
  while (auto b = loader.next()) {
    ASSERT_EQ(b->views, 2);
    ASSERT_EQ(b->grid_rows, 4);
    ASSERT_EQ(b->grid_cols, 8);
    const size_t plane = 32 * 64, cells = 4 * 8 * 2;
    for (int k = 0; k < b->size; ++k) {
      const auto i = static_cast<size_t>(b->samples[static_cast<size_t>(k)]);
      const PelvisView v = read_pelvis_view(*store, i);
      // Pixels normalised as (v / 255 - 0.5) / 0.5: image first, then its twin.
      EXPECT_NEAR(b->pixels[k * 2 * plane + 70], (v.image[70] / 255.0 - 0.5) / 0.5, 1e-6);
      EXPECT_NEAR(b->pixels[k * 2 * plane + plane + 70], (v.flipped[70] / 255.0 - 0.5) / 0.5, 1e-6);
      EXPECT_EQ(std::vector<float>(b->grids.begin() + k * cells, b->grids.begin() + (k + 1) * cells),
                v.warp.xy);
      const auto m = point_mask(v.points, 32, 64, store->pelvis()->mask_radius);
      for (size_t p = 0; p < plane; ++p) {
        const float mask = b->masks[k * 2 * plane + p], hat = b->masks[k * 2 * plane + plane + p];
        ASSERT_EQ(mask, m[p]);
        ASSERT_GE(hat, mask) << "M-hat contains M";
        marked += hat > 0;
      }
      EXPECT_EQ(b->labels[static_cast<size_t>(k)], v.points.empty() ? 0 : 1);
      ++seen;
    }
  }
  EXPECT_EQ(seen, 6u);
  EXPECT_GT(marked, 0u);
  o.neighbours = true;
  EXPECT_THROW(BatchLoader(store, o), core::ConfigError);
  o.neighbours = false;
  o.augment.hflip_prob = 0.5;
  EXPECT_THROW(BatchLoader(store, o), core::ConfigError);
}

TEST(Loader, RejectsBadOptions) {
  testing::TempDir dir;
  auto store = std::make_shared<const PatchStore>(PatchStore::open(write_store(dir, 0)));
  LoaderOptions o;
  o.batch_size = 0;
  EXPECT_THROW(BatchLoader(store, o), core::ConfigError);
  o.batch_size = 2;
  o.prefetch = 0;
  EXPECT_THROW(BatchLoader(store, o), core::ConfigError);
}

// Overwrites the stored bytes of patch i with garbage.
void corrupt_chunk(const std::string& path, size_t i) {
  uint64_t addr = 0;
  hsize_t size = 0;
  {
    H5Quiet quiet;
    H5File f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    H5Dataset d(H5Dopen2(f.get(), "/images", H5P_DEFAULT));
    const hsize_t coord[3] = {i, 0, 0};
    unsigned mask = 0;
    haddr_t a = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(d.get(), coord, &mask, &a, &size), 0);
    addr = a;
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(addr));
  for (hsize_t k = 0; k < size; ++k) f.put(static_cast<char>(0xA5 ^ k));
}

TEST(Loader, ACorruptPatchFailsTheBatchWithItsName) {
  testing::TempDir dir;
  const std::string path = write_store(dir, 6);
  corrupt_chunk(path, 5);
  auto store = std::make_shared<const PatchStore>(PatchStore::open(path));
  std::vector<uint8_t> image(store->image_bytes());
  EXPECT_NO_THROW(store->read_image(0, image));
  LoaderOptions o;
  o.batch_size = 2;
  o.neighbours = false;
  BatchLoader loader(store, o);
  loader.start_epoch(0, {0, 1, 2, 5, 6, 7});
  EXPECT_TRUE(loader.next().has_value());
  try {
    loader.next();
    ADD_FAILURE() << "a corrupt patch was delivered";
  } catch (const core::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/images patch 5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Loader, StoreReadsAreThreadSafe) {
  testing::TempDir dir;
  const PatchStore store = PatchStore::open(write_store(dir, 2));
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<uint8_t> image(store.image_bytes());
      for (int round = 0; round < 50; ++round)
        for (size_t i = t; i < store.size(); i += 2) {
          store.read_image(i, image);
          for (int q = 0; q < kH * kW; ++q) bad[t] += image[q] != pixel_of(i, q);
        }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace fracsweep::datastore
