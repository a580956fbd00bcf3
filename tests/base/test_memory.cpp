// tests/base/test_memory.cpp — base::fix_malloc_thresholds: a large free no longer raises glibc's
// thresholds (base/memory.h).  It changes the malloc settings of this test process too, as nnfmri's.
#include "base/memory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

#ifdef __GLIBC__
// Called through volatile pointers so that the compiler cannot pair and remove a malloc and its free.
void* (*volatile allocate)(size_t) = std::malloc;
void (*volatile release)(void*) = std::free;

void* touched(size_t bytes) {
  void* p = allocate(bytes);
  if (p) std::memset(p, 1, bytes);
  return p;
}
#endif

// glibc's default raises the mmap threshold to the size of a freed mmapped block (8 MiB here), so a
// 1 MiB block allocated after it would come from the heap; fixed, it is a mapping of its own.
TEST(FixMallocThresholds, BlockAfterALargeFreeIsStillMapped) {
#ifdef __GLIBC__
  base::fix_malloc_thresholds();
  void* big = touched(size_t(8) << 20);
  ASSERT_NE(big, nullptr);
  release(big);
  const size_t mapped_before = mallinfo2().hblks;
  void* block = touched(size_t(1) << 20);
  ASSERT_NE(block, nullptr);
  const size_t mapped_after = mallinfo2().hblks;
  release(block);
  EXPECT_EQ(mapped_after, mapped_before + 1);
#else
  GTEST_SKIP() << "glibc only";
#endif
}

// The trim threshold stays at 128 KiB: 4 MiB of heap blocks (64 KiB each, below the mmap threshold)
// freed after a large free are given back at once, not kept at the heap's top (default: up to twice
// the raised mmap threshold, 16 MiB here).
TEST(FixMallocThresholds, HeapTopIsGivenBackAfterALargeFree) {
#ifdef __GLIBC__
  base::fix_malloc_thresholds();
  void* big = touched(size_t(8) << 20);
  ASSERT_NE(big, nullptr);
  release(big);
  void* blocks[64];
  for (void*& b : blocks) {
    b = touched(size_t(64) << 10);
    ASSERT_NE(b, nullptr);
  }
  for (int i = 63; i >= 0; --i) release(blocks[i]);
  EXPECT_LT(mallinfo2().keepcost, size_t(1) << 20);
#else
  GTEST_SKIP() << "glibc only";
#endif
}

}  // namespace
