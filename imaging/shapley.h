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
//             half-width < tolerance (stopped_by "tolerance"), max_permutations per image is
//             reached ("max_permutations") or the budget runs out ("budget").  The budget is
//             checked before every step: an image's first step is its lesions and its first two
//             walks (an interval needs two), each later step one more walk of one image, so the
//             call returns within budget_seconds plus one step (per thread).  A budget stop among
//             the first steps cuts the sample to its first K ≥ 2 images (`images`); one inside a
//             later round leaves R_x = R or R + 1 walks per image, and then s²_xg/R_x, ν with
//             R_x − 1 and φ̂ = (1/K) Σ_x m_xg are the same stratified estimator with unequal
//             strata sizes (still efficient: every unit telescopes).  Stopped by tolerance or
//             max_permutations, the numbers depend only on the seed (not on timing or threads).
//  - lesion:  Δ_g = v(all) − v(all∖{g}), exact.
//  - taylor:  T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu from one backward pass of the log-prob value
//             (accuracy has zero gradient almost everywhere, so taylor always uses logprob).
//  lesion and taylor are deterministic: interval [Δ, Δ], p = 0 if Δ ≠ 0 else 1; stopped_by
//  is "exact" for exact and "complete" for them.
//
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "imaging/critical.h"
#include "imaging/lesion_game.h"

namespace imaging {

constexpr int kMaxExactRegions = 16;  // exact enumerates 2^n coalitions per image

struct ShapleyEstimate {
  std::vector<double> phi, ci_low, ci_high, p_value;  // per region
  size_t images = 0;                                   // the estimate covers the game's first `images` images
  int rounds = 0;                                      // sampled: complete antithetic rounds (every image)
  long permutations = 0;                               // sampled: permutations walked per image (2·rounds)
  long permutations_total = 0;                         // sampled: permutations walked, all images
  std::vector<double> lesion;                          // sampled: Δ_g over the `images` images
  std::string stopped_by;                              // "exact" | "tolerance" | "budget" | "max_permutations"
  double tolerance = 0;                                // the half-width target that was used
  double seconds = 0;
  // exact and shapley: the population interval of φ (imaging/critical.h), which adds the image-to-image
  // variation of φ_g(x) to the permutation noise; lesion and taylor: empty.
  PhiIntervals population;
  // exact and shapley: (images, n) row-major, image x's own estimate of φ_g(x) (its mean antithetic
  // unit m_xg; exact: φ_g(x)), so φ = the mean of the rows.  Shapley values are linear in the
  // per-image games, so the mean over any subset of images is that subset's φ (imaging/error_maps.h).
  std::vector<double> per_image;
};

// Exact Shapley values (n ≤ 16; throws base::Error naming the block and its region count otherwise).
// The first image is timed: if all images would take longer than budget_seconds, throws base::Error
// with the projection (2^n coalitions per image can take hours on an early block of a big net).
ShapleyEstimate shapley_exact(const CoalitionValue& game, double budget_seconds = 1e300);
// Called before the first steps of each chunk of kGameChunk images (first, count), in image order,
// outside any parallel region, while the budget lasts: work that must cover the same images as the
// estimate and count against its budget (imaging/zeta.cpp: the Taylor terms of those images).
using ChunkHook = std::function<void(size_t first, int count)>;
// The budget's clock: seconds since the call, read before every step and chunk (from several threads at
// once).  Empty: the wall clock.  Tests pass one that counts its reads, so that a budget is a number of
// checks, the same on any machine.
using BudgetClock = std::function<double()>;
// Permutation-sampled Shapley values, as described at the top.  budget_seconds counts from the call;
// the lesions Δ_g of the images covered come along (`lesion`), taken in each image's first step so
// that a budget cuts every score at the same image.
// `ranks` (null: this process alone): the ranks of an MPI job, each walking the images x ≡ rank mod P
// and sharing every image's state after each chunk of first steps and each round, so that every rank
// holds the same state and makes the same tolerance and max_permutations decisions; the budget is
// then rank 0's clock, read only between chunks and rounds (no cut inside a round).  Stopped by
// tolerance or max_permutations, the estimate is the same for any number of ranks.
ShapleyEstimate shapley_sampled(const CoalitionValue& game, double tolerance, double budget_seconds,
                                int max_permutations, uint64_t seed, const ChunkHook& before_chunk = {},
                                nn::ShardGroup* ranks = nullptr, const BudgetClock& elapsed = {});
// Image x's antithetic unit of round `round` (shapley_sampled's walk): the permutation π drawn from
// Rng::derive(seed, x, round), walked forward (∅ → all, adding π(1), π(2), …) and back (all → ∅,
// removing π(1), π(2), …, which adds reverse(π)'s regions in its order, read backwards); unit[g] is
// the mean of region g's two marginals.  Both walks telescope.  `order`: scratch of game.regions().
void antithetic_unit(CoalitionWalker& walker, uint64_t seed, size_t x, int round, std::vector<int>& order, double* unit);
// Δ_g = v(all) − v(all∖{g}).
std::vector<double> lesion_scores(const CoalitionValue& game);
// The same, each image's Δ_g(x) = v_x(all) − v_x(all∖{g}) apart: (N, n) row-major.
std::vector<double> lesion_terms(const CoalitionValue& game);
// T_g = Σ_{u∈g} Σ_x (a_xu − b_u)·∂v/∂a_xu with v the mean log-prob (one backward pass per chunk).
std::vector<double> taylor_scores(const CoalitionValue& game);
// The same, each image's term apart: (N, n), term_xg = Σ_{u∈g} (a_xu − b_u)·∂v/∂a_xu, so T_g = Σ_x term_xg.
std::vector<double> taylor_terms(const CoalitionValue& game);
// The terms of images first … first + count − 1 (one chunk: first a multiple of kGameChunk, count ≤
// kGameChunk) into terms (N, n): taylor_terms is this for every chunk, so the bits are the same.
void taylor_chunk_terms(const CoalitionValue& game, size_t first, int count, std::vector<double>& terms);
// T_g over the first `images` of N images: Σ_{x<images} term_xg · N/images (the mean log-prob of
// those images; exactly Σ_x term_xg when images = N).
std::vector<double> taylor_over(const std::vector<double>& terms, size_t N, int n, size_t images);

// A deterministic score (exact, lesion, taylor) as an estimate: interval [φ, φ], p = 0 if φ ≠ 0
// else 1 (there is no sampling error to test), stopped_by "complete".
ShapleyEstimate deterministic_estimate(std::vector<double> phi);

}  // namespace imaging
