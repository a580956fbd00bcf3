// imaging/zeta.h — ζ-scores: the causal impact of every region of a block on the net's output,
// as Shapley values of a lesion game, with confidence intervals, fast enough to run every epoch.
//
// The game (nn-fmri-method.md, "Impact Assessment"; the definitions):
//  - Lesioning region g of block l replaces its activations by a baseline b_u: 0 (ablation `zero`)
//    or the unit's mean over the evaluation sample (`mean`).  Only block l is lesioned; every layer
//    after it computes normally (nn::Network::forward_from).
//  - v(S) = (1/N) Σ_x v_x(S): the mean over the N evaluation images of log p(y|x) (`logprob`) or of
//    1[argmax = y] (`accuracy`), with the regions outside S lesioned.  v(∅) = every region lesioned.
//  - Shapley value φ_g = E_π[v(P_π(g) ∪ {g}) − v(P_π(g))], π a uniform permutation of the regions.
//    Efficiency: Σ_g φ_g = v(all) − v(∅).
//  - ζ_g = (φ_g − mean φ)/sd φ over the block's regions (sd with n−1; ζ = 0 when sd = 0); the
//    interval of ζ is φ's interval mapped by the same affine map.  p-values are BH-adjusted over
//    the block's regions; significance = adjusted p < 0.01; critical = ζ ≥ 2 and significant.
//
// Estimators (all work on a CoalitionValue; exact and shapley satisfy efficiency to float rounding):
//  - exact:   enumeration of all 2^n coalitions per image, n ≤ 16: a depth-first walk that adds
//             regions in increasing index order and returns to a branch point by undoing (bit-
//             exact journal), so every v_x(S) is the same sequence of additions and a region
//             that changes nothing has φ exactly 0.  Deterministic: interval [φ, φ], p = 0 if φ ≠ 0
//             else 1 (there is no sampling error to test).
//  - shapley: per-image antithetic permutation sampling.  Because v is a mean of per-image games and
//             Shapley values are linear, φ_g = (1/N) Σ_x φ_g(x).  Every round draws, for EVERY image
//             independently, a permutation π and walks it forward (∅ → all, adding) and back
//             (all → ∅, removing in π's order = adding in reverse(π)'s order); the image's unit for
//             region g is the mean of its two marginals (the antithetic pair is one independent
//             unit).  Independent permutations per image average the permutation noise over the
//             images, which is far less noisy than one permutation shared by all images.
//             Estimate: φ̂_g = (1/N) Σ_x m_xg, m_xg = mean of image x's R units (stratified sampling,
//             strata = images).  Variance: V̂_g = (1/N²) Σ_x s²_xg / R (s² over R ≥ 2 units), with
//             Welch–Satterthwaite degrees of freedom ν_g = V̂_g² / Σ_x (s²_xg/(N²R))²/(R−1).
//             95% interval φ̂ ± t_{0.975,ν}·√V̂; p from the two-sided t-test of φ̂ against 0 with ν.
//             Each unit's marginals telescope to v̂_x(all) − v_x(∅): the start is the exact
//             all-lesioned state, the end the incremental full state, equal to the dense forward up
//             to float rounding (~1e-6), so Σ_g φ̂_g = v(all) − v(∅) for every estimate, and a
//             region that changes nothing has every marginal, hence φ̂, exactly 0 (marginals are
//             differences of consecutive states of one walk, never of two computations).
//             Adaptive: rounds are added until every
//             half-width < tolerance (stopped_by "tolerance"), the next round would exceed the
//             budget ("budget"), or max_permutations per image is reached ("max_permutations").
//             At least 2 rounds always run (an interval needs them).  Stopped by tolerance or
//             max_permutations, the numbers depend only on the seed (not on timing or threads).
//  - lesion:  Δ_g = v(all) − v(all∖{g}), exact.
//  - taylor:  T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu from one backward pass of the log-prob value
//             (accuracy has zero gradient almost everywhere, so taylor always uses logprob).
//  lesion and taylor are deterministic: interval [Δ, Δ], p = 0 if Δ ≠ 0 else 1; stopped_by
//  is "exact" for exact and "complete" for them.
//
// Speed: every estimator except taylor runs an incremental forward (CoalitionWalker): the blocks
// after l are kept per image in channels-last layout, and adding/removing a region pushes only
// the changed activations through (a conv scatters each change into the outputs in its receptive
// field, a relu/max-pool forwards only outputs that actually changed).  The all-lesioned state
// does not depend on the image, so each walk starts from one copy of it; images are independent,
// so the threads share nothing but the read-only game, and any thread count gives the same bits.
// Measured (bench/bench_zeta.cpp: `reference` trained to 54% on the CIFAR-10 subset, 8x8x4 grid,
// 256 images, 2 cores): one step (one region added or removed, every later layer updated, one
// image) costs 6.2 µs for conv1, 1.9 µs conv2, 0.3 µs conv3, against 193/103/31 µs for the same
// coalition by a dense forward_from.  The whole stage (5 s per block, unused time shared, see
// zeta_analysis) takes 40 s: conv1/pool1 stop by budget at 36-38 permutations per image with
// half-widths within 15% of the tolerance, every other block by tolerance; peak RSS 84 MB.  (A
// fixed 6 s per block: 18 s, but conv1/pool1 at 12-14 permutations and 2× the tolerance.)  Random
// weights make steps ~5× dearer (denser relus): 40 s, conv1/pool1 at the 2-round minimum.
// taylor for all 8 blocks: 0.3 s.  Measured and not kept: allocating rounds to
// the noisiest images (Neyman: at most 13-20% less variance here) and stratifying permutation
// positions (position explains ~3% of the marginals' variance).  Kept: antithetic pairs, whose
// unit has 0.65× the variance of two independent permutations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/net_view.h"
#include "run/region_grid.h"
#include "nn/data.h"
#include "nn/network.h"

namespace imaging {

struct ZetaSettings {
  std::string method = "shapley";   // --zeta-method: exact | shapley | lesion | taylor
  std::string value = "logprob";    // --zeta-value: logprob | accuracy
  std::string ablation = "zero";    // --zeta-ablation: zero | mean
  size_t samples = 256;             // --zeta-samples: stratified, classes balanced, from the first `pool` test images
  double tolerance = -1;            // --zeta-tol: CI half-width target; < 0 means 0.05·max|φ|
  double budget_seconds = 5;        // --zeta-budget: seconds per block, all its ζ work included; blocks run
                                    // output first and share unused time (8 blocks ≤ 40 s + 2-round minimums)
  uint64_t seed = 1;                // --zeta-seed
  int max_permutations = 4096;      // --zeta-max-permutations: per image (2 per round), a safety cap
};

// Throws base::Error naming the flag (--zeta-method, --zeta-value, ...) of the first bad value.
void validate(const ZetaSettings& s);

// `samples` indices among the first min(pool, data.count) images, classes as balanced as the pool
// allows: each class's indices are shuffled by Rng::derive(seed, class), then classes are visited
// round-robin (0, 1, …, K−1, 0, …), each giving its next index.  Returned sorted ascending.
std::vector<uint32_t> stratified_sample(const nn::LabeledImages& data, size_t pool, size_t samples, uint64_t seed);

// One block's lesion game on a fixed evaluation sample.  Holds the block's activations for the
// sample (channels-last), the baseline, each region's units, and the layers after the block
// re-laid for incremental recomputation.  Reads the net; does not change its parameters.
class CoalitionValue {
 public:
  CoalitionValue(nn::Network& net, int block, const run::GridSpec& grid, const nn::LabeledImages& data,
                 const std::vector<uint32_t>& eval_indices, const ZetaSettings& settings);

  int block() const { return block_; }
  const run::RegionGrid& grid() const { return grid_; }
  int regions() const { return grid_.count(); }
  size_t images() const { return labels_.size(); }
  bool accuracy() const { return accuracy_; }

  // v(S) by a dense forward_from of the lesioned activations (the definition; for checks).
  double value(const std::vector<bool>& coalition);
  double v_all() const { return mean_of(image_v_all_); }
  double v_none() const { return mean_of(image_v_none_); }
  const std::vector<double>& image_v_all() const { return image_v_all_; }    // (N) v_x(all), dense forward
  const std::vector<double>& image_v_none() const { return image_v_none_; }  // (N) v_x(∅), dense forward

  // The block's activation of image x (H·W·C, channels-last), its baseline and region g's units
  // (channels-last indices).
  const float* activation(size_t x) const { return activations_.data() + x * block_units(); }
  const std::vector<float>& baseline() const { return baseline_; }
  const std::vector<int>& units(int g) const { return region_units_[g]; }
  size_t block_units() const { return size_t(grid_.height) * grid_.width * grid_.channels; }

  // A block after the lesioned one, replayed channels-last: input (in_h, in_w, in_c) → output
  // (out_h, out_w, out_c), as imaging/net_view.h reads it.
  struct ReplayBlock {
    BlockOp op = BlockOp::convolution;
    Activation activation = Activation::identity;
    int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
    int kh = 1, kw = 1;
    // Convolution (C, KH·KW, OC); dense (H·W·C in (h, w, c) order, OUT); batch norm folded in.  The
    // bias is not needed: it lives in the starting state and deltas do not see it.
    std::vector<float> weight;
    // Convolution and pools: input position p = h·in_w + w reaches output positions
    // fan_position[fan_begin[p] .. fan_begin[p+1]) through kernel tap fan_tap[...] = dy·KW + dx.
    std::vector<int> fan_begin, fan_position, fan_tap;
    // Max pool: output position q reads input positions window[window_begin[q] .. window_begin[q+1]).
    std::vector<int> window_begin, window;
  };
  const std::vector<ReplayBlock>& replay_blocks() const { return replay_; }
  // The all-lesioned state, the same for every image: pre-activation and output of every replayed
  // block (channels-last); state 0 is the lesioned block itself, state k the output of replay block k−1.
  const std::vector<std::vector<float>>& empty_z() const { return empty_z_; }
  const std::vector<std::vector<float>>& empty_a() const { return empty_a_; }

  // Labels of the evaluation sample, in eval_indices order.
  const std::vector<uint8_t>& labels() const { return labels_; }
  nn::Network& net() const { return net_; }

 private:
  static double mean_of(const std::vector<double>& v);
  void lesioned_batch(size_t first, int count, const std::vector<bool>& coalition, nn::Tensor& a) const;
  void build_replay(const NetView& view);
  nn::Network& net_;
  int block_;
  run::RegionGrid grid_;
  bool accuracy_;
  std::vector<uint8_t> labels_;
  std::vector<float> activations_;  // (N, H·W·C) channels-last
  std::vector<float> baseline_;     // (H·W·C)
  std::vector<std::vector<int>> region_units_;
  std::vector<double> image_v_all_, image_v_none_;
  std::vector<ReplayBlock> replay_;
  std::vector<std::vector<float>> empty_z_, empty_a_;
};

// Incremental forward of one image's lesion game: the state of every replayed block for the current
// coalition S.  add/remove push only the changed activations through them and return v_x.
// States drift from a dense forward only by float rounding of the accumulated deltas.
class CoalitionWalker {
 public:
  explicit CoalitionWalker(const CoalitionValue& game);
  void start_empty(size_t image);  // S = ∅ (exact copy of the all-lesioned state); clears the journal
  void start_full(size_t image);   // S = all regions (one incremental pass of the whole block)
  double add(int region);          // S ← S ∪ {g}; returns v_x(S)
  double remove(int region);       // S ← S ∖ {g}; returns v_x(S)
  double value() const;            // v_x(S)
  const std::vector<float>& logits() const { return a_.back(); }  // (classes)
  // Undo journal: while on, every state entry a step overwrites is saved first, so undo(mark)
  // returns bit-exactly to the state at mark() at the cost of the entries touched since.
  struct Mark {
    size_t entries = 0, floats = 0;
  };
  void set_journal(bool on);  // on or off (the default); either way starts it empty
  Mark mark() const { return {journal_where_.size(), journal_saved_.size()}; }
  void undo(const Mark& m);

 private:
  // The units of a state changed by the current step: position (h·W + w), channel, delta.
  struct Changes {
    std::vector<int> position, channel;
    std::vector<float> delta;
    int count = 0;
  };
  // Output entries of a replayed block that the current step must re-read (each listed once).
  struct Touched {
    std::vector<uint8_t> mark;  // per entry
    std::vector<int> position, channel;
    int count = 0;
  };
  void set_units(const std::vector<int>& units, const float* target);
  void propagate();
  void remember(float* p, int count) {
    if (!journal_on_) return;
    journal_where_.push_back(p);
    journal_count_.push_back(count);
    journal_saved_.insert(journal_saved_.end(), p, p + count);
  }
  const CoalitionValue& game_;
  size_t image_ = 0;
  std::vector<std::vector<float>> z_, a_;  // per state, as in CoalitionValue::empty_*
  std::vector<Changes> changes_;           // per state
  std::vector<Touched> touched_;           // per replayed block
  std::vector<float> moved_;               // (widest block) scratch of one output row's moves
  std::vector<uint8_t> flags_;             // (widest block + 8) which of them moved
  bool journal_on_ = false;
  std::vector<float*> journal_where_;      // per saved run: where it lives,
  std::vector<int> journal_count_;         // how many floats,
  std::vector<float> journal_saved_;       // and their old values, runs in order
  mutable nn::Tensor logits_;              // (1, classes, 1, 1) for image_values
};

struct ShapleyEstimate {
  std::vector<double> phi, ci_low, ci_high, p_value;  // per region
  int rounds = 0;                                      // sampled: antithetic rounds per image
  long permutations = 0;                               // sampled: permutations walked per image (2·rounds)
  std::string stopped_by;                              // "exact" | "tolerance" | "budget" | "max_permutations"
  double tolerance = 0;                                // the half-width target that was used
  double seconds = 0;
};

// Exact Shapley values (n ≤ 16; throws base::Error naming the block and its region count otherwise).
// The first image is timed: if all images would take longer than budget_seconds, throws base::Error
// with the projection (2^n coalitions per image can take hours on an early block of a big net).
ShapleyEstimate shapley_exact(const CoalitionValue& game, double budget_seconds = 1e300);
// Permutation-sampled Shapley values, as described at the top.  budget_seconds counts from the call.
ShapleyEstimate shapley_sampled(const CoalitionValue& game, double tolerance, double budget_seconds,
                                int max_permutations, uint64_t seed);
// Δ_g = v(all) − v(all∖{g}).
std::vector<double> lesion_scores(const CoalitionValue& game);
// T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu with v the mean log-prob (one backward pass per chunk).
std::vector<double> taylor_scores(const CoalitionValue& game);

// out[n] = v_{x_n} of logits (N, K, 1, 1): log p(label) (nn::log_prob_of_label) or, with accuracy,
// 1 when the first maximum is the label (nn::softmax_cross_entropy's rule), else 0.
void image_values(const nn::Tensor& logits, const uint8_t* labels, bool accuracy, double* out);

// ζ_g = (φ_g − mean φ)/sd φ over the block's regions (sd with n−1; 0 when sd = 0), the
// Benjamini–Hochberg-adjusted p-values, and the critical regions: ζ ≥ 2 and adjusted p < 0.01,
// sorted by ζ (descending, ties in region order).  The one definition zeta.json, tests and
// benchmarks use.
struct ZetaScores {
  double mean = 0, sd = 0;
  std::vector<double> zeta, p_adjusted;
  std::vector<uint8_t> significant;  // p_adjusted < 0.01
  std::vector<int> critical;
};
ZetaScores zeta_scores(const ShapleyEstimate& est);

// Statistics, implemented here to need no dependency.
double regularized_incomplete_beta(double a, double b, double x);  // I_x(a, b)
double student_t_two_sided_p(double t, double df);                  // P(|T_df| ≥ |t|), df capped at 10⁶
double student_t_quantile(double p, double df);                     // F⁻¹(p), 0 < p < 1, df capped at 10⁶
std::vector<double> benjamini_hochberg(const std::vector<double>& p);  // adjusted p-values

// The ζ stage on every block (conv*, pool*, fc*, output): returns the content of zeta.json,
// {"settings": {...}, "layers": {"conv1": {...}, ...}} (layers in network order).  Blocks are
// computed from the output back to the input, each with budget_seconds plus an equal share
// (1/blocks still to run) of the time the blocks after it left unused (its "budget_seconds").  Per layer: method, value_function,
// ablation, grid, region_count, eval_samples, eval_indices, permutations (per image),
// permutations_total, rounds, seconds, stopped_by, tolerance, max_ci_half_width, v_all, v_none,
// sum_phi (= v_all − v_none for exact/shapley), regions {key: {zeta_score, confidence_interval,
// significance, shapley, shapley_ci (exact/shapley only), p_value, p_adjusted, lesion, taylor}},
// critical_regions (ζ descending), critical_share, budget_seconds, timing {setup, lesion, taylor,
// shapley}.  Throws base::Error for bad settings, an empty sample, or `exact` on a block with more
// than 16 regions (before any work is done).
nlohmann::ordered_json zeta_analysis(nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                     const run::GridSpec& grid, const ZetaSettings& s);

}  // namespace imaging
