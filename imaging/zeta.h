// imaging/zeta.h — ζ-scores: the causal impact of every region of a block on the net's output,
// as Shapley values of a lesion game, with confidence intervals, fast enough to run every epoch.
//
// The pieces, one job per file:
//   imaging/lesion_game.h   the game v(S) of one block (lesion_game.cpp) and its incremental
//                           walker (lesion_walker.cpp)
//   imaging/shapley.h       the estimators: exact, sampled, lesion, taylor (shapley.cpp)
//   imaging/zeta_scores.h   ζ, Benjamini–Hochberg significance, critical regions (zeta_scores.cpp;
//                           the statistics in zeta_stats.cpp)
//   imaging/zeta.h          this file: the ζ stage over every block and zeta.json (zeta.cpp)
// Measured (bench/bench_zeta.cpp: `reference` trained to 54% on the CIFAR-10 subset, 8x8x4 grid,
// 256 images, 2 cores): one step (one region added or removed, every later layer updated, one
// image) costs 6.2 µs for conv1, 1.9 µs conv2, 0.3 µs conv3, against 193/103/31 µs for the same
// coalition by a dense forward_from.  The whole stage (5 s per block, unused time shared, see
// zeta_analysis) takes 40 s: conv1/pool1 stop by budget at 36-38 permutations per image with
// half-widths within 15% of the tolerance, every other block by tolerance; peak RSS 84 MB.  (A
// fixed 6 s per block: 18 s, but conv1/pool1 at 12-14 permutations and 2× the tolerance.)  Random
// weights make steps ~5× dearer (denser relus): 40 s, conv1/pool1 at the 2-round minimum.
// taylor for all 8 blocks: 0.3 s.  Measured and not kept: allocating rounds to
// the noisiest images (Neyman: at most 13-20% less variance here) and stratifying permutation
// positions (position explains ~3% of the marginals' variance).  Kept: antithetic pairs, whose
// unit has 0.65× the variance of two independent permutations.
#pragma once
#include <cstddef>
#include <cstdint>
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
// sum_phi (= v_all − v_none for exact/shapley), regions {key: {zeta_score, confidence_interval,
// significance, shapley, shapley_ci (exact/shapley only), p_value, p_adjusted, lesion, taylor}},
// critical_regions (ζ descending), critical_share, budget_seconds, timing {setup, lesion, taylor,
// shapley}.  Throws base::Error for bad settings, an empty sample, or `exact` on a block with more
// than 16 regions (before any work is done).
nlohmann::ordered_json zeta_analysis(nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                     const run::GridSpec& grid, const ZetaSettings& s);

}  // namespace imaging
