// imaging/net_view.h — the one place that reads a net for imaging.
//
// Promise: NetView(net) reads every layer of every block once, through a switch over nn::LayerKind
// without a default (-Wswitch names net_view.cpp when a kind is added), and describes each block
// as every imaging stage sees it (nn-fmri-method.md: a layer's activations, and the links between
// consecutive layers):
//   z = op(input), with the block's batch norm folded into op's weights and bias;  a = σ(z).
//   op: a convolution, a dense map (linear), a max pool or an average pool (gap: an average pool
//       whose window is the whole map).  Each is a window relation on the input map: output position
//       (oy, ox) reads input (oy·S − P + ky, ox·S − P + kx), tap t = ky·KW + kx, ky < KH, kx < KW.
//       A dense map is the window that covers the whole input map: one output position, tap t =
//       input position y·W + x, so its weight (OUT, C·H·W) is read as (OUT, C, taps) like a kernel.
//   σ:  the identity or ReLU;  σ'(z) its derivative (ReLU: 1[z > 0], the identity: 1).  Dropout is
//       the identity (imaging runs the net in evaluation mode).
//   inputs: the blocks that feed it (nn::Block::inputs).  In a chain block b is fed by block b − 1,
//       block 0 by the network input (−1).  A residual unit's block (op residual_add) reads two:
//       z = x_branch + shortcut(x_in), a = σ(z), where x_branch is the output of the branch's last
//       block (inputs[0]) and x_in that of the block before the unit (inputs[1]); shortcut is the
//       identity, option A (subsample by S, zero channels: out channel c + front = in channel c) or
//       option B (a 1×1 conv with stride S, its batch norm folded in: shortcut_weights()).
//       Every imaging stage asks here (inputs(), edges()) instead of assuming b − 1.
// A layer kind imaging has no rule for throws base::Error naming the block and the kind.  The view
// keeps a reference to the net and reads weights when asked, so it sees the weights of that moment.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "base/aligned.h"
#include "nn/layers.h"
#include "nn/network.h"
#include "run/region_grid.h"

namespace imaging {

enum class BlockOp { convolution, dense, max_pool, average_pool, residual_add };
enum class Shortcut { identity, pad, projection };
enum class Activation { identity, relu };

// σ(z) and σ'(z).  σ is written as the incremental ζ walker evaluates it (nn's ReLU gives the same value).
inline float activate(Activation a, float z) { return a == Activation::relu && z < 0.f ? 0.f : z; }
inline float activation_slope(Activation a, float z) { return a == Activation::relu ? (z > 0.f ? 1.f : 0.f) : 1.f; }

struct Window {
  int kh = 1, kw = 1, stride = 1, pad = 0;
  int taps() const { return kh * kw; }
};

// The receptive-field relation of a window on a map, independent of data and weights.
//   input_of[t·P + p] = input position y·IW + x read by tap t of output position p = oy·OW + ox, or −1
//   where the tap falls on the zero padding.  P = OH·OW output positions, T = KH·KW taps.
struct ReceptiveField {
  int taps = 0, positions = 0, input_positions = 0;
  std::vector<int> input_of;  // (T, P)
  int at(int tap, int position) const { return input_of[size_t(tap) * positions + position]; }
  // The relation read the other way, as CSR lists:
  //   fan-out: input position q reaches output positions position[begin[q] .. begin[q+1]) (ascending)
  //            through taps tap[...];
  //   windows: output position p reads input positions position[begin[p] .. begin[p+1]) in tap order
  //            (padding left out).
  void fan_out(std::vector<int>& begin, std::vector<int>& position, std::vector<int>& tap) const;
  void windows(std::vector<int>& begin, std::vector<int>& position) const;
};

// The relation of `window` from an in_h × in_w map to an out_h × out_w map.
ReceptiveField receptive_field(const Window& window, int in_h, int in_w, int out_h, int out_w);

// The grid that cuts block b: `spec` (--grid) for every block but the output block (the last block,
// the logits), which is cut one region per logit (1×1×C, README "Region grid"): its regions are the
// classes, so its ζ says which class's logit the net's decisions depend on, and a layer of C outputs
// is never lumped into --grid's GC channel blocks.
run::GridSpec block_grid(const nn::Network& net, int b, const run::GridSpec& spec);
// The same rule for a reader that knows only whether a block is the output block and its channels.
run::GridSpec block_grid(const run::GridSpec& spec, bool output_block, int channels);

// One block as imaging reads it.
struct ImagedBlock {
  std::string name;                   // conv1, pool1, fc1, output
  BlockOp op = BlockOp::convolution;
  Activation activation = Activation::identity;
  Window window;                      // dense: the whole input map; gap: the whole map
  nn::Shape input, output;            // per sample (n = 1)
  std::vector<int> inputs;            // the blocks that feed it; −1 = the network input
  int main_layer = 0;                 // the conv/linear/pool layer
  int batchnorm_layer = -1;           // its batch norm, or −1
  // residual_add only: input is the branch's output (window: the identity), the shortcut reads
  // shortcut_input through shortcut_window (1×1, stride S); option A puts input channel c at output
  // channel c + pad_front.
  Shortcut shortcut = Shortcut::identity;
  Window shortcut_window;
  nn::Shape shortcut_input;
  int pad_front = 0;
  int shortcut_layer = -1, shortcut_batchnorm_layer = -1;  // pad or projection conv, its bn
};

class NetView {
 public:
  explicit NetView(const nn::Network& net);

  const nn::Network& net() const { return net_; }
  int size() const { return int(blocks_.size()); }
  const std::vector<ImagedBlock>& blocks() const { return blocks_; }
  const ImagedBlock& block(int b) const { return blocks_[size_t(b)]; }

  // The link from block `from` into block `to` (from = −1: the network input).
  struct Edge {
    int from, to;
  };
  // Every link between two blocks (the network input left out), ordered by `to`, then `from`.
  const std::vector<Edge>& edges() const { return edges_; }
  // The one block that feeds block b (−1: the network input); throws base::Error naming `what`
  // (the stage) when b reads several blocks.
  int single_input(int b, const std::string& what) const;

  // The window relation of block b between its input map and its output map.
  ReceptiveField receptive_field(int b) const;
  // A residual block's shortcut: the window relation from shortcut_input to the output map, and for
  // option B the folded 1×1 weights W'[o][i] = scale_o·W[o][i], stored (IC, OC) as folded_weights'
  // (in, tap, out) with one tap, and bias b'_o = shift_o.
  ReceptiveField shortcut_field(int b) const;
  base::AlignedVector<float> shortcut_weights(int b) const;
  std::vector<float> shortcut_bias(int b) const;

  // The receptive field on the network's input of rows (vertical = true) or columns [begin, end)
  // of block b's output: every input row (column) some unit there reads, through every block back to
  // the input, padding clipped: [o0, o1) of a block reads [o0·S − P, (o1 − 1)·S − P + K) of its input
  // (K the window's extent on that axis; a dense block reads its whole input).  Returned as the
  // half-open pixel range {first, last + 1}.  A residual block reads both its inputs (the shortcut
  // through its stride); the span is the smallest range that holds every path's.
  std::array<int, 2> input_span(int b, bool vertical, int begin, int end) const;

  // W'[o][i][t] = scale_o · W[o][i][t]: the weights of a convolution or dense block with its batch
  // norm folded in (scale_o = 1 without one); o < OC, i < input channels, t < taps.  `order` lists
  // the axes slowest first: {Axis::out, Axis::in, Axis::tap} is the net's own layout.
  enum class Axis { out, in, tap };
  base::AlignedVector<float> folded_weights(int b, const std::array<Axis, 3>& order) const;
  // b'_o = scale_o · bias_o + shift_o (bias_o = 0 for a conv without bias): with folded_weights,
  // z = W'·input + b' is the block's pre-activation.
  std::vector<float> folded_bias(int b) const;
  // The max-pool layer of block b, whose argmax() holds the inputs it selected in the last forward.
  const nn::Pool2d& max_pool(int b) const;

 private:
  // scale and shift of block b's batch norm (1 and 0 without one), per output channel.
  void batchnorm_affine(int b, std::vector<float>& scale, std::vector<float>& shift) const;
  void batchnorm_affine_of(int layer, int channels, std::vector<float>& scale, std::vector<float>& shift) const;
  const nn::Network& net_;
  std::vector<ImagedBlock> blocks_;
  std::vector<Edge> edges_;
};

}  // namespace imaging
