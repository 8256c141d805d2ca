// `fracsweep ingest vcf`: sagittal spine MRI with vertebra annotations into a
// vertebra patch store, as TSCCN §III-D and §IV-A prepare their data.
//
// The manifest (CSV, one row per patient; paths relative to the manifest):
//   patient          the patient's id (unique)
//   label            1 benign, 2 malignant (0: no fracture)
//   image            a DICOM series folder, a DICOM file, or a NIfTI/NRRD/MHA volume
//   series_uid       optional: the SeriesInstanceUID to use when the folder holds several
//   boxes            a CSV of boxes: slice, level, x0, y0, x1, y1, label
//   labelmap         or: a vertebra label map (one integer per level, 0 background)
//   fractured_levels with labelmap: the fractured levels, separated by ';' (they get
//                    the patient's label; the others are normal)
// Levels are integers that grow from head to feet (as spine segmentation tools
// number them: 8 = T1 ... 20 = L1); neighbours are the next annotated levels.
//
// Box coordinates are voxel coordinates of the image as stored, the way a
// viewer shows a sagittal series: x the column, y the row, slice the index in
// the series (DICOM: sorted by position along the slice normal; NIfTI: the
// third index). Pixel (x, y) is centred at (x, y): a box around columns a..b
// is x0 = a - 0.5, x1 = b + 0.5. Boxes need a sagittal image; a label map
// works in any orientation (it is carried onto the image in physical space).
//
// Per patient: the image is turned to the sagittal grid (medical_image.h), the
// middle of the annotated slices is found, and `slices` slices around it are
// taken; each vertebral body's box gives a square crop, centred on the box, as
// wide as its longer side plus a margin on each side (or a fixed window), in
// millimetres, resampled to patch_size in physical space; intensities are
// normalised per series (intensity.h). A level missing from one of the taken
// slices takes its box from the nearest slice that has it.
#pragma once

#include <functional>
#include <string>

#include "datastore/ingest/intensity.h"

namespace fracsweep::datastore::ingest {

struct VcfIngestOptions {
  int patch_size = 224;
  int slices = 3;            // middle sagittal slices per patient, 1..7
  double margin_mm = 4;      // added on each side of the body's box
  double window_mm = 0;      // > 0: a fixed square side instead of box + margin
  IntensityOptions intensity;
  int compression = 4;       // deflate level, 0 = none .. 9
  int threads = 1;           // patients read at once
  bool skip_bad = false;     // report and skip a bad patient instead of stopping
};

struct IngestSummary {
  int patients = 0, skipped = 0;
  size_t samples = 0;
  std::vector<std::string> errors;  // one per skipped patient
};

// Called after each patient, in manifest order: (done, total, patient id,
// samples written for it, the error when it was skipped or "").
using IngestProgress = std::function<void(int done, int total, const std::string& patient,
                                          size_t samples, const std::string& error)>;

// Throws core::ConfigError for bad options (naming the option) and for a bad
// patient without skip_bad (naming the patient, the file and what to do), and
// when every patient was skipped; core::IoError when the store cannot be
// written. Nothing is left at `out` unless the whole store was written; the
// same inputs and options give the same bytes, whatever the thread count.
IngestSummary ingest_vcf(const std::string& manifest, const std::string& out,
                         const VcfIngestOptions& options, const IngestProgress& progress = {});

}  // namespace fracsweep::datastore::ingest
