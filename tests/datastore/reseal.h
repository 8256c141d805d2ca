// For tests that edit a store's values with HDF5 to check the validation behind the
// checksums: recomputes every dataset's `crc32` attribute (Note [Checksums] in
// datastore/h5_io.h), as a tool that knew them would, so that the edit reaches the
// checks that come after them.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <vector>

#include "datastore/h5.h"
#include "datastore/h5_io.h"

namespace fracsweep::testing {

inline void reseal_checksums(hid_t file) {
  H5Ovisit(
      file, H5_INDEX_NAME, H5_ITER_NATIVE,
      [](hid_t root, const char* name, const H5O_info_t* info, void*) -> herr_t {
        if (info->type != H5O_TYPE_DATASET) return 0;
        datastore::H5Dataset ds(H5Dopen2(root, name, H5P_DEFAULT));
        if (H5Aexists(ds.get(), "crc32") <= 0) return 0;
        datastore::H5Type type(H5Dget_type(ds.get()));
        datastore::H5Dataspace space(H5Dget_space(ds.get()));
        std::vector<uint8_t> values(H5Sget_simple_extent_npoints(space.get()) * H5Tget_size(type.get()));
        if (!values.empty()) H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
        H5Adelete(ds.get(), "crc32");
        datastore::write_attr_int(ds.get(), "crc32", datastore::crc32_of(values), name);
        return 0;
      },
      nullptr);
}

}  // namespace fracsweep::testing
