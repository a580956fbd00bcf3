// base/memory.cpp — glibc's malloc thresholds fixed (base/memory.h).
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

}  // namespace base
