// base/crc32.h — zlib's CRC-32 continued over a buffer of any length, for writers and readers that
// checksum a file piece by piece (the weights straight from their buffers, never the whole file in one
// string).
#pragma once
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace base {

// The CRC-32 of the bytes before (`crc`, 0 for none) followed by `size` bytes at `bytes`.  zlib's crc32
// takes a uInt length (a buffer over 4 GiB goes in pieces) and restarts at 0 when given a null buffer
// (an empty array's data pointer): no bytes leave the CRC as it is.
inline uint32_t crc32_update(uint32_t crc, const void* bytes, size_t size) {
  const Bytef* at = static_cast<const Bytef*>(bytes);
  for (size_t done = 0; done < size;) {
    const size_t chunk = std::min<size_t>(size - done, size_t(1) << 30);
    crc = uint32_t(crc32(crc, at + done, uInt(chunk)));
    done += chunk;
  }
  return crc;
}

}  // namespace base
