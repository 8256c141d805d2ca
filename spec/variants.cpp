// See variants.h. built_in_variants() below is the one place the papers' variants are listed.
#include "spec/variants.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace fracsweep::spec {
namespace {

using core::ConfigError;

const TaskInfo kVertebraTask{Task::kVertebra,
                             3,
                             "aAUC",
                             {"aSE", "aSP", "aAUC", "mAP"},
                             {"aAUC", "mAP", "aSE", "aSP", "loss"},
                             "trains on vertebra patches (a VCF store)"};
const TaskInfo kPelvisTask{Task::kPelvis,
                           1,
                           "AUC",
                           {"SE", "SP", "AUC", "AP"},
                           {"AUC", "AP", "loss"},
                           "trains on pelvis images with their twins and warps (a pelvis store)"};

// The papers' tables, in the order the report prefers them when a sweep fits several.
std::vector<PaperTable> paper_tables() {
  const auto table = [](std::string id, Task task, std::string title) {
    PaperTable t;
    t.id = std::move(id);
    t.task = task;
    t.title = std::move(title);
    return t;
  };
  PaperTable competing = table("tsccn-1", Task::kVertebra, "Table I. Competing methods");
  competing.per_class = true;
  PaperTable data_size = table("tsccn-2", Task::kVertebra, "Table II. Amount of training data");
  data_size.by_data_size = true;
  PaperTable aasn_ablation = table(
      "aasn-2", Task::kPelvis, "Table 2. Ablation study, gain over the baseline in parentheses");
  aasn_ablation.gains = true;
  aasn_ablation.flag_headers = {"FF", "FA", "CL"};
  return {table("tsccn-3", Task::kVertebra, "Table III. Ablation study"), competing, data_size,
          table("aasn-1", Task::kPelvis, "Table 1. Classification and localization"),
          aasn_ablation};
}

// A TSCCN variant: Table III's row, and Table I's and II's for the full model.
Variant tsccn(std::string name, std::string row, std::vector<std::string> terms, bool neighbours,
              std::string summary) {
  Variant v = variant_for_task(std::move(name), Task::kVertebra);
  v.summary = std::move(summary);
  v.input = neighbours ? Input::kPatchWithNeighbours : Input::kPatch;
  v.loss_terms = std::move(terms);
  v.tables = {{"tsccn-3", std::move(row), {}}};
  return v;
}

// A Table I baseline on one vertebra patch.
Variant baseline(std::string name, std::string row, std::vector<std::string> terms,
                 std::string sampler, std::string summary) {
  Variant v = variant_for_task(std::move(name), Task::kVertebra);
  v.summary = std::move(summary);
  v.loss_terms = std::move(terms);
  v.tables = {{"tsccn-1", std::move(row), {}}};
  v.defaults.paper_sampler = std::move(sampler);
  return v;
}

// A pelvis variant: AASN's Table 2 rows and Table 1's baselines.
Variant pelvis(std::string name, Input input, Output output, std::vector<std::string> terms,
               std::vector<TableRow> tables, std::string summary) {
  Variant v = variant_for_task(std::move(name), Task::kPelvis);
  v.summary = std::move(summary);
  v.input = input;
  v.output = output;
  v.loss_terms = std::move(terms);
  v.tables = std::move(tables);
  return v;
}

TableRow table2(std::string row, std::vector<std::pair<std::string, std::string>> flags) {
  return {"aasn-2", std::move(row), std::move(flags)};
}

std::vector<Variant> built_in_variants() {
  using I = Input;
  using O = Output;
  std::vector<Variant> v;
  // TSCCN (Table III, top to bottom). The slots a TSCCN model logs: ce, d (its
  // discriminator), ce2 (benign/malignant), triplet and w (weight control).
  v.push_back(tsccn("single-stream", "Single-stream", {"ce", "ce2"}, false,
                    "TSCCN ablation: one ResNet-18 stream"));
  v.push_back(tsccn("single-stream+triplet", "Single-stream + triplet", {"ce", "ce2", "triplet"},
                    false, "TSCCN ablation: one stream with the triplet term (eq. 3)"));
  v.push_back(tsccn("two-stream", "Two-stream", {"ce", "ce2"}, false,
                    "TSCCN ablation: the classification and compare streams"));
  v.push_back(tsccn("two-stream+triplet", "Two-stream + triplet", {"ce", "ce2", "triplet"}, false,
                    "TSCCN ablation: two streams with the triplet term"));
  v.push_back(tsccn("two-stream+triplet+compare", "Two-stream + triplet + compare",
                    {"ce", "d", "ce2", "triplet"}, true,
                    "TSCCN ablation: the compare network and its discriminator (eq. 2)"));
  Variant full = tsccn("tsccn", "TSCCN", {"ce", "d", "ce2", "triplet", "w"}, true,
                       "TSCCN: two streams, triplet, compare network and weight control (eq. 6)");
  full.tables.push_back({"tsccn-1", "TSCCN", {}});
  full.tables.push_back({"tsccn-2", "TSCCN", {}});
  full.deviation =
      "TSCCN's weight loss (eq. 5) pulls u = w_R / w_C down to 1/û for a fracture, as the text "
      "of §III-C asks; printed literally, the equation would pull it up to û "
      "(trainer/losses.cpp, Note [Weight loss direction]).";
  // Table I's competing methods, all on ResNet-18.
  Variant resnet = baseline("resnet18", "ResNet-18", {"ce"}, "shuffle",
                            "ResNet-18 with cross-entropy (Table I; Table II's ResNet)");
  resnet.tables.push_back({"tsccn-2", "ResNet", {}});
  v.push_back(std::move(resnet));
  // RS is Table II's over-sampled ResNet "full" row, so it over-samples like TSCCN.
  v.push_back(baseline("rs", "RS", {"ce"}, "oversample", "ResNet-18 on re-sampled batches"));
  v.push_back(baseline("cb-rw", "CB-RW", {"ce"}, "shuffle",
                       "ResNet-18 with class-balanced re-weighting (train.cb_beta)"));
  Variant smote = baseline("smote", "SMOTE", {"ce"}, "oversample",
                           "ResNet-18 on SMOTE's synthetic minority samples (train.smote_k)");
  smote.deviation =
      "SMOTE synthesises each minority sample from a same-class neighbour within its "
      "over-sampled batch, not from the whole training set (trainer/models/pair_baselines.h).";
  v.push_back(std::move(smote));
  v.push_back(baseline("ldam", "LDAM", {"ce"}, "shuffle", "ResNet-18 with the LDAM margin loss"));
  v.push_back(baseline("ldam-drw", "LDAM-DRW", {"ce"}, "shuffle",
                       "LDAM with deferred re-weighting (train.drw_epoch)"));
  v.push_back(baseline("pc-net", "PC-Net", {"ce", "d"}, "oversample",
                       "ResNet-18 with pairwise confusion (train.pc_weight)"));
  Variant nts = baseline("nts-net", "NTS-Net", {"ce", "d", "ce2"}, "oversample",
                         "NTS-Net: navigator, teacher and scrutinizer on ResNet-18 (train.nts_*)");
  nts.deviation = "NTS-Net runs on ResNet-18 like the other rows; its authors used ResNet-50.";
  v.push_back(std::move(nts));
  v.push_back(baseline("sdl-net", "SDL-Net", {"ce", "d"}, "oversample",
                       "SDL-Net: two ResNet-18s with a synergic term (train.sdl_weight)"));
  v.push_back(std::move(full));
  // AASN's Table 2 (top to bottom), on a DenseNet-121; each decodes a heatmap.
  v.push_back(pelvis("aasn-vanilla", I::kImageTwinWarp, O::kHeatmap, {"bce"},
                     {table2("Vanilla", {})}, "AASN ablation: the DenseNet alone"));
  v.push_back(pelvis("aasn-ff", I::kImageTwinWarp, O::kHeatmap, {"bce"},
                     {table2("FF", {{"FF", ""}})},
                     "AASN ablation: the twin aligned as an image, features fused"));
  v.push_back(pelvis("aasn-ff-fa", I::kImageTwinWarp, O::kHeatmap, {"bce"},
                     {table2("FF + FA", {{"FF", ""}, {"FA", ""}})},
                     "AASN ablation: fused, the twin's features aligned by the warp"));
  v.push_back(pelvis("aasn-ff-cl", I::kImageTwinWarp, O::kHeatmap, {"bce", "contrastive"},
                     {table2("FF + CL", {{"FF", ""}, {"CL", ""}})},
                     "AASN ablation: fused, with contrastive learning (eq. 2)"));
  Variant noproj = pelvis(
      "aasn-ff-fa-cl-noproj", I::kImageTwinWarp, O::kHeatmap, {"bce", "contrastive"},
      {table2("FF + FA + CL (no proj.)", {{"FF", ""}, {"FA", ""}, {"CL", "no proj."}})},
      "AASN ablation: contrastive learning without the projection head");
  noproj.deviation =
      "“no proj.”: the contrastive learning compares the fused features themselves, without "
      "the non-linear projection head g.";
  v.push_back(std::move(noproj));
  v.push_back(pelvis("aasn", I::kImageTwinWarp, O::kHeatmap, {"bce", "contrastive"},
                     {{"aasn-1", "AASN", {}}, table2("AASN", {{"FF", ""}, {"FA", ""}, {"CL", ""}})},
                     "AASN: the anatomy-aware Siamese network (FF, FA and CL)"));
  // AASN's Table 1 baselines: on image labels (no heatmaps), then modelling symmetry.
  v.push_back(pelvis("chexnet", I::kImage, O::kClassScores, {"bce"}, {{"aasn-1", "CheXNet", {}}},
                     "CheXNet: global pooling and a linear layer on the image's label"));
  v.push_back(pelvis("lse-pooling", I::kImage, O::kClassScores, {"bce"},
                     {{"aasn-1", "Wang et al. (LSE pooling)", {}}},
                     "log-sum-exp pooling of one map (ChestX-ray8)"));
  v.push_back(pelvis("two-stage", I::kImage, O::kClassScores, {"stage1", "stage2"},
                     {{"aasn-1", "Wang et al. (two-stage)", {}}},
                     "LSE pooling, then a second DenseNet on its strongest window"));
  v.push_back(pelvis("liu-distance", I::kImageTwinWarp, O::kHeatmap, {"contrastive"},
                     {{"aasn-1", "Liu et al.", {}}},
                     "Liu et al.: the learned distance between image and twin as the heatmap"));
  v.push_back(pelvis("deepsymnet", I::kImageTwinWarp, O::kHeatmap, {"bce"},
                     {{"aasn-1", "DeepSymNet", {}}},
                     "DeepSymNet: fusion by the features' absolute difference"));
  v.push_back(pelvis("cbn", I::kImageTwinWarp, O::kHeatmap, {"bce"}, {{"aasn-1", "CBN", {}}},
                     "CBN: fusion by gated concatenation"));
  // A seeded learning curve that trains nothing (trainer/curve_job.h): for testing and
  // timing searches. It reports the vertebra task's metrics, but logs no loss.
  Variant curve = variant_for_task("curve", Task::kVertebra);
  curve.summary = "no model: a seeded learning curve, for testing and timing searches";
  curve.input = Input::kNone;
  curve.val_metrics = {"aAUC", "aSE", "aSP", "mAP"};
  curve.trains = false;
  v.push_back(std::move(curve));
  return v;
}

}  // namespace

std::string_view task_name(Task task) {
  return task == Task::kVertebra ? "vertebra" : "pelvis";
}

std::string_view input_name(Input input) {
  switch (input) {
    case Input::kNone: return "none";
    case Input::kPatch: return "patch";
    case Input::kPatchWithNeighbours: return "patch+neighbours";
    case Input::kImage: return "image";
    case Input::kImageTwinWarp: return "image+twin+warp";
  }
  INTERNAL_ASSERT(false);
  return "";
}

std::string_view output_name(Output output) {
  return output == Output::kClassScores ? "class-scores" : "heatmap";
}

std::optional<Task> parse_task(std::string_view name) {
  for (Task t : {Task::kVertebra, Task::kPelvis})
    if (task_name(t) == name) return t;
  return std::nullopt;
}

const TaskInfo& task_info(Task task) {
  return task == Task::kVertebra ? kVertebraTask : kPelvisTask;
}

const TableRow* Variant::row_in(std::string_view table) const {
  for (const TableRow& r : tables)
    if (r.table == table) return &r;
  return nullptr;
}

Variant variant_for_task(std::string name, Task task) {
  const TaskInfo& info = task_info(task);
  Variant v;
  v.name = std::move(name);
  v.task = task;
  v.headline = info.headline;
  v.val_metrics = info.val_metrics;
  if (task == Task::kPelvis) {
    // AASN §4.1: Adam at 1e-5, DenseNet-121 (growth rate 32) on three channels, plain
    // shuffling, no geometric augmentation (it would break the stored warp), AUC for
    // selection.
    v.input = Input::kImageTwinWarp;
    v.output = Output::kHeatmap;
    v.defaults.width = 32;
    v.defaults.in_channels = 3;
    v.defaults.lr = 1e-5;
    v.defaults.sampler = "shuffle";
    v.defaults.augment = false;
    v.defaults.selection_metric = "AUC";
    v.defaults.paper_sampler = "shuffle";
  }
  return v;
}

const VariantRegistry& VariantRegistry::built_in() {
  static const VariantRegistry registry = [] {
    VariantRegistry r;
    r.tables_ = paper_tables();
    for (Variant& v : built_in_variants()) r = r.with(std::move(v));
    return r;
  }();
  return registry;
}

VariantRegistry VariantRegistry::with(Variant v) const {
  CHECK_OR_THROW(ConfigError, !v.name.empty(), v.source, ": a variant needs a name");
  CHECK_OR_THROW(ConfigError, find(v.name) == nullptr, v.source, ": variant '", v.name,
                 "' is already registered (", at(v.name).source, "); choose another name");
  for (const TableRow& row : v.tables) {
    const PaperTable* t = find_table(row.table);
    CHECK_OR_THROW(ConfigError, t != nullptr, v.source, ": variant '", v.name, "': table '",
                   row.table, "' is unknown (known: ", table_ids(), ")");
    CHECK_OR_THROW(ConfigError, t->task == v.task, v.source, ": variant '", v.name,
                   "' is a ", task_name(v.task), " model, but table '", t->id, "' is a ",
                   task_name(t->task), " table");
    for (const auto& [header, note] : row.flags)
      CHECK_OR_THROW(ConfigError,
                     std::find(t->flag_headers.begin(), t->flag_headers.end(), header) !=
                         t->flag_headers.end(),
                     v.source, ": variant '", v.name, "': table '", t->id, "' has no column '",
                     header, "'");
  }
  VariantRegistry out = *this;
  out.variants_.push_back(std::move(v));
  return out;
}

const Variant* VariantRegistry::find(std::string_view name) const {
  for (const Variant& v : variants_)
    if (v.name == name) return &v;
  return nullptr;
}

const Variant& VariantRegistry::at(std::string_view name, std::string_view where) const {
  const Variant* v = find(name);
  CHECK_OR_THROW(ConfigError, v != nullptr, where, where.empty() ? "" : ": ",
                 "model.variant: '", name, "' is unknown (known: ", names(), ")");
  return *v;
}

std::string VariantRegistry::names() const {
  std::string out;
  for (const Variant& v : variants_) out += (out.empty() ? "" : ", ") + v.name;
  return out;
}

const PaperTable* VariantRegistry::find_table(std::string_view id) const {
  for (const PaperTable& t : tables_)
    if (t.id == id) return &t;
  return nullptr;
}

const PaperTable& VariantRegistry::table_at(std::string_view id) const {
  const PaperTable* t = find_table(id);
  CHECK_OR_THROW(ConfigError, t != nullptr, "unknown table '", id, "': use ", table_ids());
  return *t;
}

std::string VariantRegistry::table_ids() const {
  std::string out;
  for (const PaperTable& t : tables_) out += (out.empty() ? "" : ", ") + t.id;
  return out;
}

std::vector<const Variant*> VariantRegistry::rows_of(std::string_view id) const {
  std::vector<const Variant*> out;
  for (const Variant& v : variants_)
    if (v.row_in(id)) out.push_back(&v);
  return out;
}

}  // namespace fracsweep::spec
