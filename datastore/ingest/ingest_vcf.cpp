// See ingest_vcf.h. Phases per patient: read the volume, gather the boxes (from
// a box list or a label map) on the sagittal grid, choose the middle slices,
// crop and normalise; patients run on worker threads and are written in
// manifest order by the calling thread, as the phantom writers do.
#include "datastore/ingest/ingest_vcf.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/error.h"
#include "datastore/ingest/csv_table.h"
#include "datastore/ingest/medical_image.h"
#include "datastore/ingest/run_cases.h"
#include "datastore/patch_store.h"

namespace fracsweep::datastore::ingest {
namespace {

struct PatientSpec {
  std::string id, where;  // where: "MANIFEST line N"
  std::string image, series_uid, boxes, labelmap;
  int label = 0;
  std::vector<int> fractured_levels;
  std::string error;  // a problem with the row itself
};

// A body's box on the sagittal grid: continuous index edges, slice k.
struct Box {
  double i0 = 0, i1 = 0, j0 = 0, j1 = 0;
};

struct Annotations {
  std::map<int, std::map<int, Box>> boxes;  // level -> slice k -> box
  std::map<int, int> label;                 // level -> vertebra label
};

struct IngestedPatient {
  std::string id;
  int label = 0;
  std::vector<std::vector<uint8_t>> pixels;
  std::vector<VcfPatchRecord> records;  // pixels filled in when written
};

std::vector<int> parse_levels(const std::string& text, const std::string& where) {
  std::vector<int> levels;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    std::string field = text.substr(start, end - start);
    field.erase(0, field.find_first_not_of(' '));
    field.erase(field.find_last_not_of(' ') + 1);
    if (!field.empty()) {
      size_t used = 0;
      int level = 0;
      try {
        level = std::stoi(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      CHECK_OR_THROW(core::ConfigError, used == field.size() && used > 0, where,
                     ": fractured_levels holds '", field, "', not a level number (use e.g. 19;21)");
      levels.push_back(level);
    }
    start = end + 1;
  }
  return levels;
}

std::vector<PatientSpec> read_manifest(const std::string& manifest) {
  const CsvTable t = CsvTable::read(manifest, {"patient", "label", "image"});
  CHECK_OR_THROW(core::ConfigError, t.has("boxes") || t.has("labelmap"), manifest,
                 ": needs a 'boxes' or a 'labelmap' column for the vertebrae");
  CHECK_OR_THROW(core::ConfigError, t.rows() > 0, manifest, ": no patients listed");
  std::vector<PatientSpec> specs;
  std::set<std::string> ids;
  for (size_t r = 0; r < t.rows(); ++r) {
    PatientSpec s;
    s.id = t.get(r, "patient");
    s.where = t.where(r);
    CHECK_OR_THROW(core::ConfigError, !s.id.empty(), s.where, ": empty patient id");
    CHECK_OR_THROW(core::ConfigError, ids.insert(s.id).second, s.where, ": patient ", s.id,
                   " is listed twice; give each patient one row");
    try {
      s.label = t.integer(r, "label");
      CHECK_OR_THROW(core::ConfigError, s.label >= 0 && s.label <= 2, s.where, ": label ",
                     s.label, " must be 0 (no fracture), 1 (benign) or 2 (malignant)");
      s.image = relative_to(manifest, t.get(r, "image"));
      s.series_uid = t.get(r, "series_uid");
      s.boxes = relative_to(manifest, t.get(r, "boxes"));
      s.labelmap = relative_to(manifest, t.get(r, "labelmap"));
      CHECK_OR_THROW(core::ConfigError, !s.image.empty(), s.where, ": no image given");
      CHECK_OR_THROW(core::ConfigError, s.boxes.empty() != s.labelmap.empty(), s.where,
                     ": give either boxes or a labelmap for patient ", s.id, ", not ",
                     s.boxes.empty() ? "neither" : "both");
      s.fractured_levels = parse_levels(t.get(r, "fractured_levels"), s.where);
      CHECK_OR_THROW(core::ConfigError, s.fractured_levels.empty() || !s.labelmap.empty(), s.where,
                     ": fractured_levels goes with a labelmap; a box list has its own label column");
      CHECK_OR_THROW(core::ConfigError, s.fractured_levels.empty() || s.label != 0, s.where,
                     ": patient ", s.id, " has label 0 (no fracture) but fractured_levels ",
                     t.get(r, "fractured_levels"), "; give the patient's label (1 or 2)");
    } catch (const core::ConfigError& e) {
      s.error = e.what();
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

// Box corners (file voxel coordinates) onto the sagittal grid.
Annotations boxes_from_csv(const PatientSpec& p, const SagittalVolume& volume) {
  const Geometry& file = volume.file_geometry();
  const Geometry& grid = volume.geometry();
  // The file's third axis must run left-right: a box lies in one file slice.
  const double lr = std::abs(file.direction[2]);
  CHECK_OR_THROW(core::ConfigError, lr > 0.7, p.id, ": ", p.image,
                 " is not a sagittal acquisition (its slices are not left-right), so boxes drawn "
                 "on its slices are not sagittal; give a labelmap instead");
  const CsvTable t = CsvTable::read(p.boxes, {"slice", "level", "x0", "y0", "x1", "y1", "label"});
  CHECK_OR_THROW(core::ConfigError, t.rows() > 0, p.id, ": ", p.boxes, " lists no boxes");
  Annotations a;
  for (size_t r = 0; r < t.rows(); ++r) {
    const int slice = t.integer(r, "slice"), level = t.integer(r, "level");
    const int label = t.integer(r, "label");
    const double x0 = t.number(r, "x0"), y0 = t.number(r, "y0");
    const double x1 = t.number(r, "x1"), y1 = t.number(r, "y1");
    CHECK_OR_THROW(core::ConfigError, label >= 0 && label <= 2, t.where(r), ": label ", label,
                   " must be 0 (normal), 1 (benign) or 2 (malignant)");
    CHECK_OR_THROW(core::ConfigError, x1 > x0 && y1 > y0, t.where(r), ": the box (", x0, ", ", y0,
                   ") - (", x1, ", ", y1, ") is empty; x1 > x0 and y1 > y0 are needed");
    CHECK_OR_THROW(core::ConfigError,
                   slice >= 0 && slice < file.size[2] && x0 >= -0.5 && y0 >= -0.5 &&
                       x1 <= file.size[0] - 0.5 && y1 <= file.size[1] - 0.5,
                   t.where(r), ": the box of level ", level, " (slice ", slice, ", ", x0, ", ", y0,
                   " - ", x1, ", ", y1, ") lies outside the image (", file.size[0], " x ",
                   file.size[1], " pixels, ", file.size[2], " slices); check the coordinates");
    const auto c0 = grid.to_index(file.to_physical({x0, y0, static_cast<double>(slice)}));
    const auto c1 = grid.to_index(file.to_physical({x1, y1, static_cast<double>(slice)}));
    const int k = static_cast<int>(std::lround(0.5 * (c0[2] + c1[2])));
    const Box box{std::min(c0[0], c1[0]), std::max(c0[0], c1[0]), std::min(c0[1], c1[1]),
                  std::max(c0[1], c1[1])};
    CHECK_OR_THROW(core::ConfigError, a.boxes[level].emplace(k, box).second, t.where(r),
                   ": level ", level, " has a second box on slice ", slice, "; keep one");
    const auto [it, fresh] = a.label.emplace(level, label);
    CHECK_OR_THROW(core::ConfigError, fresh || it->second == label, t.where(r), ": level ", level,
                   " is labelled ", it->second, " on one slice and ", label,
                   " on another; a vertebra has one label");
  }
  return a;
}

// Bounding boxes of each label value, per sagittal slice.
Annotations boxes_from_labelmap(const PatientSpec& p, const SagittalVolume& volume) {
  const SagittalVolume labels = SagittalVolume::read_labels(p.labelmap, volume);
  const auto& size = labels.geometry().size;
  Annotations a;
  for (int k = 0; k < size[2]; ++k)
    for (int j = 0; j < size[1]; ++j)
      for (int i = 0; i < size[0]; ++i) {
        const float v = labels.at(i, j, k);
        if (v == 0) continue;
        CHECK_OR_THROW(core::ConfigError, v == std::round(v) && std::abs(v) < 1e6, p.id, ": ",
                       p.labelmap, " holds ", v,
                       ", not a level number; a label map has one integer per vertebra");
        const int level = static_cast<int>(v);
        auto [it, fresh] = a.boxes[level].try_emplace(k, Box{i - 0.5, i + 0.5, j - 0.5, j + 0.5});
        Box& b = it->second;
        b.i0 = std::min(b.i0, i - 0.5);
        b.i1 = std::max(b.i1, i + 0.5);
        b.j0 = std::min(b.j0, j - 0.5);
        b.j1 = std::max(b.j1, j + 0.5);
      }
  CHECK_OR_THROW(core::ConfigError, !a.boxes.empty(), p.id, ": ", p.labelmap,
                 " labels no vertebra inside the image (all 0 where they overlap); check that it "
                 "belongs to ", p.image);
  for (const auto& [level, slices] : a.boxes) a.label[level] = 0;
  for (int level : p.fractured_levels) {
    const auto it = a.label.find(level);
    CHECK_OR_THROW(core::ConfigError, it != a.label.end(), p.where, ": fractured level ", level,
                   " is not in ", p.labelmap, " (levels ", a.label.begin()->first, "..",
                   a.label.rbegin()->first, ")");
    it->second = p.label;
  }
  return a;
}

// The `n` slices around the middle of the annotated ones, inside the volume.
std::vector<int> middle_slices(const Annotations& a, int n, int depth, const PatientSpec& p) {
  CHECK_OR_THROW(core::ConfigError, depth >= n, p.id, ": ", p.image, " has ", depth,
                 " sagittal slice", depth == 1 ? "" : "s", "; ", n,
                 " are taken per patient (lower --slices)");
  int lo = depth, hi = -1;
  for (const auto& [level, slices] : a.boxes)
    for (const auto& [k, box] : slices) lo = std::min(lo, k), hi = std::max(hi, k);
  const int first = std::clamp((lo + hi) / 2 - (n - 1) / 2, 0, depth - n);
  std::vector<int> ks(static_cast<size_t>(n));
  for (int s = 0; s < n; ++s) ks[static_cast<size_t>(s)] = first + s;
  return ks;
}

const Box& nearest_box(const std::map<int, Box>& slices, int k) {
  auto best = slices.begin();
  for (auto it = slices.begin(); it != slices.end(); ++it)
    if (std::abs(it->first - k) < std::abs(best->first - k)) best = it;
  return best->second;
}

IngestedPatient crop_patient(const PatientSpec& p, const VcfIngestOptions& o) {
  IngestedPatient out;
  out.id = p.id;
  out.label = p.label;
  CHECK_OR_THROW(core::ConfigError, p.error.empty(), p.error);
  const SagittalVolume volume = SagittalVolume::read(p.image, p.series_uid);
  const Annotations a = p.labelmap.empty() ? boxes_from_csv(p, volume) : boxes_from_labelmap(p, volume);
  const Geometry& g = volume.geometry();
  const std::vector<int> ks = middle_slices(a, o.slices, g.size[2], p);
  const IntensityWindow window =
      intensity_window(volume.voxels(), o.intensity, core::str_cat(p.id, ": ", p.image));
  const int levels = static_cast<int>(a.boxes.size());
  for (int s = 0; s < o.slices; ++s) {
    int rank = 0;
    for (const auto& [level, slices] : a.boxes) {
      const Box& b = nearest_box(slices, ks[static_cast<size_t>(s)]);
      const double w = (b.i1 - b.i0) * g.spacing[0], h = (b.j1 - b.j0) * g.spacing[1];
      const double side = o.window_mm > 0 ? o.window_mm : std::max(w, h) + 2 * o.margin_mm;
      const auto pixels = volume.patch(0.5 * (b.i0 + b.i1), 0.5 * (b.j0 + b.j1),
                                       ks[static_cast<size_t>(s)], side, o.patch_size);
      out.pixels.push_back(to_bytes(pixels, window));
      VcfPatchRecord r;
      r.label = a.label.at(level);
      r.slice = s;
      r.level = rank;
      const int base = s * levels;
      r.prev = rank > 0 ? base + rank - 1 : -1;
      r.next = rank + 1 < levels ? base + rank + 1 : -1;
      out.records.push_back(r);
      ++rank;
    }
  }
  return out;
}

void validate(const VcfIngestOptions& o) {
  CHECK_OR_THROW(core::ConfigError, o.patch_size >= 16 && o.patch_size <= 2048, "patch-size = ",
                 o.patch_size, " must be in 16..2048");
  CHECK_OR_THROW(core::ConfigError, o.slices >= 1 && o.slices <= 7, "slices = ", o.slices,
                 " must be in 1..7");
  CHECK_OR_THROW(core::ConfigError, std::isfinite(o.margin_mm) && o.margin_mm >= 0 && o.margin_mm <= 100,
                 "margin-mm = ", o.margin_mm, " must be in 0..100");
  CHECK_OR_THROW(core::ConfigError, std::isfinite(o.window_mm) && o.window_mm >= 0 && o.window_mm <= 500,
                 "window-mm = ", o.window_mm, " must be in 0..500 (0: box + margin)");
  CHECK_OR_THROW(core::ConfigError, o.compression >= 0 && o.compression <= 9, "compression = ",
                 o.compression, " must be in 0..9");
  CHECK_OR_THROW(core::ConfigError, o.threads >= 1 && o.threads <= 256, "threads = ", o.threads,
                 " must be in 1..256");
  validate(o.intensity);
}

// The store's `source` attribute: what was read, with which settings.
std::string provenance(const std::string& manifest, const std::vector<PatientSpec>& specs,
                       const VcfIngestOptions& o) {
  nlohmann::ordered_json j;
  j["made_by"] = "fracsweep ingest vcf";
  j["manifest"] = manifest;
  j["settings"] = {{"patch_size", o.patch_size},       {"slices", o.slices},
                   {"margin_mm", o.margin_mm},         {"window_mm", o.window_mm},
                   {"intensity", o.intensity.mode},    {"percentile_low", o.intensity.low},
                   {"percentile_high", o.intensity.high}, {"skip_bad", o.skip_bad}};
  auto& patients = j["patients"] = nlohmann::ordered_json::array();
  for (const auto& s : specs) {
    nlohmann::ordered_json p = {{"patient", s.id}, {"image", s.image}};
    if (!s.series_uid.empty()) p["series_uid"] = s.series_uid;
    p[s.boxes.empty() ? "labelmap" : "boxes"] = s.boxes.empty() ? s.labelmap : s.boxes;
    patients.push_back(std::move(p));
  }
  return j.dump();
}

}  // namespace

IngestSummary ingest_vcf(const std::string& manifest, const std::string& out,
                         const VcfIngestOptions& o, const IngestProgress& progress) {
  validate(o);
  const std::vector<PatientSpec> specs = read_manifest(manifest);
  VcfStoreWriter writer(out, o.patch_size, o.patch_size, o.compression,
                        provenance(manifest, specs, o));
  std::vector<std::string> ids;
  for (const PatientSpec& s : specs) ids.push_back(s.id);
  const IngestSummary summary = run_cases<IngestedPatient>(
      ids, o.threads, o.skip_bad,
      [&](int i) { return crop_patient(specs[static_cast<size_t>(i)], o); },
      [&](const IngestedPatient& p) {
        std::vector<VcfPatchRecord> records = p.records;
        for (size_t n = 0; n < records.size(); ++n) records[n].pixels = p.pixels[n];
        writer.add_patient(p.id, p.label, records);
        return records.size();
      },
      progress, manifest);
  writer.commit();
  return summary;
}

}  // namespace fracsweep::datastore::ingest
