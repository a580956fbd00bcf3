// base/memory.cpp — glibc's malloc thresholds fixed, free pages given back (base/memory.h).
#include "base/memory.h"

#include <cstdlib>  // any libc header defines __GLIBC__ (features.h): tested below, so first

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

}  // namespace base
