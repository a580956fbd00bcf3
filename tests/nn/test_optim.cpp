// tests/nn/test_optim.cpp — the training math: softmax cross-entropy (nn/loss.h), the optimisers and
// the learning-rate schedules (nn/optim.h), against hand-computed values, a hand-written double
// reference and numbers produced once by PyTorch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "nn/rng.h"
#include "tests/error_of.h"

namespace {

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy

// logits (3, 3, 1, 1): [1 2 3] label 2, [.5 −1 .5] label 0 (a tie: the first maximum wins),
// [2 1 0] label 1 (wrong).  Losses, by hand: log(1+e⁻¹+e⁻²), log(2+e^−1.5), 1 + log(1+e⁻¹+e⁻²).
struct LossCase {
  nn::Tensor logits{3, 3, 1, 1};
  std::vector<uint8_t> labels{2, 0, 1};
  LossCase() {
    const float v[9] = {1, 2, 3, 0.5f, -1, 0.5f, 2, 1, 0};
    for (int i = 0; i < 9; ++i) logits[i] = v[i];
  }
};
const double kLoss[3] = {0.4076059644443804, 0.7989161848417257, 1.4076059644443804};

TEST(SoftmaxCrossEntropy, MatchesHandComputedValues) {
  LossCase c;
  nn::Tensor dlogits;
  int correct = -1;
  double loss = nn::softmax_cross_entropy(c.logits, c.labels.data(), &dlogits, &correct);
  EXPECT_NEAR(loss, (kLoss[0] + kLoss[1] + kLoss[2]) / 3, 1e-7);
  EXPECT_EQ(correct, 2);
  // dL/dz = (softmax − onehot) / N; softmax of [1 2 3] = (.0900306, .2447285, .6652410), of [.5 −1 .5] = (.4498162, .1003676, .4498162)
  const double p0[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
  const double p1[3] = {0.4498162176582742, 0.10036756468345168, 0.4498162176582742};
  ASSERT_EQ(dlogits.shape(), c.logits.shape());
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(dlogits[j], (p0[j] - (j == 2)) / 3, 1e-7);
    EXPECT_NEAR(dlogits[3 + j], (p1[j] - (j == 0)) / 3, 1e-7);
    EXPECT_NEAR(dlogits[6 + j], (p0[2 - j] - (j == 1)) / 3, 1e-7);  // [2 1 0] is [1 2 3] reversed, shifted
  }
  std::vector<double> log_p(3);
  nn::log_prob_of_label(c.logits, c.labels.data(), log_p.data());
  for (int n = 0; n < 3; ++n) EXPECT_NEAR(log_p[n], -kLoss[n], 1e-7);
  EXPECT_NEAR(nn::softmax_cross_entropy(c.logits, c.labels.data(), nullptr), loss, 0);
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  nn::Tensor logits(4, 5, 1, 1), dlogits;
  nn::Rng rng(3);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(2 * rng.normal());
  std::vector<uint8_t> labels{0, 4, 2, 2};
  nn::softmax_cross_entropy(logits, labels.data(), &dlogits);
  for (size_t i = 0; i < logits.size(); ++i) {
    const float x = logits[i], h = 1e-3f;
    logits[i] = x + h;
    double up = nn::softmax_cross_entropy(logits, labels.data(), nullptr);
    logits[i] = x - h;
    double down = nn::softmax_cross_entropy(logits, labels.data(), nullptr);
    logits[i] = x;
    double numeric = (up - down) / (double(x + h) - double(x - h));
    EXPECT_NEAR(dlogits[i], numeric, 1e-5) << i;
  }
}

TEST(SoftmaxCrossEntropy, HugeLogitsStayFinite) {
  nn::Tensor logits(1, 3, 1, 1), dlogits;
  logits[0] = 1000.f, logits[1] = 0.f, logits[2] = -1000.f;
  uint8_t label = 1;
  double loss = nn::softmax_cross_entropy(logits, &label, &dlogits);
  EXPECT_NEAR(loss, 1000.0, 1e-9);
  EXPECT_NEAR(dlogits[0], 1.0, 1e-9);
  EXPECT_NEAR(dlogits[1], -1.0, 1e-9);
  EXPECT_EQ(dlogits[2], 0.f);
}

// ---------------------------------------------------------------------------------------------
// Optimisers: a net "linear:3" on a 1×1×1 input has weight (3) and bias (3); both get the same
// values and gradients, so each step is checked on six scalars.

const std::vector<double> kStart = {0.5, -1.0, 2.0};
const std::vector<double> kStepLr = {0.1, 0.05, 0.02};
std::vector<double> gradient_at(int t) { return {0.1 * t, -0.2, 0.3 * (t % 2 ? -1 : 1)}; }  // t = 1, 2, 3

// Runs 3 steps of nn::Optimizer and returns the weight values after each step.
std::vector<std::vector<float>> run_optimizer(const nn::OptimConfig& cfg) {
  nn::Network net("linear:3", 1, 1, 1);
  auto params = net.named_params();
  for (auto& p : params)
    for (int i = 0; i < 3; ++i) p.param->value[i] = float(kStart[i]);
  nn::Optimizer opt(net, cfg);
  std::vector<std::vector<float>> after;
  for (int t = 1; t <= 3; ++t) {
    for (auto& p : params)
      for (int i = 0; i < 3; ++i) p.param->grad[i] = float(gradient_at(t)[i]);
    opt.step(kStepLr[t - 1]);
    EXPECT_EQ(opt.steps(), t);
    std::vector<float> w(3);
    for (int i = 0; i < 3; ++i) {
      w[i] = params[0].param->value[i];
      EXPECT_EQ(params[1].param->value[i], w[i]) << "bias and weight were given the same data";
    }
    after.push_back(w);
  }
  return after;
}

// The reference, written from the PyTorch documentation, in double.
std::vector<std::vector<double>> reference(const nn::OptimConfig& cfg) {
  std::vector<double> w = kStart, buf(3, 0), m(3, 0), v(3, 0);
  std::vector<std::vector<double>> after;
  for (int t = 1; t <= 3; ++t) {
    const double lr = kStepLr[t - 1];
    for (int i = 0; i < 3; ++i) {
      double g = gradient_at(t)[i] + cfg.weight_decay * w[i];
      if (cfg.kind == "sgd") {
        if (cfg.momentum != 0) {
          buf[i] = t == 1 ? g : cfg.momentum * buf[i] + g;
          g = cfg.nesterov ? g + cfg.momentum * buf[i] : buf[i];
        }
        w[i] -= lr * g;
      } else {
        m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * g;
        v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * g * g;
        double m_hat = m[i] / (1 - std::pow(double(cfg.beta1), t)), v_hat = v[i] / (1 - std::pow(double(cfg.beta2), t));
        w[i] -= lr * m_hat / (std::sqrt(v_hat) + cfg.eps);
      }
    }
    after.push_back(w);
  }
  return after;
}

nn::OptimConfig config(const std::string& kind, float momentum, bool nesterov, float wd) {
  nn::OptimConfig c;
  c.kind = kind;
  c.momentum = momentum;
  c.nesterov = nesterov;
  c.weight_decay = wd;
  return c;
}

struct OptimCase {
  const char* name;
  nn::OptimConfig cfg;
  std::vector<double> torch_after_3;  // torch.optim on the same data (see below); empty: none
};

// torch_after_3 was produced once with /usr/bin/python3 (torch 1.13):
//   p = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0])); opt = torch.optim.SGD([p], lr=1, momentum=0.9,
//   weight_decay=0.01[, nesterov=True]) or torch.optim.Adam([p], lr=1, weight_decay=0.01); for t in 1..3:
//   set lr to [0.1, 0.05, 0.02][t-1]; p.grad = [0.1t, -0.2, 0.3(-1)^t]; opt.step(); print(p)
class OptimizerTest : public ::testing::TestWithParam<OptimCase> {};

TEST_P(OptimizerTest, ThreeStepsMatchTheReference) {
  const OptimCase& c = GetParam();
  auto got = run_optimizer(c.cfg);
  auto want = reference(c.cfg);
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(got[t][i], want[t][i], 2e-6) << "step " << t + 1 << " coordinate " << i;
  for (size_t i = 0; i < c.torch_after_3.size(); ++i) EXPECT_NEAR(got[2][i], c.torch_after_3[i], 2e-6) << "vs torch " << i;
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, OptimizerTest,
    ::testing::Values(OptimCase{"sgd_momentum_wd", config("sgd", 0.9f, false, 0.01f), {0.463046223, -0.947690487, 2.02895236}},
                      OptimCase{"sgd_nesterov_wd", config("sgd", 0.9f, true, 0.01f), {0.439919382, -0.917271495, 2.04360628}},
                      OptimCase{"sgd_plain_wd", config("sgd", 0.0f, false, 0.01f), {0.473159373, -0.964316726, 2.01758361}},
                      OptimCase{"sgd_momentum_no_wd", config("sgd", 0.9f, false, 0.0f), {}},
                      OptimCase{"adam_wd", config("adam", 0.9f, false, 0.01f), {0.332370967, -0.830011427, 2.09941769}},
                      OptimCase{"adam_no_wd", config("adam", 0.9f, false, 0.0f), {}}),
    [](const ::testing::TestParamInfo<OptimCase>& info) { return std::string(info.param.name); });

// torch.optim.Adam divides by √v̂ + ε, ε outside the root.  With the gradients of the reference above
// (√v̂ ≈ 0.1) ε = 1e-8 is invisible either way; with a gradient of 1e-6 the first step is
// lr·g/(|g| + ε) = lr/1.01, where √(v̂ + ε) would give about lr/100.
TEST(Optimizer, AdamAddsEpsAfterTheSquareRoot) {
  nn::Network net("linear:3", 1, 1, 1);
  for (auto& p : net.named_params()) {
    p.param->value.zero();
    p.param->grad.fill(1e-6f);
  }
  nn::Optimizer opt(net, config("adam", 0.9f, false, 0.f));
  opt.step(0.1);
  const double want = -0.1 * 1e-6 / (1e-6 + 1e-8);
  for (auto& p : net.named_params()) EXPECT_NEAR(p.param->value[0], want, 1e-6) << p.name;
}

TEST(Optimizer, LeavesBatchNormRunningStatsAlone) {
  nn::Network net("conv3x3:2 bn relu linear:2", 1, 3, 3);
  net.init(1);
  auto& bn = dynamic_cast<nn::BatchNorm2d&>(net.layer(1));
  bn.running_mean.value.fill(0.25f);
  bn.running_var.value.fill(2.f);
  for (auto& p : net.named_params())
    if (p.param->trainable) p.param->grad.fill(1.f);
  nn::Optimizer opt(net, config("sgd", 0.9f, false, 0.1f));
  opt.step(0.5);
  EXPECT_EQ(bn.running_mean.value[0], 0.25f);
  EXPECT_EQ(bn.running_var.value[1], 2.f);
  EXPECT_NE(bn.weight.value[0], 1.f);
  // SGD state: one buffer per trainable tensor; Adam: two.
  EXPECT_EQ(opt.state().size(), 5u);  // conv1.weight, bn1.weight, bn1.bias, output.weight, output.bias
  nn::Optimizer adam(net, config("adam", 0.9f, false, 0.f));
  EXPECT_EQ(adam.state().size(), 10u);
}

// SGD's update (a function of its own since branch eegp2, so that it vectorises) is, value for value,
// the arithmetic of the scalar loop it replaced, bit for bit, in every branch: no momentum, momentum
// and Nesterov, the first step and later ones, with and without the fused sums (nn::StepSums).
TEST(Optimizer, SgdUpdateIsTheScalarLoopsArithmeticBitForBit) {
  for (const float mu : {0.f, 0.9f})
    for (const bool nesterov : {false, true})
      for (const bool sums : {false, true}) {
        if (nesterov && mu == 0.f) continue;  // refused (NesterovWithoutSgdMomentumThrowsNamingTheFlags)
        nn::Network net("conv3x3:3 relu linear:7", 1, 5, 5);  // tensors of 27, 3, 525 and 7 values
        net.init(3);
        std::vector<nn::Param*> params;
        for (auto& p : net.named_params())
          if (p.param->trainable) params.push_back(p.param);
        std::vector<std::vector<float>> w, buf;
        for (nn::Param* p : params) {
          w.emplace_back(p->value.data(), p->value.data() + p->value.size());
          buf.emplace_back(p->value.size(), 0.f);
        }
        nn::Optimizer opt(net, config("sgd", mu, nesterov, 5e-4f));
        nn::StepSums step_sums;
        nn::Rng rng(7);
        for (int t = 1; t <= 3; ++t) {
          const float lr = 0.05f / float(t);
          for (size_t k = 0; k < params.size(); ++k) {
            for (size_t i = 0; i < params[k]->grad.size(); ++i) params[k]->grad[i] = float(rng.normal());
            const float* g = params[k]->grad.data();
            const float wd = 5e-4f;
            for (size_t i = 0; i < w[k].size(); ++i) {  // the loop of nn/optim.cpp before eegp2
              float d = g[i] + wd * w[k][i];
              if (mu != 0.f) {
                buf[k][i] = t == 1 ? d : mu * buf[k][i] + d;
                d = nesterov ? d + mu * buf[k][i] : buf[k][i];
              }
              w[k][i] -= lr * d;
            }
          }
          opt.step(lr, sums ? &step_sums : nullptr);
          for (size_t k = 0; k < params.size(); ++k)
            ASSERT_EQ(0, std::memcmp(w[k].data(), params[k]->value.data(), w[k].size() * sizeof(float)))
                << "momentum " << mu << " nesterov " << nesterov << " sums " << sums << " step " << t << " tensor " << k;
        }
      }
}

TEST(Optimizer, UnknownKindThrowsNamingTheFlag) {
  nn::Network net("linear:2", 1, 1, 1);
  expect_error_naming([&] { nn::Optimizer opt(net, config("rmsprop", 0.9f, false, 0.f)); }, "--optimizer 'rmsprop'");
}

// --nesterov trained plain SGD with --momentum 0 and plain Adam with --optimizer adam, without a word.
TEST(Optimizer, NesterovWithoutSgdMomentumThrowsNamingTheFlags) {
  nn::Network net("linear:2", 1, 1, 1);
  expect_error_naming([&] { nn::Optimizer opt(net, config("sgd", 0.f, true, 0.f)); }, "--nesterov with --momentum 0");
  expect_error_naming([&] { nn::Optimizer opt(net, config("adam", 0.9f, true, 0.f)); }, "--nesterov: applies to --optimizer sgd");
  nn::Optimizer sgd(net, config("sgd", 0.9f, true, 0.f));  // the meaningful case still builds
  EXPECT_EQ(sgd.steps(), 0);
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules

nn::ScheduleConfig schedule(const std::string& kind, float warmup = 0) {
  nn::ScheduleConfig s;
  s.kind = kind;
  s.warmup = warmup;
  return s;
}

double learning_rate(const nn::ScheduleConfig& s, double base_lr, long t, long steps_per_epoch, long total_steps) {
  return nn::Schedule(s, base_lr, steps_per_epoch, total_steps).rate(t);
}

TEST(LearningRate, Constant) {
  EXPECT_DOUBLE_EQ(learning_rate(schedule("constant"), 0.1, 0, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(schedule("constant"), 0.1, 99, 10, 100), 0.1);
  // Warmup of 1 epoch = 10 steps: (t+1)/10 of the rate, then the rate.
  EXPECT_DOUBLE_EQ(learning_rate(schedule("constant", 1), 0.1, 0, 10, 100), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate(schedule("constant", 1), 0.1, 4, 10, 100), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(schedule("constant", 1), 0.1, 10, 10, 100), 0.1);
}

TEST(LearningRate, StepDecaysByGammaEveryStepSizeEpochs) {
  nn::ScheduleConfig s = schedule("step");
  s.step_size = 5;
  s.gamma = 0.1f;
  // 10 steps per epoch: epochs 0–4 are t = 0..49.
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.2, 0, 10, 200), 0.2);
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.2, 49, 10, 200), 0.2);
  EXPECT_NEAR(learning_rate(s, 0.2, 50, 10, 200), 0.02, 1e-9);
  EXPECT_NEAR(learning_rate(s, 0.2, 100, 10, 200), 0.002, 1e-10);
  EXPECT_NEAR(learning_rate(s, 0.2, 199, 10, 200), 0.0002, 1e-11);
}

TEST(LearningRate, CosineAnnealsToZeroAndWarmsUp) {
  const double pi = 3.14159265358979323846;
  EXPECT_DOUBLE_EQ(learning_rate(schedule("cosine"), 0.1, 0, 10, 100), 0.1);
  EXPECT_NEAR(learning_rate(schedule("cosine"), 0.1, 50, 10, 100), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate(schedule("cosine"), 0.1, 25, 10, 100), 0.05 * (1 + std::cos(pi / 4)), 1e-12);
  EXPECT_NEAR(learning_rate(schedule("cosine"), 0.1, 99, 10, 100), 0.05 * (1 + std::cos(pi * 0.99)), 1e-12);
  // 1 warmup epoch (10 steps): linear ramp, then the cosine over the remaining 90 steps.
  EXPECT_NEAR(learning_rate(schedule("cosine", 1), 0.1, 0, 10, 100), 0.01, 1e-12);
  EXPECT_NEAR(learning_rate(schedule("cosine", 1), 0.1, 9, 10, 100), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(schedule("cosine", 1), 0.1, 10, 10, 100), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(schedule("cosine", 1), 0.1, 55, 10, 100), 0.05, 1e-12);
}

// README "Training": `step` is lr·factor·γ^⌊epoch/step_size⌋, the warm-up factor (t+1)/W included, as
// for constant and cosine (a step schedule that skipped its warm-up passed every test above).
TEST(LearningRate, StepWarmsUpLikeTheOthers) {
  nn::ScheduleConfig s = schedule("step", 1);
  s.step_size = 1;
  s.gamma = 0.5f;
  // 10 steps per epoch, W = 10: t = 0 … 9 ramp at γ⁰, epoch 1 (t = 10 …) is γ¹ at the full factor.
  EXPECT_NEAR(learning_rate(s, 0.2, 0, 10, 100), 0.02, 1e-12);
  EXPECT_NEAR(learning_rate(s, 0.2, 4, 10, 100), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(s, 0.2, 9, 10, 100), 0.2, 1e-12);
  EXPECT_NEAR(learning_rate(s, 0.2, 10, 10, 100), 0.1, 1e-12);
}

// README "Training": W = ⌊--warmup × steps per epoch⌋, floored, not rounded: 0.25 of 10 steps is 2 warm-up
// steps (rounding would make it 3 and start at lr/3).
TEST(LearningRate, FractionalWarmupStepsAreFloored) {
  EXPECT_NEAR(learning_rate(schedule("constant", 0.25f), 0.3, 0, 10, 100), 0.15, 1e-12);
  EXPECT_NEAR(learning_rate(schedule("constant", 0.25f), 0.3, 1, 10, 100), 0.3, 1e-12);
  EXPECT_NEAR(learning_rate(schedule("constant", 0.25f), 0.3, 2, 10, 100), 0.3, 1e-12);
}

// Expected values produced once with /usr/bin/python3 (torch 1.13):
//   opt = torch.optim.SGD([p], lr=max_lr); s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr,
//   total_steps=T)   (defaults: pct_start=0.3, div_factor=25, final_div_factor=1e4, anneal_strategy='cos')
//   then, for t in range(T): record opt.param_groups[0]['lr'] at step t; opt.step(); s.step()
TEST(LearningRate, OneCycleMatchesTorchOneCycleLR) {
  struct Point {
    long t;
    double lr;
  };
  const Point t100[] = {{0, 0.0040000000000000036}, {1, 0.004281378056590748}, {10, 0.029516394846410082},
                        {28, 0.09971862194340926},  {29, 0.1},                  {30, 0.09994965352845243},
                        {31, 0.09979871550490317},  {50, 0.0793893450575732},   {98, 5.07464715475788e-05},
                        {99, 4e-07}};
  for (const Point& p : t100)
    EXPECT_NEAR(learning_rate(schedule("onecycle"), 0.1, p.t, 10, 100), p.lr, 1e-12 + 1e-9 * p.lr) << "t=" << p.t;
  // T = 91 (7 epochs × 13 steps): the phase boundary 0.3·91 − 1 = 26.3 falls between steps.
  const Point t91[] = {{0, 0.0020000000000000018}, {5, 0.006154901722464946}, {26, 0.049984591316777925},
                       {27, 0.04998510357336271},  {28, 0.04991218421626563}, {60, 0.0227222888370336},
                       {90, 2e-07}};
  for (const Point& p : t91)
    EXPECT_NEAR(learning_rate(schedule("onecycle"), 0.05, p.t, 13, 91), p.lr, 1e-12 + 1e-9 * p.lr) << "t=" << p.t;
}

TEST(LearningRate, UnknownScheduleThrowsNamingTheFlag) {
  expect_error_naming([&] { learning_rate(schedule("linear"), 0.1, 0, 10, 100); }, "--schedule 'linear'");
}

}  // namespace
