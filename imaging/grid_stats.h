// imaging/grid_stats.h — the grid stage: activation density and information of every region.
//
// Promise: every block of the net (conv* after its activation, pool*, fc*, output = logits) is cut
// by a run::RegionGrid and, over an evaluation set streamed in batches (imaging/eval_stream.h), each
// region g gets (nn-fmri-method.md, "Activation Density Function"):
//   density        = mean_x φ_g(x),  φ_g(x) = m_g(x) + λ·ln(v_g(x) + ε)
//   variance       = mean_x v_g(x),  v_g(x) = population variance of a_u(x) over u ∈ g
//   mean_abs       = mean_x m_g(x),  m_g(x) = (1/|N_g|) Σ_{u∈g} |a_u(x)|
//   activation_count = |N_g|,  active_fraction = share of (unit, image) pairs with |a| > 1e-6
//   information_bits = H(Y) − H(Y | Q(φ_g(x)))  (plug-in, bits; Q = equal-frequency bins),
//   information_null_bits = the same with the labels shuffled (the estimator's bias floor).
// Per layer: coverage = share of regions with active_fraction ≥ 0.05; the others are dead.
// Memory: only φ_g(x) is kept per (region, image) — never the activations.  Sums are in double
// and in image order, so for given activations the results do not depend on how the images are
// batched nor on the thread count.  (The net's own float forward is not batch-size invariant: a
// different batch moves activations by ~1e-6, so keep the batch fixed for bit-identical runs.)
// A non-finite φ (a diverged net) throws base::Error naming the layer, region and image.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/eval_stream.h"
#include "run/grid_schema.h"
#include "run/region_grid.h"
#include "nn/data.h"
#include "nn/network.h"
#include "nn/shards.h"

namespace imaging {

struct GridSettings {
  run::GridSpec grid;
  double lambda = 0.1, epsilon = 1e-6;
  int bins = 8;
};
// The ranges of λ and ε that --lambda and --epsilon accept and a monitor profile's header may hold:
// |λ| ≤ kMaxLambda, 0 < ε ≤ kMaxEpsilon.
constexpr double kMaxLambda = 1e6, kMaxEpsilon = 1e6;

constexpr double kActiveThreshold = 1e-6;  // a unit is active on an image when |a| > this
constexpr double kDeadFraction = 0.05;     // a region is dead when active_fraction < this
// information_null_bits shuffles the evaluation labels once (Fisher–Yates, nn::Rng) with this seed.
constexpr uint64_t kNullShuffleSeed = 0x6E756C6C;  // "null"

using RegionStats = run::GridRegionStats;  // one region's statistics, as grid.json holds them

struct LayerGridStats {
  std::string name;                 // the block's name: conv1, pool1, ..., output
  run::RegionGrid grid;                  // the layer's H, W, C and the clamped grid
  std::vector<RegionStats> regions; // (grid.count()), in region order r
  double coverage = 0;
  std::vector<int> dead_regions;    // region indices r with active_fraction < kDeadFraction
};

struct GridResult {
  size_t images = 0;                // the evaluation set: images 0 … images−1
  GridSettings settings;
  std::vector<LayerGridStats> layers;  // in network (block) order
};

// Q: bin of value i = ⌊bins·r_i/n⌋, r_i = 0-based rank of values[i] in ascending order, equal values
// all taking the smallest rank among them.  Output: (n) bins in [0, bins).
std::vector<int> equal_frequency_bins(const double* values, size_t n, int bins);

// H(Y) − H(Y|Q) in bits with plug-in probabilities p = count/n:
//   H(Y) = −Σ_y p(y) log2 p(y),  H(Y|Q) = Σ_b p(b) · (−Σ_y p(y|b) log2 p(y|b)).
// bins (n) in [0, num_bins), labels (n) in [0, num_classes).  Rounding below 0 is returned as 0.
double information_bits(const int* bins, const uint8_t* labels, size_t n, int num_bins, int num_classes);

// labels permuted by Fisher–Yates from nn::Rng(seed): for i = n−1 … 1, swap(i, below(i+1)).
std::vector<uint8_t> shuffled_labels(const uint8_t* labels, size_t n, uint64_t seed);

// φ_g(x) = m_g(x) + λ·ln(v_g(x) + ε) of every region g of one sample (C, H, W) of grid.layer: the value
// the grid stage keeps per (region, image), and the monitor's region statistic (imaging/monitor.h).
// phi: (grid.count()), in region order.  Each region's sums run over its units in (c, h, w) order.
void image_phi(const run::RegionGrid& grid, const float* sample, double lambda, double epsilon, double* phi);
// One layer's statistics accumulated over a stream of batches of images 0 … images−1.
class LayerGridAccumulator {
 public:
  LayerGridAccumulator(std::string name, int height, int width, int channels, const GridSettings& settings,
                       size_t images);
  // activations (count, C, H, W) of images offset … offset+count−1.  Each batch's per-image values
  // are merged into the sums as soon as every image before it is in (in image order); batches that
  // arrive early, or every batch while held (hold(), spread over ranks), wait in `pending_`.
  void add(const float* activations, int count, size_t offset);
  // Spread over ranks: batches wait until share() instead of being merged.
  void hold() { hold_ = true; }
  // The held batch of images [offset, offset + count) as values (φ, mean |a|, variance, active counts:
  // count·regions each), and the way back (a batch this rank did not compute).
  std::vector<double> packed(size_t offset, int count) const;
  void unpack(size_t offset, int count, const std::vector<double>& values);
  // Merges every held batch, in image order.
  void release();
  // Needs every image added (else std::logic_error); labels (images) in [0, num_classes).
  LayerGridStats finish(const uint8_t* labels, int num_classes) const;
  const run::RegionGrid& grid() const { return grid_; }

 private:
  std::string name_;
  run::RegionGrid grid_;
  GridSettings settings_;
  size_t images_, added_ = 0;
  std::vector<double> phi_;                        // (regions, images) φ_g(x)
  std::vector<double> sum_mean_abs_, sum_variance_;  // (regions) Σ_x m_g(x), Σ_x v_g(x)
  std::vector<uint64_t> active_pairs_;             // (regions) Σ_x #{u ∈ g : |a_u(x)| > kActiveThreshold}
  struct Batch {                                   // one batch's per-image values, (count, regions)
    int count = 0;
    std::vector<double> mean_abs, variance;
    std::vector<uint32_t> active;
  };
  std::map<size_t, Batch> pending_;                // by first image: batches not merged yet
  bool hold_ = false;
  void merge_ready();                              // merges pending batches that start at added_
};

// Every block's LayerGridAccumulator, fed by a stream of evaluation batches (imaging/eval_stream.h):
// the grid stage's part of the streamed pass.
class GridAccumulator {
 public:
  GridAccumulator(const nn::Network& net, const GridSettings& settings, size_t images);
  // The block's output a of the batch's images below `images` (the rest of the batch is not its).
  void add(const EvalBatch& batch, const nn::BlockView& block);
  // Needs every image added; the labels are data's first `images`.
  GridResult finish(const nn::LabeledImages& data) const;
  // Spread over ranks (README "Beyond one machine (MPI)"): the pass's batches of `batch` images are
  // units, batch k (images k·batch …) computed by rank k mod P (nn::ShardGroup::owns_unit) and added
  // here, held; share() gives every rank every batch and merges them in image order, so finish()
  // returns the same bits as one process that added every batch.  hold() before the first add().
  void hold();
  void share(nn::ShardGroup& ranks, int batch);

 private:
  GridSettings settings_;
  size_t images_;
  std::vector<LayerGridAccumulator> layers_;
};

// The grid stage on images 0 … images−1 of `data`, streamed in batches of `batch`.
GridResult run_grid_stage(nn::Network& net, const nn::LabeledImages& data, size_t images, int batch,
                          const GridSettings& settings);

// {"conv1": {"shape": [H,W,C], "grid": [GH,GW,GC], "coverage", "dead_regions", "regions": {...}}, ...}
nlohmann::ordered_json grid_layers_json(const GridResult& result);

}  // namespace imaging
