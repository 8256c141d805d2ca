// A model exported from PyTorch (`fracsweep export`, python/fracsweep_export.py): its
// package's manifest, read without LibTorch, and the checks a sweep makes before any
// job starts.
//
// A package is one .pt2 file (a stored zip archive, as PyTorch writes them) holding two
// AOTInductor-compiled models, "train" and "eval", and `<archive>/extra/manifest.json`:
// the task, the inputs and outputs with their shapes (-1: the dynamic batch), the
// parameters and buffers, the LibTorch version and device it was compiled for, and a
// hash of the model's source and settings. The manifest makes the package a variant
// (exported_variant), described by data like the built-in ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/job_config.h"
#include "spec/variants.h"

namespace fracsweep::spec {

struct ExportedTensor {
  std::string name;
  std::vector<int64_t> shape;  // -1: the batch
  std::string dtype = "float32";
};

struct ExportedManifest {
  std::string package;   // the .pt2 it was read from
  std::string name;      // the model file's stem
  Task task = Task::kVertebra;
  Input input = Input::kPatch;
  Output output = Output::kClassScores;
  ExportedTensor image;   // the training and evaluation input, [-1, views, H, W]
  ExportedTensor target;  // the training target: labels [-1] or a mask [-1, 1, H, W]
  ExportedTensor eval_output;  // [-1, 3], [-1, 1] or [-1, 1, H, W]
  std::vector<ExportedTensor> parameters;  // in the training step's gradient order
  std::vector<ExportedTensor> buffers;
  std::string libtorch;  // torch.__version__ where it was compiled, e.g. "2.11.0+cu130"
  std::string device;    // "cpu" or "cuda"
  std::string hash;      // sha256 of the source, the settings and the torch version
  std::string source;    // the model file's name
};

// The stored entry of a zip archive whose name ends with `suffix` (after a '/').
// Throws core::ConfigError naming `path` when it is no zip archive, or holds no such
// entry, or holds it compressed.
std::string read_stored_zip_entry(const std::string& path, const std::string& suffix);

// The manifest of the package at `path`. Throws core::ConfigError, one line naming the
// file, when it is not a fracsweep package or its manifest is malformed.
ExportedManifest read_exported_manifest(const std::string& path);

// The manifest's model as a variant named `name` (its task's headline, metrics and
// defaults; the input and output it declares; source: the package).
Variant exported_variant(const ExportedManifest& m, const std::string& name);

// Where `fracsweep run` keeps the package of a model file (.py) named in a sweep, as
// Python keeps compiled modules: <its folder>/__pycache__/<stem>.fracsweep-<hash>.pt2, the
// hash that of the file's content, so an edited file is exported again.
std::string exported_cache_path(const std::string& model_file);

// The package a job's model.package names: itself for a package, the cached package for
// a model file. Throws core::ConfigError when a model file has not been exported yet.
std::string resolve_package(const std::string& package, const std::string& where);

// Where a package's initial weights for one seed are kept: beside it, as
// <package stem>.seed-<S>.pt, a state dict of the model built after torch.manual_seed(S)
// (the exporter's --initial-weights writes them; `fracsweep run` does for a model file).
std::string seed_weights_path(const std::string& package, uint64_t seed);

// The state dict an exported job's model starts from: its model.init_weights; else its
// seed's weights beside its package, where they exist; else "": the package's own
// weights, which are those of the exporter's --seed, the same for every seed.
std::string exported_initial_weights(const JobConfig& job);

// The variant `name` that `package` (a package or a model file) describes: its manifest's;
// for a model file not exported yet, a vertebra variant until `fracsweep run` exports it.
Variant exported_job_variant(const std::string& name, const std::string& package,
                             const std::string& where);

// `variants` with exported_job_variant(name, package), unless it holds one of that name
// from the same package already.
VariantRegistry with_exported(const VariantRegistry& variants, const std::string& name,
                              const std::string& package, const std::string& where);

// The variant a job trains: the registry's, or for a job with a model.package the one
// its package's manifest describes (under the job's model.variant).
Variant job_variant(const JobConfig& job,
                    const VariantRegistry& variants = VariantRegistry::built_in());

// What the machine that trains a package must match. An empty field is not checked.
struct ExportedTarget {
  Task task = Task::kVertebra;
  std::string libtorch;  // this build's LibTorch major.minor, e.g. "2.11"
  std::string device;    // "cpu" or "cuda": where the job trains
  int views = 0, height = 0, width = 0;  // the store's sample as the model takes it; 0: unknown
};

// Throws core::ConfigError, one line naming the package, the manifest key, the value
// and how to fix it, when `m` cannot be trained on `target`.
void check_exported(const ExportedManifest& m, const ExportedTarget& target,
                    const std::string& where);

}  // namespace fracsweep::spec
