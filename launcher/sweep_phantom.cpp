// See sweep_phantom.h.
#include "launcher/sweep_phantom.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/patch_store.h"
#include "datastore/synth_pelvis.h"
#include "datastore/synth_vcf.h"

namespace fracsweep::launcher {
namespace {

namespace fs = std::filesystem;

// The phantom's settings, kept next to it so that a changed spec is not
// silently trained on an old store.
std::string phantom_spec_text(const sweeps::Sweep& sweep) {
  if (sweep.pelvis) {
    const auto& p = sweep.pelvis_phantom;
    return fmt::format("pelvis images {} height {} width {} difficulty {} seed {}{}\n", p.images,
                       p.height, p.width, p.difficulty, p.seed,
                       p.default_landmark_error()
                           ? ""
                           : fmt::format(" landmark_error_mm {}", p.landmark_error_mm));
  }
  const auto& p = sweep.phantom;
  return fmt::format("patients {} patch_size {} slices {} difficulty {} seed {}\n", p.patients,
                     p.patch_size, p.slices, p.difficulty, p.seed);
}

void write_pelvis_phantom(const sweeps::Sweep& sweep, core::Logger& log) {
  const auto& p = sweep.pelvis_phantom;
  datastore::PelvisSynthOptions o;
  o.phantom = p.options();
  o.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  log.info("writing the pelvis phantom ", sweep.store, " (", p.images, " images of ", p.height,
           "x", p.width, ")");
  const auto summary = datastore::write_pelvis_phantom_store(sweep.store, o);
  log.info("phantom written: ", summary.images, " images, ", summary.fractured, " with fractures");
}

// A store found in place (written by the shard that took the lock first, or by an
// earlier run) is used once it opens and validates as the jobs will open it.
void check_store(const sweeps::Sweep& sweep) {
  try {
    (void)datastore::PatchStore::open(sweep.store);
  } catch (const core::ConfigError& e) {
    throw core::ConfigError(core::str_cat(e.what(), "; delete ", sweep.store, " and ", sweep.store,
                                          ".spec, and run again to write the phantom anew"));
  }
}

// Temporary files of writers that stopped before they finished (STORE.partial.<pid>,
// datastore/store_file.h): the caller holds the preparation lock, so no writer is at work.
void remove_abandoned(const std::string& store, core::Logger& log) {
  const fs::path path(store);
  const std::string prefix = path.filename().string() + ".partial";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path.parent_path(), ec)) {
    if (e.path().filename().string().rfind(prefix, 0) != 0) continue;
    log.info("removing ", e.path().string(), ", left by a phantom writer that stopped");
    fs::remove(e.path(), ec);  // a file we cannot remove wastes space but harms no one
  }
}

}  // namespace

void ensure_phantom(const sweeps::Sweep& sweep, core::Logger& log) {
  const std::string spec_path = sweep.store + ".spec";
  const std::string spec = phantom_spec_text(sweep);
  if (fs::exists(sweep.store)) {
    CHECK_OR_THROW(core::ConfigError,
                   fs::exists(spec_path) && core::read_file(spec_path) == spec, sweep.store,
                   " was written for another phantom spec than the one in ", sweep.path,
                   " (see ", spec_path, "); use a new output folder, or delete the store and "
                   "the jobs trained on it");
    check_store(sweep);
    return;
  }
  remove_abandoned(sweep.store, log);
  if (sweep.pelvis) {
    core::write_file_atomic(spec_path, spec);
    write_pelvis_phantom(sweep, log);
    return;
  }
  datastore::VcfSynthOptions o;
  o.phantom = sweep.phantom.options();
  o.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  log.info("writing the phantom data set ", sweep.store, " (", sweep.phantom.patients,
           " patients, ", sweep.phantom.patch_size, " px)");
  core::write_file_atomic(spec_path, spec);
  const auto summary = datastore::write_vcf_phantom_store(sweep.store, o);
  log.info("phantom written: ", summary.patches, " patches");
}

}  // namespace fracsweep::launcher
