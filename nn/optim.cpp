#include "nn/optim.h"

#include <cmath>

#include "base/error.h"

namespace nn {

void validate(const OptimConfig& cfg) {
  if (cfg.kind != "sgd" && cfg.kind != "adam") throw base::Error("--optimizer '" + cfg.kind + "': expected sgd or adam");
}

void validate(const ScheduleConfig& s) {
  if (s.kind != "constant" && s.kind != "step" && s.kind != "cosine" && s.kind != "onecycle")
    throw base::Error("--schedule '" + s.kind + "': expected constant, step, cosine or onecycle");
  if (s.kind == "step" && s.step_size < 1)
    throw base::Error("--step-size " + std::to_string(s.step_size) + ": expected an integer ≥ 1");
}

double learning_rate(const ScheduleConfig& s, double lr, long t, long steps_per_epoch, long total) {
  const double pi = 3.14159265358979323846;
  if (steps_per_epoch < 1 || total < 1) throw base::Error("learning_rate: steps per epoch and total steps must be ≥ 1");
  validate(s);
  if (s.kind == "onecycle") {
    // torch OneCycleLR: phase 1 ends at step pct·T − 1, phase 2 at T − 1.
    double initial = lr / 25.0, final_lr = initial / 1e4;
    double end1 = 0.3 * total - 1, end2 = total - 1;
    auto cos_anneal = [&](double a, double b, double pct) { return b + (a - b) / 2.0 * (std::cos(pi * pct) + 1); };
    if (t <= end1) return cos_anneal(initial, lr, end1 > 0 ? t / end1 : 1.0);
    return cos_anneal(lr, final_lr, end2 > end1 ? (t - end1) / (end2 - end1) : 1.0);
  }
  long warm = long(s.warmup * steps_per_epoch);
  double factor = warm > 0 && t < warm ? double(t + 1) / warm : 1.0;
  if (s.kind == "constant") return lr * factor;
  if (s.kind == "step") return lr * factor * std::pow(s.gamma, double(t / steps_per_epoch / s.step_size));
  if (s.kind == "cosine") {
    long span = total - warm;
    double pct = t < warm || span <= 0 ? 0.0 : double(t - warm) / span;
    return lr * factor * 0.5 * (1 + std::cos(pi * pct));
  }
  return lr;  // not reached: validate() accepted only the kinds above
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
