// Writes a whole pelvis phantom data set to a patch store: what
// `fracsweep synth pelvis` runs.
//
// Images are generated on `threads` worker threads and written in index order
// by the calling thread, the only one that talks to HDF5, as synth_vcf.h does;
// the same options give the same file byte for byte, whatever the thread count.
#pragma once

#include <string>

#include "datastore/phantom_pelvis.h"
#include "datastore/synth_vcf.h"

namespace fracsweep::datastore {

struct PelvisSynthOptions {
  PelvisPhantomOptions phantom;
  int compression = 4;       // deflate level, 0 = none .. 9
  int threads = 1;           // generator threads, >= 1
  std::string preview_path;  // a PNG contact sheet when not empty
  int preview_per_class = 3; // fractured and normal examples on the sheet
};

struct PelvisSynthSummary {
  int images = 0;
  int fractured = 0;
  size_t points = 0;
};

// Throws core::ConfigError for bad options (naming the option), core::IoError
// when the store or the preview cannot be written. Nothing is left under
// `path` unless the whole store was written. progress(done, total) after each image.
PelvisSynthSummary write_pelvis_phantom_store(const std::string& path,
                                              const PelvisSynthOptions& options,
                                              const SynthProgress& progress = {});

// The provenance text stored in the file's `source` attribute.
std::string pelvis_phantom_source(const PelvisPhantomOptions& options);

}  // namespace fracsweep::datastore
