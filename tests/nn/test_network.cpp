// tests/nn/test_network.cpp — nn::Network: spec parsing, names, inferred shapes, spec errors,
// probes, forward_from, and a whole-network gradient check through Network::backward.
#include <gtest/gtest.h>
#include <omp.h>

#include <array>
#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "nn/network.h"
#include "tests/nn/gradient_check.h"
#include "tests/error_of.h"

namespace {

using gradcheck::random_tensor;

std::vector<std::string> block_names(const nn::Network& net) {
  std::vector<std::string> names;
  for (const nn::Block& b : net.blocks()) names.push_back(b.name);
  return names;
}

std::vector<std::string> param_names(nn::Network& net) {
  std::vector<std::string> names;
  for (const nn::NamedParam& p : net.named_params()) names.push_back(p.name);
  return names;
}

// Every spec below must throw base::Error whose message quotes `token`.
void expect_spec_error(const std::string& spec, const std::string& token, int c = 3, int h = 32, int w = 32) {
  const std::string m = error_of([&] { nn::Network net(spec, c, h, w); });
  EXPECT_NE(m.find(token), std::string::npos) << "spec '" << spec << "': message does not name '" << token << "': " << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << "message is not one line: " << m;
}

// ---------------------------------------------------------------------------------------------
// Spec parsing, names and shapes

TEST(NetworkSpec, ReferencePresetOnCifarShapes) {
  nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  EXPECT_EQ(block_names(net),
            (std::vector<std::string>{"conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc1", "output"}));
  const std::vector<nn::Shape> shapes = {{1, 32, 32, 32}, {1, 32, 16, 16}, {1, 64, 16, 16}, {1, 64, 8, 8},
                                         {1, 128, 8, 8},  {1, 128, 4, 4},  {1, 256, 1, 1},  {1, 10, 1, 1}};
  for (size_t b = 0; b < shapes.size(); ++b) EXPECT_EQ(net.blocks()[b].output_shape, shapes[b]) << net.blocks()[b].name;
  EXPECT_EQ(param_names(net), (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                                        "conv3.weight", "conv3.bias", "fc1.weight", "fc1.bias",
                                                        "output.weight", "output.bias"}));
  // 32·27+32 + 64·288+64 + 128·576+128 + 256·2048+256 + 10·256+10
  EXPECT_EQ(net.parameter_count(), 896u + 18496u + 73856u + 524544u + 2570u);
  EXPECT_EQ(net.num_outputs(), 10);
  const nn::Block& conv1 = net.blocks()[0];
  EXPECT_EQ(conv1.kind, "conv");
  EXPECT_EQ(conv1.first, 0);
  EXPECT_EQ(conv1.main, 0);
  EXPECT_EQ(conv1.activation, 1);
  EXPECT_EQ(conv1.batchnorm, -1);
  EXPECT_EQ(conv1.pre_activation, 0);
  EXPECT_EQ(conv1.last, 1);
  EXPECT_EQ(net.blocks()[1].kind, "pool");
  EXPECT_EQ(net.blocks()[6].kind, "fc");
  EXPECT_EQ(net.blocks().back().kind, "output");
  EXPECT_EQ(net.layer_name(0), "conv1");
  EXPECT_EQ(net.layer_name(1), "conv1.relu");
  EXPECT_EQ(net.layer_name(2), "pool1");
  EXPECT_EQ(net.find_block("pool3"), 5);
  EXPECT_EQ(net.find_block("conv9"), -1);
  auto* conv = dynamic_cast<nn::Conv2d*>(&net.layer(0));
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->weight.value.shape(), (nn::Shape{32, 3, 3, 3}));
  EXPECT_EQ(conv->pad, 1);
  EXPECT_TRUE(conv->has_bias);
}

TEST(NetworkSpec, ReferencePresetOnMnistShapes) {
  nn::Network net(nn::Network::preset("reference"), 1, 28, 28);
  const std::vector<nn::Shape> shapes = {{1, 32, 28, 28}, {1, 32, 14, 14}, {1, 64, 14, 14}, {1, 64, 7, 7},
                                         {1, 128, 7, 7},  {1, 128, 3, 3},  {1, 256, 1, 1},  {1, 10, 1, 1}};
  ASSERT_EQ(net.blocks().size(), shapes.size());
  for (size_t b = 0; b < shapes.size(); ++b) EXPECT_EQ(net.blocks()[b].output_shape, shapes[b]) << net.blocks()[b].name;
  EXPECT_EQ(net.parameter_count(), (32u * 9 + 32) + 18496u + 73856u + (256u * 1152 + 256) + 2570u);
}

TEST(NetworkSpec, BnPresetNamesAndShapes) {
  for (auto [c, h, w] : {std::tuple{3, 32, 32}, std::tuple{1, 28, 28}}) {
    nn::Network net(nn::Network::preset("bn"), c, h, w);
    EXPECT_EQ(block_names(net), (std::vector<std::string>{"conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "conv5",
                                                          "conv6", "pool3", "fc1", "output"}));
    std::vector<std::string> expected;
    for (int i = 1; i <= 6; ++i) {
      std::string k = std::to_string(i);
      for (const char* s : {"conv#.weight", "bn#.weight", "bn#.bias", "bn#.running_mean", "bn#.running_var"}) {
        std::string name = s;
        name.replace(name.find('#'), 1, k);
        expected.push_back(name);
      }
    }
    for (const char* s : {"fc1.weight", "fc1.bias", "output.weight", "output.bias"}) expected.push_back(s);
    EXPECT_EQ(param_names(net), expected);
    const int s1 = h / 2, s2 = s1 / 2, s3 = s2 / 2;
    const std::vector<nn::Shape> shapes = {{1, 32, h, w},   {1, 32, h, w},   {1, 32, s1, s1}, {1, 64, s1, s1},
                                           {1, 64, s1, s1}, {1, 64, s2, s2}, {1, 128, s2, s2}, {1, 128, s2, s2},
                                           {1, 128, s3, s3}, {1, 256, 1, 1}, {1, 10, 1, 1}};
    for (size_t b = 0; b < shapes.size(); ++b) EXPECT_EQ(net.blocks()[b].output_shape, shapes[b]) << net.blocks()[b].name;
    const nn::Block& conv1 = net.blocks()[0];
    EXPECT_EQ(conv1.batchnorm, 1);
    EXPECT_EQ(conv1.pre_activation, 1);  // z is the bn output, the tensor the relu reads
    EXPECT_EQ(conv1.activation, 2);
    EXPECT_FALSE(dynamic_cast<nn::Conv2d&>(net.layer(0)).has_bias);  // the bn shift replaces it
    EXPECT_EQ(net.layer_name(1), "bn1");
    EXPECT_EQ(net.layer_name(2), "conv1.relu");
    const nn::Block& fc1 = net.blocks()[9];
    EXPECT_EQ(net.layer_name(fc1.last), "fc1.dropout");
    EXPECT_EQ(dynamic_cast<nn::BatchNorm2d&>(net.layer(1)).running_var.trainable, false);
  }
}

TEST(NetworkSpec, TokenOptionsStridePaddingAndPools) {
  nn::Network net("conv5x5:6:s2:p0 relu avgpool3:s2 conv1x1:4 gap linear:7 relu linear:2", 2, 21, 17);
  // conv5x5 s2 p0: (21−5)/2+1 = 9, (17−5)/2+1 = 7; avgpool3 s2: 4×3; conv1x1 pad 0 keeps 4×3; gap → 1×1
  EXPECT_EQ(net.blocks()[0].output_shape, (nn::Shape{1, 6, 9, 7}));
  EXPECT_EQ(net.blocks()[1].output_shape, (nn::Shape{1, 6, 4, 3}));
  EXPECT_EQ(net.blocks()[2].output_shape, (nn::Shape{1, 4, 4, 3}));
  EXPECT_EQ(net.blocks()[3].output_shape, (nn::Shape{1, 4, 1, 1}));
  EXPECT_EQ(block_names(net), (std::vector<std::string>{"conv1", "pool1", "conv2", "pool2", "fc1", "output"}));
  auto& pool = dynamic_cast<nn::Pool2d&>(net.layer(2));
  EXPECT_EQ(pool.mode, nn::Pool2d::Average);
  EXPECT_EQ(pool.k, 3);
  EXPECT_EQ(pool.stride, 2);
  EXPECT_EQ(net.layer(0).token(), "conv5x5:6:s2:p0");
  EXPECT_EQ(net.layer(2).token(), "avgpool3:s2");
}

TEST(NetworkSpec, UnknownPresetIsEmpty) { EXPECT_EQ(nn::Network::preset("resnet"), ""); }

TEST(NetworkSpec, BadSpecsThrowNamingTheToken) {
  expect_spec_error("conv3x3 relu linear:10", "conv3x3");                 // no channel count
  expect_spec_error("conv3x3:8 relu linear:0", "linear:0");
  expect_spec_error("relu conv3x3:8 linear:10", "relu");                  // relu before any conv/linear
  expect_spec_error("linear:16 maxpool2 linear:10", "maxpool2");          // pooling a 1×1 map
  expect_spec_error("conv3x3:8 relu maxpool2", "linear");                 // does not end in linear
  expect_spec_error("conv3x3:8 relu dropout:1.5 linear:10", "dropout:1.5");
  expect_spec_error("conv3x3:8 relu dropout:1 linear:10", "dropout:1");      // p = 1 drops every unit
  expect_spec_error("conv3x3:8 relu foo linear:10", "foo");
  expect_spec_error("conv3x3:8 relu maxpool2 bn linear:10", "bn");        // bn after a pool
  expect_spec_error("conv3x3:8 relu relu linear:10", "relu");             // two activations
  expect_spec_error("conv3x3:8:q3 linear:10", "conv3x3:8:q3");
  expect_spec_error("maxpool0 linear:10", "maxpool0");
  expect_spec_error("conv9x9:4:p0 linear:10", "conv9x9:4:p0", 1, 5, 5);    // kernel larger than the map
  expect_spec_error("conv3x3:8 linear:10 relu", "relu");                  // the logits have no relu
  expect_spec_error("   ", "empty");
}

// Issue 11, defect 8: absurd sizes gave "out of memory" (or UBSan overflow at layers.cpp:64 for an
// INT_MAX input) after allocating; now the limits of base/limits.h are checked first, naming the token.
TEST(NetworkSpec, AbsurdSizesAreRefusedBeforeAllocatingNamingTheToken) {
  expect_spec_error("conv3x3:4:p999999 linear:10", "'conv3x3:4:p999999': output 4x2000028x2000028");
  expect_spec_error("conv3x3:999999 linear:10", "'conv3x3:999999': output 999999x32x32 has 1023998976 units per image");
  expect_spec_error("conv3x3:4096 conv3x3:4096 linear:10", "'conv3x3:4096': 150999040 parameters, expected at most 66994176",
                    3, 8, 8);
  expect_spec_error("linear:999999 linear:10", "'linear:999999': 3072996927 parameters");
  // the budget is for the whole network: each layer alone fits, together they do not
  expect_spec_error("linear:8000 linear:8000 linear:8000 linear:10", "(what is left of 67108864 per network)");
  expect_spec_error("conv999x999:1:p600 linear:10", "'conv999x999:1:p600': its im2col matrix has", 1, 64, 64);
  for (const std::array<int, 3>& chw : std::vector<std::array<int, 3>>{{INT_MAX, 32, 32}, {3, 0, 32}, {3, 65537, 1}, {4096, 4096, 3}}) {
    const int c = chw[0], h = chw[1], w = chw[2];  // not a structured binding: a lambda captures these
    const std::string m = error_of([&] { nn::Network net("linear:10", c, h, w); });
    EXPECT_NE(m.find("network input " + std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) +
                     ": expected sides from 1 to 65536 and at most 4194304 values per image"),
              std::string::npos)
        << m;
  }
  // a message quoting a value keeps to one line (base::Error escapes control characters)
  expect_spec_error("\n\t", "spec '\\n\\t': empty");
  nn::Network fits("linear:4096 relu linear:10", 3, 32, 32);  // 12.6M parameters: within the limits
  EXPECT_EQ(fits.blocks()[0].output_shape.c, 4096);
}

// ---------------------------------------------------------------------------------------------
// Forward, probes, forward_from

const char* kSmallSpec = "conv3x3:3 relu maxpool2 conv3x3:4 bn relu avgpool2 linear:5 relu dropout:0.5 linear:3";

// A small net with non-trivial weights and batch-norm statistics.
nn::Network small_net(uint64_t seed = 3) {
  nn::Network net(kSmallSpec, 2, 8, 8);
  net.init(seed);
  nn::Rng rng(seed + 1);
  for (nn::NamedParam& p : net.named_params())
    for (size_t i = 0; i < p.param->value.size(); ++i) {
      double v = rng.normal();
      if (p.name.find("running_var") != std::string::npos)
        p.param->value[i] = float(0.5 + std::fabs(v));
      else if (p.name.find("bias") != std::string::npos || p.name.find("running_mean") != std::string::npos)
        p.param->value[i] = float(0.3 * v);
      else if (p.name.rfind("bn", 0) == 0)
        p.param->value[i] = float(1 + 0.2 * v);
    }
  return net;
}

TEST(NetworkForward, ProbeSeesEveryBlockOnceInOrderWithTheRightTensors) {
  nn::Network net = small_net();
  nn::Tensor x = random_tensor(nn::Shape{3, 2, 8, 8}, 5);
  std::vector<int> seen;
  nn::Shape previous{3, 2, 8, 8};
  nn::Probe probe = [&](const nn::BlockView& v) {
    seen.push_back(v.index);
    const nn::Block& b = net.blocks()[v.index];
    EXPECT_EQ(&v.block, &b);
    nn::Shape expected = b.output_shape;
    expected.n = 3;
    EXPECT_EQ(v.input.shape(), previous) << b.name;
    EXPECT_EQ(v.a.shape(), expected) << b.name;
    EXPECT_EQ(v.z.shape(), expected) << b.name;
    if (b.activation >= 0 && b.last == b.activation) {  // a = relu(z)
      for (size_t i = 0; i < v.a.size(); ++i) ASSERT_EQ(v.a[i], v.z[i] > 0.f ? v.z[i] : 0.f) << b.name;
    }
    if (b.activation < 0 && b.batchnorm < 0) {
      EXPECT_EQ(&v.z, &v.a) << b.name;
    }
    previous = expected;
  };
  const nn::Tensor& logits = net.forward(x, false, &probe);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(logits.shape(), (nn::Shape{3, 3, 1, 1}));
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_TRUE(std::isfinite(logits[i]));
}

TEST(NetworkForward, ForwardWithAndWithoutProbeAgree) {
  nn::Network net = small_net();
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 6);
  nn::Tensor plain = net.forward(x, false);
  nn::Probe probe = [](const nn::BlockView&) {};
  const nn::Tensor& probed = net.forward(x, false, &probe);
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i], probed[i]);
}

TEST(NetworkForward, ForwardFromEveryBlockOutputReproducesTheLogits) {
  for (const char* spec : {kSmallSpec, "conv3x3:4 bn relu maxpool2 conv3x3:4 relu gap linear:6 relu linear:3"}) {
    nn::Network net(spec, 2, 8, 8);
    net.init(7);
    nn::Tensor x = random_tensor(nn::Shape{3, 2, 8, 8}, 8);
    nn::Tensor logits = net.forward(x, false);
    std::vector<nn::Tensor> outputs;
    for (size_t b = 0; b < net.blocks().size(); ++b) outputs.push_back(net.output(int(b)));
    for (size_t b = 0; b < net.blocks().size(); ++b) {
      std::vector<int> seen;
      nn::Probe probe = [&](const nn::BlockView& v) { seen.push_back(v.index); };
      const nn::Tensor& again = net.forward_from(int(b), outputs[b], &probe);
      ASSERT_EQ(again.shape(), logits.shape());
      for (size_t i = 0; i < logits.size(); ++i) ASSERT_EQ(again[i], logits[i]) << spec << " from block " << b;
      ASSERT_EQ(seen.size(), net.blocks().size() - 1 - b) << "the probe sees only the blocks after " << b;
      for (size_t k = 0; k < seen.size(); ++k) EXPECT_EQ(seen[k], int(b + 1 + k));
    }
  }
}

TEST(NetworkForward, ForwardFromWithAWrongShapeThrows) {
  nn::Network net = small_net();
  EXPECT_THROW(net.forward_from(0, random_tensor(nn::Shape{1, 5, 8, 8}, 1)), base::Error);
  EXPECT_THROW(net.forward(random_tensor(nn::Shape{1, 3, 8, 8}, 1), false), base::Error);
}

TEST(NetworkForward, LesioningABlockOutputChangesTheLogits) {
  nn::Network net = small_net();
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 9);
  nn::Tensor logits = net.forward(x, false);
  nn::Tensor a = net.output(2);
  a.zero();
  const nn::Tensor& lesioned = net.forward_from(2, a);
  double diff = 0;
  for (size_t i = 0; i < logits.size(); ++i) diff += std::fabs(lesioned[i] - logits[i]);
  EXPECT_GT(diff, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// Backward

TEST(NetworkBackward, ParameterGradientsMatchFiniteDifferencesInTraining) {
  nn::Network net = small_net();
  gradcheck::Options options;
  options.max_per_variable = 60;  // a seeded sample per tensor keeps the test fast
  gradcheck::Report r = gradcheck::check_network(net, random_tensor(nn::Shape{3, 2, 8, 8}, 10), true, options);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_GT(r.checked, 150u) << r.summary();  // kinks are skipped, but most coordinates are checked
}

TEST(NetworkBackward, ParameterGradientsMatchFiniteDifferencesInEvaluation) {
  nn::Network net = small_net();
  gradcheck::Options options;
  options.max_per_variable = 60;
  options.step = 1e-3;  // at 1e-2 every sampled coordinate of conv1.bias crossed a kink
  gradcheck::Report r = gradcheck::check_network(net, random_tensor(nn::Shape{3, 2, 8, 8}, 11), false, options);
  EXPECT_TRUE(r.ok()) << r.summary();
}

TEST(NetworkBackward, BlockOutputGradientAfterForwardFromMatchesFiniteDifferences) {
  // dL/d(block output), the quantity imaging reads through output_grad(b), for the conv1 and pool1 outputs.
  for (int b : {0, 1}) {
    nn::Network net = small_net();
    nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 12);
    net.forward(x, false);
    nn::Tensor a = net.output(b);
    gradcheck::Report r = gradcheck::check_network(net, a, false, {}, b);
    EXPECT_TRUE(r.ok()) << "block " << b << ": " << r.summary();
  }
}

TEST(NetworkBackward, StopBlockGivesTheSameOutputGradAndLeavesEarlierParamsAlone) {
  nn::Network net = small_net();
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 13);
  nn::Tensor dlogits = random_tensor(nn::Shape{2, 3, 1, 1}, 14);
  net.forward(x, false);
  net.zero_grad();
  net.backward(dlogits);
  std::vector<nn::Tensor> full;
  for (size_t b = 0; b < net.blocks().size(); ++b) full.push_back(net.output_grad(int(b)));
  for (int stop = 0; stop < int(net.blocks().size()); ++stop) {
    net.zero_grad();
    net.backward(dlogits, true, stop);
    for (int b = stop; b < int(net.blocks().size()); ++b) {
      const nn::Tensor& g = net.output_grad(b);
      ASSERT_EQ(g.shape(), full[b].shape());
      for (size_t i = 0; i < g.size(); ++i) ASSERT_EQ(g[i], full[b][i]) << "stop " << stop << " block " << b;
    }
    // Layers of blocks ≤ stop ran no backward: their grads stay zero.
    for (int l = 0; l <= net.blocks()[stop].last; ++l)
      for (nn::Param* p : net.layer(l).params()) {
        if (!p->trainable) continue;
        for (size_t i = 0; i < p->grad.size(); ++i) ASSERT_EQ(p->grad[i], 0.f) << net.layer_name(l);
      }
  }
}

TEST(NetworkBackward, ZeroGradClearsAndBackwardAccumulates) {
  nn::Network net = small_net();
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 15);
  nn::Tensor dlogits = random_tensor(nn::Shape{2, 3, 1, 1}, 16);
  net.forward(x, false);
  net.zero_grad();
  net.backward(dlogits);
  std::vector<nn::Tensor> once;
  for (auto& p : net.named_params()) once.push_back(p.param->grad);
  net.backward(dlogits);
  auto params = net.named_params();
  for (size_t k = 0; k < params.size(); ++k) {
    if (!params[k].param->trainable) continue;
    for (size_t i = 0; i < once[k].size(); ++i)
      ASSERT_NEAR(params[k].param->grad[i], 2 * once[k][i], 1e-5 * (1 + std::fabs(once[k][i]))) << params[k].name;
  }
  net.zero_grad();
  for (auto& p : net.named_params()) {
    if (!p.param->trainable) continue;
    for (size_t i = 0; i < p.param->grad.size(); ++i) ASSERT_EQ(p.param->grad[i], 0.f);
  }
}

// The net runs a relu and the pool that alone reads it fused (Pool2d::forward_after_relu,
// backward_into_relu).  Property: bit for bit what the layers give one after the other — every block
// output, every block output gradient, every parameter gradient and the pools' argmax — on
// overlapping (maxpool3:s2) and floor-mode windows (odd sides leave rows unread) and an average pool,
// with inputs whose relu leaves many all-zero windows (ties at 0: the first index must win).
TEST(NetworkFusion, ReluThenPoolFusedIsBitIdenticalToTheLayersOneByOne) {
  nn::Network net("conv3x3:4 relu maxpool2 conv3x3:5 relu maxpool3:s2 conv3x3:4 bn relu avgpool2 linear:3", 2, 15, 15);
  net.init(21);
  nn::Tensor x = random_tensor(nn::Shape{3, 2, 15, 15}, 22);
  for (size_t i = 0; i < x.size(); i += 7) x[i] = -1.f;  // more negative pre-activations, more zero windows
  nn::Tensor dlogits = random_tensor(nn::Shape{3, 3, 1, 1}, 23);
  const size_t L = net.num_layers(), B = net.blocks().size();

  net.forward(x, true);
  net.zero_grad();
  net.backward(dlogits);
  std::vector<nn::Tensor> out(B), grad(B), pgrad;
  for (size_t b = 0; b < B; ++b) out[b] = net.output(int(b)), grad[b] = net.output_grad(int(b));
  for (auto& p : net.named_params()) pgrad.push_back(p.param->grad);
  std::vector<std::vector<int>> argmax;
  for (size_t i = 0; i < L; ++i)
    if (net.layer(i).layer_kind() == nn::LayerKind::maxpool) argmax.push_back(static_cast<nn::Pool2d&>(net.layer(i)).argmax());

  // The same layers one by one (the spec is a chain: layer i reads layer i − 1).
  net.zero_grad();
  nn::Rng rng(1);
  std::vector<nn::Tensor> acts(L), grads(L);
  for (size_t i = 0; i < L; ++i) net.layer(i).forward(i ? acts[i - 1] : x, acts[i], true, rng);
  grads[L - 1] = dlogits;
  for (size_t i = L; i-- > 0;)
    net.layer(i).backward(i ? acts[i - 1] : x, acts[i], grads[i], i ? &grads[i - 1] : nullptr, true);
  const auto same_bits = [](const nn::Tensor& a, const nn::Tensor& b, const std::string& what) {
    ASSERT_EQ(a.shape(), b.shape()) << what;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
  };
  for (size_t b = 0; b < B; ++b) {
    const nn::Block& blk = net.blocks()[b];
    same_bits(out[b], acts[size_t(blk.last)], blk.name + " output");
    same_bits(grad[b], grads[size_t(blk.last)], blk.name + " output gradient");
  }
  auto params = net.named_params();
  for (size_t k = 0; k < params.size(); ++k) {
    if (params[k].param->trainable) same_bits(pgrad[k], params[k].param->grad, params[k].name + " gradient");
  }
  size_t pools = 0;
  for (size_t i = 0; i < L; ++i) {
    if (net.layer(i).layer_kind() == nn::LayerKind::maxpool) {
      EXPECT_EQ(argmax[pools++], static_cast<nn::Pool2d&>(net.layer(i)).argmax()) << net.layer_name(i);
    }
  }
  EXPECT_EQ(pools, 2u);
  // The test is not vacuous: some pooling windows of conv1's output are all zero after the relu.
  size_t zero_windows = 0;
  for (size_t i = 0; i < out[1].size(); ++i) zero_windows += out[1][i] == 0.f;
  EXPECT_GT(zero_windows, 0u);
}

namespace {
// A net and its inference-only twin: the same spec, input shape and seed.
struct FullAndLean {
  nn::Network full, lean;
  FullAndLean(const std::string& spec, int c, int h, int w, uint64_t seed) : full(spec, c, h, w), lean(spec, c, h, w) {
    full.init(seed);
    lean.init(seed);
    lean.set_inference_only(true);
  }
};
}  // namespace

// An inference-only net (Network::set_inference_only): the logits and every block's output are the
// same bits as the full eval forward's, with and without a probe (the probe that reads no z lets the
// conv write into the relu's buffer), the max pools record no argmax, and a training forward, a
// backward and argmax() throw; off again, the argmax is recorded and is the full forward's.
TEST(NetworkInference, InferenceOnlyGivesTheSameBitsAndKeepsNoArgmax) {
  nn::Network net("conv3x3:4 relu maxpool2 conv3x3:5 relu maxpool3:s2 conv3x3:4 bn relu avgpool2 linear:3", 2, 15, 15);
  net.init(31);
  nn::Tensor x = random_tensor(nn::Shape{3, 2, 15, 15}, 32);
  const size_t B = net.blocks().size(), L = net.num_layers();
  std::vector<nn::Tensor> blocks(B);
  const nn::Probe keep = [&](const nn::BlockView& v) { blocks[size_t(v.index)] = v.a; };
  const nn::Tensor full = net.forward(x, false, &keep);
  const std::vector<nn::Tensor> full_blocks = blocks;
  std::vector<std::vector<int>> argmax;
  for (size_t i = 0; i < L; ++i)
    if (net.layer(i).layer_kind() == nn::LayerKind::maxpool) argmax.push_back(static_cast<nn::Pool2d&>(net.layer(i)).argmax());
  ASSERT_EQ(argmax.size(), 2u);
  const auto same_bits = [](const nn::Tensor& a, const nn::Tensor& b, const std::string& what) {
    ASSERT_EQ(a.shape(), b.shape()) << what;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
  };

  net.set_inference_only(true);
  EXPECT_TRUE(net.inference_only());
  same_bits(net.forward(x, false), full, "logits, no probe");
  for (const nn::ProbeReads reads : {nn::ProbeReads{true, false}, nn::ProbeReads{false, false}}) {
    blocks.assign(B, nn::Tensor());
    same_bits(net.forward(x, false, &keep, nullptr, reads), full, "logits, probed");
    for (size_t b = 0; b < B; ++b) same_bits(blocks[b], full_blocks[b], net.blocks()[b].name + " output");
  }
  for (size_t i = 0; i < L; ++i) {
    if (net.layer(i).layer_kind() == nn::LayerKind::maxpool) {
      EXPECT_THROW(static_cast<nn::Pool2d&>(net.layer(i)).argmax(), std::logic_error) << net.layer_name(i);
    }
  }
  EXPECT_THROW(net.backward(random_tensor(nn::Shape{3, 3, 1, 1}, 33)), std::logic_error);
  EXPECT_THROW(net.forward(x, true), std::logic_error);

  for (const nn::NamedParam& p : net.named_params()) {  // the gradients are freed
    if (p.param->trainable) {
      EXPECT_EQ(p.param->grad.capacity(), 0u) << p.name;
    }
  }

  net.set_inference_only(false);
  for (const nn::NamedParam& p : net.named_params()) {  // zero again, as in a new net
    if (!p.param->trainable) continue;
    ASSERT_EQ(p.param->grad.shape(), p.param->value.shape()) << p.name;
    for (size_t i = 0; i < p.param->grad.size(); ++i) ASSERT_EQ(p.param->grad[i], 0.f) << p.name;
  }
  same_bits(net.forward(x, false), full, "logits, full again");
  size_t pools = 0;
  for (size_t i = 0; i < L; ++i) {
    if (net.layer(i).layer_kind() == nn::LayerKind::maxpool) {
      EXPECT_EQ(static_cast<nn::Pool2d&>(net.layer(i)).argmax(), argmax[pools++]) << net.layer_name(i);
    }
  }
  net.zero_grad();
  net.backward(random_tensor(nn::Shape{3, 3, 1, 1}, 33));  // allowed again
}

// An inference-only net pools its layer outputs (Network::set_inference_only): a layer writes into a
// buffer another layer gave back, full of that layer's numbers.  The logits and what a probe sees of
// every block (input, a; z when it reads z) are the bits of a full net, with and without a probe and
// an edit, batch after batch of changing sizes; chains, bn and dropout, residual units of every kind.
TEST(NetworkInference, PooledOutputsGiveTheSameBitsBatchAfterBatch) {
  const std::vector<std::string> specs = {
      "conv3x3:4 relu maxpool2 conv3x3:5 relu maxpool2 linear:6 relu linear:3",
      "conv3x3:4 bn relu conv3x3:4 relu maxpool2 conv3x3:5 bn relu avgpool2 linear:6 relu dropout:0.5 linear:3",
      "conv3x3:4 relu 2*(res(conv3x3:4 bn relu conv3x3:4 bn) relu) res:pad(conv3x3:6:s2 bn relu conv3x3:6 bn) relu "
      "res:proj(conv3x3:8 bn) relu gap linear:3",
      "conv3x3:4 relu res(conv3x3:4) relu res(conv3x3:4 bn relu) res(conv3x3:4) linear:3"};
  const auto same_bits = [](const nn::Tensor& a, const nn::Tensor& b, const std::string& what) {
    ASSERT_EQ(a.shape(), b.shape()) << what;
    if (a.size()) {  // a z not read is an empty tensor on both sides (memcmp takes no null pointer)
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
    }
  };
  for (const std::string& spec : specs) {
    FullAndLean nets(spec, 2, 8, 8, 37);
    nn::Network &full = nets.full, &lean = nets.lean;
    const size_t B = full.blocks().size();
    const nn::BlockEdit edit = [](int block, nn::Tensor& a) {
      if (block == 1)
        for (size_t i = 0; i < a.size(); i += 3) a[i] = 0.5f;
    };
    const int batches[] = {3, 5, 2, 5};
    for (int step = 0; step < 4; ++step) {
      const int n = batches[step];
      const std::string at = spec + " step " + std::to_string(step);
      nn::Tensor x = random_tensor(nn::Shape{n, 2, 8, 8}, uint64_t(60 + step));
      same_bits(lean.forward(x, false), nn::Tensor(full.forward(x, false)), at + " logits");
      same_bits(lean.forward(x, false, nullptr, &edit), nn::Tensor(full.forward(x, false, nullptr, &edit)), at + " edited logits");
      for (const bool z : {true, false}) {
        std::vector<nn::Tensor> seen_full(3 * B), seen_lean(3 * B);
        const auto keep = [&](std::vector<nn::Tensor>& seen) {
          return nn::Probe([&seen, z](const nn::BlockView& v) {
            seen[3 * size_t(v.index)] = v.input;
            seen[3 * size_t(v.index) + 1] = v.a;
            if (z) seen[3 * size_t(v.index) + 2] = v.z;
          });
        };
        const nn::Probe probe_full = keep(seen_full), probe_lean = keep(seen_lean);
        const nn::Tensor logits = full.forward(x, false, &probe_full, nullptr, nn::ProbeReads{z, false});
        same_bits(lean.forward(x, false, &probe_lean, nullptr, nn::ProbeReads{z, false}), logits, at + " probed logits");
        for (size_t k = 0; k < 3 * B; ++k)
          same_bits(seen_lean[k], seen_full[k], at + " " + full.blocks()[k / 3].name + " view " + std::to_string(k % 3));
      }
    }
  }
}

// What a pooled forward leaves allocated: for `reference` on 32×32 no more than one layer's output
// plus its input per image (activation_floats_per_image of an inference-only net), batch after
// batch, where the full net holds every layer's output (more than that).
TEST(NetworkInference, PooledOutputsHoldLessThanEveryLayersOutput) {
  FullAndLean nets(nn::Network::preset("reference"), 3, 32, 32, 5);
  nn::Network &full = nets.full, &lean = nets.lean;
  const size_t n = 4, bound = n * lean.activation_floats_per_image();
  EXPECT_EQ(lean.activation_floats_per_image(), size_t(2 * 32 * 32 * 32));  // conv1's output and the relu's
  for (int step = 0; step < 3; ++step) {
    const nn::Tensor x = random_tensor(nn::Shape{int(n), 3, 32, 32}, uint64_t(70 + step));
    lean.forward(x, false);
    EXPECT_LE(lean.activation_floats_held(), bound) << "step " << step;
  }
  full.forward(random_tensor(nn::Shape{int(n), 3, 32, 32}, 70), false);
  EXPECT_GT(full.activation_floats_held(), bound);
}

// A net built inference-only (the commands that never train) allocates no gradient: it is the full
// net's weights and logits, and turned to training its gradients are zero and a backward gives the
// full net's, bit for bit.
TEST(NetworkInference, ANetBuiltInferenceOnlyHasNoGradientsUntilItTrains) {
  const std::string spec = "conv3x3:4 bn relu maxpool2 conv3x3:5 relu maxpool2 linear:6 relu linear:3";
  nn::Network full(spec, 2, 8, 8), lean(spec, 2, 8, 8, base::kMaxParameters, true);
  full.init(41);
  lean.init(41);
  EXPECT_TRUE(lean.inference_only());
  size_t trainable = 0;
  for (const nn::NamedParam& p : lean.named_params()) {
    EXPECT_GT(p.param->value.size(), 0u) << p.name;
    if (p.param->trainable) {
      ++trainable;
      EXPECT_EQ(p.param->grad.capacity(), 0u) << p.name;
    }
  }
  EXPECT_GT(trainable, 0u);
  const nn::Tensor x = random_tensor(nn::Shape{3, 2, 8, 8}, 42), dlogits = random_tensor(nn::Shape{3, 3, 1, 1}, 43);
  const nn::Tensor logits(full.forward(x, false));
  const nn::Tensor& lean_logits = lean.forward(x, false);
  EXPECT_EQ(std::memcmp(lean_logits.data(), logits.data(), logits.size() * sizeof(float)), 0);
  lean.set_inference_only(false);
  lean.forward(x, false);
  full.forward(x, false);
  lean.backward(dlogits);
  full.backward(dlogits);
  auto a = full.named_params(), b = lean.named_params();
  for (size_t k = 0; k < a.size(); ++k) {
    if (!a[k].param->trainable) continue;
    ASSERT_EQ(b[k].param->grad.shape(), a[k].param->grad.shape()) << a[k].name;
    EXPECT_EQ(std::memcmp(a[k].param->grad.data(), b[k].param->grad.data(), a[k].param->grad.size() * sizeof(float)), 0) << a[k].name;
  }
}

// forward_from past a shortcut reads an output of the forward before it, which an inference-only net
// does not keep: refused.  Without a shortcut it runs, and gives the full net's logits.
TEST(NetworkInference, ForwardFromPastAShortcutIsRefusedOnAnInferenceOnlyNet) {
  const std::string spec = "conv3x3:4 relu res(conv3x3:4 relu conv3x3:4) relu linear:3";
  FullAndLean nets(spec, 2, 8, 8, 3);
  nn::Network &full = nets.full, &lean = nets.lean;
  const nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 4);
  lean.forward(x, false);
  full.forward(x, false);
  const int inside = lean.find_block("conv2"), after = lean.find_block("res1");
  ASSERT_GE(inside, 0);
  ASSERT_GE(after, 0);
  ASSERT_TRUE(lean.crossed_by_shortcut(inside));
  const nn::Tensor a(full.output(inside));
  EXPECT_THROW(lean.forward_from(inside, a), std::logic_error);
  const nn::Tensor b(full.output(after));
  const nn::Tensor logits(full.forward_from(after, b));
  const nn::Tensor& lean_logits = lean.forward_from(after, b);
  ASSERT_EQ(lean_logits.shape(), logits.shape());
  EXPECT_EQ(std::memcmp(lean_logits.data(), logits.data(), logits.size() * sizeof(float)), 0);
}

// A net turned inference-only and back between batches (its pooled outputs, then training steps that
// read every layer's output and take their gradient buffers from a pool too, batch sizes changing):
// each pooled forward gives the logits and probe views of a net never turned, each training step its
// logits, its parameters' gradients and (bn, dropout) the same next state, bit for bit; and turning
// it does not grow what it holds.
TEST(NetworkInference, ANetTurnedBetweenInferenceAndTrainingMatchesOneNeverTurned) {
  const std::vector<std::string> specs = {
      "conv3x3:4 bn relu maxpool2 conv3x3:5 relu maxpool2 linear:6 relu dropout:0.5 linear:3",
      "conv3x3:4 relu res(conv3x3:4 bn relu conv3x3:4 bn) relu res:proj(conv3x3:6:s2 bn) relu gap linear:3"};
  const auto same_bits = [](const nn::Tensor& a, const nn::Tensor& b, const std::string& what) {
    ASSERT_EQ(a.shape(), b.shape()) << what;
    if (a.size()) {
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
    }
  };
  for (const std::string& spec : specs) {
    nn::Network full(spec, 2, 8, 8), turned(spec, 2, 8, 8);
    full.init(81);
    turned.init(81);
    const size_t B = full.blocks().size();
    const int batches[] = {3, 5, 2, 6, 4, 1};
    for (int step = 0; step < 6; ++step) {
      const int n = batches[step];
      const std::string at = spec + " step " + std::to_string(step);
      const nn::Tensor x = random_tensor(nn::Shape{n, 2, 8, 8}, uint64_t(90 + step));
      turned.set_inference_only(step % 2 == 0);
      if (step % 2 == 0) {
        std::vector<nn::Tensor> seen_full(2 * B), seen_turned(2 * B);
        const auto keep = [](std::vector<nn::Tensor>& seen) {
          return nn::Probe([&seen](const nn::BlockView& v) {
            seen[2 * size_t(v.index)] = v.input;
            seen[2 * size_t(v.index) + 1] = v.a;
          });
        };
        const nn::Probe probe_full = keep(seen_full), probe_turned = keep(seen_turned);
        const nn::Tensor logits(full.forward(x, false, &probe_full));
        same_bits(turned.forward(x, false, &probe_turned), logits, at + " probed logits");
        for (size_t k = 0; k < 2 * B; ++k) same_bits(seen_turned[k], seen_full[k], at + " view " + std::to_string(k));
        same_bits(turned.forward(x, false), logits, at + " logits");
        continue;
      }
      const nn::Tensor dlogits = random_tensor(nn::Shape{n, 3, 1, 1}, uint64_t(100 + step));
      same_bits(turned.forward(x, true), nn::Tensor(full.forward(x, true)), at + " training logits");
      turned.zero_grad();
      full.zero_grad();
      turned.backward(dlogits);
      full.backward(dlogits);
      auto a = full.named_params(), b = turned.named_params();
      for (size_t k = 0; k < a.size(); ++k) {
        same_bits(b[k].param->value, a[k].param->value, at + " " + a[k].name + " value");
        if (a[k].param->trainable) same_bits(b[k].param->grad, a[k].param->grad, at + " " + a[k].name + " gradient");
      }
    }
    // Turned again and again at one batch size, it holds no more after the tenth turn than after the
    // first: a training forward writes every layer's output into its own buffer and a pooled one gives
    // them all to the pool, so a pool kept across the turns grew by the net's outputs at every turn.
    const nn::Tensor x = random_tensor(nn::Shape{4, 2, 8, 8}, 110), dlogits = random_tensor(nn::Shape{4, 3, 1, 1}, 111);
    size_t held = 0;
    for (int turn = 0; turn < 10; ++turn) {
      turned.set_inference_only(false);
      turned.forward(x, true);
      turned.backward(dlogits);
      turned.set_inference_only(true);
      turned.forward(x, false);
      if (turn == 0) held = turned.activation_floats_held();
      EXPECT_EQ(turned.activation_floats_held(), held) << spec << " turn " << turn;
    }
  }
}

// forward_from on an inference-only net, again and again (as a lesion game calls it, one coalition
// after another): the activation it is given is copied into a pooled buffer, so the net holds as
// much after the hundredth call as after the first (each call allocated a new buffer for it, given to
// the pool at the call's end and never taken again: the pool grew by the block's output per call),
// and the logits are the full net's.
TEST(NetworkInference, ForwardFromAgainAndAgainHoldsNoMoreThanOnce) {
  const std::string spec = "conv3x3:4 relu maxpool2 conv3x3:5 relu maxpool2 linear:6 relu linear:3";
  FullAndLean nets(spec, 2, 8, 8, 11);
  nn::Network &full = nets.full, &lean = nets.lean;
  const int block = lean.find_block("pool1");
  ASSERT_GE(block, 0);
  ASSERT_FALSE(lean.crossed_by_shortcut(block));
  for (const int n : {4, 4, 3}) {
    const nn::Tensor x = random_tensor(nn::Shape{n, 2, 8, 8}, uint64_t(20 + n));
    full.forward(x, false);
    lean.forward(x, false);
    const nn::Tensor a(full.output(block)), logits(full.forward_from(block, a));
    lean.forward_from(block, a);
    const size_t held = lean.activation_floats_held();
    for (int call = 0; call < 100; ++call) {
      const nn::Tensor& got = lean.forward_from(block, a);
      ASSERT_EQ(got.shape(), logits.shape());
      ASSERT_EQ(std::memcmp(got.data(), logits.data(), logits.size() * sizeof(float)), 0) << "call " << call;
    }
    EXPECT_EQ(lean.activation_floats_held(), held) << n << " images";
  }
}

// The trainer's backward (pooled gradients): a conv whose output only a relu fused with a pool reads
// takes its bias gradient from the plane sums the fused backward took (Conv2d::backward_given_plane_sums);
// every parameter gradient is bit-identical to the layers run one by one, for 1 and 2 threads.
TEST(NetworkFusion, ConvBiasFromThePoolsPlaneSumsIsBitIdenticalToTheLayersOneByOne) {
  // conv1 im2col, conv2 Winograd; both with planes of ≥ 256 values (the rule for taking the sums)
  const char* spec = "conv3x3:16 relu maxpool2 conv3x3:16 relu maxpool2 linear:3";
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    nn::Network net(spec, 2, 34, 34), ref(spec, 2, 34, 34);
    net.init(51), ref.init(51);
    const nn::Tensor x = random_tensor(nn::Shape{5, 2, 34, 34}, 52), dlogits = random_tensor(nn::Shape{5, 3, 1, 1}, 53);
    net.forward(x, true);
    net.zero_grad();
    net.backward(dlogits, true, -1, false);
    net.forward(x, true);  // a second step: the gradients add up, as the sums of a fresh step must
    net.backward(dlogits, true, -1, false);
    const size_t L = ref.num_layers();
    ref.zero_grad();
    nn::Rng rng(1);
    std::vector<nn::Tensor> acts(L), grads(L);
    for (int step = 0; step < 2; ++step) {
      for (size_t i = 0; i < L; ++i) ref.layer(i).forward(i ? acts[i - 1] : x, acts[i], true, rng);
      grads[L - 1] = dlogits;
      for (size_t i = L; i-- > 0;)
        ref.layer(i).backward(i ? acts[i - 1] : x, acts[i], grads[i], i ? &grads[i - 1] : nullptr, true);
    }
    auto params = net.named_params(), ref_params = ref.named_params();
    size_t biases = 0;
    for (size_t k = 0; k < params.size(); ++k) {
      const nn::Tensor &got = params[k].param->grad, &want = ref_params[k].param->grad;
      ASSERT_EQ(got.shape(), want.shape()) << params[k].name;
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << params[k].name << ", " << threads;
      biases += params[k].name.find("conv") != std::string::npos && params[k].name.find("bias") != std::string::npos;
    }
    EXPECT_EQ(biases, 2u);
  }
  omp_set_num_threads(saved);
}

// bn → relu fused (BatchNorm2d::forward_then_relu / backward_from_relu) where the relu alone reads
// the bn and no pool follows: block outputs, their gradients, parameter gradients and the running
// statistics are bit-identical to the layers run one by one; a bn → relu → pool keeps its relu+pool
// fusion.  A wrong fusion (a different rule, a missing relu mask in backward) fails here.
TEST(NetworkFusion, BnThenReluFusedIsBitIdenticalToTheLayersOneByOne) {
  const char* spec = "conv3x3:4 bn relu conv3x3:5 bn relu maxpool2 conv3x3:4 bn relu linear:3";
  nn::Network net(spec, 2, 10, 10), ref(spec, 2, 10, 10);
  net.init(31), ref.init(31);
  nn::Tensor x = random_tensor(nn::Shape{3, 2, 10, 10}, 32);
  nn::Tensor dlogits = random_tensor(nn::Shape{3, 3, 1, 1}, 33);
  const size_t L = net.num_layers(), B = net.blocks().size();
  net.forward(x, true);
  net.zero_grad();
  net.backward(dlogits);

  ref.zero_grad();
  nn::Rng rng(1);
  std::vector<nn::Tensor> acts(L), grads(L);
  for (size_t i = 0; i < L; ++i) ref.layer(i).forward(i ? acts[i - 1] : x, acts[i], true, rng);
  grads[L - 1] = dlogits;
  for (size_t i = L; i-- > 0;)
    ref.layer(i).backward(i ? acts[i - 1] : x, acts[i], grads[i], i ? &grads[i - 1] : nullptr, true);
  const auto same_bits = [](const nn::Tensor& a, const nn::Tensor& b, const std::string& what) {
    ASSERT_EQ(a.shape(), b.shape()) << what;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
  };
  for (size_t b = 0; b < B; ++b) {
    const nn::Block& blk = net.blocks()[b];
    same_bits(net.output(int(b)), acts[size_t(blk.last)], blk.name + " output");
    same_bits(net.output_grad(int(b)), grads[size_t(blk.last)], blk.name + " output gradient");
  }
  auto params = net.named_params(), ref_params = ref.named_params();
  for (size_t k = 0; k < params.size(); ++k) {
    same_bits(params[k].param->value, ref_params[k].param->value, params[k].name);  // running statistics
    if (params[k].param->trainable) same_bits(params[k].param->grad, ref_params[k].param->grad, params[k].name + " gradient");
  }
  // Not vacuous: the relus zero some of the bn outputs, so the relu mask matters in backward.
  size_t zeros = 0;
  for (size_t i = 0; i < net.output(0).size(); ++i) zeros += net.output(0)[i] == 0.f;
  EXPECT_GT(zeros, 0u);
}

// Batch norm's statistics are partial sums per plane added in image order: the same bits for any
// thread count (forward output, running statistics, input and parameter gradients).
TEST(BatchNormThreads, SameBitsForOneAndThreeThreads) {
  const nn::Tensor x = random_tensor(nn::Shape{5, 6, 7, 9}, 41), dy = random_tensor(nn::Shape{5, 6, 7, 9}, 42);
  std::vector<nn::Tensor> out(2), dx(2), dw(2), rv(2);
  const int saved = omp_get_max_threads();
  for (int run = 0; run < 2; ++run) {
    omp_set_num_threads(run == 0 ? 1 : 3);
    nn::BatchNorm2d bn;
    bn.setup(nn::Shape{1, 6, 7, 9});
    nn::Rng rng(1);
    bn.init(rng);
    bn.forward(x, out[size_t(run)], true, rng);
    bn.backward(x, out[size_t(run)], dy, &dx[size_t(run)], true);
    dw[size_t(run)] = bn.weight.grad;
    rv[size_t(run)] = bn.running_var.value;
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(dx[0].data(), dx[1].data(), dx[0].size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(dw[0].data(), dw[1].data(), dw[0].size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(rv[0].data(), rv[1].data(), rv[0].size() * sizeof(float)), 0);
}

// backward(…, keep_output_grads = false) — the trainer's: pooled gradient buffers, the fused relu's
// gradient written in place — and a forward without a probe, whose conv output goes straight into
// the relu's buffer, give the same logits and parameter gradients, bit for bit, as forwards with a
// probe and backwards that keep every gradient; also when the batch size changes and a kept
// backward (the analysis's) runs between pooled ones.  Nets: a chain, one with bn, one residual.
TEST(NetworkMemory, PooledGradientsAndInPlaceReluGiveTheSameBits) {
  const std::vector<std::string> specs = {
      "conv3x3:4 relu maxpool2 conv3x3:5 relu maxpool2 linear:6 relu linear:3",
      "conv3x3:4 bn relu maxpool2 conv3x3:5 relu avgpool2 linear:3",
      "conv3x3:4 relu res(conv3x3:4 bn relu conv3x3:4 bn) relu maxpool2 linear:3",
      // the add's gradient handed over to the branch then the shortcut, or to the shortcut then the
      // branch (Network::backward); a one-layer branch, whose input gradient goes to the shortcut's slot
      // (handed over, then summed); a branch ending in a fused bn → relu (keeps the copy)
      "conv3x3:4 relu 2*(res(conv3x3:4 bn relu conv3x3:4 bn) relu) res:pad(conv3x3:6:s2 bn relu conv3x3:6 bn) relu "
      "res:proj(conv3x3:8 bn) relu linear:3",
      "conv3x3:4 relu res(conv3x3:4) relu res(conv3x3:4 bn relu) res(conv3x3:4) linear:3"};
  for (const std::string& spec : specs) {
    nn::Network kept(spec, 2, 8, 8), pooled(spec, 2, 8, 8);
    kept.init(31);
    pooled.init(31);
    const nn::Probe nothing = [](const nn::BlockView&) {};
    const int batches[] = {3, 2, 3, 1, 3};
    for (int step = 0; step < 5; ++step) {
      const int n = batches[step];
      nn::Tensor x = random_tensor(nn::Shape{n, 2, 8, 8}, uint64_t(40 + step));
      for (size_t i = 0; i < x.size(); i += 5) x[i] = -1.f;
      const nn::Tensor dlogits = random_tensor(nn::Shape{n, 3, 1, 1}, uint64_t(50 + step));
      const nn::Tensor logits_kept = kept.forward(x, true, &nothing);  // the probe: every layer's own buffer
      const bool analysis_step = step == 3;  // as the analysis does between epochs: a kept backward
      const nn::Tensor logits_pooled = pooled.forward(x, true);
      ASSERT_EQ(logits_kept.shape(), logits_pooled.shape()) << spec;
      EXPECT_EQ(std::memcmp(logits_kept.data(), logits_pooled.data(), logits_kept.size() * sizeof(float)), 0)
          << spec << " step " << step;
      kept.zero_grad();
      pooled.zero_grad();
      kept.backward(dlogits);
      pooled.backward(dlogits, true, -1, /*keep_output_grads=*/analysis_step);
      auto a = kept.named_params(), b = pooled.named_params();
      for (size_t k = 0; k < a.size(); ++k) {
        if (!a[k].param->trainable) continue;
        EXPECT_EQ(std::memcmp(a[k].param->grad.data(), b[k].param->grad.data(), a[k].param->grad.size() * sizeof(float)), 0)
            << spec << " step " << step << " " << a[k].name;
      }
      if (analysis_step) {  // a kept backward still leaves every block's output gradient readable
        for (size_t blk = 0; blk < kept.blocks().size(); ++blk) {
          EXPECT_EQ(std::memcmp(kept.output_grad(int(blk)).data(), pooled.output_grad(int(blk)).data(),
                                kept.output_grad(int(blk)).size() * sizeof(float)), 0)
              << spec << " " << kept.blocks()[blk].name;
        }
      }
    }
  }
}

// An edit of a relu block's output (fault injection) must reach the pool after it: the fused path
// is not taken then.
TEST(NetworkFusion, AnEditOfTheReluOutputIsWhatThePoolReads) {
  nn::Network net("conv3x3:4 relu maxpool2 linear:3", 2, 8, 8);
  net.init(24);
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 25);
  const nn::BlockEdit edit = [](int block, nn::Tensor& a) {
    if (block == 0) a.fill(-2.f);
  };
  net.forward(x, true, nullptr, &edit);
  const nn::Tensor& pooled = net.output(1);
  ASSERT_GT(pooled.size(), 0u);
  for (size_t i = 0; i < pooled.size(); ++i) ASSERT_EQ(pooled[i], -2.f) << i;
}

TEST(NetworkInit, SameSeedSameWeightsDifferentSeedDifferent) {
  nn::Network a(kSmallSpec, 2, 8, 8), b(kSmallSpec, 2, 8, 8), c(kSmallSpec, 2, 8, 8);
  a.init(1), b.init(1), c.init(2);
  auto pa = a.named_params(), pb = b.named_params(), pc = c.named_params();
  bool any_diff = false;
  for (size_t k = 0; k < pa.size(); ++k)
    for (size_t i = 0; i < pa[k].param->value.size(); ++i) {
      ASSERT_EQ(pa[k].param->value[i], pb[k].param->value[i]);
      any_diff |= pa[k].param->value[i] != pc[k].param->value[i];
    }
  EXPECT_TRUE(any_diff);
  // He initialisation: conv1 weights have sd √(2/fan_in) = √(2/18).
  auto& w = pa[0].param->value;
  double s2 = 0;
  for (size_t i = 0; i < w.size(); ++i) s2 += double(w[i]) * w[i];
  EXPECT_NEAR(std::sqrt(s2 / w.size()), std::sqrt(2.0 / 18), 0.15);
}

// He-normal (He et al. 2015) on layers large enough to tell it from its neighbours: each weight tensor's
// sd within 3% of √(2/fan_in) (Xavier, LeCun or fan-out would be 10–40% off), mean near 0, kurtosis
// of a normal (3; a uniform draw of the same sd has 1.8), biases 0; OutputInit::zero zeroes only the
// output block.
TEST(NetworkInit, HeNormalWithTheFanInOfEveryLayer) {
  for (nn::OutputInit output : {nn::OutputInit::he, nn::OutputInit::zero}) {
    nn::Network net("conv3x3:64 relu maxpool2 linear:300 relu linear:10", 32, 8, 8);
    net.init(3, output);
    const auto params = net.named_params();
    ASSERT_EQ(params.size(), 6u);
    const std::vector<double> fan_in = {32 * 9, 64 * 4 * 4, 300};
    for (size_t layer = 0; layer < 3; ++layer) {
      const nn::Tensor& w = params[2 * layer].param->value;
      const nn::Tensor& b = params[2 * layer + 1].param->value;
      for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i], 0.f) << params[2 * layer + 1].name;
      if (layer == 2 && output == nn::OutputInit::zero) {
        for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(w[i], 0.f) << i;
        continue;
      }
      double m1 = 0, m2 = 0, m4 = 0;
      for (size_t i = 0; i < w.size(); ++i) m1 += w[i], m2 += double(w[i]) * w[i], m4 += std::pow(double(w[i]), 4);
      const double n = double(w.size()), sd = std::sqrt(m2 / n), want = std::sqrt(2.0 / fan_in[layer]);
      const double tolerance = layer == 2 ? 0.08 : 0.03;  // 3,000 output weights: a 1.3% standard error
      EXPECT_NEAR(sd / want, 1.0, tolerance) << params[2 * layer].name;
      EXPECT_NEAR(m1 / n / want, 0.0, 5 / std::sqrt(n)) << params[2 * layer].name;
      if (layer < 2) {
        EXPECT_NEAR(m4 / n / (sd * sd * sd * sd), 3.0, 0.25) << params[2 * layer].name;
      }
    }
  }
}

// network.h: a backward reads the activations of the last forward()/forward_from(); asked to go below
// where a forward_from started (stop_block before its block), the layers there hold what an earlier
// forward left (not necessarily of these images), and it is refused.
TEST(NetworkBackward, ABackwardBelowTheStartOfTheLastForwardFromIsRefused) {
  nn::Network net = small_net();
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 13);
  nn::Tensor dlogits = random_tensor(nn::Shape{2, 3, 1, 1}, 14);
  net.forward(x, false);
  const nn::Tensor a = net.output(1);
  net.forward_from(1, a);
  net.backward(dlogits, true, 1);  // from block 1's output up: what forward_from ran
  expect_error_naming([&] { net.backward(dlogits, true, 0); }, "before the start of the last forward");
}

}  // namespace
