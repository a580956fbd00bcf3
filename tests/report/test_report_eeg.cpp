// tests/report/test_report_eeg.cpp — the statistics behind NN-EEG's cross-modal consistency
// (report/report_eeg.h) on hand cases: Cohen's κ, F1, Spearman per group, the bootstrap interval
// and the shuffled-label null (deterministic; the null breaks a planted association), the clipping
// of negative terms in Consistency.  The whole path on a run directory is in test_report.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "base/rng.h"
#include "report/report_eeg.h"

namespace {

using report::ConsistencyTerm;
using report::PairedItems;

TEST(ReportEeg, CohenKappaKnownAnswers) {
  // p_o = 3/4; p_a = (1/2, 1/2), p_b = (1/4, 3/4): p_e = 1/2, κ = (3/4 − 1/2) / (1/2) = 1/2
  EXPECT_NEAR(*report::cohen_kappa({0, 0, 1, 1}, {0, 1, 1, 1}), 0.5, 1e-12);
  EXPECT_NEAR(*report::cohen_kappa({0, 1, 2, 0}, {0, 1, 2, 0}), 1.0, 1e-12);
  // complete disagreement on two balanced categories: p_o = 0, p_e = 1/2, κ = −1
  EXPECT_NEAR(*report::cohen_kappa({0, 1, 0, 1}, {1, 0, 1, 0}), -1.0, 1e-12);
  // both raters constant on the same category: p_e = 1, κ undefined
  EXPECT_FALSE(report::cohen_kappa({2, 2, 2}, {2, 2, 2}));
  EXPECT_FALSE(report::cohen_kappa({}, {}));
  EXPECT_FALSE(report::cohen_kappa({0, 1}, {0}));
}

TEST(ReportEeg, F1KnownAnswers) {
  // TP 2, FP 1, FN 1: F1 = 4 / 6
  EXPECT_NEAR(*report::f1_score({1, 1, 0, 0, 1}, {1, 0, 1, 0, 1}), 4.0 / 6, 1e-12);
  EXPECT_NEAR(*report::f1_score({0, 1, 0}, {1, 0, 0}), 0.0, 1e-12);
  EXPECT_FALSE(report::f1_score({0, 0, 0}, {0, 0, 0}));  // no positive on either side
}

TEST(ReportEeg, SpearmanIsAveragedOverGroups) {
  // group 0 rises together (ρ = 1), group 1 against (ρ = −1), group 7 has too few items
  const PairedItems items{{1, 2, 3, 4, 1, 2, 3, 10, 11}, {5, 6, 7, 9, 4, 3, 2, 1, 0}, {0, 0, 0, 0, 1, 1, 1, 7, 7}};
  EXPECT_NEAR(*report::mean_spearman_per_group(items), 0.0, 1e-12);
  const PairedItems one{{1, 2, 3, 4}, {5, 6, 7, 9}, {3, 3, 3, 3}};
  EXPECT_NEAR(*report::mean_spearman_per_group(one), 1.0, 1e-12);
  EXPECT_FALSE(report::mean_spearman_per_group(PairedItems{{1, 2}, {1, 2}, {0, 0}}));
}

// n items per group in `groups` groups; y = x + noise·N(0,1), x ~ N(0,1) from a fixed stream.
PairedItems planted(int groups, int n, double noise, uint64_t seed) {
  base::Rng rng(seed);
  PairedItems p;
  for (int g = 0; g < groups; ++g)
    for (int i = 0; i < n; ++i) {
      const double x = rng.normal();
      p.x.push_back(x);
      p.y.push_back(x + noise * rng.normal());
      p.group.push_back(g);
    }
  return p;
}

TEST(ReportEeg, BootstrapIsDeterministicAndTheNullBreaksAPlantedAssociation) {
  const PairedItems strong = planted(3, 40, 0.2, 7);
  const ConsistencyTerm a = report::estimate_term(strong, report::mean_spearman_per_group, true, 1, 5);
  const ConsistencyTerm b = report::estimate_term(strong, report::mean_spearman_per_group, true, 1, 5);
  ASSERT_TRUE(a.value && a.ci && a.null_median && a.null_range);
  EXPECT_EQ(a.replicates, b.replicates);  // same items, term and epoch: the same resamples
  EXPECT_EQ(a.null_replicates, b.null_replicates);
  EXPECT_EQ(a.replicates.size(), size_t(report::kBootstrap));
  EXPECT_EQ(a.null_replicates.size(), size_t(report::kShuffles));
  // another epoch draws other resamples
  const ConsistencyTerm c = report::estimate_term(strong, report::mean_spearman_per_group, true, 1, 6);
  EXPECT_NE(a.replicates, c.replicates);
  EXPECT_GT(*a.value, 0.9);
  EXPECT_LE((*a.ci)[0], *a.value);
  EXPECT_GE((*a.ci)[1], *a.value);
  EXPECT_GT((*a.ci)[0], 0.85);
  // shuffling the spatial side within each group breaks it: ρ of 40 independent pairs has an sd of
  // 1/√39 ≈ 0.16, and the mean of 3 groups about 0.09
  EXPECT_LT(std::abs(*a.null_median), 0.1);
  EXPECT_LT((*a.null_range)[1], 0.4);
  EXPECT_GT((*a.null_range)[0], -0.4);
  // with no association the value sits inside the null's range
  const PairedItems none = planted(3, 40, 1e6, 8);
  const ConsistencyTerm d = report::estimate_term(none, report::mean_spearman_per_group, true, 1, 5);
  EXPECT_LT(std::abs(*d.value), 0.3);
  EXPECT_LT((*d.ci)[0], 0.0);  // whose CI covers 0 (true ρ = 0)
  EXPECT_GT((*d.ci)[1], 0.0);
}

// estimate_term's memory: the same inputs give the remembered result, equal in every field to a fresh
// computation; inputs differing in one bit, or another term or epoch, are computed anew.
TEST(ReportEeg, RememberedTermsAreTheFreshOnesAndOnlyForTheSameInputs) {
  const auto same = [](const ConsistencyTerm& a, const ConsistencyTerm& b) {
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.ci, b.ci);
    EXPECT_EQ(a.null_median, b.null_median);
    EXPECT_EQ(a.null_range, b.null_range);
    EXPECT_EQ(a.items, b.items);
    EXPECT_EQ(a.replicates, b.replicates);
    EXPECT_EQ(a.null_replicates, b.null_replicates);
  };
  PairedItems items = planted(3, 30, 0.5, 11);
  report::clear_term_cache();
  const ConsistencyTerm fresh = report::estimate_term(items, report::mean_spearman_per_group, true, 1, 5);
  EXPECT_EQ(report::term_cache_counts().misses, 1u);
  const ConsistencyTerm remembered = report::estimate_term(items, report::mean_spearman_per_group, true, 1, 5);
  EXPECT_EQ(report::term_cache_counts().hits, 1u);
  same(fresh, remembered);
  report::estimate_term(items, report::mean_spearman_per_group, true, 2, 5);
  report::estimate_term(items, report::mean_spearman_per_group, true, 1, 6);
  report::estimate_term(items, report::spearman_of_items, true, 1, 5);
  EXPECT_EQ(report::term_cache_counts().misses, 4u);
  items.y[7] = std::nextafter(items.y[7], 1e9);
  const ConsistencyTerm changed = report::estimate_term(items, report::mean_spearman_per_group, true, 1, 5);
  EXPECT_EQ(report::term_cache_counts().misses, 5u);
  report::clear_term_cache();
  same(changed, report::estimate_term(items, report::mean_spearman_per_group, true, 1, 5));
  EXPECT_EQ(report::term_cache_counts().size, 1u);
}

TEST(ReportEeg, StratifiedBootstrapKeepsEachGroupsSize) {
  // group 0: ρ = 1 on 4 items; group 1: ρ = −1 on 4 items.  Resampling within groups keeps one
  // value from each group in every replicate; an unstratified resample could draw one group only.
  const PairedItems items{{1, 2, 3, 4, 1, 2, 3, 4}, {1, 2, 3, 4, 4, 3, 2, 1}, {0, 0, 0, 0, 1, 1, 1, 1}};
  // A resample of a monotone group stays ±1 unless it is constant (1 in 64 per group): the mean is
  // 0 whenever both groups are drawn, and both always are when stratified.
  const ConsistencyTerm t = report::estimate_term(items, report::mean_spearman_per_group, true, 9, 1);
  int zero = 0;
  for (double v : t.replicates) {
    ASSERT_TRUE(std::isfinite(v));
    EXPECT_TRUE(v == 0 || std::abs(std::abs(v) - 1) < 1e-12) << v;
    zero += std::abs(v) < 1e-12;
  }
  EXPECT_GT(zero, report::kBootstrap * 9 / 10);
}

TEST(ReportEeg, ConsistencyClipsNegativeAndUndefinedTermsToZero) {
  ConsistencyTerm rho, kappa, f1;
  rho.value = 0.6, kappa.value = -0.4;  // f1 undefined
  rho.replicates.assign(report::kBootstrap, 0.6);
  kappa.replicates.assign(report::kBootstrap, -0.4);
  f1.replicates.assign(report::kBootstrap, std::nan(""));
  rho.null_replicates.assign(report::kShuffles, 0.3);
  kappa.null_replicates.assign(report::kShuffles, 0.9);
  f1.null_replicates.assign(report::kShuffles, 0.0);
  const ConsistencyTerm c = report::consistency_of({&rho, &kappa, &f1});
  EXPECT_NEAR(*c.value, 0.2, 1e-12);
  EXPECT_NEAR((*c.ci)[0], 0.2, 1e-12);
  EXPECT_NEAR((*c.ci)[1], 0.2, 1e-12);
  EXPECT_NEAR(*c.null_median, 0.4, 1e-12);
}

TEST(ReportEeg, KappaAndF1TermsOnLabels) {
  const PairedItems states{{0, 0, 1, 2, 0, 0}, {0, 0, 1, 2, 0, 0}, {1, 1, 1, 2, 2, 2}};
  const ConsistencyTerm k = report::estimate_term(states, report::kappa_of_items, false, 3, 1);
  EXPECT_NEAR(*k.value, 1.0, 1e-12);
  const PairedItems anomalies{{1, 0, 0, 1}, {1, 0, 1, 1}, {1, 1, 2, 2}};
  const ConsistencyTerm f = report::estimate_term(anomalies, report::f1_of_items, false, 4, 1);
  EXPECT_NEAR(*f.value, 0.8, 1e-12);  // TP 2, FN 1
  EXPECT_EQ(f.items, 4);
}

}  // namespace
