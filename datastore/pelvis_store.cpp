// See pelvis_store.h.
#include "datastore/pelvis_store.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "core/error.h"
#include "datastore/h5_io.h"
#include "datastore/store_file.h"

namespace fracsweep::datastore {
namespace {

using core::ConfigError;

bool finite(float v) { return std::isfinite(v); }

}  // namespace

struct PelvisStoreWriter::Impl {
  Impl(std::string path, const PelvisStoreSettings& st)
      : settings(st),
        file(std::move(path), Task::kPelvis, st.height, st.width, st.compression, st.source) {}
  PelvisStoreSettings settings;
  StoreFile file;
  H5Dataset flipped, warp;
  std::vector<uint32_t> flipped_crc32, warp_crc32;  // per item, /checksums/
  std::vector<float> landmarks, landmarks_flipped, axis, points;
  std::vector<double> flip;
  std::vector<int64_t> points_begin{0};
};

PelvisStoreWriter::PelvisStoreWriter(std::string path, PelvisStoreSettings st)
    : impl_(std::make_unique<Impl>(std::move(path), st)) {
  Impl& s = *impl_;
  const std::string& where = s.file.tmp_path();
  CHECK_OR_THROW(ConfigError,
                 st.warp_stride > 0 && st.height % st.warp_stride == 0 &&
                     st.width % st.warp_stride == 0,
                 s.file.path(), ": warp stride ", st.warp_stride, " must divide the image size ",
                 st.height, "x", st.width);
  CHECK_OR_THROW(ConfigError, std::isfinite(st.mask_radius) && st.mask_radius > 0, s.file.path(),
                 ": mask radius ", st.mask_radius, " must be positive");
  H5Quiet quiet;
  s.flipped = create_item_dataset(s.file.file(), "flipped", H5T_STD_U8LE,
                                  {static_cast<hsize_t>(st.height), static_cast<hsize_t>(st.width)},
                                  st.compression, where);
  s.warp = create_item_dataset(s.file.file(), "warp", H5T_IEEE_F32LE,
                               {static_cast<hsize_t>(st.height / st.warp_stride),
                                static_cast<hsize_t>(st.width / st.warp_stride), 2},
                               st.compression, where);
}

PelvisStoreWriter::~PelvisStoreWriter() {
  if (impl_ && !impl_->file.committed()) {
    impl_->flipped.reset();  // the file's own destructor removes it
    impl_->warp.reset();
  }
}

void PelvisStoreWriter::add(const std::string& patient_id, int32_t label, const PelvisView& v) {
  Impl& s = *impl_;
  const PelvisStoreSettings& st = s.settings;
  const std::string& path = s.file.path();
  const std::string what = core::str_cat(path, ": image of patient '", patient_id, "'");
  CHECK_OR_THROW(ConfigError,
                 v.height == st.height && v.width == st.width &&
                     v.image.size() == s.file.image_bytes() &&
                     v.flipped.size() == s.file.image_bytes(),
                 what, " is ", v.height, "x", v.width, ", the store's images are ", st.height,
                 "x", st.width);
  CHECK_OR_THROW(ConfigError,
                 v.warp.stride == st.warp_stride && v.warp.rows * st.warp_stride == st.height &&
                     v.warp.cols * st.warp_stride == st.width,
                 what, ": its warp grid is ", v.warp.rows, "x", v.warp.cols, " at stride ",
                 v.warp.stride, ", expected stride ", st.warp_stride);
  CHECK_OR_THROW(ConfigError, label == (v.points.empty() ? 0 : 1), what, " has label ", label,
                 " but ", v.points.size(), " fracture points (label 1 means at least one)");
  for (const Point2& p : v.points)
    CHECK_OR_THROW(ConfigError,
                   std::isfinite(p.x) && std::isfinite(p.y) && p.x >= -0.5 &&
                       p.x <= st.width - 0.5 && p.y >= -0.5 && p.y <= st.height - 0.5,
                   what, ": fracture point (", p.x, ", ", p.y, ") lies outside the image");
  for (int k = 0; k < kPelvisLandmarks; ++k)
    for (const Point2& p : {v.landmarks[k], v.landmarks_flipped[k]})
      CHECK_OR_THROW(ConfigError, std::isfinite(p.x) && std::isfinite(p.y), what, ": landmark ",
                     k, " is not finite");
  for (float x : v.warp.xy)
    CHECK_OR_THROW(ConfigError, finite(x), what, ": its warp grid holds a non-finite value");

  const size_t first = s.file.size();
  const int32_t patient = s.file.add_patient(patient_id, label);
  const int32_t labels[1] = {label};
  s.file.add_images(v.image, labels, patient);
  H5Quiet quiet;
  const std::string& where = s.file.tmp_path();
  append_items(s.flipped.get(), first, 1,
               {static_cast<hsize_t>(st.height), static_cast<hsize_t>(st.width)}, H5T_NATIVE_UINT8,
               v.flipped.data(), where + ": /flipped");
  append_item_checksums(v.flipped.data(), 1, v.flipped.size(), s.flipped_crc32);
  append_items(s.warp.get(), first, 1,
               {static_cast<hsize_t>(v.warp.rows), static_cast<hsize_t>(v.warp.cols), 2},
               H5T_NATIVE_FLOAT, v.warp.xy.data(), where + ": /warp");
  append_item_checksums(v.warp.xy.data(), 1, v.warp.xy.size() * sizeof(float), s.warp_crc32);
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    s.landmarks.insert(s.landmarks.end(), {static_cast<float>(v.landmarks[k].x),
                                           static_cast<float>(v.landmarks[k].y)});
    s.landmarks_flipped.insert(s.landmarks_flipped.end(),
                               {static_cast<float>(v.landmarks_flipped[k].x),
                                static_cast<float>(v.landmarks_flipped[k].y)});
  }
  s.axis.insert(s.axis.end(),
                {static_cast<float>(v.axis.point.x), static_cast<float>(v.axis.point.y),
                 static_cast<float>(v.axis.direction.x), static_cast<float>(v.axis.direction.y)});
  s.flip.insert(s.flip.end(), std::begin(v.flip.m), std::end(v.flip.m));
  for (const Point2& p : v.points)
    s.points.insert(s.points.end(), {static_cast<float>(p.x), static_cast<float>(p.y)});
  s.points_begin.push_back(static_cast<int64_t>(s.points.size() / 2));
}

void PelvisStoreWriter::commit() {
  Impl& s = *impl_;
  const PelvisStoreSettings& st = s.settings;
  const hsize_t n = s.file.size();
  const std::string& where = s.file.tmp_path();
  H5Quiet quiet;
  const hid_t f = s.file.file();
  write_array(f, "landmarks", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, kPelvisLandmarks, 2},
              s.landmarks.data(), where);
  write_array(f, "landmarks_flipped", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, kPelvisLandmarks, 2},
              s.landmarks_flipped.data(), where);
  write_array(f, "axis", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, 4}, s.axis.data(), where);
  write_array(f, "flip", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n, 6}, s.flip.data(), where);
  write_array(f, "points", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {s.points.size() / 2, 2},
              s.points.data(), where);
  write_item_checksums(f, "flipped", s.flipped_crc32, where);
  write_item_checksums(f, "warp", s.warp_crc32, where);
  write_attr_int(f, "warp_stride", st.warp_stride, where);
  write_attr_double(f, "mask_radius", st.mask_radius, where);
  write_attr_double(f, "pixel_spacing_mm", st.pixel_spacing_mm, where);
  s.flipped.reset();
  s.warp.reset();
  s.file.commit([&](hid_t samples) {
    write_array(samples, "points_begin", H5T_STD_I64LE, H5T_NATIVE_INT64, {n + 1},
                s.points_begin.data(), where);
  });
}

PelvisIndex read_pelvis_index(hid_t f, size_t n, int height, int width, const std::string& path) {
  PelvisIndex p;
  const auto stride = read_attr_int(f, "warp_stride", path);
  CHECK_OR_THROW(ConfigError,
                 stride && *stride > 0 && height % *stride == 0 && width % *stride == 0, path,
                 ": root attribute 'warp_stride' is ", stride ? std::to_string(*stride) : "missing",
                 "; it must divide the image size ", height, "x", width);
  p.warp_stride = static_cast<int>(*stride);
  p.warp_rows = height / p.warp_stride;
  p.warp_cols = width / p.warp_stride;
  const auto radius = read_attr_double(f, "mask_radius", path);
  CHECK_OR_THROW(ConfigError, radius && std::isfinite(*radius) && *radius > 0, path,
                 ": root attribute 'mask_radius' (pixels) is missing or not positive");
  p.mask_radius = *radius;
  p.pixel_spacing_mm = read_attr_double(f, "pixel_spacing_mm", path).value_or(0);

  p.landmarks.resize(n * kPelvisLandmarks * 2);
  p.landmarks_flipped.resize(p.landmarks.size());
  p.axis.resize(n * 4);
  p.flip.resize(n * 6);
  p.points_begin.resize(n + 1);
  read_array(f, "/landmarks", {n, kPelvisLandmarks, 2}, H5T_FLOAT, H5T_NATIVE_FLOAT,
             p.landmarks.data(), path, "16 landmarks (x, y) per image");
  read_array(f, "/landmarks_flipped", {n, kPelvisLandmarks, 2}, H5T_FLOAT, H5T_NATIVE_FLOAT,
             p.landmarks_flipped.data(), path, "16 landmarks (x, y) per flipped image");
  read_array(f, "/axis", {n, 4}, H5T_FLOAT, H5T_NATIVE_FLOAT, p.axis.data(), path,
             "point and direction of the symmetry line per image");
  read_array(f, "/flip", {n, 6}, H5T_FLOAT, H5T_NATIVE_DOUBLE, p.flip.data(), path,
             "the affine map from I_f to I pixels per image");
  read_array(f, "/samples/points_begin", {n + 1}, H5T_INTEGER, H5T_NATIVE_INT64,
             p.points_begin.data(), path, "one per image, plus one");
  CHECK_OR_THROW(ConfigError, p.points_begin[0] == 0, path,
                 ": dataset '/samples/points_begin' must start at 0, not ", p.points_begin[0]);
  for (size_t i = 0; i < n; ++i)
    CHECK_OR_THROW(ConfigError, p.points_begin[i + 1] >= p.points_begin[i], path,
                   ": dataset '/samples/points_begin' decreases at image ", i, " (",
                   p.points_begin[i], " then ", p.points_begin[i + 1], ")");
  const auto m = static_cast<size_t>(p.points_begin[n]);
  p.points.resize(2 * m);
  read_array(f, "/points", {m, 2}, H5T_FLOAT, H5T_NATIVE_FLOAT, p.points.data(), path,
             "the last entry of /samples/points_begin rows of (x, y)");

  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < p.num_points(i); ++k) {
      const Point2 q = p.point(i, k);
      CHECK_OR_THROW(ConfigError,
                     std::isfinite(q.x) && std::isfinite(q.y) && q.x >= -0.5 &&
                         q.x <= width - 0.5 && q.y >= -0.5 && q.y <= height - 0.5,
                     path, ": dataset '/points': point ", k, " of image ", i, " (", q.x, ", ", q.y,
                     ") lies outside the ", width, "x", height, " image");
    }
  }
  for (size_t k = 0; k < p.flip.size(); ++k)
    CHECK_OR_THROW(ConfigError, std::isfinite(p.flip[k]), path,
                   ": /flip holds a non-finite value at flat index ", k);
  for (const auto* v : {&p.landmarks, &p.landmarks_flipped, &p.axis})
    for (size_t k = 0; k < v->size(); ++k)
      CHECK_OR_THROW(ConfigError, finite((*v)[k]), path, ": ",
                     v == &p.axis ? "/axis" : (v == &p.landmarks ? "/landmarks" : "/landmarks_flipped"),
                     " holds a non-finite value at flat index ", k);
  return p;
}

}  // namespace fracsweep::datastore

namespace fracsweep::datastore {

PelvisView read_pelvis_view(const PatchStore& store, size_t i) {
  const PelvisIndex* p = store.pelvis();
  CHECK_OR_THROW(core::ConfigError, p != nullptr, store.path(),
                 ": a vertebra store has no pelvis views");
  CHECK_OR_THROW(core::ConfigError, i < store.size(), store.path(), ": image ", i,
                 " is outside 0..", static_cast<int64_t>(store.size()) - 1);
  PelvisView v;
  v.height = store.info().height;
  v.width = store.info().width;
  v.image.resize(store.image_bytes());
  v.flipped.resize(store.image_bytes());
  store.read_image(i, v.image);
  store.read_flipped(i, v.flipped);
  for (int k = 0; k < kPelvisLandmarks; ++k) {
    v.landmarks[k] = p->landmark(i, k);
    v.landmarks_flipped[k] = p->landmark(i, k, true);
  }
  const float* a = &p->axis[4 * i];
  v.axis = {{a[0], a[1]}, {a[2], a[3]}};
  std::copy_n(&p->flip[6 * i], 6, v.flip.m);
  for (size_t k = 0; k < p->num_points(i); ++k) v.points.push_back(p->point(i, k));
  v.warp = store.read_warp(i);
  return v;
}

}  // namespace fracsweep::datastore
