// tests/base/test_memory.cpp — base::fix_malloc_thresholds: a large free no longer raises glibc's
// thresholds (base/memory.h).  glibc serves a large request from the heap whenever a free chunk there
// fits it, whatever the thresholds, so what earlier tests left in this process's heap decides the
// outcome: the checks (FixMallocThresholdsChild) run in a fresh process of this binary, started by
// FixMallocThresholds.InAFreshProcess with NNFMRI_MALLOC_CHILD=1 and a filter that selects them only.
#include "base/memory.h"
#include "tests/sanitizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

bool in_child() { return std::getenv("NNFMRI_MALLOC_CHILD") != nullptr; }

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

// Each check starts in the child with the thresholds fixed and one 8 MiB block (a mapping) allocated
// and freed: the free that raises glibc's default thresholds.
class FixMallocThresholdsChild : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!in_child()) GTEST_SKIP() << "run by FixMallocThresholds.InAFreshProcess";
#ifdef __GLIBC__
    base::fix_malloc_thresholds();
    void* big = touched(size_t(8) << 20);
    ASSERT_NE(big, nullptr);
    release(big);
#else
    GTEST_SKIP() << "glibc only";
#endif
  }
};

#ifdef __GLIBC__
// glibc's default raises the mmap threshold to the size of a freed mmapped block (8 MiB here), so a
// 1 MiB block allocated after it would come from the heap; fixed, it is a mapping of its own.
TEST_F(FixMallocThresholdsChild, BlockAfterALargeFreeIsStillMapped) {
  const size_t mapped_before = mallinfo2().hblks;
  void* block = touched(size_t(1) << 20);
  ASSERT_NE(block, nullptr);
  const size_t mapped_after = mallinfo2().hblks;
  release(block);
  EXPECT_EQ(mapped_after, mapped_before + 1);
}

// The trim threshold stays at 128 KiB: 4 MiB of heap blocks (64 KiB each, below the mmap threshold)
// freed after a large free are given back at once, not kept at the heap's top (default: up to twice
// the raised mmap threshold, 16 MiB here).
TEST_F(FixMallocThresholdsChild, HeapTopIsGivenBackAfterALargeFree) {
  void* blocks[64];
  for (void*& b : blocks) {
    b = touched(size_t(64) << 10);
    ASSERT_NE(b, nullptr);
  }
  for (int i = 63; i >= 0; --i) release(blocks[i]);
  EXPECT_LT(mallinfo2().keepcost, size_t(1) << 20);
}
#endif

TEST(FixMallocThresholds, InAFreshProcess) {
  if (in_child()) GTEST_SKIP() << "the child runs the checks only";
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer's malloc is not glibc's (glibc's thresholds do not apply)";
  // this binary's own path (/proc/self/exe read by the shell of std::system would be the shell)
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = 0;
  const std::string run = "NNFMRI_MALLOC_CHILD=1 '" + std::string(self) +
                          "' --gtest_filter='FixMallocThresholdsChild.*' > /dev/null 2>&1";
  EXPECT_EQ(std::system(run.c_str()), 0) << run;
}

}  // namespace
