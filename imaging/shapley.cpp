// imaging/shapley.cpp — the estimators of imaging/shapley.h on a lesion game.
#include "imaging/shapley.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "base/error.h"
#include "base/stopwatch.h"
#include "imaging/zeta_stats.h"
#include "nn/loss.h"
#include "nn/rng.h"

namespace imaging {

ShapleyEstimate deterministic_estimate(std::vector<double> phi) {
  ShapleyEstimate e;
  e.ci_low = e.ci_high = phi;
  e.p_value.resize(phi.size());
  for (size_t g = 0; g < phi.size(); ++g) e.p_value[g] = phi[g] != 0 ? 0.0 : 1.0;
  e.phi = std::move(phi);
  e.stopped_by = "complete";
  return e;
}

namespace {

// (1/N) Σ_x per_image[x·n + g], summed in image order.
std::vector<double> mean_over_images(const std::vector<double>& per_image, size_t N, int n) {
  std::vector<double> out(n, 0.0);
  for (size_t x = 0; x < N; ++x)
    for (int g = 0; g < n; ++g) out[g] += per_image[x * n + g];
  for (double& v : out) v /= double(N);
  return out;
}

}  // namespace

// φ_g(x) = Σ_{S ⊆ G∖{g}} |S|!(n−|S|−1)!/n! · (v_x(S ∪ {g}) − v_x(S)) over all 2^n coalitions;
// φ_g = (1/N) Σ_x φ_g(x).  v_x(S) is reached from ∅ by adding S's regions in increasing order
// (depth-first, undoing back to each branch point), recorded right after its highest region.
ShapleyEstimate shapley_exact(const CoalitionValue& game, double budget_seconds) {
  const base::Stopwatch clock;
  const int n = game.regions();
  if (n > kMaxExactRegions)
    throw base::Error("--zeta-method exact: block " + game.net().blocks()[size_t(game.block())].name + " has " +
                    std::to_string(n) + " regions, more than the " + std::to_string(kMaxExactRegions) +
                    " that can be enumerated; use a coarser --grid or --zeta-method shapley");
  std::vector<double> weight(n);  // |S|!(n−|S|−1)!/n!
  for (int s = 0; s < n; ++s)
    weight[s] = std::exp(std::lgamma(s + 1.0) + std::lgamma(double(n - s)) - std::lgamma(n + 1.0));
  const size_t N = game.images();
  const uint32_t coalitions = 1u << n;
  std::vector<double> per_image(N * n, 0.0);
  // φ_g(x) of one image, into per_image.
  auto image_shapley = [&](CoalitionWalker& walker, std::vector<double>& v, size_t x) {
    // Coalition S's subtree: S ∪ T for every nonempty T ⊆ {first, …, n−1}.
    std::function<void(uint32_t, int)> visit = [&](uint32_t S, int first) {
      const CoalitionWalker::Mark branch = walker.mark();
      for (int k = first; k < n; ++k) {
        v[S | (1u << k)] = walker.add(k);
        visit(S | (1u << k), k + 1);
        walker.undo(branch);
      }
    };
    walker.set_journal(true);
    walker.start_empty(x);
    v[0] = walker.value();
    visit(0, 0);
    double* phi = &per_image[x * n];
    for (uint32_t T = 0; T < coalitions; ++T)
      for (int g = 0; g < n; ++g)
        if (!((T >> g) & 1u)) phi[g] += weight[__builtin_popcount(T)] * (v[T | (1u << g)] - v[T]);
  };
  {
    CoalitionWalker walker(game);
    std::vector<double> v(coalitions);
    image_shapley(walker, v, 0);
    const double projected = clock.seconds() * double(N) / omp_get_max_threads();
    if (projected > budget_seconds)
      throw base::Error("--zeta-method exact: block " + game.net().blocks()[size_t(game.block())].name + " would take about " +
                      std::to_string(int(projected)) + " s (" + std::to_string(coalitions) + " coalitions × " +
                      std::to_string(N) + " images), over --zeta-budget " + std::to_string(budget_seconds) +
                      " s; use --zeta-method shapley, a coarser --grid or fewer --zeta-samples");
  }
#pragma omp parallel
  {
    CoalitionWalker walker(game);
    std::vector<double> v(coalitions);
    // Each image is computed by one thread from its own starting state: any schedule gives
    // the same numbers, and dynamic balances images whose lesions propagate further.
#pragma omp for schedule(dynamic, 1)
    for (long xi = 1; xi < long(N); ++xi) image_shapley(walker, v, size_t(xi));
  }
  ShapleyEstimate e = deterministic_estimate(mean_over_images(per_image, N, n));
  e.population = population_intervals(per_image, N, n, game.labels());  // per_image: (N, n) φ_g(x)
  e.stopped_by = "exact";
  e.seconds = clock.seconds();
  return e;
}

// See imaging/zeta.h: per-image antithetic permutations, stratified variance, Satterthwaite ν.
ShapleyEstimate shapley_sampled(const CoalitionValue& game, double tolerance, double budget_seconds,
                                int max_permutations, uint64_t seed) {
  const base::Stopwatch clock;
  const int n = game.regions();
  const size_t N = game.images();
  // Welford running mean and sum of squared deviations of each image's units.
  std::vector<double> mean(N * n, 0.0), m2(N * n, 0.0);
  ShapleyEstimate e;
  e.phi.assign(n, 0.0);
  e.ci_low.assign(n, 0.0);
  e.ci_high.assign(n, 0.0);
  e.p_value.assign(n, 1.0);
  double slowest_round = 0;

  // φ̂, V̂, ν and the intervals from R rounds; returns the largest half-width.
  auto estimate = [&](int R) {
    double widest = 0;
    const double N2R = double(N) * double(N) * R;
    for (int g = 0; g < n; ++g) {
      double phi = 0, var = 0, df_denominator = 0;
      for (size_t x = 0; x < N; ++x) {
        phi += mean[x * n + g];
        const double term = m2[x * n + g] / (R - 1) / N2R;  // s²_xg/(N²R)
        var += term;
        df_denominator += term * term / (R - 1);
      }
      phi /= double(N);
      e.phi[g] = phi;
      double half = 0;
      if (var > 0) {
        const double df = df_denominator > 0 ? var * var / df_denominator : 1e6, se = std::sqrt(var);
        half = student_t_quantile(0.975, df) * se;
        e.p_value[g] = student_t_two_sided_p(phi / se, df);
      } else {
        e.p_value[g] = phi != 0 ? 0.0 : 1.0;
      }
      e.ci_low[g] = phi - half;
      e.ci_high[g] = phi + half;
      widest = std::max(widest, half);
    }
    return widest;
  };

  int R = 0;
  for (;;) {
    if (R >= 2) {
      const double widest = estimate(R);
      double largest = 0;
      for (double p : e.phi) largest = std::max(largest, std::fabs(p));
      e.tolerance = tolerance >= 0 ? tolerance : 0.05 * largest;
      if (widest < e.tolerance || widest == 0) {
        e.stopped_by = "tolerance";
        break;
      }
      if (2L * (R + 1) > max_permutations) {
        e.stopped_by = "max_permutations";
        break;
      }
      if (clock.seconds() + slowest_round > budget_seconds) {
        e.stopped_by = "budget";
        break;
      }
    }
    const base::Stopwatch round_clock;
    const int round = R;
#pragma omp parallel
    {
      CoalitionWalker walker(game);
      std::vector<int> order(n);
      std::vector<double> unit(n);
      // One image per iteration, each from its own seeded stream and starting state: the
      // numbers do not depend on the schedule or the thread count.
#pragma omp for schedule(dynamic, 1)
      for (long xi = 0; xi < long(N); ++xi) {
        const size_t x = size_t(xi);
        nn::Rng rng = nn::Rng::derive(seed, x, uint64_t(round));
        for (int g = 0; g < n; ++g) order[g] = g;
        rng.shuffle(order.data(), size_t(n));
        walker.start_empty(x);
        // Forward: ∅ → all adding π(1), π(2), …; back: all → ∅ removing π(1), π(2), …, which
        // adds reverse(π)'s regions in its order, read backwards.  Both telescope.
        double previous = walker.value();
        for (int g : order) {
          const double now = walker.add(g);
          unit[g] = now - previous;
          previous = now;
        }
        for (int g : order) {
          const double now = walker.remove(g);
          unit[g] = 0.5 * (unit[g] + previous - now);
          previous = now;
        }
        const double r = double(round + 1);
        for (int g = 0; g < n; ++g) {
          double& mu = mean[x * n + g];
          const double d = unit[g] - mu;
          mu += d / r;
          m2[x * n + g] += d * (unit[g] - mu);
        }
      }
    }
    ++R;
    slowest_round = std::max(slowest_round, round_clock.seconds());
  }
  e.population = population_intervals(mean, N, n, game.labels());  // mean: (N, n) unit means m_xg
  e.rounds = R;
  e.permutations = 2L * R;
  e.seconds = clock.seconds();
  return e;
}

// Δ_g = (1/N) Σ_x (v_x(all) − v_x(all∖{g})): from the full state, remove g, read v, undo (bit-exact,
// so a region that changes nothing scores exactly 0).
std::vector<double> lesion_scores(const CoalitionValue& game) {
  const int n = game.regions();
  const size_t N = game.images();
  std::vector<double> per_image(N * n);
#pragma omp parallel
  {
    CoalitionWalker walker(game);
#pragma omp for schedule(dynamic, 1)
    for (long xi = 0; xi < long(N); ++xi) {
      const size_t x = size_t(xi);
      walker.set_journal(false);
      walker.start_full(x);
      walker.set_journal(true);
      const CoalitionWalker::Mark full = walker.mark();
      const double all = walker.value();
      for (int g = 0; g < n; ++g) {
        per_image[x * n + g] = all - walker.remove(g);
        walker.undo(full);
      }
    }
  }
  return mean_over_images(per_image, N, n);
}

// T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu, v = (1/N) Σ_x log p(y_x|x); ∂v/∂logits = −(count/N)·∂CE/∂logits
// of the chunk's mean cross-entropy, pulled back to the block by net.backward.
std::vector<double> taylor_scores(const CoalitionValue& game) {
  nn::Network& net = game.net();
  const run::RegionGrid& grid = game.grid();
  const int C = grid.channels, H = grid.height, W = grid.width, n = game.regions();
  const size_t N = game.images(), U = game.block_units();
  std::vector<double> taylor(n, 0.0);
  nn::Tensor a, dlogits, grad_hwc(1, 1, 1, int(U));
  for (size_t first = 0; first < N; first += kGameChunk) {
    const int count = int(std::min<size_t>(kGameChunk, N - first));
    a.resize(count, C, H, W);
    for (int i = 0; i < count; ++i) to_channels_first(game.activation(first + i), C, H, W, a.sample(i));
    const nn::Tensor& logits = net.forward_from(game.block(), a);
    nn::softmax_cross_entropy(logits, &game.labels()[first], &dlogits);
    const float scale = -float(count) / float(N);
    for (size_t i = 0; i < dlogits.size(); ++i) dlogits[i] *= scale;
    net.backward(dlogits, false, game.block());
    const nn::Tensor& grad = net.output_grad(game.block());
    for (int i = 0; i < count; ++i) {
      to_channels_last(grad.sample(i), C, H, W, grad_hwc.data());
      const float* act = game.activation(first + i);
      for (int g = 0; g < n; ++g) {
        double s = 0;
        for (int u : game.units(g)) s += double(act[u] - game.baseline()[u]) * grad_hwc[u];
        taylor[g] += s;
      }
    }
  }
  return taylor;
}

}  // namespace imaging
