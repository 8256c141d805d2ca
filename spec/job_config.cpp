// See job_config.h. yaml-cpp parses; this file maps keys to fields, in one
// table per section, so reading, unknown-key checks and writing back agree.
#include "spec/job_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/text.h"
#include "spec/exported.h"
#include "spec/yaml_load.h"

namespace fracsweep::spec {
namespace {

using core::ConfigError;

// Reads a scalar of type T at `key` of `node`, naming the key on failure.
template <typename T>
void read(const YAML::Node& node, const std::string& key, T& out, const std::string& where) {
  try {
    out = node.as<T>();
  } catch (const YAML::Exception&) {
    const char* want = std::is_same_v<T, bool>           ? "true or false"
                       : std::is_integral_v<T>           ? "an integer"
                       : std::is_floating_point_v<T>     ? "a number"
                                                         : "a string";
    throw ConfigError(core::str_cat(where, ": ", key, ": expected ", want, ", got '",
                                    YAML::Dump(node), "'"));
  }
}

// One field of a section: its key, how to read it, how to write it.
struct Field {
  std::string key;
  std::function<void(const YAML::Node&, const std::string&, const std::string&)> read;
  std::function<void(YAML::Emitter&)> write;
  std::function<bool()> omit;  // when set and true, to_yaml leaves the field out
};

template <typename T>
Field field(std::string key, T& ref) {
  return {key,
          [&ref](const YAML::Node& n, const std::string& path, const std::string& where) {
            read(n, path, ref, where);
          },
          [&ref](YAML::Emitter& e) { e << ref; },
          {}};
}

// A setting added after jobs were first run: written only when it differs from its default.
// The resolved config, and with it every job's id and its folder's config.yaml, then stay the
// same for the jobs that do not use the setting, so sweeps run before it still resume.
template <typename T>
Field added_field(std::string key, T& ref, T default_value) {
  Field f = field(std::move(key), ref);
  f.omit = [&ref, default_value] { return ref == default_value; };
  return f;
}

// Where a job runs, not what it is: never written, so that a job keeps its id and
// its folder on any device, and a checkpoint written on a GPU resumes on a CPU.
Field placement_field(std::string key, std::string& ref) {
  Field f = field(std::move(key), ref);
  f.omit = [] { return true; };
  return f;
}

std::vector<Field> data_fields(DataConfig& d) {
  return {field("store", d.store),         field("split", d.split),
          field("repeat", d.repeat),       field("folds", d.folds),
          field("fold", d.fold),           field("val_share", d.val_share),
          field("split_seed", d.split_seed), field("subset", d.subset)};
}

std::vector<Field> model_fields(ModelConfig& m) {
  return {field("variant", m.variant),         field("width", m.width),
          field("in_channels", m.in_channels), field("split_stage", m.split_stage),
          field("share_branches", m.share_branches), field("init_weights", m.init_weights),
          added_field("package", m.package, std::string())};
}

std::vector<Field> loss_weight_fields(LossWeightsConfig& w) {
  return {field("ce", w.ce), field("d", w.d), field("c", w.c), field("w", w.w)};
}

std::vector<Field> train_fields(TrainConfig& t) {
  return {field("epochs", t.epochs),
          field("batch_size", t.batch_size),
          field("lr", t.lr),
          field("weight_decay", t.weight_decay),
          field("sampler", t.sampler),
          field("rotation", t.rotation),
          field("hflip", t.hflip),
          field("vflip", t.vflip),
          field("seed", t.seed),
          field("threads", t.threads),
          field("loader_workers", t.loader_workers),
          field("selection_metric", t.selection_metric),
          field("u_hat", t.u_hat),
          field("triplet_margin", t.triplet_margin),
          field("cb_beta", t.cb_beta),
          field("drw_epoch", t.drw_epoch),
          field("pc_weight", t.pc_weight),
          field("sdl_weight", t.sdl_weight),
          field("smote_k", t.smote_k),
          added_field("nts_proposals", t.nts_proposals, TrainConfig{}.nts_proposals),
          added_field("nts_parts", t.nts_parts, TrainConfig{}.nts_parts),
          added_field("nts_part_scale", t.nts_part_scale, TrainConfig{}.nts_part_scale),
          added_field("nts_rank_weight", t.nts_rank_weight, TrainConfig{}.nts_rank_weight),
          added_field("aasn_margin", t.aasn_margin, TrainConfig{}.aasn_margin),
          added_field("aasn_lambda", t.aasn_lambda, TrainConfig{}.aasn_lambda),
          placement_field("device", t.device),
          placement_field("cuda_graphs", t.cuda_graphs),
          added_field("precision", t.precision, TrainConfig{}.precision),
          added_field("channels_last", t.channels_last, TrainConfig{}.channels_last),
          added_field("curve_epoch_seconds", t.curve_epoch_seconds, TrainConfig{}.curve_epoch_seconds),
          added_field("budget", t.budget, TrainConfig{}.budget)};
}

void read_section(const YAML::Node& node, const std::string& section, std::vector<Field> fields,
                  const std::string& where,
                  const std::function<bool(const std::string&, const YAML::Node&)>& extra = {}) {
  if (!node) return;
  CHECK_OR_THROW(ConfigError, node.IsMap(), where, ": ", section, ": expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string path = section + "." + key;
    if (extra && extra(key, kv.second)) continue;
    bool known = false;
    for (auto& f : fields)
      if (f.key == key) {
        f.read(kv.second, path, where);
        known = true;
      }
    if (!known) {
      std::vector<std::string> names;
      for (auto& f : fields) names.push_back(f.key);
      check_known_key(key, path, names, where);
    }
  }
}

// The variant's own settings (spec/variants.h: VariantDefaults; for AASN and its
// baselines, §4.1's Adam at 1e-5, DenseNet-121, no geometric augmentation, which would
// break the stored warp, and AUC for selection). Applied before the preset and the job's
// own keys, which override them. An unknown variant takes none; validate() names it.
void apply_variant_defaults(JobConfig& job, const YAML::Node& root,
                            const VariantRegistry& variants) {
  const YAML::Node model = root["model"];
  if (!model || !model.IsMap() || !model["variant"] || !model["variant"].IsScalar()) return;
  const Variant* v = variants.find(model["variant"].as<std::string>());
  if (v == nullptr) return;
  const VariantDefaults& d = v->defaults;
  if (d.width) job.model.width = *d.width;
  if (d.in_channels) job.model.in_channels = *d.in_channels;
  if (d.lr) job.train.lr = *d.lr;
  if (d.sampler) job.train.sampler = *d.sampler;
  if (d.augment && !*d.augment) job.train.rotation = job.train.hflip = job.train.vflip = 0;
  if (d.selection_metric) job.train.selection_metric = *d.selection_metric;
}

void apply_preset(JobConfig& job, const std::string& where) {
  if (job.preset == "paper") return;  // the struct defaults are the paper's
  CHECK_OR_THROW(ConfigError, job.preset == "tiny", where, ": preset '", job.preset,
                 "' is unknown (paper, tiny)");
  job.model.width = 4;
  job.train.epochs = 3;
  job.train.batch_size = 16;
  job.train.lr = 1e-3;
  job.train.threads = 1;
  job.train.loader_workers = 1;
}

}  // namespace

namespace {

// A control character (a stray carriage return, a tab) in a path or name would not survive
// the job's own config.yaml: YAML reads line breaks at the end of a plain value as its end.
void check_no_control_characters(const JobConfig& j, const std::string& where) {
  const std::pair<const char*, const std::string*> texts[] = {
      {"output", &j.output},  // before the name, which defaults to its last part
      {"name", &j.name},
      {"data.store", &j.data.store},
      {"model.init_weights", &j.model.init_weights},
      {"train.selection_metric", &j.train.selection_metric},
      {"train.device", &j.train.device},
      {"train.precision", &j.train.precision}};
  for (const auto& [key, text] : texts)
    for (size_t i = 0; i < text->size(); ++i) {
      const auto c = static_cast<unsigned char>((*text)[i]);
      const char hex[] = "0123456789abcdef";
      CHECK_OR_THROW(ConfigError, c >= 0x20 && c != 0x7f, where, ": ", key,
                     " holds the control character 0x", hex[c >> 4], hex[c & 15], " at offset ",
                     i, "; remove it (a file saved with stray carriage returns?)");
    }
}

}  // namespace

// The job's variant: the registry's, or for a model exported from PyTorch its package's.
static Variant variant_of(const JobConfig& j, const VariantRegistry& variants,
                          const std::string& where) {
  return j.model.package.empty() ? variants.at(j.model.variant, where) : job_variant(j, variants);
}

void validate(const JobConfig& j, const std::string& where, const VariantRegistry& variants) {
  const auto bad = [&](bool ok, auto&&... parts) {
    if (!ok) throw ConfigError(core::str_cat(where, ": ", parts...));
  };
  check_no_control_characters(j, where);
  bad(!j.output.empty(), "output: the job's folder is required");
  bad(!j.data.store.empty(), "data.store: the patch store (.h5) is required");
  bad(j.data.split == "random" || j.data.split == "kfold", "data.split: '", j.data.split,
      "' is unknown (random, kfold)");
  bad(j.data.repeat >= 0, "data.repeat: must be >= 0");
  bad(j.data.folds >= 2, "data.folds: must be >= 2");
  bad(j.data.fold >= 0 && j.data.fold < j.data.folds, "data.fold: ", j.data.fold,
      " is outside 0..", j.data.folds - 1);
  bad(j.data.val_share >= 0 && j.data.val_share < 1, "data.val_share: must be in [0, 1)");
  bad(j.data.subset > 0 && j.data.subset <= 1, "data.subset: must be in (0, 1]");
  const Variant variant = variant_of(j, variants, where);
  bad(j.model.width >= 1 && j.model.width <= 512, "model.width: must be in 1..512");
  bad(j.model.in_channels == 1 || j.model.in_channels == 3, "model.in_channels: must be 1 or 3");
  bad(j.model.split_stage >= 1 && j.model.split_stage <= 4, "model.split_stage: must be in 1..4");
  if (!j.model.init_weights.empty())
    bad(std::filesystem::exists(j.model.init_weights), "model.init_weights: '",
        j.model.init_weights, "' does not exist");
  if (!j.model.package.empty())
    bad(std::filesystem::exists(j.model.package), "model.package: '", j.model.package,
        "' does not exist (make it with `fracsweep export MODEL.py`)");
  const TrainConfig& t = j.train;
  bad(t.epochs >= 1, "train.epochs: must be >= 1");
  bad(t.batch_size >= 1, "train.batch_size: must be >= 1");
  bad(t.lr > 0, "train.lr: must be > 0");
  bad(t.weight_decay >= 0, "train.weight_decay: must be >= 0");
  bad(t.sampler == "auto" || t.sampler == "shuffle" || t.sampler == "oversample" ||
          t.sampler == "balanced",
      "train.sampler: '", t.sampler, "' is unknown (auto, shuffle, oversample, balanced)");
  bad(t.budget == "epochs" || t.budget == "steps", "train.budget: '", t.budget,
      "' is unknown (epochs: each sampler's own epoch; steps: every epoch as long as an "
      "over-sampled one)");
  bad(t.rotation >= 0 && t.rotation <= 180, "train.rotation: must be in 0..180 degrees");
  bad(t.hflip >= 0 && t.hflip <= 1, "train.hflip: must be a probability");
  bad(t.vflip >= 0 && t.vflip <= 1, "train.vflip: must be a probability");
  bad(t.threads >= 0, "train.threads: must be >= 0 (0 = the cores of this rank)");
  bad(t.loader_workers >= 1, "train.loader_workers: must be >= 1");
  bad(t.cuda_graphs == "auto" || t.cuda_graphs == "on" || t.cuda_graphs == "off",
      "train.cuda_graphs: '", t.cuda_graphs, "' is unknown (auto, on, off)");
  bad(t.cuda_graphs != "on" || (t.device != "cpu" && t.precision == "fp32"),
      "train.cuda_graphs: on needs a GPU and fp32, but train.device is ", t.device,
      " and train.precision ", t.precision, "; set train.cuda_graphs to auto or off");
  // The task's validation metrics: what log.jsonl's "val" carries for the best checkpoint.
  const TaskInfo& task = task_info(variant.task);
  std::string metrics;
  for (const std::string& m : task.val_metrics) metrics += (metrics.empty() ? "" : ", ") + m;
  const bool known_metric =
      std::find(task.val_metrics.begin(), task.val_metrics.end(), t.selection_metric) !=
      task.val_metrics.end();
  if (variant.task == Task::kPelvis) {
    bad(known_metric, "train.selection_metric: '", t.selection_metric,
        "' is not an image-level metric of AASN (", metrics, ")");
    bad(t.rotation == 0 && t.hflip == 0 && t.vflip == 0,
        "train.rotation, hflip, vflip: AASN's images carry a warp and a symmetry axis that "
        "rotations and flips would break; set them to 0");
    bad(t.aasn_margin > 0, "train.aasn_margin: must be > 0");
    bad(t.aasn_lambda >= 0, "train.aasn_lambda: must be >= 0");
  } else {
    bad(known_metric, "train.selection_metric: '", t.selection_metric, "' is unknown (",
        metrics, ")");
  }
  bad(t.u_hat > 1, "train.u_hat: must be > 1 (TSCCN eq. 5)");
  bad(t.triplet_margin >= 0, "train.triplet_margin: must be >= 0");
  bad(t.cb_beta > 0 && t.cb_beta < 1, "train.cb_beta: must be in (0, 1)");
  bad(t.drw_epoch >= 0, "train.drw_epoch: must be >= 0");
  bad(t.smote_k >= 1, "train.smote_k: must be >= 1");
  bad(t.nts_parts >= 1 && t.nts_parts <= t.nts_proposals,
      "train.nts_parts: must be >= 1 and at most train.nts_proposals");
  bad(t.nts_part_scale > 0 && t.nts_part_scale <= 1, "train.nts_part_scale: must be in (0, 1]");
  bad(t.nts_rank_weight >= 0, "train.nts_rank_weight: must be >= 0");
  bad(t.device == "auto" || t.device == "cpu" || t.device == "cuda",
      "train.device: '", t.device, "' is unknown (auto, cpu, cuda)");
  bad(t.precision == "fp32" || t.precision == "bf16",
      "train.precision: '", t.precision, "' is unknown (fp32, bf16)");
  for (double w : {t.loss_weights.ce, t.loss_weights.d, t.loss_weights.c, t.loss_weights.w})
    bad(w >= 0, "train.loss_weights: weights must be >= 0");
}

void validate_group(const JobConfig& j, int group_size, const std::string& group_from,
                    const std::string& where, const VariantRegistry& variants) {
  INTERNAL_ASSERT(group_size >= 1);
  if (!variant_of(j, variants, where).trains) return;  // no batches
  const int b = j.train.batch_size;
  CHECK_OR_THROW(ConfigError, b / group_size >= 2, where, ": train.batch_size ", b, " over ",
                 group_from, " (a data-parallel group of ", group_size,
                 " rank(s)) gives each rank batches of one sample, which batch norm cannot train "
                 "on; use a train.batch_size of at least ", 2 * group_size,
                 group_size > 1 ? " or fewer ranks per job" : "");
  CHECK_OR_THROW(ConfigError, b % group_size == 0, where, ": train.batch_size ", b,
                 " cannot be split evenly over ", group_from, " (a data-parallel group of ",
                 group_size, " ranks); use a multiple of ", group_size, " (e.g. ",
                 b / group_size * group_size, " or ", (b / group_size + 1) * group_size,
                 ") or a ranks_per_job that divides ", b);
}

// parse_job_config, whose checks name each key; anything they miss surfaces as
// YAML::Exception.
static JobConfig parse_job_config_checked(const std::string& text, const std::string& where,
                                          const VariantRegistry& variants) {
  const YAML::Node root = load_yaml(text, where);
  CHECK_OR_THROW(ConfigError, root.IsMap(), where, ": expected a mapping of sections (preset, "
                 "output, data, model, train)");
  JobConfig job;
  if (root["preset"]) read(root["preset"], "preset", job.preset, where);
  apply_variant_defaults(job, root, variants);
  apply_preset(job, where);
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key == "preset") continue;
    if (key == "name") {
      read(kv.second, key, job.name, where);
    } else if (key == "output") {
      read(kv.second, key, job.output, where);
    } else if (key == "data") {
      read_section(kv.second, "data", data_fields(job.data), where);
    } else if (key == "model") {
      read_section(kv.second, "model", model_fields(job.model), where);
    } else if (key == "train") {
      read_section(kv.second, "train", train_fields(job.train), where,
                   [&](const std::string& k, const YAML::Node& n) {
                     if (k != "loss_weights") return false;
                     read_section(n, "train.loss_weights",
                                  loss_weight_fields(job.train.loss_weights), where);
                     return true;
                   });
    } else {
      throw ConfigError(core::str_cat(where, ": unknown key '", key,
                                      "' (a job takes: name, preset, output, data, model, train)"));
    }
  }
  if (job.name.empty() && !job.output.empty())
    job.name = std::filesystem::path(job.output).filename().string();
  validate(job, where, variants);
  return job;
}

JobConfig load_job_config(const std::string& path, const VariantRegistry& variants) {
  return parse_job_config(core::read_file(path), path, variants);
}

std::string to_yaml(const JobConfig& job) {
  JobConfig j = job;  // the field tables take references
  YAML::Emitter e;
  e.SetDoublePrecision(17);
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << j.name;
  e << YAML::Key << "preset" << YAML::Value << j.preset;
  e << YAML::Key << "output" << YAML::Value << j.output;
  const auto section = [&](const char* name, std::vector<Field> fields,
                           const std::function<void()>& more = {}) {
    e << YAML::Key << name << YAML::Value << YAML::BeginMap;
    for (auto& f : fields) {
      if (f.omit && f.omit()) continue;
      e << YAML::Key << f.key << YAML::Value;
      f.write(e);
    }
    if (more) more();
    e << YAML::EndMap;
  };
  section("data", data_fields(j.data));
  section("model", model_fields(j.model));
  section("train", train_fields(j.train), [&] {
    e << YAML::Key << "loss_weights" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (auto& f : loss_weight_fields(j.train.loss_weights)) {
      e << YAML::Key << f.key << YAML::Value;
      f.write(e);
    }
    e << YAML::EndMap;
  });
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

// A job whose model.package names a model exported from PyTorch (a package, or a model
// file that `fracsweep run` exports): the variant its manifest describes joins the registry.
static JobConfig parse_exported_job(const std::string& text, const std::string& where,
                                    const VariantRegistry& variants) {
  const YAML::Node model = load_yaml(text, where)["model"];
  if (!model || !model.IsMap() || !model["package"] || !model["package"].IsScalar())
    return parse_job_config_checked(text, where, variants);
  const std::string name = model["variant"] && model["variant"].IsScalar()
                               ? model["variant"].as<std::string>()
                               : std::string(kDefaultVariant);
  return parse_job_config_checked(
      text, where, with_exported(variants, name, model["package"].as<std::string>(), where));
}

JobConfig parse_job_config(const std::string& text, const std::string& where,
                           const VariantRegistry& variants) {
  try {
    return parse_exported_job(text, where, variants);
  } catch (const YAML::Exception& e) {
    throw ConfigError(core::str_cat(where, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ",
                                    e.msg, " (the job file's structure is not a job's)"));
  }
}

}  // namespace fracsweep::spec
