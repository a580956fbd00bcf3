// tests/base/test_aligned.cpp — base::AlignedVector starts on a 64-byte boundary (base/aligned.h).
#include "base/aligned.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

// 64 bytes, as the header promises (not base::kCacheLine, which a wrong constant would change too).
bool on_cache_line(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

// Sizes below and above glibc's mmap threshold (128 KiB: a block of its own, 16 bytes past a page, so
// a plain std::vector<float> of that size is never on a line), odd sizes, growth and copies.
TEST(AlignedVector, EveryBufferStartsOnACacheLine) {
  for (size_t n : {size_t(1), size_t(3), size_t(16), size_t(17), size_t(1000), size_t(40000), size_t(524288)}) {
    base::AlignedVector<float> v(n, 1.f);
    EXPECT_TRUE(on_cache_line(v.data())) << n << " floats";
    v.resize(n * 3 + 5);
    EXPECT_TRUE(on_cache_line(v.data())) << n << " floats grown";
    const base::AlignedVector<float> copy = v;
    EXPECT_TRUE(on_cache_line(copy.data())) << n << " floats copied";
    EXPECT_EQ(copy, v);
  }
  base::AlignedVector<int> ints(300000, 7);
  EXPECT_TRUE(on_cache_line(ints.data()));
}

}  // namespace
