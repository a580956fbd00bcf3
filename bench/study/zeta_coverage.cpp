// bench/study/zeta_coverage.cpp — sampled Shapley at the default tolerance against exact Shapley on a
// 16-region game (BM_ZetaShapleyVsExact's check on any block and grid of a checkpoint), and whether
// two blocks' exact values coincide (README, "One game, two blocks").
//
//   zeta_coverage CKPT DATA BLOCK GRID [IMAGES] [SEEDS] [OTHER_BLOCK]
//
// Exact φ on IMAGES class-balanced test images; then for seeds 1 … SEEDS shapley_sampled with the
// default tolerance (0.05·max|φ|), and per seed: how many regions' 95% sample intervals cover the exact
// φ, Spearman ρ against it, permutations per image.  OTHER_BLOCK: also the largest |φ_exact| difference
// between BLOCK's game and OTHER_BLOCK's (same grid, same images; regions in the same order).
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
#include "report/report_summary.h"  // spearman_rank_correlation
#include "run/region_grid.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: zeta_coverage CKPT DATA BLOCK GRID [IMAGES] [SEEDS] [OTHER_BLOCK]\n");
    return 2;
  }
  StudyInputs in = open_study(argv[1], argv[2], 2, true);
  nn::Network& net = *in.ck.net;
  datasets::DataSplit& data = in.data;
  const run::GridSpec grid = run::parse_grid_spec(argv[4], "GRID");
  const size_t images = argc > 5 ? size_t(std::atol(argv[5])) : 64;
  const int seeds = argc > 6 ? std::atoi(argv[6]) : 10;
  const nn::LabeledImages test = data.test.view();
  imaging::ZetaSettings s;
  const std::vector<uint32_t> indices = imaging::stratified_sample(test, test.count, images, 1);
  auto game_of = [&](const char* name) {
    const int block = net.find_block(name);
    if (block < 0) {
      std::fprintf(stderr, "zeta_coverage: no block %s\n", name);
      std::exit(2);
    }
    return imaging::CoalitionValue(net, block, grid, test, indices, s);
  };
  imaging::CoalitionValue game = game_of(argv[3]);
  const imaging::ShapleyEstimate exact = imaging::shapley_exact(game);
  const int n = game.regions();
  std::printf("block %s grid %s: %d regions, %zu images, exact in %.1f s\n", argv[3], argv[4], n, game.images(),
              exact.seconds);
  int covered_all = 0, total_all = 0;
  double rho_min = 1, rho_sum = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    const imaging::ShapleyEstimate e = imaging::shapley_sampled(game, -1, 1e9, s.max_permutations, uint64_t(seed));
    int covered = 0;
    for (int g = 0; g < n; ++g) covered += e.ci_low[g] <= exact.phi[g] && exact.phi[g] <= e.ci_high[g];
    const double rho = report::spearman_rank_correlation(e.phi, exact.phi).value_or(0);
    covered_all += covered, total_all += n;
    rho_min = std::min(rho_min, rho), rho_sum += rho;
    std::printf("seed %2d: covered %2d of %d, spearman %.4f, %ld permutations per image, stopped by %s\n", seed, covered, n,
                rho, e.permutations, e.stopped_by.c_str());
  }
  std::printf("coverage %.4f (%d of %d), spearman mean %.4f min %.4f\n", double(covered_all) / total_all, covered_all,
              total_all, rho_sum / seeds, rho_min);
  if (argc > 7) {
    imaging::CoalitionValue other = game_of(argv[7]);
    if (other.regions() != n) {
      std::printf("%s has %d regions, not %d\n", argv[7], other.regions(), n);
      return 0;
    }
    const imaging::ShapleyEstimate e2 = imaging::shapley_exact(other);
    double largest = 0, scale = 0;
    for (int g = 0; g < n; ++g) {
      largest = std::max(largest, std::fabs(e2.phi[g] - exact.phi[g]));
      scale = std::max(scale, std::fabs(exact.phi[g]));
    }
    std::printf("exact phi %s vs %s: largest difference %.3g (largest |phi| %.3g)\n", argv[3], argv[7], largest, scale);
  }
}
