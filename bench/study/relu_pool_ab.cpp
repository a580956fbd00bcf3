// bench/study/relu_pool_ab.cpp — the relu + max pool pair run separately (ReLU::forward then
// Pool2d::forward; Pool2d::backward then ReLU::backward) against fused (Pool2d::forward_after_relu,
// backward_into_relu), alternated in one process on the same tensors: a comparison that a shared,
// loaded machine disturbs less than two benchmark runs minutes apart.
//
//   relu_pool_ab C H [ROUNDS]      (batch 64, C×H×H maps from N(0,1), maxpool2; ROUNDS 40)
//
// Prints the median CPU time of the calling thread per call of each side (µs), and whether both
// sides gave the same bits (they must: same arithmetic per element).  Run with OMP_NUM_THREADS=1
// to compare work; with more threads the calling thread's CPU time includes its barrier waits.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/study/ab_timing.h"
#include "nn/layers.h"

namespace {
bool same_bits(const nn::Tensor& a, const nn::Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

int main(int argc, char** argv) {
  const int C = argc > 2 ? std::atoi(argv[1]) : 0, H = argc > 2 ? std::atoi(argv[2]) : 0;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 40;
  if (argc < 3 || argc > 4 || C < 1 || C > 1024 || H < 2 || H > 256 || rounds < 1 || rounds > 100000) {
    std::fprintf(stderr, "usage: relu_pool_ab C H [ROUNDS] (1 ≤ C ≤ 1024, 2 ≤ H ≤ 256, 1 ≤ ROUNDS ≤ 100000)\n");
    return 2;
  }
  const int N = 64;
  nn::Rng rng(3);
  nn::ReLU relu;
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  const nn::Shape s{1, C, H, H};
  relu.input_shape = relu.output_shape = relu.setup(s);
  pool.input_shape = s;
  pool.output_shape = pool.setup(s);
  nn::Tensor z(N, C, H, H), g(N, C, pool.output_shape.h, pool.output_shape.w);
  for (size_t i = 0; i < z.size(); ++i) z[i] = float(rng.normal());
  for (size_t i = 0; i < g.size(); ++i) g[i] = float(rng.normal());
  nn::Tensor a, p, da, dz, a2, p2, da2, dz2;
  std::vector<double> sep_fwd, fus_fwd, sep_bwd, fus_bwd;
  bool same = true;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = thread_cpu_seconds();
    relu.forward(z, a, true, rng);
    pool.forward(a, p, true, rng);
    const double t1 = thread_cpu_seconds();
    pool.backward(a, p, g, &da, false);
    relu.backward(z, a, da, &dz, false);
    const double t2 = thread_cpu_seconds();
    pool.forward_after_relu(z, a2, p2);
    const double t3 = thread_cpu_seconds();
    pool.backward_into_relu(a2, g, da2, &dz2);
    const double t4 = thread_cpu_seconds();
    sep_fwd.push_back(t1 - t0), sep_bwd.push_back(t2 - t1), fus_fwd.push_back(t3 - t2), fus_bwd.push_back(t4 - t3);
    same = same && same_bits(a, a2) && same_bits(p, p2) && same_bits(da, da2) && same_bits(dz, dz2);
  }
  std::printf("%dx%dx%dx%d maxpool2: forward separate %.0f us, fused %.0f us; backward separate %.0f us, fused %.0f us "
              "(thread CPU, medians of %d alternated rounds); same bits: %s\n",
              N, C, H, H, median_us(sep_fwd), median_us(fus_fwd), median_us(sep_bwd), median_us(fus_bwd), rounds,
              same ? "yes" : "NO");
  return same ? 0 : 1;
}
