// imaging/region_lesion.h — a lesion of some regions of one block during ordinary forwards, and the
// accuracy and confusion matrix it leaves (`eval --lesion`, `train --inject lesion`).
//
// Lesion (nn-fmri-method.md, "Impact Assessment"; the same ablations as the lesion game, imaging/lesion_game.h):
// every unit u of a lesioned region of block l is replaced, for every image, by a baseline b_u:
// 0 (`zero`) or the unit's mean over the evaluated images (`mean`).  The blocks after l compute
// normally.  A lesion is written BLOCK:PATTERN[,PATTERN...]; a pattern is a region key grid_i_j_k in
// which `*` stands for any run of characters (grid_3_4_* = every channel group of cell (3, 4);
// * = the whole block).  Errors (base::Error naming the flag and its value): a block that is not in
// the net, a pattern that is not a region key form, a pattern that matches no region of the block.
//
// Confusion matrix M (K×K): M[y][p] = the number of images of true class y the net predicts as p,
// the prediction being the first maximum of the logits (nn::softmax_cross_entropy's rule); accuracy
// = Σ_y M[y][y] / Σ M.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/data.h"
#include "nn/network.h"
#include "run/region_grid.h"

namespace imaging {

struct RegionLesion {
  int block = -1;
  run::RegionGrid grid;          // the block's grid (imaging::block_grid), with lookup tables
  std::vector<int> regions;      // ascending, each once
  std::vector<float> baseline;   // (C·H·W) channels-first per-unit baseline; empty = 0 (zero ablation)
};

// "*" matches any run of characters, every other character itself.
bool glob_match(const std::string& pattern, const std::string& text);

// Marks in `chosen` (a flag per region of g) the regions of block `block` that `pattern` names (a
// region key, * a wildcard, as above).  base::Error `prefix` + what is wrong otherwise: a pattern that is
// not a region key form, or one that matches no region.  The one reader of a region pattern
// (`eval --lesion`, `train --inject lesion`).
void mark_regions(const run::RegionGrid& g, const std::string& block, const std::string& pattern, const std::string& prefix,
                  std::vector<bool>& chosen);

// Parses BLOCK:PATTERN[,PATTERN...] against the net and its --grid; `flag` names the flag in errors.
RegionLesion parse_region_lesion(const std::string& text, const nn::Network& net, const run::GridSpec& grid,
                                 const std::string& flag);

// Sets the units of `regions` of grid g in a (N, C, H, W) block output to the baseline (channels-first,
// C·H·W; null = 0).  The one place a region is lesioned in an ordinary forward.
void lesion_regions(const run::RegionGrid& g, const std::vector<int>& regions, const float* baseline, nn::Tensor& a);

struct LesionEvaluation {
  size_t count = 0;
  double accuracy = 0;
  std::vector<long> confusion;       // (K, K) row-major: [true][predicted]
  std::vector<uint8_t> labels, predicted;                        // (count) per image
  std::vector<double> probability_true, probability_predicted;  // (count) softmax of the logits
};

// Evaluates data (the images `indices`, in that order; null: every image) through the net in batches
// of `batch`, with the lesion's edit when lesion is not null (its block's output lesioned as above),
// else the intact net.  Deterministic: the batches do not interact.
LesionEvaluation evaluate_lesioned(nn::Network& net, const nn::LabeledImages& data, int batch,
                                   const RegionLesion* lesion, const std::vector<uint32_t>* indices = nullptr);

// b_u = (1/N) Σ_x a_xu over the images of data: the `mean` ablation's baseline of block b (C·H·W).
std::vector<float> block_mean(nn::Network& net, const nn::LabeledImages& data, int batch, int block);

}  // namespace imaging
