// Writes a whole vertebra phantom data set to a patch store: what
// `fracsweep synth vcf` runs.
//
// Patients are generated on `threads` worker threads (each patient depends only
// on the options and its index, see phantom_vcf.h) and written in index order
// by the calling thread, the only one that talks to HDF5. At most a few
// patients per thread are held in memory, so the full default set (about 8,300
// patches of 224x224) streams through in a few MB. The same options give the
// same file byte for byte, whatever the thread count.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>

#include "datastore/phantom_vcf.h"

namespace fracsweep::datastore {

struct VcfSynthOptions {
  VcfPhantomOptions phantom;
  int compression = 0;       // 0 = none, 1..9 = deflate level
  int threads = 1;           // generator threads, >= 1
  std::string preview_path;  // a PNG contact sheet when not empty
  int preview_per_class = 8;
};

struct VcfSynthSummary {
  int patients = 0;
  size_t patches = 0;
  std::array<size_t, 3> per_class{};  // normal, benign VCF, malignant VCF
};

// Called after each written patient with (patients written, total).
using SynthProgress = std::function<void(int done, int total)>;

// Throws core::ConfigError for bad options (naming the option), core::IoError
// when the store or the preview cannot be written. Nothing is left under
// `path` unless the whole store was written.
VcfSynthSummary write_vcf_phantom_store(const std::string& path, const VcfSynthOptions& options,
                                        const SynthProgress& progress = {});

// The provenance text stored in the file's `source` attribute.
std::string vcf_phantom_source(const VcfPhantomOptions& options);

}  // namespace fracsweep::datastore
