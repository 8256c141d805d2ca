#include "datastore/patch_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/h5.h"
#include "reseal.h"
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

// Flips bit `bit` of the byte `at` bytes into the first occurrence of `pattern` in the file.
void flip_bit_in(const std::string& path, const std::string& pattern, size_t at, int bit) {
  std::string bytes = core::read_file(path);
  const size_t where = bytes.find(pattern);
  ASSERT_NE(where, std::string::npos) << "pattern not in " << path;
  ASSERT_EQ(bytes.find(pattern, where + 1), std::string::npos) << "pattern not unique";
  bytes[where + at] = static_cast<char>(bytes[where + at] ^ (1 << bit));
  core::write_file_atomic(path, bytes);
}

TEST(PatchStore, AFlippedBitInAPixelIsAnErrorNamingTheImageNotAWrongPixel) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "s.h5").string();
  write_small_store(path, 0);  // raw: HDF5 hands back the stored bytes unchecked
  std::string image4;          // patient 1, k = 1: 50, 51, ...
  for (int i = 0; i < kH * kW; ++i) image4.push_back(static_cast<char>(50 + i));
  flip_bit_in(path, image4, 7, 2);
  const PatchStore s = PatchStore::open(path);
  std::vector<uint8_t> image(s.image_bytes());
  s.read_image(3, image);  // the others read as written
  EXPECT_EQ(image[0], 40);
  try {
    s.read_image(4, image);
    FAIL() << "a damaged image was read";
  } catch (const core::ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), path);
    EXPECT_HAS(std::string(e.what()), "/images patch 4 does not match the checksum");
  }
}

TEST(PatchStore, AFlippedBitInALabelIsAnErrorNamingTheDatasetNotAWrongLabel) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "s.h5").string();
  write_small_store(path, 0);
  const int32_t labels[] = {0, 1, 0, 0, 2};  // a valid label either way after the flip below
  flip_bit_in(path, std::string(reinterpret_cast<const char*>(labels), sizeof labels), 0, 0);
  const std::string error = open_error(path);
  EXPECT_HAS(error, "/samples/label");
  EXPECT_HAS(error, "do not match the checksum");
}

// HDF5's default (version 0) superblock and object headers carry no checksums, and HDF5
// 1.10 overruns a buffer parsing some damaged ones: such a file never reaches HDF5.
TEST(PatchStore, AFileWithoutChecksummedMetadataIsRefusedBeforeHdf5ParsesIt) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "old.h5").string();
  H5File(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)).reset();
  EXPECT_HAS(open_error(path), path + ": HDF5 superblock version 0, without checksums");
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
  testing::reseal_checksums(f.get());
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
  EXPECT_HAS(open_error(path), "schema version 99 is newer than this fracsweep reads (up to 2)");
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

namespace fracsweep::datastore {
namespace {

// LeakSanitizer cannot see an HDF5 handle left open (HDF5 closes what is open
// at exit), so this counts them: after reading a store, after refusing stores
// our checks reject, and after writing one, nothing of HDF5 is left open.
TEST(PatchStore, LeavesNoHdf5ObjectOpenAfterReadingRefusingOrWriting) {
  testing::TempDir dir;
  const auto open_objects = [] { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); };
  ASSERT_EQ(open_objects(), 0);
  const std::string written = (dir.path() / "store.h5").string();
  write_small_store(written, 1);
  EXPECT_EQ(open_objects(), 0) << "after writing";
  {
    const PatchStore store = PatchStore::open(written);
    std::vector<uint8_t> image(store.image_bytes());
    store.read_image(0, image);
    EXPECT_GT(open_objects(), 0);
  }
  EXPECT_EQ(open_objects(), 0) << "after reading";
  open_error(damaged(dir, [](hid_t f) { H5Adelete(f, "format"); }));
  open_error(damaged(dir, [](hid_t f) { H5Ldelete(f, "/samples/level", H5P_DEFAULT); }));
  EXPECT_EQ(open_objects(), 0) << "after refusing";
}

}  // namespace
}  // namespace fracsweep::datastore
