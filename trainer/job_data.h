// A job's data: its split of the store's patients and the samples of each part.
//
// The split is a pure function of the store's patient labels and the job's
// data section (see datastore/split.h), so every rank and every resumed run
// derives the same one; split.json records it by patient id for the reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datastore/patch_store.h"
#include "spec/job_config.h"

namespace fracsweep::trainer {

struct JobSplit {
  std::vector<int32_t> train, val, test;                      // patient indices, ascending
  std::vector<uint32_t> train_samples, val_samples, test_samples;  // store indices, ascending
};

// Throws core::ConfigError when a part would be empty.
JobSplit resolve_split(const datastore::SampleIndex& index, const spec::DataConfig& data);

// {"train": [ids], "val": [...], "test": [...], plus the split settings} as JSON.
std::string split_json(const datastore::SampleIndex& index, const JobSplit& split,
                       const spec::DataConfig& data);

}  // namespace fracsweep::trainer
