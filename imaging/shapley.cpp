// imaging/shapley.cpp — the estimators of imaging/shapley.h on a lesion game.
#include "imaging/shapley.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "base/error.h"
#include "base/format.h"
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
  // Refused when the projected seconds exceed `limit`; `how` says what the projection was made from.
  const auto refuse_over = [&](double projected, double limit, const std::string& how) {
    if (projected > limit)
      throw base::Error("--zeta-method exact: block " + game.net().blocks()[size_t(game.block())].name + " would take about " +
                        std::to_string(int(projected)) + " s (" + std::to_string(coalitions) + " coalitions × " +
                        std::to_string(N) + " images" + how + "), over --zeta-budget " + std::to_string(budget_seconds) +
                        " s; use --zeta-method shapley, a coarser --grid or fewer --zeta-samples");
  };
  // Up front (README, `exact`): P = (2^n − 1)·N passes at c each, c the median of the n passes of one
  // walk ∅ → all on the first image; refused when P·c / threads is over twice the budget.
  {
    CoalitionWalker walker(game);
    walker.start_empty(0);
    std::vector<double> pass(size_t(n), 0.0);
    for (int k = 0; k < n; ++k) {
      const base::Stopwatch step;
      walker.add(k);
      pass[size_t(k)] = step.seconds();
    }
    std::nth_element(pass.begin(), pass.begin() + n / 2, pass.end());
    const double per_pass = n > 0 ? pass[size_t(n / 2)] : 0.0;
    refuse_over(double(coalitions - 1) * double(N) * per_pass / omp_get_max_threads(), 2 * budget_seconds,
                ", " + base::format("%.3g", per_pass) + " s a pass measured on " + std::to_string(n) + " passes");
  }
  {
    CoalitionWalker walker(game);
    std::vector<double> v(coalitions);
    image_shapley(walker, v, 0);
    refuse_over(clock.seconds() * double(N) / omp_get_max_threads(), budget_seconds, "");
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
  e.per_image = std::move(per_image);
  e.stopped_by = "exact";
  e.images = N;
  e.seconds = clock.seconds();
  return e;
}

namespace {

// Δ_g(x) = v_x(all) − v_x(all∖{g}) of one image into out[0..n): from the full state, remove g, read v,
// undo (bit-exact, so a region that changes nothing scores exactly 0).  Leaves the journal off.
void image_lesions(CoalitionWalker& walker, size_t x, int n, double* out) {
  walker.set_journal(false);
  walker.start_full(x);
  walker.set_journal(true);
  const CoalitionWalker::Mark full = walker.mark();
  const double all = walker.value();
  for (int g = 0; g < n; ++g) {
    out[g] = all - walker.remove(g);
    walker.undo(full);
  }
  walker.set_journal(false);
}

}  // namespace

void antithetic_unit(CoalitionWalker& walker, uint64_t seed, size_t x, int round, std::vector<int>& order, double* unit) {
  const int n = int(order.size());
  nn::Rng rng = nn::Rng::derive(seed, x, uint64_t(round));
  for (int g = 0; g < n; ++g) order[g] = g;
  rng.shuffle(order.data(), size_t(n));
  walker.start_empty(x);
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
}

// See imaging/shapley.h: per-image antithetic permutations, stratified variance, Satterthwaite ν.
// The work comes in steps, and the budget is checked before each one: an image's first step is its
// lesions and its rounds 0 and 1 (the two walks an interval needs), every later step one more walk of
// one image.  First steps run chunk by chunk of kGameChunk images, each chunk's `before_chunk` first,
// then its images in parallel (images 0 and 1 whatever the budget); then whole rounds
// over every image until tolerance, max_permutations or the budget stops them, a budget stop possibly
// in the middle of a round.  Each walk's numbers depend only on (seed, image, round), so the order of
// the steps and the thread count change nothing.
ShapleyEstimate shapley_sampled(const CoalitionValue& game, double tolerance, double budget_seconds,
                                int max_permutations, uint64_t seed, const ChunkHook& before_chunk,
                                nn::ShardGroup* ranks, const BudgetClock& elapsed) {
  const base::Stopwatch clock;
  const bool spread = ranks && ranks->ranks() > 1;
  const int n = game.regions();
  const size_t N = game.images();
  // Welford running mean and sum of squared deviations of each image's units; walks done per image.
  std::vector<double> mean(N * n, 0.0), m2(N * n, 0.0), lesion(N * n, 0.0);
  std::vector<int> walks(N, 0);
  size_t K = N;  // the images covered: the first K, each with at least two walks
  ShapleyEstimate e;
  e.phi.assign(n, 0.0);
  e.ci_low.assign(n, 0.0);
  e.ci_high.assign(n, 0.0);
  e.p_value.assign(n, 1.0);

  // φ̂, V̂, ν and the intervals from the first K images, image x with R_x = walks[x] ≥ 2 units;
  // returns the largest half-width.  With every R_x = R this is the formula of shapley.h.
  auto estimate = [&]() {
    double widest = 0;
    for (int g = 0; g < n; ++g) {
      double phi = 0, var = 0, df_denominator = 0;
      for (size_t x = 0; x < K; ++x) {
        const int R = walks[x];
        phi += mean[x * n + g];
        const double term = m2[x * n + g] / (R - 1) / (double(K) * double(K) * R);  // s²_xg/(K²R_x)
        var += term;
        df_denominator += term * term / (R - 1);
      }
      phi /= double(K);
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
    double largest = 0;
    for (double p : e.phi) largest = std::max(largest, std::fabs(p));
    e.tolerance = tolerance >= 0 ? tolerance : 0.05 * largest;
    return widest;
  };
  // Image x's walk of round `round`: its antithetic unit, folded into x's running mean.
  auto walk = [&](CoalitionWalker& walker, std::vector<int>& order, std::vector<double>& unit, size_t x, int round) {
    antithetic_unit(walker, seed, x, round, order, unit.data());
    const double r = double(round + 1);
    for (int g = 0; g < n; ++g) {
      double& mu = mean[x * n + g];
      const double d = unit[g] - mu;
      mu += d / r;
      m2[x * n + g] += d * (unit[g] - mu);
    }
    walks[x] = round + 1;
  };
  auto over_budget = [&] { return (elapsed ? elapsed() : clock.seconds()) >= budget_seconds; };
  // Spread over ranks: the budget is rank 0's, read by every rank at the same points (between chunks
  // and rounds); inside them no image is skipped.  mine(x): this rank walks image x.
  auto over_budget_here = [&] { return spread ? ranks->from_rank0(over_budget()) : over_budget(); };
  auto over_budget_inside = [&] { return !spread && over_budget(); };
  auto mine = [&](size_t x) { return !spread || ranks->owns_row(x); };
  // Every image's state as its owner computed it (spread only).
  auto share = [&](bool with_lesions) {
    if (!spread) return;
    ranks->share_rows(mean, size_t(n), 0, N);
    ranks->share_rows(m2, size_t(n), 0, N);
    if (with_lesions) ranks->share_rows(lesion, size_t(n), 0, N);
    std::vector<double> w(walks.begin(), walks.end());
    ranks->share_rows(w, 1, 0, N);
    for (size_t x = 0; x < N; ++x) walks[x] = int(w[x]);
  };

  // Spread over ranks, every rank must take the same decision (stop or go on) from its copy of the
  // shared state, or one rank would wait forever in a collective the others never reach.  A
  // consistency check: the decision is compared across ranks (two one-int reductions) and a
  // disagreement is an error on every rank, naming the decision, instead of a hang.
  auto agreed = [&](bool decision, const char* what) {
    if (!spread) return decision;
    const bool some = ranks->any(decision), every = !ranks->any(!decision);
    if (some != every)
      throw base::Error(std::string("ζ on ") + std::to_string(ranks->ranks()) + " ranks: the ranks disagree on " + what +
                        " (their shared state differs: the ranks imaged other data or settings, or the sharing of image "
                        "states is broken)");
    return decision;
  };

  // First steps.  Steps are handed out in image order but a thread reads the clock after taking its
  // image, so an image may be done after one that was skipped: K is the first image not done.  The
  // hook runs outside any parallel region (it may use every thread itself).
  for (size_t first = 0; first < N; first += kGameChunk) {
    const int count = int(std::min<size_t>(kGameChunk, N - first));
    if (first >= 2 && over_budget_here()) break;
    if (before_chunk) before_chunk(first, count);
#pragma omp parallel
    {
      CoalitionWalker walker(game);
      std::vector<int> order(n);
      std::vector<double> unit(n);
#pragma omp for schedule(dynamic, 1)
      for (long xi = long(first); xi < long(first) + count; ++xi) {
        const size_t x = size_t(xi);
        if ((x >= 2 && over_budget_inside()) || !mine(x)) continue;
        image_lesions(walker, x, n, &lesion[x * n]);
        walk(walker, order, unit, x, 0);
        walk(walker, order, unit, x, 1);
      }
    }
  }
  share(true);
  K = size_t(std::find_if(walks.begin(), walks.end(), [](int w) { return w < 2; }) - walks.begin());
  e.stopped_by = "budget";
  if (agreed(K == N, "whether every image has its first walks")) {
    for (int R = 2;; ++R) {  // every image has R walks
      const double widest = estimate();
      if (agreed(widest < e.tolerance || widest == 0, ("the tolerance stop after round " + std::to_string(R)).c_str())) {
        e.stopped_by = "tolerance";
        break;
      }
      if (2L * (R + 1) > max_permutations) {
        e.stopped_by = "max_permutations";
        break;
      }
      if (over_budget_here()) break;
      bool cut = false;
#pragma omp parallel
      {
        CoalitionWalker walker(game);
        std::vector<int> order(n);
        std::vector<double> unit(n);
        // One image per iteration, each from its own seeded stream and starting state: the
        // numbers do not depend on the schedule or the thread count.
#pragma omp for schedule(dynamic, 1) reduction(|| : cut)
        for (long xi = 0; xi < long(N); ++xi) {
          if (over_budget_inside()) {
            cut = true;
            continue;
          }
          if (mine(size_t(xi))) walk(walker, order, unit, size_t(xi), R);
        }
      }
      share(false);
      if (cut) break;  // a round cut by the budget: its images have R or R + 1 walks
    }
  }
  if (e.stopped_by == "budget") estimate();
  std::vector<uint8_t> labels(game.labels().begin(), game.labels().begin() + long(K));
  mean.resize(K * n);
  e.population = population_intervals(mean, K, n, labels);  // mean: (K, n) unit means m_xg
  e.per_image = std::move(mean);
  e.images = K;
  e.rounds = *std::min_element(walks.begin(), walks.begin() + long(K));
  e.permutations = 2L * e.rounds;
  for (size_t x = 0; x < K; ++x) e.permutations_total += 2L * walks[x];
  lesion.resize(K * n);
  e.lesion = mean_over_images(lesion, K, n);
  e.seconds = clock.seconds();
  return e;
}

// Δ_g(x) = v_x(all) − v_x(all∖{g}) per image.
std::vector<double> lesion_terms(const CoalitionValue& game) {
  const int n = game.regions();
  const size_t N = game.images();
  std::vector<double> per_image(N * n);
#pragma omp parallel
  {
    CoalitionWalker walker(game);
#pragma omp for schedule(dynamic, 1)
    for (long xi = 0; xi < long(N); ++xi) image_lesions(walker, size_t(xi), n, &per_image[size_t(xi) * n]);
  }
  return per_image;
}

// Δ_g = (1/N) Σ_x (v_x(all) − v_x(all∖{g})).
std::vector<double> lesion_scores(const CoalitionValue& game) {
  return mean_over_images(lesion_terms(game), game.images(), game.regions());
}

// T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu, v = (1/N) Σ_x log p(y_x|x); ∂v/∂logits = −(count/N)·∂CE/∂logits
// of the chunk's mean cross-entropy, pulled back to the block by net.backward.
void taylor_chunk_terms(const CoalitionValue& game, size_t first, int count, std::vector<double>& terms) {
  nn::Network& net = game.net();
  const run::RegionGrid& grid = game.grid();
  const int C = grid.channels, H = grid.height, W = grid.width, n = game.regions();
  const size_t N = game.images(), U = game.block_units();
  nn::Tensor a, dlogits, grad_hwc(1, 1, 1, int(U));
  {
    std::vector<float> scratch;  // a game without activations recomputes the chunk's
    const float* acts = game.chunk_activations(first, count, scratch);
    a.resize(count, C, H, W);
    for (int i = 0; i < count; ++i) to_channels_first(acts + size_t(i) * U, C, H, W, a.sample(i));
    game.prepare_forward_from(first, count);
    const nn::Tensor& logits = net.forward_from(game.block(), a);
    nn::softmax_cross_entropy(logits, &game.labels()[first], &dlogits);
    const float scale = -float(count) / float(N);
    for (size_t i = 0; i < dlogits.size(); ++i) dlogits[i] *= scale;
    net.backward(dlogits, false, game.block());
    const nn::Tensor& grad = net.output_grad(game.block());
    for (int i = 0; i < count; ++i) {
      to_channels_last(grad.sample(i), C, H, W, grad_hwc.data());
      const float* act = acts + size_t(i) * U;
      for (int g = 0; g < n; ++g) {
        double s = 0;
        for (int u : game.units(g)) s += double(act[u] - game.baseline()[u]) * grad_hwc[u];
        terms[(first + i) * n + g] = s;
      }
    }
  }
}

std::vector<double> taylor_terms(const CoalitionValue& game) {
  std::vector<double> terms(game.images() * size_t(game.regions()), 0.0);
  for (size_t first = 0; first < game.images(); first += kGameChunk)
    taylor_chunk_terms(game, first, int(std::min<size_t>(kGameChunk, game.images() - first)), terms);
  return terms;
}

std::vector<double> taylor_over(const std::vector<double>& terms, size_t N, int n, size_t images) {
  std::vector<double> taylor(n, 0.0);
  for (size_t x = 0; x < images; ++x)
    for (int g = 0; g < n; ++g) taylor[g] += terms[x * n + g];
  if (images < N)
    for (double& t : taylor) t *= double(N) / double(images);
  return taylor;
}

std::vector<double> taylor_scores(const CoalitionValue& game) {
  return taylor_over(taylor_terms(game), game.images(), game.regions(), game.images());
}

}  // namespace imaging
