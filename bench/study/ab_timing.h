// bench/study/ab_timing.h — the clock and the summary of the A/B harnesses (relu_pool_ab,
// pool_bias_ab, pool_fwd_ab): the calling thread's CPU time, and the median of per-call times in µs.
#pragma once

#include <time.h>

#include <algorithm>
#include <vector>

inline double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

inline double median_us(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return 1e6 * v[v.size() / 2];
}
