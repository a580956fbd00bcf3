// tests/nn/test_torch_reference.cpp — nnfmri against PyTorch on a small net, without PyTorch.
//
// tests/nn/fixtures/torch_reference.bin and torch_residual.bin (residual units with option A, option B
// and identity shortcuts) were written once by tests/nn/fixtures/make_torch_fixtures.py
// (its docstring describes the file format and every array).  This test builds the same net with
// nn::Network, copies the initial weights and compares: train-mode logits and loss, the batch-norm
// running statistics, every parameter gradient and the input gradient, the losses of 3 SGD steps
// and the evaluation-mode logits and weights after them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fileio.h"
#include "nn/loss.h"
#include "nn/network.h"
#include "nn/optim.h"
#include "tests/error_of.h"

namespace {

// The nets of the script: a spec and its fixture file.
struct Reference {
  const char* spec;
  const char* file;
};
const Reference kPlain = {"conv3x3:4 relu maxpool2 conv3x3:6 bn relu avgpool2 linear:8 relu linear:3", "torch_reference.bin"};
const Reference kResidual = {
    "conv3x3:4 relu res:pad(conv3x3:6:s2 bn relu conv3x3:6 bn) relu res:proj(conv3x3:8 bn relu conv3x3:8 bn) relu "
    "res(conv3x3:8 relu conv3x3:8) relu gap linear:3",
    "torch_residual.bin"};
const char* kSpec = kPlain.spec;

struct Array {
  std::vector<int> dims;
  std::vector<float> data;
};

// The fixture file: "NNFMRIfx", u32 count, then per array u32 name length, name, u32 ndim, dims, float32 data.
std::map<std::string, Array> read_fixture(const std::string& path) {
  const std::string bytes = base::read_file(path);
  size_t off = 0;
  auto need = [&](size_t n) {
    if (off + n > bytes.size()) throw base::Error(path + ": truncated fixture at byte " + std::to_string(off));
  };
  auto u32 = [&]() {
    need(4);
    uint32_t v;
    std::memcpy(&v, bytes.data() + off, 4);
    off += 4;
    return v;
  };
  need(8);
  if (bytes.compare(0, 8, "NNFMRIfx") != 0) throw base::Error(path + ": not a fixture file (bad magic)");
  off = 8;
  std::map<std::string, Array> arrays;
  for (uint32_t k = 0, count = u32(); k < count; ++k) {
    uint32_t name_length = u32();
    need(name_length);
    std::string name = bytes.substr(off, name_length);
    off += name_length;
    Array a;
    size_t size = 1;
    for (uint32_t d = 0, ndim = u32(); d < ndim; ++d) a.dims.push_back(int(u32())), size *= a.dims.back();
    need(size * 4);
    a.data.resize(size);
    std::memcpy(a.data.data(), bytes.data() + off, size * 4);
    off += size * 4;
    arrays[name] = std::move(a);
  }
  if (off != bytes.size()) throw base::Error(path + ": " + std::to_string(bytes.size() - off) + " trailing bytes");
  return arrays;
}

// The fixture lives beside this source file: tests/nn/fixtures/ (the suite runs from the repository root).
std::string fixture_path(const std::string& file = kPlain.file) {
  std::string here = __FILE__;
  size_t slash = here.find_last_of('/');
  return (slash == std::string::npos ? std::string(".") : here.substr(0, slash)) + "/fixtures/" + file;
}

class TorchReference : public ::testing::TestWithParam<Reference> {
 protected:
  void SetUp() override {
    fixture_ = read_fixture(fixture_path(GetParam().file));
    const Array& input = at("input");
    ASSERT_EQ(input.dims, (std::vector<int>{5, 2, 8, 8}));
    x_.resize(nn::Shape{5, 2, 8, 8});
    std::memcpy(x_.data(), input.data.data(), x_.size() * sizeof(float));
    for (float v : at("labels").data) labels_.push_back(uint8_t(v));
  }

  const Array& at(const std::string& name) const {
    auto it = fixture_.find(name);
    if (it == fixture_.end()) throw base::Error(fixture_path(GetParam().file) + ": no array '" + name + "'");
    return it->second;
  }

  // Copies init/<name> into every parameter and buffer of the net, checking the element counts.
  void load_initial_weights(nn::Network& net) {
    for (nn::NamedParam& p : net.named_params()) {
      const Array& a = at("init/" + p.name);
      ASSERT_EQ(a.data.size(), p.param->value.size()) << p.name;
      std::memcpy(p.param->value.data(), a.data.data(), a.data.size() * sizeof(float));
    }
  }

  // |got − want| ≤ rtol·|want| + atol·max|want| for every element (atol covers values near 0).
  static void expect_close(const std::string& what, const float* got, size_t count, const Array& want,
                           double rtol = 1e-4, double atol = 1e-5) {
    ASSERT_EQ(count, want.data.size()) << what;
    double scale = 0;
    for (float w : want.data) scale = std::max(scale, double(std::fabs(w)));
    size_t bad = 0, worst_at = 0;
    double worst = 0;
    for (size_t i = 0; i < count; ++i) {
      double err = std::fabs(double(got[i]) - want.data[i]) / (rtol * std::fabs(want.data[i]) + atol * scale + 1e-30);
      if (!(err <= 1)) ++bad;
      if (!(err <= worst)) worst = err, worst_at = i;
    }
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << count << " elements differ; worst at " << worst_at
                       << ": nnfmri " << got[worst_at] << ", torch " << want.data[worst_at];
  }

  std::map<std::string, Array> fixture_;
  nn::Tensor x_;
  std::vector<uint8_t> labels_;
};

TEST(TorchReferenceLayout, PlainNetParametersAreNamedAsTheStateDict) {
  nn::Network net(kSpec, 2, 8, 8);
  std::vector<std::string> expected = {"conv1.weight", "conv1.bias", "conv2.weight", "bn1.weight",
                                       "bn1.bias", "bn1.running_mean", "bn1.running_var", "fc1.weight",
                                       "fc1.bias", "output.weight", "output.bias"};
  auto params = net.named_params();
  ASSERT_EQ(params.size(), expected.size());
  for (size_t k = 0; k < params.size(); ++k) EXPECT_EQ(params[k].name, expected[k]);
}

TEST_P(TorchReference, FixtureMatchesTheNetworkLayout) {
  nn::Network net(GetParam().spec, 2, 8, 8);
  size_t arrays = 0;
  for (const auto& [name, array] : fixture_) arrays += name.rfind("init/", 0) == 0;
  auto params = net.named_params();
  ASSERT_EQ(params.size(), arrays);  // every state_dict entry is a parameter of the net, by name
  for (size_t k = 0; k < params.size(); ++k)
    EXPECT_EQ(at("init/" + params[k].name).data.size(), params[k].param->value.size()) << params[k].name;
  EXPECT_EQ(labels_.size(), 5u);
}

TEST_P(TorchReference, TrainModeForwardLossAndEveryGradient) {
  nn::Network net(GetParam().spec, 2, 8, 8);
  load_initial_weights(net);
  // The conv1 pre-activation, for the input gradient below.
  nn::Tensor conv1_z;
  nn::Probe probe = [&](const nn::BlockView& v) {
    if (v.index == 0) conv1_z = v.z;
  };
  const nn::Tensor& logits = net.forward(x_, true, &probe);
  expect_close("train/logits", logits.data(), logits.size(), at("train/logits"));
  nn::Tensor dlogits;
  double loss = nn::softmax_cross_entropy(logits, labels_.data(), &dlogits);
  EXPECT_NEAR(loss, at("train/loss").data[0], 1e-4 * loss);
  size_t statistics = 0;  // every batch norm's running mean and (unbiased) variance
  for (nn::NamedParam& p : net.named_params())
    if (p.name.find(".running_") != std::string::npos) {
      expect_close("after_forward/" + p.name, p.param->value.data(), p.param->value.size(), at("after_forward/" + p.name));
      ++statistics;
    }
  EXPECT_GE(statistics, 2u);

  net.zero_grad();
  net.backward(dlogits);
  for (nn::NamedParam& p : net.named_params()) {
    if (!p.param->trainable) continue;
    expect_close("grad/" + p.name, p.param->grad.data(), p.param->grad.size(), at("grad/" + p.name));
  }

  // dL/dx: Network::backward stops at the first layer's input, so the last two steps are done here:
  // through conv1's relu (dL/dz = dL/da where z > 0) and then conv1 itself.
  nn::Tensor dz, dx;
  nn::ReLU relu;
  relu.backward(conv1_z, net.output(0), net.output_grad(0), &dz, false);
  net.layer(0).backward(x_, conv1_z, dz, &dx, false);
  expect_close("grad/input", dx.data(), dx.size(), at("grad/input"));
}

TEST_P(TorchReference, ThreeSgdStepsThenEvaluation) {
  nn::Network net(GetParam().spec, 2, 8, 8);
  load_initial_weights(net);
  const Array& config = at("sgd/config");
  nn::OptimConfig cfg;
  cfg.kind = "sgd";
  cfg.lr = config.data[0];
  cfg.momentum = config.data[1];
  cfg.weight_decay = config.data[2];
  cfg.nesterov = false;
  nn::Optimizer optimizer(net, cfg);
  std::vector<float> losses;
  nn::Tensor dlogits;
  for (int step = 0; step < 3; ++step) {
    const nn::Tensor& logits = net.forward(x_, true);
    losses.push_back(float(nn::softmax_cross_entropy(logits, labels_.data(), &dlogits)));
    net.zero_grad();
    net.backward(dlogits);
    optimizer.step(cfg.lr);
  }
  expect_close("sgd/losses", losses.data(), 3, at("sgd/losses"));
  const nn::Tensor& logits = net.forward(x_, false);
  expect_close("sgd/eval_logits", logits.data(), logits.size(), at("sgd/eval_logits"), 2e-4);
  for (nn::NamedParam& p : net.named_params())
    expect_close("sgd/final/" + p.name, p.param->value.data(), p.param->value.size(), at("sgd/final/" + p.name));
}

INSTANTIATE_TEST_SUITE_P(Nets, TorchReference, ::testing::Values(kPlain, kResidual),
                         [](const ::testing::TestParamInfo<Reference>& info) { return info.index == 0 ? "plain" : "residual"; });

TEST(TorchReferenceFixture, MalformedFixtureThrowsNamingTheFile) {
  const std::string path = ::testing::TempDir() + "nnfmri_bad_fixture.bin";
  base::write_file_atomic(path, std::string("NNFMRIfx\x05\x00\x00\x00", 12));  // promises 5 arrays, has none
  expect_error_naming([&] { read_fixture(path); }, path);
  std::remove(path.c_str());
}

}  // namespace
