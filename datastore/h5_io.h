// Checked HDF5 reads and writes shared by the stores (internal to datastore/).
//
// Every writer here turns off HDF5's object timestamps, so the same data give
// the same bytes. Every reader checks shape and type and throws
// core::ConfigError naming the file, the object and what is wrong.
//
// Per-item datasets ([N, ...], chunked one item per chunk, optionally deflated)
// are read without HDF5 once the store is open: locate_items() asks HDF5 where
// each chunk lies, and read_item() is one positioned read (plus an inflate).
// See Note [Direct chunk reads] in patch_store.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/fs.h"
#include "datastore/h5.h"

namespace fracsweep::datastore {

H5PropertyList untimed_create_plist(hid_t cls, const std::string& where);

void write_attr_string(hid_t obj, const char* name, const std::string& value,
                       const std::string& where);
void write_attr_int(hid_t obj, const char* name, int64_t value, const std::string& where);
void write_attr_double(hid_t obj, const char* name, double value, const std::string& where);
std::optional<std::string> read_attr_string(hid_t obj, const char* name, const std::string& where);
std::optional<int64_t> read_attr_int(hid_t obj, const char* name, const std::string& where);
std::optional<double> read_attr_double(hid_t obj, const char* name, const std::string& where);

std::vector<hsize_t> dataset_shape(hid_t ds, const std::string& where);
std::string shape_text(const std::vector<hsize_t>& dims);
// Throws core::ConfigError when `name` (an absolute path) is missing.
H5Dataset open_dataset(hid_t file, const std::string& name, const std::string& path);

void write_int32s(hid_t loc, const char* name, const std::vector<int32_t>& values,
                  const std::string& where);
std::vector<int32_t> read_int32s(hid_t file, const std::string& name, size_t expected,
                                 const std::string& path, const char* expected_name);

// A whole contiguous dataset of `dims`, stored as `file_type` from `mem_type` values.
void write_array(hid_t loc, const char* name, hid_t file_type, hid_t mem_type,
                 const std::vector<hsize_t>& dims, const void* data, const std::string& where);
// Reads a whole dataset of exactly `dims`, of integer or float class `cls`,
// converted to `mem_type` into `out` (product of dims elements).
void read_array(hid_t file, const std::string& name, const std::vector<hsize_t>& dims,
                H5T_class_t cls, hid_t mem_type, void* out, const std::string& path,
                const char* expected_name);

// An extendible [0, item_dims...] dataset, one item per chunk.
H5Dataset create_item_dataset(hid_t file, const char* name, hid_t file_type,
                              const std::vector<hsize_t>& item_dims, int compression,
                              const std::string& where);
// Writes `count` items from `data` at items first..first+count-1, growing the dataset.
void append_items(hid_t dataset, hsize_t first, hsize_t count,
                  const std::vector<hsize_t>& item_dims, hid_t mem_type, const void* data,
                  const std::string& where);

// Where each item's chunk lies in the file, and the CRC-32 of each item's bytes
// (empty for a store written before checksums, schema version 1).
struct ItemChunks {
  size_t item_bytes = 0;
  std::vector<uint64_t> offset;
  std::vector<uint32_t> bytes;
  std::vector<uint8_t> deflated;
  std::vector<uint32_t> crc32;
};

// Note [Checksums]: HDF5 checksums its own metadata (the file is written with the 1.8
// format or later) but not the values of a dataset, and direct chunk reads would bypass
// its Fletcher-32 filter anyway. So every dataset written here carries a `crc32`
// attribute over its values as stored, and every per-item dataset a companion
// /checksums/NAME with one CRC-32 per item; readers check both, and a damaged value is
// an error rather than a silently wrong label or pixel.

// zlib's CRC-32 of `bytes` (libdeflate).
uint32_t crc32_of(std::span<const uint8_t> bytes);
// Appends the CRC-32 of each of `count` items of `item_bytes` bytes at `data` to `out`.
void append_item_checksums(const void* data, size_t count, size_t item_bytes,
                           std::vector<uint32_t>& out);
// Writes /checksums/NAME (uint32 [N]), NAME being a per-item dataset's name.
void write_item_checksums(hid_t file, const char* name, const std::vector<uint32_t>& crcs,
                          const std::string& where);
// Reads /checksums/NAME into chunks.crc32; throws core::ConfigError when it is missing
// and `required`, or does not hold one entry per item.
void read_item_checksums(hid_t file, const std::string& name, bool required, ItemChunks& chunks,
                         const std::string& path);
// Checks `values` (a dataset's values as read) against the dataset's `crc32` attribute
// where it has one; throws core::ConfigError naming the dataset when they differ.
void check_values_crc32(hid_t ds, std::span<const uint8_t> values, const std::string& where);

// Checks that `ds` is [n, item_dims...] of `cls` elements of `element_bytes`
// (little-endian, unsigned for integers), chunked one item per chunk, with no
// filter but deflate; then locates every item's chunk in `data`.
ItemChunks locate_items(hid_t file, hid_t ds, const std::string& name, size_t n,
                        const std::vector<hsize_t>& item_dims, H5T_class_t cls,
                        size_t element_bytes, const core::ReadOnlyFile& data,
                        const std::string& path);

// Item i's stored bytes (one positioned read); returns whether they are deflated.
bool read_item_raw(const core::ReadOnlyFile& data, const ItemChunks& chunks, size_t i,
                   std::vector<uint8_t>& out, const std::string& where);
// Item i's bytes (item_bytes long), inflated where stored deflated, checked against
// its CRC-32 where the store has them.
void read_item(const core::ReadOnlyFile& data, const ItemChunks& chunks, size_t i,
               std::span<uint8_t> out, const std::string& where);

}  // namespace fracsweep::datastore
