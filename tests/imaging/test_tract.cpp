// tests/imaging/test_tract.cpp — connection tractography: a hand-computed net, the fast flows against a
// literal loop over every (i, j) with W_ij built explicitly, the k-best Viterbi against brute
// force, efficiency at its extremes, settings validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "imaging/tract.h"
#include "base/error.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "tests/error_of.h"

namespace {

using imaging::FlowMatrix;
using run::GridSpec;
using run::RegionGrid;

// ---------------------------------------------------------------------------------------------
// The literal formula: C_{A→B} = mean_x Σ_{i∈A} Σ_{j∈B} |W_ij| · ReLU(a_i) · σ'(z_j)

struct ExplicitWeights {
  int in = 0, out = 0;
  std::vector<double> w;          // (in, out) W_ij for image n
  std::vector<uint8_t> relation;  // (in, out) 1 where W_ij is structurally nonzero
};

// W of block b (input units i = (c,h,w) of block b−1's output, output units j = (c,h,w) of block
// b), built unit by unit from the layer's definition.  Max pooling reads the argmax of image n.
ExplicitWeights explicit_weights(const nn::Network& net, int b, int n) {
  const nn::Block& block = net.blocks()[b];
  const nn::Shape is = net.blocks()[b - 1].output_shape, os = block.output_shape;
  ExplicitWeights e;
  e.in = int(is.per_sample());
  e.out = int(os.per_sample());
  e.w.assign(size_t(e.in) * e.out, 0.0);
  e.relation.assign(size_t(e.in) * e.out, 0);
  auto in_index = [&](int c, int y, int x) { return (c * is.h + y) * is.w + x; };
  auto out_index = [&](int c, int y, int x) { return (c * os.h + y) * os.w + x; };
  auto link = [&](int i, int j, double w) {
    e.w[size_t(i) * e.out + j] += w;
    e.relation[size_t(i) * e.out + j] = 1;
  };
  const nn::Layer& main = net.layer(block.main);
  if (auto* conv = dynamic_cast<const nn::Conv2d*>(&main)) {
    std::vector<float> scale(os.c, 1.f), shift;
    if (block.batchnorm >= 0)
      dynamic_cast<const nn::BatchNorm2d&>(net.layer(block.batchnorm)).eval_affine(scale, shift);
    for (int oc = 0; oc < os.c; ++oc)
      for (int oy = 0; oy < os.h; ++oy)
        for (int ox = 0; ox < os.w; ++ox)
          for (int ic = 0; ic < is.c; ++ic)
            for (int ky = 0; ky < conv->kh; ++ky)
              for (int kx = 0; kx < conv->kw; ++kx) {
                int y = oy * conv->stride - conv->pad + ky, x = ox * conv->stride - conv->pad + kx;
                if (y < 0 || y >= is.h || x < 0 || x >= is.w) continue;
                double w = conv->weight.value[((size_t(oc) * is.c + ic) * conv->kh + ky) * conv->kw + kx];
                link(in_index(ic, y, x), out_index(oc, oy, ox), scale[oc] * w);
              }
  } else if (auto* linear = dynamic_cast<const nn::Linear*>(&main)) {
    for (int j = 0; j < e.out; ++j)
      for (int i = 0; i < e.in; ++i) link(i, j, linear->weight.value[size_t(j) * e.in + i]);
  } else if (auto* pool = dynamic_cast<const nn::Pool2d*>(&main)) {
    for (int c = 0; c < os.c; ++c)
      for (int oy = 0; oy < os.h; ++oy)
        for (int ox = 0; ox < os.w; ++ox) {
          int j = out_index(c, oy, ox);
          int chosen = pool->mode == nn::Pool2d::Max
                           ? pool->argmax()[(size_t(n) * os.c + c) * os.h * os.w + oy * os.w + ox]
                           : -1;
          for (int dy = 0; dy < pool->k; ++dy)
            for (int dx = 0; dx < pool->k; ++dx) {
              int y = oy * pool->stride + dy, x = ox * pool->stride + dx;
              double w =
                  pool->mode == nn::Pool2d::Max ? (y * is.w + x == chosen ? 1.0 : 0.0) : 1.0 / (pool->k * pool->k);
              link(in_index(c, y, x), j, w);
            }
        }
  } else if (dynamic_cast<const nn::GlobalAvgPool*>(&main)) {
    for (int c = 0; c < is.c; ++c)
      for (int y = 0; y < is.h; ++y)
        for (int x = 0; x < is.w; ++x) link(in_index(c, y, x), out_index(c, 0, 0), 1.0 / (is.h * is.w));
  } else {
    ADD_FAILURE() << "no explicit weights for " << main.kind();
  }
  return e;
}

struct LiteralPair {
  FlowMatrix flows;
  std::vector<uint8_t> connected;
};

// The literal formula for the link W(n) (explicit weights of image n) from a map of shape `is`
// cut by `from_spec` into the map of shape `os` cut by `to_spec`, σ = ReLU when `relu`.
LiteralPair literal_flows(const std::function<ExplicitWeights(int)>& weights, const nn::Shape& is,
                          const run::GridSpec& from_spec, const nn::Shape& os, const run::GridSpec& to_spec, bool relu,
                          const nn::Tensor& a, const nn::Tensor& z) {
  run::RegionGrid from(is.h, is.w, is.c, from_spec), to(os.h, os.w, os.c, to_spec);
  std::vector<int> region_in(is.per_sample()), region_out(os.per_sample());
  for (int c = 0; c < is.c; ++c)
    for (int y = 0; y < is.h; ++y)
      for (int x = 0; x < is.w; ++x) region_in[(c * is.h + y) * is.w + x] = from.region_of(c, y, x);
  for (int c = 0; c < os.c; ++c)
    for (int y = 0; y < os.h; ++y)
      for (int x = 0; x < os.w; ++x) region_out[(c * os.h + y) * os.w + x] = to.region_of(c, y, x);
  LiteralPair out;
  out.flows.from = from.count();
  out.flows.to = to.count();
  out.flows.c.assign(size_t(from.count()) * to.count(), 0.0);
  out.connected.assign(out.flows.c.size(), 0);
  const int N = a.n();
  for (int n = 0; n < N; ++n) {
    ExplicitWeights w = weights(n);
    for (int i = 0; i < w.in; ++i)
      for (int j = 0; j < w.out; ++j) {
        size_t e = size_t(region_in[i]) * to.count() + region_out[j];
        if (w.relation[size_t(i) * w.out + j]) out.connected[e] = 1;
        double ai = a.sample(n)[i], zj = z.sample(n)[j];
        double slope = relu ? (zj > 0 ? 1.0 : 0.0) : 1.0;
        out.flows.c[e] += std::fabs(w.w[size_t(i) * w.out + j]) * std::max(0.0, ai) * slope / N;
      }
  }
  return out;
}

LiteralPair literal_flows(const nn::Network& net, int b, const run::GridSpec& spec, const nn::Tensor& a,
                          const nn::Tensor& z) {
  const nn::Shape is = net.blocks()[b - 1].output_shape, os = net.blocks()[b].output_shape;
  // The output block (the last) is cut one region per logit (README "Region grid").
  const bool output = b + 1 == int(net.blocks().size());
  return literal_flows([&](int n) { return explicit_weights(net, b, n); }, is, spec, os,
                       output ? run::GridSpec{1, 1, os.c} : spec, net.blocks()[b].activation >= 0, a, z);
}

// W of the edge from block `from` into residual block b, from the unit's definition (README
// "Residual networks"): the branch enters the add unit by unit; the shortcut reads x[c, oy·S, ox·S]
// into channel c + front (identity: S = 1, front = 0; option A: PadShortcut), or through the 1×1
// projection conv with its batch norm folded in (option B).
ExplicitWeights explicit_residual_weights(const nn::Network& net, int b, int from) {
  const nn::Block& block = net.blocks()[b];
  const nn::Shape is = net.blocks()[from].output_shape, os = block.output_shape;
  ExplicitWeights e;
  e.in = int(is.per_sample());
  e.out = int(os.per_sample());
  e.w.assign(size_t(e.in) * e.out, 0.0);
  e.relation.assign(size_t(e.in) * e.out, 0);
  auto link = [&](int c, int y, int x, int o, int oy, int ox, double w) {
    const size_t i = size_t((c * is.h + y) * is.w + x), j = size_t((o * os.h + oy) * os.w + ox);
    e.w[i * e.out + j] += w;
    e.relation[i * e.out + j] = 1;
  };
  if (from == block.inputs[0]) {  // the branch
    for (int c = 0; c < os.c; ++c)
      for (int y = 0; y < os.h; ++y)
        for (int x = 0; x < os.w; ++x) link(c, y, x, c, y, x, 1.0);
    return e;
  }
  EXPECT_EQ(from, block.inputs[1]);
  const nn::Conv2d* proj = nullptr;
  const nn::PadShortcut* pad = nullptr;
  const nn::BatchNorm2d* bn = nullptr;
  for (int l = block.first; l <= block.last; ++l) {
    if (auto* c = dynamic_cast<const nn::Conv2d*>(&net.layer(l))) proj = c;
    if (auto* p = dynamic_cast<const nn::PadShortcut*>(&net.layer(l))) pad = p;
    if (auto* q = dynamic_cast<const nn::BatchNorm2d*>(&net.layer(l))) bn = q;
  }
  std::vector<float> scale(os.c, 1.f), shift;
  if (bn) bn->eval_affine(scale, shift);
  const int stride = proj ? proj->stride : pad ? pad->stride : 1, front = pad ? pad->front() : 0;
  for (int oy = 0; oy < os.h; ++oy)
    for (int ox = 0; ox < os.w; ++ox)
      for (int c = 0; c < is.c; ++c) {
        if (!proj) {
          link(c, oy * stride, ox * stride, c + front, oy, ox, 1.0);
          continue;
        }
        for (int o = 0; o < os.c; ++o)
          link(c, oy * stride, ox * stride, o, oy, ox, scale[o] * proj->weight.value[size_t(o) * is.c + c]);
      }
  return e;
}

// Random biases and batch-norm statistics so that ReLUs cut, bn scales are negative, etc.
void randomise(nn::Network& net, uint64_t seed) {
  net.init(seed);
  nn::Rng rng(seed + 99);
  for (auto& np : net.named_params()) {
    const std::string& name = np.name;
    nn::Tensor& v = np.param->value;
    for (size_t i = 0; i < v.size(); ++i) {
      if (name.find(".bias") != std::string::npos) v[i] = float(0.3 * rng.normal());
      if (name.find("running_var") != std::string::npos) v[i] = float(0.2 + rng.uniform());
      if (name.find("running_mean") != std::string::npos) v[i] = float(0.5 * rng.normal());
      if (name.rfind("bn", 0) == 0 && name.find(".weight") != std::string::npos) v[i] = float(rng.normal());
    }
  }
}

nn::Tensor random_input(int n, int c, int h, int w, uint64_t seed) {
  nn::Tensor x(n, c, h, w);
  nn::Rng rng(seed);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(rng.normal());
  return x;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Runs one forward and compares, for every consecutive block pair, the fast PairFlows with the
// literal formula (flows and structural connectivity).
void expect_fast_equals_literal(const std::string& spec, const run::GridSpec& grid, uint64_t seed) {
  SCOPED_TRACE(spec);
  nn::Network net(spec, 3, 9, 9);
  randomise(net, seed);
  nn::Tensor x = random_input(5, 3, 9, 9, seed + 7);
  int pairs_seen = 0, pairs_with_flow = 0;
  nn::Probe probe = [&](const nn::BlockView& v) {
    if (v.index < 1) return;
    SCOPED_TRACE(v.block.name);
    imaging::PairFlows fast(net, v.index, grid);
    fast.accumulate(v.input, v.z);
    FlowMatrix f = fast.mean();
    LiteralPair slow = literal_flows(net, v.index, grid, v.input, v.z);
    ASSERT_EQ(f.from, slow.flows.from);
    ASSERT_EQ(f.to, slow.flows.to);
    EXPECT_EQ(fast.connected(), slow.connected);
    double tolerance = 2e-5 * (1.0 + max_abs(slow.flows.c));
    for (size_t e = 0; e < f.c.size(); ++e) {
      EXPECT_NEAR(f.c[e], slow.flows.c[e], tolerance) << "A=" << e / f.to << " B=" << e % f.to;
      if (!slow.connected[e]) {
        EXPECT_EQ(f.c[e], 0.0);
      }
    }
    pairs_with_flow += f.total() > 0;
    ++pairs_seen;
  };
  net.forward(x, false, &probe);
  EXPECT_EQ(pairs_seen, int(net.blocks().size()) - 1);
  EXPECT_GE(pairs_with_flow, pairs_seen / 2);  // a conv without relu may leave nothing positive downstream
}

TEST(Tract, FastFlowsEqualLiteralFormula) {
  // conv stride 1 and 2, padding 0/1/2, non-square kernels, bn folded (with negative scales),
  // blocks without relu (so the next block reads negative activations and has σ' = 1),
  // overlapping max and average pools, a floor-mode pool that leaves a row unread, gap, linear
  // after a spatial map, dropout, a conv without activation; grids that do not divide the maps.
  const std::vector<std::string> specs = {
      "conv3x3:5 conv3x3:6:s2:p1 bn relu maxpool3:s1 conv2x3:4:p1 relu avgpool2 linear:7 relu linear:3",
      "conv5x5:4:s2 bn relu avgpool3:s1 conv3x3:5:s2:p1 bn relu maxpool2 conv1x1:3 gap linear:3",
      "conv3x3:4:p0 maxpool2:s3 conv3x3:6 bn relu avgpool2:s1 linear:5 relu dropout:0.5 linear:2",
  };
  const std::vector<run::GridSpec> grids = {{3, 2, 4}, {2, 3, 2}, {4, 4, 3}};
  for (size_t s = 0; s < specs.size(); ++s)
    for (size_t g = 0; g < grids.size(); ++g) expect_fast_equals_literal(specs[s], grids[g], 10 * s + g + 1);
}

// Wider convolutions than the nets above: 24 → 40 channels in uneven channel regions (8 of 24 and
// 14/13/13 of 40), so that the flows' sums over a region's output channels run over more than one
// vector of them and a remainder (sum_conv_workspace keeps every output channel's sum at once).
TEST(Tract, WideConvFlowsEqualLiteralFormula) {
  expect_fast_equals_literal("conv3x3:24 relu conv3x3:40 relu conv3x3:17:s2 bn relu linear:3", {3, 2, 3}, 91);
}

// Residual nets: every edge of the block graph (NetView::edges) — the convolutions around the
// units, each unit's branch edge and its shortcut edge (identity, option A, option B) — against the
// literal formula, on random weights, biases and bn statistics.
TEST(Tract, ResidualEdgesEqualLiteralFormula) {
  const std::vector<std::string> specs = {
      "conv3x3:4 bn relu res(conv3x3:4 bn relu conv3x3:4 bn) relu res:pad(conv3x3:6:s2 bn relu conv3x3:6 bn) relu "
      "res:proj(conv3x3:5:s2 bn relu conv3x3:5 bn) relu gap linear:3",
      "conv3x3:3 relu res:proj(conv3x3:5 relu) res(conv1x1:5 bn) relu maxpool2 res:pad(conv3x3:8 relu) linear:3",
  };
  const std::vector<run::GridSpec> grids = {{2, 3, 2}, {3, 2, 3}};
  int seen[3] = {0, 0, 0};  // shortcut edges of each kind
  for (size_t s = 0; s < specs.size(); ++s)
    for (size_t g = 0; g < grids.size(); ++g) {
      SCOPED_TRACE(specs[s]);
      nn::Network net(specs[s], 3, 9, 9);
      randomise(net, 40 + 10 * s + g);
      const imaging::NetView view(net);
      const nn::Tensor x = random_input(4, 3, 9, 9, 77 + s + g);
      std::vector<nn::Tensor> outputs(size_t(view.size()));
      int edges_checked = 0;
      nn::Probe probe = [&](const nn::BlockView& v) {
        outputs[size_t(v.index)] = v.a;
        for (const imaging::NetView::Edge& e : view.edges()) {
          if (e.to != v.index) continue;
          SCOPED_TRACE(view.block(e.from).name + " -> " + v.block.name);
          imaging::PairFlows fast(view, e, grids[g]);
          fast.accumulate(fast.shortcut() ? outputs[size_t(e.from)] : v.input, v.z);
          const bool residual = view.block(e.to).op == imaging::BlockOp::residual_add;
          LiteralPair slow =
              residual ? literal_flows([&](int) { return explicit_residual_weights(net, e.to, e.from); },
                                       net.blocks()[e.from].output_shape, grids[g], net.blocks()[e.to].output_shape,
                                       grids[g], net.blocks()[e.to].activation >= 0, outputs[size_t(e.from)], v.z)
                       : literal_flows(net, e.to, grids[g], v.input, v.z);
          if (residual && e.from == net.blocks()[e.to].inputs[1]) ++seen[int(view.block(e.to).shortcut)];
          EXPECT_EQ(fast.shortcut(), residual && e.from == net.blocks()[e.to].inputs[1]);
          const FlowMatrix f = fast.mean();
          ASSERT_EQ(f.from, slow.flows.from);
          ASSERT_EQ(f.to, slow.flows.to);
          EXPECT_EQ(fast.connected(), slow.connected);
          EXPECT_GT(slow.flows.total(), 0.0);
          const double tolerance = 2e-5 * (1.0 + max_abs(slow.flows.c));
          for (size_t c = 0; c < f.c.size(); ++c) EXPECT_NEAR(f.c[c], slow.flows.c[c], tolerance) << "cell " << c;
          ++edges_checked;
        }
      };
      net.forward(x, false, &probe);
      EXPECT_EQ(edges_checked, int(view.edges().size()));
    }
  EXPECT_GT(seen[0], 0);  // identity
  EXPECT_GT(seen[1], 0);  // option A
  EXPECT_GT(seen[2], 0);  // option B
}

TEST(Tract, LargeBatchIsChunked) {
  // One call over 40 images equals 40 calls of one image, for a conv and a linear pair whose
  // workspaces (≥ 32·32·(16 + 32) floats per image) need several chunks of images.
  nn::Network net("conv3x3:16 relu conv3x3:32 relu linear:4", 3, 32, 32);
  randomise(net, 5);
  nn::Tensor x = random_input(40, 3, 32, 32, 6);
  const run::GridSpec grid{1, 1, 2};  // one spatial block: the largest groups of conv links
  nn::Probe probe = [&](const nn::BlockView& v) {
    if (v.index < 1) return;
    imaging::PairFlows whole(net, v.index, grid), single(net, v.index, grid);
    whole.accumulate(v.input, v.z);
    nn::Tensor a(1, v.input.c(), v.input.h(), v.input.w()), z(1, v.z.c(), v.z.h(), v.z.w());
    for (int n = 0; n < v.input.n(); ++n) {
      std::copy(v.input.sample(n), v.input.sample(n) + a.size(), a.data());
      std::copy(v.z.sample(n), v.z.sample(n) + z.size(), z.data());
      single.accumulate(a, z);
    }
    EXPECT_EQ(whole.images(), 40u);
    EXPECT_EQ(single.images(), 40u);
    FlowMatrix fw = whole.mean(), fs = single.mean();
    double tolerance = 1e-5 * (1.0 + max_abs(fs.c));
    for (size_t e = 0; e < fw.c.size(); ++e) EXPECT_NEAR(fw.c[e], fs.c[e], tolerance);
  };
  net.forward(x, false, &probe);
}

// The two ways FlowAccumulator feeds a pair without copying the batch give accumulate()'s bits:
// a convolution pair's images pushed a few at a time into its workspace (40 images, whose workspace
// holds 21: the sums must be cut at the same images), and a max-pool pair given only the selected
// inputs' values and offsets.
TEST(Tract, PushedAndPickedEqualAccumulate) {
  nn::Network net("conv3x3:16 relu conv3x3:32 relu maxpool2 linear:4", 3, 32, 32);
  randomise(net, 5);
  nn::Tensor x = random_input(40, 3, 32, 32, 6);
  const run::GridSpec grid{2, 3, 2};
  int checked = 0;
  nn::Probe probe = [&](const nn::BlockView& v) {
    if (v.index == 1) {  // conv1 → conv2
      imaging::PairFlows whole(net, v.index, grid), pushed(net, v.index, grid);
      whole.accumulate(v.input, v.z);
      const size_t in = v.input.shape().per_sample(), out = v.z.shape().per_sample();
      for (int n0 = 0; n0 < 40; n0 += 7)
        pushed.push_conv(v.input.data() + size_t(n0) * in, v.z.data() + size_t(n0) * out, std::min(7, 40 - n0), 40);
      EXPECT_EQ(pushed.images(), 0u);  // counted when the call closes
      pushed.close_conv();
      EXPECT_EQ(pushed.images(), 40u);
      EXPECT_GT(whole.mean().total(), 0.0);
      EXPECT_EQ(pushed.mean().c, whole.mean().c);  // bit for bit
      ++checked;
    }
    if (v.index == 2) {  // conv2 → pool (max)
      imaging::PairFlows whole(net, v.index, grid), picked(net, v.index, grid);
      ASSERT_TRUE(picked.max_pool());
      whole.accumulate(v.input, v.z);
      const std::vector<int>& argmax = dynamic_cast<const nn::Pool2d&>(net.layer(net.blocks()[2].main)).argmax();
      const int C = v.z.c(), plane_out = v.z.h() * v.z.w(), plane_in = v.input.h() * v.input.w();
      std::vector<float> values(argmax.size());
      for (int n = 0; n < 40; ++n)
        for (int c = 0; c < C; ++c)
          for (int p = 0; p < plane_out; ++p) {
            const size_t j = (size_t(n) * C + c) * plane_out + p;
            values[j] = v.input.data()[(size_t(n) * C + c) * plane_in + argmax[j]];
          }
      picked.accumulate_picked(40, values.data(), argmax.data(), nullptr);
      EXPECT_EQ(picked.images(), 40u);
      EXPECT_GT(whole.mean().total(), 0.0);
      EXPECT_EQ(picked.mean().c, whole.mean().c);  // bit for bit
      ++checked;
    }
  };
  net.forward(x, false, &probe);
  EXPECT_EQ(checked, 2);
}

// The flows taken from a stream of batches of another size equal those of the net forwarded in
// batches of s.batch: chunks regrouped, dense blocks recomputed at the chunk's size, max-pool
// choices kept with their images.
void expect_stream_equals_own_batches(const std::string& spec) {
  SCOPED_TRACE(spec);
  nn::Network net(spec, 3, 12, 12);
  randomise(net, 8);
  std::vector<uint8_t> pixels(60 * 3 * 12 * 12), labels(60);
  nn::Rng rng(2);
  for (auto& p : pixels) p = uint8_t(rng.below(256));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(i % 3);
  const nn::LabeledImages data{pixels.data(), labels.data(), 60, 3, 12, 12, 3};
  imaging::TractSettings s;
  s.batch = 16;
  s.samples = 43;
  const run::GridSpec grid{2, 3, 2};
  const std::vector<imaging::PairFlows> own = imaging::measure_flows(net, data, grid, s);
  for (int stream_batch : {7, 16, 43, 60}) {
    SCOPED_TRACE(stream_batch);
    const imaging::NetView view(net);
    imaging::FlowAccumulator flows(net, view, grid, s, s.samples);
    imaging::stream_eval(
        net, data, 60, stream_batch, [&](const imaging::EvalBatch& b, const nn::BlockView& v) { flows.on_block(b, v); },
        [&](const imaging::EvalBatch& b, const nn::Tensor&) { flows.on_batch_end(b); });
    ASSERT_EQ(flows.pairs().size(), own.size());
    for (size_t p = 0; p < own.size(); ++p) {
      EXPECT_EQ(flows.pairs()[p].images(), 43u);
      EXPECT_EQ(flows.pairs()[p].mean().c, own[p].mean().c) << "pair " << p;  // bit for bit
    }
  }
}

// A chain net, and a residual net (its shortcut edges read a block's output saved from earlier in
// the forward; the units' blocks are chunked, the dense head replayed).
TEST(Tract, FlowsFromAnyStreamEqualTheirOwnBatches) {
  for (const char* spec : {"conv3x3:4 relu maxpool2 conv3x3:6 bn relu avgpool2 linear:9 relu linear:5 relu linear:3",
                           "conv3x3:4 relu res(conv3x3:4 relu conv3x3:4) relu res:pad(conv3x3:6:s2 bn) relu "
                           "res:proj(conv3x3:5 bn) linear:9 relu linear:3"})
    expect_stream_equals_own_batches(spec);
}

// ---------------------------------------------------------------------------------------------
// A hand-made net.  Input 1×4×4 (pixels/255, mean 0, std 1), grid 2×2×2:
//   x = 0.2 0.4 0.0 0.6      conv1 (1×1, w = [1, −1], b = [0, 1], relu): ch0 = x, ch1 = 1 − x
//       0.0 0.8 1.0 0.2      pool1 (max 2×2): ch0 = [[0.8, 1.0], [0.6, 0.4]], ch1 = all 1.0
//       0.4 0.0 0.2 0.2      conv2 (3×3, pad 1, relu; ic0 taps all 1, ic1: −2 at kx = 0 only):
//       0.6 0.2 0.0 0.4        every output sees the whole 2×2 map; z = 2.8 at ox = 0, and
//                              2.8 − 2·(1 + 1) = −1.2 at ox = 1 (σ' = 0 there)
//   pool2 (avg 2×2): 0.25·(2.8 + 2.8) = 1.4;  output (linear, w = [2, −3]): z = [2.8, −4.2]
// Flows:
//   conv1 → pool1: grid_i_j_k → grid_i_j_k carries the pooled value (max selects inside the
//                  block): 0.8, 1.0, 0.6, 0.4 (k = 1) and 1.0 ×4 (k = 2); strength 6.8
//   pool1 → conv2: ch0 region (y,x) → each conv2 region at ox = 0: |1|·pool1 = 0.8/1.0/0.6/0.4;
//                  ch1 → ox = 0 uses taps kx ∈ {1, 2} (weight 0); ox = 1 has σ' = 0.  Strength 5.6,
//                  32 structurally connected pairs (the 3×3 kernel reaches the whole map)
//   conv2 → pool2: relu(z)/4 = 0.7 from grid_1_1_1 and grid_2_1_1, 0 from ox = 1; strength 1.4
//   pool2 → output: |2|·1.4 = 2.8 and |−3|·1.4 = 4.2; strength 7.0

struct HandNet {
  nn::Network net{"conv1x1:2 relu maxpool2 conv3x3:1 relu avgpool2 linear:2", 1, 4, 4};
  std::vector<uint8_t> pixels = {51, 102, 0, 153, 0, 204, 255, 51, 102, 0, 51, 51, 153, 51, 0, 102};
  std::vector<uint8_t> labels = {0};
  nn::LabeledImages images() const {
    nn::LabeledImages d;
    d.pixels = pixels.data();
    d.labels = labels.data();
    d.count = 1;
    d.channels = 1, d.height = 4, d.width = 4;
    d.num_classes = 2;
    return d;
  }
  HandNet() {
    net.init(1);
    auto& conv1 = dynamic_cast<nn::Conv2d&>(net.layer(net.blocks()[0].main));
    conv1.weight.value[0] = 1.f, conv1.weight.value[1] = -1.f;
    conv1.bias.value[0] = 0.f, conv1.bias.value[1] = 1.f;
    auto& conv2 = dynamic_cast<nn::Conv2d&>(net.layer(net.blocks()[2].main));
    for (int t = 0; t < 9; ++t) {
      conv2.weight.value[t] = 1.f;                          // ic 0
      conv2.weight.value[9 + t] = t % 3 == 0 ? -2.f : 0.f;  // ic 1, kx = 0
    }
    conv2.bias.value[0] = 0.f;
    auto& out = dynamic_cast<nn::Linear&>(net.layer(net.blocks()[4].main));
    out.weight.value[0] = 2.f, out.weight.value[1] = -3.f;
    out.bias.value[0] = out.bias.value[1] = 0.f;
  }
};

double flow_of(const nlohmann::ordered_json& pair, const std::string& a, const std::string& b) {
  for (const auto& f : pair["flows"])
    if (f[0] == a && f[1] == b) return f[2].get<double>();
  ADD_FAILURE() << a << " → " << b << " is not listed";
  return -1;
}

TEST(Tract, HandMadeNetwork) {
  HandNet h;
  imaging::TractSettings s;
  s.samples = 8;  // more than the set holds: the one image is used
  auto j = imaging::tract_analysis(h.net, h.images(), {2, 2, 2}, s);
  EXPECT_EQ(j["eval_samples"], 1);
  const double tol = 1e-5;
  const auto& p = j["pairs"];
  ASSERT_EQ(p.size(), 4u);

  const auto& pool = p["layer_0_to_1"];
  EXPECT_EQ(pool["from"], "conv1");
  EXPECT_EQ(pool["to"], "pool1");
  EXPECT_NEAR(pool["connection_strength"].get<double>(), 6.8, tol);
  EXPECT_EQ(pool["connected_pairs"], 8);
  EXPECT_NEAR(flow_of(pool, "grid_1_1_1", "grid_1_1_1"), 0.8, tol);
  EXPECT_NEAR(flow_of(pool, "grid_1_2_1", "grid_1_2_1"), 1.0, tol);
  EXPECT_NEAR(flow_of(pool, "grid_2_1_1", "grid_2_1_1"), 0.6, tol);
  EXPECT_NEAR(flow_of(pool, "grid_2_2_1", "grid_2_2_1"), 0.4, tol);
  EXPECT_NEAR(flow_of(pool, "grid_2_2_2", "grid_2_2_2"), 1.0, tol);
  EXPECT_NEAR(pool["pathway_efficiency"].get<double>(), 0.017934835998391963, 1e-6);  // p ∝ (.8,1,.6,.4,1,1,1,1)

  const auto& conv = p["layer_1_to_2"];
  EXPECT_NEAR(conv["connection_strength"].get<double>(), 5.6, tol);
  EXPECT_EQ(conv["connected_pairs"], 32);
  EXPECT_EQ(conv["flows"].size(), 32u);
  for (const char* to : {"grid_1_1_1", "grid_2_1_1"}) {
    EXPECT_NEAR(flow_of(conv, "grid_1_1_1", to), 0.8, tol);
    EXPECT_NEAR(flow_of(conv, "grid_1_2_1", to), 1.0, tol);
    EXPECT_NEAR(flow_of(conv, "grid_2_1_1", to), 0.6, tol);
    EXPECT_NEAR(flow_of(conv, "grid_2_2_1", to), 0.4, tol);
    EXPECT_EQ(flow_of(conv, "grid_1_1_2", to), 0.0);  // ic 1 reaches ox = 0 only through zero taps
  }
  EXPECT_EQ(flow_of(conv, "grid_1_2_1", "grid_1_2_1"), 0.0);  // σ'(z = −1.2) = 0
  EXPECT_NEAR(conv["pathway_efficiency"].get<double>(), 0.4151651295399117, 1e-6);
  ASSERT_EQ(conv["critical_pathways"].size(), 5u);
  EXPECT_EQ(conv["critical_pathways"][0], "grid_1_2_1 → grid_1_1_1");

  const auto& avg = p["layer_2_to_3"];
  EXPECT_NEAR(avg["connection_strength"].get<double>(), 1.4, tol);
  EXPECT_EQ(avg["connected_pairs"], 4);
  EXPECT_NEAR(flow_of(avg, "grid_1_1_1", "grid_1_1_1"), 0.7, tol);
  EXPECT_NEAR(flow_of(avg, "grid_2_1_1", "grid_1_1_1"), 0.7, tol);
  EXPECT_EQ(flow_of(avg, "grid_1_2_1", "grid_1_1_1"), 0.0);
  EXPECT_NEAR(avg["pathway_efficiency"].get<double>(), 0.5, 1e-6);  // two of four carry it evenly
  EXPECT_EQ(avg["critical_pathways"].size(), 2u);                   // only C > 0 is a pathway

  const auto& linear = p["layer_3_to_4"];
  EXPECT_EQ(linear["to"], "output");
  EXPECT_NEAR(linear["connection_strength"].get<double>(), 7.0, tol);
  EXPECT_NEAR(flow_of(linear, "grid_1_1_1", "grid_1_1_1"), 2.8, tol);
  EXPECT_NEAR(flow_of(linear, "grid_1_1_1", "grid_1_1_2"), 4.2, tol);
  EXPECT_EQ(linear["critical_pathways"][0], "grid_1_1_1 → grid_1_1_2");
  EXPECT_NEAR(linear["pathway_efficiency"].get<double>(), 0.029049405545331197, 1e-6);  // p = (.4, .6)

  EXPECT_NEAR(j["network"]["path_strength"].get<double>(), 20.8, 1e-4);
  // Best chain: the strongest ch0 pool cell (1.0) → either conv2 cell at ox = 0 (a tie) → pool2
  // → the output unit with |w| = 3.  Score log(1/6.8) + log(1/5.6) + log(0.5) + log(0.6).
  const auto& chains = j["network"]["chains"];
  ASSERT_EQ(chains.size(), 5u);
  const double best = std::log(1 / 6.8) + std::log(1 / 5.6) + std::log(0.5) + std::log(0.6);
  for (int c = 0; c < 2; ++c) {
    const auto& regions = chains[c]["regions"];
    ASSERT_EQ(regions.size(), 5u);
    EXPECT_NEAR(chains[c]["score"].get<double>(), best, 1e-5);
    EXPECT_EQ(regions[0]["layer"], "conv1");
    EXPECT_EQ(regions[0]["region"], "grid_1_2_1");
    EXPECT_EQ(regions[1]["region"], "grid_1_2_1");
    EXPECT_EQ(regions[3]["layer"], "pool2");
    EXPECT_EQ(regions[4]["region"], "grid_1_1_2");
  }
  EXPECT_NE(chains[0]["regions"][2]["region"], chains[1]["regions"][2]["region"]);
  EXPECT_LT(chains[2]["score"].get<double>(), best - 0.1);

  // Same input, same thread count ⇒ the same document; --tract-top truncates the lists.
  EXPECT_EQ(imaging::tract_analysis(h.net, h.images(), {2, 2, 2}, s).dump(), j.dump());
  s.top = 3;
  auto top = imaging::tract_analysis(h.net, h.images(), {2, 2, 2}, s);
  EXPECT_EQ(top["pairs"]["layer_1_to_2"]["flows"].size(), 3u);
  EXPECT_EQ(top["pairs"]["layer_1_to_2"]["flows_total"], 32);
  EXPECT_EQ(top["pairs"]["layer_1_to_2"]["flows_omitted"], 29);
  EXPECT_EQ(top["pairs"]["layer_3_to_4"]["flows"].size(), 2u);
  EXPECT_EQ(top["pairs"]["layer_3_to_4"]["flows_omitted"], 0);
  EXPECT_EQ(top["pairs"]["layer_1_to_2"]["flows"][0], j["pairs"]["layer_1_to_2"]["flows"][0]);
}

// σ'(z) = 1[z > 0] for a relu (README "Tractography"): a receiving unit whose pre-activation is exactly 0
// passes no flow, though its inputs are active and its weights are not 0 (a slope of 1 at z = 0, the
// derivative's other common convention, passed |W|·ReLU(a) into it).  Random nets never hit z = 0 exactly.
TEST(Tract, AReluUnitAtExactlyZeroReceivesNoFlow) {
  nn::Network net("conv1x1:2 relu conv1x1:2 relu linear:2", 1, 2, 2);
  net.init(1);
  auto& conv1 = dynamic_cast<nn::Conv2d&>(net.layer(net.blocks()[0].main));
  conv1.weight.value[0] = conv1.weight.value[1] = 1.f;  // both channels copy the input
  conv1.bias.value[0] = conv1.bias.value[1] = 0.f;
  auto& conv2 = dynamic_cast<nn::Conv2d&>(net.layer(net.blocks()[1].main));
  conv2.weight.value[0] = 1.f, conv2.weight.value[1] = -1.f;  // channel 0: z = a0 − a1 = 0 exactly
  conv2.weight.value[2] = conv2.weight.value[3] = 1.f;        // channel 1: z = a0 + a1 = 1
  conv2.bias.value[0] = conv2.bias.value[1] = 0.f;
  nn::Tensor x(1, 1, 2, 2);
  x.fill(0.5f);
  bool seen = false;
  nn::Probe probe = [&](const nn::BlockView& v) {
    if (v.index != 1) return;
    seen = true;
    EXPECT_EQ(v.z.at(0, 0, 0, 0), 0.f);
    imaging::PairFlows pair(net, 1, {1, 1, 2});  // one region per channel on both sides
    pair.accumulate(v.input, v.z);
    const FlowMatrix f = pair.mean();
    EXPECT_EQ(f.at(0, 0), 0.0);
    EXPECT_EQ(f.at(1, 0), 0.0);
    EXPECT_NEAR(f.at(0, 1), 4 * 1.0 * 0.5, 1e-6);  // 4 positions × |W| × ReLU(a), σ'(1) = 1
    EXPECT_NEAR(f.at(1, 1), 4 * 1.0 * 0.5, 1e-6);
  };
  net.forward(x, false, &probe);
  EXPECT_TRUE(seen);
}

// ---------------------------------------------------------------------------------------------
// k-best Viterbi against enumeration.

FlowMatrix random_flows(int from, int to, nn::Rng& rng, double zero_fraction) {
  FlowMatrix f;
  f.from = from, f.to = to;
  for (int e = 0; e < from * to; ++e) f.c.push_back(rng.uniform() < zero_fraction ? 0.0 : rng.uniform());
  return f;
}

std::vector<imaging::Chain> enumerate_chains(const std::vector<FlowMatrix>& flows) {
  std::vector<imaging::Chain> all;
  std::vector<double> totals;
  for (const auto& f : flows) totals.push_back(f.total());
  std::vector<int> regions(flows.size() + 1);
  // regions[0..l] are fixed; extend through pair l
  std::function<void(size_t, double)> walk = [&](size_t l, double score) {
    if (l == flows.size()) {
      all.push_back({{}, regions, score});
      return;
    }
    for (int w = 0; w < flows[l].to; ++w) {
      double c = flows[l].at(regions[l], w);
      if (c <= 0) continue;
      regions[l + 1] = w;
      walk(l + 1, score + std::log(c / totals[l]));
    }
  };
  for (int v = 0; v < flows[0].from; ++v) {
    regions[0] = v;
    walk(0, 0.0);
  }
  std::sort(all.begin(), all.end(), [](const imaging::Chain& a, const imaging::Chain& b) { return a.score > b.score; });
  return all;
}

TEST(Tract, BestChainsMatchEnumeration) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    nn::Rng rng(seed);
    std::vector<int> sizes = {3, 4, 2, 5, 3};
    std::vector<FlowMatrix> flows;
    for (size_t l = 0; l + 1 < sizes.size(); ++l) flows.push_back(random_flows(sizes[l], sizes[l + 1], rng, 0.35));
    auto expected = enumerate_chains(flows);
    for (int k : {1, 4, 9, 400}) {
      auto got = imaging::best_chains(flows, k);
      ASSERT_EQ(got.size(), std::min<size_t>(size_t(k), expected.size())) << "seed " << seed << " k " << k;
      for (size_t c = 0; c < got.size(); ++c) {
        EXPECT_NEAR(got[c].score, expected[c].score, 1e-12);
        EXPECT_EQ(got[c].regions, expected[c].regions) << "seed " << seed << " k " << k << " rank " << c;
      }
    }
  }
}

TEST(Tract, BestChainsNeedFlowInEveryPair) {
  nn::Rng rng(3);
  std::vector<FlowMatrix> flows = {random_flows(3, 3, rng, 0.0), random_flows(3, 2, rng, 1.0)};
  EXPECT_TRUE(imaging::best_chains(flows, 5).empty());
  EXPECT_TRUE(imaging::best_chains({}, 5).empty());
  flows[1] = random_flows(3, 2, rng, 0.0);
  EXPECT_TRUE(imaging::best_chains(flows, 0).empty());
  EXPECT_EQ(imaging::best_chains(flows, 100).size(), 18u);  // 3·3·2, every edge carries flow
}

// Chains over a graph against enumeration of every path and every region on it.
//   0 → 1 → 2 → 3 → 4, with skips 0 → 2 and 2 → 4 (two residual units) and 1 → 3.
TEST(Tract, GraphChainsMatchEnumeration) {
  const std::vector<imaging::NetView::Edge> edges = {{0, 1}, {0, 2}, {1, 2}, {1, 3}, {2, 3}, {2, 4}, {3, 4}};
  const std::vector<int> regions = {3, 2, 4, 2, 3};
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    nn::Rng rng(seed);
    std::vector<FlowMatrix> flows;
    for (const auto& e : edges) flows.push_back(random_flows(regions[e.from], regions[e.to], rng, 0.3));
    if (seed == 6) flows[2].c.assign(flows[2].c.size(), 0.0);  // an edge with no flow at all
    std::vector<imaging::Chain> all;
    std::function<void(imaging::Chain)> walk = [&](imaging::Chain c) {
      if (c.blocks.back() == 4) return all.push_back(c);
      for (size_t e = 0; e < edges.size(); ++e) {
        if (edges[e].from != c.blocks.back()) continue;
        for (int w = 0; w < regions[edges[e].to]; ++w) {
          const double flow = flows[e].at(c.regions.back(), w);
          if (!(flow > 0)) continue;
          imaging::Chain next = c;
          next.blocks.push_back(edges[e].to);
          next.regions.push_back(w);
          next.score += std::log(flow / flows[e].total());
          walk(next);
        }
      }
    };
    for (int v = 0; v < regions[0]; ++v) walk({{0}, {v}, 0.0});
    std::sort(all.begin(), all.end(), [](const imaging::Chain& a, const imaging::Chain& b) { return a.score > b.score; });
    for (int k : {1, 5, 17, 5000}) {
      const auto got = imaging::best_chains(flows, edges, 5, k);
      ASSERT_EQ(got.size(), std::min<size_t>(size_t(k), all.size())) << "seed " << seed << " k " << k;
      for (size_t c = 0; c < got.size(); ++c) {
        EXPECT_NEAR(got[c].score, all[c].score, 1e-12);
        EXPECT_EQ(got[c].blocks, all[c].blocks) << "seed " << seed << " k " << k << " rank " << c;
        EXPECT_EQ(got[c].regions, all[c].regions) << "seed " << seed << " k " << k << " rank " << c;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

TEST(Tract, EfficiencyExtremes) {
  FlowMatrix f;
  f.from = 2, f.to = 3;
  std::vector<uint8_t> connected = {1, 1, 0, 1, 1, 0};
  f.c = {0.5, 0.5, 0, 0.5, 0.5, 0};  // even over the 4 connected pairs
  EXPECT_NEAR(imaging::pathway_efficiency(f, connected), 0.0, 1e-12);
  f.c = {0, 0, 0, 2.0, 0, 0};  // one pathway carries it all
  EXPECT_DOUBLE_EQ(imaging::pathway_efficiency(f, connected), 1.0);
  f.c = {0, 0, 0, 0, 0, 0};  // no flow at all
  EXPECT_DOUBLE_EQ(imaging::pathway_efficiency(f, connected), 0.0);
  f.c = {0, 0, 0, 0.3, 0, 0};  // a single connected pair
  EXPECT_DOUBLE_EQ(imaging::pathway_efficiency(f, {0, 0, 0, 1, 0, 0}), 1.0);
  f.c = {0.25, 0.75, 0, 0, 0, 0};  // p = (¼, ¾, 0, 0) over n = 4: 1 − H/log 4
  double h = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
  EXPECT_NEAR(imaging::pathway_efficiency(f, connected), 1 - h / std::log(4.0), 1e-12);
}

TEST(Tract, ValidateNamesTheFlag) {
  imaging::TractSettings s;
  EXPECT_NO_THROW(imaging::validate(s));
  s.samples = 0;
  expect_error_naming([&] { imaging::validate(s); }, "--tract-samples");
  s = {};
  s.top = -1;
  expect_error_naming([&] { imaging::validate(s); }, "--tract-top");
  s = {};
  s.chains = -2;
  expect_error_naming([&] { imaging::validate(s); }, "tract setting chains");
  s = {};
  s.batch = 0;
  expect_error_naming([&] { imaging::validate(s); }, "tract setting batch");
  HandNet h;
  nn::LabeledImages empty = h.images();
  empty.count = 0;
  EXPECT_THROW(imaging::tract_analysis(h.net, empty, {2, 2, 2}, {}), base::Error);
}

}  // namespace
