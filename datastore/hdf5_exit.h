// HDF5 closes what is still open when the process exits. After a write failed
// (a full disk) it cannot close that file and loops or crashes there, turning a
// clear error into a hang or a core dump; every file here is closed by its
// owner, so programs switch that clean-up off first thing, before any other
// HDF5 call. (A header without HDF5's, for the programs' main().)
#pragma once

namespace fracsweep::datastore {

void skip_hdf5_exit_cleanup();

}  // namespace fracsweep::datastore
