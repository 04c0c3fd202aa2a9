// CRC-32C (Castagnoli), the checksum of every record in the store: table-driven, so it needs no
// CPU feature and no library. Detects torn and corrupted records on recovery.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hydrant::store {

// Continues `crc` over `n` bytes; start with 0. crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

}  // namespace hydrant::store
