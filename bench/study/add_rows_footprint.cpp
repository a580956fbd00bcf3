// bench/study/add_rows_footprint.cpp — how fast the ζ walker's scatter kernel (imaging::add_rows, the
// 57% of a converged ζ stage) runs as its weights leave the L1 and L2 caches (issue 13, bench/README.md
// "Where the walker's multiply-adds wait").
//
//   build/study/add_rows_footprint [CALLS]
//
// Each call adds k = 16 scaled weight rows of OC = 128 floats (conv3's rows on `reference`) into one
// of 64 output rows, as the walker's convolution step does; the rows are drawn at random (seeded) from
// a weight array of R rows, R = 48 (24 KB, in L1), 576 (288 KB: conv3's 64 × 9 rows), 4,096 (2 MB:
// fc1's 2,048 × 256 floats) and 16,384 (8 MB, past L2).  One thread.  Prints ns per 16-float
// multiply-add (one AVX-512 FMA), the best of 3 repetitions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/aligned.h"
#include "imaging/lesion_game.h"
#include "base/rng.h"

int main(int argc, char** argv) {
  const long calls = argc > 1 ? std::atol(argv[1]) : 2000000;
  const int OC = 128, k = 16, patterns = 1000;
  for (const int rows : {48, 576, 4096, 16384}) {
    base::AlignedVector<float> weight(size_t(rows) * OC, 0.001f), z(size_t(64) * OC, 0.f);
    std::vector<float> delta(k, 0.5f);
    std::vector<int> offset(size_t(patterns) * k);
    base::Rng rng(1);
    for (int& o : offset) o = int(rng.below(uint32_t(rows))) * OC;
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (long c = 0; c < calls; ++c)
        imaging::add_rows(z.data() + (c % 64) * OC, OC, weight.data(), offset.data() + (c % patterns) * k, delta.data(), k);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double fmas = double(calls) * k * (OC / 16);
    std::printf("weights %6d rows (%5.0f KB): %.3f ns per 16-float FMA (z[5] = %g)\n", rows, rows * OC * 4 / 1024.0,
                best * 1e9 / fmas, double(z[5]));
  }
  return 0;
}
