#include "imaging/net_view.h"

#include <algorithm>

#include "base/error.h"

namespace imaging {

ReceptiveField receptive_field(const Window& window, int in_h, int in_w, int out_h, int out_w) {
  ReceptiveField rf;
  rf.taps = window.taps();
  rf.positions = out_h * out_w;
  rf.input_positions = in_h * in_w;
  rf.input_of.assign(size_t(rf.taps) * rf.positions, -1);
  for (int oy = 0; oy < out_h; ++oy)
    for (int ox = 0; ox < out_w; ++ox)
      for (int ky = 0; ky < window.kh; ++ky)
        for (int kx = 0; kx < window.kw; ++kx) {
          const int y = oy * window.stride - window.pad + ky, x = ox * window.stride - window.pad + kx;
          if (y < 0 || y >= in_h || x < 0 || x >= in_w) continue;
          rf.input_of[size_t(ky * window.kw + kx) * rf.positions + oy * out_w + ox] = y * in_w + x;
        }
  return rf;
}

// Counting sort of the (output position, tap) links by input position; output positions are
// visited in ascending order, so each input's list is ascending too.
void ReceptiveField::fan_out(std::vector<int>& begin, std::vector<int>& position, std::vector<int>& tap) const {
  begin.assign(size_t(input_positions) + 1, 0);
  for (int q : input_of)
    if (q >= 0) ++begin[size_t(q) + 1];
  for (int q = 0; q < input_positions; ++q) begin[size_t(q) + 1] += begin[size_t(q)];
  position.resize(size_t(begin.back()));
  tap.resize(size_t(begin.back()));
  std::vector<int> next(begin.begin(), begin.end() - 1);
  for (int p = 0; p < positions; ++p)
    for (int t = 0; t < taps; ++t) {
      const int q = at(t, p);
      if (q < 0) continue;
      position[size_t(next[q])] = p;
      tap[size_t(next[q]++)] = t;
    }
}

void ReceptiveField::windows(std::vector<int>& begin, std::vector<int>& position) const {
  begin.assign(1, 0);
  position.clear();
  for (int p = 0; p < positions; ++p) {
    for (int t = 0; t < taps; ++t)
      if (at(t, p) >= 0) position.push_back(at(t, p));
    begin.push_back(int(position.size()));
  }
}

namespace {
// Records what layer i adds to block k.  Returns false for a kind imaging has no rule for (a kind
// added to nn::LayerKind without a case here also gets a -Wswitch warning at build time).
bool read_layer(const nn::Layer& layer, int i, ImagedBlock& k) {
  const bool residual = k.op == BlockOp::residual_add;
  switch (layer.layer_kind()) {
    case nn::LayerKind::conv2d: {
      const auto& conv = static_cast<const nn::Conv2d&>(layer);
      if (residual) {  // option B's projection
        k.shortcut = Shortcut::projection;
        k.shortcut_window = {1, 1, conv.stride, 0};
        k.shortcut_layer = i;
        return true;
      }
      k.op = BlockOp::convolution;
      k.window = {conv.kh, conv.kw, conv.stride, conv.pad};
      return true;
    }
    case nn::LayerKind::linear:
      k.op = BlockOp::dense;
      k.window = {k.input.h, k.input.w, 1, 0};
      return true;
    case nn::LayerKind::maxpool:
    case nn::LayerKind::avgpool: {
      const auto& pool = static_cast<const nn::Pool2d&>(layer);
      k.op = pool.mode == nn::Pool2d::Max ? BlockOp::max_pool : BlockOp::average_pool;
      k.window = {pool.k, pool.k, pool.stride, 0};
      return true;
    }
    case nn::LayerKind::gap:
      k.op = BlockOp::average_pool;
      k.window = {k.input.h, k.input.w, 1, 0};
      return true;
    case nn::LayerKind::batchnorm2d:
      // folded into the weights: folded_weights(), folded_bias(); in a residual block, the projection's
      (residual ? k.shortcut_batchnorm_layer : k.batchnorm_layer) = i;
      return true;
    case nn::LayerKind::relu:
      k.activation = Activation::relu;
      return true;
    case nn::LayerKind::dropout:
      return true;  // the identity in evaluation mode
    case nn::LayerKind::add:
      k.window = {1, 1, 1, 0};  // the branch enters position by position
      return residual;
    case nn::LayerKind::pad_shortcut: {
      const auto& pad = static_cast<const nn::PadShortcut&>(layer);
      k.shortcut = Shortcut::pad;
      k.shortcut_window = {1, 1, pad.stride, 0};
      k.pad_front = pad.front();
      k.shortcut_layer = i;
      return residual;
    }
  }
  return false;
}
}  // namespace

run::GridSpec block_grid(const run::GridSpec& spec, bool output_block, int channels) {
  return output_block ? run::GridSpec{1, 1, channels} : spec;
}

run::GridSpec block_grid(const nn::Network& net, int b, const run::GridSpec& spec) {
  const auto& blocks = net.blocks();
  return block_grid(spec, b + 1 == int(blocks.size()), blocks[size_t(b)].output_shape.c);
}

NetView::NetView(const nn::Network& net) : net_(net) {
  const auto& blocks = net.blocks();
  for (int b = 0; b < int(blocks.size()); ++b) {
    const nn::Block& source = blocks[size_t(b)];
    ImagedBlock k;
    k.name = source.name;
    k.input = net.layer(size_t(source.main)).input_shape;  // a residual block: the branch's output
    k.output = source.output_shape;
    k.inputs = source.inputs;
    k.main_layer = source.main;
    if (source.kind == "res") {
      k.op = BlockOp::residual_add;
      k.shortcut_input = net.layer(size_t(source.first)).input_shape;
    }
    for (int i = source.first; i <= source.last; ++i)
      if (!read_layer(net.layer(size_t(i)), i, k))
        throw base::Error("imaging: block " + k.name + " has a layer of kind '" + net.layer(size_t(i)).kind() +
                          "', which imaging has no rule for");
    blocks_.push_back(std::move(k));
  }
  for (int b = 0; b < int(blocks_.size()); ++b)
    for (int from : blocks_[size_t(b)].inputs)
      if (from >= 0) edges_.push_back({from, b});
}

int NetView::single_input(int b, const std::string& what) const {
  const ImagedBlock& k = block(b);
  if (k.inputs.size() != 1)
    throw base::Error(what + ": block " + k.name + " reads " + std::to_string(k.inputs.size()) +
                      " blocks; only a block with one input can be imaged by it");
  return k.inputs[0];
}

ReceptiveField NetView::receptive_field(int b) const {
  const ImagedBlock& k = block(b);
  return imaging::receptive_field(k.window, k.input.h, k.input.w, k.output.h, k.output.w);
}

std::array<int, 2> NetView::input_span(int b, bool vertical, int begin, int end) const {
  // The span of every block's output that block b's [begin, end) reads, blocks visited from b down
  // (a block's inputs come before it); span[k] empty while begin ≥ end.
  std::vector<std::array<int, 2>> span(size_t(b) + 1, {0, 0});
  std::array<int, 2> input = {0, 0};
  span[size_t(b)] = {begin, end};
  const auto reach = [&](int from, const Window& w, int size, std::array<int, 2> s) {
    const int extent = vertical ? w.kh : w.kw;
    s = {std::max(0, s[0] * w.stride - w.pad), std::min(size, (s[1] - 1) * w.stride - w.pad + extent)};
    std::array<int, 2>& into = from < 0 ? input : span[size_t(from)];
    into = into[0] >= into[1] ? s : std::array<int, 2>{std::min(into[0], s[0]), std::max(into[1], s[1])};
  };
  for (int k = b; k >= 0; --k) {
    const std::array<int, 2> s = span[size_t(k)];
    if (s[0] >= s[1]) continue;
    const ImagedBlock& blk = block(k);
    reach(blk.inputs[0], blk.window, vertical ? blk.input.h : blk.input.w, s);
    if (blk.op == BlockOp::residual_add)
      reach(blk.inputs[1], blk.shortcut_window, vertical ? blk.shortcut_input.h : blk.shortcut_input.w, s);
  }
  return input;
}

ReceptiveField NetView::shortcut_field(int b) const {
  const ImagedBlock& k = block(b);
  return imaging::receptive_field(k.shortcut_window, k.shortcut_input.h, k.shortcut_input.w, k.output.h, k.output.w);
}

base::AlignedVector<float> NetView::shortcut_weights(int b) const {
  const ImagedBlock& k = block(b);
  if (k.shortcut != Shortcut::projection) throw base::Error("imaging: block " + k.name + " has no projection shortcut");
  const auto& conv = static_cast<const nn::Conv2d&>(net_.layer(size_t(k.shortcut_layer)));
  std::vector<float> scale, shift;
  batchnorm_affine_of(k.shortcut_batchnorm_layer, k.output.c, scale, shift);
  base::AlignedVector<float> out(conv.weight.value.size());  // (IC, OC) from the layer's (OC, IC)
  const size_t I = size_t(k.shortcut_input.c), O = size_t(k.output.c);
  for (size_t o = 0; o < O; ++o)
    for (size_t i = 0; i < I; ++i) out[i * O + o] = scale[o] * conv.weight.value[o * I + i];
  return out;
}

std::vector<float> NetView::shortcut_bias(int b) const {
  const ImagedBlock& k = block(b);
  std::vector<float> scale, shift;
  batchnorm_affine_of(k.shortcut_batchnorm_layer, k.output.c, scale, shift);
  return shift;
}

void NetView::batchnorm_affine(int b, std::vector<float>& scale, std::vector<float>& shift) const {
  batchnorm_affine_of(block(b).batchnorm_layer, block(b).output.c, scale, shift);
}

void NetView::batchnorm_affine_of(int layer, int channels, std::vector<float>& scale, std::vector<float>& shift) const {
  scale.assign(size_t(channels), 1.f);
  shift.assign(size_t(channels), 0.f);
  if (layer >= 0) static_cast<const nn::BatchNorm2d&>(net_.layer(size_t(layer))).eval_affine(scale, shift);
}

namespace {
// The weights and bias of a convolution or dense block's main layer; the bias is null for a conv
// without one.  Pools have none.
void raw_weights(const nn::Network& net, const ImagedBlock& k, const float*& weight, const float*& bias) {
  const nn::Layer& layer = net.layer(size_t(k.main_layer));
  switch (k.op) {
    case BlockOp::convolution: {
      const auto& conv = static_cast<const nn::Conv2d&>(layer);
      weight = conv.weight.value.data();  // (OC, IC, KH, KW)
      bias = conv.has_bias ? conv.bias.value.data() : nullptr;
      return;
    }
    case BlockOp::dense: {
      const auto& linear = static_cast<const nn::Linear&>(layer);
      weight = linear.weight.value.data();  // (OUT, IC·IH·IW) = (OUT, IC, taps)
      bias = linear.bias.value.data();
      return;
    }
    case BlockOp::max_pool:
    case BlockOp::average_pool:
    case BlockOp::residual_add:
      break;
  }
  throw base::Error("imaging: block " + k.name + " is a pool or a residual add and has no weights of its own");
}
}  // namespace

base::AlignedVector<float> NetView::folded_weights(int b, const std::array<Axis, 3>& order) const {
  const ImagedBlock& k = block(b);
  const float *w = nullptr, *bias = nullptr;
  raw_weights(net_, k, w, bias);
  std::vector<float> scale, shift;
  batchnorm_affine(b, scale, shift);
  const int O = k.output.c, I = k.input.c, T = k.window.taps();
  // stride[axis] in the destination: the last axis of `order` is contiguous.
  size_t stride[3];
  const size_t extent[3] = {size_t(O), size_t(I), size_t(T)};
  size_t s = 1;
  for (int d = 2; d >= 0; --d) {
    stride[int(order[size_t(d)])] = s;
    s *= extent[int(order[size_t(d)])];
  }
  base::AlignedVector<float> out(size_t(O) * I * T);
  for (int o = 0; o < O; ++o)
    for (int i = 0; i < I; ++i)
      for (int t = 0; t < T; ++t)
        out[o * stride[0] + i * stride[1] + t * stride[2]] = scale[size_t(o)] * w[(size_t(o) * I + i) * T + t];
  return out;
}

std::vector<float> NetView::folded_bias(int b) const {
  const ImagedBlock& k = block(b);
  const float *w = nullptr, *bias = nullptr;
  raw_weights(net_, k, w, bias);
  std::vector<float> scale, shift;
  batchnorm_affine(b, scale, shift);
  std::vector<float> out(size_t(k.output.c));
  for (size_t o = 0; o < out.size(); ++o) out[o] = scale[o] * (bias ? bias[o] : 0.f) + shift[o];
  return out;
}

const nn::Pool2d& NetView::max_pool(int b) const {
  const ImagedBlock& k = block(b);
  if (k.op != BlockOp::max_pool) throw base::Error("imaging: block " + k.name + " is not a max pool");
  return static_cast<const nn::Pool2d&>(net_.layer(size_t(k.main_layer)));
}

}  // namespace imaging
