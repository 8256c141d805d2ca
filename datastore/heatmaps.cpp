// See heatmaps.h.
#include "datastore/heatmaps.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/h5.h"
#include "datastore/h5_io.h"

namespace fracsweep::datastore {
namespace {

// A damaged file can claim any sizes; the reader allocates only for what an
// image data set can be (images up to 32768 px a side, 2^24 of them, 64 GiB in
// all), and says which dataset claimed more.
void check_plausible(const hsize_t (&dims)[3], size_t value_bytes, const std::string& path,
                     const char* name) {
  constexpr hsize_t kSide = hsize_t{1} << 15, kCount = hsize_t{1} << 24;
  const bool ok = dims[0] <= kCount && dims[1] <= kSide && dims[2] <= kSide &&
                  dims[0] * dims[1] * dims[2] * value_bytes <= (hsize_t{1} << 36);
  CHECK_OR_THROW(core::ConfigError, ok, path, ": dataset '", name, "' claims ", dims[0], " x ",
                 dims[1], " x ", dims[2], " values, more than any image set holds (a damaged "
                 "file?)");
}

// What HDF5 1.10 would read past a buffer on, refused before reading: a chunk whose
// index entry says its filters were skipped (the 1.8 format's chunk index carries no
// checksum, so one flipped bit does it, and HDF5 then copies a whole chunk out of the
// smaller compressed one: found by the heatmaps fuzz target), and compact or virtual
// storage, which no writer of these files uses.
void check_layout(hid_t file, const char* name, const std::string& path) {
  H5Dataset ds(H5_CHECK(H5Dopen2(file, name, H5P_DEFAULT), path));
  const H5PropertyList dcpl(H5_CHECK(H5Dget_create_plist(ds.get()), path));
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  const std::string where = core::str_cat(path, ": dataset '", name, "'");
  CHECK_OR_THROW(core::ConfigError, layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED, where,
                 " is stored ",
                 layout == H5D_COMPACT ? "compact" : layout == H5D_VIRTUAL ? "virtual" : "unreadably",
                 "; it must be contiguous or chunked (a damaged file?)");
  if (layout != H5D_CHUNKED) return;
  const H5Dataspace space(H5_CHECK(H5Dget_space(ds.get()), where));
  hsize_t chunks = 0;
  H5_CHECK(H5Dget_num_chunks(ds.get(), space.get(), &chunks), where);
  for (hsize_t c = 0; c < chunks; ++c) {
    unsigned filter_mask = 0;
    haddr_t addr = 0;
    hsize_t size = 0;
    H5_CHECK(H5Dget_chunk_info(ds.get(), space.get(), c, nullptr, &filter_mask, &addr, &size),
             where);
    CHECK_OR_THROW(core::ConfigError, filter_mask == 0, where, ": chunk ", c,
                   " is marked as stored without its filters (a damaged file?)");
  }
}

template <typename T>
std::span<const uint8_t> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

// Whether every value of `ds` has storage in the file: each of its chunks, or its
// contiguous block. (HDF5's space status calls a compressed dataset partly allocated.)
bool all_stored(hid_t ds, const std::string& where) {
  const H5PropertyList dcpl(H5_CHECK(H5Dget_create_plist(ds), where));
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) {
    H5D_space_status_t status{};
    H5_CHECK(H5Dget_space_status(ds, &status), where);
    return status == H5D_SPACE_STATUS_ALLOCATED;
  }
  const H5Dataspace space(H5_CHECK(H5Dget_space(ds), where));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank <= 0 || rank > 3) return false;
  hsize_t dims[3] = {0, 0, 0}, chunk[3] = {0, 0, 0};
  H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims, nullptr), where);
  CHECK_OR_THROW(core::ConfigError, H5Pget_chunk(dcpl.get(), rank, chunk) == rank, where,
                 ": unreadable chunk shape");
  hsize_t expected = 1;
  for (int d = 0; d < rank; ++d) {
    CHECK_OR_THROW(core::ConfigError, chunk[d] > 0, where, ": chunk of size 0");
    expected *= (dims[d] + chunk[d] - 1) / chunk[d];
  }
  hsize_t stored = 0;
  H5_CHECK(H5Dget_num_chunks(ds, space.get(), &stored), where);
  return stored == expected;
}

// A dataset's values as read against what was written: every chunk present (HDF5 reads
// a chunk missing from a damaged index as zeros) and, in files fracsweep wrote, the
// `crc32` attribute (a file written by other tools has none).
void check_written_values(hid_t file, const char* name, std::span<const uint8_t> values,
                          const std::string& path) {
  H5Dataset ds(H5_CHECK(H5Dopen2(file, name, H5P_DEFAULT), path));
  const std::string where = core::str_cat(path, ": dataset '", name, "'");
  CHECK_OR_THROW(core::ConfigError, values.empty() || all_stored(ds.get(), where), where,
                 " has values missing from the file (never written, or lost to damage)");
  check_values_crc32(ds.get(), values, where);
}

// Writes `values` as dataset `name` of shape `dims` with a `crc32` attribute over them
// (Note [Checksums] in h5_io.h: a chunk whose index entry is damaged reads as zeros past
// Fletcher-32; the checksum over all values catches it), recording no times (the same
// heatmaps, the same bytes). `chunk_per_image`: one deflated, Fletcher-32 chunk per
// leading index, so that a damaged chunk fails its read.
template <typename T, size_t Rank>
void write_checked(hid_t file, const char* name, hid_t file_type, hid_t mem_type,
                   const hsize_t (&dims)[Rank], bool chunk_per_image, const std::vector<T>& values,
                   const std::string& where) {
  H5Dataspace space(H5_CHECK(H5Screate_simple(Rank, dims, nullptr), where));
  H5PropertyList plist(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), where));
  H5_CHECK(H5Pset_obj_track_times(plist.get(), false), where);
  if (chunk_per_image) {
    hsize_t chunk[Rank];
    std::copy(std::begin(dims), std::end(dims), chunk);
    chunk[0] = 1;
    H5_CHECK(H5Pset_chunk(plist.get(), Rank, chunk), where);
    H5_CHECK(H5Pset_fletcher32(plist.get()), where);
    H5_CHECK(H5Pset_deflate(plist.get(), 4), where);
  }
  H5Dataset ds(H5_CHECK(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, plist.get(),
                                   H5P_DEFAULT),
                        where));
  if (!values.empty())
    H5_CHECK(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), where);
  write_attr_int(ds.get(), "crc32", crc32_of(bytes_of(values)), where);
}

}  // namespace

void write_heatmaps(const std::string& path, const HeatmapSet& set) {
  const int n = static_cast<int>(set.images.size());
  const int h = n ? set.images[0].height : 0, w = n ? set.images[0].width : 0;
  std::vector<float> pixels;
  std::vector<int32_t> points;
  for (int i = 0; i < n; ++i) {
    const metrics::HeatmapImage& im = set.images[i];
    CHECK_OR_THROW(core::ConfigError, im.height == h && im.width == w, path, ": image ", i, " is ",
                   im.height, "x", im.width, ", image 0 is ", h, "x", w,
                   "; all heatmaps of a file have one size");
    CHECK_OR_THROW(core::ConfigError, im.heatmap.size() == static_cast<size_t>(h) * w, path,
                   ": image ", i, " has ", im.heatmap.size(), " values for ", h, "x", w);
    pixels.insert(pixels.end(), im.heatmap.begin(), im.heatmap.end());
    for (const metrics::PixelPoint& p : im.points) points.insert(points.end(), {i, p.x, p.y});
  }
  const std::string tmp = path + ".tmp";
  // Removes the temporary file unless it was renamed into place.
  struct Abandon {
    const std::string& tmp;
    bool keep = false;
    ~Abandon() {
      if (!keep) std::remove(tmp.c_str());
    }
  } abandon{tmp};
  H5Quiet quiet;
  H5File file = create_written(tmp);
  const hsize_t dims[3] = {static_cast<hsize_t>(n), static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
  write_checked(file.get(), "heatmaps", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims,
                /*chunk_per_image=*/n > 0 && h > 0 && w > 0, pixels, tmp);
  const hsize_t pdims[2] = {points.size() / 3, 3};
  write_checked(file.get(), "points", H5T_STD_I32LE, H5T_NATIVE_INT32, pdims,
                /*chunk_per_image=*/false, points, tmp);
  const int schema = kHeatmapSchema;
  H5_CHECK(H5LTset_attribute_int(file.get(), "/", "schema", &schema, 1), tmp);
  H5_CHECK(H5LTset_attribute_double(file.get(), "/", "radius", &set.radius, 1), tmp);
  close_written(file, tmp);
  core::rename_durably(tmp, path);
  abandon.keep = true;
}

HeatmapSet read_heatmaps(const std::string& path) {
  H5Quiet quiet;
  CHECK_OR_THROW(core::IoError, std::filesystem::exists(path), path, ": no such file");
  H5File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  CHECK_OR_THROW(core::ConfigError, file.valid(), path, ": not an HDF5 file");
  int schema = 0;
  CHECK_OR_THROW(
      core::ConfigError,
      H5LTget_attribute_int(file.get(), "/", "schema", &schema) >= 0 && schema == kHeatmapSchema,
      path, ": not a heatmap file of schema ", kHeatmapSchema,
      " (attribute 'schema' is missing or different); was it written by fracsweep?");
  HeatmapSet set;
  CHECK_OR_THROW(
      core::ConfigError,
      H5LTget_attribute_double(file.get(), "/", "radius", &set.radius) >= 0 && set.radius >= 0,
      path, ": attribute 'radius' is missing or negative");
  int rank = 0;
  CHECK_OR_THROW(core::ConfigError,
                 H5LTget_dataset_ndims(file.get(), "heatmaps", &rank) >= 0 && rank == 3, path,
                 ": dataset 'heatmaps' is missing or not (N, H, W)");
  hsize_t dims[3] = {0, 0, 0};
  H5_CHECK(H5LTget_dataset_info(file.get(), "heatmaps", dims, nullptr, nullptr), path);
  check_plausible(dims, sizeof(float), path, "heatmaps");
  check_layout(file.get(), "heatmaps", path);
  std::vector<float> pixels(dims[0] * dims[1] * dims[2]);
  if (!pixels.empty())
    H5_CHECK(H5LTread_dataset_float(file.get(), "heatmaps", pixels.data()), path);
  check_written_values(file.get(), "heatmaps", bytes_of(pixels), path);
  // Any real values are scores here (probabilities, logits: the area FROC uses only
  // their order); NaN and infinities have no place in that order.
  const auto bad = std::find_if(pixels.begin(), pixels.end(),
                                [](float v) { return !std::isfinite(v); });
  const size_t at = static_cast<size_t>(bad - pixels.begin()), plane = dims[1] * dims[2];
  CHECK_OR_THROW(core::ConfigError, bad == pixels.end(), path, ": heatmap ", at / plane,
                 " holds ", *bad, " at (x=", at % plane % dims[2], ", y=",
                 at % plane / dims[2], "); heatmap values must be finite numbers (any real "
                 "scores: only their order counts), so replace or clip it before writing the "
                 "file");
  CHECK_OR_THROW(core::ConfigError,
                 H5LTget_dataset_ndims(file.get(), "points", &rank) >= 0 && rank == 2, path,
                 ": dataset 'points' is missing or not (M, 3)");
  hsize_t pdims[2] = {0, 0};
  H5_CHECK(H5LTget_dataset_info(file.get(), "points", pdims, nullptr, nullptr), path);
  CHECK_OR_THROW(core::ConfigError, pdims[1] == 3, path, ": dataset 'points' has ", pdims[1],
                 " columns; it needs 3 (image, x, y)");
  check_plausible({pdims[0], 1, 3}, sizeof(int32_t), path, "points");
  check_layout(file.get(), "points", path);
  std::vector<int32_t> points(pdims[0] * 3);
  if (!points.empty()) H5_CHECK(H5LTread_dataset_int(file.get(), "points", points.data()), path);
  check_written_values(file.get(), "points", bytes_of(points), path);

  const int h = static_cast<int>(dims[1]), w = static_cast<int>(dims[2]);
  const size_t image = static_cast<size_t>(h) * w;
  for (hsize_t i = 0; i < dims[0]; ++i) {
    metrics::HeatmapImage im;
    im.height = h;
    im.width = w;
    im.heatmap.assign(pixels.begin() + i * image, pixels.begin() + (i + 1) * image);
    set.images.push_back(std::move(im));
  }
  for (size_t k = 0; k < pdims[0]; ++k) {
    const int i = points[3 * k], x = points[3 * k + 1], y = points[3 * k + 2];
    CHECK_OR_THROW(core::ConfigError, i >= 0 && static_cast<size_t>(i) < set.images.size(), path,
                   ": point ", k, " names image ", i, " of ", set.images.size());
    CHECK_OR_THROW(core::ConfigError, x >= 0 && x < w && y >= 0 && y < h, path, ": point ", k, " (",
                   x, ", ", y, ") lies outside its ", w, "x", h, " image");
    set.images[i].points.push_back({x, y});
  }
  return set;
}

std::vector<metrics::LesionImage> read_lesion_masks(const std::string& path) {
  H5Quiet quiet;
  CHECK_OR_THROW(core::IoError, std::filesystem::exists(path), path, ": no such file");
  CHECK_OR_THROW(core::ConfigError, H5Fis_hdf5(path.c_str()) > 0, path,
                 ": not an HDF5 file (a lesion-mask file holds /masks, integer (N, H, W))");
  H5File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  CHECK_OR_THROW(core::ConfigError, file.valid(), path, ": HDF5 cannot open it (truncated?)");
  int rank = 0;
  CHECK_OR_THROW(core::ConfigError,
                 H5Lexists(file.get(), "masks", H5P_DEFAULT) > 0 &&
                     H5LTget_dataset_ndims(file.get(), "masks", &rank) >= 0 && rank == 3,
                 path, ": dataset 'masks' is missing or not (N, H, W)");
  hsize_t dims[3] = {0, 0, 0};
  H5T_class_t cls = H5T_NO_CLASS;
  size_t type_size = 0;
  H5_CHECK(H5LTget_dataset_info(file.get(), "masks", dims, &cls, &type_size), path);
  CHECK_OR_THROW(core::ConfigError, cls == H5T_INTEGER, path,
                 ": dataset 'masks' must hold integers (0 background, 1..L lesions)");
  CHECK_OR_THROW(core::ConfigError, dims[0] > 0 && dims[1] > 0 && dims[2] > 0, path,
                 ": dataset 'masks' is empty (", dims[0], "x", dims[1], "x", dims[2], ")");
  check_plausible(dims, sizeof(int), path, "masks");
  check_layout(file.get(), "masks", path);
  std::vector<int> labels(dims[0] * dims[1] * dims[2]);
  H5_CHECK(H5LTread_dataset_int(file.get(), "masks", labels.data()), path);
  const size_t image = dims[1] * dims[2];
  std::vector<metrics::LesionImage> out(dims[0]);
  for (size_t i = 0; i < dims[0]; ++i) {
    metrics::LesionImage& m = out[i];
    m.height = static_cast<int>(dims[1]);
    m.width = static_cast<int>(dims[2]);
    m.mask.assign(labels.begin() + i * image, labels.begin() + (i + 1) * image);
    for (int v : m.mask)
      CHECK_OR_THROW(core::ConfigError, v >= 0, path, ": image ", i, " of 'masks' holds label ",
                     v, "; labels are 0 (background) or 1..L");
  }
  return out;
}

}  // namespace fracsweep::datastore
