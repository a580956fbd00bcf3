// imaging/zeta_settings.h — the settings of the ζ stage (imaging/zeta.h), read by the lesion game
// (value function, ablation), the estimators (budget, tolerance, cap) and the stage (method, sample).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace imaging {

// The fewest permutations per image a sampled estimate can stop at: two antithetic rounds, the
// fewest an interval needs (the CLI's --zeta-max-permutations minimum).
constexpr int kMinPermutationsPerImage = 4;

struct ZetaSettings {
  std::string method = "shapley";   // --zeta-method: exact | shapley | lesion | taylor
  std::string value = "logprob";    // --zeta-value: logprob | accuracy
  std::string ablation = "zero";    // --zeta-ablation: zero | mean
  size_t samples = 256;             // --zeta-samples: stratified, classes balanced, from the first `pool` test images
  double tolerance = -1;            // --zeta-tol: CI half-width target; < 0 means 0.05·max|φ|
  double budget_seconds = 5;        // --zeta-budget: seconds per block, all its ζ work included; blocks run
                                    // output first and share unused time (8 blocks ≤ 40 s + 2-round minimums)
  uint64_t seed = 1;                // --zeta-seed
  int max_permutations = 4096;      // --zeta-max-permutations: per image (2 per round), a safety cap
  std::string ci = "population";    // --zeta-ci: sample | population, the interval behind significance
                                    // (imaging/critical.h); population because a critical region is a claim
                                    // about the data the images were drawn from, not about the 256 images
};

// Throws base::Error naming the flag (--zeta-method, --zeta-value, ...) of the first bad value
// (defined with the stage, imaging/zeta.cpp).
void validate(const ZetaSettings& s);

}  // namespace imaging
