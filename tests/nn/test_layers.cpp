// tests/nn/test_layers.cpp — every layer of nn/layers.h: forward against a naive loop or a hand
// computation, backward against the generic finite-difference checker (tests/nn/gradient_check.h),
// and the backward contract (OVERWRITES din, ADDS into parameter grads).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "nn/layers.h"
#include "nn/winograd.h"
#include "tests/nn/gradient_check.h"
#include "tests/error_of.h"

namespace {

using gradcheck::random_tensor;

// Non-trivial parameters: weights and biases N(0, ½²), batch-norm γ around 1, running var > 0.
void randomize_params(nn::Layer& layer, uint64_t seed) {
  nn::Rng rng(seed);
  for (nn::Param* p : layer.params())
    for (size_t i = 0; i < p->value.size(); ++i) {
      double v = rng.normal();
      if (p->name == "running_var")
        p->value[i] = float(0.5 + std::fabs(v));
      else if (dynamic_cast<nn::BatchNorm2d*>(&layer) && p->name == "weight")
        p->value[i] = float(1.0 + 0.3 * v);
      else
        p->value[i] = float(0.5 * v);
    }
}

// Backward contract of nn/layers.h: din is overwritten (whatever it held), parameter grads are
// accumulated (two backwards give twice one), param_grads = false leaves them alone.
void expect_backward_contract(nn::Layer& layer, const nn::Tensor& x, bool training) {
  nn::Tensor out;
  nn::Rng rng(5);
  layer.forward(x, out, training, rng);
  nn::Tensor dout = random_tensor(out.shape(), 77);
  std::vector<nn::Param*> trainable;
  for (nn::Param* p : layer.params())
    if (p->trainable) trainable.push_back(p), p->grad.zero();

  nn::Tensor din1(x.shape()), din2(x.shape());
  din1.fill(1e30f);
  layer.backward(x, out, dout, &din1, true);
  std::vector<nn::Tensor> once;
  for (nn::Param* p : trainable) once.push_back(p->grad);

  din2.fill(-12345.f);
  layer.backward(x, out, dout, &din2, true);
  ASSERT_EQ(din1.shape(), x.shape());
  ASSERT_EQ(din2.shape(), x.shape());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(din1[i], din2[i]) << layer.kind() << ": din not overwritten at " << i;
  for (size_t k = 0; k < trainable.size(); ++k)
    for (size_t i = 0; i < once[k].size(); ++i)
      ASSERT_NEAR(trainable[k]->grad[i], 2.f * once[k][i], 1e-5f * (1.f + std::fabs(once[k][i])))
          << layer.kind() << "." << trainable[k]->name << "[" << i << "]: backward does not add into the grad";

  // param_grads = false: grads untouched; din = nullptr: allowed, grads still accumulate.
  layer.backward(x, out, dout, &din2, false);
  for (size_t k = 0; k < trainable.size(); ++k)
    for (size_t i = 0; i < once[k].size(); ++i) ASSERT_NEAR(trainable[k]->grad[i], 2.f * once[k][i], 1e-5f * (1.f + std::fabs(once[k][i])));
  layer.backward(x, out, dout, nullptr, true);
  for (size_t k = 0; k < trainable.size(); ++k)
    for (size_t i = 0; i < once[k].size(); ++i) ASSERT_NEAR(trainable[k]->grad[i], 3.f * once[k][i], 1e-5f * (1.f + std::fabs(once[k][i])));
}

#define EXPECT_GRADIENTS_OK(report) \
  do {                              \
    auto r_ = (report);             \
    EXPECT_TRUE(r_.ok()) << r_.summary(); \
  } while (0)

// ---------------------------------------------------------------------------------------------
// The checker itself: it must pass a correct gradient and fail a wrong one.

// out = x², with a configurable (possibly wrong) derivative factor: din = factor·x·dout.
class Square : public nn::Layer {
 public:
  explicit Square(float factor) : factor_(factor) {}
  // Every layer declares one of nn's kinds; an elementwise map is closest to relu (the kind only names it here).
  nn::LayerKind layer_kind() const override { return nn::LayerKind::relu; }
  std::string token() const override { return "square"; }
  nn::Shape setup(nn::Shape in) override { return input_shape = output_shape = in; }
  void forward(const nn::Tensor& in, nn::Tensor& out, bool, nn::Rng&) override {
    out.resize(in.shape());
    for (size_t i = 0; i < in.size(); ++i) out[i] = in[i] * in[i];
  }
  void backward(const nn::Tensor& in, const nn::Tensor&, const nn::Tensor& dout, nn::Tensor* din, bool) override {
    din->resize(in.shape());
    for (size_t i = 0; i < in.size(); ++i) (*din)[i] = factor_ * in[i] * dout[i];
  }

 private:
  float factor_;
};

// A Linear whose weight gradient is off by 0.05 at one coordinate.
class LinearWithWrongWeightGrad : public nn::Linear {
 public:
  using nn::Linear::Linear;
  void backward(const nn::Tensor& in, const nn::Tensor& out, const nn::Tensor& dout, nn::Tensor* din,
                bool param_grads) override {
    nn::Linear::backward(in, out, dout, din, param_grads);
    weight.grad[3] += 0.05f;
  }
};

TEST(GradientChecker, PassesACorrectGradient) {
  Square square(2.f);
  square.setup(nn::Shape{1, 2, 3, 3});
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(square, random_tensor(nn::Shape{2, 2, 3, 3}, 1), true));
}

TEST(GradientChecker, ReportsAWrongInputGradient) {
  Square wrong(1.f);  // d(x²)/dx is 2x, not x
  wrong.setup(nn::Shape{1, 2, 3, 3});
  gradcheck::Report r = gradcheck::check_layer(wrong, random_tensor(nn::Shape{2, 2, 3, 3}, 1), true);
  EXPECT_FALSE(r.ok());
  EXPECT_GT(r.failed, 30u) << r.summary();  // all but the coordinates where x ≈ 0
  EXPECT_NE(r.details.find("input["), std::string::npos) << r.details;
}

TEST(GradientChecker, ReportsAWrongParameterGradientAtTheRightCoordinate) {
  LinearWithWrongWeightGrad layer(4);
  layer.setup(nn::Shape{1, 3, 2, 1});
  randomize_params(layer, 3);
  gradcheck::Report r = gradcheck::check_layer(layer, random_tensor(nn::Shape{2, 3, 2, 1}, 4), true);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed, 1u) << r.summary();
  EXPECT_NE(r.details.find("linear.weight[3]"), std::string::npos) << r.details;
}

TEST(GradientChecker, ReportsAMissingGradient) {
  // A backward that forgets the bias gradient (it stays 0) must fail.
  class NoBiasGrad : public nn::Linear {
   public:
    using nn::Linear::Linear;
    void backward(const nn::Tensor& in, const nn::Tensor& out, const nn::Tensor& dout, nn::Tensor* din,
                  bool param_grads) override {
      nn::Linear::backward(in, out, dout, din, param_grads);
      bias.grad.zero();
    }
  } layer(3);
  layer.setup(nn::Shape{1, 4, 1, 1});
  randomize_params(layer, 5);
  gradcheck::Report r = gradcheck::check_layer(layer, random_tensor(nn::Shape{3, 4, 1, 1}, 6), true);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.details.find("linear.bias["), std::string::npos) << r.details;
}

// ---------------------------------------------------------------------------------------------
// Conv2d

struct ConvCase {
  const char* name;
  int n, c, h, w, oc, kh, kw, stride, pad;
  bool bias;
  nn::ConvAlgorithm algorithm = nn::ConvAlgorithm::automatic;
  bool winograd = false;  // whether the case must run Winograd (checked, so a case cannot silently miss it)
};

nn::Conv2d make_conv(const ConvCase& k) {
  nn::Conv2d conv(k.oc, k.kh, k.kw, k.stride, k.pad, k.bias);
  conv.algorithm = k.algorithm;
  conv.setup(nn::Shape{1, k.c, k.h, k.w});
  EXPECT_EQ(conv.uses_winograd(), k.winograd) << k.name;
  return conv;
}

class Conv2dTest : public ::testing::TestWithParam<ConvCase> {};

// out[n][o][y][x] = b[o] + Σ_{c,i,j} w[o][c][i][j] · in[n][c][y·S−P+i][x·S−P+j]   (0 outside), in double
nn::Tensor naive_conv(const nn::Conv2d& conv, const nn::Tensor& in) {
  const int OH = conv.output_shape.h, OW = conv.output_shape.w;
  nn::Tensor out(in.n(), conv.out_channels, OH, OW);
  for (int n = 0; n < in.n(); ++n)
    for (int o = 0; o < conv.out_channels; ++o)
      for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x) {
          double s = conv.has_bias ? conv.bias.value[o] : 0.0;
          for (int c = 0; c < in.c(); ++c)
            for (int i = 0; i < conv.kh; ++i)
              for (int j = 0; j < conv.kw; ++j) {
                int iy = y * conv.stride - conv.pad + i, ix = x * conv.stride - conv.pad + j;
                if (iy >= 0 && iy < in.h() && ix >= 0 && ix < in.w())
                  s += double(conv.weight.value[((size_t(o) * in.c() + c) * conv.kh + i) * conv.kw + j]) *
                       in.at(n, c, iy, ix);
              }
          out.at(n, o, y, x) = float(s);
        }
  return out;
}

TEST_P(Conv2dTest, ForwardMatchesNaiveLoop) {
  const ConvCase& k = GetParam();
  nn::Conv2d conv = make_conv(k);
  const nn::Shape os = conv.output_shape;
  EXPECT_EQ(os.h, (k.h + 2 * k.pad - k.kh) / k.stride + 1);
  EXPECT_EQ(os.w, (k.w + 2 * k.pad - k.kw) / k.stride + 1);
  EXPECT_EQ(conv.params().size(), k.bias ? 2u : 1u);
  randomize_params(conv, 11);
  nn::Tensor x = random_tensor(nn::Shape{k.n, k.c, k.h, k.w}, 12), out;
  nn::Rng rng(0);
  conv.forward(x, out, true, rng);
  nn::Tensor expected = naive_conv(conv, x);
  ASSERT_EQ(out.shape(), expected.shape());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-4f * (1 + std::fabs(expected[i]))) << i;
}

// A convolution is linear in its input and in its weights, so the central difference is exact in real
// arithmetic for any step: a step of 0.1 (not the checker's 0.01) only divides the forward's float
// rounding by 10× less.  That rounding is what the check must see past: Winograd F(4×4, 3×3) moves
// each output by up to ~1e-5 of the map's largest value, and the ~1,000 outputs a perturbed pixel
// reaches through its tiles add up to a numeric-derivative noise near the 0.01 step's tolerance.
TEST_P(Conv2dTest, GradientsMatchFiniteDifferences) {
  const ConvCase& k = GetParam();
  nn::Conv2d conv = make_conv(k);
  randomize_params(conv, 13);
  gradcheck::Options options;
  options.step = 0.1;
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(conv, random_tensor(nn::Shape{k.n, k.c, k.h, k.w}, 14), true, options));
}

TEST_P(Conv2dTest, BackwardOverwritesInputGradAndAddsParamGrads) {
  const ConvCase& k = GetParam();
  nn::Conv2d conv = make_conv(k);
  randomize_params(conv, 15);
  expect_backward_contract(conv, random_tensor(nn::Shape{k.n, k.c, k.h, k.w}, 16), true);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dTest,
    ::testing::Values(ConvCase{"k3_s1_p1_bias", 2, 3, 6, 6, 4, 3, 3, 1, 1, true},
                      ConvCase{"k3_s1_p1_nobias", 2, 3, 6, 6, 4, 3, 3, 1, 1, false},
                      ConvCase{"k1_s1_p0", 2, 5, 4, 4, 3, 1, 1, 1, 0, true},
                      ConvCase{"k5_s2_p0_nonsquare_input", 2, 2, 9, 11, 3, 5, 5, 2, 0, true},
                      ConvCase{"k3_s2_p1_nonsquare_nobias", 3, 3, 7, 5, 4, 3, 3, 2, 1, false},
                      ConvCase{"k2x3_kernel_p0", 2, 2, 5, 6, 2, 2, 3, 1, 0, true},
                      ConvCase{"k3_s3_p2", 1, 2, 8, 7, 3, 3, 3, 3, 2, true},
                      // Winograd F(4x4,3x3): chosen automatically from 16 channels on; forced on small ones.
                      // Odd maps (the last tile row/column is cropped), images not a multiple of the
                      // 8 vector lanes (a partial chunk: its outputs element by element).
                      ConvCase{"winograd_forced_k3", 2, 3, 6, 6, 4, 3, 3, 1, 1, true, nn::ConvAlgorithm::winograd, true},
                      ConvCase{"winograd_auto_odd_map", 2, 16, 7, 5, 16, 3, 3, 1, 1, true, {}, true},
                      ConvCase{"winograd_auto_19_images_nobias", 19, 16, 3, 2, 17, 3, 3, 1, 1, false, {}, true},
                      ConvCase{"winograd_forced_49_tiles", 9, 1, 26, 25, 2, 3, 3, 1, 1, true,
                               nn::ConvAlgorithm::winograd, true},
                      // 34 images: with 1 or 2 threads, chunks of 8 full lanes (only the frame is
                      // zeroed; tiles inside the map read dy and write y by 4 × 8 register
                      // transposes) and partial ones; 8×8 register transposes plus W mod 8 = 3
                      // columns element by element; an odd H (the last tile row cropped).
                      ConvCase{"winograd_forced_34_images_9x11", 34, 2, 9, 11, 3, 3, 3, 1, 1, true,
                               nn::ConvAlgorithm::winograd, true},
                      ConvCase{"im2col_forced_16_channels", 2, 16, 5, 5, 16, 3, 3, 1, 1, true,
                               nn::ConvAlgorithm::im2col, false}),
    [](const ::testing::TestParamInfo<ConvCase>& info) { return std::string(info.param.name); });

// The reference net's conv2 (32 → 64 channels, 16×16, batch 64) by Winograd and by im2col: the same
// output and gradients up to float rounding; and Winograd twice gives the same bits (thread-local work
// arrays are reused between calls; stale lanes must never leak into a result).
TEST(Conv2d, WinogradMatchesIm2colOnTheReferenceConv2AndRepeatsBitExactly) {
  nn::Conv2d wino(64, 3, 3, 1, 1, true), plain(64, 3, 3, 1, 1, true);
  plain.algorithm = nn::ConvAlgorithm::im2col;
  for (nn::Conv2d* c : {&wino, &plain}) c->setup(nn::Shape{1, 32, 16, 16});
  ASSERT_TRUE(wino.uses_winograd());
  ASSERT_FALSE(plain.uses_winograd());
  randomize_params(wino, 31);
  plain.weight.value = wino.weight.value, plain.bias.value = wino.bias.value;
  const nn::Tensor x = random_tensor(nn::Shape{64, 32, 16, 16}, 32), dout = random_tensor(nn::Shape{64, 64, 16, 16}, 33);
  nn::Rng rng(0);
  struct Result {
    nn::Tensor out, din, dw, db;
  };
  auto run = [&](nn::Conv2d& conv) {
    Result r;
    conv.forward(x, r.out, true, rng);
    conv.weight.grad.zero(), conv.bias.grad.zero();
    conv.backward(x, r.out, dout, &r.din, true);
    r.dw = conv.weight.grad, r.db = conv.bias.grad;
    return r;
  };
  const Result a = run(wino), b = run(plain), again = run(wino);
  auto close = [](const nn::Tensor& u, const nn::Tensor& v, float tol, const char* what) {
    ASSERT_EQ(u.shape(), v.shape()) << what;
    double worst = 0, scale = 0;
    for (size_t i = 0; i < u.size(); ++i)
      worst = std::max(worst, double(std::fabs(u[i] - v[i]))), scale = std::max(scale, double(std::fabs(v[i])));
    EXPECT_LE(worst, tol * scale) << what << ": max |difference| " << worst << ", max |value| " << scale;
  };
  close(a.out, b.out, 1e-5f, "output");
  close(a.din, b.din, 1e-5f, "input gradient");
  close(a.dw, b.dw, 1e-5f, "weight gradient");
  close(a.db, b.db, 1e-5f, "bias gradient");
  for (const auto& [u, v] : {std::pair{&a.out, &again.out}, {&a.din, &again.din}, {&a.dw, &again.dw}})
    EXPECT_EQ(0, std::memcmp(u->data(), v->data(), sizeof(float) * u->size()));
}

// Winograd's work arrays are thread-local and kept between calls; every GEMM output plane is zeroed
// before its GEMM accumulates into it (β = 1).  So a call after other data has filled the arrays
// gives the same bits as the first call of a fresh thread, whose arrays start as zeros: forward
// output, input gradient and weight gradient, on the reference net's conv2 and conv3 shapes.
TEST(Winograd, StaleWorkArraysNeverLeakIntoResults) {
  struct Case {
    int N, C, H, OC;
  };
  for (const Case& c : {Case{16, 32, 16, 64}, Case{32, 64, 8, 128}}) {
    SCOPED_TRACE("C=" + std::to_string(c.C) + " OC=" + std::to_string(c.OC) + " H=" + std::to_string(c.H));
    const nn::Tensor x = random_tensor(nn::Shape{c.N, c.C, c.H, c.H}, 51), dy = random_tensor(nn::Shape{c.N, c.OC, c.H, c.H}, 52);
    const nn::Tensor big_x = random_tensor(nn::Shape{c.N, c.C, c.H, c.H}, 53, 1e3),
                     big_dy = random_tensor(nn::Shape{c.N, c.OC, c.H, c.H}, 54, 1e3);
    const nn::Tensor w = random_tensor(nn::Shape{c.OC, c.C, 3, 3}, 55), b = random_tensor(nn::Shape{1, c.OC, 1, 1}, 56);
    std::vector<float> U(nn::winograd::transformed_size(c.OC, c.C));
    nn::winograd::transform_weights(w.data(), c.OC, c.C, U.data());
    struct Result {
      std::vector<float> y, dx, dw;
    };
    auto run = [&](const nn::Tensor& in, const nn::Tensor& grad) {
      Result r{std::vector<float>(grad.size()), std::vector<float>(in.size()), std::vector<float>(w.size(), 0.f)};
      nn::winograd::forward(in.data(), c.N, c.C, c.H, c.H, U.data(), c.OC, b.data(), r.y.data());
      nn::winograd::backward(in.data(), grad.data(), c.N, c.C, c.H, c.H, U.data(), c.OC, r.dx.data(), r.dw.data());
      return r;
    };
    Result fresh, stale;
    std::thread([&] {  // a new thread: new thread-local work arrays, one OpenMP thread (itself)
      omp_set_num_threads(1);
      fresh = run(x, dy);
    }).join();
    std::thread([&] {
      omp_set_num_threads(1);
      (void)run(big_x, big_dy);  // fills the work arrays with other (large) values
      stale = run(x, dy);
    }).join();
    EXPECT_EQ(0, std::memcmp(fresh.y.data(), stale.y.data(), sizeof(float) * fresh.y.size())) << "output";
    EXPECT_EQ(0, std::memcmp(fresh.dx.data(), stale.dx.data(), sizeof(float) * fresh.dx.size())) << "input gradient";
    EXPECT_EQ(0, std::memcmp(fresh.dw.data(), stale.dw.data(), sizeof(float) * fresh.dw.size())) << "weight gradient";
  }
}

TEST(Conv2d, ForcingWinogradOnAnotherGeometryThrowsNamingTheToken) {
  nn::Conv2d conv(4, 5, 5, 1, 2, true);
  conv.algorithm = nn::ConvAlgorithm::winograd;
  conv.setup(nn::Shape{1, 16, 8, 8});
  const std::string m = error_of([&] { (void)conv.uses_winograd(); });
  EXPECT_NE(m.find("conv5x5:4"), std::string::npos) << m;
  EXPECT_NE(m.find("3x3 kernel, stride 1 and padding 1"), std::string::npos) << m;
}

// A 5×5 conv on ten 24×24 images (the im2col path; K = 400 columns per output position): gradients
// against finite differences on a batch, not one image.
TEST(Conv2d, FiveByFiveOnABatchGradientsMatchFiniteDifferences) {
  nn::Conv2d conv(2, 5, 5, 1, 2, true);
  conv.setup(nn::Shape{1, 16, 24, 24});
  randomize_params(conv, 20);
  gradcheck::Options options;
  options.max_per_variable = 25;
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(conv, random_tensor(nn::Shape{10, 16, 24, 24}, 21), false, options));
}

TEST(Conv2d, KernelLargerThanPaddedInputThrowsNamingTheToken) {
  nn::Conv2d conv(4, 5, 5, 1, 0, true);
  expect_error_naming([&] { conv.setup(nn::Shape{1, 3, 4, 4}); }, "conv5x5:4");
}

// The boundary of the check above: a kernel exactly the size of the padded input fits (one output, as in
// PyTorch), a 3×3 kernel with padding 1 on a 1×1 map included; a check written `<=` refused both.
TEST(Conv2d, KernelExactlyThePaddedInputGivesOneOutput) {
  nn::Conv2d conv(2, 3, 3, 1, 0, true);
  EXPECT_EQ(conv.setup(nn::Shape{1, 3, 3, 3}), (nn::Shape{1, 2, 1, 1}));
  nn::Conv2d padded(2, 3, 3, 1, 1, false);
  EXPECT_EQ(padded.setup(nn::Shape{1, 3, 1, 1}), (nn::Shape{1, 2, 1, 1}));
}

// ---------------------------------------------------------------------------------------------
// Linear

TEST(Linear, ForwardFlattensInCHWOrder) {
  nn::Linear fc(5);
  EXPECT_EQ(fc.setup(nn::Shape{1, 2, 3, 2}), (nn::Shape{1, 5, 1, 1}));
  EXPECT_EQ(fc.in_features, 12);
  randomize_params(fc, 21);
  nn::Tensor x = random_tensor(nn::Shape{3, 2, 3, 2}, 22), out;
  nn::Rng rng(0);
  fc.forward(x, out, false, rng);
  ASSERT_EQ(out.shape(), (nn::Shape{3, 5, 1, 1}));
  for (int n = 0; n < 3; ++n)
    for (int o = 0; o < 5; ++o) {
      double s = fc.bias.value[o];
      for (int c = 0; c < 2; ++c)
        for (int h = 0; h < 3; ++h)
          for (int w = 0; w < 2; ++w) s += double(fc.weight.value[o * 12 + (c * 3 + h) * 2 + w]) * x.at(n, c, h, w);
      EXPECT_NEAR(out.at(n, o, 0, 0), s, 1e-5);
    }
}

TEST(Linear, GradientsMatchFiniteDifferences) {
  nn::Linear fc(5);
  fc.setup(nn::Shape{1, 2, 3, 2});
  randomize_params(fc, 23);
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(fc, random_tensor(nn::Shape{3, 2, 3, 2}, 24), true));
}

TEST(Linear, BackwardOverwritesInputGradAndAddsParamGrads) {
  nn::Linear fc(4);
  fc.setup(nn::Shape{1, 6, 1, 1});
  randomize_params(fc, 25);
  expect_backward_contract(fc, random_tensor(nn::Shape{3, 6, 1, 1}, 26), true);
}

// ---------------------------------------------------------------------------------------------
// ReLU

TEST(ReLU, ForwardAndGradientAtZeroIsZero) {
  nn::ReLU relu;
  relu.setup(nn::Shape{1, 1, 1, 4});
  nn::Tensor x(1, 1, 1, 4), out, din;
  const float v[4] = {-1.f, 0.f, 2.f, -0.f};
  for (int i = 0; i < 4; ++i) x[i] = v[i];
  nn::Rng rng(0);
  relu.forward(x, out, false, rng);
  nn::Tensor dout(x.shape());
  dout.fill(1.f);
  relu.backward(x, out, dout, &din, false);
  const float expected_out[4] = {0.f, 0.f, 2.f, 0.f}, expected_din[4] = {0.f, 0.f, 1.f, 0.f};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i], expected_out[i]);
    EXPECT_EQ(din[i], expected_din[i]);
  }
}

// A NaN passes through, as in PyTorch (max(0, NaN) is NaN there): a rule written `x > 0 ? x : 0` turned it
// into 0, and a NaN from the layers below would reach the loss as a finite number, hiding a divergence
// that training stops on (README "The run directory").
TEST(ReLU, ANaNPassesThrough) {
  nn::ReLU relu;
  relu.setup(nn::Shape{1, 1, 1, 2});
  nn::Tensor x(1, 1, 1, 2), out;
  x[0] = std::nanf("");
  x[1] = 1.f;
  nn::Rng rng(0);
  relu.forward(x, out, false, rng);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 1.f);
}

TEST(ReLU, GradientsMatchFiniteDifferences) {
  nn::ReLU relu;
  relu.setup(nn::Shape{1, 3, 4, 5});
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(relu, random_tensor(nn::Shape{2, 3, 4, 5}, 31), true));
}

TEST(ReLU, InputsWithinOneStepOfTheKinkAreSkippedNotFailed) {
  nn::ReLU relu;
  relu.setup(nn::Shape{1, 1, 2, 5});
  nn::Tensor x = random_tensor(nn::Shape{2, 1, 2, 5}, 32);
  x[0] = 0.003f, x[7] = -0.004f, x[12] = 0.f;  // closer to 0 than the step 1e-2
  gradcheck::Report r = gradcheck::check_layer(relu, x, true);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_GE(r.kinks, 3u) << r.summary();
}

TEST(ReLU, BackwardOverwritesInputGrad) {
  nn::ReLU relu;
  relu.setup(nn::Shape{1, 2, 3, 3});
  expect_backward_contract(relu, random_tensor(nn::Shape{2, 2, 3, 3}, 33), true);
}

// ---------------------------------------------------------------------------------------------
// Pool2d and GlobalAvgPool

struct PoolCase {
  const char* name;
  nn::Pool2d::Mode mode;
  int k, stride, h, w;
};
class Pool2dTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(Pool2dTest, ForwardMatchesNaiveLoopAndArgmaxIsTheFirstMaximum) {
  const PoolCase& p = GetParam();
  nn::Pool2d pool(p.mode, p.k, p.stride);
  nn::Shape os = pool.setup(nn::Shape{1, 3, p.h, p.w});
  ASSERT_EQ(os, (nn::Shape{1, 3, (p.h - p.k) / p.stride + 1, (p.w - p.k) / p.stride + 1}));
  nn::Tensor x = random_tensor(nn::Shape{2, 3, p.h, p.w}, 41), out;
  // A few exact ties, so that "first maximum in row-major order" is exercised.
  for (size_t i = 0; i + 1 < x.size(); i += 5) x[i + 1] = x[i];
  nn::Rng rng(0);
  pool.forward(x, out, false, rng);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < os.h; ++y)
        for (int xx = 0; xx < os.w; ++xx) {
          double sum = 0, best = -INFINITY;
          int best_index = -1;
          for (int i = 0; i < p.k; ++i)
            for (int j = 0; j < p.k; ++j) {
              int iy = y * p.stride + i, ix = xx * p.stride + j;
              float v = x.at(n, c, iy, ix);
              sum += v;
              if (v > best) best = v, best_index = iy * p.w + ix;
            }
          float got = out.at(n, c, y, xx);
          if (p.mode == nn::Pool2d::Max) {
            EXPECT_EQ(got, float(best));
            EXPECT_EQ(pool.argmax()[((size_t(n) * 3 + c) * os.h + y) * os.w + xx], best_index);
          } else {
            EXPECT_NEAR(got, sum / (p.k * p.k), 1e-6);
          }
        }
}

TEST_P(Pool2dTest, GradientsMatchFiniteDifferences) {
  const PoolCase& p = GetParam();
  nn::Pool2d pool(p.mode, p.k, p.stride);
  pool.setup(nn::Shape{1, 2, p.h, p.w});
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(pool, random_tensor(nn::Shape{2, 2, p.h, p.w}, 42), true));
}

TEST_P(Pool2dTest, BackwardOverwritesInputGrad) {
  const PoolCase& p = GetParam();
  nn::Pool2d pool(p.mode, p.k, p.stride);
  pool.setup(nn::Shape{1, 2, p.h, p.w});
  expect_backward_contract(pool, random_tensor(nn::Shape{2, 2, p.h, p.w}, 43), true);
}

INSTANTIATE_TEST_SUITE_P(Windows, Pool2dTest,
                         ::testing::Values(PoolCase{"max_k2_s2", nn::Pool2d::Max, 2, 2, 6, 6},
                                           PoolCase{"max_k3_s2_overlapping", nn::Pool2d::Max, 3, 2, 7, 8},
                                           PoolCase{"max_k2_s3_gaps", nn::Pool2d::Max, 2, 3, 8, 7},
                                           PoolCase{"max_k2_s2_odd_floor", nn::Pool2d::Max, 2, 2, 5, 7},
                                           PoolCase{"avg_k2_s2", nn::Pool2d::Average, 2, 2, 6, 6},
                                           PoolCase{"avg_k3_s2_overlapping", nn::Pool2d::Average, 3, 2, 7, 8},
                                           PoolCase{"avg_k2_s1", nn::Pool2d::Average, 2, 1, 4, 5}),
                         [](const ::testing::TestParamInfo<PoolCase>& info) { return std::string(info.param.name); });

TEST(Pool2d, MaxPoolTiesAreSkippedAsKinksNotFailed) {
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  pool.setup(nn::Shape{1, 2, 4, 4});
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 4, 4}, 44);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::round(x[i]);  // many exact ties among {−2..2}
  gradcheck::Report r = gradcheck::check_layer(pool, x, true);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_GT(r.kinks, 0u) << r.summary();
}

// 2×2 max pooling with stride 2 runs 8 outputs at a time (AVX2) on maps wide enough: the maxima and
// argmaxes are bit-identical to the scalar rule (the first maximum in row-major order; a NaN wins,
// the first NaN), here with ties, −0/+0 ties (the first one's sign is kept), NaNs at every window
// position, and columns left over for the scalar loop (W = 37: 18 outputs per row, 16 by vectors).
TEST(Pool2d, MaxPool2x2ByVectorsIsBitIdenticalToTheScalarRule) {
  const int N = 2, C = 3, H = 6, W = 37;
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  const nn::Shape os = pool.setup(nn::Shape{1, C, H, W});
  nn::Tensor x = random_tensor(nn::Shape{N, C, H, W}, 49), out;
  for (size_t i = 0; i + 1 < x.size(); i += 5) x[i + 1] = x[i];  // ties
  for (size_t i = 0; i + 1 < x.size(); i += 23) x[i] = -0.f, x[i + 1] = 0.f;  // −0/+0 ties
  for (size_t i = 3; i < x.size(); i += 17) x[i] = std::nanf("");  // NaNs in every window position over the map
  nn::Rng rng(0);
  pool.forward(x, out, false, rng);
  size_t nan_outputs = 0, signed_zero_outputs = 0;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < os.h; ++y)
        for (int xx = 0; xx < os.w; ++xx) {
          int best = 2 * y * W + 2 * xx;
          float m = x.at(n, c, 2 * y, 2 * xx);
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              const float v = x.at(n, c, 2 * y + dy, 2 * xx + dx);
              const bool take = v > m || (v != v && m == m);
              m = take ? v : m;
              best = take ? (2 * y + dy) * W + 2 * xx + dx : best;
            }
          const size_t o = ((size_t(n) * C + c) * os.h + y) * os.w + xx;
          const float got = out[o];
          EXPECT_EQ(std::memcmp(&got, &m, sizeof m), 0) << "output " << o << ": " << got << " vs " << m;
          EXPECT_EQ(pool.argmax()[o], best) << "output " << o;
          nan_outputs += m != m;
          signed_zero_outputs += m == 0.f && std::signbit(m);
        }
  EXPECT_GT(nan_outputs, 0u);  // not vacuous
  EXPECT_GT(signed_zero_outputs, 0u);
}

// The max pool's backward and the fused relu's, and the plane sums backward_into_relu takes for a conv's
// bias gradient (sum_of's 16 lanes), bit-identical to zero-then-add, relu's rule and that sum computed
// here, including a −0 gradient (0 + −0 = +0, not −0), a NaN, and rows/columns no window covers.
// Through Pool2d::backward and backward_into_relu (with and without dz, in place, with plane sums).
TEST(Pool2d, MaxBackwardAndItsPlaneSumsAreBitIdenticalToZeroThenAdd) {
  for (int k : {2, 3}) {
    const int N = 2, C = 3, H = 3 * k + 1, W = 4 * k + 2;  // one row and two columns outside every window
    nn::Pool2d pool(nn::Pool2d::Max, k, k);
    const nn::Shape os = pool.setup(nn::Shape{1, C, H, W});
    pool.input_shape = nn::Shape{1, C, H, W};
    pool.output_shape = os;
    nn::Tensor z = random_tensor(nn::Shape{N, C, H, W}, 47), a, out, dout = random_tensor(nn::Shape{N, C, os.h, os.w}, 48);
    for (size_t i = 0; i < dout.size(); i += 3) dout[i] = -0.f;
    dout[1] = std::nanf("");
    pool.forward_after_relu(z, a, out);
    const std::vector<int>& arg = pool.argmax();
    const size_t hw = size_t(H) * W, ohw = size_t(os.h) * os.w;
    nn::Tensor want_da(N, C, H, W), want_dz(N, C, H, W);
    std::vector<float> want_sums(size_t(N) * C);
    for (size_t plane = 0; plane < size_t(N) * C; ++plane) {
      float* d = want_da.data() + plane * hw;
      std::memset(d, 0, sizeof(float) * hw);
      for (size_t o = 0; o < ohw; ++o) d[arg[plane * ohw + o]] += dout[plane * ohw + o];
      float acc[16] = {}, total = 0.f;  // nn/layers.cpp's sum_of
      for (size_t i = 0; i < hw; ++i) {
        want_dz[plane * hw + i] = a[plane * hw + i] > 0.f ? d[i] : 0.f;
        acc[i % 16] += want_dz[plane * hw + i];
      }
      for (float v : acc) total += v;
      want_sums[plane] = total;
    }
    const auto same_bits = [](const nn::Tensor& x, const nn::Tensor& y, const std::string& what) {
      ASSERT_EQ(x.shape(), y.shape()) << what;
      EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0) << what;
    };
    nn::Tensor da, da2, dz, inplace;
    pool.backward(a, out, dout, &da, false);
    same_bits(da, want_da, "backward, k " + std::to_string(k));
    pool.backward_into_relu(a, dout, da2, nullptr);
    same_bits(da2, want_da, "backward_into_relu's da, k " + std::to_string(k));
    std::vector<float> sums(size_t(N) * C, -1.f);
    pool.backward_into_relu(a, dout, da2, &dz, sums.data());
    same_bits(dz, want_dz, "backward_into_relu's dz, k " + std::to_string(k));
    EXPECT_EQ(std::memcmp(sums.data(), want_sums.data(), sums.size() * sizeof(float)), 0) << "plane sums, k " << k;
    pool.backward_into_relu(a, dout, inplace, &inplace);
    same_bits(inplace, want_dz, "backward_into_relu in place, k " + std::to_string(k));
    size_t negative_zeros = 0;  // not vacuous: −0 output gradients whose selected input is +0
    for (size_t o = 0; o < dout.size(); ++o) {
      const size_t at = (o / ohw) * hw + size_t(arg[o]);
      negative_zeros += dout[o] == 0.f && std::signbit(dout[o]) && !std::signbit(want_da[at]);
    }
    EXPECT_GT(negative_zeros, 0u);
  }
}

TEST(Pool2d, WindowLargerThanMapThrowsNamingTheToken) {
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  expect_error_naming([&] { pool.setup(nn::Shape{1, 8, 1, 1}); }, "maxpool2");
}

// A window exactly the map's size pools it to one value per channel (PyTorch's floor mode: (2−2)/2+1 = 1).
TEST(Pool2d, WindowExactlyTheMapGivesOneOutput) {
  nn::Pool2d pool(nn::Pool2d::Max, 2, 2);
  EXPECT_EQ(pool.setup(nn::Shape{1, 8, 2, 2}), (nn::Shape{1, 8, 1, 1}));
  nn::Pool2d avg(nn::Pool2d::Average, 3, 1);
  EXPECT_EQ(avg.setup(nn::Shape{1, 2, 3, 3}), (nn::Shape{1, 2, 1, 1}));
}

TEST(GlobalAvgPool, ForwardIsThePlaneMean) {
  nn::GlobalAvgPool gap;
  EXPECT_EQ(gap.setup(nn::Shape{1, 3, 4, 5}), (nn::Shape{1, 3, 1, 1}));
  nn::Tensor x = random_tensor(nn::Shape{2, 3, 4, 5}, 51), out;
  nn::Rng rng(0);
  gap.forward(x, out, false, rng);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int i = 0; i < 20; ++i) s += x[(size_t(n) * 3 + c) * 20 + i];
      EXPECT_NEAR(out.at(n, c, 0, 0), s / 20, 1e-6);
    }
}

TEST(GlobalAvgPool, GradientsMatchFiniteDifferences) {
  nn::GlobalAvgPool gap;
  gap.setup(nn::Shape{1, 3, 4, 5});
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(gap, random_tensor(nn::Shape{2, 3, 4, 5}, 52), true));
}

TEST(GlobalAvgPool, BackwardOverwritesInputGrad) {
  nn::GlobalAvgPool gap;
  gap.setup(nn::Shape{1, 3, 2, 3});
  expect_backward_contract(gap, random_tensor(nn::Shape{2, 3, 2, 3}, 53), true);
}

// ---------------------------------------------------------------------------------------------
// BatchNorm2d

TEST(BatchNorm2d, TrainingNormalisesWithBatchStatsAndUpdatesRunningStatsLikePyTorch) {
  nn::BatchNorm2d bn;
  bn.setup(nn::Shape{1, 3, 4, 5});
  nn::Rng init(0);
  bn.init(init);
  randomize_params(bn, 61);
  std::vector<float> old_mean(3), old_var(3);
  for (int c = 0; c < 3; ++c) old_mean[c] = bn.running_mean.value[c], old_var[c] = bn.running_var.value[c];
  nn::Tensor x = random_tensor(nn::Shape{2, 3, 4, 5}, 62, 3.0), out;
  for (size_t i = 0; i < x.size(); ++i) x[i] += 1.5f;
  nn::Rng rng(0);
  bn.forward(x, out, true, rng);
  const int m = 2 * 20;
  for (int c = 0; c < 3; ++c) {
    double s = 0, s2 = 0;
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 20; ++i) s += x[(size_t(n) * 3 + c) * 20 + i];
    double mean = s / m;
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 20; ++i) s2 += std::pow(x[(size_t(n) * 3 + c) * 20 + i] - mean, 2);
    double var = s2 / m;
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 20; ++i) {
        size_t k = (size_t(n) * 3 + c) * 20 + i;
        double y = (x[k] - mean) / std::sqrt(var + 1e-5) * bn.weight.value[c] + bn.bias.value[c];
        EXPECT_NEAR(out[k], y, 1e-5 * (1 + std::fabs(y)));
      }
    EXPECT_NEAR(bn.running_mean.value[c], 0.9 * old_mean[c] + 0.1 * mean, 1e-6);
    EXPECT_NEAR(bn.running_var.value[c], 0.9 * old_var[c] + 0.1 * s2 / (m - 1), 1e-5);  // unbiased
  }
}

TEST(BatchNorm2d, EvaluationUsesRunningStatsAndMatchesEvalAffine) {
  nn::BatchNorm2d bn;
  bn.setup(nn::Shape{1, 2, 3, 3});
  randomize_params(bn, 63);
  nn::Tensor x = random_tensor(nn::Shape{2, 2, 3, 3}, 64), out;
  nn::Rng rng(0);
  float mean0 = bn.running_mean.value[0];
  bn.forward(x, out, false, rng);
  EXPECT_EQ(bn.running_mean.value[0], mean0);  // evaluation does not touch the running stats
  std::vector<float> scale, shift;
  bn.eval_affine(scale, shift);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 9; ++i) {
        size_t k = (size_t(n) * 2 + c) * 9 + i;
        double y = (x[k] - bn.running_mean.value[c]) / std::sqrt(bn.running_var.value[c] + 1e-5) * bn.weight.value[c] +
                   bn.bias.value[c];
        EXPECT_NEAR(out[k], y, 1e-5 * (1 + std::fabs(y)));
        EXPECT_NEAR(out[k], scale[c] * x[k] + shift[c], 1e-5 * (1 + std::fabs(y)));
      }
}

// eps = 1e-5 in evaluation too (PyTorch: (x − running_mean)/√(running_var + eps)): it decides the output
// where the running variance is small, as for a channel that was constant in training (running_var 0:
// without eps an infinity); with variances near 1, as above, eps is below the tolerance.
TEST(BatchNorm2d, EvaluationAddsEpsToATinyRunningVariance) {
  nn::BatchNorm2d bn;
  bn.setup(nn::Shape{1, 2, 1, 2});
  nn::Rng init(0);
  bn.init(init);
  bn.running_mean.value[0] = 0.5f, bn.running_mean.value[1] = -1.f;
  bn.running_var.value[0] = 0.f, bn.running_var.value[1] = 3e-5f;
  bn.weight.value[0] = 2.f, bn.bias.value[0] = 0.25f;
  nn::Tensor x(1, 2, 1, 2), out;
  const float in[4] = {0.5f, 0.75f, -1.f, -0.5f};
  for (int i = 0; i < 4; ++i) x[i] = in[i];
  nn::Rng rng(0);
  bn.forward(x, out, false, rng);
  const double want[4] = {0.25, 0.25 * 2 / std::sqrt(1e-5) + 0.25, 0, 0.5 / std::sqrt(3e-5 + 1e-5)};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
}

TEST(BatchNorm2d, TrainingGradientsMatchFiniteDifferences) {
  nn::BatchNorm2d bn;
  bn.setup(nn::Shape{1, 3, 3, 4});
  randomize_params(bn, 65);
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(bn, random_tensor(nn::Shape{2, 3, 3, 4}, 66), true));
}

TEST(BatchNorm2d, TrainingGradientsWithOneSpatialValuePerSample) {
  // After a linear/gap layer: (N, C, 1, 1), statistics over the batch only.
  nn::BatchNorm2d bn;
  bn.setup(nn::Shape{1, 4, 1, 1});
  randomize_params(bn, 67);
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(bn, random_tensor(nn::Shape{5, 4, 1, 1}, 68), true));
}

TEST(BatchNorm2d, EvaluationGradientsMatchFiniteDifferences) {
  nn::BatchNorm2d bn;
  bn.setup(nn::Shape{1, 3, 3, 4});
  randomize_params(bn, 69);
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(bn, random_tensor(nn::Shape{2, 3, 3, 4}, 70), false));
}

TEST(BatchNorm2d, BackwardOverwritesInputGradAndAddsParamGrads) {
  for (bool training : {true, false}) {
    nn::BatchNorm2d bn;
    bn.setup(nn::Shape{1, 3, 2, 3});
    randomize_params(bn, 71);
    expect_backward_contract(bn, random_tensor(nn::Shape{2, 3, 2, 3}, 72), training);
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout

TEST(Dropout, TrainingKeepsAboutOneMinusPAndScalesEvaluationIsIdentity) {
  nn::Dropout drop(0.25f);
  drop.setup(nn::Shape{1, 4, 25, 25});
  nn::Tensor x(8, 4, 25, 25), out, din;
  x.fill(2.f);
  nn::Rng rng(3);
  drop.forward(x, out, true, rng);
  size_t kept = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(out[i] == 0.f || std::fabs(out[i] - 2.f / 0.75f) < 1e-6f) << out[i];
    kept += out[i] != 0.f;
  }
  EXPECT_NEAR(double(kept) / out.size(), 0.75, 0.01);
  nn::Tensor dout(x.shape());
  dout.fill(1.f);
  drop.backward(x, out, dout, &din, false);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(din[i], out[i] / 2.f);  // the same mask

  drop.forward(x, out, false, rng);
  drop.backward(x, out, dout, &din, false);
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i], 2.f);
    ASSERT_EQ(din[i], 1.f);
  }
}

TEST(Dropout, SameRngStateGivesTheSameMask) {
  nn::Dropout drop(0.5f);
  drop.setup(nn::Shape{1, 3, 4, 4});
  nn::Tensor x = random_tensor(nn::Shape{2, 3, 4, 4}, 81), a, b;
  nn::Rng r1(9), r2(9);
  drop.forward(x, a, true, r1);
  drop.forward(x, b, true, r2);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]);
}

TEST(Dropout, TrainingGradientsWithAFixedMaskMatchFiniteDifferences) {
  nn::Dropout drop(0.4f);
  drop.setup(nn::Shape{1, 3, 4, 4});
  EXPECT_GRADIENTS_OK(gradcheck::check_layer(drop, random_tensor(nn::Shape{2, 3, 4, 4}, 82), true));
}

TEST(Dropout, BackwardOverwritesInputGrad) {
  nn::Dropout drop(0.3f);
  drop.setup(nn::Shape{1, 3, 4, 4});
  expect_backward_contract(drop, random_tensor(nn::Shape{2, 3, 4, 4}, 83), true);
}

}  // namespace
