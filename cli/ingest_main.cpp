// Entry point of `fracsweep-ingest`, which `fracsweep` hands `ingest` to
// (cli/commands.h); it can be run directly with the same words. It is apart
// because ITK and GDCM, which only `ingest` needs, cost every process that
// links them some 25 ms to load.
#include "cli/commands.h"
#include "cli/dispatch.h"
#include "datastore/hdf5_exit.h"

namespace {

using fracsweep::cli::Command;
namespace cli = fracsweep::cli;

constexpr Command kCommands[] = {
    {"ingest", "real images into a patch store: ingest vcf|pelvis MANIFEST.csv OUT.h5 (DICOM, NIfTI, PNG)",
     cli::run_ingest},
};

}  // namespace

int main(int argc, char** argv) {
  fracsweep::datastore::skip_hdf5_exit_cleanup();
  return cli::dispatch(argc, argv, kCommands);
}
