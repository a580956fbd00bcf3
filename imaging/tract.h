// imaging/tract.h — connection tractography: how much activity flows from each region of an
// imaged layer into each region of the next one, and which chains of regions carry the most.
//
// Promise: tract_analysis() streams the first `samples` test images through the net once (eval
// mode, batches of `batch`), measures C_{A→B} for every pair of consecutive imaged layers from
// the probe of the later block, and returns the content of tract.json; every number in it is
// finite (a non-finite flow throws base::Error).  Same net, data and thread count ⇒ identical output.
//
// Definitions (nn-fmri-method.md §4, made precise):
//  - Imaged layers are the named blocks (conv*, pool*, fc*, output) in order.  For consecutive
//    blocks l → l+1 the regions A of l and B of l+1 are run::RegionGrid cells of the same run::GridSpec.
//  - C_{A→B} = mean over x of Σ_{i∈A} Σ_{j∈B} |W_ij| · ReLU(a_i(x)) · σ'(z_j(x))
//    a_i: output of unit i of block l; z_j: pre-activation of unit j of block l+1 (post-bn);
//    σ': derivative of l+1's activation (ReLU: 1[z>0]; no activation — pool, output: 1).
//  - W_ij: convolution — the kernel tap linking i to j (0 outside the receptive field, with
//    stride and zero padding); linear — the matrix entry (input flattened in (C,H,W) order);
//    max pool — 1 for the input the pool selected for j in that image (Pool2d::argmax), else 0;
//    average pool — 1/(KH·KW) inside the window; global average pool — 1/(H·W).  A batch-norm in
//    the block is folded in: W_eff = scale_oc·W (BatchNorm2d::eval_affine).  Dropout is identity.
//  - connection_strength_l = Σ_{A,B} C_{A→B};  path_strength = Σ_l connection_strength_l.
//  - A→B is structurally connected when some W_ij with i∈A, j∈B is structurally nonzero (the
//    receptive-field / window / dense relation, independent of the data and of the weights'
//    values).  n = number of such pairs.
//  - pathway_efficiency = 1 − H(p)/log(n), p = C/ΣC over the n connected pairs, H(p) = −Σ p log p
//    (0·log 0 = 0).  By definition n = 1 → 1 and ΣC = 0 → 0.  0: flow spread evenly; 1: one
//    pathway carries it all.
//  - Pairs are the edges of the block graph (NetView::edges).  In a chain net block l+1 reads
//    block l.  A residual block res<k> (z = x_branch + shortcut(x_in), a = σ(z)) has two:
//      branch edge   (the branch's last block → res<k>): W_ij = 1 for j = i (the add), else 0;
//      shortcut edge (the block before the unit → res<k>): W_ij = 1 for i = (c, oy·S, ox·S),
//        j = (c + front, oy, ox): the identity (S = 1, front = 0) or option A (the kept positions,
//        input channel c at output channel c + front; the zero-padded channels get no link);
//        option B: W_ij = W'[o][c] for i = (c, oy·S, ox·S), j = (o, oy, ox), W' the 1×1 conv with
//        its batch norm folded in (NetView::shortcut_weights).
//    For both, z_j is the add's pre-activation (branch + shortcut, before the unit's relu) and σ'
//    the unit's activation; a_i the output of the edge's source block.  A pair's "kind" is branch
//    or shortcut.
//  - A chain is a path of blocks along the edges, from a block no block feeds (the first) to the
//    last block, with one region per block on the path; its score is
//    Σ_{edges e on the path} log(C_e[A→B] / connection_strength_e), over links with C > 0 only (a
//    link with C = 0 is not a connection).  The top chains come from a k-best dynamic programme
//    over the blocks in order (a block's inputs come before it); in a chain net this is the
//    Viterbi recursion over layers.  A path through a shortcut has fewer terms (each ≤ 0) than one
//    through the unit's branch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/aligned.h"
#include "imaging/eval_stream.h"
#include "imaging/net_view.h"
#include "run/region_grid.h"
#include "nn/data.h"
#include "nn/network.h"
#include "nn/shards.h"

namespace imaging {

struct TractSettings {
  size_t samples = 256;  // --tract-samples: the first N test images (fewer if the set is smaller)
  int top = 0;           // --tract-top N: flows listed per pair; 0 = every structurally connected pair
  int chains = 5;        // top chains reported (no flag)
  int batch = 32;        // images per forward (no flag), and per chunk of the flow sums: the net's
                         // buffers grow with it (bench/README.md has the memory it was chosen by)
};

// Throws base::Error naming the flag (--tract-samples, --tract-top), or the setting when no flag sets
// it (chains, batch), of the first setting out of range.
void validate(const TractSettings& s);

// Throws base::Error when tractography cannot image the net of `view`: a shortcut that passes a
// dense block (a linear inside a residual branch).  The tract stage's check_net, before any pass.
void check_tract_net(const NetView& view);

// C_{A→B} for one layer pair: `from` × `to` regions, row-major.
struct FlowMatrix {
  int from = 0, to = 0;
  std::vector<double> c;  // (from, to)
  double at(int a, int b) const { return c[size_t(a) * to + b]; }
  double total() const;  // Σ_{A,B} C = connection_strength
};

// The flows along one edge of the block graph (NetView::edges), accumulated batch by batch.  The constructor copies |W_eff| from the net (so later weight changes are not
// seen) and derives the structural connectivity.  Every BlockOp of imaging/net_view.h is supported.
class PairFlows {
 public:
  PairFlows(const NetView& view, const NetView::Edge& edge, const run::GridSpec& grid);
  // The edge from the one block that feeds to_block (NetView::single_input).
  PairFlows(const NetView& view, int to_block, const run::GridSpec& grid);
  PairFlows(const nn::Network& net, int to_block, const run::GridSpec& grid) : PairFlows(NetView(net), to_block, grid) {}

  // Adds Σ over the batch's images of C_{A→B}(x).
  //   a (N, Ci, Hi, Wi) the output of the edge's source block (= BlockView::input of block to_block,
  //     but for a shortcut edge: BlockView::a of the block before the unit)
  //   z (N, Co, Ho, Wo) the pre-activation of block to_block (BlockView::z)
  //   argmax (N, Co, Ho, Wo) for a max-pool block, the inputs it selected (nn::Pool2d::argmax());
  //          null: read from the net's layer, so call this inside the probe of block to_block,
  //          before the next forward overwrites it.
  // The sums are in float within a call: the same images grouped into other calls can give other
  // last bits (FlowAccumulator keeps the grouping fixed).
  void accumulate(const nn::Tensor& a, const nn::Tensor& z, const int* argmax = nullptr);
  // A max-pool pair (max_pool()) given only what accumulate reads of a batch of `images` images:
  //   picked (images, Co, Ho, Wo): a at the input the pool selected for each output unit, a[argmax]
  //   argmax (images, Co, Ho, Wo): the selected inputs (flat offsets in the input plane)
  //   z      (images, Co, Ho, Wo): the pre-activation, or null when σ' does not read it (no activation)
  // The same sums in the same order as accumulate(a, z, argmax): the same bits.
  void accumulate_picked(int images, const float* picked, const int* argmax, const float* z);
  // A convolution pair's images pushed a few at a time, summed as one accumulate() call over all the
  // images pushed since the last close_conv(): each image goes straight into the channels-last
  // workspace (no copy of the batch), and the workspace's images are summed whenever it is full or
  // at close_conv().  call_images: at least the images of the whole call (it sizes the workspace).
  //   a (count, Ci, Hi, Wi) the source block's output; z (count, Co, Ho, Wo), null when σ' does not read it
  // The same sums in the same order as accumulate(a, z) over the call's images: the same bits.
  void push_conv(const float* a, const float* z, int count, int call_images);
  void close_conv();
  bool convolution() const { return op_ == BlockOp::convolution; }
  bool max_pool() const { return max_pool_ != nullptr; }
  bool reads_z() const { return activation_ != Activation::identity; }  // σ' depends on z

  FlowMatrix mean() const;  // Σ / images()
  // 1 where A → B is structurally connected, (from regions, to regions) row-major.
  const std::vector<uint8_t>& connected() const { return connected_; }
  const run::RegionGrid& from_grid() const { return from_; }
  const run::RegionGrid& to_grid() const { return to_; }
  size_t images() const { return images_; }
  bool shortcut() const { return shortcut_; }  // a residual unit's shortcut edge
  double seconds() const { return seconds_; }  // wall time spent in accumulate()
  // After the last accumulate(): frees the weights, tables and scratch, keeping what mean(),
  // connected() and the grids need; accumulate() then throws std::logic_error.
  void finish();
  // Spread over ranks (FlowAccumulator::share): the pair's state (Σ and the image count) as values,
  // and the way back on a rank that did not accumulate this pair.
  std::vector<double> packed() const;
  void unpack(const std::vector<double>& values);

 private:
  void accumulate_conv(const nn::Tensor& a, const nn::Tensor& z);
  void size_conv_workspace(int call_images);       // slots_ = min(call, 4 MB of workspace) images
  void stage_conv(const float* a, const float* z, int count);  // images into the workspace's slots
  void sum_conv_workspace(int count);              // the workspace's first `count` images into sum_
  void accumulate_linear(const nn::Tensor& a, const nn::Tensor& z);
  // N images; picked: a[argmax] per output unit instead of a (a max pool; then a may be null); z null: σ' = 1.
  void accumulate_pool(int N, const float* a, const float* z, const int* argmax, const float* picked);

  BlockOp op_ = BlockOp::convolution;
  const nn::Pool2d* max_pool_ = nullptr;  // its argmax() is read during accumulate() unless one is given
  Activation activation_ = Activation::identity;
  bool shortcut_ = false;
  int channel_shift_ = 0;  // pools and the add: input channel c links to output channel c + shift
  run::RegionGrid from_, to_;
  int taps_ = 0, positions_ = 0;                   // spatial relation: tap t of output position p reads input
  std::vector<int> tap_offset_;                    // (taps, positions): flat input position y·Wi+x, or −1 (padding)
  std::vector<int> tap_block_;                     // (taps, positions): input spatial block i0·gw+j0, or −1
  std::vector<int> out_block_;                     // (positions): output spatial block
  std::vector<std::vector<int>> block_positions_;  // output spatial block → its positions
  std::vector<std::vector<int>> region_units_;     // linear: input region → flat (c,h,w) indices
  struct TapGroup {
    int tap, in_block;           // the links of one output block through tap `tap` into input block `in_block`
    std::vector<int> positions;  // their output positions
  };
  std::vector<std::vector<TapGroup>> tap_groups_;  // conv: output spatial block → its groups
  base::AlignedVector<float> weight_abs_;          // conv: (T, Ci, Co) |W_eff|; linear: (OUT, IN) |W|
  float window_weight_ = 1.f;                      // average pool: 1/(KH·KW); the add: 1
  std::vector<uint8_t> connected_;
  std::vector<double> sum_;             // Σ over images of C, (from, to)
  std::vector<float> s_last_, r_last_;  // conv: σ'(z) (chunk, P, Co) and ReLU(a) (chunk, Hi·Wi, Ci)
  int slots_ = 0, pending_ = 0;          // conv: images the workspace holds; images in it not yet summed
  size_t call_images_ = 0;               // conv: images pushed since the last close_conv()
  size_t images_ = 0;
  double seconds_ = 0;
  bool finished_ = false;
};

// 1 − H(p)/log(n) over the structurally connected pairs (see the definitions above).
double pathway_efficiency(const FlowMatrix& flows, const std::vector<uint8_t>& connected);

struct Chain {
  std::vector<int> blocks;   // the path's blocks, first to last
  std::vector<int> regions;  // one region index per block of the path
  double score = 0;          // Σ_e log(C_e / connection_strength_e)
};

// The k highest-scoring chains over a graph of `nodes` blocks: edge e runs from edges[e].from to
// edges[e].to (from < to) with flows[e] (flows[e].from = regions of edges[e].from, .to those of
// edges[e].to); paths start at a block with no incoming edge and end at block nodes − 1.  Best first;
// equal scores are ordered by the lower predecessor block, then region.  k-best dynamic programme:
// O(Σ_e from·to·k), no enumeration.  Empty when no path carries flow.
std::vector<Chain> best_chains(const std::vector<FlowMatrix>& flows, const std::vector<NetView::Edge>& edges,
                               int nodes, int k);
// A chain of layers: flows[l] from layer l to layer l + 1 (flows[l].to == flows[l+1].from).
// Empty when some layer pair carries no flow at all.
std::vector<Chain> best_chains(const std::vector<FlowMatrix>& flows, int k);

// The flows of every pair (NetView::edges) from a stream of evaluation batches of any size
// (imaging/eval_stream.h), bit for bit as measure_flows with the same stream batch: a pair's float
// sums depend on how images are grouped, so images are regrouped into chunks of s.batch; and a dense
// block, one SGEMM over the batch whose rounding depends on the row count, is recomputed from its
// input at the chunk's size.  The blocks before it are taken as the stream computed them, and a
// convolution's rounding can depend on the batch too (OpenBLAS's AVX2 kernels: `reference`'s conv3
// and fc1 outputs differ in the last bit between batches of 10 and 32 at 2 threads, measured
// 2026-12-01; its AVX-512 kernels did not), so the flows are those of the stream's batches (the
// analysis streams in batches of AnalysisSettings::batch, 25).  A batch that is exactly the next chunk is
// accumulated in place; otherwise each pair copies its block's input, pre-activation and max-pool
// choices into one chunk of s.batch images and accumulates it as soon as it is full (a max-pool pair
// copies per output unit only the selected input's value and offset: PairFlows::accumulate_picked).  Everything it
// holds beyond the flows is freed once the last image is in.
class FlowAccumulator {
 public:
  FlowAccumulator(nn::Network& net, const NetView& view, const run::GridSpec& grid, const TractSettings& s,
                  size_t samples);
  // Every block view of every batch that starts before `samples`; then the batch's end.
  void on_block(const EvalBatch& batch, const nn::BlockView& block);
  void on_batch_end(const EvalBatch& batch);  // may run the net (the dense blocks of a chunk)
  // After images 0 … samples−1 have been seen: pair e flows along NetView::edges()[e].
  std::vector<PairFlows>& pairs() { return pairs_; }
  // Spread over ranks (README "Beyond one machine (MPI)"): the layer pairs are the units, pair e
  // accumulated by rank e mod P only (every rank still sees every batch: the forwards are shared
  // work, the flow sums are not).  Call before the first batch; after the last, share() gives every
  // rank every pair as its owner summed it: the same bits as one process.
  void spread_over(nn::ShardGroup& ranks) { ranks_ = &ranks; }
  void share();

 private:
  // One pair's images of the current chunk.  A max-pool pair keeps only what its sums read: per
  // output unit the selected input's value and offset (and z when σ' reads it), not the input map.
  struct Chunk {
    nn::Tensor a, z;          // (s.batch, …) the block's input and pre-activation (not for a max-pool pair)
    std::vector<int> argmax;  // (s.batch, Co, Ho, Wo) a max-pool block's choices
    std::vector<float> picked, picked_z;  // max pool: (s.batch, Co, Ho, Wo) a[argmax], and z if reads_z()
    int filled = 0;
  };
  // Images [first, first + count) of the block's view (batch images offset + first, …) into the pair's chunk.
  void add_to_chunk(int pair, const nn::BlockView& block, size_t offset, int first, int count);
  void replay(int images);  // the dense blocks of the first `images` images of replay_input_
  nn::Network& net_;
  const NetView& view_;
  size_t samples_, chunk_;
  std::vector<PairFlows> pairs_;
  std::vector<std::vector<int>> pairs_into_;  // block → the pairs into it
  std::vector<std::vector<int>> shortcuts_from_;  // block → the shortcut pairs it is the source of
  std::vector<nn::Tensor> source_;   // per shortcut pair: its source block's output of this batch
  // The tensor pair `pair` reads as `a` when its target block shows `block`.
  const nn::Tensor& source_of(int pair, const nn::BlockView& block) const;
  void save_sources(const nn::BlockView& block);
  int dense_from_;                   // the first dense block: it and every block after it are replayed
  std::vector<Chunk> chunks_;        // per pair into a block before dense_from_
  std::vector<float> replay_input_;  // the input of block dense_from_, image after image
  size_t received_ = 0, replay_buffered_ = 0;  // images seen; images in replay_input_
  bool direct_ = false;                        // the current batch is exactly the next chunk
  nn::Tensor replay_chunk_;
  nn::ShardGroup* ranks_ = nullptr;
  bool mine(int pair) const { return !ranks_ || ranks_->owns_unit(size_t(pair)); }
};

// Streams images 0 … min(samples, test.count)−1 in batches of `stream_batch` (s.batch when 0), sums
// them in chunks of s.batch (FlowAccumulator) and returns the flows of every pair (NetView::edges()).
std::vector<PairFlows> measure_flows(nn::Network& net, const nn::LabeledImages& test, const run::GridSpec& grid,
                                     const TractSettings& s, size_t stream_batch = 0);

// The content of tract.json from the flows of every pair (measure_flows, FlowAccumulator):
// {"eval_samples", "settings": {"grid", "top", "chains", "samples"},
//  "pairs": {"layer_<from>_to_<to>" (one per NetView::edges()): {"from", "to", "kind" (residual nets
//            only: "branch" or "shortcut"), "connection_strength", "critical_pathways" (top 5
//            "grid_a → grid_b" with C > 0), "pathway_efficiency", "connected_pairs",
//            "flows": [[A, B, C], ...] (connected pairs by C descending; the first `top` when top > 0),
//            "flows_total" (connected pairs), "flows_omitted"}},
//  "network": {"path_strength", "chains": [{"regions": [{"layer", "region"}] (the path's blocks), "score"}]}}
// Throws base::Error for a non-finite flow.
nlohmann::ordered_json tract_document(const NetView& view, const std::vector<PairFlows>& pairs,
                                      const run::GridSpec& grid, const TractSettings& s);

// measure_flows, then tract_document.
nlohmann::ordered_json tract_analysis(nn::Network& net, const nn::LabeledImages& test, const run::GridSpec& grid,
                                      const TractSettings& s, size_t stream_batch = 0);

}  // namespace imaging
