// The variant registry (spec/variants.h) against what the trainer builds: every variant
// that trains is one the model factory accepts, with the task, inputs and loss terms the
// registry gives it, and every model file's variant is registered.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "core/error.h"
#include "spec/job_config.h"
#include "spec/variants.h"
#include "trainer/job_model.h"
#include "trainer/task.h"

namespace fracsweep::trainer {
namespace {

using spec::Variant;
using spec::VariantRegistry;

spec::JobConfig tiny_job(const std::string& variant) {
  return spec::parse_job_config(
      "preset: tiny\noutput: o\ndata: {store: s.h5}\nmodel: {variant: " + variant + "}\n",
      "registry test job");
}

TEST(VariantRegistry, EveryVariantThatTrainsIsBuiltAsTheRegistryDescribesIt) {
  int built = 0;
  for (const Variant& v : VariantRegistry::built_in().variants()) {
    SCOPED_TRACE(v.name);
    // A variant that trains nothing (the learning curve) has no model.
    EXPECT_EQ(can_build(v.name), v.trains);
    if (!v.trains) continue;
    const spec::JobConfig job = tiny_job(v.name);
    torch::manual_seed(1);
    const std::unique_ptr<JobModel> model = make_job_model(job, {10, 5, 5});
    ASSERT_NE(model, nullptr);
    ++built;
    EXPECT_EQ(model->binary(), v.task == spec::Task::kPelvis);
    EXPECT_EQ(model->uses_neighbours(), v.input == spec::Input::kPatchWithNeighbours);
    const std::array<const char*, kLossTerms> logged = model->term_names();
    for (const std::string& term : v.loss_terms)
      EXPECT_TRUE(std::any_of(logged.begin(), logged.end(),
                              [&](const char* n) { return n != nullptr && term == n; }))
          << "loss term " << term << " is not one the model logs";
    // The task the run takes: its name and the metric it selects and reports by.
    const std::unique_ptr<TrainingTask> task = make_training_task(job);
    EXPECT_EQ(task->name(), spec::task_name(v.task));
    EXPECT_EQ(task->headline_metric(), v.headline);
    EXPECT_EQ(paper_sampler(v.name), v.defaults.paper_sampler);
  }
  EXPECT_GE(built, 27);  // the papers' models, ablations and baselines
}

// A name the registry lacks is refused before any model is built, in one line naming the
// known ones; one the registry holds but no model file builds (a description of a model
// from elsewhere) is refused by the factory with the ones it can build.
TEST(VariantRegistry, UnknownVariantsAreRefusedInOneLine) {
  try {
    tiny_job("resnet-9000");
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.variant: 'resnet-9000' is unknown (known: "), std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const Variant& v : VariantRegistry::built_in().variants())
      EXPECT_NE(what.find(v.name), std::string::npos) << v.name;
  }
  spec::JobConfig job = tiny_job(std::string(spec::kDefaultVariant));
  job.model.variant = "exported-net";
  EXPECT_FALSE(can_build(job.model.variant));
  try {
    make_job_model(job, {10, 5, 5});
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'exported-net' cannot be trained by this build; available: "),
              std::string::npos)
        << what;
    EXPECT_NE(what.find(std::string(spec::kDefaultVariant)), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace fracsweep::trainer
