// imaging/zeta_scores.h — ζ-scores, significance and critical regions of one block from its Shapley
// estimate (imaging/shapley.h):
//  - ζ_g = (φ_g − mean φ)/sd φ over the block's regions (sd with n−1; ζ = 0 when sd = 0); the
//    interval of ζ is φ's interval mapped by the same affine map.  p-values are BH-adjusted over
//    the block's regions; significance = adjusted p < 0.01; critical = ζ ≥ 2 and significant.
#pragma once
#include <cstdint>
#include <vector>

#include "imaging/shapley.h"
#include "imaging/zeta_stats.h"

namespace imaging {

// ζ_g = (φ_g − mean φ)/sd φ over the block's regions (sd with n−1; 0 when sd = 0), the
// Benjamini–Hochberg-adjusted p-values, and the critical regions: ζ ≥ 2 and adjusted p < 0.01,
// sorted by ζ (descending, ties in region order).  The one definition zeta.json, tests and
// benchmarks use.
struct ZetaScores {
  double mean = 0, sd = 0;
  std::vector<double> zeta, p_adjusted;
  std::vector<uint8_t> significant;  // p_adjusted < 0.01
  std::vector<int> critical;
};
ZetaScores zeta_scores(const ShapleyEstimate& est);

}  // namespace imaging
