// See job_data.h.
#include "trainer/job_data.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/error.h"
#include "datastore/sampler.h"
#include "datastore/split.h"

namespace fracsweep::trainer {

JobSplit resolve_split(const datastore::SampleIndex& index, const spec::DataConfig& data) {
  datastore::Split s =
      data.split == "kfold"
          ? datastore::kfold_split(index.patient_label, data.folds, data.fold, data.val_share,
                                   data.split_seed)
          : datastore::random_split(index.patient_label, 3, 1, 1, data.split_seed, data.repeat);
  JobSplit out;
  out.train = data.subset < 1 ? datastore::subset_patients(s.train, index.patient_label,
                                                          data.subset, data.split_seed)
                              : s.train;
  std::sort(out.train.begin(), out.train.end());
  out.val = std::move(s.val);
  out.test = std::move(s.test);
  CHECK_OR_THROW(core::ConfigError, !out.train.empty() && !out.val.empty() && !out.test.empty(),
                 "the split leaves a part without patients (train ", out.train.size(), ", val ",
                 out.val.size(), ", test ", out.test.size(), " of ", index.num_patients(),
                 "); use a larger store or fewer folds");
  out.train_samples = datastore::samples_of_patients(index, out.train);
  out.val_samples = datastore::samples_of_patients(index, out.val);
  out.test_samples = datastore::samples_of_patients(index, out.test);
  return out;
}

std::string split_json(const datastore::SampleIndex& index, const JobSplit& split,
                       const spec::DataConfig& data) {
  const auto ids = [&](const std::vector<int32_t>& patients) {
    nlohmann::json a = nlohmann::json::array();
    for (int32_t p : patients) a.push_back(index.patient_ids[static_cast<size_t>(p)]);
    return a;
  };
  nlohmann::json j;
  j["split"] = data.split;
  j["split_seed"] = data.split_seed;
  if (data.split == "kfold") {
    j["folds"] = data.folds;
    j["fold"] = data.fold;
    j["val_share"] = data.val_share;
  } else {
    j["ratio"] = {3, 1, 1};
    j["repeat"] = data.repeat;
  }
  j["subset"] = data.subset;
  j["train"] = ids(split.train);
  j["val"] = ids(split.val);
  j["test"] = ids(split.test);
  j["samples"] = {{"train", split.train_samples.size()},
                  {"val", split.val_samples.size()},
                  {"test", split.test_samples.size()}};
  return j.dump(1) + "\n";
}

}  // namespace fracsweep::trainer
