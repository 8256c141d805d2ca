// See tfrecord.h.
#include "tracking/tfrecord.h"

#include <boost/crc.hpp>
#include <cstring>

namespace fracsweep::tracking {
namespace {

// Castagnoli's polynomial 0x1EDC6F41, reflected in and out, as TensorFlow's crc32c.
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + static_cast<size_t>(i)])) << (8 * i);
  return v;
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  Crc32c crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string frame_record(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 16);
  put_le(out, payload.size(), 8);
  put_le(out, masked_crc32c(std::string_view(out.data(), 8)), 4);
  out.append(payload);
  put_le(out, masked_crc32c(payload), 4);
  return out;
}

std::vector<std::string> read_records(std::string_view content, size_t* intact_bytes) {
  std::vector<std::string> records;
  size_t at = 0;
  while (content.size() - at >= 12) {
    const uint64_t length = get_le(content, at, 8);
    if (get_le(content, at + 8, 4) != masked_crc32c(content.substr(at, 8))) break;
    if (length > content.size() - at - 16) break;
    const std::string_view payload = content.substr(at + 12, length);
    if (get_le(content, at + 12 + length, 4) != masked_crc32c(payload)) break;
    records.emplace_back(payload);
    at += 16 + length;
  }
  if (intact_bytes) *intact_bytes = at;
  return records;
}

}  // namespace fracsweep::tracking
