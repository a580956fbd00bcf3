// tests/imaging/test_net_view.cpp — how imaging reads a net: batch norm folded into the weights gives the
// block's own pre-activation; the receptive-field tables agree with the layers themselves (a one-hot
// input pushed through nn's conv and pool forwards); the blocks, kinds and edges of the presets;
// errors name the block.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "imaging/net_view.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "run/region_grid.h"
#include "base/error.h"
#include "tests/error_of.h"
#include "tests/nn/gradient_check.h"

namespace {

using imaging::Activation;
using imaging::BlockOp;
using imaging::NetView;

// He-initialised, with random biases and batch-norm statistics (negative scales included), so that
// folding has something to fold.
nn::Network random_net(const std::string& spec, int C, int H, int W, uint64_t seed) {
  nn::Network net(spec, C, H, W);
  net.init(seed);
  nn::Rng rng(seed + 1);
  for (auto& p : net.named_params()) {
    nn::Tensor& v = p.param->value;
    for (size_t i = 0; i < v.size(); ++i) {
      if (p.name.find(".bias") != std::string::npos) v[i] = float(0.3 * rng.normal());
      if (p.name.find("running_var") != std::string::npos) v[i] = float(0.2 + rng.uniform());
      if (p.name.find("running_mean") != std::string::npos) v[i] = float(0.5 * rng.normal());
      if (p.name.rfind("bn", 0) == 0 && p.name.find(".weight") != std::string::npos) v[i] = float(rng.normal());
    }
  }
  return net;
}

template <class Floats>
void copy_into(nn::Tensor& t, const Floats& v) {
  ASSERT_EQ(t.size(), v.size());
  std::copy(v.begin(), v.end(), t.data());
}

// z = W'·input + b' computed by a fresh layer holding the folded weights, against the block's own z.
TEST(NetView, FoldedBatchNormGivesTheBlocksPreActivation) {
  struct Case {
    std::string spec;
    int batch_norms;
  };
  for (const Case& c : {Case{"conv3x3:6 bn relu conv3x3:5:s2:p0 bn relu maxpool2 linear:7 relu linear:3", 2},
                        Case{"conv5x3:4:p1 bn conv1x1:3 relu gap linear:4", 1}}) {
    const std::string& spec = c.spec;
    SCOPED_TRACE(spec);
    nn::Network net = random_net(spec, 3, 11, 11, 4);
    const NetView view(net);
    using Axis = NetView::Axis;
    int folded = 0;
    nn::Probe probe = [&](const nn::BlockView& b) {
      const imaging::ImagedBlock& k = view.block(b.index);
      if (k.op != BlockOp::convolution && k.op != BlockOp::dense) return;
      SCOPED_TRACE(k.name);
      nn::Tensor z;
      nn::Rng rng(1);
      if (k.op == BlockOp::convolution) {
        nn::Conv2d conv(k.output.c, k.window.kh, k.window.kw, k.window.stride, k.window.pad, true);
        conv.setup(k.input);
        copy_into(conv.weight.value, view.folded_weights(b.index, {Axis::out, Axis::in, Axis::tap}));
        copy_into(conv.bias.value, view.folded_bias(b.index));
        conv.forward(b.input, z, false, rng);
      } else {
        nn::Linear linear(k.output.c);
        linear.setup(k.input);
        copy_into(linear.weight.value, view.folded_weights(b.index, {Axis::out, Axis::in, Axis::tap}));
        copy_into(linear.bias.value, view.folded_bias(b.index));
        linear.forward(b.input, z, false, rng);
      }
      ASSERT_EQ(z.size(), b.z.size());
      double largest = 0;
      for (size_t i = 0; i < z.size(); ++i) largest = std::max(largest, double(std::fabs(b.z[i])));
      for (size_t i = 0; i < z.size(); ++i) ASSERT_NEAR(z[i], b.z[i], 1e-5 * (1 + largest)) << "at " << i;
      folded += k.batchnorm_layer >= 0;
    };
    const nn::Tensor x = gradcheck::random_tensor(nn::Shape{3, 3, 11, 11}, 9);
    net.forward(x, false, &probe);
    EXPECT_EQ(folded, c.batch_norms);
  }
}

// Brute force through the layers themselves: a one-hot input at q through a 1-channel conv whose
// tap t has weight t + 1 (zero bias) gives t + 1 at exactly the outputs that read q through tap t;
// through a max pool, 1 at the outputs whose window holds q.
TEST(NetView, ReceptiveFieldsAgreeWithTheLayersForwards) {
  struct Case {
    int kh, kw, stride, pad, h, w;
  };
  const Case cases[] = {{3, 3, 1, 1, 6, 5}, {3, 3, 2, 0, 7, 7}, {5, 3, 2, 2, 9, 6}, {1, 1, 1, 0, 4, 3},
                        {2, 4, 3, 1, 8, 10}, {3, 3, 1, 2, 3, 3}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.kh) + "x" + std::to_string(c.kw) + " s" + std::to_string(c.stride) + " p" +
                 std::to_string(c.pad) + " on " + std::to_string(c.h) + "x" + std::to_string(c.w));
    nn::Conv2d conv(1, c.kh, c.kw, c.stride, c.pad, true);
    const nn::Shape out = conv.setup(nn::Shape{1, 1, c.h, c.w});
    for (int t = 0; t < c.kh * c.kw; ++t) conv.weight.value[size_t(t)] = float(t + 1);
    conv.bias.value[0] = 0.f;
    const imaging::ReceptiveField field =
        imaging::receptive_field({c.kh, c.kw, c.stride, c.pad}, c.h, c.w, out.h, out.w);
    ASSERT_EQ(field.positions, out.h * out.w);
    std::vector<int> begin, position, tap;
    field.fan_out(begin, position, tap);
    nn::Rng rng(1);
    for (int q = 0; q < c.h * c.w; ++q) {
      nn::Tensor x(1, 1, c.h, c.w), y;
      x.zero();
      x[size_t(q)] = 1.f;
      conv.forward(x, y, false, rng);
      std::vector<int> expected_position, expected_tap;
      for (int p = 0; p < field.positions; ++p) {
        const int t = int(y[size_t(p)]) - 1;  // −1: p does not read q
        int from_table = -1;
        for (int u = 0; u < field.taps; ++u)
          if (field.at(u, p) == q) from_table = u;
        EXPECT_EQ(from_table, t) << "input " << q << " output " << p;
        if (t >= 0) expected_position.push_back(p), expected_tap.push_back(t);
      }
      EXPECT_EQ(std::vector<int>(position.begin() + begin[q], position.begin() + begin[q + 1]), expected_position) << q;
      EXPECT_EQ(std::vector<int>(tap.begin() + begin[q], tap.begin() + begin[q + 1]), expected_tap) << q;
    }
    if (c.pad > 0 || c.kh != c.kw) continue;  // pools: square windows, no padding
    nn::Pool2d pool(nn::Pool2d::Max, c.kh, c.stride);
    const nn::Shape pooled = pool.setup(nn::Shape{1, 1, c.h, c.w});
    const imaging::ReceptiveField window = imaging::receptive_field({c.kh, c.kh, c.stride, 0}, c.h, c.w, pooled.h, pooled.w);
    std::vector<int> wbegin, wposition;
    window.windows(wbegin, wposition);
    for (int p = 0; p < window.positions; ++p) {
      std::vector<int> reads;
      for (int q = 0; q < c.h * c.w; ++q) {
        nn::Tensor x(1, 1, c.h, c.w), y;
        x.zero();
        x[size_t(q)] = 1.f;
        pool.forward(x, y, false, rng);
        if (y[size_t(p)] == 1.f) reads.push_back(q);
      }
      std::vector<int> listed(wposition.begin() + wbegin[p], wposition.begin() + wbegin[p + 1]);
      std::sort(listed.begin(), listed.end());
      EXPECT_EQ(listed, reads) << "pool output " << p;
    }
  }
}

TEST(NetView, BlocksKindsAndEdgesOfThePresets) {
  nn::Network reference(nn::Network::preset("reference"), 3, 32, 32);
  const NetView r(reference);
  ASSERT_EQ(r.size(), 8);
  const BlockOp ops[] = {BlockOp::convolution, BlockOp::max_pool, BlockOp::convolution, BlockOp::max_pool,
                         BlockOp::convolution, BlockOp::max_pool, BlockOp::dense,       BlockOp::dense};
  const Activation acts[] = {Activation::relu, Activation::identity, Activation::relu, Activation::identity,
                             Activation::relu, Activation::identity, Activation::relu, Activation::identity};
  for (int b = 0; b < r.size(); ++b) {
    EXPECT_EQ(r.block(b).name, reference.blocks()[size_t(b)].name);
    EXPECT_EQ(r.block(b).op, ops[b]) << b;
    EXPECT_EQ(r.block(b).activation, acts[b]) << b;
    EXPECT_EQ(r.block(b).inputs, std::vector<int>{b - 1});
    EXPECT_EQ(r.single_input(b, "test"), b - 1);
  }
  EXPECT_EQ(r.block(6).window.kh, 4);  // fc1 reads the whole 4×4 map of pool3: taps = positions
  EXPECT_EQ(r.block(6).window.taps(), 16);
  EXPECT_EQ(r.block(6).input.c, 128);

  nn::Network bn(nn::Network::preset("bn"), 3, 32, 32);
  const NetView v(bn);
  std::vector<std::string> names;
  for (const auto& k : v.blocks()) names.push_back(k.name);
  EXPECT_EQ(names, std::vector<std::string>({"conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "conv5", "conv6",
                                             "pool3", "fc1", "output"}));
  for (const char* conv : {"conv1", "conv2", "conv3", "conv4", "conv5", "conv6"}) {
    const auto& k = v.block(bn.find_block(conv));
    EXPECT_GE(k.batchnorm_layer, 0) << conv;
    EXPECT_EQ(k.activation, Activation::relu) << conv;
  }
  EXPECT_EQ(v.block(9).activation, Activation::relu);  // fc1: relu, then dropout (the identity here)
  EXPECT_LT(r.block(0).batchnorm_layer, 0);

  for (const NetView* view : {&r, &v}) {
    ASSERT_EQ(int(view->edges().size()), view->size() - 1);
    for (size_t e = 0; e < view->edges().size(); ++e) {
      EXPECT_EQ(view->edges()[e].from, int(e));
      EXPECT_EQ(view->edges()[e].to, int(e) + 1);
    }
  }
}

TEST(NetView, QuestionsAPoolCannotAnswerNameTheBlock) {
  nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  const NetView view(net);
  expect_error_naming([&] { view.folded_weights(1, {NetView::Axis::out, NetView::Axis::in, NetView::Axis::tap}); },
                      "pool1");
  expect_error_naming([&] { view.max_pool(0); }, "conv1");
  EXPECT_EQ(&view.max_pool(1), &net.layer(size_t(net.blocks()[1].main)));
}

}  // namespace

// run::project_to_pixels through input_span: one region's value is a uniform box over its receptive
// field, mass is kept for any values, and spans outside the image are refused.
TEST(NetView, ProjectionSpreadsEachRegionOverItsReceptiveField) {
  const nn::Network net = random_net("conv3x3:4 relu maxpool2 conv3x3:6 relu linear:3", 3, 12, 10, 2);
  const NetView view(net);
  const int b = 2;  // conv2: 6×5 map
  const nn::Shape out = view.block(b).output;
  const run::RegionGrid grid(out.h, out.w, out.c, run::GridSpec{3, 2, 2});
  std::vector<std::array<int, 2>> rows, cols;
  for (int i = 0; i < grid.gh; ++i) rows.push_back(view.input_span(b, true, grid.rows(i).begin, grid.rows(i).end));
  for (int j = 0; j < grid.gw; ++j) cols.push_back(view.input_span(b, false, grid.cols(j).begin, grid.cols(j).end));
  nn::Rng rng(3);
  std::vector<double> value(size_t(grid.count()));
  for (double& v : value) v = rng.normal();
  const std::vector<double> map = run::project_to_pixels(value, grid, rows, cols, 12, 10);
  double mass = 0, total = 0;
  for (double m : map) mass += m;
  for (double v : value) total += v;
  EXPECT_NEAR(mass, total, 1e-12);
  const int r = grid.index(1, 1, 0);
  std::vector<double> one(size_t(grid.count()), 0.0);
  one[size_t(r)] = 1;
  const std::vector<double> box = run::project_to_pixels(one, grid, rows, cols, 12, 10);
  const double area = double(rows[1][1] - rows[1][0]) * double(cols[1][1] - cols[1][0]);
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < 10; ++x) {
      const bool inside = y >= rows[1][0] && y < rows[1][1] && x >= cols[1][0] && x < cols[1][1];
      EXPECT_DOUBLE_EQ(box[size_t(y * 10 + x)], inside ? 1 / area : 0.0) << y << " " << x;
    }
  rows[0][1] = 13;
  EXPECT_THROW(run::project_to_pixels(value, grid, rows, cols, 12, 10), base::Error);
}

// input_span against the window tables composed back to the input: the union of every input pixel
// that some unit of output rows (columns) [begin, end) reads through every block, its first and last
// row (column).  Strides, padding, pools, non-square maps, gap and a dense block.
TEST(NetView, InputSpanIsTheUnionOfTheWindowsBackToTheInput) {
  for (const std::string spec : {"conv3x3:4 relu maxpool2 conv5x5:3:s2:p2 relu avgpool3:s1 linear:5",
                                 "conv5x5:4:s2 bn relu maxpool3:s2 conv1x1:2 gap linear:3"}) {
    SCOPED_TRACE(spec);
    const nn::Network net = random_net(spec, 3, 13, 11, 5);
    const NetView view(net);
    for (int b = 0; b < view.size(); ++b)
      for (bool vertical : {true, false}) {
        const nn::Shape out = view.block(b).output;
        const int extent = vertical ? out.h : out.w;
        for (int begin = 0; begin < extent; ++begin)
          for (int end = begin + 1; end <= extent; ++end) {
            std::vector<int> positions;  // of block b's output map
            for (int y = 0; y < out.h; ++y)
              for (int x = 0; x < out.w; ++x)
                if ((vertical ? y : x) >= begin && (vertical ? y : x) < end) positions.push_back(y * out.w + x);
            int width = out.w;
            for (int k = b; k >= 0; k = view.block(k).inputs[0]) {
              const imaging::ReceptiveField field = view.receptive_field(k);
              std::vector<int> reads;
              for (int p : positions)
                for (int t = 0; t < field.taps; ++t)
                  if (field.at(t, p) >= 0) reads.push_back(field.at(t, p));
              std::sort(reads.begin(), reads.end());
              reads.erase(std::unique(reads.begin(), reads.end()), reads.end());
              positions = reads;
              width = view.block(k).input.w;
            }
            ASSERT_FALSE(positions.empty());
            int first = 1 << 30, last = -1;
            for (int q : positions) {
              const int at = vertical ? q / width : q % width;
              first = std::min(first, at);
              last = std::max(last, at);
            }
            const std::array<int, 2> span = view.input_span(b, vertical, begin, end);
            EXPECT_EQ(span[0], first) << view.block(b).name << (vertical ? " rows " : " cols ") << begin << "-" << end;
            EXPECT_EQ(span[1], last + 1) << view.block(b).name << (vertical ? " rows " : " cols ") << begin << "-" << end;
          }
      }
  }
}

// A residual net: the blocks read both inputs of each add (edges include the skip edges), and
// input_span follows both paths.  The span is checked against the net itself: on a net without relus
// (every unit of a linear map answers), the input rows (columns) whose change moves some unit of
// block b's rows (columns) [begin, end) are exactly those the span holds, for every shortcut kind.
TEST(NetView, ResidualBlocksReadBothPathsAndTheirInputSpanIsWhatMovesThem) {
  for (const std::string spec : {"conv3x3:3 res(conv3x3:3 conv3x3:3) res:pad(conv3x3:4:s2) gap linear:2",
                                 "conv3x3:3 bn res:proj(conv5x5:4:s2 bn conv3x3:4 bn) res:proj(conv1x1:2) linear:2"}) {
    SCOPED_TRACE(spec);
    nn::Network net = random_net(spec, 2, 9, 7, 3);
    const NetView view(net);
    const int res1 = net.find_block("res1"), res2 = net.find_block("res2");
    EXPECT_EQ(view.block(res1).op, BlockOp::residual_add);
    EXPECT_EQ(view.block(res1).inputs.size(), 2u);
    EXPECT_EQ(view.block(res2).inputs[1], res1);  // the skip edge res1 → res2
    size_t skip_edges = 0;
    for (const NetView::Edge& e : view.edges()) skip_edges += e.to == res2 && e.from == res1;
    EXPECT_EQ(skip_edges, 1u);
    expect_error_naming([&] { view.single_input(res1, "test"); }, "res1");
    const nn::Tensor x = gradcheck::random_tensor(nn::Shape{1, 2, 9, 7}, 4);
    std::vector<nn::Tensor> base;
    net.forward(x, false);
    for (int b = 0; b < view.size(); ++b) base.push_back(net.output(b));
    for (int b = 0; b < view.size(); ++b)
      for (bool vertical : {true, false}) {
        const nn::Shape out = view.block(b).output;
        const int extent = vertical ? out.h : out.w, side = vertical ? 9 : 7;
        std::vector<std::vector<bool>> moved(size_t(side), std::vector<bool>(size_t(extent), false));
        for (int r = 0; r < side; ++r) {  // moving input row (column) r: which output rows (columns) move
          nn::Tensor y = x;
          for (int c = 0; c < 2; ++c)
            for (int i = 0; i < (vertical ? 7 : 9); ++i) y.data()[(c * 9 + (vertical ? r : i)) * 7 + (vertical ? i : r)] += 1.f;
          net.forward(y, false);
          const nn::Tensor& a = net.output(b);
          for (int c = 0; c < out.c; ++c)
            for (int i = 0; i < out.h; ++i)
              for (int j = 0; j < out.w; ++j) {
                const size_t e = (size_t(c) * out.h + i) * out.w + j;
                if (std::fabs(a[e] - base[size_t(b)][e]) > 1e-4f) moved[size_t(r)][size_t(vertical ? i : j)] = true;
              }
        }
        for (int begin = 0; begin < extent; ++begin)
          for (int end = begin + 1; end <= extent; ++end) {
            int first = side, last = -1;
            for (int r = 0; r < side; ++r)
              for (int o = begin; o < end; ++o)
                if (moved[size_t(r)][size_t(o)]) first = std::min(first, r), last = std::max(last, r);
            const std::array<int, 2> span = view.input_span(b, vertical, begin, end);
            EXPECT_EQ(span[0], first) << view.block(b).name << " [" << begin << ", " << end << ")";
            EXPECT_EQ(span[1], last + 1) << view.block(b).name << " [" << begin << ", " << end << ")";
          }
      }
  }
}

// A residual block's z from NetView's description alone: the branch's output (BlockView::input) plus
// the shortcut of x_in, the output of inputs[1]: the identity, option A (input channel c at output
// channel c + pad_front, subsampled through shortcut_field) or option B (shortcut_weights, (IC, OC),
// and shortcut_bias, its batch norm folded in), against the block's own z.
TEST(NetView, AResidualBlocksShortcutFromTheViewGivesItsPreActivation) {
  for (const std::string spec : {"conv3x3:3 res(conv3x3:3 conv3x3:3) res:pad(conv3x3:5:s2) gap linear:2",
                                 "conv3x3:3 bn res:proj(conv3x3:4:s2 bn conv3x3:4 bn) relu gap linear:2"}) {
    SCOPED_TRACE(spec);
    nn::Network net = random_net(spec, 2, 9, 7, 3);
    for (const nn::NamedParam& p : net.named_params())  // the projection's batch norm: a scale and shift
      if (p.name.find("proj_bn.weight") != std::string::npos || p.name.find("proj_bn.bias") != std::string::npos)
        for (size_t i = 0; i < p.param->value.size(); ++i) p.param->value[i] = float(0.5 + 0.25 * double(i));
    const NetView view(net);
    std::vector<nn::Tensor> outputs(size_t(view.size()));
    const nn::Tensor x = gradcheck::random_tensor(nn::Shape{2, 2, 9, 7}, 4);
    int checked = 0;
    nn::Probe probe = [&](const nn::BlockView& b) {
      outputs[size_t(b.index)] = b.a;
      const imaging::ImagedBlock& k = view.block(b.index);
      if (k.op != BlockOp::residual_add) return;
      SCOPED_TRACE(k.name);
      const nn::Tensor& in = k.inputs[1] < 0 ? x : outputs[size_t(k.inputs[1])];
      const imaging::ReceptiveField rf = view.shortcut_field(b.index);
      ASSERT_EQ(rf.taps, 1);
      const int O = k.output.c, I = k.shortcut_input.c, P = k.output.h * k.output.w, Q = k.shortcut_input.h * k.shortcut_input.w;
      base::AlignedVector<float> w;
      std::vector<float> bias(size_t(O), 0.f);
      if (k.shortcut == imaging::Shortcut::projection) w = view.shortcut_weights(b.index), bias = view.shortcut_bias(b.index);
      for (int n = 0; n < 2; ++n)
        for (int o = 0; o < O; ++o)
          for (int p = 0; p < P; ++p) {
            const int q = rf.at(0, p);
            double s = bias[size_t(o)];
            if (k.shortcut == imaging::Shortcut::projection) {
              for (int i = 0; i < I; ++i) s += double(w[size_t(i) * O + o]) * in.sample(n)[size_t(i) * Q + q];
            } else {
              const int i = o - k.pad_front;  // the identity: pad_front 0 and I = O
              if (i >= 0 && i < I) s += in.sample(n)[size_t(i) * Q + q];
            }
            const double expected = b.input.sample(n)[size_t(o) * P + p] + s;
            ASSERT_NEAR(b.z.sample(n)[size_t(o) * P + p], expected, 1e-4 * (1 + std::fabs(expected))) << o << " " << p;
          }
      ++checked;
    };
    net.forward(x, false, &probe);
    EXPECT_EQ(checked, spec.find("res(") != std::string::npos ? 2 : 1);
  }
}

// ReceptiveField::windows lists the input positions each output position reads, padding left out
// (net_view.h); its one caller today reads max pools, which have no padding, so a padded window is
// checked here: a 3×3 window with padding 1 on a 3×3 map reads 4 positions at a corner, 6 at an
// edge, 9 at the centre.
TEST(NetView, WindowsLeaveThePaddingOut) {
  const imaging::ReceptiveField rf = imaging::receptive_field(imaging::Window{3, 3, 1, 1}, 3, 3, 3, 3);
  std::vector<int> begin, position;
  rf.windows(begin, position);
  ASSERT_EQ(begin.size(), 10u);
  EXPECT_EQ(begin[1] - begin[0], 4);
  EXPECT_EQ(begin[2] - begin[1], 6);
  EXPECT_EQ(begin[5] - begin[4], 9);
  EXPECT_EQ(begin.back(), 4 * 4 + 4 * 6 + 9);
  for (int q : position) EXPECT_GE(q, 0);
  EXPECT_EQ(std::vector<int>(position.begin(), position.begin() + 4), std::vector<int>({0, 1, 3, 4}));
}

// input_span of a residual block holds what its shortcut reads even where the branch reads less:
// a 2×2 window of stride 2 on a 7×7 map gives 3×3, so option A subsamples by 3, and output row 2
// reads rows 4–5 through the branch but row 6 through the shortcut.
TEST(NetView, AResidualSpanHoldsTheRowsOnlyTheShortcutReads) {
  nn::Network net("res:pad(conv2x2:4:s2:p0) gap linear:2", 1, 7, 7);
  const NetView view(net);
  const int res1 = net.find_block("res1");
  ASSERT_EQ(view.block(res1).shortcut_window.stride, 3);
  for (bool vertical : {true, false}) {
    EXPECT_EQ(view.input_span(res1, vertical, 2, 3), (std::array<int, 2>{4, 7}));
    EXPECT_EQ(view.input_span(res1, vertical, 1, 2), (std::array<int, 2>{2, 4}));
    EXPECT_EQ(view.input_span(res1, vertical, 0, 3), (std::array<int, 2>{0, 7}));
  }
}
