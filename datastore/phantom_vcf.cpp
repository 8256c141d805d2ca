// See phantom_vcf.h. A patient is sampled once (anatomy, fractures, textures),
// then every patch is rendered by evaluating the scene at the pixel centres of
// the patient's scanner grid and resized to the requested patch size. The scene
// is described in phantom_vcf_scene.h.
#include "datastore/phantom_vcf.h"

// Byte-identical output needs unfused floating-point arithmetic: a * b + c must
// not become an FMA where the target has one (-march=native, -mfma). CMake builds
// the datastore with -ffp-contract=off; the pragma covers Clang builds outside
// it. Never build this file with -ffast-math.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/error.h"
#include "core/seed.h"
#include "datastore/phantom_vcf_scene.h"

namespace fracsweep::datastore {
namespace {

using vcf_phantom::Anatomy;
using vcf_phantom::gaussian;
using vcf_phantom::Lattice;
using vcf_phantom::render_patch;
using vcf_phantom::sample_anatomy;
using vcf_phantom::SliceBody;
using vcf_phantom::Vertebra;

constexpr double kSliceSpacingMm = 3.0;  // lateral distance between slices

std::string patient_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "P%04d", index);
  return buf;
}

}  // namespace

void validate(const VcfPhantomOptions& options) {
  CHECK_OR_THROW(core::ConfigError, options.benign_patients >= 0,
                 "vcf phantom: benign_patients must be >= 0, got ", options.benign_patients);
  CHECK_OR_THROW(core::ConfigError, options.malignant_patients >= 0,
                 "vcf phantom: malignant_patients must be >= 0, got ", options.malignant_patients);
  CHECK_OR_THROW(core::ConfigError, options.benign_patients > 0 || options.malignant_patients > 0,
                 "vcf phantom: benign_patients and malignant_patients are both 0; "
                 "ask for at least one patient");
  CHECK_OR_THROW(core::ConfigError, options.benign_patients <= INT_MAX - options.malignant_patients,
                 "vcf phantom: benign_patients + malignant_patients overflows int (",
                 options.benign_patients, " + ", options.malignant_patients, ")");
  CHECK_OR_THROW(core::ConfigError, options.patch_size >= 16 && options.patch_size <= 2048,
                 "vcf phantom: patch_size must be in [16, 2048], got ", options.patch_size);
  CHECK_OR_THROW(core::ConfigError, options.difficulty >= 0 && options.difficulty <= 1,
                 "vcf phantom: difficulty must be in [0, 1], got ", options.difficulty);
  CHECK_OR_THROW(core::ConfigError, options.slices >= 1 && options.slices <= 7,
                 "vcf phantom: slices must be in [1, 7], got ", options.slices);
}

int total_patients(const VcfPhantomOptions& options) {
  validate(options);
  return options.benign_patients + options.malignant_patients;
}

void set_patients_as_paper(VcfPhantomOptions& options, int patients) {
  CHECK_OR_THROW(core::ConfigError, patients >= 1, "a phantom needs at least 1 patient, not ",
                 patients);
  int benign = static_cast<int>(std::lround(patients * 136.0 / 239.0));
  if (patients >= 2) benign = std::clamp(benign, 1, patients - 1);
  options.benign_patients = benign;
  options.malignant_patients = patients - benign;
}

PhantomPatient synth_vcf_patient(const VcfPhantomOptions& options, int patient_index) {
  const int total = total_patients(options);
  CHECK_OR_THROW(core::ConfigError, patient_index >= 0 && patient_index < total,
                 "vcf phantom: patient index ", patient_index, " is outside [0, ", total, ")");
  const std::string job = "vcf-phantom/patient/" + std::to_string(patient_index);
  const int label = patient_index < options.benign_patients ? 1 : 2;
  const double d = options.difficulty;

  core::Rng anatomy_rng(core::derive_seed(options.seed, job, 0, "anatomy"));
  const Anatomy a = sample_anatomy(anatomy_rng, label, d);
  const int n = static_cast<int>(a.bodies.size());
  const int levels = n - 2;
  // Marrow texture shared by all slices; each slice mixes in its own part.
  core::Rng texture_rng(core::derive_seed(options.seed, job, 0, "texture"));
  std::vector<std::array<Lattice, 2>> shared(n);  // coarse, fine
  for (int i = 0; i < n; ++i) {
    const Vertebra& b = a.bodies[i];
    const double w = b.depth + 12, h = b.h + 12;
    shared[i] = {Lattice(-0.5 * w, -0.5 * h, 3.5, w, h), Lattice(-0.5 * w, -0.5 * h, 0.9, w, h)};
    shared[i][0].fill(texture_rng, 0);
    shared[i][1].fill(texture_rng, 0);
  }

  PhantomPatient patient;
  patient.id = patient_id(patient_index);
  patient.label = label;
  patient.patches.reserve(static_cast<size_t>(options.slices) * levels);
  for (int s = 0; s < options.slices; ++s) {
    core::Rng rng(core::derive_seed(options.seed, job, 0, "slice/" + std::to_string(s)));
    const double z = (s - 0.5 * (options.slices - 1)) * kSliceSpacingMm;
    const double slice_gain = 1 + 0.02 * gaussian(rng);
    // Off the midline the canal narrows (it is round in cross-section).
    const double canal = a.canal * std::sqrt(std::max(0.3, 1 - z * z / 100));
    std::vector<SliceBody> bodies(n);
    for (int i = 0; i < n; ++i) {
      SliceBody& sb = bodies[i];
      sb.v = &a.bodies[i];
      // Bodies are roughly cylinders seen from the side: shallower off the midline.
      const double lateral = 0.55 * sb.v->depth;
      sb.half_depth = 0.5 * sb.v->depth * std::sqrt(1 - z * z / (lateral * lateral)) *
                      (1 + 0.01 * gaussian(rng));
      sb.inv_half_depth = 1 / sb.half_depth;
      sb.marrow = sb.v->marrow * (1 + 0.025 * gaussian(rng));
      std::array<Lattice, 2> own = shared[i];
      own[0].fill(rng, 0);
      own[1].fill(rng, 0);
      // One two-channel lattice on the fine grid, so a pixel costs one lookup.
      sb.texture = shared[i][1];
      for (int iv = 0; iv < sb.texture.nv(); ++iv) {
        for (int iu = 0; iu < sb.texture.nu(); ++iu) {
          const double u = sb.texture.node_u(iu), v = sb.texture.node_v(iv);
          sb.texture.value(iu, iv, 0) = 0.75 * shared[i][0].at(u, v)[0] + 0.25 * own[0].at(u, v)[0];
          sb.texture.value(iu, iv, 1) =
              0.6 * shared[i][1].value(iu, iv, 0) + 0.4 * own[1].value(iu, iv, 0);
        }
      }
    }
    for (int level = 0; level < levels; ++level) {
      const Vertebra& b = a.bodies[level + 1];
      VertebraPatch p;
      p.pixels = render_patch(a, bodies, level + 1, options.patch_size, canal, slice_gain, rng);
      p.label = b.label;
      p.slice = s;
      p.level = level;
      const int index = s * levels + level;
      p.prev = level > 0 ? index - 1 : -1;
      p.next = level + 1 < levels ? index + 1 : -1;
      p.height_ratio = b.label == 0 ? 1.0 : b.height_ratio;
      patient.patches.push_back(std::move(p));
    }
  }
  return patient;
}

}  // namespace fracsweep::datastore
