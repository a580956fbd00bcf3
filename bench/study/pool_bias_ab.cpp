// bench/study/pool_bias_ab.cpp — the fused relu + max pool backward of `reference` and its conv's bias
// gradient, old way against new, alternated call by call in one process on the same tensors.
//   old: each plane zeroed by memset, the pool's gradient added at its argmax, relu's rule; then the
//        conv's bias gradient in its own parallel loop, Σ_n sum_of(plane (n, oc)) read from dz again
//        (a copy of the library's code before branch ref13e);
//   new: Pool2d::backward_into_relu with dz_plane_sums (each plane written once, no zeroing pass; its
//        sum_of taken while in the cache), then the bias sums added from those (N·OC additions, as
//        Conv2d::backward_given_plane_sums does).
//
//   pool_bias_ab C H [ROUNDS]      (batch 64, maps C×H×H, z and the output gradient from N(0,1); ROUNDS 40)
//
// Prints the median CPU time of the calling thread per call of each side (µs) and whether both sides
// gave the same bits (dz and the bias gradient): they must.  Run with OMP_NUM_THREADS=1 to compare work.
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/study/ab_timing.h"
#include "nn/layers.h"

namespace {
// nn/layers.cpp's sum_of (file-local there): 16 interleaved partial sums, added in a fixed order.
float sum_of(const float* p, int n) {
  float acc[16] = {};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += p[i + j];
  for (; i < n; ++i) acc[i % 16] += p[i];
  float total = 0.f;
  for (int j = 0; j < 16; ++j) total += acc[j];
  return total;
}
}  // namespace

int main(int argc, char** argv) {
  const int C = argc > 2 ? std::atoi(argv[1]) : 0, H = argc > 2 ? std::atoi(argv[2]) : 0;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 40;
  if (argc < 3 || argc > 4 || C < 1 || C > 1024 || H < 2 || H > 256 || rounds < 1 || rounds > 100000) {
    std::fprintf(stderr, "usage: pool_bias_ab C H [ROUNDS] (1 ≤ C ≤ 1024, 2 ≤ H ≤ 256, 1 ≤ ROUNDS ≤ 100000)\n");
    return 2;
  }
  const int N = 64;
  nn::Rng rng(3);
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  const nn::Shape s{1, C, H, H};
  pool.input_shape = s;
  pool.output_shape = pool.setup(s);
  const int OH = pool.output_shape.h, OW = pool.output_shape.w;
  const long hw = long(H) * H, ohw = long(OH) * OW, planes = long(N) * C;
  nn::Tensor z(N, C, H, H), g(N, C, OH, OW), a, p;
  for (size_t i = 0; i < z.size(); ++i) z[i] = float(rng.normal());
  for (size_t i = 0; i < g.size(); ++i) g[i] = float(rng.normal());
  pool.forward_after_relu(z, a, p);  // a = relu(z), the argmax of every window
  const std::vector<int>& arg = pool.argmax();
  nn::Tensor dz_old(N, C, H, H), dz_new;
  std::vector<float> bias_old(static_cast<size_t>(C)), bias_new(static_cast<size_t>(C)), sums(static_cast<size_t>(planes));
  std::vector<double> t_old, t_new;
  bool same = true;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = thread_cpu_seconds();
#pragma omp parallel for schedule(static)
    for (long plane = 0; plane < planes; ++plane) {
      float* d = dz_old.data() + size_t(plane) * hw;
      const float* gp = g.data() + size_t(plane) * ohw;
      const int* ap = arg.data() + size_t(plane) * ohw;
      std::memset(d, 0, sizeof(float) * size_t(hw));
      for (long o = 0; o < ohw; ++o) d[ap[o]] += gp[o];
      const float* y = a.data() + size_t(plane) * hw;
      for (long i = 0; i < hw; ++i) d[i] = y[i] > 0.f ? d[i] : 0.f;
    }
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < C; ++oc) {
      float total = 0.f;
      for (int n = 0; n < N; ++n) total += sum_of(dz_old.sample(n) + size_t(oc) * hw, int(hw));
      bias_old[size_t(oc)] = total;
    }
    const double t1 = thread_cpu_seconds();
    pool.backward_into_relu(a, g, dz_new, &dz_new, sums.data());
    std::fill(bias_new.begin(), bias_new.end(), 0.f);
    for (int n = 0; n < N; ++n)
      for (int oc = 0; oc < C; ++oc) bias_new[size_t(oc)] += sums[size_t(n) * C + oc];
    const double t2 = thread_cpu_seconds();
    t_old.push_back(t1 - t0), t_new.push_back(t2 - t1);
    same = same && std::memcmp(dz_old.data(), dz_new.data(), dz_old.size() * sizeof(float)) == 0 &&
           std::memcmp(bias_old.data(), bias_new.data(), bias_old.size() * sizeof(float)) == 0;
  }
  std::printf("%dx%dx%dx%d maxpool2 backward + conv bias gradient: old %.0f us, new %.0f us, new/old %.3f "
              "(thread CPU, medians of %d alternated rounds, %d threads); same bits: %s\n",
              N, C, H, H, median_us(t_old), median_us(t_new), median_us(t_new) / median_us(t_old), rounds,
              omp_get_max_threads(), same ? "yes" : "NO");
  return same ? 0 : 1;
}
