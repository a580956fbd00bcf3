// report/report_summary.h — the numbers a paper cites: summary.json per analysed epoch and per
// run, the terminal summary, and the derived measures they rest on.
//
// Definitions (deterministic; README "The report" repeats them):
//  - role of a region, from its layer's relative depth: the run's L imaged layers are numbered
//    l = 0 … L−1 in network order, band = ⌊3l / L⌋ → 0 "feature_extraction", 1 "pattern_recognition",
//    2 "decision".  (Reference net, L = 8: conv1 pool1 conv2 | pool2 conv3 pool3 | fc1 output.)
//  - selectivity of a region = clamp((information_bits − information_null_bits) / log2 K, 0, 1):
//    the share of the label entropy H(Y) = log2 K (K classes, balanced evaluation set) that the
//    region's φ carries beyond the shuffled-label bias floor.  Reported beside the role.
//  - strength of a layer pair l → l+1 = connection_strength / (H·W·C of layer l+1): the mean
//    absolute input drive Σ_i |W_ij|·ReLU(a_i)·σ'(z_j) one unit of the receiving layer gets from
//    the layer before.  C sums over every receiving unit, so raw C grows with the receiving layer
//    (8192 units in pool1, 10 in output); the per-unit mean is comparable between pairs and, unlike
//    a mean per connected region pair, does not change with --grid.  Without the receiving layer's
//    shape (no grid.json anywhere) it is omitted and pairs are ranked by connection_strength.
//  - ζ stability of a layer between consecutive analysed epochs with ζ (e → e') = Spearman's rank
//    correlation of ζ over the layer's regions (ties get average ranks; Pearson correlation of the
//    ranks).  Undefined — and left out — when either epoch lacks the layer's ζ, the grids differ,
//    there are fewer than 3 regions, or one side's ζ are all equal.  `mean` averages the layers.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report_data.h"

namespace report {

constexpr int kTopRegions = 10;  // top_regions listed per summary
constexpr int kTopChains = 3;    // critical_chains listed per summary

std::string region_role(int layer_index, int layer_count);
// std::nullopt when class_count < 2 (H(Y) unknown or 0).
std::optional<double> region_selectivity(const run::GridRegionStats& region, int class_count);
std::optional<double> spearman_rank_correlation(const std::vector<double>& a, const std::vector<double>& b);
// std::nullopt when the receiving layer's shape is unknown.
std::optional<double> pair_strength(const PairTract& pair, const EpochData& epoch);

struct StabilityStep {
  int from_epoch = 0, to_epoch = 0;
  std::vector<std::optional<double>> layers;  // (RunData::layers.size())
  std::optional<double> mean;
};
std::vector<StabilityStep> zeta_stability(const RunData& run);

// v rounded to `digits` significant digits (the report's precision for embedded numbers).
double significant(double v, int digits = 4);

// analysis/epoch_N/summary.json of run.epochs[e].
nlohmann::ordered_json epoch_summary(const RunData& run, size_t e, const std::vector<StabilityStep>& stability);
// RUN_DIR/summary.json: the last analysed epoch's summary plus run-level facts (final and best
// metrics, analysed epochs, ζ stability, notes, figures, report page).
nlohmann::ordered_json run_summary(const RunData& run, const std::vector<StabilityStep>& stability,
                                   const std::vector<std::string>& figures, const std::string& report_page);
// A few lines for the terminal, from run_summary's JSON, printing its numbers as they are (%.4g: they
// are rounded to 4 significant digits already; rounding them again to 3 rounded some twice).
std::string summary_text(const RunData& run, const nlohmann::ordered_json& summary);

}  // namespace report
