// bench/study/pool_fwd_ab.cpp — 2×2 max pooling forward, the scalar loop (a copy of nn/layers.cpp's
// before branch ref13e) against Pool2d::forward (8 outputs at a time with AVX2), alternated call by
// call in one process on the same tensor; checks that both give the same bits (maxima and argmaxes).
//
//   pool_fwd_ab C H [ROUNDS]      (batch 64, maps C×H×H from N(0,1) after a relu, as the net sees them; ROUNDS 40)
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/study/ab_timing.h"
#include "nn/layers.h"


int main(int argc, char** argv) {
  const int C = argc > 2 ? std::atoi(argv[1]) : 0, H = argc > 2 ? std::atoi(argv[2]) : 0;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 40;
  if (argc < 3 || argc > 4 || C < 1 || C > 1024 || H < 2 || H > 256 || rounds < 1 || rounds > 100000) {
    std::fprintf(stderr, "usage: pool_fwd_ab C H [ROUNDS] (1 ≤ C ≤ 1024, 2 ≤ H ≤ 256, 1 ≤ ROUNDS ≤ 100000)\n");
    return 2;
  }
  const int N = 64, OH = H / 2, OW = H / 2;
  nn::Rng rng(3);
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  const nn::Shape s{1, C, H, H};
  pool.input_shape = s;
  pool.output_shape = pool.setup(s);
  nn::Tensor a(N, C, H, H), out_new, out_old(N, C, OH, OW);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::max(0.f, float(rng.normal()));
  std::vector<int> arg_old(out_old.size());
  std::vector<double> t_old, t_new;
  bool same = true;
  const long planes = long(N) * C;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = thread_cpu_seconds();
#pragma omp parallel for schedule(static)
    for (long plane = 0; plane < planes; ++plane) {
      const float* src = a.data() + size_t(plane) * H * H;
      float* dst = out_old.data() + size_t(plane) * OH * OW;
      int* arg = arg_old.data() + size_t(plane) * OH * OW;
      for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x) {
          const int y0 = y * 2, x0 = x * 2;
          int best = y0 * H + x0;
          float m = src[best];
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              const int idx = (y0 + dy) * H + x0 + dx;
              const float v = src[idx];
              const bool take = v > m || (v != v && m == m);
              m = take ? v : m;
              best = take ? idx : best;
            }
          dst[y * OW + x] = m;
          arg[y * OW + x] = best;
        }
    }
    const double t1 = thread_cpu_seconds();
    pool.forward(a, out_new, true, rng);
    const double t2 = thread_cpu_seconds();
    t_old.push_back(t1 - t0), t_new.push_back(t2 - t1);
    same = same && std::memcmp(out_old.data(), out_new.data(), out_old.size() * sizeof(float)) == 0 &&
           arg_old == pool.argmax();
  }
  std::printf("%dx%dx%dx%d maxpool2 forward: old %.0f us, new %.0f us, new/old %.3f (thread CPU, medians of %d "
              "alternated rounds); same bits: %s\n",
              N, C, H, H, median_us(t_old), median_us(t_new), median_us(t_new) / median_us(t_old), rounds, same ? "yes" : "NO");
  return same ? 0 : 1;
}
