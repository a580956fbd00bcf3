// base/memory.cpp — glibc's malloc thresholds fixed, free pages given back, the room under an
// address-space limit (base/memory.h).
#include "base/memory.h"

#include <cstdlib>  // any libc header defines __GLIBC__ (features.h): tested below, so first

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace base {

void fix_malloc_thresholds() {
#ifdef __GLIBC__
  // Setting either threshold also turns off glibc's raising of both (its no_dyn_threshold).
  constexpr int kThreshold = 128 * 1024;
  mallopt(M_MMAP_THRESHOLD, kThreshold);
  mallopt(M_TRIM_THRESHOLD, kThreshold);
#endif
}

void return_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

long long address_space_left() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
  long long pages = 0;
  const int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char text[64];
    const ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    for (ssize_t i = 0; i < got && text[i] >= '0' && text[i] <= '9'; ++i) pages = pages * 10 + (text[i] - '0');
  }
  const long long left = (long long)limit.rlim_cur - pages * sysconf(_SC_PAGESIZE);
  return left > 0 ? left : 0;
}

void share_one_malloc_arena_under_an_address_limit() {
#ifdef __GLIBC__
  if (address_space_left() >= 0) mallopt(M_ARENA_MAX, 1);
#endif
}

}  // namespace base
