// tests/base/test_crc32.cpp — base::crc32_update (base/crc32.h): zlib's CRC-32 continued piece by piece.
#include "base/crc32.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

// The CRC of a buffer is the CRC of its pieces continued, and no bytes (an empty array's null data
// pointer included) leave it as it is: zlib's crc32 given a null buffer restarts at 0 (kills one zlib
// call for the whole size, without the loop that skips an empty buffer).
TEST(Crc32, PiecesContinueTheCrcAndNoBytesLeaveItAsItIs) {
  const std::string text = "123456789";
  const uint32_t whole = base::crc32_update(0, text.data(), text.size());
  EXPECT_EQ(whole, 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(base::crc32_update(base::crc32_update(0, text.data(), 4), text.data() + 4, 5), whole);
  EXPECT_EQ(base::crc32_update(whole, nullptr, 0), whole);
  EXPECT_EQ(base::crc32_update(whole, text.data(), 0), whole);
}

}  // namespace
