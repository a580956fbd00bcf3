// imaging/shapley.h — the estimators of a lesion game's Shapley values (imaging/lesion_game.h):
// exact enumeration, sampled antithetic permutations, leave-one-out lesions and the Taylor
// approximation.
//
// Estimators (all work on a CoalitionValue; exact and shapley satisfy efficiency to float rounding):
//  - exact:   enumeration of all 2^n coalitions per image, n ≤ 16: a depth-first walk that adds
//             regions in increasing index order and returns to a branch point by undoing (bit-
//             exact journal), so every v_x(S) is the same sequence of additions and a region
//             that changes nothing has φ exactly 0.  Deterministic: interval [φ, φ], p = 0 if φ ≠ 0
//             else 1 (there is no sampling error to test).
//  - shapley: per-image antithetic permutation sampling.  Because v is a mean of per-image games and
//             Shapley values are linear, φ_g = (1/N) Σ_x φ_g(x).  Every round draws, for EVERY image
//             independently, a permutation π and walks it forward (∅ → all, adding) and back
//             (all → ∅, removing in π's order = adding in reverse(π)'s order); the image's unit for
//             region g is the mean of its two marginals (the antithetic pair is one independent
//             unit).  Independent permutations per image average the permutation noise over the
//             images, which is far less noisy than one permutation shared by all images.
//             Estimate: φ̂_g = (1/N) Σ_x m_xg, m_xg = mean of image x's R units (stratified sampling,
//             strata = images).  Variance: V̂_g = (1/N²) Σ_x s²_xg / R (s² over R ≥ 2 units), with
//             Welch–Satterthwaite degrees of freedom ν_g = V̂_g² / Σ_x (s²_xg/(N²R))²/(R−1).
//             95% interval φ̂ ± t_{0.975,ν}·√V̂; p from the two-sided t-test of φ̂ against 0 with ν.
//             Each unit's marginals telescope to v̂_x(all) − v_x(∅): the start is the exact
//             all-lesioned state, the end the incremental full state, equal to the dense forward up
//             to float rounding (~1e-6), so Σ_g φ̂_g = v(all) − v(∅) for every estimate, and a
//             region that changes nothing has every marginal, hence φ̂, exactly 0 (marginals are
//             differences of consecutive states of one walk, never of two computations).
//             Adaptive: rounds are added until every
//             half-width < tolerance (stopped_by "tolerance"), the next round would exceed the
//             budget ("budget"), or max_permutations per image is reached ("max_permutations").
//             At least 2 rounds always run (an interval needs them).  Stopped by tolerance or
//             max_permutations, the numbers depend only on the seed (not on timing or threads).
//  - lesion:  Δ_g = v(all) − v(all∖{g}), exact.
//  - taylor:  T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu from one backward pass of the log-prob value
//             (accuracy has zero gradient almost everywhere, so taylor always uses logprob).
//  lesion and taylor are deterministic: interval [Δ, Δ], p = 0 if Δ ≠ 0 else 1; stopped_by
//  is "exact" for exact and "complete" for them.
//
#pragma once
#include <string>
#include <vector>

#include "imaging/critical.h"
#include "imaging/lesion_game.h"

namespace imaging {

constexpr int kMaxExactRegions = 16;  // exact enumerates 2^n coalitions per image

struct ShapleyEstimate {
  std::vector<double> phi, ci_low, ci_high, p_value;  // per region
  int rounds = 0;                                      // sampled: antithetic rounds per image
  long permutations = 0;                               // sampled: permutations walked per image (2·rounds)
  std::string stopped_by;                              // "exact" | "tolerance" | "budget" | "max_permutations"
  double tolerance = 0;                                // the half-width target that was used
  double seconds = 0;
  // exact and shapley: the population interval of φ (imaging/critical.h), which adds the image-to-image
  // variation of φ_g(x) to the permutation noise; lesion and taylor: empty.
  PhiIntervals population;
};

// Exact Shapley values (n ≤ 16; throws base::Error naming the block and its region count otherwise).
// The first image is timed: if all images would take longer than budget_seconds, throws base::Error
// with the projection (2^n coalitions per image can take hours on an early block of a big net).
ShapleyEstimate shapley_exact(const CoalitionValue& game, double budget_seconds = 1e300);
// Permutation-sampled Shapley values, as described at the top.  budget_seconds counts from the call.
ShapleyEstimate shapley_sampled(const CoalitionValue& game, double tolerance, double budget_seconds,
                                int max_permutations, uint64_t seed);
// Δ_g = v(all) − v(all∖{g}).
std::vector<double> lesion_scores(const CoalitionValue& game);
// T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu with v the mean log-prob (one backward pass per chunk).
std::vector<double> taylor_scores(const CoalitionValue& game);

// A deterministic score (exact, lesion, taylor) as an estimate: interval [φ, φ], p = 0 if φ ≠ 0
// else 1 (there is no sampling error to test), stopped_by "complete".
ShapleyEstimate deterministic_estimate(std::vector<double> phi);

}  // namespace imaging
