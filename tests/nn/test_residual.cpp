// tests/nn/test_residual.cpp — residual units: the spec's groups and repeats, the add and the option A
// shortcut as layers, whole residual nets (identity, option A, option B) against finite differences,
// the resnet presets, forward_from across a shortcut and the checkpoint round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/network.h"
#include "tests/error_of.h"
#include "tests/nn/gradient_check.h"
#include "tests/temp_dir.h"

namespace {

using gradcheck::random_tensor;

// One small net per shortcut kind; option A with an odd map (⌈7/2⌉ = 4) and 4 → 7 channels
// (front 1, back 2 zero channels), option B once with a stride and once without.
const char* kIdentitySpec = "conv3x3:4 bn relu res(conv3x3:4 bn relu conv3x3:4 bn) relu res(conv3x3:4 relu) relu gap linear:3";
const char* kPadSpec = "conv3x3:4 relu res:pad(conv3x3:7:s2 bn relu conv3x3:7 bn) relu res(conv3x3:7) relu maxpool2 linear:3";
const char* kProjSpec = "conv3x3:4 bn relu res:proj(conv3x3:8:s2 bn relu conv3x3:8 bn) relu res:proj(conv3x3:5) linear:3";

std::unique_ptr<nn::Network> make_net(const std::string& spec, int C, int H, int W, uint64_t seed) {
  auto net = std::make_unique<nn::Network>(spec, C, H, W);
  net->init(seed);
  nn::Rng rng(seed + 1);  // non-trivial biases and batch-norm statistics
  for (auto& p : net->named_params()) {
    const bool stat = p.name.find("running_var") != std::string::npos;
    const bool shift = p.name.find("bias") != std::string::npos || p.name.find("running_mean") != std::string::npos;
    for (size_t i = 0; i < p.param->value.size(); ++i) {
      if (stat) p.param->value[i] = float(0.5 + rng.uniform());
      if (shift) p.param->value[i] = float(0.2 * rng.normal());
    }
  }
  return net;
}

TEST(ResidualSpec, Resnet20IsHeEtAlsCifarNet) {
  const std::string spec = nn::Network::preset("resnet20");
  ASSERT_FALSE(spec.empty());
  nn::Network net(spec, 3, 32, 32);
  // 3×3 conv (16) + 9 units × 2 convs + linear: 19 convs, 9 residual blocks, gap, output.
  // 269,722 learnable scalars: 432 + 32 (stem) + 6·2,304 + 6·32 + 4,608 + 5·9,216 + 6·64 + 18,432 + 5·36,864
  // + 6·128 + 650 — He et al.'s "0.27M" with option A shortcuts (no shortcut parameters).
  EXPECT_EQ(net.parameter_count(), size_t(269722));
  std::vector<std::string> names;
  for (const auto& b : net.blocks()) names.push_back(b.name);
  ASSERT_EQ(names.size(), size_t(19 + 9 + 1 + 1));
  EXPECT_EQ(names[0], "conv1");
  EXPECT_EQ(names[1], "conv2");
  EXPECT_EQ(names[2], "conv3");
  EXPECT_EQ(names[3], "res1");
  EXPECT_EQ(names[names.size() - 3], "res9");
  EXPECT_EQ(names[names.size() - 2], "pool1");
  EXPECT_EQ(names.back(), "output");
  const nn::Block& res1 = net.blocks()[3];
  EXPECT_EQ(res1.kind, "res");
  EXPECT_EQ(res1.inputs, (std::vector<int>{2, 0}));  // branch conv3, shortcut from conv1
  EXPECT_GE(res1.activation, 0);
  EXPECT_EQ(res1.shortcut_layer, -1);  // identity
  const int res4 = net.find_block("res4");  // the first unit of stage 2: option A, 16 → 32 channels, 32 → 16
  ASSERT_GE(res4, 0);
  const nn::Block& b4 = net.blocks()[size_t(res4)];
  EXPECT_EQ(net.layer(size_t(b4.shortcut_layer)).kind(), "pad_shortcut");
  EXPECT_EQ(b4.output_shape.c, 32);
  EXPECT_EQ(b4.output_shape.h, 16);
  EXPECT_EQ(net.blocks()[net.blocks().size() - 3].output_shape.c, 64);
  EXPECT_EQ(net.blocks()[net.blocks().size() - 3].output_shape.h, 8);
  EXPECT_TRUE(net.is_residual());
  EXPECT_FALSE(nn::Network(nn::Network::preset("bn"), 3, 32, 32).is_residual());
  // resnet56: 9 units per stage.
  nn::Network deep(nn::Network::preset("resnet56"), 3, 32, 32);
  EXPECT_EQ(deep.find_block("res27") >= 0, true);
  EXPECT_EQ(deep.find_block("res28"), -1);
}

TEST(ResidualSpec, RepeatIsTheTokensWrittenOut) {
  nn::Network a("conv3x3:4 2*(res(conv3x3:4 relu conv3x3:4) relu) linear:2", 1, 6, 6);
  nn::Network b("conv3x3:4 res(conv3x3:4 relu conv3x3:4) relu res(conv3x3:4 relu conv3x3:4) relu linear:2", 1, 6, 6);
  ASSERT_EQ(a.num_layers(), b.num_layers());
  for (size_t i = 0; i < a.num_layers(); ++i) {
    EXPECT_EQ(a.layer_name(i), b.layer_name(i));
    EXPECT_EQ(a.layer_source(i), b.layer_source(i));
  }
  // Brackets may stand apart from or against the tokens.
  nn::Network c("conv3x3:4 2*( res( conv3x3:4 relu conv3x3:4 ) relu ) linear:2", 1, 6, 6);
  EXPECT_EQ(c.num_layers(), a.num_layers());
}

TEST(ResidualSpec, BadGroupsThrowNamingTheToken) {
  const auto expect = [](const std::string& spec, const std::string& token, const std::string& text) {
    const std::string m = error_of([&] { nn::Network net(spec, 3, 8, 8); });
    EXPECT_NE(m.find("'" + token + "'"), std::string::npos) << spec << ": " << m;
    EXPECT_NE(m.find(text), std::string::npos) << spec << ": " << m;
  };
  expect("conv3x3:4 res() linear:2", "res(", "needs a branch");
  expect("conv3x3:4 res(conv3x3:4 linear:2", "res(", "unclosed group");
  expect("conv3x3:4 2*(res(conv3x3:4) relu linear:2", "2*(", "unclosed group");
  expect("conv3x3:4 0*(conv3x3:4) linear:2", "0*(", "count N ≥ 1");
  expect("conv3x3:4 2*() linear:2", "2*(", "nothing to repeat");
  expect("conv3x3:4 conv3x3:4) linear:2", ")", "no group is open");
  expect("conv3x3:4 res(conv3x3:8) linear:2", "res(", "cannot be added");
  expect("conv3x3:4 res(conv3x3:4:s2) linear:2", "res(", "cannot be added");
  expect("conv3x3:8 res:pad(conv3x3:4:s2) linear:2", "res:pad(", "fewer than");
  expect("conv3x3:4 res:proj(conv3x3:4:p0) linear:2", "res:proj(", "subsampled by one stride");
  expect("conv3x3:4 res(relu conv3x3:4) linear:2", "relu", "must follow a conv");
  expect("conv3x3:4 res(conv3x3:4) bn linear:2", "bn", "directly follow a conv");
  expect("conv3x3:4 ( conv3x3:4 ) linear:2", "(", "res(");
  expect("conv3x3:4 skip(conv3x3:4) linear:2", "skip(", "unknown group");
}

// Groups nest at most 64 deep: the repeat expansion recurses once per level, and a spec of 40,000
// nested groups (an imported model.json) overflowed the stack (SIGSEGV) instead of an error.
TEST(ResidualSpec, GroupsNestAtMost64Deep) {
  const auto nested = [](int depth) {
    std::string spec = "conv3x3:4 ";
    for (int i = 0; i < depth; ++i) spec += "1*(";
    spec += "res(conv3x3:4 relu conv3x3:4) relu";
    for (int i = 0; i < depth; ++i) spec += ")";
    return spec + " linear:2";
  };
  nn::Network ok(nested(63), 1, 6, 6);  // 63 repeats + the unit: 64 levels
  nn::Network flat("conv3x3:4 res(conv3x3:4 relu conv3x3:4) relu linear:2", 1, 6, 6);
  EXPECT_EQ(ok.num_layers(), flat.num_layers());
  for (int depth : {64, 40000}) {
    const std::string m = error_of([&] { nn::Network net(nested(depth), 1, 6, 6); });
    EXPECT_NE(m.find("nested at most 64 deep"), std::string::npos) << depth << ": " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

// Repeats write out at most 100,000 tokens: a spec of exactly 100,000 passes the expansion (and fails, as
// it should, on its first token, which names no layer), one of 100,001 is refused before anything else.
TEST(ResidualSpec, RepeatsWriteOutAtMost100000Tokens) {
  const std::string exactly = error_of([] { nn::Network net("nolayer 99999*(relu)", 1, 6, 6); });
  EXPECT_NE(exactly.find("'nolayer'"), std::string::npos) << exactly;
  EXPECT_EQ(exactly.find("expands to more than"), std::string::npos) << exactly;
  for (const char* spec : {"nolayer 100000*(relu)", "conv3x3:4 1000*(1000*(relu)) linear:2"}) {
    const std::string m = error_of([&] { nn::Network net(spec, 1, 6, 6); });
    EXPECT_NE(m.find("the spec expands to more than 100000 tokens"), std::string::npos) << spec << ": " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(PadShortcut, ForwardSubsamplesAndPadsChannelsBackwardIsItsTranspose) {
  nn::PadShortcut pad(7, 2);
  ASSERT_EQ(pad.setup(nn::Shape{1, 4, 5, 5}).c, 7);
  EXPECT_EQ(pad.front(), 1);
  nn::Tensor x = random_tensor(nn::Shape{2, 4, 5, 5}, 3), y;
  nn::Rng rng(1);
  pad.forward(x, y, true, rng);
  ASSERT_EQ(y.shape(), (nn::Shape{2, 7, 3, 3}));
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 7; ++o)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          const float expected = o >= 1 && o < 5 ? x.data()[((n * 4 + o - 1) * 5 + 2 * i) * 5 + 2 * j] : 0.f;
          EXPECT_EQ(y.data()[((n * 7 + o) * 3 + i) * 3 + j], expected);
        }
  const gradcheck::Report r = gradcheck::check_layer(pad, x, true);
  EXPECT_TRUE(r.ok()) << r.summary();
}

struct NetCase {
  const char* spec;
  int C, H, W;
};
class ResidualNet : public ::testing::TestWithParam<NetCase> {};

// Every parameter's gradient through both paths into each add (a wrong backward that drops the
// shortcut's or the branch's share, or overwrites instead of adding, fails here).  A step of 1e-3 and
// images with few values near a relu's kink: at the checker's 1e-2 every sampled coordinate of the stem
// and the first unit moved some relu after it and was skipped, so the first add's shortcut share into
// the stem was never compared (the check now fails when a variable has no coordinate compared).
TEST_P(ResidualNet, ParameterGradientsMatchFiniteDifferencesInTrainingAndEvaluation) {
  const NetCase c = GetParam();
  for (bool training : {true, false}) {
    auto net = make_net(c.spec, c.C, c.H, c.W, 5);
    nn::Tensor x = random_tensor(nn::Shape{3, c.C, c.H, c.W}, 9);
    gradcheck::Options o;
    o.max_per_variable = 40;
    o.step = 1e-3;
    const gradcheck::Report r = gradcheck::check_network(*net, x, training, o);
    EXPECT_TRUE(r.ok()) << c.spec << (training ? " training: " : " evaluation: ") << r.summary();
  }
}

// forward_from a residual block's output reproduces the logits, and its output gradient (which two
// layers of the next unit read: the branch's first conv and the shortcut) matches finite differences.
TEST_P(ResidualNet, ForwardFromAResidualBlockAndItsOutputGradient) {
  const NetCase c = GetParam();
  auto net = make_net(c.spec, c.C, c.H, c.W, 7);
  nn::Tensor x = random_tensor(nn::Shape{2, c.C, c.H, c.W}, 8);
  const nn::Tensor logits = net->forward(x, false);
  const int res1 = net->find_block("res1");
  ASSERT_GE(res1, 0);
  EXPECT_FALSE(net->crossed_by_shortcut(res1));
  EXPECT_TRUE(net->crossed_by_shortcut(res1 - 1));  // the branch's last conv: the shortcut passes it
  const nn::Tensor a = net->output(res1);
  const nn::Tensor& again = net->forward_from(res1, a);
  ASSERT_EQ(again.size(), logits.size());
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_FLOAT_EQ(again[i], logits[i]);
  // Inside a branch, forward_from reads the shortcut's input from the last forward of the same images.
  const nn::Tensor inner = net->output(res1 - 1);
  net->forward(x, false);
  const nn::Tensor& from_branch = net->forward_from(res1 - 1, inner);
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_FLOAT_EQ(from_branch[i], logits[i]);
  nn::Tensor one = random_tensor(nn::Shape{1, inner.c(), inner.h(), inner.w()}, 9);
  expect_error_naming([&] { net->forward_from(res1 - 1, one); }, "a shortcut passes this block");
  gradcheck::Options o;
  o.max_per_variable = 30;
  nn::Tensor ra = random_tensor(nn::Shape{2, a.c(), a.h(), a.w()}, 10);
  const gradcheck::Report r = gradcheck::check_network(*net, ra, false, o, res1);
  EXPECT_TRUE(r.ok()) << c.spec << ": " << r.summary();
}

INSTANTIATE_TEST_SUITE_P(Shortcuts, ResidualNet,
                         ::testing::Values(NetCase{kIdentitySpec, 3, 6, 6}, NetCase{kPadSpec, 2, 7, 7},
                                           NetCase{kProjSpec, 2, 8, 8}));

// Every gradient of a net on 2×5×5 inputs against finite differences, in training and in evaluation.
void expect_gradients_match_finite_differences(const char* spec) {
  for (bool training : {true, false}) {
    auto net = make_net(spec, 2, 5, 5, 13);
    gradcheck::Options o;
    o.max_per_variable = 40;
    o.step = 1e-3;
    const gradcheck::Report r = gradcheck::check_network(*net, random_tensor(nn::Shape{3, 2, 5, 5}, 14), training, o);
    EXPECT_TRUE(r.ok()) << (training ? "training: " : "evaluation: ") << r.summary();
  }
}

// A unit nested as the first layer of another's branch: both adds take the same tensor as their shortcut,
// so the inner add finds that tensor's gradient already written by the outer one and must add to it (the
// nets above never reach that path: an add that overwrote there passed them).
TEST(ResidualNesting, UnitsSharingAShortcutAddTheirGradients) {
  expect_gradients_match_finite_differences("conv3x3:4 relu res(res(conv3x3:4 relu conv3x3:4) relu conv3x3:4) relu gap linear:3");
}

class ResidualCheckpoint : public TempDirTest {};

TEST_F(ResidualCheckpoint, RoundTripGivesIdenticalLogitsAndNamesTheShortcutParameters) {
  auto net = make_net(kProjSpec, 2, 8, 8, 11);
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 8, 8}, 12);
  const nn::Tensor logits = net->forward(x, false);
  const std::string file = path("res.nnfmri");
  nn::save_checkpoint(file, *net, 1, {"a", "b", "c"});
  nn::Checkpoint ck = nn::load_checkpoint(file);
  std::vector<std::string> names;
  for (auto& p : ck.net->named_params()) names.push_back(p.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "res1.proj.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "res1.proj_bn.running_var"), names.end());
  const nn::Tensor& again = ck.net->forward(x, false);
  ASSERT_EQ(again.size(), logits.size());
  EXPECT_EQ(std::memcmp(again.data(), logits.data(), logits.size() * sizeof(float)), 0);
  // model.json's graph: every layer names the layer it reads, an add its shortcut too.
  const nlohmann::json d = nn::describe_network(*ck.net);
  for (size_t i = 0; i < ck.net->num_layers(); ++i) {
    EXPECT_EQ(d["layers"][i]["input"].get<int>(), ck.net->layer_source(i));
    if (ck.net->layer(i).kind() == "add") {
      EXPECT_EQ(d["layers"][i]["shortcut"].get<int>(), ck.net->shortcut_source(i));
    }
  }
}

// model.json (describe_network, what `export` writes and bench/imaging_recompute.py rebuilds): a res:pad
// shortcut is its stride and the zero channels before and after the input's, (out − in)/2 in front as
// option A of He et al. pads (PyTorch's F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, front, back))), for an even
// and an odd difference.
TEST(ResidualModelJson, GivesThePadShortcutsStrideAndChannels) {
  for (const auto& [out, front, back] : {std::array<int, 3>{8, 2, 2}, std::array<int, 3>{7, 1, 2}}) {
    const std::string c = std::to_string(out);
    auto net = make_net("conv3x3:4 relu res:pad(conv3x3:" + c + ":s2 relu conv3x3:" + c + ") relu gap linear:3", 2, 8, 8, 3);
    const nlohmann::json d = nn::describe_network(*net);
    int pads = 0;
    for (const auto& l : d["layers"]) {
      if (l["kind"] != "pad_shortcut") continue;
      ++pads;
      EXPECT_EQ(l["stride"], 2);
      EXPECT_EQ(l["pad_front"], front) << out;
      EXPECT_EQ(l["pad_back"], back) << out;
      EXPECT_EQ(l["input_shape"][0].get<int>() + front + back, out);
    }
    EXPECT_EQ(pads, 1) << out;
  }
}

// A relu whose output a pool reads and a unit's identity shortcut reads too (maxpool1 opens the
// branch): its gradient is the sum of both readers' shares, so it must not run fused with the pool,
// whose fused backward writes the relu's input gradient from the pool's share alone.
TEST(ResidualNesting, AReluReadByAPoolAndAShortcutAddsBothShares) {
  expect_gradients_match_finite_differences("conv3x3:4 relu res(maxpool1 conv3x3:4) relu gap linear:3");
}

}  // namespace
