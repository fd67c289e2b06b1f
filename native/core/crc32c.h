// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF.
// Crc32c("123456789") == 0xE3069283. Uses the SSE4.2 crc32 instruction when the CPU has
// it (checked once at run time), a slicing table otherwise. Thread-safe.
#ifndef KVSTORE_CORE_CRC32C_H_
#define KVSTORE_CORE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace kvstore {

// Extends `crc` (the finished CRC of earlier bytes, 0 for none) with data[0, n).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// True when the hardware path is in use.
bool Crc32cHardware();

}  // namespace kvstore

#endif  // KVSTORE_CORE_CRC32C_H_
