// tests/imaging/test_critical.cpp — the critical-region rules and the population interval of
// imaging/critical.h on synthetic inputs whose answer is known: k important regions among n (the
// rule's recall must not depend on k), and a game whose per-image values come from a known
// population (the interval must cover the population mean 95% of the time).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "imaging/critical.h"
#include "imaging/zeta_scores.h"
#include "imaging/zeta_stats.h"
#include "nn/rng.h"
#include "tests/error_of.h"

namespace {

// φ of n regions: k important ones (spread over the index range) at strength·(1 ± 40%), the rest
// background N(0, noise); returns the important set through `truth`.
std::vector<double> synthetic_phi(int n, int k, double noise, uint64_t seed, std::set<int>& truth) {
  nn::Rng rng(seed);
  std::vector<int> order(n);
  for (int g = 0; g < n; ++g) order[g] = g;
  rng.shuffle(order.data(), size_t(n));
  truth = std::set<int>(order.begin(), order.begin() + k);
  std::vector<double> phi(n);
  for (int g = 0; g < n; ++g) phi[g] = truth.count(g) ? 1.0 + 0.4 * (2 * rng.uniform() - 1) : noise * rng.normal();
  return phi;
}

std::vector<double> standard_scores(const std::vector<double>& phi) {
  double mean = 0, var = 0;
  for (double p : phi) mean += p;
  mean /= phi.size();
  for (double p : phi) var += (p - mean) * (p - mean);
  const double sd = std::sqrt(var / (phi.size() - 1));
  std::vector<double> z;
  for (double p : phi) z.push_back((p - mean) / sd);
  return z;
}

struct Hits {
  double recall;
  int false_positives;
};
Hits score(const std::vector<int>& critical, const std::set<int>& truth) {
  int hits = 0;
  for (int g : critical) hits += int(truth.count(g));
  return {truth.empty() ? 1.0 : double(hits) / truth.size(), int(critical.size()) - hits};
}

// The robust and null rules find k important regions among n whatever k is (up to 40% of the
// layer); the normal background gives at most one false positive per layer (the robust cut 3.5
// passes a normal value with probability 2.3e-4); the standard score's cut of 2 loses them as k
// grows (its cap √((n−k)/k)).
TEST(Critical, RobustRuleRecallDoesNotDependOnHowManyRegionsMatter) {
  for (int n : {64, 256})
    for (int k : {1, 5, 10, 20, n / 4, int(0.4 * n)})
      for (uint64_t seed : {1, 2, 3}) {
        std::set<int> truth;
        const std::vector<double> phi = synthetic_phi(n, k, 0.02, seed, truth);
        const std::vector<double> zeta = standard_scores(phi);
        const std::vector<uint8_t> significant(size_t(n), 1);
        const Hits robust = score(imaging::critical_regions("robust", phi, zeta, significant), truth);
        const Hits null = score(imaging::critical_regions("null", phi, zeta, significant), truth);
        const Hits old = score(imaging::critical_regions("zeta", phi, zeta, significant), truth);
        EXPECT_EQ(robust.recall, 1.0) << "n " << n << " k " << k << " seed " << seed;
        EXPECT_LE(robust.false_positives, 1) << "n " << n << " k " << k << " seed " << seed;
        EXPECT_EQ(null.recall, 1.0) << "n " << n << " k " << k << " seed " << seed;
        EXPECT_LE(null.false_positives, 1) << "n " << n << " k " << k << " seed " << seed;
        // The standard score is capped at √((n−k)/k) for equal regions: below 2 once k > n/5.
        if (k > n / 4) {
          EXPECT_LT(old.recall, 0.5) << "n " << n << " k " << k;
        }
      }
}

// Nothing stands out: the null rule (BH over the bulk) flags nothing; the robust cut at most one
// region of 256 (expected 256 · 2.3e-4 = 0.06).
TEST(Critical, PureNoiseHasNoCriticalRegion) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    std::set<int> truth;
    const std::vector<double> phi = synthetic_phi(256, 0, 0.05, seed, truth);
    const std::vector<uint8_t> significant(phi.size(), 1);
    EXPECT_LE(imaging::critical_regions("robust", phi, standard_scores(phi), significant).size(), 1u) << seed;
    EXPECT_TRUE(imaging::critical_regions("null", phi, standard_scores(phi), significant).empty()) << seed;
  }
}

// The rules only ever pick significant regions, sorted by φ; MAD = 0 falls back to the mean
// absolute deviation; all-equal φ has no critical region; bad input names what is wrong.
TEST(Critical, SignificanceOrderDegenerateScalesAndErrors) {
  std::vector<double> phi(20, 0.0);
  phi[3] = 3, phi[7] = 5, phi[11] = 3;
  std::vector<uint8_t> significant(20, 1);
  significant[11] = 0;
  double median = -1, scale = -1;
  const std::vector<double> r = imaging::robust_scores(phi, &median, &scale);
  EXPECT_EQ(median, 0.0);
  EXPECT_NEAR(scale, 1.2533 * 11.0 / 20.0, 1e-12);  // MAD = 0: 1.2533 · mean |φ − median|
  EXPECT_NEAR(r[7], 5 / scale, 1e-12);
  for (const std::string& rule : imaging::critical_rule_names()) {
    const std::vector<int> c = imaging::critical_regions(rule, phi, standard_scores(phi), significant);
    EXPECT_EQ(std::count(c.begin(), c.end(), 11), 0) << rule;
    EXPECT_TRUE(std::is_sorted(c.begin(), c.end(), [&](int a, int b) { return phi[a] > phi[b]; })) << rule;
  }
  EXPECT_EQ(imaging::critical_regions("robust", phi, standard_scores(phi), significant), (std::vector<int>{7, 3}));
  const std::vector<double> flat(10, 0.5);
  for (const std::string& rule : imaging::critical_rule_names())
    EXPECT_TRUE(imaging::critical_regions(rule, flat, std::vector<double>(10, 0.0), std::vector<uint8_t>(10, 1)).empty())
        << rule;
  expect_error_naming([&] { imaging::critical_regions("elbow", phi, phi, significant); }, "unknown rule 'elbow'");
  expect_error_naming([&] { imaging::critical_regions("robust", phi, {1.0}, significant); }, "1 ζ");
  expect_error_naming([] { imaging::validate_ci_kind("both"); }, "--zeta-ci 'both'");
}

// r_g = (φ_g − median φ)/(1.4826·MAD) with the median of an even count the mean of its middle two: φ =
// {10, 1, 3, 2} has median 2.5, deviations {7.5, 1.5, 0.5, 0.5} and MAD 1.0.
TEST(Critical, RobustScoreTakesTheMiddleTwoOfAnEvenCount) {
  double median = -1, scale = -1;
  const std::vector<double> r = imaging::robust_scores({10, 1, 3, 2}, &median, &scale);
  EXPECT_EQ(median, 2.5);
  EXPECT_NEAR(scale, 1.4826, 1e-15);
  EXPECT_NEAR(r[0], 7.5 / 1.4826, 1e-12);
  EXPECT_NEAR(r[3], -0.5 / 1.4826, 1e-12);
}

// The null rule's q_g = 1 − Φ(r_g) is one-sided (README "Critical regions"): 19 regions at ±1 (median 0,
// MAD 1) and one at r = 3.4, whose q = 3.37·10⁻⁴ adjusts to 20·q = 0.0067 < 0.01 — critical, though
// under robust's cut 3.5; a two-sided 2(1 − Φ(|r|)) would adjust to 0.013 and miss it.
TEST(Critical, NullRuleTakesTheUpperTailOnly) {
  std::vector<double> phi;
  for (int g = 0; g < 19; ++g) phi.push_back(g < 10 ? -1.0 : 1.0);
  phi.push_back(3.4 * 1.4826);
  const std::vector<uint8_t> significant(phi.size(), 1);
  EXPECT_EQ(imaging::critical_regions("null", phi, standard_scores(phi), significant), (std::vector<int>{19}));
  EXPECT_TRUE(imaging::critical_regions("robust", phi, standard_scores(phi), significant).empty());
}

// A synthetic game with known per-image values.  The population: 10 classes; region g's value
// on an image of class c is μ_gc + N(0, 0.3), μ_gc = 1 for g's own class (g mod 10) and 0.1
// otherwise, so the population mean of region g is 0.19.  Each sample takes 8 images per class;
// each image's unit mean adds permutation noise N(0, 0.2²/R).  The population interval must
// cover 0.19 in ~95% of samples (≥ 93%); the sample interval (permutation noise only, as
// zeta.h's) covers the sampled images' mean but not the population's.
TEST(Critical, PopulationIntervalCoversThePopulationMean) {
  const int n = 10, classes = 10, per_class = 8, R = 4;
  const size_t N = size_t(classes) * per_class;
  const double truth = 0.19, image_sd = 0.3, unit_sd = 0.2;
  nn::Rng rng(42);
  int covered = 0, sample_covered_population = 0, total = 0;
  std::vector<uint8_t> strata(N);
  for (size_t x = 0; x < N; ++x) strata[x] = uint8_t(x % classes);
  for (int repetition = 0; repetition < 400; ++repetition) {
    std::vector<double> per_image(N * n);
    std::vector<double> sample_var(n, 0.0);
    for (size_t x = 0; x < N; ++x)
      for (int g = 0; g < n; ++g) {
        const double value = (g % classes == strata[x] ? 1.0 : 0.1) + image_sd * rng.normal();
        per_image[x * n + g] = value + unit_sd / std::sqrt(double(R)) * rng.normal();
        sample_var[g] += unit_sd * unit_sd / R / double(N) / double(N);  // zeta.h's V̂ with known s²
      }
    const imaging::PhiIntervals pop = imaging::population_intervals(per_image, N, n, strata);
    for (int g = 0; g < n; ++g, ++total) {
      double phi = 0;
      for (size_t x = 0; x < N; ++x) phi += per_image[x * n + g];
      phi /= double(N);
      EXPECT_NEAR(0.5 * (pop.ci_low[g] + pop.ci_high[g]), phi, 1e-12);
      covered += pop.ci_low[g] <= truth && truth <= pop.ci_high[g];
      const double half = 1.96 * std::sqrt(sample_var[g]);
      sample_covered_population += phi - half <= truth && truth <= phi + half;
    }
  }
  const double coverage = double(covered) / total, sample_coverage = double(sample_covered_population) / total;
  std::printf("population interval: covers the population mean in %.3f of %d; sample interval: %.3f\n", coverage,
              total, sample_coverage);
  EXPECT_GE(coverage, 0.93);
  EXPECT_LE(coverage, 0.975);
  EXPECT_LT(sample_coverage, 0.8);
}

// Degenerate inputs: equal values give a point interval (p = 0 unless 0); a class with a single
// image falls back to one stratum; sizes are checked.
TEST(Critical, PopulationIntervalDegenerateCases) {
  const std::vector<uint8_t> strata = {0, 0, 1, 1};
  const imaging::PhiIntervals flat = imaging::population_intervals({2, 0, 2, 0, 2, 0, 2, 0}, 4, 2, strata);
  EXPECT_EQ(flat.ci_low, (std::vector<double>{2, 0}));
  EXPECT_EQ(flat.ci_high, (std::vector<double>{2, 0}));
  EXPECT_EQ(flat.p_value, (std::vector<double>{0, 1}));
  // One image in class 2: one stratum of all 5, V = S²/N with ν = 4.
  const std::vector<double> values = {1, 2, 3, 4, 5};
  const imaging::PhiIntervals one = imaging::population_intervals(values, 5, 1, {0, 0, 1, 1, 2});
  const double half = imaging::student_t_quantile(0.975, 4) * std::sqrt(2.5 / 5);
  EXPECT_NEAR(one.ci_low[0], 3 - half, 1e-9);
  EXPECT_NEAR(one.ci_high[0], 3 + half, 1e-9);
  expect_error_naming([&] { imaging::population_intervals(values, 5, 2, {0, 0, 1, 1, 2}); }, "5 per-image values");
}

// --zeta-ci picks the interval behind p_value, significance and ζ's interval; an estimate without a
// population interval (lesion, taylor) falls back to the sample one and says so.
TEST(Critical, CiChoosesTheIntervalBehindSignificance) {
  imaging::ShapleyEstimate e = imaging::deterministic_estimate({1.0, 0.0, 0.5, 0.2});
  e.population = {{0.5, -1, 0.1, -0.1}, {1.5, 1, 0.9, 0.5}, {1e-9, 1, 0.004, 0.5}};
  const imaging::ZetaScores sample = imaging::zeta_scores(e, "sample");
  EXPECT_EQ(sample.ci, "sample");
  EXPECT_EQ(sample.p_value, (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(sample.significant, (std::vector<uint8_t>{1, 0, 1, 1}));
  EXPECT_EQ(sample.ci_low, e.phi);
  const imaging::ZetaScores population = imaging::zeta_scores(e, "population");
  EXPECT_EQ(population.ci, "population");
  EXPECT_EQ(population.p_value, e.population.p_value);
  EXPECT_EQ(population.ci_low, e.population.ci_low);
  EXPECT_EQ(population.ci_high, e.population.ci_high);
  // BH over {1e-9, 1, 0.004, 0.5}: 4e-9, 1, 0.008, 0.667
  EXPECT_EQ(population.significant, (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(population.zeta, sample.zeta);
  EXPECT_EQ(population.robust, sample.robust);
  const imaging::ZetaScores fallback = imaging::zeta_scores(imaging::deterministic_estimate({1.0, 0.0}), "population");
  EXPECT_EQ(fallback.ci, "sample");
  expect_error_naming([&] { imaging::zeta_scores(e, "both"); }, "--zeta-ci 'both'");
}

// significance = Benjamini–Hochberg-adjusted p < 0.01 across the layer (README "ζ-scores"): raw p of
// 0.004 and 0.006 among 4 regions adjust to 0.012 each, so neither region is significant.
TEST(Critical, SignificanceIsTheAdjustedPBelowOnePercent) {
  imaging::ShapleyEstimate e = imaging::deterministic_estimate({1.0, 0.0, 0.5, 0.2});
  e.population = {{0.5, -1, 0.1, -0.1}, {1.5, 1, 0.9, 0.5}, {0.006, 1, 0.004, 0.5}};
  const imaging::ZetaScores z = imaging::zeta_scores(e, "population");
  EXPECT_NEAR(z.p_adjusted[0], 0.012, 1e-15);
  EXPECT_NEAR(z.p_adjusted[2], 0.012, 1e-15);
  EXPECT_EQ(z.significant, (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_TRUE(z.critical.empty());
}

// One image has no image-to-image spread: no population interval (ζ's significance falls back to the
// sample interval), and a subset or a difference that rests on a group of one image has no interval
// (p = 1) rather than a point that would make every non-zero φ significant.
TEST(Critical, OneImageGivesNoPopulationOrGroupInterval) {
  const imaging::PhiIntervals none = imaging::population_intervals({0.4, -0.2}, 1, 2, {3});
  EXPECT_TRUE(none.p_value.empty() && none.ci_low.empty() && none.ci_high.empty());
  imaging::ShapleyEstimate e = imaging::deterministic_estimate({0.4, -0.2});
  e.population = none;
  EXPECT_EQ(imaging::zeta_scores(e, "population").ci, "sample");

  const std::vector<double> per_image = {0.5, 0.1, 0.7, 0.2, 0.6, 0.3};  // 3 images × 2 regions
  const imaging::GroupEstimate one = imaging::weighted_group_intervals(per_image, 2, {{1}}, {1.0});
  EXPECT_FALSE(one.spread_known);
  EXPECT_EQ(one.phi, (std::vector<double>{0.7, 0.2}));
  EXPECT_EQ(one.intervals.p_value, (std::vector<double>{1.0, 1.0}));
  EXPECT_TRUE(std::isinf(one.intervals.ci_low[0]) && std::isinf(one.intervals.ci_high[0]));
  const imaging::GroupEstimate difference = imaging::weighted_group_intervals(per_image, 2, {{1}, {0, 2}}, {1.0, -1.0});
  EXPECT_FALSE(difference.spread_known);
  EXPECT_NEAR(difference.phi[0], 0.7 - 0.55, 1e-12);
  EXPECT_EQ(difference.intervals.p_value, (std::vector<double>{1.0, 1.0}));
  const imaging::GroupEstimate two = imaging::weighted_group_intervals(per_image, 2, {{0, 2}}, {1.0});
  EXPECT_TRUE(two.spread_known);
  EXPECT_LT(two.intervals.p_value[0], 1.0);
  EXPECT_TRUE(std::isfinite(two.intervals.ci_low[0]) && std::isfinite(two.intervals.ci_high[0]));
  // A group of one image with weight 0 (it does not enter the value) does not matter.
  EXPECT_TRUE(imaging::weighted_group_intervals(per_image, 2, {{0, 2}, {1}}, {1.0, 0.0}).spread_known);
}

// ζ's sd is over n − 1 (README "Critical regions"): one region standing out among n reaches
// (n − 1)/√n, Samuelson's bound, and no set of values exceeds it: 1.5 for 4 regions, 1.79 for 5, so a
// layer of at most 5 regions never has ζ ≥ 2; k equal regions among n reach √((n−k)(n−1)/(k·n)).
TEST(Critical, ZetaReachesSamuelsonsBoundAndNoMore) {
  for (int n : {2, 4, 5, 6, 64}) {
    std::vector<double> phi(size_t(n), 0.0);
    phi[1] = 0.3;
    const imaging::ZetaScores one = imaging::zeta_scores(imaging::deterministic_estimate(phi), "sample");
    EXPECT_NEAR(one.zeta[1], (n - 1) / std::sqrt(double(n)), 1e-12) << n;
    std::mt19937 gen{static_cast<unsigned>(n)};
    std::normal_distribution<double> normal;
    for (int trial = 0; trial < 200; ++trial) {
      for (double& p : phi) p = normal(gen) * normal(gen);
      for (double z : imaging::zeta_scores(imaging::deterministic_estimate(phi), "sample").zeta)
        ASSERT_LE(std::abs(z), (n - 1) / std::sqrt(double(n)) + 1e-12) << n;
    }
  }
  std::vector<double> ten(64, 0.0);
  for (int g = 0; g < 10; ++g) ten[size_t(g)] = 1.0;
  EXPECT_NEAR(imaging::zeta_scores(imaging::deterministic_estimate(ten), "sample").zeta[0], std::sqrt(54.0 * 63 / (10 * 64)), 1e-12);
}

// Every list is sorted by φ descending, ties in region order (README "Critical regions"): 40 regions
// tied at the top among 200 come out in ascending region index, after the one region above them.
TEST(Critical, TiedRegionsComeInRegionOrder) {
  std::vector<double> phi(200, 0.0);
  std::vector<int> expected = {77};
  for (int g = 199; g >= 0; g -= 5) phi[size_t(g)] = 5;
  phi[77] = 9;
  for (int g = 4; g < 200; g += 5) expected.push_back(g);
  const std::vector<uint8_t> significant(200, 1);
  EXPECT_EQ(imaging::critical_regions("robust", phi, standard_scores(phi), significant), expected);
  EXPECT_EQ(imaging::critical_regions("zeta", phi, standard_scores(phi), significant), (std::vector<int>{77}));
}

// The mixture rule fits nothing on fewer than 4 regions (README "Critical regions"), however far one stands out.
TEST(Critical, MixtureNeedsFourRegions) {
  const std::vector<double> three = {0.0, 0.01, 50.0}, four = {0.0, 0.01, 0.02, 50.0};
  EXPECT_TRUE(imaging::critical_regions("mixture", three, standard_scores(three), std::vector<uint8_t>(3, 1)).empty());
  EXPECT_EQ(imaging::critical_regions("mixture", four, standard_scores(four), std::vector<uint8_t>(4, 1)), (std::vector<int>{3}));
}

// EM starts from Otsu's split, the one with the largest between-group variance w0·w1·(m0 − m1)²: here
// {1, 1, 1, 2.5, 2.5} | {5.5, 8.5, 8.5, 9, 10}, and 5.5 stays in the upper component.  Started from the split
// with the largest (m0 − m1)² alone ({1, 1, 1, 2.5, 2.5, 5.5} | {8.5, …}: the weights left out) the same EM
// ends with 5.5 in the lower one.  (The list is this implementation's result on these values, not worked
// by hand; what it pins is the starting split.)
TEST(Critical, MixtureStartsFromOtsusSplit) {
  const std::vector<double> phi = {1, 8.5, 10, 8.5, 1, 5.5, 1, 2.5, 2.5, 9};
  EXPECT_EQ(imaging::critical_regions("mixture", phi, standard_scores(phi), std::vector<uint8_t>(10, 1)),
            (std::vector<int>{2, 9, 1, 3, 5}));
}

}  // namespace
