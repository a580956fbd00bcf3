// imaging/zeta.h — ζ-scores: the causal impact of every region of a block on the net's output,
// as Shapley values of a lesion game, with confidence intervals, fast enough to run every epoch.
//
// The pieces, one job per file:
//   imaging/lesion_game.h   the game v(S) of one block (lesion_game.cpp) and its incremental
//                           walker (lesion_walker.cpp)
//   imaging/shapley.h       the estimators: exact, sampled, lesion, taylor (shapley.cpp)
//   imaging/zeta_scores.h   ζ, the robust score, Benjamini–Hochberg significance, critical regions
//                           (zeta_scores.cpp; the statistics in zeta_stats.cpp)
//   imaging/critical.h      the critical-region rules and the population interval (critical.cpp)
//   imaging/zeta.h          this file: the ζ stage over every block and zeta.json (zeta.cpp)
// Why the walker and antithetic pairs: an incremental step (one region added or removed, every later
// layer updated, one image) costs a small fraction of a dense forward_from of the same coalition, and
// an antithetic pair's unit has less variance than two independent permutations.  Rejected: rounds
// allocated to the noisiest images (Neyman) and stratified permutation positions, which gained little.
// The measured figures behind these choices: bench/README.md, "Measured figures once in comments".
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/lesion_game.h"
#include "imaging/shapley.h"
#include "imaging/zeta_scores.h"
#include "imaging/zeta_settings.h"
#include "nn/data.h"
#include "nn/network.h"
#include "run/region_grid.h"

namespace imaging {

// The ζ stage on every block (conv*, pool*, fc*, output): returns the content of zeta.json,
// {"settings": {...}, "layers": {"conv1": {...}, ...}} (layers in network order).  Blocks are
// computed from the output back to the input, each with budget_seconds plus an equal share
// (1/blocks still to run) of the time the blocks after it left unused (its "budget_seconds").  Per layer: method, value_function,
// ablation, grid, region_count, eval_samples, eval_indices, permutations (per image),
// permutations_total, rounds, seconds, stopped_by, tolerance, max_ci_half_width, v_all, v_none,
// sum_phi (= v_all − v_none for exact/shapley), regions {key: {zeta_score, robust_score,
// confidence_interval, significance, shapley, shapley_ci, shapley_ci_population, p_value_sample,
// p_value_population (these five exact/shapley only; the two population ones with ≥ 2 images), p_value, p_adjusted, lesion, taylor}}, ci (the
// interval behind p_value and significance), critical_rule, critical_regions and critical_share (by
// critical_rule, φ descending), critical_regions_zeta and critical_share_zeta (ζ ≥ 2 and significant),
// budget_seconds, timing {setup, lesion, taylor, shapley} (shapley takes the lesions inside its steps:
// lesion is 0 there; its Taylor terms chunk by chunk before the chunk's first steps).  A block returns
// within its budget_seconds plus one step of shapley_sampled (imaging/shapley.h) or one chunk's Taylor
// pass, unless its setup alone takes longer; a budget that runs out among the first steps cuts
// eval_samples/eval_indices to the images covered.  Throws base::Error for bad settings, an empty sample, or `exact` on a block with more
// than 16 regions (before any work is done).
// on_block (may be empty) is called before each block with its name and the number of blocks done.
nlohmann::ordered_json zeta_analysis(nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                     const run::GridSpec& grid, const ZetaSettings& s,
                                     const std::function<void(const std::string& block, size_t done)>& on_block = {});

// What zeta_analysis checks before any work, on its own: bad settings, a value function naming a class
// beyond the net, `confusion:A:B` with no image of class A among the first `pool` images, `exact` on a
// block of more than 16 regions.  The ζ stage's Stage::check_net, so that `analyze` fails before an
// earlier analysis in --out is removed and `train --analyze-every` before the first epoch.  Returns the
// sample of test images the game is played on (stratified_sample), which zeta_analysis then uses.
std::vector<uint32_t> check_zeta_fits(const nn::Network& net, const nn::LabeledImages& test, size_t pool, const run::GridSpec& grid,
                     const ZetaSettings& s);

}  // namespace imaging
