// imaging/zeta_scores.h — ζ-scores, robust scores, significance and critical regions of one block
// from its Shapley estimate (imaging/shapley.h):
//  - ζ_g = (φ_g − mean φ)/sd φ over the block's regions (sd with n−1; ζ = 0 when sd = 0), the
//    method's score, always written; the interval of ζ is φ's interval (of the kind `ci` chooses)
//    mapped by the same affine map.
//  - r_g, the robust score (imaging/critical.h: median and MAD of the block's φ).
//  - p-values of the interval `ci` chooses ("sample": permutation noise on the sampled images;
//    "population": also the image-to-image variation of φ_g(x); "population" falls back to
//    "sample" for an estimate without one: lesion, taylor), BH-adjusted over the block's regions;
//    significance = adjusted p < 0.01.
//  - critical: the regions kCriticalRule (imaging/critical.h) selects, the list zeta.json stores as
//    critical_regions and the report and summary use; critical_zeta: the method's rule, ζ ≥ 2 and
//    significant, stored beside it as critical_regions_zeta.  Both sorted by φ (descending, ties in
//    region order).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "imaging/critical.h"
#include "imaging/shapley.h"
#include "imaging/zeta_settings.h"
#include "imaging/zeta_stats.h"

namespace imaging {

// The one definition zeta.json, tests and benchmarks use.
struct ZetaScores {
  double mean = 0, sd = 0;
  std::string ci;                        // the interval used: "sample" or "population"
  std::vector<double> zeta, robust, p_value, p_adjusted;
  std::vector<double> ci_low, ci_high;   // φ's interval of that kind
  std::vector<uint8_t> significant;      // p_adjusted < 0.01
  std::vector<int> critical;             // kCriticalRule
  std::vector<int> critical_zeta;        // ζ ≥ 2 and significant
};
ZetaScores zeta_scores(const ShapleyEstimate& est, const std::string& ci = ZetaSettings().ci);

}  // namespace imaging
