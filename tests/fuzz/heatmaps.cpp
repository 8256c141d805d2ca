// The heatmap file reader (datastore/heatmaps.h) behind `fracsweep report`'s FROCs.
#include "datastore/h5.h"
#include "datastore/hdf5_exit.h"
#include "datastore/heatmaps.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fracsweep::datastore::skip_hdf5_exit_cleanup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  static const fuzz::ScratchFile file(".h5");
  file.write(data, size);
  // Heatmap files may come from other tools (h5py) in HDF5's unchecked formats, whose parser
  // in HDF5 1.10 can crash on damaged files (RELIABILITY.md). fracsweep writes its own with
  // checksummed metadata, and those are what this target fuzzes: the mutants that keep it.
  try {
    datastore::check_checksummed_superblock(file.path(), "heatmap files");
  } catch (const core::ConfigError&) {
    return 0;
  }
  fuzz::expect_clear_error("read_heatmaps", [&] { (void)datastore::read_heatmaps(file.path()); });
  return 0;
}
