// Synthetic sagittal-MRI vertebra patches standing in for the private TSCCN data.
//
// Each phantom patient has a spine of 10-13 vertebral bodies seen in a few middle
// sagittal slices (T1-like contrast: bright fatty marrow with trabecular texture,
// dark cortex, darker discs, dark CSF behind the bodies) under noise and a smooth
// bias field. Benign and malignant patients each carry 1-3 compression fractures:
// a loss of height relative to the neighbours (wedge, biconcave or crush) of
// Genant grade 1 (20-25 %), 2 (25-40 %) or 3 (40-55 %). The two kinds differ
// only subtly (benign: band-like low signal along the collapsed endplate,
// straight or angular posterior wall; malignant: diffuse, patchy low signal and a
// convex posterior wall). What makes a lone patch ambiguous (TSCCN's Fig. 1):
// body size and shape vary between patients and along the spine, a patient with
// poor spine health has flatter, more concave normal bodies throughout, with
// endplate oedema or Schmorl's nodes, and a normal body in the lower half may be
// wedged. Patches are cropped with a fixed physical window, so what gives a
// fracture away is mostly the comparison with its neighbours, the property
// TSCCN's compare network relies on (paper §III-A); FIDELITY.md measures it. See
// Note [VCF phantom geometry] in phantom_vcf_scene.h.
//
// Everything is derived from (options.seed, patient index) through core::Rng, so
// the same options give the same bytes on every platform and patients can be
// generated in any order, one at a time, or in parallel. Pure functions: no I/O,
// no shared state, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fracsweep::datastore {

struct VcfPhantomOptions {
  // Patients whose fractures are benign (osteoporotic or traumatic). Default 136,
  // as in the paper; fewer make a faster, smaller data set.
  int benign_patients = 136;
  // Patients whose fractures are malignant (metastatic). Default 103, as in the paper.
  int malignant_patients = 103;
  // Side of every square patch in pixels. 224 matches the paper's network input;
  // 32-64 keeps tests fast. The physical window is fixed, so this only sets the
  // resolution.
  int patch_size = 224;
  // In [0, 1]. Higher means more mild (grade 1) and fewer severe fractures, a
  // weaker benign/malignant signal difference, more noise and bias, more variation
  // of body size and shape between patients and levels, poorer spine health
  // (flatter normal bodies, degenerative change) and more wedged normal bodies, so
  // lone patches become more ambiguous. Default 0.5.
  double difficulty = 0.5;
  // Root of every random choice; equal seeds give byte-identical patches.
  uint64_t seed = 0;
  // Middle sagittal slices per patient, 1..7. Default 3, as in the paper. Slices
  // show the same vertebrae and fractures with small lateral differences.
  int slices = 3;
};

struct VertebraPatch {
  // patch_size * patch_size, row-major, rows top to bottom (cranial at top),
  // columns anterior (left) to posterior (right).
  std::vector<uint8_t> pixels;
  int32_t label = 0;  // 0 normal, 1 benign VCF, 2 malignant VCF
  int32_t slice = 0;  // 0..slices-1
  int32_t level = 0;  // 0..n_vertebrae-1, cranial to caudal
  // Index in the patient's `patches` of the cranial neighbour in the same slice,
  // -1 for the first level.
  int32_t prev = -1;
  // Index in the patient's `patches` of the caudal neighbour, -1 for the last level.
  int32_t next = -1;
  // Drawn body height at the middle of the body (anterior-posterior) divided by
  // the height this vertebra would have if it were normal; exactly 1 for normal
  // vertebrae, below 1 for fractured ones. Equal across slices.
  double height_ratio = 1.0;
};

struct PhantomPatient {
  std::string id;     // "P0000", "P0001", ... (the patient index, 4 digits or more)
  int32_t label = 0;  // patient-level label: 1 benign, 2 malignant
  // slices * n_vertebrae patches, ordered by slice, then level: the patch of
  // (slice s, level l) is patches[s * n_vertebrae + l].
  std::vector<VertebraPatch> patches;
};

// Throws core::ConfigError naming the option and the value when a patient count
// is negative, both are 0, or their sum overflows int; when patch_size is outside
// [16, 2048]; when difficulty is outside [0, 1] (or NaN); when slices is outside [1, 7].
void validate(const VcfPhantomOptions& options);

// benign_patients + malignant_patients. Throws like validate().
int total_patients(const VcfPhantomOptions& options);

// Sets the benign and malignant counts of `options` from a total, in the
// paper's ratio (136:103), keeping at least one of each when there are at
// least two patients. Throws core::ConfigError for fewer than one patient.
void set_patients_as_paper(VcfPhantomOptions& options, int patients);

// Generates patient `patient_index` (0-based): indices below benign_patients are
// benign, the rest malignant. The result depends only on the options and the
// index, through core::derive_seed(options.seed, "vcf-phantom/patient/<index>",
// 0, purpose), so patients can be generated in any order or in parallel.
// Throws core::ConfigError for invalid options or an index outside
// [0, total_patients(options)).
PhantomPatient synth_vcf_patient(const VcfPhantomOptions& options, int patient_index);

}  // namespace fracsweep::datastore
