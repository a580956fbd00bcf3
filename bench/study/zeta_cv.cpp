// bench/study/zeta_cv.cpp — would a control variate from the lesion pass cut the permutation noise of
// sampled Shapley values?  (issue 13's "control variates from the per-image lesion … terms")
//
//   zeta_cv CKPT DATA BLOCK [IMAGES] [ROUNDS] [GRID, e.g. 8x8x4]
//
// Definitions, written before any run.  For image x with label y and logits z_x(S) of the game
// (imaging/lesion_game.h, log-prob value, zero ablation), a surrogate game
//     s_x(S) = log softmax(z_x(∅) + Σ_{i∈S} d_xi)_y
// whose logits are additive in the regions (the net between the block and the logits taken as
// linear), keeping only the log-softmax's curvature.  Two choices of d_xi, both from one extra walker
// step per region and image:
//     LOO: d_xi = z_x(all) − z_x(all∖{i})   (the lesion pass: leave one out of the full state)
//     LOI: d_xi = z_x({i}) − z_x(∅)         (leave one in, from the all-lesioned state)
// A unit of the surrogate is its antithetic unit on the SAME permutation as the game's (forward and
// back; imaging::antithetic_unit's definition).  A control-variate estimator would use, per image,
// u_xg − c_g·(t_xg − ψ_xg) with t the surrogate's unit and ψ_xg its Shapley value (computable to any
// precision at O(classes) per step); its variance is Var_r(u − c t).  Both surrogates' units telescope,
// so with one c for all regions the correction sums to 0 over g and efficiency holds exactly.
//
// Printed: for each surrogate, over regions g, the estimator's variance numerator
// V_g = Σ_x s²_r(u_xg) (s² over the ROUNDS units of image x) against
//     V_g(c) = Σ_x s²_r(u_xg − c·t_xg)
// with (a) one c per region (pooled over images, the least-squares c; an oracle on these data) and
// (b) one c for every region (so efficiency holds); the ratio for the region of largest V_g (what the
// tolerance stop reads), the largest ratio over the 10 regions of largest V_g, and Σ_g V_g(c) / Σ_g V_g.
// A ratio r means 1/r times fewer permutations for the same interval.  Also the mean over (x, g) of
// the correlation of u and t across rounds.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "bench/study/study_inputs.h"
#include "datasets/dataset.h"
#include "imaging/shapley.h"
#include "imaging/zeta.h"
#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "run/region_grid.h"

namespace {
double log_softmax_at(const std::vector<double>& z, int y) {
  double top = z[0];
  for (double v : z) top = std::max(top, v);
  double sum = 0;
  for (double v : z) sum += std::exp(v - top);
  return z[size_t(y)] - top - std::log(sum);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: zeta_cv CKPT DATA BLOCK [IMAGES] [ROUNDS] [GRID]\n");
    return 2;
  }
  StudyInputs in = open_study(argv[1], argv[2], 2, true);
  nn::Network& net = *in.ck.net;
  const int block = net.find_block(argv[3]);
  if (block < 0) {
    std::fprintf(stderr, "zeta_cv: no block %s\n", argv[3]);
    return 2;
  }
  const size_t images = argc > 4 ? size_t(std::atol(argv[4])) : 16;
  const int rounds = argc > 5 ? std::atoi(argv[5]) : 32;
  run::GridSpec grid{8, 8, 4};
  if (argc > 6) grid = run::parse_grid_spec(argv[6], "GRID");
  imaging::ZetaSettings s;
  const nn::LabeledImages test = in.data.test.view();
  const std::vector<uint32_t> indices = imaging::stratified_sample(test, test.count, images, s.seed);
  imaging::CoalitionValue game(net, block, grid, test, indices, s);
  const int n = game.regions();
  const size_t N = game.images();
  std::printf("block %s, %d regions, %zu images, %d antithetic rounds per image\n", argv[3], n, N, rounds);
  constexpr int kSurrogates = 2;
  const char* names[kSurrogates] = {"LOO", "LOI"};
  // u[(x·R + r)·n + g], t[k][…] the same for surrogate k
  std::vector<double> u(N * rounds * n);
  std::vector<std::vector<double>> t(kSurrogates, std::vector<double>(N * rounds * n));
  double worst_check = 0;
#pragma omp parallel reduction(max : worst_check)
  {
    imaging::CoalitionWalker walker(game);
    std::vector<int> order(n);
    std::vector<std::vector<double>> d(kSurrogates, std::vector<double>(0));
#pragma omp for schedule(dynamic, 1)
    for (long xi = 0; xi < long(N); ++xi) {
      const size_t x = size_t(xi);
      const int y = game.labels()[x];
      walker.set_journal(false);
      walker.start_full(x);
      walker.set_journal(true);
      const std::vector<float> z_all = walker.logits();
      const int K = int(z_all.size());
      for (auto& dk : d) dk.assign(size_t(n) * K, 0.0);
      // From the walker's current state `from` (journal on): each region's one step (removed or added)
      // and back, out[g] = the logits' change in the direction from fewer regions to more.
      auto one_step_deltas = [&](bool add, const std::vector<float>& from, std::vector<double>& out) {
        const auto mark = walker.mark();
        for (int g = 0; g < n; ++g) {
          add ? walker.add(g) : walker.remove(g);
          const std::vector<float> z = walker.logits();
          for (int k = 0; k < K; ++k) out[size_t(g) * K + k] = add ? double(z[k]) - from[k] : double(from[k]) - z[k];
          walker.undo(mark);
        }
      };
      one_step_deltas(false, z_all, d[0]);  // LOO
      walker.set_journal(false);
      walker.start_empty(x);
      walker.set_journal(true);
      const std::vector<float> z_none = walker.logits();
      std::vector<double> z0(z_none.begin(), z_none.end());
      // the surrogate's values at ∅ must be the game's own value there (a check of y and the value)
      worst_check = std::max(worst_check, std::fabs(log_softmax_at(z0, y) - walker.value()));
      one_step_deltas(true, z_none, d[1]);  // LOI
      walker.set_journal(false);
      for (int r = 0; r < rounds; ++r) {
        double* ux = &u[(x * rounds + r) * n];
        imaging::antithetic_unit(walker, s.seed, x, r, order, ux);  // leaves `order` as the walk's π
        for (int k = 0; k < kSurrogates; ++k) {
          double* tx = &t[size_t(k)][(x * rounds + r) * n];
          std::vector<double> z = z0;
          double previous = log_softmax_at(z, y);
          for (int g : order) {
            for (int c = 0; c < K; ++c) z[size_t(c)] += d[size_t(k)][size_t(g) * K + c];
            const double now = log_softmax_at(z, y);
            tx[g] = now - previous;
            previous = now;
          }
          for (int g : order) {
            for (int c = 0; c < K; ++c) z[size_t(c)] -= d[size_t(k)][size_t(g) * K + c];
            const double now = log_softmax_at(z, y);
            tx[g] = 0.5 * (tx[g] + previous - now);
            previous = now;
          }
        }
      }
    }
  }
  std::printf("check: |surrogate(∅) − v(∅)| ≤ %.3g\n", worst_check);
  // per (x, g): variances and covariance over rounds
  auto moments = [&](const std::vector<double>& a, const std::vector<double>& b, size_t x, int g, double& vaa,
                     double& vbb, double& vab) {
    double ma = 0, mb = 0;
    for (int r = 0; r < rounds; ++r) ma += a[(x * rounds + r) * n + g], mb += b[(x * rounds + r) * n + g];
    ma /= rounds, mb /= rounds;
    vaa = vbb = vab = 0;
    for (int r = 0; r < rounds; ++r) {
      const double da = a[(x * rounds + r) * n + g] - ma, db = b[(x * rounds + r) * n + g] - mb;
      vaa += da * da, vbb += db * db, vab += da * db;
    }
    vaa /= rounds - 1, vbb /= rounds - 1, vab /= rounds - 1;
  };
  for (int k = 0; k < kSurrogates; ++k) {
    std::vector<double> Vu(n, 0), Vt(n, 0), C(n, 0);
    double corr = 0;
    long counted = 0;
    for (int g = 0; g < n; ++g)
      for (size_t x = 0; x < N; ++x) {
        double vaa, vbb, vab;
        moments(u, t[size_t(k)], x, g, vaa, vbb, vab);
        Vu[g] += vaa, Vt[g] += vbb, C[g] += vab;
        if (vaa > 0 && vbb > 0) corr += vab / std::sqrt(vaa * vbb), ++counted;
      }
    const double sum_u = std::accumulate(Vu.begin(), Vu.end(), 0.0);
    const double c_all = std::accumulate(C.begin(), C.end(), 0.0) / std::accumulate(Vt.begin(), Vt.end(), 0.0);
    std::vector<double> V_region(n), V_one(n);
    for (int g = 0; g < n; ++g) {
      const double c = Vt[g] > 0 ? C[g] / Vt[g] : 0;
      V_region[g] = Vu[g] - 2 * c * C[g] + c * c * Vt[g];
      V_one[g] = Vu[g] - 2 * c_all * C[g] + c_all * c_all * Vt[g];
    }
    std::vector<int> by(n);
    std::iota(by.begin(), by.end(), 0);
    std::sort(by.begin(), by.end(), [&](int a, int b) { return Vu[a] > Vu[b]; });
    double worst10_region = 0, worst10_one = 0;
    for (int i = 0; i < std::min(10, n); ++i) {
      worst10_region = std::max(worst10_region, V_region[by[i]] / Vu[by[i]]);
      worst10_one = std::max(worst10_one, V_one[by[i]] / Vu[by[i]]);
    }
    const double max_region = *std::max_element(V_region.begin(), V_region.end());
    const double max_one = *std::max_element(V_one.begin(), V_one.end());
    std::printf("%s: mean corr(u, t) over (image, region) %.3f; one c = %.3f; sum_g Σ_x s²(t) / sum_g Σ_x s²(u) = %.3g\n", names[k],
                corr / std::max(1L, counted), c_all, std::accumulate(Vt.begin(), Vt.end(), 0.0) / sum_u);
    std::printf("  c per region:   widest region %.3f, worst of the 10 widest %.3f, sum %.3f, max V after / max V before %.3f\n",
                V_region[by[0]] / Vu[by[0]], worst10_region, std::accumulate(V_region.begin(), V_region.end(), 0.0) / sum_u,
                max_region / Vu[by[0]]);
    std::printf("  one c:          widest region %.3f, worst of the 10 widest %.3f, sum %.3f, max V after / max V before %.3f\n",
                V_one[by[0]] / Vu[by[0]], worst10_one, std::accumulate(V_one.begin(), V_one.end(), 0.0) / sum_u,
                max_one / Vu[by[0]]);
  }
  return 0;
}
