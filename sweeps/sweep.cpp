// See sweep.h. Jobs are assembled as YAML documents (base sections, then the
// variant's, then the protocol part, the seed and the axis values) and handed
// to spec::parse_job_config, so a sweep accepts exactly what a job file
// accepts and reports a bad setting the same way.
#include "sweeps/sweep.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

#include "core/error.h"
#include "core/fs.h"
#include "core/seed.h"
#include "core/text.h"
#include "spec/exported.h"
#include "spec/yaml_load.h"
#include "sweeps/names.h"

namespace fracsweep::sweeps {
namespace {

using core::ConfigError;

const std::vector<std::string> kTopKeys = {"name",     "output", "preset", "dataset",
                                           "protocol", "seeds",  "variants", "axes",
                                           "ranks_per_job", "data", "model", "train", "search",
                                           "tracking"};
const std::vector<std::string> kJobSections = {"data", "model", "train"};

void check_keys(const YAML::Node& node, const std::string& path,
                const std::vector<std::string>& known, const std::string& where) {
  CHECK_OR_THROW(ConfigError, node.IsMap(), where, ": ", path.empty() ? "the sweep" : path,
                 ": expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    spec::check_known_key(key, path.empty() ? key : path + "." + key, known, where);
  }
}

using spec::scalar;

template <typename T>
std::vector<T> list_of(const YAML::Node& n, const std::string& path, const std::string& where) {
  std::vector<T> out;
  if (n.IsScalar()) return {scalar<T>(n, path, where)};
  CHECK_OR_THROW(ConfigError, n.IsSequence() && n.size() > 0, where, ": ", path,
                 ": expected a value or a non-empty list");
  for (const auto& v : n) out.push_back(scalar<T>(v, path, where));
  return out;
}

// `over` merged into `base`, recursively for mappings; a fresh node.
YAML::Node merged(const YAML::Node& base, const YAML::Node& over) {
  const bool has_base = base && !base.IsNull(), has_over = over && !over.IsNull();
  if (!has_over) return has_base ? YAML::Clone(base) : YAML::Node();
  if (!has_base || !base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    const std::string key = kv.first.as<std::string>();
    out[key] = merged(out[key], kv.second);
  }
  return out;
}

// One hyperparameter point: (section.key, value text) pairs, in axis order.
using Point = std::vector<std::pair<std::string, std::string>>;

std::pair<std::string, std::string> split_axis_key(const std::string& key,
                                                   const std::string& where) {
  const size_t dot = key.find('.');
  CHECK_OR_THROW(ConfigError, dot != std::string::npos && dot > 0 && dot + 1 < key.size(), where,
                 ": axes: '", key, "' must be <section>.<key>, e.g. train.lr");
  const std::string section = key.substr(0, dot);
  CHECK_OR_THROW(ConfigError,
                 std::find(kJobSections.begin(), kJobSections.end(), section) != kJobSections.end(),
                 where, ": axes: '", key, "': section '", section, "' is not data, model or train");
  return {section, key.substr(dot + 1)};
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::vector<Point> expand_axes(const YAML::Node& axes, const std::string& where) {
  std::vector<Point> points = {{}};
  if (!axes) return points;
  check_keys(axes, "axes", {"grid", "random"}, where);
  if (const YAML::Node grid = axes["grid"]) {
    CHECK_OR_THROW(ConfigError, grid.IsMap(), where, ": axes.grid: expected key: [values]");
    for (const auto& kv : grid) {
      const std::string key = kv.first.as<std::string>();
      split_axis_key(key, where);
      const auto values = list_of<std::string>(kv.second, "axes.grid." + key, where);
      std::vector<Point> next;
      for (const Point& p : points)
        for (const auto& v : values) {
          Point q = p;
          q.emplace_back(key, v);
          next.push_back(std::move(q));
        }
      points = std::move(next);
    }
  }
  if (const YAML::Node random = axes["random"]) {
    check_keys(random, "axes.random", {"count", "seed", "params"}, where);
    const int count = random["count"] ? scalar<int>(random["count"], "axes.random.count", where) : 0;
    CHECK_OR_THROW(ConfigError, count >= 1, where, ": axes.random.count must be >= 1");
    const uint64_t seed =
        random["seed"] ? scalar<uint64_t>(random["seed"], "axes.random.seed", where) : 0;
    const YAML::Node params = random["params"];
    CHECK_OR_THROW(ConfigError, params && params.IsMap() && params.size() > 0, where,
                   ": axes.random.params: expected key: {dist, ...} entries");
    core::Rng rng(core::derive_seed(seed, "", 0, "sweep-axes"));
    std::vector<Point> draws(static_cast<size_t>(count));
    for (const auto& kv : params) {
      const std::string key = kv.first.as<std::string>();
      const std::string path = "axes.random.params." + key;
      split_axis_key(key, where);
      check_keys(kv.second, path, {"dist", "low", "high", "values"}, where);
      const std::string dist = kv.second["dist"] ? scalar<std::string>(kv.second["dist"], path, where) : "";
      for (auto& d : draws) {
        std::string value;
        if (dist == "choice") {
          const auto values = list_of<std::string>(kv.second["values"], path + ".values", where);
          value = values[rng.uniform_below(values.size())];
        } else {
          CHECK_OR_THROW(ConfigError, dist == "uniform" || dist == "loguniform", where, ": ", path,
                         ".dist: '", dist, "' is unknown (uniform, loguniform, choice)");
          CHECK_OR_THROW(ConfigError, kv.second["low"] && kv.second["high"], where, ": ", path,
                         ": needs low and high");
          const double lo = scalar<double>(kv.second["low"], path + ".low", where);
          const double hi = scalar<double>(kv.second["high"], path + ".high", where);
          CHECK_OR_THROW(ConfigError, lo < hi && (dist == "uniform" || lo > 0), where, ": ", path,
                         ": need low < high", dist == "loguniform" ? " and low > 0" : "");
          const double u = rng.uniform01();
          value = format_number(dist == "uniform"
                                    ? lo + u * (hi - lo)
                                    : std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo))));
        }
        d.emplace_back(key, value);
      }
    }
    std::vector<Point> next;
    for (const Point& p : points)
      for (const Point& d : draws) {
        Point q = p;
        q.insert(q.end(), d.begin(), d.end());
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  return points;
}

// A job's id hashes its settings, not where they are written: the output
// folder and name go, and a phantom the sweep synthesises into its folder is
// named by its parameters instead of its path, so the same sweep written to
// another folder gives the same ids.
std::string job_id(spec::JobConfig config, const std::string& dataset) {
  config.output.clear();
  config.name.clear();
  config.data.store = dataset;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(core::hash_string(spec::to_yaml(config))));
  return buf;
}

std::string job_id_of_text(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(core::hash_string(text)));
  return buf;
}

// The `search:` section, checked against the rest of the sweep.
void parse_search(const YAML::Node& root, const std::string& where, Sweep& s) {
  const YAML::Node search = root["search"];
  if (!search) return;
  CHECK_OR_THROW(ConfigError, !root["axes"], where, ": give either axes or search, not both (a "
                 "search chooses its own values of its space's keys)");
  s.search = parse_search_spec(YAML::Dump(search), where);
  const YAML::Node variants = root["variants"];
  CHECK_OR_THROW(ConfigError, variants && variants.IsMap() && variants.size() == 1, where,
                 ": a search tunes one variant; write one sweep per variant to tune several");
}

// The search's metric must be one the variant's trainer logs every epoch
// (log.jsonl's "val"), or every trial would report nothing.
void check_search_metric(const SearchSpec& search, const spec::JobConfig& job,
                         const std::string& where) {
  const std::vector<std::string> known = spec::job_variant(job).val_metrics;
  std::string names;
  for (const std::string& n : known) names += (names.empty() ? "" : ", ") + n;
  CHECK_OR_THROW(ConfigError, std::find(known.begin(), known.end(), search.metric) != known.end(),
                 where, ": search.metric: '", search.metric, "' is not a validation metric of ",
                 job.model.variant, " (", names, ")");
}

// Every key of the space must be a job setting that takes the space's ends
// (or each of its choices), or the trials would fail one by one.
void check_search_space(const SearchSpec& search, const SweepJob& job, const std::string& where) {
  for (const SearchParam& p : search.space) {
    const std::vector<std::string> values =
        p.dist == SearchParam::Dist::kChoice ? p.values
                                             : std::vector<std::string>{format_value(p.low), format_value(p.high)};
    for (const std::string& v : values) {
      try {
        with_params(job, {{p.key, v}});
      } catch (const ConfigError& e) {
        throw ConfigError(core::str_cat(where, ": search.space.", p.key, " = ", v, ": ", e.what()));
      }
    }
  }
}

// dataset.pelvis_phantom, checked as the generator checks it: refused here, not on
// rank 0 once the ranks are up and writing the phantom.
void parse_pelvis_phantom(const YAML::Node& ph, const std::string& where, Sweep& s) {
  check_keys(ph, "dataset.pelvis_phantom",
             {"images", "height", "width", "difficulty", "seed", "landmark_error_mm"}, where);
  auto& pp = s.pelvis_phantom;
  if (ph["images"]) pp.images = scalar<int>(ph["images"], "dataset.pelvis_phantom.images", where);
  if (ph["height"]) pp.height = scalar<int>(ph["height"], "dataset.pelvis_phantom.height", where);
  if (ph["width"]) pp.width = scalar<int>(ph["width"], "dataset.pelvis_phantom.width", where);
  if (ph["difficulty"]) pp.difficulty = scalar<double>(ph["difficulty"], "dataset.pelvis_phantom.difficulty", where);
  if (ph["seed"]) pp.seed = scalar<uint64_t>(ph["seed"], "dataset.pelvis_phantom.seed", where);
  if (ph["landmark_error_mm"])
    pp.landmark_error_mm = scalar<double>(ph["landmark_error_mm"],
                                          "dataset.pelvis_phantom.landmark_error_mm", where);
  try {
    datastore::validate(pp.options());
  } catch (const ConfigError& e) {
    throw ConfigError(core::str_cat(where, ": dataset.pelvis_phantom: ", e.what()));
  }
  s.store = (std::filesystem::path(s.output) / "phantom.h5").string();
  s.synthesise = true;
  s.pelvis = true;
}

// dataset.phantom, checked as the generator checks it, like dataset.pelvis_phantom.
void parse_phantom(const YAML::Node& ph, const std::string& where, Sweep& s) {
  check_keys(ph, "dataset.phantom", {"patients", "patch_size", "difficulty", "seed", "slices"}, where);
  auto& p = s.phantom;
  if (ph["patients"]) p.patients = scalar<int>(ph["patients"], "dataset.phantom.patients", where);
  if (ph["patch_size"]) p.patch_size = scalar<int>(ph["patch_size"], "dataset.phantom.patch_size", where);
  if (ph["difficulty"]) p.difficulty = scalar<double>(ph["difficulty"], "dataset.phantom.difficulty", where);
  if (ph["seed"]) p.seed = scalar<uint64_t>(ph["seed"], "dataset.phantom.seed", where);
  if (ph["slices"]) p.slices = scalar<int>(ph["slices"], "dataset.phantom.slices", where);
  CHECK_OR_THROW(ConfigError, p.patients >= 1, where, ": dataset.phantom.patients: ", p.patients,
                 " must be at least 1");
  try {
    datastore::validate(p.options());
  } catch (const ConfigError& e) {
    throw ConfigError(core::str_cat(where, ": dataset.phantom: ", e.what()));
  }
  s.store = (std::filesystem::path(s.output) / "phantom.h5").string();
  s.synthesise = true;
}

// The dataset: a store, or a phantom the sweep writes into its folder.
void parse_dataset(const YAML::Node& root, const std::string& where, Sweep& s) {
  const YAML::Node dataset = root["dataset"];
  CHECK_OR_THROW(ConfigError, dataset, where, ": dataset: a store or a phantom spec is required");
  check_keys(dataset, "dataset", {"store", "phantom", "pelvis_phantom"}, where);
  CHECK_OR_THROW(ConfigError,
                 (dataset["store"] ? 1 : 0) + (dataset["phantom"] ? 1 : 0) +
                         (dataset["pelvis_phantom"] ? 1 : 0) ==
                     1,
                 where, ": dataset: give exactly one of store, phantom and pelvis_phantom");
  if (dataset["store"]) {
    s.store = scalar<std::string>(dataset["store"], "dataset.store", where);
  } else if (dataset["pelvis_phantom"]) {
    parse_pelvis_phantom(dataset["pelvis_phantom"], where, s);
  } else {
    parse_phantom(dataset["phantom"], where, s);
  }
}

// The protocol's parts, each a name and its data-section fields: random
// repeats or k-fold folds.
std::vector<std::pair<std::string, YAML::Node>> parse_parts(const YAML::Node& root,
                                                            const std::string& where) {
  std::vector<std::pair<std::string, YAML::Node>> parts;
  const YAML::Node p = root["protocol"] ? root["protocol"] : YAML::Node(YAML::NodeType::Map);
  check_keys(p, "protocol", {"split", "repeats", "folds", "run_folds", "val_share", "split_seed"},
             where);
  const std::string split = p["split"] ? scalar<std::string>(p["split"], "protocol.split", where)
                                       : "random";
  const uint64_t split_seed =
      p["split_seed"] ? scalar<uint64_t>(p["split_seed"], "protocol.split_seed", where) : 0;
  if (split == "random") {
    const auto repeats = p["repeats"] ? list_of<int>(p["repeats"], "protocol.repeats", where)
                                      : std::vector<int>{0};
    for (int r : repeats) {
      YAML::Node d;
      d["split"] = "random";
      d["repeat"] = r;
      d["split_seed"] = split_seed;
      parts.emplace_back("repeat" + std::to_string(r), d);
    }
  } else {
    CHECK_OR_THROW(ConfigError, split == "kfold", where, ": protocol.split: '", split,
                   "' is unknown (random, kfold)");
    const int folds = p["folds"] ? scalar<int>(p["folds"], "protocol.folds", where) : 5;
    std::vector<int> run;
    if (p["run_folds"]) {
      run = list_of<int>(p["run_folds"], "protocol.run_folds", where);
    } else {
      for (int f = 0; f < folds; ++f) run.push_back(f);
    }
    for (int f : run) {
      YAML::Node d;
      d["split"] = "kfold";
      d["folds"] = folds;
      d["fold"] = f;
      if (p["val_share"]) d["val_share"] = p["val_share"];
      d["split_seed"] = split_seed;
      parts.emplace_back("fold" + std::to_string(f), d);
    }
  }
  return parts;
}

// The dataset as job ids name it: a phantom by its parameters, a store by its path.
std::string dataset_identity(const Sweep& s) {
  const auto& pp = s.pelvis_phantom;
  if (s.pelvis)
    return fmt::format("pelvis_phantom(images={}, height={}, width={}, difficulty={}, seed={}{})",
                       pp.images, pp.height, pp.width, pp.difficulty, pp.seed,
                       pp.default_landmark_error()
                           ? ""
                           : fmt::format(", landmark_error_mm={}", pp.landmark_error_mm));
  if (s.synthesise)
    return fmt::format("phantom(patients={}, patch_size={}, difficulty={}, seed={}, slices={})",
                       s.phantom.patients, s.phantom.patch_size, s.phantom.difficulty,
                       s.phantom.seed, s.phantom.slices);
  return s.store;
}

// Every variant x part x seed x axis point as a job, validated.
void expand_jobs(const YAML::Node& root, const std::string& where,
                 const std::vector<std::pair<std::string, YAML::Node>>& parts, Sweep& s) {
  const auto seeds = root["seeds"] ? list_of<uint64_t>(root["seeds"], "seeds", where)
                                   : std::vector<uint64_t>{1};
  // A search's trials are points whose values come later, one per trial.
  const std::vector<Point> points =
      s.search ? std::vector<Point>(static_cast<size_t>(s.search->trials))
               : expand_axes(root["axes"], where);
  const std::string search_text = s.search ? YAML::Dump(root["search"]) : "";
  const std::string identity = dataset_identity(s);
  const YAML::Node variants = root["variants"];
  CHECK_OR_THROW(ConfigError, variants && variants.IsMap() && variants.size() > 0, where,
                 ": variants: expected at least one `name: {model: {variant: ...}}` entry");
  std::map<std::string, std::string> seen_ids;
  std::map<std::string, std::string> seen_folders;  // collision_key(name) -> name
  for (const auto& v : variants) {
    const std::string vname = v.first.as<std::string>();
    check_folder_name(vname, "variants: the name", where);
    const YAML::Node vnode = v.second.IsNull() ? YAML::Node(YAML::NodeType::Map) : v.second;
    check_keys(vnode, "variants." + vname, kJobSections, where);
    for (const auto& [part_name, part_data] : parts)
      for (uint64_t seed : seeds)
        for (size_t point_index = 0; point_index < points.size(); ++point_index) {
          const Point& point = points[point_index];
          std::string name = vname + "/" + part_name + "/seed" + std::to_string(seed);
          if (s.search) name += "/trial" + std::to_string(point_index);
          AxisValues axes;
          YAML::Node job;
          if (root["preset"]) job["preset"] = root["preset"];
          for (const auto& section : kJobSections) {
            const YAML::Node node = merged(std::as_const(root)[section], std::as_const(vnode)[section]);
            if (node && !node.IsNull()) job[section] = node;
          }
          job["data"] = merged(job["data"], part_data);
          job["data"]["store"] = s.store;
          job["train"]["seed"] = seed;
          if (s.search && s.search->max_epochs > 0) job["train"]["epochs"] = s.search->max_epochs;
          for (const auto& [key, value] : point) {
            const auto [section, field] = split_axis_key(key, where);
            job[section][field] = YAML::Load(value);
            check_folder_name(field + "=" + value, "axes: the point", where);
            name += "/" + field + "=" + value;
            axes.emplace_back(field, value);
          }
          const auto [folder, fresh] = seen_folders.emplace(collision_key(name), name);
          CHECK_OR_THROW(ConfigError, fresh || folder->second == name, where, ": jobs '",
                         folder->second, "' and '", name,
                         "' differ only in case, so they would share one folder on a "
                         "case-insensitive file system; rename one");
          job["output"] = (std::filesystem::path(s.output) / name).string();
          job["name"] = name;
          SweepJob j;
          j.name = name;
          j.variant = vname;
          j.part = part_name;
          j.seed = seed;
          j.axes = std::move(axes);
          j.config = spec::parse_job_config(YAML::Dump(job), where + ": job " + name);
          j.id = job_id(j.config, identity);
          if (s.search) {
            // The trial's values are chosen as the search runs: the id names the search
            // and the trial instead.
            j.trial = static_cast<int>(point_index);
            j.id = job_id_of_text(core::str_cat(j.id, "\n", search_text, "\ntrial ", j.trial));
          }
          // fracsweep 0.1 synthesised only vertebra phantoms.
          if (s.synthesise && !s.pelvis) j.former_id = job_id(j.config, j.config.data.store);
          const auto [it, added] = seen_ids.emplace(j.id, name);
          CHECK_OR_THROW(ConfigError, added, where, ": jobs '", it->second, "' and '", name,
                         "' have the same settings; remove the duplicate variant or axis value");
          s.jobs.push_back(std::move(j));
        }
  }
}

}  // namespace

datastore::VcfPhantomOptions PhantomSpec::options() const {
  datastore::VcfPhantomOptions o;
  datastore::set_patients_as_paper(o, patients);
  o.patch_size = patch_size;
  o.slices = slices;
  o.difficulty = difficulty;
  o.seed = seed;
  return o;
}

datastore::PelvisPhantomOptions PelvisPhantomSpec::options() const {
  datastore::PelvisPhantomOptions o;
  o.images = images;
  o.fractured = static_cast<int>(std::lround(images * 759.0 / 2359.0));
  o.height = height;
  o.width = width;
  o.difficulty = difficulty;
  o.seed = seed;
  o.landmark_error_mm = landmark_error_mm;
  return o;
}

// parse_sweep, whose checks name each key; anything they miss (a section where a
// scalar was expected, a key that is not a scalar) surfaces as YAML::Exception.
static Sweep parse_sweep_checked(const std::string& text, const std::string& where,
                                 int ranks_per_job) {
  const YAML::Node root = spec::load_yaml(text, where);
  check_keys(root, "", kTopKeys, where);
  Sweep s;
  s.path = where;
  CHECK_OR_THROW(ConfigError, root["output"], where, ": output: the sweep's folder is required");
  s.output = scalar<std::string>(root["output"], "output", where);
  s.name = root["name"] ? scalar<std::string>(root["name"], "name", where)
                        : std::filesystem::path(s.output).filename().string();
  if (root["ranks_per_job"]) s.ranks_per_job = scalar<int>(root["ranks_per_job"], "ranks_per_job", where);
  CHECK_OR_THROW(ConfigError, s.ranks_per_job >= 1, where, ": ranks_per_job must be >= 1");

  s.tracking = spec::parse_tracking(root["tracking"], where);
  if (s.tracking.mlflow && s.tracking.mlflow->experiment.empty()) s.tracking.mlflow->experiment = s.name;
  parse_dataset(root, where, s);
  parse_search(root, where, s);
  expand_jobs(root, where, parse_parts(root, where), s);
  if (s.search && !s.jobs.empty()) {
    check_search_metric(*s.search, s.jobs.front().config, where);
    check_search_space(*s.search, s.jobs.front(), where);
  }
  if (ranks_per_job != 0) {
    check_ranks_per_job(s, ranks_per_job, core::str_cat("--ranks-per-job ", ranks_per_job));
    s.ranks_per_job = ranks_per_job;
  } else {
    check_ranks_per_job(s, s.ranks_per_job, core::str_cat("ranks_per_job ", s.ranks_per_job));
  }
  return s;
}

void check_ranks_per_job(const Sweep& sweep, int ranks_per_job, const std::string& from) {
  CHECK_OR_THROW(ConfigError, ranks_per_job >= 1, sweep.path, ": ", from, " must be >= 1");
  // Of a search's keys only the batch size bears on the split; a range's inner
  // values are left to the job's own check (trainer/train_job.cpp).
  std::vector<std::string> batch_values;
  if (sweep.search)
    for (const SearchParam& p : sweep.search->space) {
      if (p.key != "train.batch_size") continue;
      if (p.dist == SearchParam::Dist::kChoice) {
        batch_values = p.values;
      } else {
        batch_values = {format_value(p.low), format_value(p.high)};
      }
    }
  for (const SweepJob& job : sweep.jobs) {
    const std::string where = core::str_cat(sweep.path, ": job ", job.name);
    spec::validate_group(job.config, ranks_per_job, from, where);
    for (const std::string& v : batch_values)
      spec::validate_group(with_params(job, {{"train.batch_size", v}}), ranks_per_job, from,
                           core::str_cat(where, ": search.space.train.batch_size = ", v));
  }
}

spec::JobConfig with_params(const SweepJob& job, const ParamValues& params) {
  if (params.empty()) return job.config;
  YAML::Node node = YAML::Load(spec::to_yaml(job.config));
  for (const auto& [key, value] : params) {
    // "train.loss_weights.d": one map per dot. Nodes are handles, so setting
    // a child's key sets it in `node`.
    YAML::Node at = node;
    size_t from = 0;
    for (size_t dot; (dot = key.find('.', from)) != std::string::npos; from = dot + 1) {
      YAML::Node child = at[key.substr(from, dot - from)];
      at.reset(child);
    }
    INTERNAL_ASSERT(from > 0);
    at[key.substr(from)] = YAML::Load(value);
  }
  spec::JobConfig out = spec::parse_job_config(YAML::Dump(node), "job " + job.name);
  out.train.device = job.config.train.device;  // not part of the resolved job
  return out;
}

Sweep load_sweep(const std::string& path, int ranks_per_job) {
  return parse_sweep(core::read_file(path), path, ranks_per_job);
}

Sweep parse_sweep(const std::string& text, const std::string& where, int ranks_per_job) {
  try {
    return parse_sweep_checked(text, where, ranks_per_job);
  } catch (const YAML::Exception& e) {
    throw ConfigError(core::str_cat(where, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ",
                                    e.msg, " (the sweep file's structure is not a sweep's; see "
                                    "examples/sweeps/)"));
  }
}

}  // namespace fracsweep::sweeps
