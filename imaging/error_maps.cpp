// imaging/error_maps.cpp — subset maps and the failure-mode map (imaging/error_maps.h).
#include "imaging/error_maps.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "imaging/zeta_stats.h"

namespace imaging {

namespace {
void check_members(const std::vector<double>& per_image, int n, const std::vector<size_t>& members) {
  const size_t N = n > 0 ? per_image.size() / size_t(n) : 0;
  for (size_t x : members)
    if (x >= N)
      throw base::Error("error maps: image " + std::to_string(x) + " of " + std::to_string(N) + " per-image estimates");
}

// Floats as JSON numbers with 6 significant digits (the maps are read by eye and by the page).
double round6(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, 5 - int(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

nlohmann::ordered_json numbers(const std::vector<double>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double x : v) a.push_back(round6(x));
  return a;
}

nlohmann::ordered_json group_json(const GroupEstimate& g, size_t images) {
  nlohmann::ordered_json j;
  j["images"] = images;
  j["phi"] = numbers(g.phi);
  // A group of one image has no spread to estimate: its bounds are null (README "analyze --errors").
  j["ci_low"] = g.spread_known ? numbers(g.intervals.ci_low) : nlohmann::ordered_json::array();
  j["ci_high"] = g.spread_known ? numbers(g.intervals.ci_high) : nlohmann::ordered_json::array();
  if (!g.spread_known)
    for (size_t r = 0; r < g.phi.size(); ++r) j["ci_low"].push_back(nullptr), j["ci_high"].push_back(nullptr);
  return j;
}
}  // namespace

std::vector<size_t> gallery_slots(const LesionEvaluation& verdicts, int classes, std::vector<std::string>* kinds) {
  std::vector<size_t> out;
  for (int c = 0; c < classes; ++c)
    for (const bool correct : {true, false}) {
      std::vector<size_t> pool;
      for (size_t x = 0; x < verdicts.labels.size(); ++x)
        if (verdicts.labels[x] == c && (verdicts.predicted[x] == c) == correct) pool.push_back(x);
      std::stable_sort(pool.begin(), pool.end(), [&](size_t a, size_t b) {
        return correct ? verdicts.probability_true[a] > verdicts.probability_true[b]
                       : verdicts.probability_true[a] < verdicts.probability_true[b];
      });
      for (size_t i = 0; i < pool.size() && i < size_t(kGalleryPerKind); ++i) {
        out.push_back(pool[i]);
        if (kinds) kinds->push_back(correct ? "confident" : "mistake");
      }
    }
  std::vector<bool> taken(verdicts.labels.size(), false);
  for (size_t x : out) taken[x] = true;
  for (int a = 0; a < classes; ++a)
    for (int b = 0; b < classes; ++b) {
      if (a == b) continue;
      std::vector<size_t> cell;
      for (size_t x = 0; x < verdicts.labels.size(); ++x)
        if (verdicts.labels[x] == a && verdicts.predicted[x] == b) cell.push_back(x);
      std::stable_sort(cell.begin(), cell.end(),
                       [&](size_t p, size_t q) { return verdicts.probability_true[p] < verdicts.probability_true[q]; });
      for (size_t i = 0; i < cell.size() && i < size_t(kCellExamples); ++i) {
        if (taken[cell[i]]) continue;
        out.push_back(cell[i]);
        if (kinds) kinds->push_back("cell");
      }
    }
  return out;
}

GroupEstimate subset_phi(const std::vector<double>& per_image, int n, const std::vector<size_t>& members) {
  check_members(per_image, n, members);
  return weighted_group_intervals(per_image, n, {members}, {1.0});
}

GroupEstimate subset_difference(const std::vector<double>& per_image, int n, const std::vector<size_t>& a,
                                const std::vector<size_t>& b) {
  check_members(per_image, n, a);
  check_members(per_image, n, b);
  return weighted_group_intervals(per_image, n, {a, b}, {1.0, -1.0});
}

nlohmann::ordered_json error_maps_json(const ShapleyEstimate& est, const run::RegionGrid& grid,
                                       const LesionEvaluation& verdicts, int classes) {
  const int n = grid.count();
  const size_t K = est.images;
  if (est.per_image.size() != K * size_t(n) || verdicts.labels.size() < K || verdicts.predicted.size() < K)
    throw base::Error("error maps: " + std::to_string(est.per_image.size()) + " per-image values for " +
                      std::to_string(K) + " images × " + std::to_string(n) + " regions");
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(classes)), cells(static_cast<size_t>(classes) * size_t(classes));
  std::vector<size_t> correct, wrong;
  for (size_t x = 0; x < K; ++x) {
    const int y = verdicts.labels[x], p = verdicts.predicted[x];
    by_class[size_t(y)].push_back(x);
    (y == p ? correct : wrong).push_back(x);
    if (y != p) cells[size_t(y) * size_t(classes) + size_t(p)].push_back(x);
  }
  nlohmann::ordered_json j;
  j["images"] = K;
  j["interval"] = "population";
  nlohmann::ordered_json per_class = nlohmann::ordered_json::array();
  for (int c = 0; c < classes; ++c) {
    if (by_class[size_t(c)].empty()) continue;
    nlohmann::ordered_json g = group_json(subset_phi(est.per_image, n, by_class[size_t(c)]), by_class[size_t(c)].size());
    per_class.push_back({{"class", c}});
    per_class.back().update(g);
  }
  j["per_class"] = std::move(per_class);
  // An empty group has no φ (README "analyze --errors"): null, like `delta` below.
  for (const auto& [key, members] : {std::pair<const char*, const std::vector<size_t>&>{"correct", correct},
                                     {"misclassified", wrong}})
    j[key] = members.empty() ? nlohmann::ordered_json()
                             : group_json(subset_phi(est.per_image, n, members), members.size());
  nlohmann::ordered_json delta;
  if (!correct.empty() && !wrong.empty()) {
    const GroupEstimate d = subset_difference(est.per_image, n, wrong, correct);
    const std::vector<double> adjusted = benjamini_hochberg(d.intervals.p_value);
    std::vector<int> failure;
    for (int g = 0; g < n; ++g)
      if (adjusted[size_t(g)] < 0.01) failure.push_back(g);
    std::stable_sort(failure.begin(), failure.end(),
                     [&](int a, int b) { return std::fabs(d.phi[size_t(a)]) > std::fabs(d.phi[size_t(b)]); });
    delta = group_json(d, K);
    delta["p_value"] = numbers(d.intervals.p_value);
    delta["p_adjusted"] = numbers(adjusted);
    nlohmann::ordered_json keys = nlohmann::ordered_json::array();
    for (int g : failure) keys.push_back(grid.key(g));
    delta["failure_regions"] = std::move(keys);
  }
  j["delta"] = std::move(delta);  // null when every image is correct, or none is
  nlohmann::ordered_json confusions = nlohmann::ordered_json::array();
  for (int a = 0; a < classes; ++a)
    for (int b = 0; b < classes; ++b) {
      const std::vector<size_t>& m = cells[size_t(a) * size_t(classes) + size_t(b)];
      if (m.empty()) continue;
      confusions.push_back({{"true", a}, {"predicted", b}});
      confusions.back().update(group_json(subset_phi(est.per_image, n, m), m.size()));
    }
  j["confusions"] = std::move(confusions);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (size_t x = 0; x < K; ++x)
    rows.push_back(numbers(std::vector<double>(est.per_image.begin() + long(x * size_t(n)),
                                               est.per_image.begin() + long((x + 1) * size_t(n)))));
  j["per_image"] = std::move(rows);
  return j;
}

}  // namespace imaging
