// imaging/error_maps.h — error analysis from the ζ stage's own walk: φ_g over subsets of the evaluated
// images (each class, the correct and the misclassified ones, each confusion cell), their difference,
// and every image's own map (README, "Error analysis").
//
// Definitions.  The lesion game's value is a mean of per-image games, v(S) = (1/N) Σ_x v_x(S), and
// Shapley values are linear, so φ_g = (1/N) Σ_x φ_g(x).  The sampled estimator already keeps each
// image's estimate m_xg of φ_g(x) (its mean antithetic unit; exact: φ_g(x) itself,
// ShapleyEstimate::per_image).  For a subset G of the images:
//   φ_g(G) = (1/|G|) Σ_{x∈G} m_xg                       (no new walk: an average of units already there)
// with the interval of one group in imaging/critical.h (weighted_group_intervals, w = 1): variance
// S²_G/|G| over the subset's units (image-to-image variation plus permutation noise, the population
// interval), ν = |G| − 1.  The subsets:
//   class c          the images whose true label is c  (per-class map)
//   correct          argmax = label;  misclassified: argmax ≠ label (argmax = first maximum of the
//                    intact net's logits, nn::predicted_class)
//   confusion A→B    the images of true class A predicted B (A ≠ B)
// Failure-mode map: Δφ_g = φ_g(misclassified) − φ_g(correct), interval from the same code with the two
// groups and weights +1, −1 (Welch: V = S²_mis/n_mis + S²_cor/n_cor, Welch–Satterthwaite ν); p of the
// two-sided t-test of Δ against 0, Benjamini–Hochberg-adjusted over the block's regions.  The
// failure-mode regions are those with adjusted p < 0.01, sorted by |Δφ| (descending, ties in region
// order).  With the default value (log p(y|x)), a negative Δφ_g means region g supports the true class
// less on the mistakes than on the correct images (or pushes against it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/region_lesion.h"
#include "imaging/shapley.h"
#include "run/region_grid.h"

namespace imaging {

// The `errors` object of one block in zeta.json (schema: README, "Error analysis"): per_class,
// correct, misclassified, delta (with failure_regions), confusions, per_image.  est must carry
// per_image (exact or shapley); it covers the first est.images of `verdicts`, the intact net on the
// evaluated images in eval_indices order (evaluate_lesioned without a lesion).
nlohmann::ordered_json error_maps_json(const ShapleyEstimate& est, const run::RegionGrid& grid,
                                       const LesionEvaluation& verdicts, int classes);

// The gallery: per class, the kGalleryPerKind most confident correct images (probability of the true
// class descending) and the kGalleryPerKind worst mistakes (misclassified, probability of the true class
// ascending), ties by sample position; then, for the report's confusion view, the examples of every
// confusion cell A→B: its kCellExamples worst mistakes (true A, predicted B ≠ A, probability of the true
// class ascending, ties by sample position) that are not in the gallery already.  A class's mistakes are
// its worst, so they are among the worst of their own cell: the images of one cell in the list are
// exactly that cell's min(kCellExamples, count) worst.  Returns sample positions (into verdicts), class
// by class, confident first, then the cells row by row.  `kinds` (optional) gets "confident", "mistake"
// or "cell" for each.
constexpr int kGalleryPerKind = 2;
constexpr int kCellExamples = 4;
std::vector<size_t> gallery_slots(const LesionEvaluation& verdicts, int classes, std::vector<std::string>* kinds = nullptr);

// φ_g(G) of one subset as above; out-of-range members throw base::Error.
GroupEstimate subset_phi(const std::vector<double>& per_image, int n, const std::vector<size_t>& members);
// Δφ_g = φ_g(a) − φ_g(b) as above.
GroupEstimate subset_difference(const std::vector<double>& per_image, int n, const std::vector<size_t>& a,
                                const std::vector<size_t>& b);

}  // namespace imaging
