// bench/study/zeta_design.cpp — permutation noise of sampling designs for sampled Shapley values, at an
// equal number of permutations per image (the cost of a walk does not depend on the design).
//
//   zeta_design CKPT DATA BLOCK [IMAGES] [PERMUTATIONS] [GRID, e.g. 8x8x4]
//
// Design m (m = 1, 2, 4, 8): a unit of image x is one uniform permutation π and its m rotations
// π_j(i) = π((i + ⌊j·n/m⌋) mod n), j = 0 … m−1, each walked forward and back (2m permutations);
// m = 1 is today's antithetic pair.  Each rotation is itself a uniform permutation, so every design
// is unbiased; across the m rotations a region's position falls once in each of m equal ranges.
// With PERMUTATIONS per image, each design has U = PERMUTATIONS/(2m) units per image; the printed
// noise is the estimate's variance V_g = (1/N²) Σ_x s²_xg/U (s² over the units), max over regions
// of √V_g (what the tolerance stop reads) and the mean of V_g over regions, per design.
#include <omp.h>

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/study/study_inputs.h"
#include "datasets/dataset.h"
#include "imaging/zeta.h"
#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "run/region_grid.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: zeta_design CKPT DATA BLOCK [IMAGES] [PERMUTATIONS] [GRID]\n");
    return 2;
  }
  StudyInputs in = open_study(argv[1], argv[2], 2, true);
  nn::Network& net = *in.ck.net;
  datasets::DataSplit& data = in.data;
  const int block = net.find_block(argv[3]);
  if (block < 0) {
    std::fprintf(stderr, "zeta_design: no block %s\n", argv[3]);
    return 2;
  }
  const size_t images = argc > 4 ? size_t(std::atol(argv[4])) : 32;
  const int permutations = argc > 5 ? std::atoi(argv[5]) : 64;
  run::GridSpec grid{8, 8, 4};
  if (argc > 6) grid = run::parse_grid_spec(argv[6], "GRID");
  imaging::ZetaSettings s;
  const nn::LabeledImages test = data.test.view();
  const std::vector<uint32_t> indices = imaging::stratified_sample(test, test.count, images, s.seed);
  imaging::CoalitionValue game(net, block, grid, test, indices, s);
  const int n = game.regions();
  const size_t N = game.images();
  std::printf("block %s, %d regions, %zu images, %d permutations per image\n", argv[3], n, N, permutations);
  double base_max = 0, base_mean = 0;
  const int designs = std::getenv("DESIGNS") ? std::atoi(std::getenv("DESIGNS")) : 4;
  for (int m : {1, 2, 4, 8}) {
    if (m > designs) break;
    const int units = permutations / (2 * m);
    if (units < 2 || m > n) continue;
    std::vector<double> mean(N * n, 0.0), m2(N * n, 0.0);
#pragma omp parallel
    {
      imaging::CoalitionWalker walker(game);
      std::vector<int> base(n), order(n);
      std::vector<double> unit(n);
#pragma omp for schedule(dynamic, 1)
      for (long xi = 0; xi < long(N); ++xi) {
        const size_t x = size_t(xi);
        for (int r = 0; r < units; ++r) {
          nn::Rng rng = nn::Rng::derive(s.seed, x, uint64_t(r) + 1000u * uint64_t(m));
          for (int g = 0; g < n; ++g) base[g] = g;
          rng.shuffle(base.data(), size_t(n));
          std::fill(unit.begin(), unit.end(), 0.0);
          for (int j = 0; j < m; ++j) {
            const int shift = int((long(j) * n) / m);
            for (int i = 0; i < n; ++i) order[i] = base[(i + shift) % n];
            walker.start_empty(x);
            double previous = walker.value();
            for (int g : order) {
              const double now = walker.add(g);
              unit[g] += now - previous;
              previous = now;
            }
            for (int g : order) {
              const double now = walker.remove(g);
              unit[g] += previous - now;
              previous = now;
            }
          }
          for (int g = 0; g < n; ++g) {
            const double u = unit[g] / (2.0 * m);
            double& mu = mean[x * n + g];
            const double d = u - mu;
            mu += d / (r + 1);
            m2[x * n + g] += d * (u - mu);
          }
        }
      }
    }
    double widest = 0, average = 0;
    for (int g = 0; g < n; ++g) {
      double v = 0;
      for (size_t x = 0; x < N; ++x) v += m2[x * n + g] / (units - 1) / units;
      v /= double(N) * double(N);
      widest = std::max(widest, std::sqrt(v));
      average += v / n;
    }
    if (m == 1) {
      base_max = widest, base_mean = average;
      // Allocation across images: walks R_x ∝ a_x (Σ R_x fixed) gives V ∝ (Σ_x s²_x/a_x)(Σ_x a_x); equal
      // R_x gives N·Σ_x s²_x.  gain = equal / allocated, for the oracle a_x = s_x (Neyman) and for
      // proxies known before any walk: |v_x(all) − v_x(∅)|, √Σ_g Δ_g(x)² (lesions), √Σ_g T_g(x)² (Taylor).
      const std::vector<double> lesion = imaging::lesion_terms(game), taylor = imaging::taylor_terms(game);
      int widest_g = 0;
      double wv = -1;
      for (int g = 0; g < n; ++g) {
        double v = 0;
        for (size_t x = 0; x < N; ++x) v += m2[x * n + g];
        if (v > wv) wv = v, widest_g = g;
      }
      auto gain = [&](const std::vector<double>& a, int g_only) {
        double equal = 0, num = 0, sum_a = 0;
        for (size_t x = 0; x < N; ++x) sum_a += a[x];
        for (int g = 0; g < n; ++g) {
          if (g_only >= 0 && g != g_only) continue;
          for (size_t x = 0; x < N; ++x) {
            const double s2 = m2[x * n + g] / (units - 1);
            equal += double(N) * s2;
            num += s2 / a[x] * sum_a;
          }
        }
        return equal / num;
      };
      std::vector<double> oracle(N), span(N), les(N), tay(N), oracle_all(N);
      for (size_t x = 0; x < N; ++x) {
        oracle[x] = std::sqrt(std::max(1e-30, m2[x * n + widest_g] / (units - 1)));
        double a = 0, l = 0, t = 0;
        for (int g = 0; g < n; ++g) {
          a += m2[x * n + g] / (units - 1);
          l += lesion[x * n + g] * lesion[x * n + g];
          t += taylor[x * n + g] * taylor[x * n + g];
        }
        oracle_all[x] = std::sqrt(std::max(1e-30, a));
        span[x] = std::max(1e-12, std::fabs(game.image_v_all()[x] - game.image_v_none()[x]));
        les[x] = std::max(1e-12, std::sqrt(l));
        tay[x] = std::max(1e-12, std::sqrt(t));
      }
      std::printf("allocation gain, widest region %d / all regions: oracle %.2f / %.2f, oracle-all %.2f / %.2f, "
                  "|v(all)-v(none)| %.2f / %.2f, lesions %.2f / %.2f, taylor %.2f / %.2f\n",
                  widest_g, gain(oracle, widest_g), gain(oracle, -1), gain(oracle_all, widest_g), gain(oracle_all, -1),
                  gain(span, widest_g), gain(span, -1), gain(les, widest_g), gain(les, -1), gain(tay, widest_g),
                  gain(tay, -1));
    }
    std::printf("m %d  units %3d  max sd %.5f (x%.3f of m=1)  mean var %.3e (x%.3f of m=1)\n", m, units, widest,
                widest / base_max, average, average / base_mean);
    std::fflush(stdout);
  }
}
