#include "datastore/synth_vcf.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/patch_store.h"
#include "test_util.h"

namespace fracsweep::datastore {
namespace {

VcfSynthOptions small(uint64_t seed, int threads) {
  VcfSynthOptions o;
  o.phantom.benign_patients = 3;
  o.phantom.malignant_patients = 2;
  o.phantom.patch_size = 24;
  o.phantom.seed = seed;
  o.threads = threads;
  return o;
}

TEST(SynthVcf, WritesEveryPatientInOrderMatchingTheGenerator) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "p.h5").string();
  const auto summary = write_vcf_phantom_store(path, small(4, 3));
  const PatchStore store = PatchStore::open(path);
  const auto& ix = store.index();
  EXPECT_EQ(summary.patients, 5);
  EXPECT_EQ(summary.patches, store.size());
  EXPECT_EQ(store.info().source, vcf_phantom_source(small(4, 3).phantom));
  std::vector<uint8_t> image(store.image_bytes());
  size_t i = 0;
  for (int p = 0; p < 5; ++p) {
    const PhantomPatient expected = synth_vcf_patient(small(4, 1).phantom, p);
    EXPECT_EQ(ix.patient_ids[p], expected.id);
    EXPECT_EQ(ix.patient_label[p], p < 3 ? 1 : 2);
    for (const VertebraPatch& v : expected.patches) {
      ASSERT_LT(i, store.size());
      EXPECT_EQ(ix.label[i], v.label);
      EXPECT_EQ(ix.level[i], v.level);
      EXPECT_EQ(ix.patient[i], p);
      store.read_image(i, image);
      EXPECT_EQ(image, v.pixels) << "sample " << i;
      ++i;
    }
  }
  EXPECT_EQ(i, store.size());
  size_t per_class[3] = {0, 0, 0};
  for (int32_t l : ix.label) ++per_class[l];
  for (int c = 0; c < 3; ++c) EXPECT_EQ(summary.per_class[c], per_class[c]);
}

TEST(SynthVcf, SameSeedSameBytesWhateverTheThreads) {
  testing::TempDir dir;
  const auto a = (dir.path() / "a.h5").string(), b = (dir.path() / "b.h5").string(),
             c = (dir.path() / "c.h5").string();
  write_vcf_phantom_store(a, small(9, 1));
  write_vcf_phantom_store(b, small(9, 4));
  write_vcf_phantom_store(c, small(10, 2));
  EXPECT_EQ(core::read_file(a), core::read_file(b));
  EXPECT_NE(core::read_file(a), core::read_file(c));
}

TEST(SynthVcf, ReportsProgressAndRejectsBadOptions) {
  testing::TempDir dir;
  const auto path = (dir.path() / "p.h5").string();
  std::vector<int> seen;
  write_vcf_phantom_store(path, small(1, 2), [&](int done, int total) {
    EXPECT_EQ(total, 5);
    seen.push_back(done);
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4, 5}));
  auto bad = small(1, 0);
  EXPECT_THROW(write_vcf_phantom_store(path + "2", bad), core::ConfigError);
  bad = small(1, 1);
  bad.phantom.patch_size = 4;
  EXPECT_THROW(write_vcf_phantom_store(path + "3", bad), core::ConfigError);
  bad = small(1, 1);
  bad.compression = 12;
  EXPECT_THROW(write_vcf_phantom_store(path + "4", bad), core::ConfigError);
  EXPECT_FALSE(std::filesystem::exists(path + "4"));
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))  // nor its temporary file
    EXPECT_NE(e.path().filename().string().rfind("p.h54", 0), 0u) << e.path();
}

}  // namespace
}  // namespace fracsweep::datastore
