// report/report_eeg.h — NN-EEG in the report: the run's eeg/epoch_NNN.json files read and checked,
// and the cross-modal consistency of NN-EEG with the spatial maps (README "NN-EEG", "Cross-modal
// consistency"), written per analysed epoch N as analysis/epoch_N/eeg.json.
//
// Definitions (fixed before anything was measured).  An analysed epoch e counts when it has both
// eeg/epoch_e.json with spectra ("span" not null) and ζ; b runs over the blocks that both name.
//   ρ_γζ (region form) at e: per block b, Spearman's ρ (report_summary.h) between γ_g — the relative
//     γ power of region g's channel over the epoch's Welch span — and ζ_g at e, over b's regions that
//     both files name (at least 3, and neither side constant); the term is the mean over the blocks
//     where ρ is defined.
//   ρ_γζ (layer form, the seed's): one point per (block b, analysed epoch e' ≤ e): x = the relative γ
//     power of b's activity channel at e', y = max over b's regions of ζ at e'; Spearman over them.
//   Spatial state of (b, e), first match: `dead` — b's coverage fell to at most half its coverage at
//     the previous analysed epoch, or every region's ζ interval (zeta.json's confidence_interval)
//     includes 0 (the issue's words; a first reading, "no region passes zeta.json's significance
//     test", called 5 of 8 blocks of a learning CIFAR run `dead` at coverage 1.0); `unstable` — b's ζ stability (report_summary.h) from the previous analysed
//     epoch is below τ = 0.5; else `ok`.  EEG state: dead → dead, unstable and diverged → unstable,
//     learning and plateau → ok; warming_up leaves the item out.
//   κ at e: Cohen's κ = (p_o − p_e)/(1 − p_e) of the two states over every (b, e') with e' ≤ e;
//     undefined when p_e = 1 (both sides one and the same category).
//   Spatial anomaly of (b, e), e not the first analysed epoch: a ζ-map jump (ζ stability from the
//     previous analysed epoch below τ) or a coverage drop (coverage fell by ≥ 0.1).  EEG side: at
//     least one event of b (its block channels or regions) confirmed in an epoch in (e_prev, e].
//   F1 at e: 2TP / (2TP + FP + FN) over every (b, e'), e' ≤ e, taking the spatial anomaly as truth;
//     undefined when neither side has a positive.
//   Consistency = (max(0, ρ_γζ region form) + max(0, κ) + max(0, F1)) / 3, an undefined term
//     counting 0 (a term that cannot be measured earns nothing).
//   Bootstrap 95 % CI: the 2.5 / 97.5 % percentiles of B = 1000 resamples with replacement (the
//     region form resamples regions within each block; the others resample their items); resamples
//     where the term is undefined are dropped, and there is no CI when more than half are.  The
//     Consistency CI combines the terms' replicates of the same index.  Seeded: base::Rng::derive(
//     kSeed, term, e), so the same files give the same bytes.
//   Null (shuffled region labels): the same term after a uniform permutation of the spatial side
//     (ζ, max ζ, spatial state, spatial anomaly) among the items of the same block (region form) or
//     of the same epoch (the others: keeps each epoch's mix), S = 200 shuffles; reported as their
//     median and 2.5 / 97.5 % range.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report_data.h"

namespace report {

constexpr int kBootstrap = 1000, kShuffles = 200;
constexpr double kStabilityThreshold = 0.5, kCoverageDrop = 0.1;

struct EegEvent {
  long step = 0;
  std::string block, region, channel;
  double z = 0;
  std::string band;  // "gamma" for a band-power event, "" for a change of the level
};

struct EegRegion {
  std::string key;
  double mean_activity = 0;
  std::optional<double> gamma;
};

struct EegBlock {
  std::string name, state;
  std::optional<std::array<double, 5>> activity_bands, grad_norm_bands;
  std::vector<EegRegion> regions;
};

struct EegEpoch {
  int epoch = 0;
  std::string path;
  long first_step = 0, last_step = 0;
  int window = 0;
  bool has_span = false;
  std::optional<std::array<double, 5>> loss_bands;
  std::vector<EegBlock> blocks;
  std::vector<EegEvent> events;
  const EegBlock* block(const std::string& name) const;
};

// Every RUN/eeg/epoch_NNN.json, epoch ascending — only those `listed` names (relative to RUN, as
// run.json lists them: RunData::committed_files) when it is given; empty without RUN/eeg/.  A
// malformed file is one base::Error naming it and the JSON pointer.
std::vector<EegEpoch> load_eeg(const std::string& run_dir, const std::vector<std::string>* listed = nullptr);

// Pure statistics (tested on hand cases).
// Cohen's κ of two equally long label lists; std::nullopt when empty, unequal or p_e = 1.
std::optional<double> cohen_kappa(const std::vector<int>& a, const std::vector<int>& b);
// F1 of `predicted` against `truth`; std::nullopt when neither has a positive.
std::optional<double> f1_score(const std::vector<int>& predicted, const std::vector<int>& truth);

// One term with its interval and null.
struct ConsistencyTerm {
  std::optional<double> value;
  std::optional<std::array<double, 2>> ci;       // bootstrap 95 %
  std::optional<double> null_median;             // shuffled region labels
  std::optional<std::array<double, 2>> null_range;
  int items = 0;
  std::vector<double> replicates, null_replicates;  // NaN where undefined (not written)
};

// Paired items: x is the EEG side, y the spatial side; `group` is the block or epoch an item is
// shuffled (and, when `stratified`, resampled) within.
struct PairedItems {
  std::vector<double> x, y;
  std::vector<int> group;
};
using PairedStatistic = std::optional<double> (*)(const PairedItems&);
std::optional<double> mean_spearman_per_group(const PairedItems& items);
std::optional<double> spearman_of_items(const PairedItems& items);
std::optional<double> kappa_of_items(const PairedItems& items);
std::optional<double> f1_of_items(const PairedItems& items);
// The term's value, bootstrap interval and shuffled null.  Results are remembered by their exact
// inputs (the bytes of the items, the statistic, stratified, term, epoch; at most kTermCacheSize,
// then forgotten all at once): `nnfmri serve` rebuilds a run's data at every committed epoch, and the
// earlier epochs' terms — bootstraps over the items of every epoch up to theirs, most of a rebuild's
// time — are then taken from memory.  A remembered result is the one a fresh computation gives.
ConsistencyTerm estimate_term(const PairedItems& items, PairedStatistic statistic, bool stratified, uint64_t term,
                              uint64_t epoch);
constexpr size_t kTermCacheSize = 1024;  // at most about 40 MB (30-epoch runs: 120 terms each)
struct TermCacheCounts {
  size_t hits = 0, misses = 0, size = 0;
};
TermCacheCounts term_cache_counts();
void clear_term_cache();
ConsistencyTerm consistency_of(const std::vector<const ConsistencyTerm*>& terms);

// analysis/epoch_N/eeg.json of every analysed epoch that has eeg/epoch_N.json (in run.epochs order,
// null for the others).
std::vector<nlohmann::ordered_json> eeg_epoch_documents(const RunData& run, const std::vector<EegEpoch>& eeg);

// Per-step traces for the page's NN-EEG view (README "Reading the report"): the rows of
// eeg/epoch_NNN.npy (columns named by eeg/channels.json) of the epochs in `eeg`, over the steps
// first … last those epochs span (a step of no epoch in `eeg` is NaN).  Each trace is cut into buckets
// of `every` consecutive steps — bucket i covers steps first + i·every … first + (i+1)·every − 1, the
// last one possibly shorter — and keeps per bucket the min and the max of its finite values (NaN when
// it has none): an envelope, so a one-step spike stays visible however long the run.  every = 1 keeps
// every step.  The loss and each block's activity: every = ⌈steps / points⌉.  Regions (of the blocks
// in `imaged` only, those the page can select): every is at least that and ⌈2 · steps · regions /
// region_values⌉, so that all region traces together hold at most about region_values numbers.
// std::nullopt without eeg/channels.json (the per-epoch lanes remain); a channels file or .npy that
// does not match is one base::Error naming it; a file's size is bounded before it is read.  listed
// (run.json's files, as load_eeg's): channels.json it does not list counts as absent, and an epoch's
// .npy it does not list is an error (the rows of an epoch it lists).
constexpr size_t kTracePoints = 2000, kRegionTraceValues = 150000;
struct EegTrace {
  std::vector<double> lo, hi;
};
struct EegRegionTrace {
  std::string block, region;
  EegTrace trace;
};
struct EegTraces {
  long first_step = 0, last_step = 0, every = 1, region_every = 1;
  EegTrace loss;
  std::vector<EegTrace> blocks;  // the activity of each of `blocks`, in order
  std::vector<EegRegionTrace> regions;
};
// The envelope of x in buckets of `every` (≥ 1) values, as above.
EegTrace envelope(const std::vector<double>& x, long every);
std::optional<EegTraces> load_eeg_traces(const std::string& run_dir, const std::vector<EegEpoch>& eeg,
                                         const std::vector<std::string>& blocks, const std::vector<std::string>& imaged,
                                         size_t points = kTracePoints, size_t region_values = kRegionTraceValues,
                                         const std::vector<std::string>* listed = nullptr);

// The page's "NN-EEG" data: {"blocks": [names], "epochs": [{"epoch", "steps", "states", "activity"
// (per block: the mean over its regions of their epoch-mean |a|), "bands" (per block: activity band
// powers or null), "events": [[step, block index or −1, channel, z, region or ""], … at most 200]}], "inject":
// config.json's faults, "consistency": per analysed epoch (run.epochs order) the eeg.json terms or
// null, "trace": load_eeg_traces as {"first", "last", "every", "region_every", "loss": {"lo", "hi"},
// "blocks": [{"lo", "hi"}], "regions": {"<block>": {"grid_i_j_k": {"lo", "hi"}}}} with null for NaN
// and "hi" left out where every = 1, or null without channels.json}; null when the run has no eeg/ files.
nlohmann::ordered_json eeg_page_data(const RunData& run, const std::vector<EegEpoch>& eeg,
                                     const std::vector<nlohmann::ordered_json>& documents);

}  // namespace report
