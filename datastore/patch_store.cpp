// See patch_store.h.
//
// Note [Store layout]: one chunk per patch makes a random read of one patch
// one chunk read, and lets a reader fetch the stored bytes directly. Sample
// metadata are plain int32 arrays, read whole on open (a few MB at most), so
// samplers and splits never touch HDF5. Strings are fixed-length so reading
// them needs no HDF5-allocated memory.
//
// Note [Direct chunk reads]: H5Dread builds and intersects selections on
// every call, which costs more than copying a 50 KB patch, and HDF5 (built
// without its global lock, as Debian's is) must not be entered from two
// threads. So open() asks HDF5 once where every patch's chunk lies in the file
// (H5Dget_chunk_info_by_coord: address, stored size, skipped filters), checks
// every extent against the file's size, and from then on a read is one pread()
// of the stored bytes, raw or deflated, which we inflate ourselves. Reads never
// enter HDF5, so any number of threads may read one store at once. This relies
// on stores being immutable once committed, which the writer guarantees (it
// builds under a temporary name and renames into place).
#include "datastore/patch_store.h"

#include <unistd.h>
#include <libdeflate.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/h5.h"
#include "datastore/h5_io.h"
#include "datastore/store_file.h"

namespace fracsweep::datastore {
namespace {

using core::ConfigError;
using core::IoError;

constexpr const char* kLabelNames[] = {"label", "patient", "slice", "level", "prev", "next"};

}  // namespace

const char* task_name(Task task) { return task == Task::kVcf ? "vcf" : "pelvis"; }

void inflate_chunk(std::span<const uint8_t> compressed, std::span<uint8_t> out,
                   const std::string& where) {
  // libdeflate inflates a whole buffer two to three times faster than zlib's
  // streaming inflate; a decompressor is a few KB, cheap next to a patch.
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  CHECK_OR_THROW(IoError, d != nullptr, where, ": out of memory for a decompressor");
  size_t size = 0;
  const libdeflate_result rc = libdeflate_zlib_decompress(
      d.get(), compressed.data(), compressed.size(), out.data(), out.size(), &size);
  CHECK_OR_THROW(IoError, rc == LIBDEFLATE_SUCCESS && size == out.size(), where,
                 ": compressed patch is corrupt (libdeflate code ", static_cast<int>(rc), ", ",
                 size, " of ", out.size(), " bytes)");
}

// ---------------------------------------------------------------- writer

struct VcfStoreWriter::Impl {
  Impl(std::string path, int height, int width, int compression, std::string source)
      : file(std::move(path), Task::kVcf, height, width, compression, std::move(source)) {}
  StoreFile file;
  std::vector<int32_t> slice, level, prev, next;
  std::vector<uint8_t> buffer;
  std::vector<int32_t> labels;
};

VcfStoreWriter::VcfStoreWriter(std::string path, int height, int width, int compression,
                               std::string source)
    : impl_(std::make_unique<Impl>(std::move(path), height, width, compression,
                                   std::move(source))) {}

VcfStoreWriter::~VcfStoreWriter() = default;

void VcfStoreWriter::add_patient(const std::string& id, int32_t label,
                                 std::span<const VcfPatchRecord> patches) {
  Impl& s = *impl_;
  const std::string& path = s.file.path();
  CHECK_OR_THROW(ConfigError, !s.file.committed(), path, ": add_patient after commit");
  const size_t pixels = s.file.image_bytes();
  const auto first = static_cast<int32_t>(s.file.size());
  const int32_t patient = s.file.add_patient(id, label);
  s.buffer.resize(patches.size() * pixels);
  s.labels.clear();
  for (size_t k = 0; k < patches.size(); ++k) {
    const VcfPatchRecord& r = patches[k];
    CHECK_OR_THROW(ConfigError, r.pixels.size() == pixels, path, ": patient '", id, "' patch ",
                   k, " has ", r.pixels.size(), " pixels, expected ", pixels);
    const auto local = [&](int32_t n, const char* what) {
      CHECK_OR_THROW(ConfigError, n >= -1 && n < static_cast<int32_t>(patches.size()), path,
                     ": patient '", id, "' patch ", k, " has ", what, " = ", n, ", outside -1..",
                     patches.size() - 1);
      return n < 0 ? -1 : first + n;
    };
    std::copy(r.pixels.begin(), r.pixels.end(), s.buffer.begin() + k * pixels);
    s.labels.push_back(r.label);
    s.slice.push_back(r.slice);
    s.level.push_back(r.level);
    s.prev.push_back(local(r.prev, "prev"));
    s.next.push_back(local(r.next, "next"));
  }
  s.file.add_images(s.buffer, s.labels, patient);
}

void VcfStoreWriter::commit() {
  Impl& s = *impl_;
  s.file.commit([&](hid_t samples) {
    const std::string& where = s.file.tmp_path();
    write_int32s(samples, "slice", s.slice, where);
    write_int32s(samples, "level", s.level, where);
    write_int32s(samples, "prev", s.prev, where);
    write_int32s(samples, "next", s.next, where);
  });
}

// ---------------------------------------------------------------- reader

struct PatchStore::Impl {
  std::string path;
  StoreInfo info;
  SampleIndex index;
  std::optional<PelvisIndex> pelvis;
  H5File file;
  // Where item i's chunk lies (see Note [Direct chunk reads]).
  core::ReadOnlyFile data;
  ItemChunks images, flipped, warp;
};

PatchStore::PatchStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PatchStore::PatchStore(PatchStore&&) noexcept = default;
PatchStore& PatchStore::operator=(PatchStore&&) noexcept = default;
PatchStore::~PatchStore() = default;

const std::string& PatchStore::path() const { return impl_->path; }
const StoreInfo& PatchStore::info() const { return impl_->info; }
const SampleIndex& PatchStore::index() const { return impl_->index; }
size_t PatchStore::image_bytes() const { return impl_->images.item_bytes; }
const PelvisIndex* PatchStore::pelvis() const {
  return impl_->pelvis ? &*impl_->pelvis : nullptr;
}

namespace {

void validate_neighbours(const SampleIndex& ix, const std::string& path) {
  const auto n = static_cast<int32_t>(ix.size());
  const std::vector<int32_t>* links[] = {&ix.prev, &ix.next};
  const char* names[] = {"/samples/prev", "/samples/next"};
  for (int w = 0; w < 2; ++w) {
    for (int32_t i = 0; i < n; ++i) {
      const int32_t j = (*links[w])[static_cast<size_t>(i)];
      if (j == -1) continue;
      CHECK_OR_THROW(ConfigError, j >= 0 && j < n, path, ": dataset '", names[w], "': entry ", i,
                     " is ", j, ", which points outside the file's ", n, " samples (-1..", n - 1,
                     ")");
      const auto a = static_cast<size_t>(i), b = static_cast<size_t>(j);
      CHECK_OR_THROW(ConfigError, ix.patient[a] == ix.patient[b] && ix.slice[a] == ix.slice[b],
                     path, ": dataset '", names[w], "': entry ", i, " links sample ", i,
                     " to sample ", j, " of another patient or slice");
      const int32_t back = (w == 0 ? ix.next : ix.prev)[b];
      CHECK_OR_THROW(ConfigError, back == i, path, ": dataset '", names[w], "': entry ", i,
                     " is ", j, " but ", names[1 - w], "[", j, "] is ", back, ", not ", i);
    }
  }
}

// The image size from /images, with its type checked; the chunks are located later.
std::vector<hsize_t> image_shape(hid_t f, const std::string& path) {
  H5Dataset images = open_dataset(f, "/images", path);
  const std::string where = path + ": dataset '/images'";
  const auto dims = dataset_shape(images.get(), where);
  CHECK_OR_THROW(ConfigError, dims.size() == 3 && dims[1] > 0 && dims[2] > 0, where,
                 " has shape ", shape_text(dims), ", expected [N, height, width]");
  return dims;
}

void read_patients(hid_t f, SampleIndex& ix, const std::string& path) {
  H5Dataset ids = open_dataset(f, "/patients/id", path);
  const std::string where = path + ": dataset '/patients/id'";
  const auto pd = dataset_shape(ids.get(), where);
  CHECK_OR_THROW(ConfigError, pd.size() == 1, where, " has shape ", shape_text(pd),
                 ", expected [patients]");
  H5Type type(H5_CHECK(H5Dget_type(ids.get()), where));
  CHECK_OR_THROW(ConfigError,
                 H5Tget_class(type.get()) == H5T_STRING && H5Tis_variable_str(type.get()) == 0,
                 where, " must hold fixed-length strings");
  const size_t width = H5Tget_size(type.get());
  std::vector<char> packed(width * pd[0] + 1, '\0');
  if (pd[0] > 0)
    H5_CHECK(H5Dread(ids.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), where);
  check_values_crc32(ids.get(), {reinterpret_cast<const uint8_t*>(packed.data()), width * pd[0]},
                     where);
  for (size_t p = 0; p < pd[0]; ++p) {
    std::string id(packed.data() + p * width, width);
    id.resize(std::strlen(id.c_str()));
    ix.patient_ids.push_back(std::move(id));
  }
  ix.patient_label = read_int32s(f, "/patients/label", pd[0], path, "one per patient in /patients/id");
}

void check_samples(const SampleIndex& ix, Task task, const std::string& path) {
  const auto num_patients = static_cast<int32_t>(ix.num_patients());
  const int32_t max_label = task == Task::kVcf ? 2 : 1;
  const char* labels = task == Task::kVcf ? "0 (normal), 1 (benign VCF), 2 (malignant VCF)"
                                          : "0 (no fracture), 1 (fracture)";
  for (size_t i = 0; i < ix.size(); ++i) {
    CHECK_OR_THROW(ConfigError, ix.patient[i] >= 0 && ix.patient[i] < num_patients, path,
                   ": dataset '/samples/patient': entry ", i, " is ", ix.patient[i],
                   ", outside the ", num_patients, " patients of /patients/id");
    CHECK_OR_THROW(ConfigError, ix.label[i] >= 0 && ix.label[i] <= max_label, path,
                   ": dataset '/samples/label': entry ", i, " is ", ix.label[i], ", outside ",
                   labels);
  }
}

}  // namespace

PatchStore PatchStore::open(const std::string& path) {
  H5Quiet quiet;
  CHECK_OR_THROW(IoError, std::filesystem::exists(path), path, ": no such file");
  check_checksummed_superblock(path, "stores");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  CHECK_OR_THROW(ConfigError, is_hdf5 > 0, path,
                 ": not an HDF5 file (a fracsweep store is written by 'fracsweep synth' or "
                 "the dataset converters)");
  auto s = std::make_unique<Impl>();
  s->path = path;
  s->file = H5File(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  CHECK_OR_THROW(ConfigError, s->file.valid(), path,
                 ": HDF5 cannot open the file: it is truncated or corrupt (rewrite it)");
  const hid_t f = s->file.get();
  const auto format = read_attr_string(f, "format", path);
  CHECK_OR_THROW(ConfigError, format && *format == kFormatName, path,
                 ": not a fracsweep patch store (root attribute 'format' is ",
                 format ? "'" + *format + "'" : std::string("missing"), ", expected '",
                 kFormatName, "')");
  const auto version = read_attr_int(f, "schema_version", path);
  CHECK_OR_THROW(ConfigError, version.has_value(), path,
                 ": root attribute 'schema_version' is missing");
  CHECK_OR_THROW(ConfigError, *version <= kSchemaVersion, path, ": schema version ", *version,
                 " is newer than this fracsweep reads (up to ", kSchemaVersion,
                 "); update fracsweep");
  CHECK_OR_THROW(ConfigError, *version >= 1, path, ": schema version ", *version,
                 " is invalid (versions start at 1)");
  StoreInfo& info = s->info;
  info.schema_version = static_cast<int>(*version);
  const auto task = read_attr_string(f, "task", path);
  CHECK_OR_THROW(ConfigError, task && (*task == "vcf" || *task == "pelvis"), path,
                 ": root attribute 'task' is ", task ? "'" + *task + "'" : std::string("missing"),
                 ", expected 'vcf' or 'pelvis'");
  info.task = *task == "vcf" ? Task::kVcf : Task::kPelvis;
  info.source = read_attr_string(f, "source", path).value_or("");
  info.created_by = read_attr_string(f, "created_by", path).value_or("");

  const auto dims = image_shape(f, path);
  info.height = static_cast<int>(dims[1]);
  info.width = static_cast<int>(dims[2]);
  const auto stored_h = read_attr_int(f, "image_height", path);
  const auto stored_w = read_attr_int(f, "image_width", path);
  CHECK_OR_THROW(ConfigError, stored_h == static_cast<int64_t>(dims[1]) && stored_w == static_cast<int64_t>(dims[2]),
                 path, ": root attributes image_height/image_width disagree with /images ",
                 shape_text(dims));

  const size_t n = dims[0];
  SampleIndex& ix = s->index;
  ix.label = read_int32s(f, "/samples/label", n, path, "one per image in /images");
  ix.patient = read_int32s(f, "/samples/patient", n, path, "one per image in /images");
  if (info.task == Task::kVcf) {
    std::vector<int32_t>* columns[] = {&ix.slice, &ix.level, &ix.prev, &ix.next};
    for (size_t c = 0; c < 4; ++c)
      *columns[c] = read_int32s(f, std::string("/samples/") + kLabelNames[c + 2], n, path,
                                "one per image in /images");
  } else {
    // One image per sample and no neighbours: the columns the samplers share.
    ix.slice.assign(n, 0);
    ix.level.assign(n, 0);
    ix.prev.assign(n, -1);
    ix.next.assign(n, -1);
  }
  read_patients(f, ix, path);
  check_samples(ix, info.task, path);
  validate_neighbours(ix, path);

  s->data = core::ReadOnlyFile(path);
  const std::vector<hsize_t> image_dims{dims[1], dims[2]};
  {
    H5Dataset images = open_dataset(f, "/images", path);
    s->images = locate_items(f, images.get(), "/images", n, image_dims, H5T_INTEGER, 1, s->data, path);
  }
  const bool checksummed = info.schema_version >= 2;
  read_item_checksums(f, "images", checksummed, s->images, path);
  const bool deflated = std::any_of(s->images.deflated.begin(), s->images.deflated.end(),
                                    [](uint8_t d) { return d != 0; });
  info.compression = static_cast<int>(read_attr_int(f, "compression", path).value_or(deflated));
  if (info.task == Task::kPelvis) {
    s->pelvis = read_pelvis_index(f, n, info.height, info.width, path);
    for (size_t i = 0; i < n; ++i)
      CHECK_OR_THROW(ConfigError, (ix.label[i] == 1) == (s->pelvis->num_points(i) > 0), path,
                     ": image ", i, " has label ", ix.label[i], " but ", s->pelvis->num_points(i),
                     " fracture points (label 1 means at least one point)");
    H5Dataset flipped = open_dataset(f, "/flipped", path);
    s->flipped = locate_items(f, flipped.get(), "/flipped", n, image_dims, H5T_INTEGER, 1, s->data, path);
    read_item_checksums(f, "flipped", checksummed, s->flipped, path);
    H5Dataset warp = open_dataset(f, "/warp", path);
    const auto& pv = *s->pelvis;
    s->warp = locate_items(f, warp.get(), "/warp", n,
                           {static_cast<hsize_t>(pv.warp_rows), static_cast<hsize_t>(pv.warp_cols), 2},
                           H5T_FLOAT, 4, s->data, path);
    read_item_checksums(f, "warp", checksummed, s->warp, path);
  }
  return PatchStore(std::move(s));
}

bool PatchStore::read_raw_chunk(size_t i, std::vector<uint8_t>& out) const {
  return read_item_raw(impl_->data, impl_->images, i, out, "/images patch");
}

void PatchStore::read_image(size_t i, std::span<uint8_t> out) const {
  read_item(impl_->data, impl_->images, i, out, "/images patch");
}

void PatchStore::read_flipped(size_t i, std::span<uint8_t> out) const {
  CHECK_OR_THROW(ConfigError, impl_->pelvis.has_value(), impl_->path,
                 ": a vertebra store has no flipped images");
  read_item(impl_->data, impl_->flipped, i, out, "/flipped image");
}

void PatchStore::read_every_item() const {
  std::vector<uint8_t> pixels(image_bytes());
  for (size_t i = 0; i < size(); ++i) {
    read_image(i, pixels);
    if (impl_->pelvis) {
      read_flipped(i, pixels);
      (void)read_warp(i);
    }
  }
}

SamplingGrid PatchStore::read_warp(size_t i) const {
  const Impl& s = *impl_;
  CHECK_OR_THROW(ConfigError, s.pelvis.has_value(), s.path, ": a vertebra store has no warps");
  SamplingGrid g;
  g.rows = s.pelvis->warp_rows;
  g.cols = s.pelvis->warp_cols;
  g.stride = s.pelvis->warp_stride;
  g.src_height = s.info.height;
  g.src_width = s.info.width;
  g.xy.resize(2 * static_cast<size_t>(g.rows) * g.cols);
  static_assert(sizeof(float) == 4);
  read_item(s.data, s.warp, i,
            std::span<uint8_t>(reinterpret_cast<uint8_t*>(g.xy.data()), g.xy.size() * 4),
            "/warp grid");
  return g;
}

}  // namespace fracsweep::datastore
