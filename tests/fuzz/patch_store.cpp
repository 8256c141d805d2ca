// The patch store opener (datastore/patch_store.h) on any file: open, validate, then
// read every image (and, for a pelvis store, every flipped twin and warp grid).
#include <cstdint>

#include "datastore/hdf5_exit.h"
#include "datastore/patch_store.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fracsweep::datastore::skip_hdf5_exit_cleanup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fracsweep;
  static const fuzz::ScratchFile file(".h5");
  file.write(data, size);
  fuzz::expect_clear_error("PatchStore::open", [&] {
    datastore::PatchStore::open(file.path()).read_every_item();
  });
  return 0;
}
