// A sweep's models exported from PyTorch (spec/exported.h), before any job starts:
// rank 0 exports each model file (.py) the sweep names in a model.package, once per
// sweep, for the sweep's store, into its cache (spec::exported_cache_path); and every
// package a job will train is checked against the store, this build and the job's device.
// A model file's jobs start from their own seed's initial weights, which rank 0 has the
// exporter write beside the cached package (spec::seed_weights_path).
#pragma once

#include <string>

#include "core/log.h"
#include "sweeps/sweep.h"

namespace fracsweep::launcher {

// Exports what the sweep file at `sweep_path` needs exported; the exporter's progress and
// compile time are printed as it goes. Returns 0, or the exporter's exit code (2 for a
// model it cannot export, its reason logged on one line). Reads the sweep file itself:
// the sweep cannot be loaded before its model files are packages.
int export_model_files(const std::string& sweep_path, core::Logger& log);

// Writes the initial weights of every seed that the jobs of a model file (.py) train with
// and that are not beside its cached package yet: the model built after
// torch.manual_seed(seed), as a job of a built-in model starts from its seed. Jobs with a
// model.init_weights need none. Returns 0, or the exporter's exit code (its reason logged).
int export_seed_weights(const sweeps::Sweep& sweep, core::Logger& log);

// Throws core::ConfigError, one line naming the sweep, the package and what to change,
// when a job's package is for another task, LibTorch or device, or takes inputs of
// another shape than the sweep's store holds. The store must exist.
void check_exported_packages(const sweeps::Sweep& sweep);

}  // namespace fracsweep::launcher
