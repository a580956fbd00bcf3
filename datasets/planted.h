// datasets/planted.h — a synthetic "planted" dataset whose class evidence sits in known places.
//
// Promise: the image is cut into a cell_rows × cell_cols grid; `evidence_cells` distinct
// cells (chosen by the seeded RNG) carry the class evidence, and class k owns cell
// k mod evidence_cells — with the defaults, 10 classes share 5 cells, two per cell, told
// apart by their patterns.  An image of class k is background noise 128 + N(0, noise_sd)
// everywhere, plus a fixed per-class pattern of +signal (on every channel) inside class
// k's cell only — so all class information lives in mask(k), and imaging code can be
// checked against that ground truth.
// Why 5 cells and not one per class: ζ-scores are standard scores over a layer's regions,
// and a region can only reach ζ ≥ 2 when the important regions are a small share of the
// grid (k equally important regions among n reach ζ = √((n−k)/k) at most: 2.3 for 10 of
// 64).  Five evidence cells (8% of the image) leave room to find every one of them; the
// README gives recall for both layouts.
// A fraction null_fraction of the TRAINING images carry no evidence at all (background
// only) and a label balanced over the classes.  Without them a net can recognise one
// class by the absence of the other classes' evidence and never look at that class's
// pattern; with them "no evidence" means "any class, equally likely", so every class must
// be recognised from its own cell.  The test split never has null images.
// Harder conditions (all off by default; the default bytes are pinned by a test):
//  - cells_per_class = 2: evidence that moves.  Class k owns cells c[k·P], …, c[k·P + P − 1] of the
//    shuffled cell list (P = cells_per_class, indices mod the evidence cells in use); each image of
//    class k carries its pattern in ONE of them, chosen uniformly per image.  With 10 classes and
//    evidence_cells = 20 every class has two cells of its own.
//  - signal_spread = s: unequal strengths.  Class k's evidence is signal·(1 + s·(2k/(K−1) − 1)):
//    from (1 − s)·signal for class 0 to (1 + s)·signal for class K−1.
//  - distractor_signal = d > 0: a label-free distractor in EVERY image (null ones too): one of the
//    10 evidence patterns, chosen uniformly per image and independently of the label, at strength
//    d, in the first cell of the shuffled list after the evidence cells.  It looks like evidence
//    and is salient (1.5·signal with `distractor` in a data spec) but says nothing about the class.
//  - background_dir = DIR: real-image backgrounds.  Instead of 128 + N(0, noise_sd), an image's
//    background is a crop of a CIFAR-10 image read from DIR (its training images for the training
//    split, its test images for the test split, so no background is shared between the splits; a
//    split of count 0 reads none of its files): the
//    image drawn uniformly, an H × W window at a uniformly drawn offset (0 when the sides are equal,
//    as for the 32×32 default), mirrored left–right with probability ½.  Channel c reads the CIFAR
//    image's channel c mod 3.  No noise is added.  Evidence and distractor are added as before and
//    the sum clamped to 0..255, so the evidence is as strong as on noise but the background now has
//    edges, textures and objects (of CIFAR classes unrelated to the planted label).
// For these, each image first draws its cell choice (when P > 1), then its distractor pattern
// (when d > 0), then its background (image, row offset, column offset, mirror) when background_dir
// is set, then its pixels; with the defaults nothing is drawn but the pixels.
// Same config (seed included) ⇒ identical bytes on every run and with every standard
// library: the RNG is our own splitmix64 + Box–Muller, not std::normal_distribution.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datasets/dataset.h"

namespace datasets {

struct PlantedConfig {
  uint64_t seed = 1;
  int num_classes = 10;                 // 2..256
  int channels = 3, height = 32, width = 32;
  int cell_rows = 8, cell_cols = 8;     // an 8×8 grid of cells (4×4 pixels each at 32×32)
  int train_count = 2000, test_count = 500;
  float noise_sd = 40.f;                // background: 128 + N(0, noise_sd), clamped to 0..255
  float signal = 90.f;                  // evidence strength added on the pattern pixels
  int evidence_cells = 5;               // cells carrying evidence; >= num_classes: one per class
  double null_fraction = 0.2;           // share of training images with no evidence, 0..0.9
  int cells_per_class = 1;              // 1..8; 2 = evidence moves between two cells per class
  double signal_spread = 0;             // 0..0.9: unequal class strengths (see above)
  float distractor_signal = 0;          // > 0: a label-free distractor pattern in every image
  std::string background_dir;           // non-empty: CIFAR-10 crops as backgrounds (see above)
};

// Cell (row, col) covers the half-open pixel box [y0, y1) × [x0, x1) with
// y0 = floor(row*H/R), y1 = floor((row+1)*H/R), and likewise x with col, W, C.
// Cells tile the image exactly even when H or W is not a multiple of the grid.
struct CellBox {
  int y0, y1, x0, x1;
};
CellBox cell_box(const PlantedConfig& cfg, int row, int col);

// Pattern k (local coordinates y, x inside a cell of size h × w): checkerboards, stripes and
// halves, each covering about half the cell, cycling every 10 classes.
bool pattern_on(int k, int y, int x, int h, int w);

struct PlantedSet {
  DataSplit split;       // name "planted", class names "class0".., files empty
  PlantedConfig config;
  // class -> its evidence cells (row, col), 0-based: cells_per_class of them (classes may share a cell).
  std::vector<std::vector<std::pair<int, int>>> class_cells;
  std::vector<float> class_signal;                // class -> its evidence strength
  std::pair<int, int> distractor_cell{-1, -1};    // (row, col) of the distractor, or (−1, −1) without one
  std::vector<uint8_t> train_is_null;  // per training image: 1 = background only (no evidence)
  // Per image of each split: the index into class_cells[label] of the cell that carries its
  // evidence (0 unless cells_per_class > 1; 0 for null images too) and the distractor's pattern
  // (0..9; 0 without a distractor).
  std::vector<uint8_t> train_cell, test_cell, train_distractor, test_distractor;
  // With background_dir: per image of each split, its background (the CIFAR image's index in that
  // split, the crop's row and column offset, 1 when mirrored); empty otherwise.
  struct Background {
    uint32_t image = 0;
    int y = 0, x = 0;
    bool mirrored = false;
  };
  std::vector<Background> train_background, test_background;
  std::vector<uint8_t> mask(int cls) const;  // (H, W) 1 where class cls's evidence lives (whole cells)
  std::vector<uint8_t> union_mask() const;   // (H, W) any class's evidence
  // (H, W) 1 on the evidence pixels: where the generator adds some class's evidence (class k's
  // pattern inside each of k's cells, the whole cell when the pattern misses it), 0 elsewhere (the
  // distractor's pixels too).  A subset of union_mask().
  std::vector<uint8_t> pattern_mask() const;
};

// The config a data spec's planted options describe:
// "SEED[,cells=N][,moving][,unequal=X][,distractor[=D]][,background=DIR]"
// (moving: cells_per_class 2 and, without cells=, 2 cells per class; distractor alone: D = 1.5·signal;
// background=DIR must be the last option, since DIR may hold commas).
// Throws base::Error naming the option and what was expected.
PlantedConfig planted_config_from(const std::string& options);

// Throws base::Error for an impossible config (e.g. more classes than cells).
// Cells, train and test come from independent RNG streams of the seed, so changing
// train_count leaves the cells and the test split unchanged.
PlantedSet make_planted(const PlantedConfig& cfg);

}  // namespace datasets
