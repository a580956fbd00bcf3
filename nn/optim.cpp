#include "nn/optim.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/format.h"

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
  // torch.optim.SGD refuses Nesterov without momentum; Adam has no Nesterov step: either would be
  // another optimiser than the one asked for, without a word.
  if (cfg.nesterov && cfg.kind != "sgd") throw base::Error("--nesterov: applies to --optimizer sgd, not " + cfg.kind);
  if (cfg.nesterov && !(cfg.momentum > 0.f))
    throw base::Error("--nesterov with --momentum " + base::shortest(double(cfg.momentum), false) +
                      ": expected a momentum above 0 (Nesterov momentum without momentum is plain SGD)");
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

namespace {
// Σ g², Σ w0², Σ (w1 − w0)² of values [0, m) into out[0..3) (StepSums: 8 interleaved lanes, value i
// in lane i mod 8, added in lane order).  The lanes are two vectors of 4 doubles (GCC vector
// extensions), so they stay in registers: each lane takes the same operations in the same order as a
// scalar lane would (the bits of the earlier scalar loop, which the compiler kept on the stack).
// (Built without AVX, e.g. OPT=-O3 alone, GCC warns that returning one by value has another ABI:
// irrelevant for these internal helpers, so the warning is off here, as in nn/winograd.cpp.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef double Lanes4 __attribute__((vector_size(32)));
typedef float Floats4 __attribute__((vector_size(16)));
inline Lanes4 widen(const float* p) {
  Floats4 f;
  std::memcpy(&f, p, sizeof f);
  return __builtin_convertvector(f, Lanes4);
}

void chunk_sums(const float* g, const float* w0, const float* w1, long m, double* out) {
  constexpr int L = 8;
  Lanes4 a[2] = {}, b[2] = {}, c[2] = {};
  long i = 0;
  for (; i + L <= m; i += L)
    for (int h = 0; h < 2; ++h) {
      const Lanes4 gi = widen(g + i + 4 * h), before = widen(w0 + i + 4 * h), d = widen(w1 + i + 4 * h) - before;
      a[h] += gi * gi;
      b[h] += before * before;
      c[h] += d * d;
    }
  double la[L], lb[L], lc[L];
  std::memcpy(la, a, sizeof la);
  std::memcpy(lb, b, sizeof lb);
  std::memcpy(lc, c, sizeof lc);
  for (int l = 0; i < m; ++i, ++l) {  // the last m mod 8 values, in lanes 0, 1, …
    const double gi = g[i], before = w0[i], d = double(w1[i]) - before;
    la[l] += gi * gi;
    lb[l] += before * before;
    lc[l] += d * d;
  }
  out[0] = out[1] = out[2] = 0;
  for (int l = 0; l < L; ++l) {
    out[0] += la[l];
    out[1] += lb[l];
    out[2] += lc[l];
  }
}
// SGD's update of n values: per value the arithmetic of torch.optim.SGD (nn/optim.h), in index order.
// A function of its own with restrict pointers and the settings as arguments: inside step()'s
// lambda the settings were captured by reference, a store to w[i] might have changed them (a float
// store may alias a float), so they were loaded again for every value and the loop stayed scalar.
// One loop: the compiler unswitches it on the settings (one vector loop per case, checked with
// -fopt-info-vec). Each value's operations are the scalar loop's, so the same bits.
void sgd_update(float* __restrict w, const float* __restrict g, float* __restrict buf, long n, float lr, float wd,
                float mu, bool first, bool nesterov) {
  for (long i = 0; i < n; ++i) {
    const float d = g[i] + wd * w[i];
    if (mu == 0.f) {  // no momentum buffer
      w[i] -= lr * d;
      continue;
    }
    const float b = first ? d : mu * buf[i] + d;
    buf[i] = b;
    w[i] -= lr * (nesterov ? d + mu * b : b);
  }
}
}  // namespace

void Optimizer::step(double lr_d, StepSums* sums) {
  ++t_;
  const float lr = float(lr_d), wd = cfg_.weight_decay, mu = cfg_.momentum;
  const size_t np = params_.size();
  const double bc1 = 1 - std::pow(double(cfg_.beta1), double(t_)), bc2 = 1 - std::pow(double(cfg_.beta2), double(t_));
  const bool sgd = cfg_.kind == "sgd";
  const long chunk = StepSums::kSumChunk;
  if (sums) {
    sums->grad_sq.assign(np, 0.0);
    sums->weight_sq.assign(np, 0.0);
    sums->change_sq.assign(np, 0.0);
  }
  for (size_t k = 0; k < np; ++k) {
    Param& p = *params_[k];
    float* w = p.value.data();
    const float* g = p.grad.data();
    const long n = long(p.value.size());
    float* buf = state_[k].data();  // sgd: the momentum buffer; adam: m
    float* v = sgd ? nullptr : state_[np + k].data();
    const bool first = t_ == 1, nesterov = cfg_.nesterov;
    const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
    const float step_size = float(lr_d / bc1), sqrt_bc2 = float(std::sqrt(bc2));
    // the update of values [lo, hi): the same arithmetic for every value, in any chunking
    auto update = [&](long lo, long hi) {
      if (sgd) {
        sgd_update(w + lo, g + lo, buf + lo, hi - lo, lr, wd, mu, first, nesterov);
      } else {
        for (long i = lo; i < hi; ++i) {
          float d = g[i] + wd * w[i];
          buf[i] = b1 * buf[i] + (1 - b1) * d;
          v[i] = b2 * v[i] + (1 - b2) * d * d;
          w[i] -= step_size * buf[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
        }
      }
    };
    if (!sums) {
#pragma omp parallel for schedule(static) if (n > 65536)
      for (long c = 0; c < (n + chunk - 1) / chunk; ++c) update(c * chunk, std::min(n, (c + 1) * chunk));
      continue;
    }
    const long chunks = (n + chunk - 1) / chunk;
    if (chunk_sums_.size() < size_t(3 * chunks)) chunk_sums_.resize(size_t(3 * chunks));
    double* out = chunk_sums_.data();
#pragma omp parallel if (n > 65536)
    {
      std::vector<float> before(static_cast<size_t>(chunk));  // once per thread and parameter, not per chunk
#pragma omp for schedule(static)
      for (long c = 0; c < chunks; ++c) {
        const long lo = c * chunk, hi = std::min(n, lo + chunk);
        std::copy(w + lo, w + hi, before.data());
        update(lo, hi);
        chunk_sums(g + lo, before.data(), w + lo, hi - lo, out + 3 * c);
      }
    }
    for (long c = 0; c < chunks; ++c) {
      sums->grad_sq[k] += out[3 * c];
      sums->weight_sq[k] += out[3 * c + 1];
      sums->change_sq[k] += out[3 * c + 2];
    }
  }
}

}  // namespace nn
