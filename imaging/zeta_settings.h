// imaging/zeta_settings.h — the settings of the ζ stage (imaging/zeta.h), read by the lesion game
// (value function, ablation), the estimators (budget, tolerance, cap) and the stage (method, sample).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/shards.h"

namespace imaging {

// The fewest permutations per image a sampled estimate can stop at: two antithetic rounds, the
// fewest an interval needs (the CLI's --zeta-max-permutations minimum).
constexpr int kMinPermutationsPerImage = 4;

struct ZetaSettings {
  std::string method = "shapley";   // --zeta-method: exact | shapley | lesion | taylor
  std::string value = "logprob";    // --zeta-value: logprob | accuracy | margin | confusion:A:B (A, B class
                                    // indices here; the commands accept class names, resolve_value_classes)
  std::string ablation = "zero";    // --zeta-ablation: zero | mean
  size_t samples = 256;             // --zeta-samples: stratified, classes balanced, from the first `pool` test images
  double tolerance = -1;            // --zeta-tol: CI half-width target; < 0 means 0.05·max|φ|
  double budget_seconds = 5;        // --zeta-budget: seconds per block, all its ζ work included; blocks run
                                    // output first and share unused time (8 blocks ≤ 40 s + 2-round minimums)
  uint64_t seed = 1;                // --zeta-seed
  int max_permutations = 4096;      // --zeta-max-permutations: per image (2 per round), a safety cap
  bool errors = false;              // --errors (analyze): per-class, correct/misclassified, confusion and
                                    // per-image maps from the same walk (imaging/error_maps.h)
  std::string ci = "population";    // --zeta-ci: sample | population, the interval behind significance
                                    // (imaging/critical.h); population because a critical region is a claim
                                    // about the data the images were drawn from, not about the 256 images
  // The ranks of an MPI job that share the sampled permutations (analyze under mpirun, README
  // "Beyond one machine (MPI)"); null: this process alone.  Not a setting: never written.
  nn::ShardGroup* ranks = nullptr;
};

// The value of one image's game (imaging/lesion_game.h), parsed from --zeta-value:
//   logprob        log p(y|x)
//   accuracy       1 when the first maximum of the logits is y, else 0
//   margin         z_y − max_{k≠y} z_k  (true logit minus the largest other; > 0 iff correct, ties aside)
//   confusion:A:B  z_B − z_A, evaluated on images of true class A only (A ≠ B): how much a region pushes
//                  the net from A towards B.  The sample is the images of class A among the pool.
struct ValueFunction {
  enum class Kind { logprob, accuracy, margin, confusion } kind = Kind::logprob;
  int a = -1, b = -1;  // confusion: the true class A and the confused class B
};
// Syntax only (A ≠ B); a and b are set when A and B are whole numbers, else left −1 (names, for
// resolve_value_classes).  Throws base::Error naming --zeta-value and the value.
ValueFunction parse_value_function(const std::string& text);
// confusion:NAME:NAME → confusion:A:B with the indices of the names among class_names (a whole number
// is taken as an index); other values are returned unchanged.  Throws base::Error naming --zeta-value
// for an unknown name, an index ≥ the classes, or A = B.
std::string resolve_value_classes(const std::string& value, const std::vector<std::string>& class_names);

// Throws base::Error naming the flag (--zeta-method, --zeta-value, ...) of the first bad value
// (defined with the stage, imaging/zeta.cpp).
void validate(const ZetaSettings& s);

}  // namespace imaging
