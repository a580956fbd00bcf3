// nn/trainer.h — batches, augmentation, the training loop and evaluation.
//
// Promise: one seed owns every random choice.  The epoch's order is a Fisher–Yates shuffle from
// Rng::derive(seed, epoch); sample i of the epoch is augmented from Rng::derive(seed, epoch, i), so the
// batches do not depend on the thread count, and with the same --threads (same BLAS partitioning)
// two runs produce bit-identical weights.  A non-finite loss stops training with base::Error naming
// the epoch and step.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "nn/data.h"
#include "nn/network.h"
#include "nn/optim.h"

namespace nn {

struct Augment {
  bool enabled = true;
  int crop_padding = 4;  // random crop of the image padded with black (pixel 0) on each side
  bool flip = true;      // horizontal flip with probability ½
};

// x (count, C, H, W) = normalised pixels of images idx[0..count); labels into y.
// With `augment`, image i is cropped/flipped by Rng::derive(seed, epoch, first_position + i).
void make_batch(const Network& net, const LabeledImages& data, const uint32_t* idx, int count, const Augment* augment,
                uint64_t seed, int epoch, long first_position, Tensor& x, std::vector<uint8_t>& y);

struct Evaluation {
  double loss = 0, accuracy = 0;
  size_t count = 0;
};
Evaluation evaluate(Network& net, const LabeledImages& data, int batch = 64);

struct TrainConfig {
  int epochs = 15, batch = 64;
  uint64_t seed = 1;
  OptimConfig optim;
  ScheduleConfig schedule;
  Augment augment;
};

struct EpochStats {
  int epoch = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  double seconds = 0, train_seconds = 0, train_images_per_s = 0, learning_rate = 0;
};

// Called after every step: (step, steps_per_epoch, running mean loss, images done this epoch).
using StepCallback = std::function<void(long, long, double, long)>;

class Trainer {
 public:
  // Validates the configuration (base::Error naming the flag) once, here.
  Trainer(Network& net, const TrainConfig& cfg, const LabeledImages& train);
  // Trains epoch `epoch` (1-based) and fills the train_* fields and timings of the result.
  EpochStats train_epoch(int epoch, const StepCallback& on_step = nullptr);
  Optimizer& optimizer() { return optimizer_; }
  long steps_per_epoch() const { return steps_per_epoch_; }

 private:
  Network& net_;
  TrainConfig cfg_;
  LabeledImages train_;
  Optimizer optimizer_;
  long steps_per_epoch_;
  Schedule schedule_;
  Tensor x_, dlogits_;
  std::vector<uint8_t> y_;
};

}  // namespace nn
