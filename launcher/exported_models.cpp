// See exported_models.h.
#include "launcher/exported_models.h"

#include <torch/version.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>

#include "cli/exporter.h"
#include "core/error.h"
#include "datastore/patch_store.h"
#include "datastore/phantom_pelvis.h"
#include "datastore/phantom_vcf.h"
#include "spec/exported.h"

namespace fracsweep::launcher {
namespace {

namespace fs = std::filesystem;

// What the sweep's store gives a model, read from the sweep file alone (the phantom may
// not be written yet).
struct StoreShape {
  spec::Task task = spec::Task::kVertebra;
  int height = 0, width = 0;
};

StoreShape shape_of_dataset(const YAML::Node& dataset, const std::string& where) {
  StoreShape s;
  if (dataset && dataset["store"]) {
    const std::string path = dataset["store"].as<std::string>();
    CHECK_OR_THROW(core::ConfigError, fs::exists(path), where, ": dataset.store ", path,
                   " does not exist");
    const datastore::StoreInfo info = datastore::PatchStore::open(path).info();
    s.task = info.task == datastore::Task::kVcf ? spec::Task::kVertebra : spec::Task::kPelvis;
    s.height = info.height;
    s.width = info.width;
  } else if (dataset && dataset["pelvis_phantom"]) {
    const YAML::Node p = dataset["pelvis_phantom"];
    s.task = spec::Task::kPelvis;
    s.height = p["height"] ? p["height"].as<int>() : datastore::PelvisPhantomOptions{}.height;
    s.width = p["width"] ? p["width"].as<int>() : datastore::PelvisPhantomOptions{}.width;
  } else {
    const YAML::Node p = dataset ? dataset["phantom"] : YAML::Node();
    s.height = s.width =
        p && p["patch_size"] ? p["patch_size"].as<int>() : datastore::VcfPhantomOptions{}.patch_size;
  }
  return s;
}

// The model files (.py) named by the sweep's base model section and its variants'.
std::set<std::string> model_files(const YAML::Node& root) {
  std::set<std::string> files;
  const auto take = [&](const YAML::Node& model) {
    if (model && model.IsMap() && model["package"] && model["package"].IsScalar()) {
      const std::string p = model["package"].as<std::string>();
      if (fs::path(p).extension() == ".py") files.insert(p);
    }
  };
  take(root["model"]);
  if (root["variants"] && root["variants"].IsMap())
    for (const auto& v : root["variants"])
      if (v.second.IsMap()) take(v.second["model"]);
  return files;
}

// Whether the cached package was made for this store (an earlier sweep may have used
// the same file on another).
bool cached_fits(const std::string& cache, const StoreShape& s) {
  if (!fs::exists(cache)) return false;
  try {
    const spec::ExportedManifest m = spec::read_exported_manifest(cache);
    return m.task == s.task && m.image.shape.size() == 4 && m.image.shape[2] == s.height &&
           m.image.shape[3] == s.width;
  } catch (const core::ConfigError&) {
    return false;  // a damaged cache: export again
  }
}

}  // namespace

int export_model_files(const std::string& sweep_path, core::Logger& log) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(sweep_path);
  } catch (const YAML::Exception&) {
    return 0;  // load_sweep says what is wrong with the file
  }
  if (!root.IsMap()) return 0;
  const std::set<std::string> files = model_files(root);
  if (files.empty()) return 0;
  StoreShape shape;
  try {
    shape = shape_of_dataset(root["dataset"], sweep_path);
  } catch (const core::ConfigError& e) {
    log.error(e.what());
    return 2;
  }
  for (const std::string& file : files) {
    if (!fs::exists(file)) continue;  // load_sweep names it
    const std::string cache = spec::exported_cache_path(file);
    if (cached_fits(cache, shape)) {
      log.info(sweep_path, ": ", file, ": exported before (", fs::path(cache).filename().string(),
               ")");
      continue;
    }
    fs::create_directories(fs::path(cache).parent_path());
    log.info(sweep_path, ": exporting ", file, " for the ", spec::task_name(shape.task),
             " task, ", shape.height, "x", shape.width, " (once for the sweep) ...");
    const int code = cli::run_exporter({file, "--task", std::string(spec::task_name(shape.task)),
                                        "--size", core::str_cat(shape.height, ",", shape.width),
                                        "--out", cache});
    if (code != 0) {
      log.error(sweep_path, ": ", file, " could not be exported (exit ", code,
                "; the exporter said why above)");
      return code == 2 ? 2 : 1;
    }
  }
  return 0;
}

int export_seed_weights(const sweeps::Sweep& sweep, core::Logger& log) {
  std::map<std::string, std::set<uint64_t>> wanted;  // model file -> its jobs' seeds
  for (const sweeps::SweepJob& job : sweep.jobs) {
    const spec::ModelConfig& model = job.config.model;
    if (fs::path(model.package).extension() == ".py" && model.init_weights.empty())
      wanted[model.package].insert(job.config.train.seed);
  }
  for (const auto& [file, seeds] : wanted) {
    const std::string cache = spec::exported_cache_path(file);  // reads and hashes the file
    std::string list;
    for (uint64_t seed : seeds) {
      if (fs::exists(spec::seed_weights_path(cache, seed))) continue;
      if (!list.empty()) list += ',';
      list += std::to_string(seed);
    }
    if (list.empty()) continue;
    const spec::ExportedManifest m = spec::read_exported_manifest(cache);
    log.info(sweep.path, ": ", file, ": initial weights for seed(s) ", list, " ...");
    const int code = cli::run_exporter({file, "--task", std::string(spec::task_name(m.task)),
                                        "--initial-weights", list, "--out", cache});
    if (code != 0) {
      log.error(sweep.path, ": ", file, ": the initial weights of seed(s) ", list,
                " could not be written (exit ", code, "; the exporter said why above)");
      return code == 2 ? 2 : 1;
    }
  }
  return 0;
}

void check_exported_packages(const sweeps::Sweep& sweep) {
  std::set<std::string> seen;
  std::optional<datastore::StoreInfo> info;
  for (const sweeps::SweepJob& job : sweep.jobs) {
    const std::string& package = job.config.model.package;
    if (package.empty() || !seen.insert(package + "\n" + job.config.train.device).second) continue;
    if (!info) info = datastore::PatchStore::open(sweep.store).info();
    const spec::ExportedManifest m =
        spec::read_exported_manifest(spec::resolve_package(package, sweep.path));
    spec::ExportedTarget target;
    target.task =
        info->task == datastore::Task::kVcf ? spec::Task::kVertebra : spec::Task::kPelvis;
    target.libtorch = TORCH_VERSION;
    target.device = job.config.train.device == "auto" ? "" : job.config.train.device;
    target.views = m.input == spec::Input::kPatchWithNeighbours ? 3 : 1;
    target.height = info->height;
    target.width = info->width;
    spec::check_exported(m, target, sweep.path);
  }
}

}  // namespace fracsweep::launcher
