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

namespace fracsweep::datastore {
namespace {

using core::ConfigError;
using core::IoError;

constexpr const char* kLabelNames[] = {"label", "patient", "slice", "level", "prev", "next"};

H5PropertyList untimed_create_plist(hid_t cls, const std::string& where) {
  H5PropertyList plist(H5_CHECK(H5Pcreate(cls), where));
  // Timestamps would make two runs with the same seed differ byte for byte.
  H5_CHECK(H5Pset_obj_track_times(plist.get(), false), where);
  return plist;
}

void write_attr_string(hid_t obj, const char* name, const std::string& value,
                       const std::string& where) {
  H5Type type(H5_CHECK(H5Tcopy(H5T_C_S1), where));
  H5_CHECK(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), where);
  H5Dataspace space(H5_CHECK(H5Screate(H5S_SCALAR), where));
  H5Attribute attr(
      H5_CHECK(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), where));
  std::string padded = value;
  padded.resize(std::max<size_t>(1, value.size()), '\0');
  H5_CHECK(H5Awrite(attr.get(), type.get(), padded.data()), where);
}

void write_attr_int(hid_t obj, const char* name, int64_t value, const std::string& where) {
  H5Dataspace space(H5_CHECK(H5Screate(H5S_SCALAR), where));
  H5Attribute attr(H5_CHECK(
      H5Acreate2(obj, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), where));
  H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), where);
}

std::optional<std::string> read_attr_string(hid_t obj, const char* name, const std::string& where) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  H5Attribute attr(H5_CHECK(H5Aopen(obj, name, H5P_DEFAULT), where));
  H5Type type(H5_CHECK(H5Aget_type(attr.get()), where));
  CHECK_OR_THROW(ConfigError, H5Tget_class(type.get()) == H5T_STRING, where, ": attribute '",
                 name, "' is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    // Files written by h5py carry variable-length strings; HDF5 allocates them.
    H5Type mem(H5_CHECK(H5Tcopy(H5T_C_S1), where));
    H5_CHECK(H5Tset_size(mem.get(), H5T_VARIABLE), where);
    char* text = nullptr;
    H5_CHECK(H5Aread(attr.get(), mem.get(), &text), where);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  H5_CHECK(H5Aread(attr.get(), type.get(), out.data()), where);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<int64_t> read_attr_int(hid_t obj, const char* name, const std::string& where) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  H5Attribute attr(H5_CHECK(H5Aopen(obj, name, H5P_DEFAULT), where));
  H5Type type(H5_CHECK(H5Aget_type(attr.get()), where));
  CHECK_OR_THROW(ConfigError, H5Tget_class(type.get()) == H5T_INTEGER, where, ": attribute '",
                 name, "' is not an integer");
  int64_t value = 0;
  H5_CHECK(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), where);
  return value;
}

void write_int32s(hid_t loc, const char* name, const std::vector<int32_t>& values,
                  const std::string& where) {
  const hsize_t dims[1] = {values.size()};
  H5Dataspace space(H5_CHECK(H5Screate_simple(1, dims, nullptr), where));
  H5PropertyList dcpl = untimed_create_plist(H5P_DATASET_CREATE, where);
  H5Dataset ds(H5_CHECK(H5Dcreate2(loc, name, H5T_STD_I32LE, space.get(), H5P_DEFAULT,
                                   dcpl.get(), H5P_DEFAULT),
                        where));
  if (!values.empty())
    H5_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
             where);
}

// The shape of a dataset; throws when it is missing.
std::vector<hsize_t> dataset_shape(hid_t ds, const std::string& where) {
  H5Dataspace space(H5_CHECK(H5Dget_space(ds), where));
  const int rank = H5_CHECK(H5Sget_simple_extent_ndims(space.get()), where);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), where);
  return dims;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

H5Dataset open_dataset(hid_t file, const std::string& name, const std::string& path) {
  // H5Lexists fails (rather than returning 0) when a parent group is missing.
  const auto slash = name.find('/', 1);
  const bool parent_ok = slash == std::string::npos ||
                         H5Lexists(file, name.substr(0, slash).c_str(), H5P_DEFAULT) > 0;
  CHECK_OR_THROW(ConfigError, parent_ok && H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0, path,
                 ": dataset '", name, "' is missing (is this a complete fracsweep store?)");
  return H5Dataset(H5_CHECK(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path + ": " + name));
}

std::vector<int32_t> read_int32s(hid_t file, const std::string& name, size_t expected,
                                 const std::string& path, const char* expected_name) {
  H5Dataset ds = open_dataset(file, name, path);
  const std::string where = path + ": dataset '" + name + "'";
  const auto dims = dataset_shape(ds.get(), where);
  CHECK_OR_THROW(ConfigError, dims.size() == 1 && dims[0] == expected, where, " has shape ",
                 shape_text(dims), ", expected [", expected, "] (", expected_name, ")");
  H5Type type(H5_CHECK(H5Dget_type(ds.get()), where));
  CHECK_OR_THROW(ConfigError, H5Tget_class(type.get()) == H5T_INTEGER, where,
                 " holds non-integer values");
  std::vector<int32_t> out(expected);
  if (expected > 0)
    H5_CHECK(H5Dread(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
             where);
  return out;
}

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
  std::string path, tmp_path, source;
  int height = 0, width = 0, compression = 0;
  H5File file;
  H5Dataset images;
  SampleIndex index;
  std::vector<uint8_t> buffer;
  bool committed = false;
};

VcfStoreWriter::VcfStoreWriter(std::string path, int height, int width, int compression,
                               std::string source)
    : impl_(std::make_unique<Impl>()) {
  CHECK_OR_THROW(ConfigError, height > 0 && width > 0, path, ": patch size ", height, "x", width,
                 " must be positive");
  CHECK_OR_THROW(ConfigError, compression >= 0 && compression <= 9, path, ": compression level ",
                 compression, " is outside 0 (none) .. 9");
  Impl& s = *impl_;
  s.path = std::move(path);
  s.tmp_path = s.path + ".partial";
  s.source = std::move(source);
  s.height = height;
  s.width = width;
  s.compression = compression;
  H5Quiet quiet;
  const std::string where = s.tmp_path;
  s.file = H5File(H5Fcreate(s.tmp_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  CHECK_OR_THROW(IoError, s.file.valid(), s.tmp_path,
                 ": cannot create the HDF5 file (does the folder exist and is it writable?)");
  const hsize_t dims[3] = {0, static_cast<hsize_t>(height), static_cast<hsize_t>(width)};
  const hsize_t maxdims[3] = {H5S_UNLIMITED, dims[1], dims[2]};
  const hsize_t chunk[3] = {1, dims[1], dims[2]};
  H5Dataspace space(H5_CHECK(H5Screate_simple(3, dims, maxdims), where));
  H5PropertyList dcpl = untimed_create_plist(H5P_DATASET_CREATE, where);
  H5_CHECK(H5Pset_chunk(dcpl.get(), 3, chunk), where);
  if (compression > 0) H5_CHECK(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(compression)), where);
  s.images = H5Dataset(H5_CHECK(H5Dcreate2(s.file.get(), "images", H5T_STD_U8LE, space.get(),
                                           H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                where));
}

VcfStoreWriter::~VcfStoreWriter() {
  if (!impl_->committed) {
    impl_->images.reset();
    impl_->file.reset();
    std::remove(impl_->tmp_path.c_str());  // an abandoned store must not look finished
  }
}

void VcfStoreWriter::add_patient(const std::string& id, int32_t label,
                                 std::span<const VcfPatchRecord> patches) {
  Impl& s = *impl_;
  CHECK_OR_THROW(ConfigError, !s.committed, s.path, ": add_patient after commit");
  const size_t pixels = static_cast<size_t>(s.height) * s.width;
  const auto first = static_cast<int32_t>(s.index.size());
  const auto patient = static_cast<int32_t>(s.index.num_patients());
  s.index.patient_ids.push_back(id);
  s.index.patient_label.push_back(label);
  s.buffer.resize(patches.size() * pixels);
  for (size_t k = 0; k < patches.size(); ++k) {
    const VcfPatchRecord& r = patches[k];
    CHECK_OR_THROW(ConfigError, r.pixels.size() == pixels, s.path, ": patient '", id, "' patch ",
                   k, " has ", r.pixels.size(), " pixels, expected ", pixels);
    const auto local = [&](int32_t n, const char* what) {
      CHECK_OR_THROW(ConfigError, n >= -1 && n < static_cast<int32_t>(patches.size()), s.path,
                     ": patient '", id, "' patch ", k, " has ", what, " = ", n, ", outside -1..",
                     patches.size() - 1);
      return n < 0 ? -1 : first + n;
    };
    std::copy(r.pixels.begin(), r.pixels.end(), s.buffer.begin() + k * pixels);
    s.index.label.push_back(r.label);
    s.index.patient.push_back(patient);
    s.index.slice.push_back(r.slice);
    s.index.level.push_back(r.level);
    s.index.prev.push_back(local(r.prev, "prev"));
    s.index.next.push_back(local(r.next, "next"));
  }
  if (patches.empty()) return;
  H5Quiet quiet;
  const std::string where = s.tmp_path + ": /images";
  const hsize_t total[3] = {s.index.size(), static_cast<hsize_t>(s.height),
                            static_cast<hsize_t>(s.width)};
  H5_CHECK(H5Dset_extent(s.images.get(), total), where);
  H5Dataspace file_space(H5_CHECK(H5Dget_space(s.images.get()), where));
  const hsize_t start[3] = {static_cast<hsize_t>(first), 0, 0};
  const hsize_t count[3] = {patches.size(), total[1], total[2]};
  H5_CHECK(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
           where);
  H5Dataspace mem_space(H5_CHECK(H5Screate_simple(3, count, nullptr), where));
  H5_CHECK(H5Dwrite(s.images.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(),
                    H5P_DEFAULT, s.buffer.data()),
           where);
}

void VcfStoreWriter::commit() {
  Impl& s = *impl_;
  CHECK_OR_THROW(ConfigError, !s.committed, s.path, ": commit called twice");
  H5Quiet quiet;
  const std::string& where = s.tmp_path;
  const hid_t f = s.file.get();
  H5PropertyList gcpl = untimed_create_plist(H5P_GROUP_CREATE, where);
  {
    H5Group samples(H5_CHECK(H5Gcreate2(f, "samples", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), where));
    const std::vector<int32_t>* columns[] = {&s.index.label, &s.index.patient, &s.index.slice,
                                             &s.index.level, &s.index.prev, &s.index.next};
    for (size_t c = 0; c < 6; ++c) write_int32s(samples.get(), kLabelNames[c], *columns[c], where);
  }
  {
    H5Group patients(H5_CHECK(H5Gcreate2(f, "patients", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), where));
    write_int32s(patients.get(), "label", s.index.patient_label, where);
    size_t width = 1;
    for (const auto& id : s.index.patient_ids) width = std::max(width, id.size());
    std::vector<char> packed(width * s.index.num_patients(), '\0');
    for (size_t p = 0; p < s.index.num_patients(); ++p)
      std::copy(s.index.patient_ids[p].begin(), s.index.patient_ids[p].end(), packed.begin() + p * width);
    H5Type type(H5_CHECK(H5Tcopy(H5T_C_S1), where));
    H5_CHECK(H5Tset_size(type.get(), width), where);
    const hsize_t dims[1] = {s.index.num_patients()};
    H5Dataspace space(H5_CHECK(H5Screate_simple(1, dims, nullptr), where));
    H5PropertyList dcpl = untimed_create_plist(H5P_DATASET_CREATE, where);
    H5Dataset ids(H5_CHECK(H5Dcreate2(patients.get(), "id", type.get(), space.get(), H5P_DEFAULT,
                                      dcpl.get(), H5P_DEFAULT),
                           where));
    if (!packed.empty())
      H5_CHECK(H5Dwrite(ids.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), where);
  }
  write_attr_string(f, "format", kFormatName, where);
  write_attr_int(f, "schema_version", kSchemaVersion, where);
  write_attr_string(f, "task", task_name(Task::kVcf), where);
  write_attr_string(f, "source", s.source, where);
  write_attr_int(f, "compression", s.compression, where);
  write_attr_int(f, "image_height", s.height, where);
  write_attr_int(f, "image_width", s.width, where);
  write_attr_string(f, "created_by", "fracsweep " FRACSWEEP_VERSION_STRING, where);
  s.images.reset();
  H5_CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL), where);
  s.file.reset();
  core::rename_durably(s.tmp_path, s.path);
  s.committed = true;
}

// ---------------------------------------------------------------- reader

struct PatchStore::Impl {
  std::string path;
  StoreInfo info;
  SampleIndex index;
  H5File file;
  H5Dataset images;
  bool deflated = false;
  size_t image_bytes = 0;
  // Where patch i's chunk lies (see Note [Direct chunk reads]).
  core::ReadOnlyFile data;
  std::vector<uint64_t> chunk_offset;
  std::vector<uint32_t> chunk_bytes;
  std::vector<uint8_t> chunk_deflated;
};

PatchStore::PatchStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PatchStore::PatchStore(PatchStore&&) noexcept = default;
PatchStore& PatchStore::operator=(PatchStore&&) noexcept = default;
PatchStore::~PatchStore() = default;

const std::string& PatchStore::path() const { return impl_->path; }
const StoreInfo& PatchStore::info() const { return impl_->info; }
const SampleIndex& PatchStore::index() const { return impl_->index; }
size_t PatchStore::image_bytes() const { return impl_->image_bytes; }

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

}  // namespace

void PatchStore::locate_chunks(Impl& s) {
  const std::string where = s.path + ": dataset '/images'";
  hsize_t userblock = 0;
  {
    H5PropertyList fcpl(H5_CHECK(H5Fget_create_plist(s.file.get()), s.path));
    H5_CHECK(H5Pget_userblock(fcpl.get(), &userblock), s.path);
  }
  s.data = core::ReadOnlyFile(s.path);
  const size_t n = s.index.size();
  s.chunk_offset.resize(n);
  s.chunk_bytes.resize(n);
  s.chunk_deflated.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const hsize_t coord[3] = {static_cast<hsize_t>(i), 0, 0};
    unsigned filter_mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t stored = 0;
    H5_CHECK(H5Dget_chunk_info_by_coord(s.images.get(), coord, &filter_mask, &addr, &stored),
             where);
    CHECK_OR_THROW(ConfigError, addr != HADDR_UNDEF && stored > 0, where, ": patch ", i,
                   " has no stored data (was the write interrupted? rewrite the store)");
    const uint64_t offset = static_cast<uint64_t>(userblock) + addr;
    CHECK_OR_THROW(ConfigError, offset + stored <= s.data.size(), where, ": patch ", i,
                   " lies at bytes ", offset, "..", offset + stored, " but the file has only ",
                   s.data.size(), " bytes (truncated; rewrite the store)");
    // A set bit 0 means HDF5 stored this chunk without its (only) filter.
    const bool deflated = s.deflated && (filter_mask & 1u) == 0;
    CHECK_OR_THROW(ConfigError, deflated || stored == s.image_bytes, where, ": patch ", i,
                   " is stored raw in ", stored, " bytes, expected ", s.image_bytes);
    CHECK_OR_THROW(ConfigError, stored <= UINT32_MAX, where, ": patch ", i, " is too large");
    s.chunk_offset[i] = offset;
    s.chunk_bytes[i] = static_cast<uint32_t>(stored);
    s.chunk_deflated[i] = deflated;
  }
}

PatchStore PatchStore::open(const std::string& path) {
  H5Quiet quiet;
  CHECK_OR_THROW(IoError, std::filesystem::exists(path), path, ": no such file");
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
  CHECK_OR_THROW(ConfigError, info.task == Task::kVcf, path,
                 ": pelvis stores are not readable yet by this build");
  info.source = read_attr_string(f, "source", path).value_or("");
  info.created_by = read_attr_string(f, "created_by", path).value_or("");

  s->images = open_dataset(f, "/images", path);
  const std::string img_where = path + ": dataset '/images'";
  const auto dims = dataset_shape(s->images.get(), img_where);
  CHECK_OR_THROW(ConfigError, dims.size() == 3 && dims[1] > 0 && dims[2] > 0, img_where,
                 " has shape ", shape_text(dims), ", expected [N, height, width]");
  {
    H5Type type(H5_CHECK(H5Dget_type(s->images.get()), img_where));
    CHECK_OR_THROW(ConfigError,
                   H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 1 &&
                       H5Tget_sign(type.get()) == H5T_SGN_NONE,
                   img_where, " must hold uint8 pixels");
    H5PropertyList dcpl(H5_CHECK(H5Dget_create_plist(s->images.get()), img_where));
    hsize_t chunk[3] = {0, 0, 0};
    CHECK_OR_THROW(ConfigError,
                   H5Pget_layout(dcpl.get()) == H5D_CHUNKED &&
                       H5Pget_chunk(dcpl.get(), 3, chunk) == 3 && chunk[0] == 1 &&
                       chunk[1] == dims[1] && chunk[2] == dims[2],
                   img_where, " must be chunked one patch per chunk [1, ", dims[1], ", ", dims[2],
                   "]");
    const int filters = H5Pget_nfilters(dcpl.get());
    for (int k = 0; k < filters; ++k) {
      unsigned flags = 0;
      size_t nelmts = 0;
      char name[64];
      const H5Z_filter_t id =
          H5Pget_filter2(dcpl.get(), static_cast<unsigned>(k), &flags, &nelmts, nullptr,
                         sizeof name, name, nullptr);
      CHECK_OR_THROW(ConfigError, id == H5Z_FILTER_DEFLATE, img_where, " uses filter '", name,
                     "' (id ", id, "); fracsweep reads uncompressed or deflate-compressed patches");
      s->deflated = true;
    }
  }
  info.height = static_cast<int>(dims[1]);
  info.width = static_cast<int>(dims[2]);
  info.compression = static_cast<int>(read_attr_int(f, "compression", path).value_or(s->deflated));
  s->image_bytes = static_cast<size_t>(dims[1] * dims[2]);
  const auto stored_h = read_attr_int(f, "image_height", path);
  const auto stored_w = read_attr_int(f, "image_width", path);
  CHECK_OR_THROW(ConfigError, stored_h == static_cast<int64_t>(dims[1]) && stored_w == static_cast<int64_t>(dims[2]),
                 path, ": root attributes image_height/image_width disagree with /images ",
                 shape_text(dims));

  const size_t n = dims[0];
  SampleIndex& ix = s->index;
  std::vector<int32_t>* columns[] = {&ix.label, &ix.patient, &ix.slice, &ix.level, &ix.prev, &ix.next};
  for (size_t c = 0; c < 6; ++c)
    *columns[c] = read_int32s(f, std::string("/samples/") + kLabelNames[c], n, path,
                              "one per image in /images");
  {
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
    for (size_t p = 0; p < pd[0]; ++p) {
      std::string id(packed.data() + p * width, width);
      id.resize(std::strlen(id.c_str()));
      ix.patient_ids.push_back(std::move(id));
    }
    ix.patient_label = read_int32s(f, "/patients/label", pd[0], path, "one per patient in /patients/id");
  }
  const auto num_patients = static_cast<int32_t>(ix.num_patients());
  for (size_t i = 0; i < n; ++i) {
    CHECK_OR_THROW(ConfigError, ix.patient[i] >= 0 && ix.patient[i] < num_patients, path,
                   ": dataset '/samples/patient': entry ", i, " is ", ix.patient[i],
                   ", outside the ", num_patients, " patients of /patients/id");
    CHECK_OR_THROW(ConfigError, ix.label[i] >= 0 && ix.label[i] <= 2, path,
                   ": dataset '/samples/label': entry ", i, " is ", ix.label[i],
                   ", outside 0 (normal), 1 (benign VCF), 2 (malignant VCF)");
  }
  validate_neighbours(ix, path);
  locate_chunks(*s);
  return PatchStore(std::move(s));
}

bool PatchStore::read_raw_chunk(size_t i, std::vector<uint8_t>& out) const {
  const Impl& s = *impl_;
  CHECK_OR_THROW(ConfigError, i < s.index.size(), s.path, ": patch ", i, " is outside 0..",
                 s.index.size() - 1);
  out.resize(s.chunk_bytes[i]);
  s.data.read_at(s.chunk_offset[i], out, "/images patch " + std::to_string(i));
  return s.chunk_deflated[i] != 0;
}

void PatchStore::read_image(size_t i, std::span<uint8_t> out) const {
  const Impl& s = *impl_;
  INTERNAL_ASSERT(out.size() == s.image_bytes);
  CHECK_OR_THROW(ConfigError, i < s.index.size(), s.path, ": patch ", i, " is outside 0..",
                 s.index.size() - 1);
  if (!s.chunk_deflated[i]) {
    s.data.read_at(s.chunk_offset[i], out, "/images patch " + std::to_string(i));
    return;
  }
  std::vector<uint8_t> stored;
  read_raw_chunk(i, stored);
  inflate_chunk(stored, out, s.path + ": /images patch " + std::to_string(i));
}

}  // namespace fracsweep::datastore
