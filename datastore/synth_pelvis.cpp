// See synth_pelvis.h.
#include "datastore/synth_pelvis.h"

#include <vector>

#include "core/error.h"
#include "datastore/ordered_pipeline.h"
#include "datastore/pelvis_store.h"
#include "datastore/preview.h"

namespace fracsweep::datastore {

std::string pelvis_phantom_source(const PelvisPhantomOptions& o) {
  return core::str_cat("fracsweep pelvis phantom (synth pelvis): images=", o.images,
                       " fractured=", o.fractured, " size=", o.height, "x", o.width,
                       " difficulty=", o.difficulty, " seed=", o.seed,
                       " mask_radius_mm=", o.mask_radius_mm,
                       " landmark_error_mm=", o.landmark_error_mm);
}

PelvisSynthSummary write_pelvis_phantom_store(const std::string& path,
                                              const PelvisSynthOptions& options,
                                              const SynthProgress& progress) {
  const PelvisPhantomOptions& ph = options.phantom;
  const std::vector<int32_t> labels = pelvis_labels(ph);  // validates the phantom options
  CHECK_OR_THROW(core::ConfigError, options.threads >= 1 && options.threads <= 256,
                 "threads = ", options.threads, " must be in 1..256");
  CHECK_OR_THROW(core::ConfigError, options.preview_per_class >= 1,
                 "preview examples per class = ", options.preview_per_class, " must be >= 1");
  PelvisStoreSettings st;
  st.height = ph.height;
  st.width = ph.width;
  st.warp_stride = ph.warp_stride;
  st.mask_radius = mask_radius_px(ph);
  st.pixel_spacing_mm = kPelvisRoiWidthMm / ph.width;
  st.compression = options.compression;
  st.source = pelvis_phantom_source(ph);
  PelvisStoreWriter writer(path, st);

  std::vector<PelvisPhantom> preview;
  int kept[2] = {0, 0};
  PelvisSynthSummary summary;
  OrderedPipeline<PelvisPhantom> pipeline(
      [&](int i) { return synth_pelvis_image(ph, i, labels[static_cast<size_t>(i)]); }, ph.images,
      2 * options.threads + 2);
  {
    PipelineWorkers workers(pipeline, options.threads);
    for (int i = 0; i < ph.images; ++i) {
      PelvisPhantom image = pipeline.take();
      writer.add(image.id, image.label, image.view);
      ++summary.images;
      summary.fractured += image.label;
      summary.points += image.view.points.size();
      if (!options.preview_path.empty() && kept[image.label] < options.preview_per_class) {
        ++kept[image.label];
        preview.push_back(std::move(image));
      }
      if (progress) progress(i + 1, ph.images);
    }
  }
  writer.commit();
  if (!options.preview_path.empty()) {
    std::vector<PelvisPreviewItem> items;
    for (int label : {1, 0})
      for (const PelvisPhantom& p : preview)
        if (p.label == label) items.push_back({p.id, &p.view});
    write_pelvis_contact_sheet(options.preview_path, items, st.mask_radius);
  }
  return summary;
}

}  // namespace fracsweep::datastore
