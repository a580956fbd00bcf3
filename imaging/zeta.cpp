// imaging/zeta.cpp — the lesion game of a block (CoalitionValue), its estimators (exact, sampled
// Shapley, lesion, taylor) and the ζ stage over every block (zeta_analysis).  The formulas are
// written once in imaging/zeta.h.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>

#include "imaging/zeta.h"
#include "base/error.h"
#include "nn/loss.h"
#include "nn/rng.h"
#include "nn/trainer.h"

namespace imaging {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int kChunk = 8;  // images per dense forward: bounds the net's activation buffers (peak RSS)
constexpr int kMaxExactRegions = 16;

// dst (cols, rows) = srcᵀ, src (rows, cols): (C, H·W) → (H·W, C) is channels-first → channels-last
// of one image, and (H·W, C) → (C, H·W) the way back.
void transpose(const float* src, int rows, int cols, float* dst) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) dst[size_t(c) * rows + r] = src[size_t(r) * cols + c];
}
void to_channels_last(const float* chw, int C, int H, int W, float* hwc) { transpose(chw, C, H * W, hwc); }
void to_channels_first(const float* hwc, int C, int H, int W, float* chw) { transpose(hwc, H * W, C, chw); }

std::string block_name(const nn::Network& net, int b) { return net.blocks()[b].name; }

}  // namespace

void image_values(const nn::Tensor& logits, const uint8_t* labels, bool accuracy, double* out) {
  if (!accuracy) {
    nn::log_prob_of_label(logits, labels, out);
    return;
  }
  for (int n = 0; n < logits.n(); ++n) out[n] = nn::predicted_class(logits.sample(n), logits.c()) == labels[n];
}

// ---------------------------------------------------------------------------------------------
// Settings and the evaluation sample

void validate(const ZetaSettings& s) {
  if (s.method != "exact" && s.method != "shapley" && s.method != "lesion" && s.method != "taylor")
    throw base::Error("--zeta-method '" + s.method + "': expected exact, shapley, lesion or taylor");
  if (s.value != "logprob" && s.value != "accuracy")
    throw base::Error("--zeta-value '" + s.value + "': expected logprob or accuracy");
  if (s.ablation != "zero" && s.ablation != "mean")
    throw base::Error("--zeta-ablation '" + s.ablation + "': expected zero or mean");
  if (s.samples < 1) throw base::Error("--zeta-samples 0: expected a positive number of test images");
  if (!std::isfinite(s.tolerance))
    throw base::Error("--zeta-tol: expected a finite half-width (or < 0 for 0.05·max|φ|)");
  if (!(s.budget_seconds > 0) || !std::isfinite(s.budget_seconds))
    throw base::Error("--zeta-budget " + std::to_string(s.budget_seconds) + ": expected a positive number of seconds");
  if (s.max_permutations < 4)
    throw base::Error("--zeta-max-permutations " + std::to_string(s.max_permutations) +
                    ": expected at least 4 (two antithetic rounds, the fewest an interval needs)");
}

std::vector<uint32_t> stratified_sample(const nn::LabeledImages& data, size_t pool, size_t samples, uint64_t seed) {
  const size_t available = std::min(pool, data.count);
  int classes = data.num_classes;
  for (size_t i = 0; i < available; ++i) classes = std::max(classes, int(data.labels[i]) + 1);
  std::vector<std::vector<uint32_t>> by_class(classes);
  for (size_t i = 0; i < available; ++i) by_class[data.labels[i]].push_back(uint32_t(i));
  for (int c = 0; c < classes; ++c) {
    nn::Rng rng = nn::Rng::derive(seed, 0x5A3B1E, uint64_t(c));
    auto& v = by_class[c];
    rng.shuffle(v.data(), v.size());
  }
  std::vector<uint32_t> chosen;
  std::vector<size_t> next(classes, 0);
  for (bool progress = true; progress && chosen.size() < samples;) {
    progress = false;
    for (int c = 0; c < classes && chosen.size() < samples; ++c)
      if (next[c] < by_class[c].size()) {
        chosen.push_back(by_class[c][next[c]++]);
        progress = true;
      }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// CoalitionValue

double CoalitionValue::mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}

CoalitionValue::CoalitionValue(nn::Network& net, int block, const run::GridSpec& spec, const nn::LabeledImages& data,
                               const std::vector<uint32_t>& eval_indices, const ZetaSettings& settings)
    : net_(net), block_(block), accuracy_(settings.value == "accuracy") {
  if (block < 0 || block >= int(net.blocks().size()))
    throw base::Error("ζ: block index " + std::to_string(block) + " is not a block of the net");
  if (eval_indices.empty()) throw base::Error("--zeta-samples: the evaluation sample is empty");
  const nn::Shape shape = net.blocks()[block].output_shape;
  const int C = shape.c, H = shape.h, W = shape.w;
  grid_ = run::RegionGrid(H, W, C, spec);
  region_units_.assign(grid_.count(), {});
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w)
      for (int c = 0; c < C; ++c) region_units_[grid_.region_of(c, h, w)].push_back((h * W + w) * C + c);

  // The block's activations of the sample and v_x(all) by dense forwards of kChunk images.
  const size_t N = eval_indices.size(), U = block_units();
  labels_.resize(N);
  activations_.resize(N * U);
  image_v_all_.resize(N);
  nn::Tensor x;
  std::vector<uint8_t> y;
  for (size_t first = 0; first < N; first += kChunk) {
    const int count = int(std::min<size_t>(kChunk, N - first));
    nn::make_batch(net, data, eval_indices.data() + first, count, nullptr, 0, 0, 0, x, y);
    for (int i = 0; i < count; ++i)
      if (y[i] >= net.num_outputs())
        throw base::Error("ζ: test image " + std::to_string(eval_indices[first + i]) + " has label " +
                        std::to_string(y[i]) + " but the net has " + std::to_string(net.num_outputs()) + " outputs");
    const nn::Tensor& logits = net.forward(x, false);
    image_values(logits, y.data(), accuracy_, &image_v_all_[first]);
    std::copy(y.begin(), y.end(), labels_.begin() + long(first));
    const nn::Tensor& a = net.output(block);
    for (int i = 0; i < count; ++i) to_channels_last(a.sample(i), C, H, W, &activations_[(first + i) * U]);
  }

  // The baseline: 0, or each unit's mean over the sample.
  baseline_.assign(U, 0.f);
  if (settings.ablation == "mean") {
    std::vector<double> sum(U, 0.0);
    for (size_t n = 0; n < N; ++n)
      for (size_t u = 0; u < U; ++u) sum[u] += activations_[n * U + u];
    for (size_t u = 0; u < U; ++u) baseline_[u] = float(sum[u] / double(N));
  }

  build_replay(NetView(net));

  // The all-lesioned state: one forward of the baseline, every later block captured by a probe.
  const size_t states = replay_.size() + 1;
  empty_z_.assign(states, {});
  empty_a_.assign(states, {});
  empty_a_[0] = baseline_;
  nn::Tensor b(1, C, H, W);
  to_channels_first(baseline_.data(), C, H, W, b.data());
  nn::Probe capture = [&](const nn::BlockView& view) {
    const size_t k = size_t(view.index - block_);
    const nn::Shape s = view.a.shape();
    empty_z_[k].resize(s.per_sample());
    empty_a_[k].resize(s.per_sample());
    to_channels_last(view.z.data(), s.c, s.h, s.w, empty_z_[k].data());
    to_channels_last(view.a.data(), s.c, s.h, s.w, empty_a_[k].data());
  };
  const nn::Tensor& empty_logits = net.forward_from(block, b, &capture);
  image_v_none_.resize(N);
  for (size_t n = 0; n < N; ++n) image_values(empty_logits, &labels_[n], accuracy_, &image_v_none_[n]);
}

// One replayed block per block after the lesioned one; weights re-laid channels-last, batch norm folded.
void CoalitionValue::build_replay(const NetView& view) {
  using Axis = NetView::Axis;
  for (int b = block_ + 1; b < view.size(); ++b) {
    if (view.single_input(b, "ζ") != b - 1)
      throw base::Error("ζ: block " + view.block(b).name + " is not fed by the block before it; the lesion game replays a chain");
    const ImagedBlock& k = view.block(b);
    ReplayBlock r;
    r.op = k.op;
    r.activation = k.activation;
    r.in_c = k.input.c, r.in_h = k.input.h, r.in_w = k.input.w;
    r.out_c = k.output.c, r.out_h = k.output.h, r.out_w = k.output.w;
    r.kh = k.window.kh, r.kw = k.window.kw;
    switch (k.op) {
      case BlockOp::convolution:  // (C, KH·KW, OC)
        r.weight = view.folded_weights(b, {Axis::in, Axis::tap, Axis::out});
        break;
      case BlockOp::dense:  // (H·W, C, OUT): the taps of a dense block are the input positions
        r.weight = view.folded_weights(b, {Axis::tap, Axis::in, Axis::out});
        break;
      case BlockOp::max_pool:
      case BlockOp::average_pool:
        break;
    }
    if (k.op != BlockOp::dense) {
      const ReceptiveField field = view.receptive_field(b);
      field.fan_out(r.fan_begin, r.fan_position, r.fan_tap);
      if (k.op == BlockOp::max_pool) field.windows(r.window_begin, r.window);
    }
    replay_.push_back(std::move(r));
  }
}

void CoalitionValue::lesioned_batch(size_t first, int count, const std::vector<bool>& coalition, nn::Tensor& a) const {
  const int C = grid_.channels, H = grid_.height, W = grid_.width;
  const size_t U = block_units();
  a.resize(count, C, H, W);
  std::vector<float> hwc(U);
  for (int i = 0; i < count; ++i) {
    const float* act = activation(first + size_t(i));
    hwc = baseline_;
    for (int g = 0; g < regions(); ++g)
      if (coalition[g])
        for (int u : region_units_[g]) hwc[u] = act[u];
    to_channels_first(hwc.data(), C, H, W, a.sample(i));
  }
}

double CoalitionValue::value(const std::vector<bool>& coalition) {
  if (int(coalition.size()) != regions())
    throw base::Error("ζ: a coalition of " + std::to_string(coalition.size()) + " flags for " +
                    std::to_string(regions()) + " regions");
  nn::Tensor a;
  std::vector<double> v(images());
  for (size_t first = 0; first < images(); first += kChunk) {
    const int count = int(std::min<size_t>(kChunk, images() - first));
    lesioned_batch(first, count, coalition, a);
    image_values(net_.forward_from(block_, a), &labels_[first], accuracy_, &v[first]);
  }
  return mean_of(v);
}

// ---------------------------------------------------------------------------------------------
// Estimators

namespace {

// A deterministic score (exact, lesion, taylor): no sampling error.
ShapleyEstimate deterministic(std::vector<double> phi) {
  ShapleyEstimate e;
  e.ci_low = e.ci_high = phi;
  e.p_value.resize(phi.size());
  for (size_t g = 0; g < phi.size(); ++g) e.p_value[g] = phi[g] != 0 ? 0.0 : 1.0;
  e.phi = std::move(phi);
  e.stopped_by = "complete";
  return e;
}

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
  const auto t0 = Clock::now();
  const int n = game.regions();
  if (n > kMaxExactRegions)
    throw base::Error("--zeta-method exact: block " + block_name(game.net(), game.block()) + " has " +
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
    const double projected = seconds_since(t0) * double(N) / omp_get_max_threads();
    if (projected > budget_seconds)
      throw base::Error("--zeta-method exact: block " + block_name(game.net(), game.block()) + " would take about " +
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
  ShapleyEstimate e = deterministic(mean_over_images(per_image, N, n));
  e.stopped_by = "exact";
  e.seconds = seconds_since(t0);
  return e;
}

// See imaging/zeta.h: per-image antithetic permutations, stratified variance, Satterthwaite ν.
ShapleyEstimate shapley_sampled(const CoalitionValue& game, double tolerance, double budget_seconds,
                                int max_permutations, uint64_t seed) {
  const auto t0 = Clock::now();
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
      if (seconds_since(t0) + slowest_round > budget_seconds) {
        e.stopped_by = "budget";
        break;
      }
    }
    const auto round_start = Clock::now();
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
    slowest_round = std::max(slowest_round, seconds_since(round_start));
  }
  e.rounds = R;
  e.permutations = 2L * R;
  e.seconds = seconds_since(t0);
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
  for (size_t first = 0; first < N; first += kChunk) {
    const int count = int(std::min<size_t>(kChunk, N - first));
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

ZetaScores zeta_scores(const ShapleyEstimate& est) {
  ZetaScores z;
  const std::vector<double>& phi = est.phi;
  const int n = int(phi.size());
  double var = 0;
  for (double p : phi) z.mean += p;
  z.mean /= n;
  for (double p : phi) var += (p - z.mean) * (p - z.mean);
  z.sd = n > 1 ? std::sqrt(var / (n - 1)) : 0;
  z.zeta.resize(size_t(n));
  for (int g = 0; g < n; ++g) z.zeta[g] = z.sd > 0 ? (phi[g] - z.mean) / z.sd : 0;
  z.p_adjusted = benjamini_hochberg(est.p_value);
  z.significant.resize(size_t(n));
  for (int g = 0; g < n; ++g) {
    z.significant[g] = z.p_adjusted[g] < 0.01;
    if (z.zeta[g] >= 2 && z.significant[g]) z.critical.push_back(g);
  }
  std::stable_sort(z.critical.begin(), z.critical.end(), [&](int a, int b) { return z.zeta[a] > z.zeta[b]; });
  return z;
}

// ---------------------------------------------------------------------------------------------
// The ζ stage

namespace {

void require_finite(double v, const std::string& what, const std::string& block) {
  if (!std::isfinite(v))
    throw base::Error("ζ stage, block " + block + ": " + what + " is not finite (the lesioned net overflowed?)");
}

nlohmann::ordered_json layer_json(const CoalitionValue& game, const ZetaSettings& s, const ShapleyEstimate& est,
                                  const std::vector<double>& lesion, const std::vector<double>& taylor,
                                  const std::vector<uint32_t>& indices, double seconds) {
  const run::RegionGrid& grid = game.grid();
  const std::string name = block_name(game.net(), game.block());
  const int n = game.regions();
  const std::vector<double>& phi = est.phi;
  const ZetaScores z = zeta_scores(est);
  const double mean = z.mean, sd = z.sd;
  const std::vector<double>& zeta = z.zeta;
  double sum = 0, widest = 0;
  for (int g = 0; g < n; ++g) {
    sum += phi[g];
    widest = std::max(widest, 0.5 * (est.ci_high[g] - est.ci_low[g]));
  }
  const bool is_shapley = s.method == "exact" || s.method == "shapley";

  nlohmann::ordered_json j;
  j["method"] = s.method;
  j["value_function"] = s.value;
  j["ablation"] = s.ablation;
  j["grid"] = std::to_string(grid.gh) + "x" + std::to_string(grid.gw) + "x" + std::to_string(grid.gc);
  j["region_count"] = n;
  j["eval_samples"] = indices.size();
  j["eval_indices"] = indices;
  j["permutations"] = est.permutations;  // per image
  j["permutations_total"] = est.permutations * long(indices.size());
  j["rounds"] = est.rounds;
  j["seconds"] = seconds;
  j["stopped_by"] = est.stopped_by;
  j["tolerance"] = est.tolerance;
  j["max_ci_half_width"] = widest;
  j["v_all"] = game.v_all();
  j["v_none"] = game.v_none();
  j["sum_phi"] = sum;
  nlohmann::ordered_json regions = nlohmann::ordered_json::object();
  for (int g = 0; g < n; ++g) {
    nlohmann::ordered_json r;
    const double lo = sd > 0 ? (est.ci_low[g] - mean) / sd : 0, hi = sd > 0 ? (est.ci_high[g] - mean) / sd : 0;
    const bool significant = z.significant[g];
    r["zeta_score"] = zeta[g];
    r["confidence_interval"] = {lo, hi};
    r["significance"] = significant;
    if (is_shapley) {
      r["shapley"] = phi[g];
      r["shapley_ci"] = {est.ci_low[g], est.ci_high[g]};
    }
    r["p_value"] = est.p_value[g];
    r["p_adjusted"] = z.p_adjusted[g];
    r["lesion"] = lesion[g];
    r["taylor"] = taylor[g];
    for (double v : {zeta[g], lo, hi, phi[g], est.ci_low[g], est.ci_high[g], lesion[g], taylor[g]})
      require_finite(v, grid.key(g) + " score", name);
    regions[grid.key(g)] = std::move(r);
  }
  for (double v : {seconds, game.v_all(), game.v_none(), sum, widest, est.tolerance}) require_finite(v, "a summary", name);
  j["regions"] = std::move(regions);
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (int g : z.critical) keys.push_back(grid.key(g));
  j["critical_regions"] = std::move(keys);
  j["critical_share"] = double(z.critical.size()) / n;
  return j;
}

}  // namespace

nlohmann::ordered_json zeta_analysis(nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                     const run::GridSpec& grid, const ZetaSettings& s) {
  validate(s);
  const std::vector<uint32_t> indices = stratified_sample(test, pool, s.samples, s.seed);
  if (indices.empty())
    throw base::Error("--zeta-samples: no test images among the first " + std::to_string(pool) + " to evaluate on");
  const auto& blocks = net.blocks();
  if (s.method == "exact")
    for (const nn::Block& b : blocks) {
      const run::RegionGrid g(b.output_shape.h, b.output_shape.w, b.output_shape.c, grid);
      if (g.count() > kMaxExactRegions)
        throw base::Error("--zeta-method exact: block " + b.name + " has " + std::to_string(g.count()) +
                        " regions, more than the " + std::to_string(kMaxExactRegions) +
                        " that can be enumerated; use a coarser --grid or --zeta-method shapley");
    }

  nlohmann::ordered_json out;
  nlohmann::ordered_json& settings = out["settings"];
  settings["method"] = s.method;
  settings["value_function"] = s.value;
  settings["ablation"] = s.ablation;
  settings["grid"] = std::to_string(grid.gh) + "x" + std::to_string(grid.gw) + "x" + std::to_string(grid.gc);
  settings["samples"] = s.samples;
  settings["pool"] = pool;
  settings["tolerance"] = s.tolerance;
  settings["budget_seconds"] = s.budget_seconds;
  settings["seed"] = s.seed;
  settings["max_permutations"] = s.max_permutations;
  settings["taylor_value_function"] = "logprob";  // accuracy has no useful gradient
  settings["threads"] = omp_get_max_threads();
  nlohmann::ordered_json& layers = out["layers"];
  layers = nlohmann::ordered_json::object();
  // Blocks run from the output back to the input: the late blocks are cheap and usually stop by
  // tolerance, and the time they leave unused is shared equally among the blocks still to run, so
  // the early, expensive blocks get more permutations while the total stays within blocks × budget
  // (plus the two-round minimum of a block whose budget is too small even for that).
  std::vector<nlohmann::ordered_json> results(blocks.size());
  double carried = 0;
  for (size_t b = blocks.size(); b-- > 0;) {
    const auto t0 = Clock::now();
    const double share = carried / double(b + 1);
    carried -= share;
    const double budget = s.budget_seconds + share;
    CoalitionValue game(net, int(b), grid, test, indices, s);
    const double setup_seconds = seconds_since(t0);
    const std::vector<double> lesion = lesion_scores(game);
    const double lesion_seconds = seconds_since(t0) - setup_seconds;
    const std::vector<double> taylor = taylor_scores(game);
    const double taylor_seconds = seconds_since(t0) - setup_seconds - lesion_seconds;
    ShapleyEstimate est;
    if (s.method == "exact") {
      est = shapley_exact(game, std::max(0.0, budget - seconds_since(t0)));
    } else if (s.method == "shapley") {
      const uint64_t layer_seed = nn::Rng::derive(s.seed, 0x2E7A, b).next();
      est = shapley_sampled(game, s.tolerance, std::max(0.0, budget - seconds_since(t0)), s.max_permutations,
                            layer_seed);
    } else {
      est = deterministic(s.method == "lesion" ? lesion : taylor);
    }
    const double seconds = seconds_since(t0);
    carried += std::max(0.0, budget - seconds);
    results[b] = layer_json(game, s, est, lesion, taylor, indices, seconds);
    results[b]["budget_seconds"] = budget;
    results[b]["timing"] = {{"setup", setup_seconds}, {"lesion", lesion_seconds}, {"taylor", taylor_seconds},
                            {"shapley", est.seconds}};
  }
  for (size_t b = 0; b < blocks.size(); ++b) layers[blocks[b].name] = std::move(results[b]);
  return out;
}

}  // namespace imaging
