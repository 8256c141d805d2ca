// Writes the HDF5 seed inputs of the patch store and heatmap fuzz targets with
// fracsweep's own writers: small, so that mutating them reaches past the header.
//   fracsweep_fuzz_seeds DIR   writes DIR/{patch_store,heatmaps}/*.h5
#include <cstdio>
#include <filesystem>
#include <vector>

#include "datastore/hdf5_exit.h"
#include "datastore/heatmaps.h"
#include "datastore/synth_pelvis.h"
#include "datastore/synth_vcf.h"

int main(int argc, char** argv) {
  using namespace fracsweep;
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  datastore::skip_hdf5_exit_cleanup();
  const fs::path dir = argv[1];
  fs::create_directories(dir / "patch_store");
  fs::create_directories(dir / "heatmaps");

  datastore::VcfSynthOptions vcf;
  vcf.phantom.benign_patients = 2;
  vcf.phantom.malignant_patients = 1;
  vcf.phantom.patch_size = 16;
  vcf.phantom.slices = 1;
  vcf.phantom.seed = 1;
  datastore::write_vcf_phantom_store((dir / "patch_store" / "vcf_raw.h5").string(), vcf);
  vcf.compression = 4;
  datastore::write_vcf_phantom_store((dir / "patch_store" / "vcf_deflated.h5").string(), vcf);

  datastore::PelvisSynthOptions pelvis;
  pelvis.phantom.images = 2;
  pelvis.phantom.fractured = 1;
  pelvis.phantom.height = 32;
  pelvis.phantom.width = 64;
  pelvis.phantom.seed = 1;
  datastore::write_pelvis_phantom_store((dir / "patch_store" / "pelvis.h5").string(), pelvis);

  datastore::HeatmapSet heat;
  heat.radius = 2;
  for (int i = 0; i < 2; ++i)
    heat.images.push_back({3, 4, std::vector<float>(12, 0.25f * static_cast<float>(i + 1)), {{1, 2}}});
  datastore::write_heatmaps((dir / "heatmaps" / "heatmaps.h5").string(), heat);
  return 0;
}
