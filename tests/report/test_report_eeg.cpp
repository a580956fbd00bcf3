// tests/report/test_report_eeg.cpp — the statistics behind NN-EEG's cross-modal consistency
// (report/report_eeg.h) on hand cases: Cohen's κ, F1, Spearman per group, the bootstrap interval
// and the shuffled-label null (deterministic; the null breaks a planted association), the clipping
// of negative terms in Consistency; the page's per-step traces (the min–max envelope, the rows of
// eeg/epoch_NNN.npy against a brute-force reading, refusals of files that do not match).  The whole
// path on a run directory is in test_report.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include <cmath>
#include <limits>

#include "base/fileio.h"
#include "base/rng.h"
#include "base/npz.h"
#include "report/report_eeg.h"
#include "run/json.h"
#include "run/layout.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

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

// The envelope on a hand case: buckets of 3 keep min and max of their finite values, a bucket of
// NaN only is NaN, the last bucket is shorter; every = 1 keeps the values.
TEST(ReportEeg, EnvelopeKeepsEachBucketsMinAndMax) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const report::EegTrace e = report::envelope({1, 5, nan, 2, 3, -1, nan, nan, nan, 7}, 3);
  ASSERT_EQ(e.lo.size(), 4u);
  EXPECT_EQ(e.lo[0], 1);
  EXPECT_EQ(e.hi[0], 5);
  EXPECT_EQ(e.lo[1], -1);
  EXPECT_EQ(e.hi[1], 3);
  EXPECT_TRUE(std::isnan(e.lo[2]) && std::isnan(e.hi[2]));
  EXPECT_EQ(e.lo[3], 7);
  EXPECT_EQ(e.hi[3], 7);
  const report::EegTrace raw = report::envelope({4, nan, -2}, 1);
  EXPECT_EQ(raw.lo[0], 4);
  EXPECT_TRUE(std::isnan(raw.hi[1]));
  EXPECT_EQ(raw.hi[2], -2);
  expect_error_naming([] { report::envelope({1}, 0); }, "bucket of 0 steps");
}

// eeg/channels.json and two epochs of rows (6 steps each) of a net with blocks "a" (2 regions) and
// "b" (1 region); a one-step spike in b's activity at step 8 and in a/grid_1_2_1 at step 3.
class EegTraceTest : public TempDirTest {
 protected:
  const std::vector<std::string> names = {"loss", "a/grad_norm", "a/update_ratio", "a/activity", "a/grid_1_1_1", "a/grid_1_2_1",
                                          "b/grad_norm", "b/update_ratio", "b/activity", "b/grid_1_1_1"};
  std::vector<report::EegEpoch> epochs;
  double value(long step, size_t c) const {
    if (names[c] == "b/activity" && step == 8) return 50;
    if (names[c] == "a/grid_1_2_1" && step == 3) return -40;
    return double(c) + 0.01 * double(step % 5);
  }
  void SetUp() override {
    TempDirTest::SetUp();
    const run::Layout layout(dir_);
    std::filesystem::create_directories(layout.eeg());
    run::Json list = run::Json::array();
    for (const std::string& n : names) {
      const size_t slash = n.find('/');
      const std::string block = slash == std::string::npos ? "" : n.substr(0, slash), rest = n.substr(slash + 1);
      const bool region = rest.rfind("grid_", 0) == 0;
      list.push_back({{"name", n}, {"block", block}, {"region", region ? rest : ""}, {"channel", block.empty() ? "loss" : region ? "region" : rest}});
    }
    run::write_json(layout.eeg_channels(), {{"format", "nnfmri eeg channels"}, {"version", 1}, {"columns", names.size()}, {"channels", list}}, 1);
    for (int e = 1; e <= 2; ++e) {
      std::vector<float> rows;
      for (long t = 6L * e - 5; t <= 6L * e; ++t)
        for (size_t c = 0; c < names.size(); ++c) rows.push_back(float(value(t, c)));
      base::write_npy(layout.eeg_rows(e), {"", {6, int(names.size())}, rows.data()});
      report::EegEpoch ep;
      ep.epoch = e;
      ep.path = layout.eeg_epoch(e);
      ep.first_step = 6L * e - 5;
      ep.last_step = 6L * e;
      for (const char* block : {"a", "b"}) ep.blocks.push_back({block, "learning", {}, {}, {}});
      epochs.push_back(ep);
    }
  }
  // the envelope of column c read step by step, the brute-force answer
  report::EegTrace expected(size_t c, long every) const {
    std::vector<double> x;
    for (long t = 1; t <= 12; ++t) x.push_back(double(float(value(t, c))));
    return report::envelope(x, every);
  }
};

TEST_F(EegTraceTest, TracesAreTheRowsOfEveryStepDownsampledByTheirEnvelope) {
  // 4 points per trace: buckets of 3 steps; regions of "a" only (the imaged blocks), 2 · 12 · 2 / 12 → 4
  const std::optional<report::EegTraces> t = report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}, 4, 12);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->first_step, 1);
  EXPECT_EQ(t->last_step, 12);
  EXPECT_EQ(t->every, 3);
  EXPECT_EQ(t->region_every, 4);
  EXPECT_EQ(t->loss.lo, expected(0, 3).lo);
  EXPECT_EQ(t->loss.hi, expected(0, 3).hi);
  ASSERT_EQ(t->blocks.size(), 2u);
  EXPECT_EQ(t->blocks[0].hi, expected(3, 3).hi);
  EXPECT_EQ(t->blocks[1].lo, expected(8, 3).lo);
  EXPECT_EQ(t->blocks[1].hi, expected(8, 3).hi);
  EXPECT_EQ(t->blocks[1].hi[2], 50);  // the spike of step 8 is in bucket (8 − 1) / 3 = 2, and only there
  for (size_t i : {0, 1, 3}) EXPECT_LT(t->blocks[1].hi[i], 50);
  ASSERT_EQ(t->regions.size(), 2u);
  EXPECT_EQ(t->regions[1].block, "a");
  EXPECT_EQ(t->regions[1].region, "grid_1_2_1");
  EXPECT_EQ(t->regions[1].trace.lo, expected(5, 4).lo);
  EXPECT_EQ(t->regions[1].trace.lo[0], -40);  // step 3 in bucket 0 of 4 steps
  // all steps kept when the caps allow it
  const std::optional<report::EegTraces> raw = report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a", "b"}, 100, 1000);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->every, 1);
  EXPECT_EQ(raw->region_every, 1);
  EXPECT_EQ(raw->regions.size(), 3u);
  EXPECT_EQ(raw->blocks[1].lo, expected(8, 1).lo);
  // the second epoch alone: its steps, not the run's
  const std::optional<report::EegTraces> second = report::load_eeg_traces(dir_, {epochs[1]}, {"a", "b"}, {}, 100, 1000);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->first_step, 7);
  EXPECT_EQ(second->blocks[1].lo[1], 50);
}

// eeg/channels.json is not read by its "channel" and "block" fields alone, which would let two
// swapped names, a block the epoch files do not have (its lane silently dropped), a region on an
// activity channel or a channel listed twice be drawn without a word.  Each channel is checked
// against its own fields, and the error names the file and pointer.
TEST_F(EegTraceTest, ChannelsThatContradictThemselvesAreRefusedNamingTheirPointer) {
  const run::Layout layout(dir_);
  const run::Json good = run::read_json(layout.eeg_channels());
  const std::vector<std::pair<std::function<void(run::Json&)>, std::string>> cases = {
      {[](run::Json& c) { std::swap(c[4]["name"], c[5]["name"]); }, "/channels/4/name: expected \"a/grid_1_1_1\""},
      {[](run::Json& c) { c[3]["block"] = "c", c[3]["name"] = "c/activity"; }, "/channels/3/block: expected a block of the run's NN-EEG epoch files (a, b)"},
      {[](run::Json& c) { c[0]["block"] = "a"; }, "/channels/0/block: expected \"\" (the loss belongs to no block)"},
      {[](run::Json& c) { c[3]["region"] = "grid_1_1_1"; }, "/channels/3/region: expected \"\" (only a region channel has a region)"},
      {[](run::Json& c) { c[5]["region"] = ""; }, "/channels/5/region: expected a region key grid_i_j_k"},
      {[](run::Json& c) { c[8] = c[3]; }, "/channels/8/name: the channel a/activity is named twice"},
  };
  for (const auto& [change, message] : cases) {
    run::Json bad = good;
    change(bad["channels"]);
    run::write_json(layout.eeg_channels(), bad, 1);
    expect_error_naming([&] { report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}); }, layout.eeg_channels() + ": " + message);
  }
  run::write_json(layout.eeg_channels(), good, 1);
  EXPECT_TRUE(report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}));
}

TEST_F(EegTraceTest, FilesThatDoNotMatchAreRefusedNamingThem) {
  const run::Layout layout(dir_);
  const std::vector<float> rows(6 * 9, 1.f);
  base::write_npy(layout.eeg_rows(2), {"", {6, 9}, rows.data()});  // a channel short
  expect_error_naming([&] { report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}); }, layout.eeg_rows(2) + ": holds 6x9 values");
  std::filesystem::remove(layout.eeg_rows(2));
  expect_error_naming([&] { report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}); }, layout.eeg_rows(2) + ": missing");
  base::write_file_atomic(layout.eeg_channels(), "{\"columns\": 3, \"channels\": []}");
  expect_error_naming([&] { report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}); }, layout.eeg_channels() + ": /channels");
  std::filesystem::remove(layout.eeg_channels());  // a run without channels.json: no traces
  EXPECT_FALSE(report::load_eeg_traces(dir_, epochs, {"a", "b"}, {"a"}));
}

// Audit A 2: eeg/channels.json and the .npy rows were read even where run.json does not list them
// (an unlisted epoch_002.npy gave the loss trace its values).  Read only where it lists them, as load_eeg.
TEST_F(EegTraceTest, FilesRunJsonDoesNotListAreNotRead) {
  const run::Layout layout(dir_);
  report::RunData run;
  run.dir = dir_;
  run.committed_files = std::vector<std::string>{"eeg/epoch_001.json", "eeg/epoch_001.npy", "eeg/epoch_002.json", "eeg/epoch_002.npy"};
  EXPECT_TRUE(report::eeg_page_data(run, epochs, {})["trace"].is_null());  // channels.json unlisted: no traces
  run.committed_files->push_back("eeg/channels.json");
  EXPECT_FALSE(report::eeg_page_data(run, epochs, {})["trace"].is_null());
  run.committed_files->erase(run.committed_files->begin() + 3);  // eeg/epoch_002.npy
  expect_error_naming([&] { report::eeg_page_data(run, epochs, {}); }, layout.eeg_rows(2) + ": not listed in run.json");
}

// README Cross-modal consistency: the bootstrap 95 % CI is the 2.5 / 97.5 % percentiles of the
// defined replicates (linear interpolation between order statistics at p·(n − 1)), the null its
// median and 2.5 / 97.5 % range; resamples where the term is undefined are dropped, and there is no
// CI only when more than half are.  F1 of 10 items with one positive on both sides: a resample
// without that item has no positive (undefined), about 0.9^10 ≈ 35 % of them.
TEST(ReportEeg, BootstrapIntervalIsThePercentilesOfTheDefinedReplicates) {
  PairedItems items;
  for (int i = 0; i < 10; ++i) items.x.push_back(i == 3), items.y.push_back(i == 3 || i == 5), items.group.push_back(1);
  const ConsistencyTerm t = report::estimate_term(items, report::f1_of_items, false, 4, 2);
  ASSERT_TRUE(t.value);
  EXPECT_NEAR(*t.value, 2.0 / 3, 1e-12);  // TP 1, FN 1
  std::vector<double> defined;
  for (double v : t.replicates)
    if (std::isfinite(v)) defined.push_back(v);
  ASSERT_LT(defined.size(), t.replicates.size());      // some resamples are undefined …
  ASSERT_GE(2 * defined.size(), t.replicates.size());  // … but not more than half
  std::sort(defined.begin(), defined.end());
  const auto percentile = [](const std::vector<double>& sorted, double p) {
    const double at = p * double(sorted.size() - 1);
    const size_t lo = size_t(at);
    return lo + 1 < sorted.size() ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (at - double(lo)) : sorted[lo];
  };
  ASSERT_TRUE(t.ci);
  EXPECT_DOUBLE_EQ((*t.ci)[0], percentile(defined, 0.025));
  EXPECT_DOUBLE_EQ((*t.ci)[1], percentile(defined, 0.975));
  std::vector<double> null;
  for (double v : t.null_replicates)
    if (std::isfinite(v)) null.push_back(v);
  std::sort(null.begin(), null.end());
  ASSERT_TRUE(t.null_median && t.null_range);
  EXPECT_DOUBLE_EQ(*t.null_median, percentile(null, 0.5));
  EXPECT_DOUBLE_EQ((*t.null_range)[0], percentile(null, 0.025));
  EXPECT_DOUBLE_EQ((*t.null_range)[1], percentile(null, 0.975));
  // a statistic of continuous replicates, where the order statistic p·(n − 1) and a neighbour differ
  const ConsistencyTerm c = report::estimate_term(planted(3, 40, 0.5, 11), report::mean_spearman_per_group, true, 1, 3);
  std::vector<double> sorted = c.replicates;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_TRUE(c.ci && std::isfinite(sorted.back()));
  EXPECT_DOUBLE_EQ((*c.ci)[0], percentile(sorted, 0.025));
  EXPECT_DOUBLE_EQ((*c.ci)[1], percentile(sorted, 0.975));
  EXPECT_NE((*c.ci)[1], sorted[size_t(0.975 * double(sorted.size()))]);  // the interpolation matters here
}

// README Cross-modal consistency: the null permutes the spatial side among the items of the same
// group (block or epoch), keeping each group's mix: with the spatial side constant within each group,
// every shuffle leaves it as it is and κ stays 1.
TEST(ReportEeg, TheNullShufflesWithinGroupsOnly) {
  PairedItems items;
  for (int i = 0; i < 20; ++i) items.x.push_back(i < 10 ? 0 : 1), items.y.push_back(i < 10 ? 0 : 1), items.group.push_back(i < 10 ? 1 : 2);
  const ConsistencyTerm t = report::estimate_term(items, report::kappa_of_items, false, 3, 9);
  ASSERT_TRUE(t.value && t.null_median);
  EXPECT_DOUBLE_EQ(*t.value, 1.0);
  ASSERT_EQ(t.null_replicates.size(), size_t(report::kShuffles));
  for (double v : t.null_replicates) EXPECT_DOUBLE_EQ(v, 1.0);
}

// The page's per-step traces (eeg_page_data): "hi" is left out where a bucket is one step (every = 1:
// lo is the step's value); 12 steps and 2,000 points per trace give every = 1.
TEST_F(EegTraceTest, PageTracesLeaveOutHiWhereEachBucketIsOneStep) {
  report::RunData run;
  run.dir = dir_;
  run.layers = {"a", "b"};
  const run::Json page = report::eeg_page_data(run, epochs, {});
  const run::Json& trace = page["trace"];
  ASSERT_EQ(trace["every"], 1);
  ASSERT_EQ(trace["region_every"], 1);
  EXPECT_EQ(trace["loss"]["lo"].size(), 12u);
  EXPECT_FALSE(trace["loss"].contains("hi"));
  EXPECT_FALSE(trace["blocks"][0].contains("hi"));
  EXPECT_FALSE(trace["regions"]["a"]["grid_1_1_1"].contains("hi"));
}

}  // namespace
