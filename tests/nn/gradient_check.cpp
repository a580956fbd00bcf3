// tests/gradient_check.cpp — see gradient_check.h.
#include "tests/nn/gradient_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "nn/rng.h"

namespace gradcheck {

std::string Report::summary() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "gradient check: %zu coordinates checked, %zu skipped at kinks, %zu failed, worst %.3g",
                checked, kinks, failed, worst);
  std::string none;
  for (const std::string& name : unchecked) none += (none.empty() ? "" : ", ") + name;
  return std::string(buf) + (none.empty() ? "" : "; no coordinate compared of " + none) +
         (details.empty() ? "" : "\n" + details);
}

namespace {

// L = Σ r ⊙ out, in double.
double loss_of(const nn::Tensor& r, const nn::Tensor& out) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += double(r[i]) * double(out[i]);
  return s;
}

// The coordinates of a variable to check: all, or a seeded sample of `limit` distinct ones.
std::vector<size_t> coordinates(size_t size, size_t limit, uint64_t seed) {
  std::vector<size_t> all(size);
  std::iota(all.begin(), all.end(), size_t(0));
  if (limit == 0 || limit >= size) return all;
  nn::Rng rng(seed);
  for (size_t i = 0; i < limit; ++i) std::swap(all[i], all[i + rng.below(uint32_t(size - i))]);
  all.resize(limit);
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

Report check(const Problem& problem, const Options& options) {
  std::vector<nn::Tensor> buffers;
  for (nn::Tensor* t : problem.restore_after_forward) buffers.push_back(*t);
  auto run_forward = [&]() -> const nn::Tensor& {
    const nn::Tensor& out = problem.forward();
    for (size_t b = 0; b < buffers.size(); ++b) *problem.restore_after_forward[b] = buffers[b];
    return out;
  };

  // The analytic gradients, from one backward with dout = r.
  nn::Tensor r(run_forward().shape());
  nn::Rng rng(options.seed);
  for (size_t i = 0; i < r.size(); ++i) r[i] = float(rng.normal());
  const std::vector<int> base_signature = problem.signature ? problem.signature() : std::vector<int>{};
  problem.backward(r);
  std::vector<nn::Tensor> analytic;
  for (const Variable& v : problem.variables) analytic.push_back(*v.grad);

  Report report;
  for (size_t vi = 0; vi < problem.variables.size(); ++vi) {
    const Variable& v = problem.variables[vi];
    if (analytic[vi].size() != v.value->size()) {
      ++report.failed;
      report.details += v.name + ": gradient has " + std::to_string(analytic[vi].size()) + " values, the variable " +
                        std::to_string(v.value->size()) + "\n";
      continue;
    }
    const size_t checked_before = report.checked;
    for (size_t i : coordinates(v.value->size(), options.max_per_variable, options.seed + 17 * (vi + 1))) {
      float& x = (*v.value)[i];
      const float original = x;
      const float plus = float(double(original) + options.step), minus = float(double(original) - options.step);
      x = plus;
      const double loss_plus = loss_of(r, run_forward());
      const bool kink_plus = problem.signature && problem.signature() != base_signature;
      x = minus;
      const double loss_minus = loss_of(r, run_forward());
      const bool kink_minus = problem.signature && problem.signature() != base_signature;
      x = original;
      if (kink_plus || kink_minus) {
        ++report.kinks;
        continue;
      }
      const double numeric = (loss_plus - loss_minus) / (double(plus) - double(minus));
      const double a = analytic[vi][i];
      const double allowed = options.abs_tol + options.rel_tol * std::max(std::fabs(a), std::fabs(numeric));
      const double error = std::fabs(a - numeric) / allowed;
      ++report.checked;
      report.worst = std::max(report.worst, error);
      if (!(error <= 1.0)) {  // NaN fails too
        if (++report.failed <= 8) {
          char buf[200];
          std::snprintf(buf, sizeof buf, "  %s[%zu]: analytic %.7g, numeric %.7g\n", v.name.c_str(), i, a, numeric);
          report.details += buf;
        }
      }
    }
    if (report.checked == checked_before && v.value->size() > 0) report.unchecked.push_back(v.name);
  }
  run_forward();  // leave the object in the state of a forward at the original values
  return report;
}

Report check_layer(nn::Layer& layer, const nn::Tensor& input, bool training, const Options& options,
                   uint64_t rng_seed) {
  // Shared state lives on the heap so the closures stay valid for the whole check.
  auto x = std::make_shared<nn::Tensor>(input);
  auto out = std::make_shared<nn::Tensor>();
  auto din = std::make_shared<nn::Tensor>();
  Problem p;
  p.variables.push_back({"input", x.get(), din.get()});
  std::vector<nn::Param*> trainable;
  for (nn::Param* param : layer.params()) {
    if (param->trainable) {
      trainable.push_back(param);
      p.variables.push_back({layer.kind() + "." + param->name, &param->value, &param->grad});
    } else {
      p.restore_after_forward.push_back(&param->value);
    }
  }
  p.forward = [&layer, x, out, training, rng_seed]() -> const nn::Tensor& {
    nn::Rng rng(rng_seed);
    layer.forward(*x, *out, training, rng);
    return *out;
  };
  p.backward = [&layer, x, out, din, trainable](const nn::Tensor& dout) {
    for (nn::Param* param : trainable) param->grad.zero();
    layer.backward(*x, *out, dout, din.get(), true);
  };
  if (dynamic_cast<nn::ReLU*>(&layer)) {
    p.signature = [out] {
      std::vector<int> active(out->size());
      for (size_t i = 0; i < out->size(); ++i) active[i] = (*out)[i] > 0.f;
      return active;
    };
  } else if (auto* pool = dynamic_cast<nn::Pool2d*>(&layer); pool && pool->mode == nn::Pool2d::Max) {
    p.signature = [pool] { return pool->argmax(); };
  }
  return check(p, options);
}

Report check_network(nn::Network& net, const nn::Tensor& x_in, bool training, const Options& options,
                     int from_block) {
  auto x = std::make_shared<nn::Tensor>(x_in);
  auto dx = std::make_shared<nn::Tensor>(x_in.shape());
  auto relu_pattern = std::make_shared<std::vector<int>>();
  const nn::Rng saved_rng = net.rng();
  Problem p;
  size_t first_layer = 0;
  if (from_block >= 0) {
    p.variables.push_back({net.blocks()[from_block].name + ".output", x.get(), dx.get()});
    first_layer = size_t(net.blocks()[from_block].last) + 1;
  }
  for (size_t i = 0; i < net.num_layers(); ++i)
    for (nn::Param* param : net.layer(i).params()) {
      if (!param->trainable)
        p.restore_after_forward.push_back(&param->value);
      else if (i >= first_layer)
        p.variables.push_back({net.layer_name(i) + "." + param->name, &param->value, &param->grad});
    }
  // The signature: the active set of every block's relu (seen through a probe) and every max-pool argmax.
  auto probe = std::make_shared<nn::Probe>([relu_pattern](const nn::BlockView& view) {
    if (view.block.activation < 0) return;
    for (size_t i = 0; i < view.z.size(); ++i) relu_pattern->push_back(view.z[i] > 0.f);
  });
  p.forward = [&net, x, relu_pattern, probe, saved_rng, training, from_block]() -> const nn::Tensor& {
    relu_pattern->clear();
    net.rng() = saved_rng;
    return from_block >= 0 ? net.forward_from(from_block, *x, probe.get()) : net.forward(*x, training, probe.get());
  };
  p.backward = [&net, dx, from_block](const nn::Tensor& dout) {
    net.zero_grad();
    net.backward(dout, true);
    if (from_block >= 0) *dx = net.output_grad(from_block);
  };
  p.signature = [&net, relu_pattern] {
    std::vector<int> s = *relu_pattern;
    for (const nn::Block& b : net.blocks())
      if (auto* pool = dynamic_cast<const nn::Pool2d*>(&net.layer(b.main)); pool && pool->mode == nn::Pool2d::Max)
        s.insert(s.end(), pool->argmax().begin(), pool->argmax().end());
    return s;
  };
  return check(p, options);
}

}  // namespace gradcheck
