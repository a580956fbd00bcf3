// imaging/critical.h — which regions of a layer are critical, and intervals of φ that include the
// image-to-image variation.
//
// Population interval (nn-fmri-method.md says nothing about it; this is ours).
//   The sampled Shapley estimate is φ̂_g = (1/N) Σ_x m_xg, m_xg the mean of image x's units
//   (imaging/shapley.h); for `exact`, m_xg = φ_g(x).  The sample interval of shapley.h covers the permutation
//   noise only: it is an interval for (1/N) Σ_x φ_g(x) over the N sampled images.  The population
//   interval is an interval for the mean of φ_g(x) over the images the sample was drawn from (the
//   evaluation pool).  The sample is stratified by class (lesion_game.h's stratified_sample), so with n_c
//   images of class c, ȳ_c and S²_c the mean and variance (n_c − 1) of m_xg over them:
//     φ̂_g = Σ_c (n_c/N) ȳ_c,   V_g = Σ_c a_c,  a_c = (n_c/N)² S²_c/n_c,
//     ν_g = V_g² / Σ_c a_c²/(n_c − 1)  (Welch–Satterthwaite),
//     95% interval φ̂_g ± t_{0.975,ν}·√V_g;  p from the two-sided t-test of φ̂_g against 0 with ν.
//   S²_c of the units m_xg holds Var_x(φ_g(x)) plus each image's permutation noise, so the
//   interval includes both.  A class with fewer than 2 sampled images has no S²_c: then all
//   images form one stratum (V = S²/N, ν = N − 1).  V = 0 (every unit equal) gives the interval
//   [φ̂, φ̂] and p = 0 if φ̂ ≠ 0, else 1, as for the deterministic scores.
//
// Critical regions.  ζ_g = (φ_g − mean φ)/sd φ (zeta_scores.h) is capped by the share of regions that
// matter: k equally important regions among n, the rest at 0, reach ζ = √((n−k)(n−1)/(k·n)) at most
// (sd with n − 1; 2.31 for 10 of 64, 1.47 for 20 of 64), so "ζ ≥ 2" misses important regions whenever more than a
// fifth of the layer matters.  The rules compared here (README, "Critical regions"):
//  - `zeta`:    ζ_g ≥ 2 and significant (the method's rule, kept for comparison).
//  - `robust`:  the robust score r_g = (φ_g − median φ)/(1.4826·MAD), MAD = median |φ_g − median φ|
//               (the modified z-score of Iglewicz & Hoaglin 1993; 1.4826·MAD estimates the sd of a
//               normal bulk).  Critical: r_g ≥ 3.5 (their outlier cut) and significant.  While
//               fewer than half the regions matter, median and MAD come from the unimportant bulk,
//               so an important region's score does not fall as more regions matter.  If MAD = 0
//               (more than half the regions have the same φ, e.g. dead regions at exactly 0), the
//               scale is 1.2533·mean |φ_g − median φ| (the mean absolute deviation, scaled to
//               estimate a normal sd); if that is 0 too, every r_g is 0.
//  - `null`:    the bulk as the layer's null: q_g = 1 − Φ(r_g) (one-sided normal tail of the robust
//               score), Benjamini–Hochberg-adjusted over the layer's regions; critical: adjusted
//               q < 0.01 and significant.  The cut adapts to n and to how many regions stand out.
//  - `mixture`: a two-component normal mixture on φ by EM, started from the split of the sorted φ
//               that maximises the between-group variance (Otsu), variances floored at 10⁻⁶ of
//               φ's variance (a component on a few equal values would otherwise have infinite
//               likelihood); kept when its BIC is below the one-normal BIC (5 vs 2 parameters);
//               critical: posterior of the upper component > ½, φ_g above the lower component's
//               mean, and significant.  Fewer than 4 regions, or φ all equal: no mixture, none critical.
// "significant" is the adjusted p < 0.01 of whichever interval --zeta-ci chooses (zeta_scores.h).
// Every rule returns the critical regions sorted by φ (descending, ties in region order).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace imaging {

// Intervals and p-values of φ, one entry per region.
struct PhiIntervals {
  std::vector<double> ci_low, ci_high, p_value;
};

// The population interval above.  per_image (N, n) row-major: image x's unit mean m_xg (or exact
// φ_g(x)); strata (N): each image's class; phi (n): φ̂_g = the mean of per_image over x.  Fewer than
// 2 images: empty (no image-to-image spread; --zeta-ci population then falls back to the sample one).
PhiIntervals population_intervals(const std::vector<double>& per_image, size_t N, int n,
                                  const std::vector<uint8_t>& strata);

// A weighted combination of group means, Σ_c w_c ȳ_cg (ȳ_cg the mean of per_image[x, g] over the images
// x of group c), with variance V_g = Σ_c w_c² S²_cg/n_c and Welch–Satterthwaite ν = V²/Σ_c (w_c² S²_cg/n_c)²/(n_c − 1);
// interval ± t_{0.975,ν}·√V, p of the two-sided t-test against 0 (V = 0: a point, p = 0 if the value
// is not 0, else 1).  A group of one image with a non-zero weight has no spread to estimate, so neither
// has the combination: spread_known = false, every interval (−∞, ∞) and p = 1.  The population
// interval is this with the classes as groups and w_c = n_c/N (classes of one image pooled first); a
// subset's map (one group, w = 1) and a difference of two subsets (w = +1, −1) are the error
// analysis's (imaging/error_maps.h).
struct GroupEstimate {
  std::vector<double> phi;  // per region
  PhiIntervals intervals;
  bool spread_known = true;
};
GroupEstimate weighted_group_intervals(const std::vector<double>& per_image, int n,
                                       const std::vector<std::vector<size_t>>& groups,
                                       const std::vector<double>& weights);

// The names --zeta-ci accepts: "sample", "population".  Throws base::Error naming the flag otherwise.
void validate_ci_kind(const std::string& kind);

// r_g as defined above (median and scale returned through the pointers when not null).
std::vector<double> robust_scores(const std::vector<double>& phi, double* median = nullptr, double* scale = nullptr);

// The candidate rules, by name: "zeta", "robust", "null", "mixture".  zeta: the layer's ζ
// (zeta_scores.h); significant: per region, the adjusted p < 0.01 of the chosen interval.
std::vector<int> critical_regions(const std::string& rule, const std::vector<double>& phi,
                                  const std::vector<double>& zeta, const std::vector<uint8_t>& significant);
const std::vector<std::string>& critical_rule_names();
// The rule whose result zeta.json stores as critical_regions (and the report and summary use).
extern const char* const kCriticalRule;

}  // namespace imaging
