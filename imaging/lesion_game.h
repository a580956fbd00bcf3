// imaging/lesion_game.h — the lesion game of one block: the value v(S) of every coalition S of its
// regions, on a fixed evaluation sample, and the incremental walker that replays it cheaply.
//
// The game (nn-fmri-method.md, "Impact Assessment"; the definitions):
//  - Lesioning region g of block l replaces its activations by a baseline b_u: 0 (ablation `zero`)
//    or the unit's mean over the evaluation sample (`mean`).  Only block l is lesioned; every layer
//    after it computes normally (nn::Network::forward_from), along every path: in a residual net
//    the lesion reaches a later unit's add through its branch and through its shortcut.  A block
//    inside a residual branch (nn::Network::crossed_by_shortcut) has the same game: its regions are
//    lesioned, the rest of the branch and everything after the unit's add recompute, and the add
//    still receives the image's intact input through the shortcut (an "external" input of the
//    game, fixed per image, not lesioned: it comes from a block before the lesioned one).
//  - v(S) = (1/N) Σ_x v_x(S): the mean over the N evaluation images of log p(y|x) (`logprob`) or of
//    1[argmax = y] (`accuracy`), with the regions outside S lesioned.  v(∅) = every region lesioned.
//  - Shapley value φ_g = E_π[v(P_π(g) ∪ {g}) − v(P_π(g))], π a uniform permutation of the regions.
//    Efficiency: Σ_g φ_g = v(all) − v(∅).  The estimators are imaging/shapley.h; ζ is imaging/zeta_scores.h.
//
// Speed: every estimator except taylor runs an incremental forward (CoalitionWalker): the blocks
// after l are kept per image in channels-last layout, and adding/removing a region pushes only
// the changed activations through (a conv scatters each change into the outputs in its receptive
// field, a relu/max-pool forwards only outputs that actually changed).  The all-lesioned state
// does not depend on the image, so each walk starts from one copy of it; images are independent,
// so the threads share nothing but the read-only game, and any thread count gives the same bits.
// Inside a residual branch the all-lesioned state does depend on the image (through the shortcut's
// external input): the game keeps that of the sample's first image, and a walker's start_empty(x)
// pushes the difference of x's external input from it through the replayed blocks incrementally
// (one pass, like start_full), keeping the result for the next start on the same image.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/aligned.h"
#include "imaging/net_view.h"
#include "imaging/zeta_settings.h"
#include "nn/data.h"
#include "nn/network.h"
#include "nn/shards.h"
#include "run/region_grid.h"

namespace imaging {

// `samples` indices among the first min(pool, data.count) images, classes as balanced as the pool
// allows: each class's indices are shuffled by Rng::derive(seed, class), then classes are visited
// round-robin (0, 1, …, K−1, 0, …), each giving its next index.  Returned sorted ascending.  With
// only_class ≥ 0 every other class is skipped (the sample of the confusion:A:B value).
std::vector<uint32_t> stratified_sample(const nn::LabeledImages& data, size_t pool, size_t samples, uint64_t seed,
                                        int only_class = -1);

// Images per dense forward of the game (its activations, v(all), value(), taylor_scores): bounds the
// net's activation buffers (peak RSS).
constexpr int kGameChunk = 8;

// Spread over ranks (README "Beyond one machine (MPI)"): the rows of chunk k of the game's sample,
// rows [k·kGameChunk, min(N, (k+1)·kGameChunk)) of a row-major table of N rows of `width` values, are
// unit k, computed by rank k mod P (nn::ShardGroup::owns_unit).  Afterwards every rank holds every
// row as its owner computed it (the values pass as doubles: floats and bytes come back exactly).
// Null ranks or one rank: nothing to do.
template <class T>
void share_chunks(nn::ShardGroup* ranks, std::vector<T>& table, size_t N, size_t width) {
  if (!ranks || ranks->ranks() == 1) return;
  const size_t chunks = (N + kGameChunk - 1) / kGameChunk;
  std::vector<std::vector<double>> units(chunks);
  for (size_t k = 0; k < chunks; ++k) {
    const size_t first = k * kGameChunk, end = std::min(N, first + kGameChunk);
    units[k].assign(table.begin() + long(first * width), table.begin() + long(end * width));
  }
  ranks->share_units(units);
  for (size_t k = 0; k < chunks; ++k)
    if (!ranks->owns_unit(k)) std::copy(units[k].begin(), units[k].end(), table.begin() + long(k * kGameChunk * width));
}
inline bool owns_chunk(const nn::ShardGroup* ranks, size_t first) {
  return !ranks || ranks->owns_unit(first / kGameChunk);
}

// One image's activation between the net's layout and the game's: (C, H·W) channels-first ↔
// (H·W, C) channels-last.
void to_channels_last(const float* chw, int C, int H, int W, float* hwc);
void to_channels_first(const float* hwc, int C, int H, int W, float* chw);

// out[n] = v_{x_n} of logits (N, K, 1, 1) by the value function (imaging/zeta_settings.h): log p(label)
// (nn::log_prob_of_label); accuracy, 1 when the first maximum is the label (nn::softmax_cross_entropy's
// rule), else 0; margin; confusion:A:B.
void image_values(const nn::Tensor& logits, const uint8_t* labels, const ValueFunction& value, double* out);

// One block's lesion game on a fixed evaluation sample.  Holds the block's activations for the
// sample (channels-last), the baseline, each region's units, and the layers after the block
// re-laid for incremental recomputation.  Reads the net; does not change its parameters.
class CoalitionValue {
 public:
  // settings.ranks (an MPI job): the dense forwards of the setup are spread over the ranks by chunk
  // of kGameChunk images (share_chunks); every rank ends with the same game.
  // keep_activations (may be empty: keep them) is asked once, after the game's regions and replayed
  // blocks are set and before the dense forwards of its sample (with ablation `zero` its baseline is
  // set too): false makes a game that keeps none of its sample's activations (N × block_units floats:
  // 33.5 MB for conv1 of `reference` at 256 images).  Such a game has v_all, v_none, labels, baseline,
  // regions and replayed blocks, and chunk_activations recomputes a chunk's activations; activation(x),
  // value() and the walker need the kept ones (std::logic_error without them).  It is for a block whose
  // estimate is another block's and which needs only its Taylor terms (README, "One game, two blocks");
  // it must be outside a residual branch with ablation `zero` (std::logic_error otherwise).
  CoalitionValue(nn::Network& net, int block, const run::GridSpec& grid, const nn::LabeledImages& data,
                 const std::vector<uint32_t>& eval_indices, const ZetaSettings& settings,
                 const std::function<bool(const CoalitionValue&)>& keep_activations = {});

  int block() const { return block_; }
  const run::RegionGrid& grid() const { return grid_; }
  int regions() const { return grid_.count(); }
  size_t images() const { return labels_.size(); }
  bool accuracy() const { return value_.kind == ValueFunction::Kind::accuracy; }
  const ValueFunction& value_function() const { return value_; }

  // v(S) by a dense forward_from of the lesioned activations (the definition; for checks).
  double value(const std::vector<bool>& coalition);
  // Before a forward_from(block(), …) of images [first, first + count) of the sample: inside a
  // residual branch the shortcut's source is read from the last forward(), so this runs the net on
  // those images (kept by the game, normalised); elsewhere it does nothing.
  void prepare_forward_from(size_t first, int count) const;
  double v_all() const { return mean_of(image_v_all_, images()); }
  double v_none() const { return mean_of(image_v_none_, images()); }
  // The same over the first `count` images (an estimate cut by its budget covers those).
  double v_all(size_t count) const { return mean_of(image_v_all_, count); }
  double v_none(size_t count) const { return mean_of(image_v_none_, count); }
  const std::vector<double>& image_v_all() const { return image_v_all_; }    // (N) v_x(all), dense forward
  const std::vector<double>& image_v_none() const { return image_v_none_; }  // (N) v_x(∅), dense forward

  // The block's activation of image x (H·W·C, channels-last), its baseline and region g's units
  // (channels-last indices).
  const float* activation(size_t x) const {
    if (!keeps_activations()) throw std::logic_error("CoalitionValue: the game keeps no activations");
    return activations_.data() + x * block_units();
  }
  bool keeps_activations() const { return !activations_.empty(); }
  // Images [first, first + count) of the sample (channels-last, count × block_units floats): the kept
  // activations, or, in a game that keeps none, the same dense forward of the chunk as the setup's
  // (the same kGameChunk-aligned chunk, so the same bits) written into `scratch`.
  const float* chunk_activations(size_t first, int count, std::vector<float>& scratch) const;
  const std::vector<float>& baseline() const { return baseline_; }
  const std::vector<int>& units(int g) const { return region_units_[g]; }
  size_t block_units() const { return size_t(grid_.height) * grid_.width * grid_.channels; }

  // A block after the lesioned one, replayed channels-last: input (in_h, in_w, in_c) → output
  // (out_h, out_w, out_c), as imaging/net_view.h reads it.
  // Graph: the block reads state input_state (state 0 the lesioned block, state k + 1 replay block k);
  // a residual add also reads shortcut_state through its shortcut (weight: option B's folded 1×1
  // projection (IC, OC); shortcut_position[p]: the output position input position p reaches, or −1).
  struct ReplayBlock {
    BlockOp op = BlockOp::convolution;
    int input_state = 0, shortcut_state = -1;
    Shortcut shortcut = Shortcut::identity;
    int pad_front = 0;
    std::vector<int> shortcut_position;
    Activation activation = Activation::identity;
    int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
    int kh = 1, kw = 1;
    // Convolution (C, KH·KW, OC); dense (H·W·C in (h, w, c) order, OUT); residual add with option B
    // (IC, OC); batch norm folded in.  The
    // bias is not needed: it lives in the starting state and deltas do not see it.  On a cache line,
    // like the states below: the walker's rows (multiples of 16 floats) are read with 64-byte loads.
    base::AlignedVector<float> weight;
    // Convolution and pools: input position p = h·in_w + w reaches output positions
    // fan_position[fan_begin[p] .. fan_begin[p+1]) through kernel tap fan_tap[...] = dy·KW + dx.
    std::vector<int> fan_begin, fan_position, fan_tap;
    // Max pool: output position q reads input positions window[window_begin[q] .. window_begin[q+1]).
    std::vector<int> window_begin, window;
  };
  const std::vector<ReplayBlock>& replay_blocks() const { return replay_; }
  // The state of the logits (replay_blocks().size()): the last replayed block's output.
  int logits_state() const { return int(replay_.size()); }
  // Inside a residual branch: the blocks before the lesioned one that a replayed add's shortcut reads
  // (−1: the network input), each a state after the logits' (state = logits_state() + 1 + e) holding
  // that block's output; activation(e, x) is image x's (channels-last, `units` floats).
  struct External {
    int source = -1, state = 0, channels = 0;
    size_t units = 0;
    std::vector<float> activations;  // (N, units)
    const float* activation(size_t x) const { return activations.data() + x * units; }
  };
  const std::vector<External>& externals() const { return external_; }
  bool crossed() const { return !external_.empty(); }
  // The all-lesioned state: pre-activation and output of every replayed block (channels-last);
  // state 0 is the lesioned block itself, state k the output of replay block k−1, then the external
  // states.  The same for every image, except inside a residual branch: there it is the first image's.
  const std::vector<base::AlignedVector<float>>& empty_z() const { return empty_z_; }
  const std::vector<base::AlignedVector<float>>& empty_a() const { return empty_a_; }

  // Labels of the evaluation sample, in eval_indices order.
  const std::vector<uint8_t>& labels() const { return labels_; }
  nn::Network& net() const { return net_; }

 private:
  static double mean_of(const std::vector<double>& v, size_t count);  // of v[0 .. count)
  void lesioned_batch(size_t first, int count, const std::vector<bool>& coalition, nn::Tensor& a) const;
  // The dense forward of images [first, first + count) of the sample: batch x (normalised), labels y.
  const nn::Tensor& forward_chunk(size_t first, int count, nn::Tensor& x, std::vector<uint8_t>& y) const;
  void build_replay(const NetView& view);
  void add_external(const nn::Tensor& x, size_t first, int count);
  nn::Network& net_;
  nn::LabeledImages data_;           // the sample's source (a view) and
  std::vector<uint32_t> indices_;    // the sample, for chunk_activations
  int block_;
  run::RegionGrid grid_;
  ValueFunction value_;
  std::vector<uint8_t> labels_;
  std::vector<float> activations_;  // (N, H·W·C) channels-last
  std::vector<float> baseline_;     // (H·W·C)
  std::vector<std::vector<int>> region_units_;
  std::vector<double> image_v_all_, image_v_none_;
  std::vector<ReplayBlock> replay_;
  std::vector<base::AlignedVector<float>> empty_z_, empty_a_;
  std::vector<External> external_;
  nn::Tensor inputs_;  // inside a residual branch: the sample's images as the net reads them (N, C, H, W)
  // The chunk forwarded by prepare_forward_from: the net reads it again (by pointer) in the
  // forward_from after it, so it must outlive that call.
  mutable nn::Tensor forward_input_;
};

// Incremental forward of one image's lesion game: the state of every replayed block for the current
// coalition S.  add/remove push only the changed activations through them and return v_x.
// States drift from a dense forward only by float rounding of the accumulated deltas.
// z[o] ← fma(delta[i], (base + offset[i])[o], z[o]) for i = 0 … k−1 in that order, o < OC: k scaled
// weight rows added into one output row (z: OC floats), the bits of one axpy per row whatever the
// vector width (the walker's scatter kernel; imaging/lesion_walker.cpp).
void add_rows(float* __restrict z, int OC, const float* base, const int* offset, const float* delta, int k);

class CoalitionWalker {
 public:
  explicit CoalitionWalker(const CoalitionValue& game);
  void start_empty(size_t image);  // S = ∅ (the all-lesioned state of the image); clears the journal
  void start_full(size_t image);   // S = all regions (one incremental pass of the whole block)
  double add(int region);          // S ← S ∪ {g}; returns v_x(S)
  double remove(int region);       // S ← S ∖ {g}; returns v_x(S)
  double value() const;            // v_x(S)
  std::vector<float> logits() const {  // (classes), a copy
    const base::AlignedVector<float>& l = a_[size_t(game_.logits_state())];
    return std::vector<float>(l.begin(), l.end());
  }
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
  // Output positions of a replayed block that the current step must re-read (each listed once; the
  // count lives in propagate).
  struct Touched {
    std::vector<uint8_t> mark;  // per position
    std::vector<int> position;
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
  std::vector<base::AlignedVector<float>> z_, a_;  // per state, as in CoalitionValue::empty_*
  std::vector<Changes> changes_;           // per state
  std::vector<Touched> touched_;           // per replayed block
  std::vector<int> offsets_;               // (largest state) scratch: weight-row offsets of a step's changes
  std::vector<float> window_max_;          // (widest block) scratch: one max-pool window's maxima
  bool journal_on_ = false;
  std::vector<float*> journal_where_;      // per saved run: where it lives,
  std::vector<int> journal_count_;         // how many floats,
  std::vector<float> journal_saved_;       // and their old values, runs in order
  mutable nn::Tensor logits_;              // (1, classes, 1, 1) for image_values
  // Inside a residual branch: the all-lesioned state of image cached_image_ (start_empty's last).
  size_t cached_image_ = SIZE_MAX;
  std::vector<base::AlignedVector<float>> cached_z_, cached_a_;
};

}  // namespace imaging
