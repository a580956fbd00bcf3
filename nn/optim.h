// nn/optim.h — optimisers and learning-rate schedules, PyTorch semantics.
//
// SGD (torch.optim.SGD): g ← grad + wd·θ; buf ← μ·buf + g; step = nesterov ? g + μ·buf : buf; θ ← θ − lr·step.
// Adam (torch.optim.Adam, L2 weight decay): g ← grad + wd·θ; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
//      θ ← θ − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
// Weight decay applies to every learnable parameter (as a plain torch optimiser over model.parameters()).
// Schedules give the learning rate of iteration t (0-based) out of T = epochs·steps_per_epoch:
//   constant: lr;  step: lr·γ^⌊epoch/step_size⌋;  cosine: lr·½(1+cos(π·(t−W)/(T−W))) after the W warm-up
//   steps (1 during them);
//   onecycle (torch.optim.lr_scheduler.OneCycleLR, cos annealing): from lr/25 up to lr over the first
//   30% of T, then down to lr/25/1e4 (the learning rate only: momentum is not cycled).  `warmup` epochs (constant/step/cosine) scale the rate linearly
//   from 1/W_steps to 1 over the first warmup·steps_per_epoch iterations.
#pragma once
#include <string>
#include <vector>

#include "nn/network.h"

namespace nn {

struct OptimConfig {
  std::string kind = "sgd";  // "sgd" | "adam"
  float lr = 0.02f, momentum = 0.9f, weight_decay = 5e-4f;
  bool nesterov = false;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};

struct ScheduleConfig {
  std::string kind = "cosine";  // "constant" | "step" | "cosine" | "onecycle"
  int step_size = 5;            // epochs, for "step"
  float gamma = 0.1f;           // for "step"
  float warmup = 1;             // epochs of linear warm-up (the recipe of README "Training")
};

// The names nn accepts for OptimConfig::kind and ScheduleConfig::kind (the CLI offers exactly these).
const std::vector<std::string>& optimizer_kinds();  // sgd, adam
const std::vector<std::string>& schedule_kinds();   // constant, step, cosine, onecycle

// The base learning rate when none is given: 0.02 for sgd (OptimConfig's), 0.001 for adam.
float default_learning_rate(const std::string& kind);

// Throw base::Error naming --optimizer / --schedule / --step-size for a value nn cannot use, and
// --nesterov without SGD momentum (torch.optim.SGD refuses it; it would be plain SGD or Adam).
void validate(const OptimConfig& cfg);
void validate(const ScheduleConfig& s);

// The learning rate of every iteration of one run.  The constructor validates the configuration
// once (base::Error naming --schedule / --step-size, or the step counts); rate(t) then only computes.
class Schedule {
 public:
  Schedule(const ScheduleConfig& config, double base_lr, long steps_per_epoch, long total_steps);
  double rate(long t) const;  // iteration t, 0-based, of total_steps

 private:
  enum class Kind { constant, step, cosine, onecycle };
  ScheduleConfig config_;
  Kind kind_;
  double base_lr_;
  long steps_per_epoch_, total_steps_;
  long warmup_steps_;  // for constant/step/cosine
};

// Sums a step can take on the way through every weight (the temporal imaging's gradient norms and
// update ratios, README "NN-EEG"), one entry per learnable parameter in Network::named_params()
// order, in double: grad_sq = Σ g² (the gradient before weight decay), weight_sq = Σ θ² before the
// step, change_sq = Σ (θ_after − θ_before)² (θ as float32, the difference in double).  Each sum is
// taken over fixed chunks of kSumChunk values, each chunk in 8 interleaved lanes added in lane
// order, then the chunks in order: the same numbers whatever the thread count.
struct StepSums {
  static constexpr long kSumChunk = 4096;
  std::vector<double> grad_sq, weight_sq, change_sq;
};

class Optimizer {
 public:
  Optimizer(Network& net, const OptimConfig& cfg);
  // One update from the accumulated grads; with `sums`, also fills them (the update is the same).
  void step(double lr, StepSums* sums = nullptr);
  long steps() const { return t_; }
  // State for a resumable checkpoint: momentum buffers (sgd) or first then second moments (adam),
  // one tensor per learnable parameter in Network::named_params() order, and the step count.
  std::vector<Tensor>& state() { return state_; }
  void restore_steps(long steps) { t_ = steps; }

 private:
  OptimConfig cfg_;
  std::vector<Param*> params_;
  std::vector<Tensor> state_;  // sgd: buf per param; adam: m then v per param
  long t_ = 0;
  std::vector<double> chunk_sums_;  // StepSums: 3 per chunk of the parameter being updated
};

}  // namespace nn
