#include "nn/optim.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace nn {

namespace {
bool one_of(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}
}  // namespace

const std::vector<std::string>& optimizer_kinds() {
  static const std::vector<std::string> kinds = {"sgd", "adam"};
  return kinds;
}

const std::vector<std::string>& schedule_kinds() {
  static const std::vector<std::string> kinds = {"constant", "step", "cosine", "onecycle"};
  return kinds;
}

float default_learning_rate(const std::string& kind) { return kind == "adam" ? 1e-3f : OptimConfig{}.lr; }

void validate(const OptimConfig& cfg) {
  if (!one_of(optimizer_kinds(), cfg.kind)) throw base::Error("--optimizer '" + cfg.kind + "': expected sgd or adam");
}

void validate(const ScheduleConfig& s) {
  if (!one_of(schedule_kinds(), s.kind))
    throw base::Error("--schedule '" + s.kind + "': expected constant, step, cosine or onecycle");
  if (s.kind == "step" && s.step_size < 1)
    throw base::Error("--step-size " + std::to_string(s.step_size) + ": expected an integer ≥ 1");
}

Schedule::Schedule(const ScheduleConfig& config, double base_lr, long steps_per_epoch, long total_steps)
    : config_(config), base_lr_(base_lr), steps_per_epoch_(steps_per_epoch), total_steps_(total_steps) {
  validate(config);
  if (steps_per_epoch < 1 || total_steps < 1)
    throw base::Error("learning-rate schedule: steps per epoch (" + std::to_string(steps_per_epoch) + ") and total steps (" +
                      std::to_string(total_steps) + ") must be >= 1");
  kind_ = config.kind == "constant" ? Kind::constant
          : config.kind == "step"   ? Kind::step
          : config.kind == "cosine" ? Kind::cosine
                                    : Kind::onecycle;
  warmup_steps_ = long(config.warmup * steps_per_epoch);
}

double Schedule::rate(long t) const {
  const double pi = 3.14159265358979323846, lr = base_lr_;
  const long total = total_steps_, warm = warmup_steps_;
  const double factor = warm > 0 && t < warm ? double(t + 1) / warm : 1.0;  // the linear warm-up
  double rate = lr;
  switch (kind_) {  // no default: -Wswitch names a new Kind that is not handled here
    case Kind::constant:
      rate = lr * factor;
      break;
    case Kind::step:
      rate = lr * factor * std::pow(config_.gamma, double(t / steps_per_epoch_ / config_.step_size));
      break;
    case Kind::cosine: {
      long span = total - warm;
      double pct = t < warm || span <= 0 ? 0.0 : double(t - warm) / span;
      rate = lr * factor * 0.5 * (1 + std::cos(pi * pct));
      break;
    }
    case Kind::onecycle: {
      // torch OneCycleLR: phase 1 ends at step pct·T − 1, phase 2 at T − 1.
      double initial = lr / 25.0, final_lr = initial / 1e4;
      double end1 = 0.3 * total - 1, end2 = total - 1;
      auto cos_anneal = [&](double a, double b, double pct) { return b + (a - b) / 2.0 * (std::cos(pi * pct) + 1); };
      rate = t <= end1 ? cos_anneal(initial, lr, end1 > 0 ? t / end1 : 1.0)
                       : cos_anneal(lr, final_lr, end2 > end1 ? (t - end1) / (end2 - end1) : 1.0);
      break;
    }
  }
  return rate;
}

Optimizer::Optimizer(Network& net, const OptimConfig& cfg) : cfg_(cfg) {
  validate(cfg);
  for (auto& np : net.named_params())
    if (np.param->trainable) params_.push_back(np.param);
  int per = cfg.kind == "adam" ? 2 : 1;
  for (int k = 0; k < per; ++k)
    for (Param* p : params_) {
      state_.emplace_back(p->value.shape());
      state_.back().zero();
    }
}

void Optimizer::step(double lr_d) {
  ++t_;
  const float lr = float(lr_d), wd = cfg_.weight_decay, mu = cfg_.momentum;
  const size_t np = params_.size();
  const double bc1 = 1 - std::pow(double(cfg_.beta1), double(t_)), bc2 = 1 - std::pow(double(cfg_.beta2), double(t_));
  for (size_t k = 0; k < np; ++k) {
    Param& p = *params_[k];
    float* w = p.value.data();
    const float* g = p.grad.data();
    const long n = long(p.value.size());
    if (cfg_.kind == "sgd") {
      float* buf = state_[k].data();
      const bool first = t_ == 1, nesterov = cfg_.nesterov;
#pragma omp parallel for schedule(static) if (n > 65536)
      for (long i = 0; i < n; ++i) {
        float d = g[i] + wd * w[i];
        if (mu != 0.f) {
          buf[i] = first ? d : mu * buf[i] + d;
          d = nesterov ? d + mu * buf[i] : buf[i];
        }
        w[i] -= lr * d;
      }
    } else {
      float* m = state_[k].data();
      float* v = state_[np + k].data();
      const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
      const float step_size = float(lr_d / bc1), sqrt_bc2 = float(std::sqrt(bc2));
#pragma omp parallel for schedule(static) if (n > 65536)
      for (long i = 0; i < n; ++i) {
        float d = g[i] + wd * w[i];
        m[i] = b1 * m[i] + (1 - b1) * d;
        v[i] = b2 * v[i] + (1 - b2) * d * d;
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
      }
    }
  }
}

}  // namespace nn
