// See ingest_pelvis.h. Phases per image: parse the row, read and normalise the
// radiograph, check the annotations against it, make the view; written in
// manifest order by the calling thread.
#include "datastore/ingest/ingest_pelvis.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "datastore/ingest/csv_table.h"
#include "datastore/ingest/medical_image.h"
#include "datastore/ingest/run_cases.h"
#include "datastore/pelvis_store.h"

namespace fracsweep::datastore::ingest {
namespace {

struct PelvisSpec {
  std::string id, where, image;
  PelvisLandmarks landmarks{};
  std::vector<Point2> points;
  int label = -1;  // from the manifest, -1 when not given
  std::string error;
};

struct IngestedImage {
  std::string id;
  int32_t label = 0;
  PelvisView view;
};

std::vector<double> parse_numbers(const std::string& text, const std::string& where,
                                  const char* column) {
  std::vector<double> out;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    if (*p == ' ' || *p == ';' || *p == '\t') {
      ++p;
      continue;
    }
    double v = 0;
    const auto [next, ec] = std::from_chars(p, end, v);
    CHECK_OR_THROW(core::ConfigError, ec == std::errc() && std::isfinite(v), where, ": column '",
                   column, "' holds '", std::string(p, std::min<size_t>(12, end - p)),
                   "', not a number");
    out.push_back(v);
    p = next;
  }
  return out;
}

PelvisSpec parse_row(const CsvTable& t, size_t r, const std::string& manifest) {
  PelvisSpec s;
  s.id = t.get(r, "patient");
  s.where = t.where(r);
  s.image = relative_to(manifest, t.get(r, "image"));
  try {
    const auto lm = parse_numbers(t.get(r, "landmarks"), s.where, "landmarks");
    CHECK_OR_THROW(core::ConfigError, lm.size() == 2 * kPelvisLandmarks, s.where, ": ",
                   lm.size(), " landmark coordinates; 32 are needed (16 points, x then y)");
    for (int k = 0; k < kPelvisLandmarks; ++k) s.landmarks[k] = {lm[2 * k], lm[2 * k + 1]};
    const auto pts = parse_numbers(t.get(r, "points"), s.where, "points");
    CHECK_OR_THROW(core::ConfigError, pts.size() % 2 == 0, s.where,
                   ": an odd number of fracture point coordinates (", pts.size(), "); give x y pairs");
    for (size_t n = 0; n < pts.size(); n += 2) s.points.push_back({pts[n], pts[n + 1]});
    if (t.has("label") && !t.get(r, "label").empty()) {
      s.label = t.integer(r, "label");
      CHECK_OR_THROW(core::ConfigError, s.label == (s.points.empty() ? 0 : 1), s.where,
                     ": label ", s.label, " but ", s.points.size(),
                     " fracture points (1 means at least one point)");
    }
  } catch (const core::ConfigError& e) {
    s.error = e.what();
  }
  return s;
}

std::vector<PelvisSpec> read_manifest(const std::string& manifest) {
  const CsvTable t = CsvTable::read(manifest, {"patient", "image", "landmarks", "points"});
  CHECK_OR_THROW(core::ConfigError, t.rows() > 0, manifest, ": no patients listed");
  std::vector<PelvisSpec> specs;
  std::set<std::string> ids;
  for (size_t r = 0; r < t.rows(); ++r) {
    specs.push_back(parse_row(t, r, manifest));
    const PelvisSpec& s = specs.back();
    CHECK_OR_THROW(core::ConfigError, !s.id.empty(), s.where, ": empty patient id");
    CHECK_OR_THROW(core::ConfigError, ids.insert(s.id).second, s.where, ": patient ", s.id,
                   " is listed twice; give each patient one row");
  }
  return specs;
}

IngestedImage prepare(const PelvisSpec& s, const PelvisIngestOptions& o) {
  CHECK_OR_THROW(core::ConfigError, s.error.empty(), s.error);
  const Radiograph r = read_radiograph(s.image);
  const auto inside = [&](Point2 p) {
    return p.x >= -0.5 && p.y >= -0.5 && p.x <= r.width - 0.5 && p.y <= r.height - 0.5;
  };
  for (int k = 0; k < kPelvisLandmarks; ++k)
    CHECK_OR_THROW(core::ConfigError, inside(s.landmarks[k]), s.where, ": landmark ", k, " (",
                   landmark_name(k), ") at (", s.landmarks[k].x, ", ", s.landmarks[k].y,
                   ") lies outside ", s.image, " (", r.width, " x ", r.height, " pixels)");
  for (const Point2& p : s.points)
    CHECK_OR_THROW(core::ConfigError, inside(p), s.where, ": fracture point (", p.x, ", ", p.y,
                   ") lies outside ", s.image, " (", r.width, " x ", r.height, " pixels)");
  const IntensityWindow window =
      intensity_window(r.pixels, o.intensity, core::str_cat(s.id, ": ", s.image));
  const std::vector<uint8_t> bytes = to_bytes(r.pixels, window);
  PelvisViewOptions v;
  v.height = o.height;
  v.width = o.width;
  v.roi_margin = o.roi_margin;
  v.warp_stride = o.warp_stride;
  IngestedImage out;
  out.id = s.id;
  out.label = s.points.empty() ? 0 : 1;
  out.view = make_pelvis_view(bytes, r.height, r.width, s.landmarks, s.points, v);
  for (const Point2& p : out.view.points)
    CHECK_OR_THROW(core::ConfigError,
                   p.x >= -0.5 && p.y >= -0.5 && p.x <= o.width - 0.5 && p.y <= o.height - 0.5,
                   s.where, ": a fracture point lies outside the anterior-pelvis region the "
                            "landmarks span; check the point or the landmarks");
  return out;
}

void validate(const PelvisIngestOptions& o) {
  const auto ok_side = [](int v) { return v >= 32 && v <= 4096 && v % 32 == 0; };
  CHECK_OR_THROW(core::ConfigError, ok_side(o.height) && ok_side(o.width), "size ", o.height, "x",
                 o.width, " must be multiples of 32 in 32..4096");
  CHECK_OR_THROW(core::ConfigError, o.warp_stride >= 1 && 32 % o.warp_stride == 0,
                 "warp-stride = ", o.warp_stride, " must divide 32");
  CHECK_OR_THROW(core::ConfigError, o.roi_margin >= 0 && o.roi_margin <= 1, "roi-margin = ",
                 o.roi_margin, " must be in 0..1");
  CHECK_OR_THROW(core::ConfigError, o.mask_radius_px > 0 && o.mask_radius_px <= 1024,
                 "mask-radius-px = ", o.mask_radius_px, " must be in (0, 1024]");
  CHECK_OR_THROW(core::ConfigError, o.compression >= 0 && o.compression <= 9, "compression = ",
                 o.compression, " must be in 0..9");
  CHECK_OR_THROW(core::ConfigError, o.threads >= 1 && o.threads <= 256, "threads = ", o.threads,
                 " must be in 1..256");
  validate(o.intensity);
}

std::string provenance(const std::string& manifest, const std::vector<PelvisSpec>& specs,
                       const PelvisIngestOptions& o) {
  nlohmann::ordered_json j;
  j["made_by"] = "fracsweep ingest pelvis";
  j["manifest"] = manifest;
  j["settings"] = {{"height", o.height},         {"width", o.width},
                   {"warp_stride", o.warp_stride}, {"roi_margin", o.roi_margin},
                   {"mask_radius_px", o.mask_radius_px}, {"intensity", o.intensity.mode},
                   {"percentile_low", o.intensity.low}, {"percentile_high", o.intensity.high},
                   {"skip_bad", o.skip_bad}};
  auto& images = j["patients"] = nlohmann::ordered_json::array();
  for (const auto& s : specs) images.push_back({{"patient", s.id}, {"image", s.image}});
  return j.dump();
}

}  // namespace

IngestSummary ingest_pelvis(const std::string& manifest, const std::string& out,
                            const PelvisIngestOptions& o, const IngestProgress& progress) {
  validate(o);
  const std::vector<PelvisSpec> specs = read_manifest(manifest);
  PelvisStoreSettings st;
  st.height = o.height;
  st.width = o.width;
  st.warp_stride = o.warp_stride;
  st.mask_radius = o.mask_radius_px;
  st.compression = o.compression;
  st.source = provenance(manifest, specs, o);
  PelvisStoreWriter writer(out, st);
  std::vector<std::string> ids;
  for (const PelvisSpec& s : specs) ids.push_back(s.id);
  const IngestSummary summary = run_cases<IngestedImage>(
      ids, o.threads, o.skip_bad,
      [&](int i) { return prepare(specs[static_cast<size_t>(i)], o); },
      [&](const IngestedImage& image) {
        writer.add(image.id, image.label, image.view);
        return size_t{1};
      },
      progress, manifest);
  writer.commit();
  return summary;
}

}  // namespace fracsweep::datastore::ingest
