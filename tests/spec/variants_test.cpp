// The variant registry as data: its built-in entries are consistent with each other and
// with the paper tables, a registry extends by value with a variant described elsewhere
// (as an exported model's manifest would describe it), and jobs read it.
#include "spec/variants.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "spec/job_config.h"

namespace fracsweep::spec {
namespace {

const VariantRegistry& reg() { return VariantRegistry::built_in(); }

TEST(Variants, BuiltInsAreConsistent) {
  std::set<std::string> names;
  for (const Variant& v : reg().variants()) {
    SCOPED_TRACE(v.name);
    EXPECT_TRUE(names.insert(v.name).second) << "listed twice";
    EXPECT_FALSE(v.summary.empty());
    EXPECT_EQ(v.source, "built-in");
    EXPECT_EQ(v.headline, task_info(v.task).headline);
    EXPECT_TRUE(v.defaults.paper_sampler == "oversample" || v.defaults.paper_sampler == "shuffle");
    EXPECT_EQ(v.trains, !v.loss_terms.empty());
    EXPECT_EQ(v.trains, v.input != Input::kNone);
    // Inputs and outputs belong to the task: patches for vertebrae, images for pelvises.
    if (v.task == Task::kVertebra) {
      EXPECT_EQ(v.output, Output::kClassScores);
      EXPECT_TRUE(v.input == Input::kNone || v.input == Input::kPatch ||
                  v.input == Input::kPatchWithNeighbours);
    } else {
      EXPECT_TRUE(v.input == Input::kImage || v.input == Input::kImageTwinWarp);
      EXPECT_EQ(v.defaults.augment, false);  // the stored warp forbids rotations and flips
    }
    for (const TableRow& row : v.tables) {
      const PaperTable* t = reg().find_table(row.table);
      ASSERT_NE(t, nullptr) << row.table;
      EXPECT_EQ(t->task, v.task);
      EXPECT_FALSE(row.row.empty());
    }
  }
  EXPECT_NE(reg().find(kDefaultVariant), nullptr);
}

TEST(Variants, EveryTableHasRowsAndEachTaskHasTables) {
  for (const PaperTable& t : reg().tables()) {
    SCOPED_TRACE(t.id);
    EXPECT_FALSE(reg().rows_of(t.id).empty());
    EXPECT_FALSE(t.title.empty());
    // A table with component columns ticks them from its rows' flags.
    if (!t.flag_headers.empty()) {
      bool ticked = false;
      for (const Variant* v : reg().rows_of(t.id))
        ticked = ticked || !v->row_in(t.id)->flags.empty();
      EXPECT_TRUE(ticked);
    }
  }
  for (Task task : {Task::kVertebra, Task::kPelvis}) {
    int tables = 0;
    for (const PaperTable& t : reg().tables()) tables += t.task == task && !t.by_data_size;
    EXPECT_GE(tables, 1) << task_name(task);
    EXPECT_EQ(parse_task(task_name(task)), task);
  }
  EXPECT_EQ(parse_task("spine"), std::nullopt);
}

// TSCCN's and AASN's tables list the papers' rows (TSCCN Tables I-III, AASN Tables 1-2):
// counted here from the papers, not from the registry.
TEST(Variants, TablesHoldThePapersRowCounts) {
  EXPECT_EQ(reg().rows_of("tsccn-1").size(), 10u);  // nine competing methods and TSCCN
  EXPECT_EQ(reg().rows_of("tsccn-2").size(), 2u);   // ResNet and TSCCN at three sizes
  EXPECT_EQ(reg().rows_of("tsccn-3").size(), 6u);   // five ablations and TSCCN
  EXPECT_EQ(reg().rows_of("aasn-1").size(), 7u);    // six baselines and AASN
  EXPECT_EQ(reg().rows_of("aasn-2").size(), 6u);    // vanilla to the full model
}

TEST(Variants, UnknownNamesAreOneLineNamingTheKnownOnes) {
  try {
    reg().at("tscnn", "job.yaml");
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("job.yaml: model.variant: 'tscnn' is unknown (known: ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
    for (const Variant& v : reg().variants()) EXPECT_NE(what.find(v.name), std::string::npos);
  }
  EXPECT_THROW(reg().table_at("tsccn-9"), core::ConfigError);
  EXPECT_EQ(reg().find("tscnn"), nullptr);
}

// What an exported model's manifest gives: a name, a task, inputs, outputs and tables.
Variant described(const std::string& name, Task task, const std::string& table) {
  Variant v = variant_for_task(name, task);
  v.summary = "a model described by data";
  v.loss_terms = {"ce"};
  v.source = "models/" + name + "/manifest.json";
  if (!table.empty()) v.tables = {{table, "Own model", {}}};
  return v;
}

TEST(Variants, ARegistryExtendsByValue) {
  const VariantRegistry extended = reg().with(described("own-net", Task::kVertebra, "tsccn-3"));
  EXPECT_EQ(extended.variants().size(), reg().variants().size() + 1);
  EXPECT_EQ(reg().find("own-net"), nullptr);  // the built-in table is untouched
  ASSERT_NE(extended.find("own-net"), nullptr);
  EXPECT_EQ(extended.rows_of("tsccn-3").back()->name, "own-net");
  EXPECT_EQ(extended.find("own-net")->headline, "aAUC");

  // A pelvis model takes the task's defaults, and a job may name it only where the
  // registry that holds it is passed on.
  const VariantRegistry pelvis = reg().with(described("own-heatmap", Task::kPelvis, "aasn-1"));
  const std::string text = "output: o\ndata: {store: p.h5}\nmodel: {variant: own-heatmap}\n";
  EXPECT_THROW(parse_job_config(text, "t"), core::ConfigError);
  const JobConfig job = parse_job_config(text, "t", pelvis);
  EXPECT_EQ(job.train.lr, 1e-5);
  EXPECT_EQ(job.train.selection_metric, "AUC");
  EXPECT_EQ(job.train.rotation, 0);
}

TEST(Variants, ADescriptionThatDisagreesIsRefusedNamingItsSource) {
  const auto refused = [](const Variant& v, const std::string& says) {
    try {
      reg().with(v);
      ADD_FAILURE() << "accepted " << v.name;
    } catch (const core::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(v.source), std::string::npos) << what;
      EXPECT_NE(what.find(says), std::string::npos) << what;
    }
  };
  refused(described(std::string(kDefaultVariant), Task::kVertebra, ""), "already registered");
  refused(described("own-net", Task::kVertebra, "table-9"), "table 'table-9' is unknown");
  refused(described("own-net", Task::kPelvis, "tsccn-1"), "is a pelvis model");
  Variant flagged = described("own-net", Task::kPelvis, "aasn-2");
  flagged.tables[0].flags = {{"XX", ""}};
  refused(flagged, "has no column 'XX'");
  refused(described("", Task::kVertebra, ""), "needs a name");
}

}  // namespace
}  // namespace fracsweep::spec
