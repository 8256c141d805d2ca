// TFRecord framing, the container of TensorBoard's event files.
//
// Each record is: length (uint64, little-endian), the masked CRC-32C of those
// 8 bytes (uint32), the payload, the masked CRC-32C of the payload (uint32).
// The CRC is Castagnoli's (Boost.CRC); "masked" is TensorFlow's rotation plus
// a constant, so that a CRC of data holding CRCs stays well distributed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fracsweep::tracking {

// CRC-32C of `data` (reflected, initial and final XOR 0xFFFFFFFF).
uint32_t crc32c(std::string_view data);
// TensorFlow's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view data);

// One record: header, payload, footer.
std::string frame_record(std::string_view payload);

// The records of a file's content, in order. A torn or damaged tail (a
// writer killed mid-record) ends the list: what precedes it is returned and
// `intact_bytes` (when given) says where it ends.
std::vector<std::string> read_records(std::string_view content, size_t* intact_bytes = nullptr);

}  // namespace fracsweep::tracking
