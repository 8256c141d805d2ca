// See synth_vcf.h.
#include "datastore/synth_vcf.h"

#include <vector>

#include "core/error.h"
#include "datastore/ordered_pipeline.h"
#include "datastore/patch_store.h"
#include "datastore/preview.h"

namespace fracsweep::datastore {

std::string vcf_phantom_source(const VcfPhantomOptions& o) {
  return core::str_cat("fracsweep vertebra phantom (synth vcf): benign_patients=", o.benign_patients,
                 " malignant_patients=", o.malignant_patients, " patch_size=", o.patch_size,
                 " difficulty=", o.difficulty, " slices=", o.slices, " seed=", o.seed);
}

VcfSynthSummary write_vcf_phantom_store(const std::string& path, const VcfSynthOptions& options,
                                        const SynthProgress& progress) {
  const int total = total_patients(options.phantom);  // validates the phantom options
  CHECK_OR_THROW(core::ConfigError, options.threads >= 1 && options.threads <= 256,
                 "threads = ", options.threads, " must be in 1..256");
  CHECK_OR_THROW(core::ConfigError, options.preview_per_class >= 1,
                 "preview examples per class = ", options.preview_per_class, " must be >= 1");
  const int size = options.phantom.patch_size;
  VcfStoreWriter writer(path, size, size, options.compression,
                        vcf_phantom_source(options.phantom));

  // The sheet shows the first patients of each class; keep only those.
  const int keep_per_class = options.preview_per_class;
  std::vector<PhantomPatient> preview;
  int kept[3] = {0, 0, 0};

  VcfSynthSummary summary;
  OrderedPipeline<PhantomPatient> pipeline(
      [&](int index) { return synth_vcf_patient(options.phantom, index); }, total,
      2 * options.threads + 2);
  {
    PipelineWorkers workers(pipeline, options.threads);
    std::vector<VcfPatchRecord> records;
    for (int p = 0; p < total; ++p) {
      PhantomPatient patient = pipeline.take();
      records.clear();
      for (const VertebraPatch& v : patient.patches) {
        records.push_back({v.pixels, v.label, v.slice, v.level, v.prev, v.next});
        ++summary.per_class[static_cast<size_t>(v.label)];
      }
      writer.add_patient(patient.id, patient.label, records);
      summary.patches += patient.patches.size();
      ++summary.patients;
      if (!options.preview_path.empty() && kept[patient.label] < keep_per_class) {
        ++kept[patient.label];
        preview.push_back(std::move(patient));
      }
      if (progress) progress(p + 1, total);
    }
  }
  writer.commit();
  if (!options.preview_path.empty()) write_vcf_contact_sheet(options.preview_path, preview, keep_per_class);
  return summary;
}

}  // namespace fracsweep::datastore
