// bench/study/winograd_ab.cpp — Winograd forward + backward of nn/winograd.cpp (the working tree's,
// compiled here inside namespace new_code) against nn/winograd.cpp as it was at ef03192, the last
// F(2×2, 3×3) (build/study/winograd_old.inc, written by build.sh from git, inside namespace old_code),
// alternated call by call in one process on the same tensors (the order flips every round); each side
// transforms the weights its own way.  Reports whether both give the same bits (output, input
// gradient, weight gradient) in every round, and else the largest difference relative to the largest
// value, which must stay below 1e-4 (float rounding, not a wrong map: exit 1 otherwise).  Both are
// compiled in this one translation unit with the same flags: a copy in the library and one here
// differed by up to 11% with the same source (code placement), so neither side is the library's.
// -DWINOGRAD_AB_NULL compiles the old file on both sides: the null (same code, same harness);
// -DWINOGRAD_AB_NEW='"FILE"' puts FILE (found in build/study) on the new side instead of nn/winograd.cpp,
// -DWINOGRAD_AB_OLD='"FILE"' on the old side instead of ef03192's file.
//
//   winograd_ab C OC H [ROUNDS [N]]   (batch N (64), C → OC channels, H×H maps, N(0,1) data; ROUNDS 40)
// Time: the process's CPU time per call (all threads; run with OMP_NUM_THREADS=1 for a per-thread
// figure), medians over the rounds, in µs.  Exit 1 if the largest relative difference exceeds 1e-4.
#include <cblas.h>
#include <omp.h>
#include <time.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "base/memory.h"
#include "bench/study/ab_timing.h"
#include "nn/winograd.h"

namespace old_code {
#if defined(WINOGRAD_AB_OLD)
#include WINOGRAD_AB_OLD  // another old version, e.g. -DWINOGRAD_AB_OLD='"winograd_head.inc"'
#else
#include "winograd_old.inc"
#endif
}  // namespace old_code
namespace new_code {
#if defined(WINOGRAD_AB_NULL)
#include "winograd_old.inc"
#elif defined(WINOGRAD_AB_NEW)
#include WINOGRAD_AB_NEW  // another version of the file, e.g. -DWINOGRAD_AB_NEW='"winograd_mid.inc"'
#else
#include "nn/winograd.cpp"
#endif
}  // namespace new_code

namespace {
double process_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  const int C = argc > 3 ? std::atoi(argv[1]) : 0, OC = argc > 3 ? std::atoi(argv[2]) : 0,
            H = argc > 3 ? std::atoi(argv[3]) : 0;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 40, N = argc > 5 ? std::atoi(argv[5]) : 64;
  if (argc < 4 || argc > 6 || N < 1 || N > 1024 || C < 16 || C > 1024 || OC < 16 || OC > 1024 || H < 2 || H > 256 || rounds < 1 ||
      rounds > 100000) {
    std::fprintf(stderr, "usage: winograd_ab C OC H [ROUNDS [N]] (16 ≤ C, OC ≤ 1024, 2 ≤ H ≤ 256, 1 ≤ ROUNDS ≤ 100000, 1 ≤ N ≤ 1024)\n");
    return 2;
  }
  base::fix_malloc_thresholds();  // as nnfmri does (apps/main.cpp): allocations above 128 KB are mapped
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float& f : v) f = normal(gen);
    return v;
  };
  const std::vector<float> x = fill(size_t(N) * C * H * H), dy = fill(size_t(N) * OC * H * H),
                           w = fill(size_t(OC) * C * 9), bias = fill(size_t(OC));
  std::vector<float> U0(old_code::nn::winograd::transformed_size(OC, C)), U1(new_code::nn::winograd::transformed_size(OC, C));
  old_code::nn::winograd::transform_weights(w.data(), OC, C, U0.data());
  new_code::nn::winograd::transform_weights(w.data(), OC, C, U1.data());
  struct Out {
    std::vector<float> y, dx, dw;
  };
  Out out[2];
  for (Out& o : out) o = {std::vector<float>(dy.size()), std::vector<float>(x.size()), std::vector<float>(w.size())};
  std::vector<double> fwd[2], bwd[2], wt[2];  // wt: one transform_weights (Conv2d runs one per forward and backward)
  bool same = true;
  double worst = 0;  // max over rounds and outputs of |old − new| / max |old|
  for (int r = -1; r < rounds; ++r) {  // round −1 warms both up and is not timed
    for (int k = 0; k < 2; ++k) {
      const int v = (r & 1) ? 1 - k : k;  // 0 = old code, 1 = new code
      Out& o = out[v];
      std::fill(o.dw.begin(), o.dw.end(), 0.f);
      const double t0 = process_cpu_seconds();
      if (v == 0)
        old_code::nn::winograd::forward(x.data(), N, C, H, H, U0.data(), OC, bias.data(), o.y.data());
      else
        new_code::nn::winograd::forward(x.data(), N, C, H, H, U1.data(), OC, bias.data(), o.y.data());
      const double t1 = process_cpu_seconds();
      if (v == 0)
        old_code::nn::winograd::backward(x.data(), dy.data(), N, C, H, H, U0.data(), OC, o.dx.data(), o.dw.data());
      else
        new_code::nn::winograd::backward(x.data(), dy.data(), N, C, H, H, U1.data(), OC, o.dx.data(), o.dw.data());
      const double t2 = process_cpu_seconds();
      if (v == 0)
        old_code::nn::winograd::transform_weights(w.data(), OC, C, U0.data());
      else
        new_code::nn::winograd::transform_weights(w.data(), OC, C, U1.data());
      const double t3 = process_cpu_seconds();
      if (r >= 0) fwd[v].push_back(t1 - t0), bwd[v].push_back(t2 - t1), wt[v].push_back(t3 - t2);
    }
    same = same && U0.size() == U1.size() && std::memcmp(U0.data(), U1.data(), sizeof(float) * U0.size()) == 0;
    for (auto p : {&Out::y, &Out::dx, &Out::dw}) {
      const std::vector<float>&a = out[0].*p, &b = out[1].*p;
      same = same && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
      double diff = 0, scale = 0;
      for (size_t i = 0; i < a.size(); ++i)
        diff = std::max(diff, double(std::fabs(a[i] - b[i]))), scale = std::max(scale, double(std::fabs(a[i])));
      worst = std::max(worst, diff / scale);
    }
  }
  const double f0 = median_us(fwd[0]), f1 = median_us(fwd[1]), b0 = median_us(bwd[0]), b1 = median_us(bwd[1]);
  const double w0 = median_us(wt[0]), w1 = median_us(wt[1]);
  std::printf("winograd_ab C=%d OC=%d %dx%d batch %d threads %d rounds %d: forward old %.0f new %.0f us (%.3f), "
              "backward old %.0f new %.0f us (%.3f), both %.3f; weight transform old %.1f new %.1f us (%.3f); "
              "same bits: %s (largest relative difference %.2g)\n",
              C, OC, H, H, N, omp_get_max_threads(), rounds, f0, f1, f1 / f0, b0, b1, b1 / b0, (f1 + b1) / (f0 + b0),
              w0, w1, w1 / w0, same ? "yes" : "no", worst);
  return worst <= 1e-4 ? 0 : 1;
}
