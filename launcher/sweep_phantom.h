// The phantom data set a sweep writes into its folder on its first run
// (`dataset: {phantom: ...}` or `{pelvis_phantom: ...}`, sweeps/sweep.h).
#pragma once

#include "core/log.h"
#include "sweeps/sweep.h"

namespace fracsweep::launcher {

// Writes the sweep's phantom store unless it exists. Its settings are kept
// beside it (STORE.spec); throws core::ConfigError when an existing store was
// written for other settings, so a changed spec is never trained on an old store,
// or when it does not open as a valid store.
// REQUIRES: the caller holds the folder's preparation lock (See Note [Preparing
// a shared folder] in run_sweep.cpp), so that one process writes the store and
// the others find it finished.
void ensure_phantom(const sweeps::Sweep& sweep, core::Logger& log);

}  // namespace fracsweep::launcher
