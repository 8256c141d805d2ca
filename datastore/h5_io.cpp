// See h5_io.h.
#include "datastore/h5_io.h"

#include <libdeflate.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "datastore/patch_store.h"

namespace fracsweep::datastore {

using core::ConfigError;
using core::IoError;

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
  write_attr_int(ds.get(), "crc32",
                 crc32_of({reinterpret_cast<const uint8_t*>(values.data()), values.size() * 4}),
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
  if (H5Tget_size(type.get()) == 4)
    check_values_crc32(ds.get(), {reinterpret_cast<const uint8_t*>(out.data()), out.size() * 4},
                       where);
  return out;
}

void write_attr_double(hid_t obj, const char* name, double value, const std::string& where) {
  H5Dataspace space(H5_CHECK(H5Screate(H5S_SCALAR), where));
  H5Attribute attr(H5_CHECK(
      H5Acreate2(obj, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), where));
  H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value), where);
}

std::optional<double> read_attr_double(hid_t obj, const char* name, const std::string& where) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  H5Attribute attr(H5_CHECK(H5Aopen(obj, name, H5P_DEFAULT), where));
  H5Type type(H5_CHECK(H5Aget_type(attr.get()), where));
  const H5T_class_t cls = H5Tget_class(type.get());
  CHECK_OR_THROW(ConfigError, cls == H5T_FLOAT || cls == H5T_INTEGER, where, ": attribute '",
                 name, "' is not a number");
  double value = 0;
  H5_CHECK(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value), where);
  return value;
}

void write_array(hid_t loc, const char* name, hid_t file_type, hid_t mem_type,
                 const std::vector<hsize_t>& dims, const void* data, const std::string& where) {
  H5Dataspace space(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), where));
  H5PropertyList dcpl = untimed_create_plist(H5P_DATASET_CREATE, where);
  H5Dataset ds(H5_CHECK(
      H5Dcreate2(loc, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), where));
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (total > 0) H5_CHECK(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), where);
  // The checksum is of the values as stored: this process's memory layout of them.
  INTERNAL_ASSERT(H5Tget_size(mem_type) == H5Tget_size(file_type));
  write_attr_int(ds.get(), "crc32",
                 crc32_of({static_cast<const uint8_t*>(data), total * H5Tget_size(mem_type)}), where);
}

void read_array(hid_t file, const std::string& name, const std::vector<hsize_t>& dims,
                H5T_class_t cls, hid_t mem_type, void* out, const std::string& path,
                const char* expected_name) {
  H5Dataset ds = open_dataset(file, name, path);
  const std::string where = path + ": dataset '" + name + "'";
  const auto shape = dataset_shape(ds.get(), where);
  CHECK_OR_THROW(ConfigError, shape == dims, where, " has shape ", shape_text(shape),
                 ", expected ", shape_text(dims), " (", expected_name, ")");
  H5Type type(H5_CHECK(H5Dget_type(ds.get()), where));
  CHECK_OR_THROW(ConfigError, H5Tget_class(type.get()) == cls, where, " holds ",
                 H5Tget_class(type.get()) == H5T_FLOAT ? "floating-point" : "non-numeric or integer",
                 " values, expected ", cls == H5T_FLOAT ? "floating-point" : "integer", " ones");
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (total > 0) H5_CHECK(H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), where);
  const size_t element = H5Tget_size(mem_type);
  if (H5Tget_size(type.get()) == element)
    check_values_crc32(ds.get(), {static_cast<const uint8_t*>(out), total * element}, where);
}

H5Dataset create_item_dataset(hid_t file, const char* name, hid_t file_type,
                              const std::vector<hsize_t>& item_dims, int compression,
                              const std::string& where) {
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{1};
  for (hsize_t d : item_dims) {
    dims.push_back(d);
    maxdims.push_back(d);
    chunk.push_back(d);
  }
  const int rank = static_cast<int>(dims.size());
  H5Dataspace space(H5_CHECK(H5Screate_simple(rank, dims.data(), maxdims.data()), where));
  H5PropertyList dcpl = untimed_create_plist(H5P_DATASET_CREATE, where);
  H5_CHECK(H5Pset_chunk(dcpl.get(), rank, chunk.data()), where);
  if (compression > 0) H5_CHECK(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(compression)), where);
  return H5Dataset(H5_CHECK(
      H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), where));
}

void append_items(hid_t dataset, hsize_t first, hsize_t count,
                  const std::vector<hsize_t>& item_dims, hid_t mem_type, const void* data,
                  const std::string& where) {
  if (count == 0) return;
  std::vector<hsize_t> total{first + count}, start{first}, counts{count};
  for (hsize_t d : item_dims) {
    total.push_back(d);
    start.push_back(0);
    counts.push_back(d);
  }
  const int rank = static_cast<int>(total.size());
  H5_CHECK(H5Dset_extent(dataset, total.data()), where);
  H5Dataspace file_space(H5_CHECK(H5Dget_space(dataset), where));
  H5_CHECK(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                               counts.data(), nullptr),
           where);
  H5Dataspace mem_space(H5_CHECK(H5Screate_simple(rank, counts.data(), nullptr), where));
  H5_CHECK(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data),
           where);
}

namespace {

// Checks the shape, element type and chunking of a per-item dataset; returns
// whether its items are deflated.
bool check_item_layout(hid_t ds, const std::string& name, size_t n,
                       const std::vector<hsize_t>& item_dims, H5T_class_t cls,
                       size_t element_bytes, const std::string& path) {
  const std::string where = path + ": dataset '" + name + "'";
  std::vector<hsize_t> expected{n};
  expected.insert(expected.end(), item_dims.begin(), item_dims.end());
  const auto dims = dataset_shape(ds, where);
  CHECK_OR_THROW(ConfigError, dims == expected, where, " has shape ", shape_text(dims),
                 ", expected ", shape_text(expected));
  {
    H5Type type(H5_CHECK(H5Dget_type(ds), where));
    CHECK_OR_THROW(ConfigError,
                   H5Tget_class(type.get()) == cls && H5Tget_size(type.get()) == element_bytes &&
                       H5Tget_order(type.get()) == H5T_ORDER_LE &&
                       (cls != H5T_INTEGER || H5Tget_sign(type.get()) == H5T_SGN_NONE),
                   where, " must hold little-endian ",
                   cls == H5T_INTEGER ? "unsigned " + std::to_string(8 * element_bytes) + "-bit integers"
                                      : std::to_string(8 * element_bytes) + "-bit floats");
  }
  bool deflated = false;
  {
    H5PropertyList dcpl(H5_CHECK(H5Dget_create_plist(ds), where));
    std::vector<hsize_t> chunk(dims.size(), 0);
    std::vector<hsize_t> one_item{1};
    one_item.insert(one_item.end(), item_dims.begin(), item_dims.end());
    CHECK_OR_THROW(ConfigError,
                   H5Pget_layout(dcpl.get()) == H5D_CHUNKED &&
                       H5Pget_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) ==
                           static_cast<int>(chunk.size()) &&
                       chunk == one_item,
                   where, " must be chunked one item per chunk ", shape_text(one_item));
    const int filters = H5Pget_nfilters(dcpl.get());
    for (int k = 0; k < filters; ++k) {
      unsigned flags = 0;
      size_t nelmts = 0;
      char filter[64];
      const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(k), &flags,
                                             &nelmts, nullptr, sizeof filter, filter, nullptr);
      CHECK_OR_THROW(ConfigError, id == H5Z_FILTER_DEFLATE, where, " uses filter '", filter,
                     "' (id ", id, "); fracsweep reads uncompressed or deflate-compressed items");
      deflated = true;
    }
  }
  return deflated;
}

}  // namespace

ItemChunks locate_items(hid_t file, hid_t ds, const std::string& name, size_t n,
                        const std::vector<hsize_t>& item_dims, H5T_class_t cls,
                        size_t element_bytes, const core::ReadOnlyFile& data,
                        const std::string& path) {
  const std::string where = path + ": dataset '" + name + "'";
  const bool deflated = check_item_layout(ds, name, n, item_dims, cls, element_bytes, path);
  ItemChunks chunks;
  chunks.item_bytes = element_bytes;
  for (hsize_t d : item_dims) chunks.item_bytes *= d;
  hsize_t userblock = 0;
  {
    H5PropertyList fcpl(H5_CHECK(H5Fget_create_plist(file), path));
    H5_CHECK(H5Pget_userblock(fcpl.get(), &userblock), path);
  }
  chunks.offset.resize(n);
  chunks.bytes.resize(n);
  chunks.deflated.resize(n);
  std::vector<hsize_t> coord(item_dims.size() + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    coord[0] = i;
    unsigned filter_mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t stored = 0;
    H5_CHECK(H5Dget_chunk_info_by_coord(ds, coord.data(), &filter_mask, &addr, &stored), where);
    CHECK_OR_THROW(ConfigError, addr != HADDR_UNDEF && stored > 0, where, ": item ", i,
                   " has no stored data (was the write interrupted? rewrite the store)");
    const uint64_t offset = static_cast<uint64_t>(userblock) + addr;
    CHECK_OR_THROW(ConfigError, offset + stored <= data.size(), where, ": item ", i,
                   " lies at bytes ", offset, "..", offset + stored, " but the file has only ",
                   data.size(), " bytes (truncated; rewrite the store)");
    // A set bit 0 means HDF5 stored this chunk without its (only) filter.
    const bool item_deflated = deflated && (filter_mask & 1u) == 0;
    CHECK_OR_THROW(ConfigError, item_deflated || stored == chunks.item_bytes, where, ": item ", i,
                   " is stored raw in ", stored, " bytes, expected ", chunks.item_bytes);
    CHECK_OR_THROW(ConfigError, stored <= UINT32_MAX, where, ": item ", i, " is too large");
    chunks.offset[i] = offset;
    chunks.bytes[i] = static_cast<uint32_t>(stored);
    chunks.deflated[i] = item_deflated;
  }
  return chunks;
}

bool read_item_raw(const core::ReadOnlyFile& data, const ItemChunks& chunks, size_t i,
                   std::vector<uint8_t>& out, const std::string& where) {
  CHECK_OR_THROW(ConfigError, i < chunks.offset.size(), data.path(), ": ", where, " ", i,
                 " is outside 0..", static_cast<int64_t>(chunks.offset.size()) - 1);
  out.resize(chunks.bytes[i]);
  data.read_at(chunks.offset[i], out, where + " " + std::to_string(i));
  return chunks.deflated[i] != 0;
}

void read_item(const core::ReadOnlyFile& data, const ItemChunks& chunks, size_t i,
               std::span<uint8_t> out, const std::string& where) {
  INTERNAL_ASSERT(out.size() == chunks.item_bytes);
  CHECK_OR_THROW(ConfigError, i < chunks.offset.size(), data.path(), ": ", where, " ", i,
                 " is outside 0..", static_cast<int64_t>(chunks.offset.size()) - 1);
  if (!chunks.deflated[i]) {
    data.read_at(chunks.offset[i], out, where + " " + std::to_string(i));
  } else {
    std::vector<uint8_t> stored;
    read_item_raw(data, chunks, i, stored, where);
    inflate_chunk(stored, out, data.path() + ": " + where + " " + std::to_string(i));
  }
  CHECK_OR_THROW(ConfigError, chunks.crc32.empty() || crc32_of(out) == chunks.crc32[i],
                 data.path(), ": ", where, " ", i,
                 " does not match the checksum written with it: the file is damaged (a disk "
                 "or copy error); rewrite the store (fracsweep synth, or ingest again)");
}

uint32_t crc32_of(std::span<const uint8_t> bytes) {
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

void append_item_checksums(const void* data, size_t count, size_t item_bytes,
                           std::vector<uint32_t>& out) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t k = 0; k < count; ++k) out.push_back(crc32_of({bytes + k * item_bytes, item_bytes}));
}

void write_item_checksums(hid_t file, const char* name, const std::vector<uint32_t>& crcs,
                          const std::string& where) {
  if (H5Lexists(file, "checksums", H5P_DEFAULT) <= 0) {
    H5PropertyList gcpl = untimed_create_plist(H5P_GROUP_CREATE, where);
    H5Group(H5_CHECK(H5Gcreate2(file, "checksums", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), where));
  }
  H5Group group(H5_CHECK(H5Gopen2(file, "checksums", H5P_DEFAULT), where));
  write_array(group.get(), name, H5T_STD_U32LE, H5T_NATIVE_UINT32, {crcs.size()}, crcs.data(), where);
}

void read_item_checksums(hid_t file, const std::string& name, bool required, ItemChunks& chunks,
                         const std::string& path) {
  const std::string dataset = "/checksums/" + name;
  const bool present = H5Lexists(file, "checksums", H5P_DEFAULT) > 0 &&
                       H5Lexists(file, dataset.c_str(), H5P_DEFAULT) > 0;
  CHECK_OR_THROW(ConfigError, present || !required, path, ": dataset '", dataset,
                 "' (the checksums of /", name, ") is missing; rewrite the store");
  if (!present) return;
  chunks.crc32.resize(chunks.offset.size());
  read_array(file, dataset, {chunks.offset.size()}, H5T_INTEGER, H5T_NATIVE_UINT32,
             chunks.crc32.data(), path, "one per item");
}

void check_values_crc32(hid_t ds, std::span<const uint8_t> values, const std::string& where) {
  const auto stored = read_attr_int(ds, "crc32", where);
  if (!stored) return;  // written before checksums
  CHECK_OR_THROW(ConfigError, static_cast<uint64_t>(*stored) == crc32_of(values), where,
                 ": the values do not match the checksum written with them: the file is damaged "
                 "(a disk or copy error) or was edited; rewrite it");
}

}  // namespace fracsweep::datastore
