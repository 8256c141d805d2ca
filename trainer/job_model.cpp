// See job_model.h.
#include "trainer/job_model.h"

#include <torch/torch.h>

#include "core/error.h"
#include "spec/variants.h"
#include "trainer/models/aasn_job.h"
#include "trainer/models/exported.h"
#include "trainer/models/image_label_baselines.h"
#include "trainer/models/nts_net.h"
#include "trainer/models/pair_baselines.h"
#include "trainer/models/resnet_baselines.h"
#include "trainer/models/tsccn_job.h"

namespace fracsweep::trainer {
namespace {

// One file of trainer/models/: which variants it builds, and how.
struct ModelFamily {
  bool (*builds)(const std::string& variant);
  std::unique_ptr<JobModel> (*make)(const spec::JobConfig& job,
                                    const std::array<int64_t, 3>& class_counts);
};

template <std::unique_ptr<JobModel> (*Make)(const spec::JobConfig&)>
std::unique_ptr<JobModel> without_counts(const spec::JobConfig& job,
                                         const std::array<int64_t, 3>& /*class_counts*/) {
  return Make(job);
}

// Every model this build trains. A new model file adds one line here (and its
// variants to spec/variants.cpp); the variants' names are in the model files.
const ModelFamily kFamilies[] = {
    {is_tsccn_variant, without_counts<make_tsccn_job_model>},
    {is_resnet_baseline, make_resnet_baseline},
    {is_pair_baseline, without_counts<make_pair_baseline>},
    {is_nts_net_variant, without_counts<make_nts_net>},
    {is_image_label_variant, without_counts<make_image_label_job_model>},
    {is_aasn_variant, without_counts<make_aasn_job_model>},
};

}  // namespace

std::string paper_sampler(const std::string& variant) {
  // A variant not built in (a model exported from PyTorch) takes the vertebra models' default.
  const spec::Variant* v = spec::VariantRegistry::built_in().find(variant);
  return v != nullptr ? v->defaults.paper_sampler : spec::VariantDefaults{}.paper_sampler;
}

bool can_build(const std::string& variant) {
  for (const ModelFamily& f : kFamilies)
    if (f.builds(variant)) return true;
  return false;
}

std::unique_ptr<JobModel> make_job_model(const spec::JobConfig& job,
                                         const std::array<int64_t, 3>& class_counts) {
  if (!job.model.package.empty()) return make_exported_job_model(job);  // from PyTorch
  for (const ModelFamily& f : kFamilies)
    if (f.builds(job.model.variant)) return f.make(job, class_counts);
  std::string names;
  for (const spec::Variant& v : spec::VariantRegistry::built_in().variants())
    if (can_build(v.name)) names += (names.empty() ? "" : ", ") + v.name;
  throw core::ConfigError(core::str_cat("model.variant '", job.model.variant,
                                        "' cannot be trained by this build; available: ", names));
}

}  // namespace fracsweep::trainer
