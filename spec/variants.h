// The variants as one table of data: every model a job may name in model.variant,
// with its task, what it takes in and puts out, its loss terms, the paper tables
// and rows it belongs to, its headline metric and its defaults; and the paper
// tables themselves. Sweeps, the trainer, the report and `fracsweep variants`
// read it; none of them lists variant names or guesses from them.
//
// Adding a variant:
//   - a built-in model: one entry in built_in_variants() (variants.cpp), and
//     its model file in the trainer's factory (trainer/job_model.cpp: kFamilies
//     asks each file in trainer/models/ whether it builds the name);
//   - a model not built in (an exported package described by its manifest):
//     make a Variant from the manifest (variant_for_task() gives the task's
//     headline, metrics and defaults to start from), then
//     `VariantRegistry reg = VariantRegistry::built_in().with(v);` and pass
//     `reg` on. There is no global mutable state: a registry is a value, and
//     the one a sweep extends is the sweep's.
// Every function here is pure and thread-safe; lookups of a name that is not
// registered throw core::ConfigError with one line naming the known ones.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fracsweep::spec {

// What a job trains when its file names no model.variant.
inline constexpr std::string_view kDefaultVariant = "tsccn";

// The study a variant belongs to; it decides the store, the labels and the metrics.
enum class Task { kVertebra, kPelvis };
// What one sample gives the model.
enum class Input {
  kNone,                 // nothing: a synthetic job that trains no model
  kPatch,                // one vertebra patch
  kPatchWithNeighbours,  // a vertebra patch with the previous and next vertebra
  kImage,                // a pelvis image alone
  kImageTwinWarp,        // a pelvis image, its mirrored twin and the warp between them
};
// What the model puts out for one sample.
enum class Output {
  kClassScores,  // class probabilities (three classes, or one image score for pelvis)
  kHeatmap,      // a fracture heatmap; the image score is its maximum
};

std::string_view task_name(Task task);      // "vertebra", "pelvis"
std::string_view input_name(Input input);  // "none", "patch", "patch+neighbours", "image",
                                           // "image+twin+warp"
std::string_view output_name(Output output);  // "class-scores", "heatmap"
// The inverse of task_name; nullopt for another text.
std::optional<Task> parse_task(std::string_view name);

// What every variant of a task shares.
struct TaskInfo {
  Task task;
  int classes;                              // 3 (normal, benign, malignant) or 1 (fracture)
  std::string headline;                     // the papers' headline metric: aAUC or AUC
  std::vector<std::string> test_metrics;    // the sweep summary's columns
  // What log.jsonl's "val" carries: the values of train.selection_metric.
  std::vector<std::string> val_metrics;
  std::string store_hint;                   // what the task trains on, for messages
};
const TaskInfo& task_info(Task task);

// One of the papers' tables that `fracsweep report` writes.
struct PaperTable {
  std::string id;     // `fracsweep report --table` value, e.g. "tsccn-3"
  Task task = Task::kVertebra;
  std::string title;  // "Table III. Ablation study"
  bool per_class = false;     // SE and SP of every class besides the headline columns
  bool by_data_size = false;  // rows grouped by data.subset (the data-size study)
  bool gains = false;         // each row's gain over a baseline row
  std::vector<std::string> flag_headers;  // component columns rows tick ("FF", "FA", "CL")
};

// A variant's place in a paper table.
struct TableRow {
  std::string table;  // a PaperTable id
  std::string row;    // the paper's name of the row, e.g. "Two-stream + triplet"
  // The table's flag columns this row ticks, each with a note printed beside the tick
  // ("" for none), e.g. {"CL", "no proj."}.
  std::vector<std::pair<std::string, std::string>> flags;
};

// Job settings a variant takes before the preset and the job's own keys
// (job_config.h); unset ones keep the struct's defaults.
struct VariantDefaults {
  std::optional<int> width;           // model.width
  std::optional<int> in_channels;     // model.in_channels
  std::optional<double> lr;           // train.lr
  std::optional<std::string> sampler;           // train.sampler
  std::optional<bool> augment;                  // false: train.rotation, hflip, vflip = 0
  std::optional<std::string> selection_metric;  // train.selection_metric
  // What train.sampler "auto" means for it: the paper's sampler (oversample or shuffle).
  std::string paper_sampler = "oversample";
  bool operator==(const VariantDefaults&) const = default;
};

struct Variant {
  std::string name;      // model.variant, e.g. "tsccn"
  std::string summary;   // one line: what it is and where it comes from
  Task task = Task::kVertebra;
  Input input = Input::kPatch;
  Output output = Output::kClassScores;
  // The loss terms it trains on, as log.jsonl names them (JobModel::term_names).
  std::vector<std::string> loss_terms;
  std::vector<TableRow> tables;
  std::string headline;                  // its headline metric (the task's)
  std::vector<std::string> val_metrics;  // its validation metrics (the task's)
  VariantDefaults defaults;
  bool trains = true;     // false: a synthetic job that trains nothing and takes any batch
  std::string deviation;  // a known departure from its paper, footnoted wherever it is a row
  std::string source = "built-in";  // or where it was described (a package's manifest)

  // Its row in `table`, or nullptr when it is not one of that table's rows.
  const TableRow* row_in(std::string_view table) const;
};

// A variant of `task` with the task's headline, metrics and defaults and nothing else:
// where a description of a model not built in starts.
Variant variant_for_task(std::string name, Task task);

// The variants and tables a sweep can use. A value: copy it and add to the copy.
class VariantRegistry {
 public:
  // The papers' models, ablations and baselines, and the paper tables. Built once.
  static const VariantRegistry& built_in();

  // This registry with `v` added. Throws core::ConfigError (naming `v.source`) when
  // the name is taken or empty, or a table it names is not one of tables().
  VariantRegistry with(Variant v) const;

  const std::vector<Variant>& variants() const { return variants_; }
  // The paper tables. When a sweep's rows fit several of a task's tables equally well,
  // the report takes the first listed (report.h: infer_table).
  const std::vector<PaperTable>& tables() const { return tables_; }

  // The variant named `name`, or nullptr.
  const Variant* find(std::string_view name) const;
  // The variant named `name`; throws core::ConfigError "<where>: model.variant: 'x' is
  // unknown (known: a, b, ...)" when there is none.
  const Variant& at(std::string_view name, std::string_view where = "") const;
  // Every name, in the registry's order, joined by ", ".
  std::string names() const;

  // The table with this id, or nullptr; table_at throws core::ConfigError naming the known ids.
  const PaperTable* find_table(std::string_view id) const;
  const PaperTable& table_at(std::string_view id) const;
  // Every table id, in order, joined by ", ".
  std::string table_ids() const;
  // The variants that are rows of table `id`, in its row order.
  std::vector<const Variant*> rows_of(std::string_view id) const;

 private:
  std::vector<Variant> variants_;
  std::vector<PaperTable> tables_;
};

}  // namespace fracsweep::spec
