#include "datastore/patch_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/h5.h"
#include "test_util.h"

namespace fracsweep::datastore {
namespace {

constexpr int kH = 6, kW = 5;

// Two patients: P0 with one slice of 3 vertebrae, P1 with one slice of 2.
// Pixel values encode (sample, position) so reads can be checked exactly.
void write_small_store(const std::string& path, int compression) {
  VcfStoreWriter w(path, kH, kW, compression, "unit test");
  for (int p = 0; p < 2; ++p) {
    const int n = p == 0 ? 3 : 2;
    std::vector<std::vector<uint8_t>> pixels(n, std::vector<uint8_t>(kH * kW));
    std::vector<VcfPatchRecord> records(n);
    for (int k = 0; k < n; ++k) {
      for (int i = 0; i < kH * kW; ++i) pixels[k][i] = static_cast<uint8_t>(40 * p + 10 * k + i);
      records[k] = {pixels[k], k == 1 ? 1 + p : 0, 0, k, k - 1, k + 1 < n ? k + 1 : -1};
    }
    w.add_patient("P" + std::to_string(p), 1 + p, records);
  }
  w.commit();
}

std::string open_error(const std::string& path) { return testing::store_open_error(path); }

class PatchStoreTest : public ::testing::TestWithParam<int> {};

TEST_P(PatchStoreTest, WritesAndReadsBack) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "s.h5").string();
  write_small_store(path, GetParam());
  const PatchStore s = PatchStore::open(path);
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.info().height, kH);
  EXPECT_EQ(s.info().width, kW);
  EXPECT_EQ(s.info().compression, GetParam());
  EXPECT_EQ(s.info().source, "unit test");
  const SampleIndex& ix = s.index();
  EXPECT_EQ(ix.patient_ids, (std::vector<std::string>{"P0", "P1"}));
  EXPECT_EQ(ix.patient_label, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(ix.patient, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(ix.label, (std::vector<int32_t>{0, 1, 0, 0, 2}));
  // Local neighbour indices became global ones.
  EXPECT_EQ(ix.prev, (std::vector<int32_t>{-1, 0, 1, -1, 3}));
  EXPECT_EQ(ix.next, (std::vector<int32_t>{1, 2, -1, 4, -1}));
  std::vector<uint8_t> image(s.image_bytes());
  s.read_image(4, image);  // patient 1, k = 1
  for (int i = 0; i < kH * kW; ++i) ASSERT_EQ(image[i], 40 + 10 + i) << i;
}

INSTANTIATE_TEST_SUITE_P(Compression, PatchStoreTest, ::testing::Values(0, 1, 6));

TEST(PatchStore, SameInputGivesSameBytes) {
  testing::TempDir dir;
  const std::string a = (dir.path() / "a.h5").string(), b = (dir.path() / "b.h5").string();
  write_small_store(a, 1);
  write_small_store(b, 1);
  EXPECT_EQ(core::read_file(a), core::read_file(b));
}

TEST(PatchStore, UncommittedWriterLeavesNothing) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "s.h5").string();
  { VcfStoreWriter w(path, kH, kW, 0, "x"); }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(PatchStore, NotHdf5) {
  testing::TempDir dir;
  const std::string path = dir.write("notes.h5", "id,patient,label\n");
  EXPECT_HAS(open_error(path), path + ": not an HDF5 file");
}

TEST(PatchStore, Truncated) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "s.h5").string();
  write_small_store(path, 0);
  const std::string bytes = core::read_file(path);
  const std::string cut = dir.write("cut.h5", bytes.substr(0, bytes.size() / 2));
  EXPECT_HAS(open_error(cut), cut + ": HDF5 cannot open the file: it is truncated or corrupt");
}

// Opens the store for writing with raw HDF5 calls to damage it in one way.
template <typename F>
std::string damaged(const testing::TempDir& dir, F damage) {
  const std::string path = (dir.path() / "d.h5").string();
  write_small_store(path, 0);
  H5File f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  EXPECT_TRUE(f.valid());
  damage(f.get());
  return path;
}

TEST(PatchStore, NotOurs) {
  testing::TempDir dir;
  const std::string path = damaged(dir, [](hid_t f) { H5Adelete(f, "format"); });
  EXPECT_HAS(open_error(path), "not a fracsweep patch store (root attribute 'format' is missing");
}

TEST(PatchStore, NewerSchemaVersion) {
  testing::TempDir dir;
  const std::string path = damaged(dir, [](hid_t f) {
    H5Attribute a(H5Aopen(f, "schema_version", H5P_DEFAULT));
    const int64_t v = 99;
    H5Awrite(a.get(), H5T_NATIVE_INT64, &v);
  });
  EXPECT_HAS(open_error(path), "schema version 99 is newer than this fracsweep reads (up to 1)");
}

TEST(PatchStore, MissingDataset) {
  testing::TempDir dir;
  const std::string path = damaged(dir, [](hid_t f) { H5Ldelete(f, "/samples/level", H5P_DEFAULT); });
  EXPECT_HAS(open_error(path), path + ": dataset '/samples/level' is missing");
}

TEST(PatchStore, MisshapenDataset) {
  testing::TempDir dir;
  const std::string path = damaged(dir, [](hid_t f) {
    H5Ldelete(f, "/samples/label", H5P_DEFAULT);
    const hsize_t dims[1] = {4};
    H5Dataspace space(H5Screate_simple(1, dims, nullptr));
    H5Dataset ds(H5Dcreate2(f, "/samples/label", H5T_STD_I32LE, space.get(), H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT));
  });
  EXPECT_HAS(open_error(path), "dataset '/samples/label' has shape [4], expected [5]");
}

TEST(PatchStore, NeighbourOutsideTheFile) {
  testing::TempDir dir;
  const std::string path = damaged(dir, [](hid_t f) {
    H5Dataset ds(H5Dopen2(f, "/samples/next", H5P_DEFAULT));
    const int32_t next[5] = {1, 2, 9000, 4, -1};
    H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, next);
  });
  EXPECT_HAS(open_error(path),
             "dataset '/samples/next': entry 2 is 9000, which points outside the file's 5 samples");
}

TEST(PatchStore, NeighbourInAnotherPatient) {
  testing::TempDir dir;
  const std::string path = damaged(dir, [](hid_t f) {
    H5Dataset ds(H5Dopen2(f, "/samples/next", H5P_DEFAULT));
    const int32_t next[5] = {1, 2, 3, 4, -1};
    H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, next);
  });
  EXPECT_HAS(open_error(path), "links sample 2 to sample 3 of another patient or slice");
}

TEST(PatchStore, WriterRejectsBadNeighbourIndex) {
  testing::TempDir dir;
  VcfStoreWriter w((dir.path() / "s.h5").string(), 2, 2, 0, "x");
  std::vector<uint8_t> px(4, 0);
  const VcfPatchRecord r{px, 0, 0, 0, -1, 5};
  EXPECT_THROW(w.add_patient("P", 1, std::span<const VcfPatchRecord>(&r, 1)), core::ConfigError);
}

}  // namespace
}  // namespace fracsweep::datastore
