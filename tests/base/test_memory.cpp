// tests/base/test_memory.cpp — base::fix_malloc_thresholds: a large free no longer raises glibc's
// thresholds; base::share_one_malloc_arena_under_an_address_limit; base::address_space_left (base/memory.h).  glibc serves a large request from the heap whenever a free chunk there
// fits it, whatever the thresholds, so what earlier tests left in this process's heap decides the
// outcome: the checks (FixMallocThresholdsChild) run in a fresh process of this binary, started by
// FixMallocThresholds.InAFreshProcess with NNFMRI_MALLOC_CHILD=1 and a filter that selects them only.
#include "base/memory.h"
#include "tests/sanitizer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

bool in_child() { return std::getenv("NNFMRI_MALLOC_CHILD") != nullptr; }

// This binary's own path, to run some checks in a fresh process of it (/proc/self/exe read by the shell
// of std::system would be the shell).
std::string self_path() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = 0;
  return self;
}

// What /proc/self/status calls VmSize, in bytes: what the process maps.
long long mapped_bytes() {
  long long kib = -1;
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmSize: %lld kB", &kib) == 1) break;
    std::fclose(f);
  }
  return kib * 1024;
}

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
// How many mappings a touched block of `bytes` adds while it is held (0 when the heap serves it; -1
// when the allocation fails).
long long mappings_added_by(size_t bytes) {
  const size_t mapped_before = mallinfo2().hblks;
  void* block = touched(bytes);
  if (!block) return -1;
  const size_t mapped_after = mallinfo2().hblks;
  release(block);
  return (long long)mapped_after - (long long)mapped_before;
}

// glibc's default raises the mmap threshold to the size of a freed mmapped block (8 MiB here), so a
// 1 MiB block allocated after it would come from the heap; fixed, it is a mapping of its own.
TEST_F(FixMallocThresholdsChild, BlockAfterALargeFreeIsStillMapped) {
  EXPECT_EQ(mappings_added_by(size_t(1) << 20), 1);
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

// The threshold is 128 KiB itself: a block of exactly 128 KiB that the heap cannot serve (its top given
// back first, so that no free chunk fits it) is a mapping of its own, even after the large free (kills
// a mmap threshold fixed higher than the header says).
TEST_F(FixMallocThresholdsChild, ABlockOfExactly128KiBIsMapped) {
  malloc_trim(0);
  EXPECT_EQ(mappings_added_by(size_t(128) << 10), 1);
}

// return_free_memory gives back the free memory at the heap's top, also the part under the trim
// threshold that a free keeps: less than a page and a chunk header stays (kills malloc_trim with a pad).
TEST_F(FixMallocThresholdsChild, ReturnFreeMemoryGivesBackTheHeapTop) {
  void* blocks[16];
  for (void*& b : blocks) {
    b = touched(size_t(4) << 10);
    ASSERT_NE(b, nullptr);
  }
  for (int i = 15; i >= 0; --i) release(blocks[i]);
  ASSERT_GE(mallinfo2().keepcost, size_t(64) << 10) << "the case needs 64 KiB free at the heap's top";
  base::return_free_memory();
  EXPECT_LT(mallinfo2().keepcost, size_t(sysconf(_SC_PAGESIZE)) + 64);
}
#endif

TEST(FixMallocThresholds, InAFreshProcess) {
  if (in_child()) GTEST_SKIP() << "the child runs the checks only";
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer's malloc is not glibc's (glibc's thresholds do not apply)";
  const std::string run = "NNFMRI_MALLOC_CHILD=1 '" + self_path() +
                          "' --gtest_filter='FixMallocThresholdsChild.*' > /dev/null 2>&1";
  EXPECT_EQ(std::system(run.c_str()), 0) << run;
}

TEST(AddressSpaceLeft, IsTheLimitLessWhatIsMappedAndMinusOneWithoutALimit) {
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer cannot run under an address-space limit";
  struct rlimit limit {};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &limit), 0);
  if (limit.rlim_cur != RLIM_INFINITY) GTEST_SKIP() << "this test runs under a limit already";
  EXPECT_EQ(base::address_space_left(), -1);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child: exit 0 when the room is the limit less VmSize, to within 1 MiB
    const long long room = 1LL << 30;
    const rlim_t cap = rlim_t(mapped_bytes() + room);
    const struct rlimit both = {cap, cap};
    if (setrlimit(RLIMIT_AS, &both) != 0) _exit(10);
    const long long left = base::address_space_left(), expected = (long long)cap - mapped_bytes();
    if (left < expected - (1LL << 20) || left > expected + (1LL << 20)) _exit(11);
    const struct rlimit tight = {rlim_t(mapped_bytes() / 2), rlim_t(mapped_bytes() / 2)};
    if (setrlimit(RLIMIT_AS, &tight) != 0) _exit(12);
    _exit(base::address_space_left() == 0 ? 0 : 13);  // more mapped than the limit: 0, not negative
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit " << WEXITSTATUS(status);
}

// The limit is the soft one (what the kernel enforces, `ulimit -Sv`): a soft limit under an unlimited
// hard one is a limit (kills the test of the hard limit for RLIM_INFINITY).
TEST(AddressSpaceLeft, IsTheSoftLimitLessWhatIsMapped) {
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer cannot run under an address-space limit";
  struct rlimit limit {};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &limit), 0);
  if (limit.rlim_max != RLIM_INFINITY) GTEST_SKIP() << "this test needs an unlimited hard limit";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const rlim_t cap = rlim_t(mapped_bytes() + (1LL << 30));
    const struct rlimit soft = {cap, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &soft) != 0) _exit(10);
    const long long left = base::address_space_left(), expected = (long long)cap - mapped_bytes();
    _exit(left >= expected - (1LL << 20) && left <= expected + (1LL << 20) ? 0 : 11);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit " << WEXITSTATUS(status);
}

#ifdef __GLIBC__
// How many malloc arenas this process has: the <heap> elements of malloc_info's report.
int arena_count() {
  char* text = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&text, &size);
  if (!f) return -1;
  malloc_info(0, f);
  std::fclose(f);
  int count = 0;
  for (const char* at = text; (at = std::strstr(at, "<heap nr=")) != nullptr; ++at) ++count;
  std::free(text);
  return count;
}

// In a fresh process (NNFMRI_ARENA_CHILD=cap or =nocap) under an address-space limit: four threads,
// all alive, allocate.  glibc gives each a new arena up to 8 per core; capped, they share the main one.
TEST(ShareOneMallocArenaChild, FourThreadsAllocatingUnderALimit) {
  const char* mode = std::getenv("NNFMRI_ARENA_CHILD");
  if (!mode) GTEST_SKIP() << "run by ShareOneMallocArena.InAFreshProcess";
  const rlim_t cap = rlim_t(mapped_bytes() + (2LL << 30));
  const struct rlimit both = {cap, cap};
  ASSERT_EQ(setrlimit(RLIMIT_AS, &both), 0);
  if (std::strcmp(mode, "cap") == 0) base::share_one_malloc_arena_under_an_address_limit();
  // "full": the limit already reached (nothing left, 0) when the cap is set is a limit too (kills a cap
  // set only when some room is left); the room is given back before the threads start.
  if (std::strcmp(mode, "full") == 0) {
    const struct rlimit tight = {rlim_t(mapped_bytes() / 2), cap};
    ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
    const long long left = base::address_space_left();
    base::share_one_malloc_arena_under_an_address_limit();
    ASSERT_EQ(setrlimit(RLIMIT_AS, &both), 0);
    ASSERT_EQ(left, 0);
  }
  std::vector<std::thread> threads;
  int arrived = 0;
  std::mutex lock;
  std::condition_variable all_here;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      void* block = allocate(1000);
      std::unique_lock<std::mutex> hold(lock);
      if (++arrived == 4) all_here.notify_all();
      all_here.wait(hold, [&] { return arrived == 4; });  // none exits (and frees its arena) before all allocated
      hold.unlock();
      release(block);
    });
  for (std::thread& t : threads) t.join();
  const int arenas = arena_count();
  std::printf("arenas: %d\n", arenas);
  if (std::strcmp(mode, "nocap") != 0) {
    EXPECT_EQ(arenas, 1);
  } else {
    EXPECT_GT(arenas, 1) << "the control: glibc made no arena per thread, so the cap is not what was tested";
  }
}
#endif

TEST(ShareOneMallocArena, InAFreshProcess) {
  if (std::getenv("NNFMRI_ARENA_CHILD") || in_child()) GTEST_SKIP() << "the child runs the checks only";
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer's malloc is not glibc's, and it cannot run under a limit";
#ifndef __GLIBC__
  GTEST_SKIP() << "glibc only";
#endif
  for (const char* mode : {"cap", "nocap", "full"}) {
    const std::string run = std::string("NNFMRI_ARENA_CHILD=") + mode + " '" + self_path() +
                            "' --gtest_filter='ShareOneMallocArenaChild.*' > /dev/null 2>&1";
    EXPECT_EQ(std::system(run.c_str()), 0) << run;
  }
}

}  // namespace
