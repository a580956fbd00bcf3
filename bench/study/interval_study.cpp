// bench/study/interval_study.cpp — coverage of both ζ interval kinds on layers small enough for
// exact Shapley values (16 regions: --grid 4x4x1).
//
//   interval_study CKPT DATA BLOCK [REPS] [SAMPLES] [PERMUTATIONS] [POOL]
//
// The pool is the first POOL test images (1000).  The repetitions sample from the pool's first half
// only, so the population they stand for is that half: the truth for the population interval is
// the exact φ over the first half and, separately, over a fresh sample of the same source, the
// pool's second half (itself a finite sample, so coverage of it is expected a little below 95%).
// Each repetition r = 1..REPS draws a class-balanced sample of SAMPLES images (zeta seed r) and
// estimates φ by sampled Shapley with PERMUTATIONS per image; then
//   sample interval      covers? the exact φ of the same images (permutation noise only)
//   population interval  covers? the exact φ of the pool (and of the fresh half)
// Prints one line per (block) with the counts, and the mean half-widths of both kinds.
#include <omp.h>

#include <cblas.h>

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

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: interval_study CKPT DATA BLOCK [REPS] [SAMPLES] [PERMUTATIONS] [POOL]\n");
    return 2;
  }
  StudyInputs in = open_study(argv[1], argv[2], 1, false);
  nn::Network& net = *in.ck.net;
  datasets::DataSplit& data = in.data;
  const int block = net.find_block(argv[3]);
  if (block < 0) {
    std::fprintf(stderr, "interval_study: no block %s\n", argv[3]);
    return 2;
  }
  const int reps = argc > 4 ? std::atoi(argv[4]) : 20;
  const size_t samples = argc > 5 ? size_t(std::atol(argv[5])) : 64;
  const int permutations = argc > 6 ? std::atoi(argv[6]) : 16;
  const size_t pool = std::min<size_t>(argc > 7 ? size_t(std::atol(argv[7])) : 1000, data.test.size());
  const run::GridSpec grid{4, 4, 1};
  const nn::LabeledImages test = data.test.view();
  imaging::ZetaSettings s;

  auto indices_range = [](size_t first, size_t last) {
    std::vector<uint32_t> v;
    for (size_t i = first; i < last; ++i) v.push_back(uint32_t(i));
    return v;
  };
  // Truths: exact over the first half (the sampled population), and over the fresh second half.
  const imaging::ShapleyEstimate whole =
      imaging::shapley_exact(imaging::CoalitionValue(net, block, grid, test, indices_range(0, pool / 2), s));
  const imaging::ShapleyEstimate fresh =
      imaging::shapley_exact(imaging::CoalitionValue(net, block, grid, test, indices_range(pool / 2, pool), s));
  const int n = int(whole.phi.size());
  int sample_cover = 0, pool_cover = 0, fresh_cover = 0, total = 0;
  double sample_half = 0, population_half = 0;
  for (int r = 1; r <= reps; ++r) {
    // Class-balanced sample from the first half of the pool (zeta seed r).
    const std::vector<uint32_t> idx = imaging::stratified_sample(test, pool / 2, samples, uint64_t(r));
    imaging::CoalitionValue game(net, block, grid, test, idx, s);
    const imaging::ShapleyEstimate exact = imaging::shapley_exact(game);
    const imaging::ShapleyEstimate e = imaging::shapley_sampled(game, 0, 1e9, permutations, uint64_t(1000 + r));
    for (int g = 0; g < n; ++g, ++total) {
      sample_cover += e.ci_low[g] <= exact.phi[g] && exact.phi[g] <= e.ci_high[g];
      pool_cover += e.population.ci_low[g] <= whole.phi[g] && whole.phi[g] <= e.population.ci_high[g];
      fresh_cover += e.population.ci_low[g] <= fresh.phi[g] && fresh.phi[g] <= e.population.ci_high[g];
      sample_half += 0.5 * (e.ci_high[g] - e.ci_low[g]) / (double(reps) * n);
      population_half += 0.5 * (e.population.ci_high[g] - e.population.ci_low[g]) / (double(reps) * n);
    }
  }
  std::printf("RESULT %s %s: %d intervals (%d samples of %zu images, %d permutations each, pool %zu): "
              "sample covers exact-on-sample %.3f; population covers exact-on-first-half %.3f, exact-on-fresh-half %.3f; "
              "mean half-width sample %.4g population %.4g; max|phi| %.4g\n",
              argv[1], argv[3], total, reps, samples, permutations, pool, double(sample_cover) / total,
              double(pool_cover) / total, double(fresh_cover) / total, sample_half, population_half,
              [&] {
                double m = 0;
                for (double p : whole.phi) m = std::max(m, std::fabs(p));
                return m;
              }());
  return 0;
}
