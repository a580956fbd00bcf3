// tests/nn/gradient_check.h — one generic finite-difference gradient checker for every layer test
// (in the spirit of Caffe's test_gradient_check_util.hpp).
//
// Promise: for a differentiable map out = f(v₁, v₂, …) of some float tensors vᵢ (a layer's input
// and its trainable parameters, or a whole network's), the checker defines the scalar loss
//     L = Σ r ⊙ out,   r ~ N(0, 1) fixed by the seed,
// runs the analytic backward once with dout = r, and compares every coordinate of every dL/dvᵢ
// with the central difference
//     (L(v + h·e) − L(v − h·e)) / (2h)        (L summed in double, h the float-rounded step)
// accepting |analytic − numeric| ≤ abs_tol + rel_tol·max(|analytic|, |numeric|).
// Kinks: a coordinate whose ±h forwards change a discrete choice of the forward (a ReLU's
// active set, a max-pool's argmax; `signature` below) is counted as skipped, not failed, since
// the central difference straddles a non-differentiable point there.  A check passes only when
// every variable had at least one coordinate compared: a variable whose sampled coordinates were
// all kinks is named in `unchecked` (a whole network's early layers move every relu after them:
// at h = 1e-2 no coordinate of a residual net's stem and first unit was compared; check_network's
// callers pass a smaller step).
// Forwards are side-effect free for the check: every value (buffers such as batch-norm
// running statistics included) is restored after each perturbed forward.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/network.h"
#include "nn/tensor.h"

namespace gradcheck {

// One tensor the output depends on; `grad` holds dL/dvalue after `backward`.
struct Variable {
  std::string name;
  nn::Tensor* value;
  const nn::Tensor* grad;
};

struct Problem {
  std::vector<Variable> variables;
  // Runs the forward at the current values and returns the output.
  std::function<const nn::Tensor&()> forward;
  // Sets every variable's grad to dL/dvalue for dL/dout = dout, after the last forward().
  std::function<void(const nn::Tensor& dout)> backward;
  // The discrete choices (kinks) made by the last forward; empty function: a smooth map.
  std::function<std::vector<int>()> signature;
  // Buffers a forward may change (batch-norm running stats): restored after every forward.
  std::vector<nn::Tensor*> restore_after_forward;
};

struct Options {
  double step = 1e-2;
  double abs_tol = 2e-3, rel_tol = 1e-2;
  uint64_t seed = 1234;           // the r of L = Σ r ⊙ out
  size_t max_per_variable = 0;    // 0: every coordinate; else a seeded sample of this many
};

struct Report {
  size_t checked = 0;  // coordinates compared
  size_t kinks = 0;    // coordinates skipped because a ±h forward changed the signature
  size_t failed = 0;
  double worst = 0;    // largest |analytic − numeric| / (abs_tol + rel_tol·max(|a|, |n|))
  std::string details; // the first few failures, one per line
  std::vector<std::string> unchecked;  // variables none of whose coordinates was compared (all kinks)
  bool ok() const { return checked > 0 && failed == 0 && unchecked.empty(); }
  std::string summary() const;
};

Report check(const Problem& problem, const Options& options = {});

// A set-up layer on `input`: variables "input" and every trainable parameter; the forward runs in
// `training` mode with a fresh copy of Rng(rng_seed) each time (a fixed dropout mask); kinks are
// the ReLU active set and the max-pool argmax.
Report check_layer(nn::Layer& layer, const nn::Tensor& input, bool training, const Options& options = {},
                   uint64_t rng_seed = 99);

// A whole network through Network::forward/backward: every trainable parameter (the net has no
// input gradient).  With from_block ≥ 0 the forward is net.forward_from(from_block, x) instead
// (x stands for that block's output, evaluation mode) and x is checked too, through
// net.output_grad(from_block).  Dropout masks are fixed by restoring net.rng() before each forward.
Report check_network(nn::Network& net, const nn::Tensor& x, bool training, const Options& options = {},
                     int from_block = -1);

// A tensor of shape s filled with scale·N(0, 1) from Rng(seed): the inputs of the layer and network tests.
inline nn::Tensor random_tensor(nn::Shape s, uint64_t seed, double scale = 1.0) {
  nn::Tensor t(s);
  nn::Rng rng(seed);
  for (size_t i = 0; i < t.size(); ++i) t[i] = float(scale * rng.normal());
  return t;
}

}  // namespace gradcheck
