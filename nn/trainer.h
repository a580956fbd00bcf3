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
#include "nn/shards.h"

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
// What `eval --dump` writes: every image's normalised input (N·C·H·W) and logits (N·K), image order.
struct EvaluationRecord {
  std::vector<float> input, logits;
};
// Loss and accuracy over data, forward in batches of `batch` (the net holds one batch's activations
// at a time); with `record`, also every image's input and logits.
Evaluation evaluate(Network& net, const LabeledImages& data, int batch = 64, EvaluationRecord* record = nullptr);

struct TrainConfig {
  int epochs = 15, batch = 64;
  // Data-parallel shards of every batch (nn/shards.h).  1: the whole batch is one forward/backward
  // (the trainer as before shards existed).  S > 1: each shard is its own forward/backward with its
  // own batch-norm statistics and dropout stream Rng::derive(seed, kShardDropoutTag + global step,
  // shard), and the partials are combined in shard order, so the weights do not depend on how many
  // ranks compute the shards.
  int shards = 1;
  uint64_t seed = 1;
  std::string output_init = "zero";  // "zero" | "he": how the output block starts (nn::OutputInit)
  OptimConfig optim;
  ScheduleConfig schedule;
  Augment augment;
};

struct EpochStats {
  int epoch = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  double seconds = 0, train_seconds = 0, train_images_per_s = 0, learning_rate = 0;
};

// What a step probe is told after every SGD step.
struct StepInfo {
  int epoch = 0;              // 1-based
  long step = 0;              // 1-based within the epoch
  long global_step = 0;       // 1-based over the run: (epoch − 1)·steps_per_epoch + step (= Optimizer::steps())
  long steps_per_epoch = 0;
  int images = 0;             // in this step's batch
  long epoch_images = 0;      // images of the epoch so far, this step's included
  double loss = 0;            // this batch's mean cross-entropy
  double running_loss = 0;    // the epoch's mean so far; after the last step it is EpochStats::train_loss
  double learning_rate = 0;   // the rate this step used
  // One entry per block of Network::blocks(), filled only when the probe asks (empty otherwise):
  std::vector<double> gradient_norms;  // ‖∇W‖: L2 norm over the block's learnable tensors of the loss
                                       // gradient (before weight decay); 0 for a block without any
  std::vector<double> update_ratios;   // ‖ΔW‖/‖W‖ of this step, W before it (0 when ‖W‖ = 0)
};

// A per-step probe (the hook of the temporal imaging).  Everything is optional; with no probe the
// trainer does no extra work at all.  Probing never changes what is trained: the weights are
// bit-identical with and without a probe.
struct StepProbe {
  Probe forward;  // sees every block (input, z, a) of the step's training forward, before backward
  ProbeReads reads;  // what `forward` reads (nn::ProbeReads: by default z, and no unit sums)
  std::function<void(const StepInfo&)> after_step;  // after the optimiser step
  // Both are summed inside the optimiser's update loop (nn::StepSums), no extra pass over the weights.
  bool gradient_norms = false;  // fill StepInfo::gradient_norms
  bool update_ratios = false;   // fill StepInfo::update_ratios
};

// Deliberate faults (train --inject, for validating the temporal imaging).  Unlike a probe they
// change what is trained; with none installed the trainer does exactly what it does without.
// Each is asked at every step with the step's global number (1-based over the run).
struct StepIntervention {
  // After the batch is built: may change the normalised inputs x and the labels y.
  std::function<void(long global_step, Tensor& x, std::vector<uint8_t>& y)> batch;
  // The learning rate the step uses, given the schedule's.
  std::function<double(long global_step, double rate)> rate;
  // Every block's output during the step's training forward.
  std::function<void(long global_step, int block, Tensor& a)> block;
  // True when `block` edits the block's output into a constant this step (a dead block): the step's
  // backward then passes no gradient through it (Network::backward's `cut`).
  std::function<bool(long global_step, int block)> cut;
};

// Where training stands: `step` steps of epoch `epoch` are done, with the epoch's running sums.
// Together with the weights, the optimiser state and the net's random stream it is everything
// needed to continue bit-identically (the epoch's order and augmentation derive from the seed).
struct TrainPosition {
  int epoch = 1;           // 1-based
  long step = 0;           // steps of `epoch` done: 0 … steps_per_epoch
  double loss_sum = 0;     // Σ over those steps of batch mean loss · batch images
  long correct = 0, images = 0;
  double train_seconds = 0;  // time spent in those steps (timing only)
};

// The dropout stream of shard s at global step t (0-based) is Rng::derive(seed, kShardDropoutTag + t, s).
constexpr uint64_t kShardDropoutTag = 0x5A4D000000000000ull;

class Trainer {
 public:
  // Validates the configuration (base::Error naming the flag) once, here.  `group`: the ranks that
  // share the shards (null: this process alone); it must outlive the trainer.
  Trainer(Network& net, const TrainConfig& cfg, const LabeledImages& train, ShardGroup* group = nullptr);
  // Trains epoch `epoch` (1-based) and fills the train_* fields and timings of the result.
  EpochStats train_epoch(int epoch, const StepProbe* probe = nullptr);
  // Trains the steps of position.epoch from position.step on, advancing `position` after each, and
  // stops early when `stop` (asked after every step) returns true.  True when the epoch is complete.
  // A non-finite loss throws base::Error naming the epoch and step (nothing of the step is applied).
  bool train(TrainPosition& position, const StepProbe* probe, const std::function<bool()>& stop);
  // The train_* fields, the learning rate of the last step done and the timings of a position.
  EpochStats stats(const TrainPosition& position) const;
  Optimizer& optimizer() { return optimizer_; }
  // Installs faults (null: none); the object must outlive training.
  void set_intervention(const StepIntervention* intervention) { intervention_ = intervention; }
  long steps_per_epoch() const { return steps_per_epoch_; }

 private:
  // StepInfo::gradient_norms / update_ratios per block from the optimiser's sums of the step.
  void measure(const StepProbe& probe, StepInfo& info) const;
  // One step over shards: this rank's shards' forward/backward, the combine, the combined gradient
  // and running statistics written into the net.  Returns the batch's mean loss; adds its hits to
  // *correct.
  double sharded_step(long t, int count, const Probe* forward_probe, ProbeReads reads, const BlockEdit* edit, int* correct);

  Network& net_;
  TrainConfig cfg_;
  LabeledImages train_;
  Optimizer optimizer_;
  long steps_per_epoch_;
  Schedule schedule_;
  std::vector<std::vector<size_t>> block_params_;  // the learnable tensors of each block (indices into StepSums)
  StepSums step_sums_;
  Tensor x_, dlogits_;
  std::vector<uint8_t> y_;
  StepInfo info_;
  const StepIntervention* intervention_ = nullptr;
  std::vector<bool> cut_;  // the step's blocks whose output gradient is 0 (StepIntervention::cut)
  const std::vector<bool>* cut_blocks() const { return cut_.empty() ? nullptr : &cut_; }
  ShardGroup serial_;
  ShardGroup* group_;
  std::vector<Param*> buffers_;  // batch-norm running statistics (non-trainable params), in named order
  std::vector<std::vector<double>> mine_;  // this rank's shard partials
  std::vector<double> total_;
  std::vector<float> buffers_before_;
  Tensor shard_x_;
  std::vector<uint8_t> shard_y_;
};

}  // namespace nn
