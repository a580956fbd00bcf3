// tests/nn/test_training.cpp — nn/trainer.h: batches and augmentation, reproducible training, the
// NaN guard, trainer input errors, evaluation, and learning the planted dataset.
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "datasets/planted.h"
#include "base/error.h"
#include "nn/checkpoint.h"
#include "nn/loss.h"
#include "nn/trainer.h"
#include "tests/error_of.h"
#include "tests/planted_net.h"
#include "tests/random_images.h"

namespace {

// Restores the OpenMP thread count when a test changes it.
struct ThreadCount {
  int saved = omp_get_max_threads();
  explicit ThreadCount(int n) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved); }
};

std::string weight_bytes(nn::Network& net) {
  std::string bytes;
  for (nn::NamedParam& p : net.named_params())
    bytes.append(reinterpret_cast<const char*>(p.param->value.data()), p.param->value.size() * sizeof(float));
  return bytes;
}

const char* kTinySpec = "conv3x3:4 bn relu maxpool2 linear:8 relu dropout:0.3 linear:3";

// Trains kTinySpec for 2 epochs (augmentation on) and returns every weight's bytes.
std::string train_tiny(uint64_t seed, const RandomImages& data, const nn::StepProbe* probe = nullptr) {
  nn::Network net(kTinySpec, 3, 8, 8);
  net.init(seed);
  nn::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch = 16;
  cfg.seed = seed;
  cfg.optim.lr = 0.05f;
  cfg.augment.crop_padding = 1;
  nn::Trainer trainer(net, cfg, data.view);
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    nn::EpochStats st = trainer.train_epoch(epoch, probe);
    EXPECT_TRUE(std::isfinite(st.train_loss));
    EXPECT_EQ(st.epoch, epoch);
  }
  return weight_bytes(net);
}

// ---------------------------------------------------------------------------------------------
// Reproducibility and the NaN guard

TEST(Training, SameSeedAndThreadsGiveByteIdenticalWeightsOtherSeedDiffers) {
  ThreadCount threads(2);
  RandomImages data(72, 3, 8, 8, 3, 1);  // 72 = 4 full batches + one of 8
  const std::string a = train_tiny(1, data), b = train_tiny(1, data), c = train_tiny(2, data);
  nn::Network untrained(kTinySpec, 3, 8, 8);
  untrained.init(1);
  EXPECT_FALSE(a == weight_bytes(untrained)) << "training changed nothing";
  EXPECT_TRUE(a == b) << "two runs with the same seed and threads differ";
  EXPECT_FALSE(a == c) << "a different seed gave the same weights";
}

// ---------------------------------------------------------------------------------------------
// The per-step probe

TEST(TrainingProbe, SeesEveryStepWithItsIndicesLossAndBlocks) {
  ThreadCount threads(2);
  RandomImages data(72, 3, 8, 8, 3, 1);  // batches of 16: 4 full steps + one of 8 per epoch
  nn::Network net(kTinySpec, 3, 8, 8);
  net.init(1);
  nn::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch = 16;
  cfg.optim.lr = 0.05f;
  nn::Trainer trainer(net, cfg, data.view);
  const long steps = trainer.steps_per_epoch();
  ASSERT_EQ(steps, 5);
  std::vector<nn::StepInfo> seen;
  std::vector<int> blocks_seen;  // block indices the forward probe saw, in order
  nn::StepProbe probe;
  probe.forward = [&](const nn::BlockView& v) {
    blocks_seen.push_back(v.index);
    EXPECT_EQ(v.a.n(), seen.size() % 5 == 4 ? 8 : 16) << "the step's batch";
  };
  probe.after_step = [&](const nn::StepInfo& step) { seen.push_back(step); };
  probe.gradient_norms = probe.update_ratios = true;
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    const nn::EpochStats st = trainer.train_epoch(epoch, &probe);
    ASSERT_EQ(seen.size(), size_t(epoch * steps));
    // The running loss after the epoch's last step is the epoch's reported train loss, and it is
    // the image-weighted mean of the per-step losses.
    EXPECT_EQ(seen.back().running_loss, st.train_loss);
    double weighted = 0;
    for (long s = 0; s < steps; ++s) weighted += seen[(epoch - 1) * steps + s].loss * seen[(epoch - 1) * steps + s].images;
    EXPECT_NEAR(weighted / 72, st.train_loss, 1e-12);
    EXPECT_EQ(seen.back().learning_rate, st.learning_rate);
  }
  const size_t nblocks = net.blocks().size();
  ASSERT_EQ(blocks_seen.size(), seen.size() * nblocks);
  for (size_t i = 0; i < seen.size(); ++i) {
    const nn::StepInfo& step = seen[i];
    EXPECT_EQ(step.epoch, int(i / steps) + 1);
    EXPECT_EQ(step.step, long(i % steps) + 1);
    EXPECT_EQ(step.global_step, long(i) + 1);
    EXPECT_EQ(step.steps_per_epoch, steps);
    EXPECT_EQ(step.images, step.step == steps ? 8 : 16);
    EXPECT_EQ(step.epoch_images, std::min(step.step * 16, 72L));
    EXPECT_TRUE(std::isfinite(step.loss));
    for (size_t b = 0; b < nblocks; ++b) EXPECT_EQ(blocks_seen[i * nblocks + b], int(b));
    ASSERT_EQ(step.gradient_norms.size(), nblocks);
    ASSERT_EQ(step.update_ratios.size(), nblocks);
    for (size_t b = 0; b < nblocks; ++b) {
      const bool learns = net.blocks()[b].kind != "pool";
      EXPECT_EQ(step.gradient_norms[b] > 0, learns) << net.blocks()[b].name;
      EXPECT_EQ(step.update_ratios[b] > 0, learns) << net.blocks()[b].name;
      EXPECT_LT(step.update_ratios[b], 1.0) << net.blocks()[b].name;
    }
  }
  EXPECT_EQ(trainer.optimizer().steps(), seen.back().global_step);
}

TEST(TrainingProbe, GradientNormsAndUpdateRatiosAreThoseOfTheStep) {
  // One step of plain SGD (no momentum, no decay) on a linear net: ΔW = −lr·∇W, so
  // ‖ΔW‖/‖W‖ = lr·‖∇W‖/‖W‖, with ‖W‖ the norm before the step.
  RandomImages data(8, 1, 2, 2, 2, 3);
  nn::Network net("linear:2", 1, 2, 2);
  net.init(4);
  nn::TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch = 8;
  cfg.optim.lr = 0.5f;
  cfg.optim.momentum = 0;
  cfg.optim.weight_decay = 0;
  cfg.schedule.kind = "constant";
  cfg.augment.enabled = false;
  double before = 0;
  for (nn::NamedParam& p : net.named_params())
    for (size_t i = 0; i < p.param->value.size(); ++i) before += double(p.param->value[i]) * p.param->value[i];
  nn::Trainer trainer(net, cfg, data.view);
  nn::StepInfo last;
  nn::StepProbe probe;
  probe.after_step = [&](const nn::StepInfo& step) { last = step; };
  probe.gradient_norms = probe.update_ratios = true;
  trainer.train_epoch(1, &probe);
  double grad = 0;
  for (nn::NamedParam& p : net.named_params())
    for (size_t i = 0; i < p.param->grad.size(); ++i) grad += double(p.param->grad[i]) * p.param->grad[i];
  ASSERT_EQ(last.gradient_norms.size(), 1u);
  EXPECT_NEAR(last.gradient_norms[0], std::sqrt(grad), 1e-6 * std::sqrt(grad));
  EXPECT_NEAR(last.update_ratios[0], 0.5 * std::sqrt(grad / before), 1e-5 * last.update_ratios[0]);
}

TEST(TrainingProbe, InstallingAProbeDoesNotChangeTheTrainedWeights) {
  ThreadCount threads(2);
  RandomImages data(72, 3, 8, 8, 3, 1);
  double activity = 0;
  nn::StepProbe probe;  // everything a temporal recorder would ask for
  probe.forward = [&](const nn::BlockView& v) { activity += v.a.data()[0]; };
  probe.after_step = [&](const nn::StepInfo& step) { activity += step.loss; };
  probe.gradient_norms = probe.update_ratios = true;
  const std::string without = train_tiny(1, data), with = train_tiny(1, data, &probe);
  EXPECT_TRUE(without == with) << "a probe changed the trained weights";
  EXPECT_NE(activity, 0.0);
}

// ---------------------------------------------------------------------------------------------
// Stopping after a step and continuing from a saved training state

TEST(TrainingState, ContinuingFromASavedStateGivesTheWeightsOfAnUninterruptedRun) {
  ThreadCount threads(2);
  RandomImages data(72, 3, 8, 8, 3, 1);
  const std::string path = ::testing::TempDir() + "nnfmri_training_state_" + std::to_string(getpid()) + ".state";
  for (const char* optimizer : {"sgd", "adam"}) {
    SCOPED_TRACE(optimizer);
    nn::TrainConfig cfg;
    cfg.epochs = 2;
    cfg.batch = 16;
    cfg.optim.kind = optimizer;
    cfg.optim.lr = 0.01f;
    cfg.augment.crop_padding = 1;
    auto fresh = [&] {
      auto net = std::make_unique<nn::Network>(kTinySpec, 3, 8, 8);  // bn (running stats) and dropout (its stream)
      net->init(1);
      return net;
    };
    auto uninterrupted = fresh();
    nn::Trainer whole(*uninterrupted, cfg, data.view);
    for (int e = 1; e <= cfg.epochs; ++e) whole.train_epoch(e);
    // Stopped after step 2 of epoch 2, saved, and continued by a new net and trainer.
    auto first = fresh();
    nn::Trainer before(*first, cfg, data.view);
    before.train_epoch(1);
    nn::TrainPosition position;
    position.epoch = 2;
    EXPECT_FALSE(before.train(position, nullptr, [&] { return position.step == 2; }));
    EXPECT_EQ(position.step, 2);
    nn::save_training_state(path, *first, before.optimizer(), position, cfg.seed);
    auto second = fresh();
    nn::Trainer after(*second, cfg, data.view);
    nn::TrainPosition resumed = nn::load_training_state(path, *second, after.optimizer(), cfg.seed);
    EXPECT_EQ(resumed.epoch, 2);
    EXPECT_EQ(resumed.step, 2);
    EXPECT_EQ(resumed.loss_sum, position.loss_sum);
    EXPECT_EQ(after.optimizer().steps(), before.optimizer().steps());
    EXPECT_TRUE(after.train(resumed, nullptr, nullptr));
    EXPECT_TRUE(weight_bytes(*second) == weight_bytes(*uninterrupted)) << "the continued run differs";
    // The epoch's figures too: the running sums came with the state.
    EXPECT_EQ(after.stats(resumed).train_loss, whole.stats(resumed).train_loss);
  }
  std::remove(path.c_str());
  // A state of another net is refused naming the file.
  nn::Network other("linear:3", 3, 8, 8);
  const RandomImages few(8, 3, 8, 8, 3, 1);
  nn::Trainer trainer(other, nn::TrainConfig{}, few.view);
  expect_error_naming([&] { nn::load_training_state("/nonexistent.state", other, trainer.optimizer(), 1); },
                      "/nonexistent.state");
}

// nn/trainer.h: each epoch's order is a Fisher–Yates shuffle from (seed, epoch): every image once per
// epoch, and another order in the next epoch (one order for every epoch passed the tests above).  Image i
// has label i, so the labels a step sees are its images.
TEST(Training, EveryEpochVisitsEachImageOnceInItsOwnOrder) {
  std::vector<uint8_t> pixels(10 * 4), labels(10);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 37);
  for (int i = 0; i < 10; ++i) labels[size_t(i)] = uint8_t(i);
  nn::LabeledImages data;
  data.pixels = pixels.data(), data.labels = labels.data(), data.count = 10;
  data.channels = 1, data.height = 2, data.width = 2, data.num_classes = 10;
  nn::Network net("linear:10", 1, 2, 2);
  net.input_mean = {0.5f};
  net.input_std = {0.25f};
  net.init(1);
  nn::TrainConfig cfg;
  cfg.batch = 4;  // steps of 4, 4 and 2 images
  cfg.seed = 11;
  nn::Trainer trainer(net, cfg, data);
  std::vector<int> seen;
  nn::StepIntervention read_only;
  read_only.batch = [&](long, nn::Tensor&, std::vector<uint8_t>& y) { seen.insert(seen.end(), y.begin(), y.end()); };
  trainer.set_intervention(&read_only);
  std::vector<std::vector<int>> orders;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    seen.clear();
    trainer.train_epoch(epoch);
    std::vector<int> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << "epoch " << epoch;
    orders.push_back(seen);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
}

TEST(Training, AbsurdLearningRateStopsWithAnErrorNamingEpochAndStep) {
  RandomImages data(64, 3, 8, 8, 3, 2);
  nn::Network net("conv3x3:4 relu maxpool2 linear:3", 3, 8, 8);
  net.init(1);
  nn::TrainConfig cfg;
  cfg.epochs = 3;
  cfg.batch = 8;
  cfg.optim.lr = 1e8f;
  cfg.schedule.kind = "constant";
  nn::Trainer trainer(net, cfg, data.view);
  int epoch = 1;
  long completed = 0;  // steps of the current epoch that finished
  nn::StepProbe probe;
  probe.after_step = [&](const nn::StepInfo& step) {
    completed = step.step;
    EXPECT_TRUE(std::isfinite(step.loss));
  };
  try {
    for (; epoch <= cfg.epochs; ++epoch) {
      completed = 0;
      trainer.train_epoch(epoch, &probe);
    }
    FAIL() << "training with --lr 1e8 did not stop";
  } catch (const base::Error& e) {
    const std::string message = e.what();
    const size_t at = message.find("epoch ");
    int named_epoch = -1;
    long named_step = -1;
    ASSERT_NE(at, std::string::npos) << message;
    ASSERT_EQ(std::sscanf(message.c_str() + at, "epoch %d, step %ld", &named_epoch, &named_step), 2) << message;
    EXPECT_EQ(named_epoch, epoch) << message;
    EXPECT_EQ(named_step, completed + 1) << message;
    EXPECT_NE(message.find("--lr"), std::string::npos) << message;
    char loss[16] = "";
    ASSERT_EQ(std::sscanf(message.c_str(), "training diverged: loss is %15s", loss), 1) << message;
    EXPECT_TRUE(std::strcmp(loss, "nan") == 0 || std::strcmp(loss, "inf") == 0 || std::strcmp(loss, "-inf") == 0)
        << message;  // printf's "-nan" for a NaN with its sign bit set is not a value a user knows
  }
}

TEST(Training, TrainerRejectsBadConfigAndData) {
  RandomImages data(8, 1, 4, 4, 5, 3);
  nn::Network net("linear:3", 1, 4, 4);
  nn::TrainConfig cfg;
  cfg.batch = 0;
  EXPECT_THROW(nn::Trainer(net, cfg, data.view), base::Error);
  cfg.batch = 4;
  expect_error_naming([&] { nn::Trainer trainer(net, cfg, data.view); }, "5 classes");  // 5 classes, 3 outputs
  nn::LabeledImages empty = data.view;
  empty.count = 0;
  empty.num_classes = 3;
  EXPECT_THROW(nn::Trainer(net, cfg, empty), base::Error);
}

// A bn on 1×1 inputs sees one value per channel in a forward of one image: x̂ = 0, so its output is β
// and its input gradient is 0 (training ran on silently).  Refused before the first step for a batch of
// 1, a short last batch of 1, and a shard of 1; accepted when every forward has 2 images or more, and
// for a bn on wider inputs whatever the batch.
TEST(Training, BatchNormOnOneValuePerChannelIsRefusedBeforeTraining) {
  RandomImages data(9, 1, 4, 4, 3, 5);
  nn::Network net("conv3x3:2 gap conv1x1:4 bn relu linear:3", 1, 4, 4);
  nn::Network wide("conv3x3:2 bn relu linear:3", 1, 4, 4);
  nn::TrainConfig cfg;
  const auto make = [&](nn::Network& n, int batch, int shards) {
    cfg.batch = batch;
    cfg.shards = shards;
    nn::Trainer trainer(n, cfg, data.view);
  };
  expect_error_naming([&] { make(net, 1, 1); }, "the bn of block conv2 would normalise one value per channel");
  expect_error_naming([&] { make(net, 4, 1); }, "the short last batch of 1 image");  // 9 = 4 + 4 + 1
  expect_error_naming([&] { make(net, 3, 3); }, "a batch of 3 images cut into --shards 3");
  EXPECT_NO_THROW(make(net, 3, 1));   // 3 + 3 + 3
  EXPECT_NO_THROW(make(net, 9, 4));   // shards of 2, 2, 2, 3
  EXPECT_NO_THROW(make(wide, 1, 1));  // 16 values per channel
}

// evaluate against one forward of the whole set: the loss, the accuracy, and the record `eval --dump`
// writes (every image's input and logits), computed batch by batch (the whole set in one forward took
// 10.7 GB for resnet20 on 9,323 images).
TEST(Training, EvaluateMatchesAManualLoop) {
  RandomImages data(37, 2, 6, 6, 4, 4);
  nn::Network net("conv3x3:3 relu gap linear:4", 2, 6, 6);
  net.init(5);
  net.input_mean = {0.5f, 0.4f};
  net.input_std = {0.3f, 0.2f};
  std::vector<uint32_t> idx(37);
  std::iota(idx.begin(), idx.end(), 0u);
  nn::Tensor x;
  std::vector<uint8_t> y;
  nn::make_batch(net, data.view, idx.data(), 37, nullptr, 0, 0, 0, x, y);
  const nn::Tensor logits = net.forward(x, false);
  int correct = 0;
  const double loss = nn::softmax_cross_entropy(logits, y.data(), nullptr, &correct);
  nn::EvaluationRecord record;
  const nn::Evaluation ev = nn::evaluate(net, data.view, 10, &record);  // batches of 10, 10, 10, 7
  EXPECT_EQ(ev.count, 37u);
  EXPECT_NEAR(ev.loss, loss, 1e-6);
  EXPECT_DOUBLE_EQ(ev.accuracy, correct / 37.0);
  ASSERT_EQ(record.input.size(), x.shape().size());
  ASSERT_EQ(record.logits.size(), logits.shape().size());
  for (size_t i = 0; i < record.input.size(); ++i) ASSERT_EQ(record.input[i], x.data()[i]) << i;
  for (size_t i = 0; i < record.logits.size(); ++i) EXPECT_NEAR(record.logits[i], logits.data()[i], 1e-5) << i;
  EXPECT_EQ(net.output(0).shape().n, 7) << "the last batch's activations";
  EXPECT_NEAR(nn::evaluate(net, data.view, 10).loss, ev.loss, 0) << "without a record, the same loss";
}

// ---------------------------------------------------------------------------------------------
// make_batch and augmentation

struct BatchFixture : public ::testing::Test {
  RandomImages data{12, 3, 6, 7, 4, 6};
  nn::Network net{"conv3x3:2 relu linear:4", 3, 6, 7};
  std::vector<uint32_t> idx{3, 1, 4, 1, 5, 9, 2, 6};
  BatchFixture() {
    net.input_mean = {0.4f, 0.5f, 0.6f};
    net.input_std = {0.2f, 0.25f, 0.3f};
  }
  float normalised(int c, uint8_t p) const { return (p / 255.f - net.input_mean[c]) / net.input_std[c]; }
  nn::Tensor batch(const nn::Augment* augment, uint64_t seed, int epoch, long first, int count = 8,
                   size_t from = 0) {
    nn::Tensor x;
    std::vector<uint8_t> y;
    nn::make_batch(net, data.view, idx.data() + from, count, augment, seed, epoch, first, x, y);
    for (int i = 0; i < count; ++i) EXPECT_EQ(y[i], data.labels[idx[from + i]]);
    return x;
  }
  static bool equal(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }
};

TEST_F(BatchFixture, WithoutAugmentationTheBatchIsTheNormalisedPixels) {
  nn::Augment off;
  off.enabled = false;
  nn::Tensor x = batch(nullptr, 1, 1, 0), x_off = batch(&off, 1, 1, 0);
  ASSERT_EQ(x.shape(), (nn::Shape{8, 3, 6, 7}));
  for (int i = 0; i < 8; ++i)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 6; ++h)
        for (int w = 0; w < 7; ++w) {
          uint8_t p = data.view.image(idx[i])[(c * 6 + h) * 7 + w];
          ASSERT_NEAR(x.at(i, c, h, w), normalised(c, p), 1e-6f);
        }
  EXPECT_TRUE(equal(x.data(), x_off.data(), x.size())) << "enabled = false must equal no augmentation";
}

// Every augmented image is the original, maybe mirrored, shifted by (dy, dx) ∈ [−pad, pad]² with
// black (pixel 0) coming in: out[y][x] = in[y+dy][(flip ? W−1−x : x)+dx].
TEST_F(BatchFixture, AugmentedImagesAreShiftsAndMirrorsOfTheOriginal) {
  nn::Augment on;
  on.crop_padding = 2;
  nn::Tensor x = batch(&on, 7, 3, 100);
  int flipped = 0, shifted = 0;
  for (int i = 0; i < 8; ++i) {
    const uint8_t* img = data.view.image(idx[i]);
    bool found = false;
    for (int flip = 0; flip < 2 && !found; ++flip)
      for (int dy = -2; dy <= 2 && !found; ++dy)
        for (int dx = -2; dx <= 2 && !found; ++dx) {
          bool match = true;
          for (int c = 0; c < 3 && match; ++c)
            for (int h = 0; h < 6 && match; ++h)
              for (int w = 0; w < 7 && match; ++w) {
                int sy = h + dy, sx = (flip ? 6 - w : w) + dx;
                uint8_t p = sy >= 0 && sy < 6 && sx >= 0 && sx < 7 ? img[(c * 6 + sy) * 7 + sx] : 0;
                match = x.at(i, c, h, w) == normalised(c, p);
              }
          if (match) found = true, flipped += flip, shifted += dy != 0 || dx != 0;
        }
    EXPECT_TRUE(found) << "image " << i << " is not a crop/flip of its source";
  }
  EXPECT_GT(flipped + shifted, 0) << "augmentation changed nothing in 8 images";
}

// README `--no-augment`: the random crop of a 4-pixel padded image takes every offset in [−pad, pad] on each
// axis, +pad included (a range one short, r.below(2·pad), kept every image inside the first test above).
// A lone bright pixel at the centre of a 9×9 image, which a horizontal flip leaves in place, lands at
// (4 − dy, 4 − dx): over 500 positions every one of the 25 offsets of pad 2 turns up, and nothing else.
TEST(Augmentation, CropOffsetsCoverMinusPadToPlusPadOnBothAxes) {
  std::vector<uint8_t> pixels(81, 0), labels{0};
  pixels[4 * 9 + 4] = 255;
  nn::LabeledImages one;
  one.pixels = pixels.data(), one.labels = labels.data(), one.count = 1;
  one.channels = 1, one.height = 9, one.width = 9, one.num_classes = 2;
  nn::Network net("linear:2", 1, 9, 9);
  net.input_mean = {0.f};
  net.input_std = {1.f};
  nn::Augment on;
  on.crop_padding = 2;
  const int count = 500;
  const std::vector<uint32_t> idx(count, 0u);
  nn::Tensor x;
  std::vector<uint8_t> y;
  nn::make_batch(net, one, idx.data(), count, &on, 5, 1, 0, x, y);
  std::vector<int> seen(25, 0);
  for (int i = 0; i < count; ++i) {
    int bright = -1, lit = 0;
    for (int j = 0; j < 81; ++j)
      if (x.sample(i)[j] > 0.5f) bright = j, ++lit;
    ASSERT_EQ(lit, 1) << "image " << i;
    const int dy = 4 - bright / 9, dx = 4 - bright % 9;
    ASSERT_TRUE(dy >= -2 && dy <= 2 && dx >= -2 && dx <= 2) << "image " << i << ": offset " << dy << "," << dx;
    ++seen[size_t((dy + 2) * 5 + dx + 2)];
  }
  for (int k = 0; k < 25; ++k) EXPECT_GT(seen[size_t(k)], 0) << "offset " << k / 5 - 2 << "," << k % 5 - 2 << " never drawn";
}

TEST_F(BatchFixture, AugmentationDependsOnlyOnSeedEpochAndPosition) {
  nn::Augment on;
  nn::Tensor whole = batch(&on, 3, 2, 40);
  const size_t per = whole.shape().per_sample();
  // Image i of the batch is the same when made alone at position 40 + i.
  for (int i = 0; i < 8; ++i) {
    nn::Tensor alone = batch(&on, 3, 2, 40 + i, 1, size_t(i));
    EXPECT_TRUE(equal(alone.data(), whole.sample(i), per)) << "image " << i;
  }
  EXPECT_TRUE(equal(batch(&on, 3, 2, 40).data(), whole.data(), whole.size()));
  EXPECT_FALSE(equal(batch(&on, 4, 2, 40).data(), whole.data(), whole.size())) << "the seed is ignored";
  EXPECT_FALSE(equal(batch(&on, 3, 5, 40).data(), whole.data(), whole.size())) << "the epoch is ignored";
  EXPECT_FALSE(equal(batch(&on, 3, 2, 41).data(), whole.data(), whole.size())) << "the position is ignored";
}

TEST_F(BatchFixture, AugmentationIsIndependentOfTheThreadCount) {
  nn::Augment on;
  nn::Tensor one, two;
  {
    ThreadCount threads(1);
    one = batch(&on, 9, 1, 0);
  }
  {
    ThreadCount threads(2);
    two = batch(&on, 9, 1, 0);
  }
  EXPECT_TRUE(equal(one.data(), two.data(), one.size()));
}

// ---------------------------------------------------------------------------------------------
// The planted dataset is learnable

TEST(Training, PlantedDatasetIsLearnedToAtLeast95PercentTestAccuracy) {
  datasets::PlantedConfig pc;  // 10 classes, 3×32×32, evidence in 5 4×4 cells, 2 classes per cell
  pc.train_count = 2000;
  pc.test_count = 300;
  datasets::PlantedSet planted = datasets::make_planted(pc);
  const auto start = std::chrono::steady_clock::now();
  nn::Network net = train_planted_net(planted);
  nn::Evaluation test = nn::evaluate(net, planted.split.test.view());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(test.accuracy, 0.95) << "test loss " << test.loss;
  RecordProperty("planted_test_accuracy", std::to_string(test.accuracy));
  std::printf("planted: test accuracy %.4f, loss %.4f, %.1f s\n", test.accuracy, test.loss, seconds);
}

}  // namespace
