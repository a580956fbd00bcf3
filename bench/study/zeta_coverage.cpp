// bench/study/zeta_coverage.cpp — sampled Shapley at the default tolerance against exact Shapley on a
// 16-region game (BM_ZetaShapleyVsExact's check on any block and grid of a checkpoint), and whether
// two blocks' exact values coincide (README, "One game, two blocks").
//
//   zeta_coverage CKPT DATA BLOCK GRID [IMAGES] [SEEDS] [OTHER_BLOCK|-] [POOL] [CACHE]
//
// Exact φ on IMAGES class-balanced test images; then for seeds 1 … SEEDS shapley_sampled with the
// default tolerance (0.05·max|φ|), and per seed: how many regions' 95% sample intervals cover the exact
// φ, Spearman ρ against it, permutations per image.  OTHER_BLOCK: also the largest |φ_exact| difference
// between BLOCK's game and OTHER_BLOCK's (same grid, same images; regions in the same order).
//
// POOL > 0 (both interval kinds): exact φ_g(x) of each of POOL class-balanced test images (seed 1;
// saved to / read from the file CACHE when given, so two builds compare on one enumeration); then for
// seeds 1 … SEEDS a class-balanced sample of IMAGES of the pool (seed s) and shapley_sampled on it
// (seed s): the sample interval against the exact φ of those images (the mean of their exact rows),
// the population interval against the exact φ of the whole pool (the population the samples are
// drawn from).  Zero ablation: an image's φ_g(x) does not depend on which other images are sampled.
#include <omp.h>

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
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
  const size_t pool = argc > 8 ? size_t(std::atol(argv[8])) : 0;
  if (pool > 0) {
    const std::vector<uint32_t> pool_indices = imaging::stratified_sample(test, test.count, pool, 1);
    const int block = net.find_block(argv[3]);
    if (block < 0) {
      std::fprintf(stderr, "zeta_coverage: no block %s\n", argv[3]);
      return 2;
    }
    const int n = imaging::CoalitionValue(net, block, grid, test, {pool_indices[0], pool_indices[1]}, s).regions();
    std::vector<double> rows(pool_indices.size() * size_t(n));
    const std::string cache = argc > 9 ? argv[9] : "";
    std::ifstream in_cache(cache, std::ios::binary);
    if (!cache.empty() && in_cache.read(reinterpret_cast<char*>(rows.data()), std::streamsize(rows.size() * sizeof(double)))) {
      std::printf("exact per-image phi of %zu pool images read from %s\n", pool_indices.size(), cache.c_str());
    } else {
      imaging::CoalitionValue whole(net, block, grid, test, pool_indices, s);
      const imaging::ShapleyEstimate exact = imaging::shapley_exact(whole);
      rows = exact.per_image;
      std::printf("exact per-image phi of %zu pool images in %.1f s\n", pool_indices.size(), exact.seconds);
      if (!cache.empty()) {
        std::ofstream out(cache + ".tmp", std::ios::binary);
        out.write(reinterpret_cast<const char*>(rows.data()), std::streamsize(rows.size() * sizeof(double)));
        out.close();
        std::rename((cache + ".tmp").c_str(), cache.c_str());
      }
    }
    std::vector<double> population(n, 0.0);
    for (size_t x = 0; x < pool_indices.size(); ++x)
      for (int g = 0; g < n; ++g) population[g] += rows[x * n + g] / double(pool_indices.size());
    std::vector<uint8_t> pool_labels(pool_indices.size());
    for (size_t x = 0; x < pool_indices.size(); ++x) pool_labels[x] = test.labels[pool_indices[x]];
    nn::LabeledImages labels_only = test;
    labels_only.pixels = nullptr, labels_only.labels = pool_labels.data(), labels_only.count = pool_labels.size();
    int sample_covered = 0, population_covered = 0, total = 0;
    long permutations = 0, permutations_min = 1L << 40, permutations_max = 0;
    double rho_sum = 0, rho_min = 1, sample_half = 0, population_half = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
      const std::vector<uint32_t> at = imaging::stratified_sample(labels_only, pool_labels.size(), images, uint64_t(seed));
      std::vector<uint32_t> indices(at.size());
      std::vector<double> truth(n, 0.0);
      for (size_t i = 0; i < at.size(); ++i) {
        indices[i] = pool_indices[at[i]];
        for (int g = 0; g < n; ++g) truth[g] += rows[size_t(at[i]) * n + g] / double(at.size());
      }
      imaging::CoalitionValue game(net, block, grid, test, indices, s);
      const imaging::ShapleyEstimate e = imaging::shapley_sampled(game, -1, 1e9, s.max_permutations, uint64_t(seed));
      int sc = 0, pc = 0;
      for (int g = 0; g < n; ++g) {
        sc += e.ci_low[g] <= truth[g] && truth[g] <= e.ci_high[g];
        pc += e.population.ci_low[g] <= population[g] && population[g] <= e.population.ci_high[g];
        sample_half += 0.5 * (e.ci_high[g] - e.ci_low[g]) / (double(n) * seeds);
        population_half += 0.5 * (e.population.ci_high[g] - e.population.ci_low[g]) / (double(n) * seeds);
      }
      const double rho = report::spearman_rank_correlation(e.phi, truth).value_or(0);
      sample_covered += sc, population_covered += pc, total += n;
      rho_sum += rho, rho_min = std::min(rho_min, rho);
      permutations += e.permutations, permutations_min = std::min(permutations_min, e.permutations);
      permutations_max = std::max(permutations_max, e.permutations);
      std::printf("seed %2d: sample covered %2d, population covered %2d of %d, spearman %.4f, %ld permutations per image, %s\n",
                  seed, sc, pc, n, rho, e.permutations, e.stopped_by.c_str());
    }
    std::printf("sample coverage %.4f (%d of %d), population coverage %.4f (%d of %d), mean half-width sample %.4g "
                "population %.4g, spearman mean %.4f min %.4f, permutations per image mean %.2f (%ld-%ld)\n",
                double(sample_covered) / total, sample_covered, total, double(population_covered) / total,
                population_covered, total, sample_half, population_half, rho_sum / seeds, rho_min,
                double(permutations) / seeds, permutations_min, permutations_max);
    return 0;
  }
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
  if (argc > 7 && std::string(argv[7]) != "-") {
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
