// tests/datasets/test_planted.cpp — the planted dataset is deterministic, its masks are exactly
// the class cells, and the class evidence really sits inside those cells (and nowhere
// else), so imaging code can be judged against the masks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <set>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/planted.h"
#include "base/sha256.h"
#include "base/error.h"
#include "datasets/cifar10.h"
#include "nn/rng.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

using datasets::CellBox;
using datasets::Dataset;
using datasets::PlantedConfig;
using datasets::PlantedSet;

TEST(Planted, SameSeedSameBytesOtherSeedOtherBytes) {
  PlantedConfig cfg;
  cfg.train_count = 200, cfg.test_count = 50;
  const PlantedSet a = datasets::make_planted(cfg), b = datasets::make_planted(cfg);
  EXPECT_EQ(a.split.train.pixels, b.split.train.pixels);
  EXPECT_EQ(a.split.train.labels, b.split.train.labels);
  EXPECT_EQ(a.split.test.pixels, b.split.test.pixels);
  EXPECT_EQ(a.class_cells, b.class_cells);

  cfg.seed = 2;
  const PlantedSet other = datasets::make_planted(cfg);
  EXPECT_NE(a.split.train.pixels, other.split.train.pixels);
  EXPECT_NE(a.split.test.pixels, other.split.test.pixels);

  // Independent streams: more training images change neither the cells nor the test set.
  cfg.seed = 1, cfg.train_count = 300;
  const PlantedSet more = datasets::make_planted(cfg);
  EXPECT_EQ(more.class_cells, a.class_cells);
  EXPECT_EQ(more.split.test.pixels, a.split.test.pixels);
}

// Pins the generator's output: a change here means every "planted:SEED" run changes.
// If it fails on another platform, the RNG is not as portable as planted.h promises.
TEST(Planted, GoldenBytesForSeedOne) {
  PlantedConfig cfg;
  cfg.train_count = 50, cfg.test_count = 10;  // 50 training images: 10 of them null
  const PlantedSet s = datasets::make_planted(cfg);
  const std::vector<uint8_t>& p = s.split.train.pixels;
  const std::vector<uint8_t>& labels = s.split.test.labels;
  EXPECT_EQ(base::sha256_hex(p.data(), p.size()),
            "ea58f55a74820a582593e0a40f508c73eb1b03ba0dd74fdcc980441cde299f8a");
  EXPECT_EQ(base::sha256_hex(labels.data(), labels.size()),
            "471c7445ebd64e81949a5d75080f283d1bd375e6a429464fcc3878947e56a57c");
  EXPECT_EQ(std::count(s.train_is_null.begin(), s.train_is_null.end(), 1), 10);
  EXPECT_EQ(base::sha256_hex(s.train_is_null.data(), s.train_is_null.size()),
            "e022e0e8d72aabd94a3a533501a2be24892d4f044e4d19cd33cff7d6eba95588");
}

TEST(Planted, ShapesNamesAndBalancedShuffledLabels) {
  const PlantedSet s = datasets::make_planted({});
  for (const Dataset* d : {&s.split.train, &s.split.test}) {
    EXPECT_EQ(d->name, "planted");
    EXPECT_EQ(d->channels, 3);
    EXPECT_EQ(d->height, 32);
    EXPECT_EQ(d->width, 32);
    EXPECT_EQ(d->pixels.size(), d->size() * 3 * 32 * 32);
    EXPECT_TRUE(d->files.empty());
    ASSERT_EQ(d->num_classes(), 10);
    EXPECT_EQ(d->class_names[0], "class0");
    EXPECT_EQ(d->class_names[9], "class9");
    std::vector<size_t> count(10, 0);
    bool in_plain_order = true;
    for (size_t i = 0; i < d->size(); ++i) {
      ++count[d->labels[i]];
      in_plain_order &= d->labels[i] == i % 10;
    }
    for (size_t k = 0; k < 10; ++k) EXPECT_EQ(count[k], d->size() / 10) << "class " << k;
    EXPECT_FALSE(in_plain_order);
  }
  EXPECT_EQ(s.split.train.size(), 2000u);
  EXPECT_EQ(s.split.test.size(), 500u);
}

// Default layout: 5 distinct evidence cells, class k in cell k mod 5; with evidence_cells >=
// num_classes every class has a cell of its own.  Masks are exactly the cells.
TEST(Planted, CellsAreDistinctAndMasksAreExactlyTheCells) {
  for (int evidence_cells : {5, 10, 64})
    for (uint64_t seed : {1, 2, 3}) {
      PlantedConfig cfg;
      cfg.seed = seed, cfg.train_count = 10, cfg.test_count = 10, cfg.evidence_cells = evidence_cells;
      const PlantedSet s = datasets::make_planted(cfg);
      const int used = std::min(evidence_cells, 10);
      ASSERT_EQ(s.class_cells.size(), 10u);
      std::set<std::pair<int, int>> seen;
      std::vector<uint8_t> expected_union(32 * 32, 0);
      for (int k = 0; k < 10; ++k) {
        ASSERT_EQ(s.class_cells[k].size(), 1u);
        const auto [row, col] = s.class_cells[k][0];
        EXPECT_TRUE(row >= 0 && row < 8 && col >= 0 && col < 8);
        if (k < used)
          EXPECT_TRUE(seen.insert({row, col}).second) << "cell reused by class " << k;
        else
          EXPECT_EQ(s.class_cells[k], s.class_cells[k % used]) << "class " << k;
        const std::vector<uint8_t> m = s.mask(k);
        ASSERT_EQ(m.size(), 32u * 32);
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x) {
            const bool inside = y / 4 == row && x / 4 == col;  // 4×4-pixel cells at 32×32
            EXPECT_EQ(m[y * 32 + x], inside ? 1 : 0);
            expected_union[y * 32 + x] |= m[y * 32 + x];
          }
      }
      EXPECT_EQ(s.union_mask(), expected_union);
      EXPECT_THROW(s.mask(10), base::Error);
      EXPECT_THROW(s.mask(-1), base::Error);
    }
}

TEST(Planted, CellsTileAnImageThatIsNotAMultipleOfTheGrid) {
  PlantedConfig cfg;
  cfg.height = 30, cfg.width = 29, cfg.cell_rows = 8, cfg.cell_cols = 7;
  std::vector<int> covered(30 * 29, 0);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 7; ++c) {
      const CellBox b = datasets::cell_box(cfg, r, c);
      EXPECT_EQ(b.y0, r * 30 / 8);
      EXPECT_EQ(b.x1, (c + 1) * 29 / 7);
      for (int y = b.y0; y < b.y1; ++y)
        for (int x = b.x0; x < b.x1; ++x) ++covered[y * 29 + x];
    }
  for (int n : covered) EXPECT_EQ(n, 1);
  cfg.train_count = 30, cfg.test_count = 0;
  const PlantedSet s = datasets::make_planted(cfg);
  EXPECT_EQ(s.split.train.pixels.size(), 30u * 3 * 30 * 29);
  EXPECT_EQ(s.split.test.size(), 0u);
}

// Per-pixel mean over the images of class k (null images excluded when skip_null): (K, C·H·W).
std::vector<std::vector<double>> class_templates(const PlantedSet& s, bool skip_null) {
  const Dataset& d = s.split.train;
  const size_t n = size_t(d.channels) * d.height * d.width;
  const int K = int(s.class_cells.size());
  std::vector<std::vector<double>> t(K, std::vector<double>(n, 0));
  std::vector<int> count(K, 0);
  for (size_t i = 0; i < d.size(); ++i) {
    if (skip_null && s.train_is_null[i]) continue;
    const uint8_t* image = d.view().image(i);
    for (size_t p = 0; p < n; ++p) t[d.labels[i]][p] += image[p];
    ++count[d.labels[i]];
  }
  for (int k = 0; k < K; ++k)
    for (double& v : t[k]) v /= count[k];
  return t;
}

// The evidence is where the masks say: class k's mean image is brighter than the background
// exactly on its pattern pixels inside its cell; a nearest-template classifier that sees only
// the evidence cells is almost perfect; outside every evidence cell everything is background.
TEST(Planted, EvidenceLivesInsideTheMask) {
  const PlantedSet s = datasets::make_planted({});
  const int K = 10;
  const Dataset& test = s.split.test;
  const std::vector<std::vector<double>> t = class_templates(s, true);
  const std::vector<uint8_t> inside = s.union_mask();
  for (int k = 0; k < K; ++k) {
    const std::vector<uint8_t> own = s.mask(k);
    double own_sum = 0, own_n = 0, rest_sum = 0, rest_n = 0;
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 32 * 32; ++p) {
        const double v = t[k][ch * 32 * 32 + p];
        if (own[p]) {
          own_sum += v, ++own_n;
        } else {
          rest_sum += v, ++rest_n;
          EXPECT_NEAR(v, 128.0, 20.0) << "class " << k << " pixel " << p;  // 160 images, sd 40: 6.3 SE
        }
      }
    EXPECT_NEAR(own_sum / own_n, 128.0 + 45.0, 6.0) << "class " << k;  // half the cell at +90
    EXPECT_NEAR(rest_sum / rest_n, 128.0, 0.5) << "class " << k;
  }

  // Classes sharing a cell differ only in their pattern: templates restricted to the
  // evidence cells separate all ten classes.
  size_t correct = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const uint8_t* image = test.view().image(i);
    int best = 0;
    double best_d2 = INFINITY;
    for (int k = 0; k < K; ++k) {
      double d2 = 0;
      for (int ch = 0; ch < 3; ++ch)
        for (int p = 0; p < 32 * 32; ++p)
          if (inside[p]) {
            const double diff = image[ch * 32 * 32 + p] - t[k][ch * 32 * 32 + p];
            d2 += diff * diff;
          }
      if (d2 < best_d2) best_d2 = d2, best = k;
    }
    correct += best == test.labels[i];
  }
  EXPECT_GE(double(correct) / double(test.size()), 0.99);

  // Outside every evidence cell the pixels carry no class information: mean ≈ 128 per class.
  const Dataset& train = s.split.train;
  std::vector<double> sum(K, 0), n(K, 0);
  for (size_t i = 0; i < train.size(); ++i) {
    const uint8_t* image = train.view().image(i);
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 32 * 32; ++p)
        if (!inside[p]) sum[train.labels[i]] += image[ch * 32 * 32 + p], ++n[train.labels[i]];
  }
  for (int k = 0; k < K; ++k) EXPECT_NEAR(sum[k] / n[k], 128.0, 0.5) << "class " << k;
}

// pattern_mask is exactly the set of pixels the evidence changes: with a flat background (noise 0)
// a test pixel differs from 128 only where some image's class pattern lies, and every pattern
// pixel is changed in some image.  With 5 shared cells (two patterns per cell) and with moving
// evidence (two cells per class).  A mask of whole cells (union_mask) or of one class's pattern
// per cell would fail.
TEST(Planted, PatternMaskIsExactlyThePixelsTheEvidenceChanges) {
  for (const std::string options : {"3", "5,moving"}) {
    PlantedConfig cfg = datasets::planted_config_from(options);
    cfg.noise_sd = 0, cfg.train_count = 40, cfg.test_count = 400;
    const PlantedSet s = datasets::make_planted(cfg);
    const std::vector<uint8_t> mask = s.pattern_mask(), cells = s.union_mask();
    std::vector<uint8_t> changed(mask.size(), 0);
    const Dataset& test = s.split.test;
    for (size_t i = 0; i < test.size(); ++i)
      for (int ch = 0; ch < 3; ++ch)
        for (size_t p = 0; p < mask.size(); ++p) changed[p] |= test.view().image(i)[ch * mask.size() + p] != 128;
    size_t on = 0, in_cells = 0;
    for (size_t p = 0; p < mask.size(); ++p) {
      EXPECT_EQ(mask[p], changed[p]) << options << " pixel " << p;
      EXPECT_LE(mask[p], cells[p]) << options << " pixel " << p;
      on += mask[p], in_cells += cells[p];
    }
    EXPECT_LT(on, in_cells) << options;  // some pixels of the evidence cells carry no pattern
  }
}

// 20% of the training images (a whole number per class) are background only; the test
// split has none.  Their templates are flat 128 everywhere, so "no evidence" says nothing
// about the class.
TEST(Planted, NullImagesAreBalancedBackgroundOnlyAndOnlyInTraining) {
  const PlantedSet s = datasets::make_planted({});
  ASSERT_EQ(s.train_is_null.size(), 2000u);
  std::vector<int> per_class(10, 0);
  for (size_t i = 0; i < 2000; ++i)
    if (s.train_is_null[i]) ++per_class[s.split.train.labels[i]];
  for (int k = 0; k < 10; ++k) EXPECT_EQ(per_class[k], 40) << "class " << k;

  // Mean over the null images of each evidence cell: background.
  const std::vector<uint8_t> inside = s.union_mask();
  double sum = 0, n = 0;
  for (size_t i = 0; i < 2000; ++i) {
    if (!s.train_is_null[i]) continue;
    const uint8_t* image = s.split.train.view().image(i);
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 32 * 32; ++p)
        if (inside[p]) sum += image[ch * 32 * 32 + p], ++n;
  }
  EXPECT_NEAR(sum / n, 128.0, 0.5);

  PlantedConfig none;
  none.null_fraction = 0, none.train_count = 100, none.test_count = 0;
  const PlantedSet s0 = datasets::make_planted(none);
  for (uint8_t v : s0.train_is_null) EXPECT_EQ(v, 0);
}

// Mean of image i's channel-0 pixels on pattern k's pixels inside cell (row, col), minus the
// mean of the cell's other pixels: about the pattern's strength when it is there, about 0 when not.
double pattern_contrast(const PlantedSet& s, const Dataset& d, size_t i, int k, std::pair<int, int> cell) {
  const CellBox b = datasets::cell_box(s.config, cell.first, cell.second);
  const uint8_t* image = d.view().image(i);
  double on = 0, off = 0;
  int n_on = 0, n_off = 0;
  for (int y = b.y0; y < b.y1; ++y)
    for (int x = b.x0; x < b.x1; ++x) {
      const bool lit = datasets::pattern_on(k, y - b.y0, x - b.x0, b.y1 - b.y0, b.x1 - b.x0);
      (lit ? on : off) += image[y * d.width + x];
      (lit ? n_on : n_off) += 1;
    }
  return on / n_on - off / n_off;
}

// Moving evidence: 20 distinct cells, two per class; each image carries its class's pattern in
// the cell it drew (both about equally often) and not in the other one.
TEST(Planted, MovingEvidenceSitsInOneOfTheTwoCellsOfItsClass) {
  PlantedConfig cfg = datasets::planted_config_from("4,moving");
  EXPECT_EQ(cfg.evidence_cells, 20);
  EXPECT_EQ(cfg.cells_per_class, 2);
  cfg.train_count = 400, cfg.test_count = 200;
  const PlantedSet s = datasets::make_planted(cfg);
  std::set<std::pair<int, int>> cells;
  for (const auto& c : s.class_cells) {
    ASSERT_EQ(c.size(), 2u);
    cells.insert(c.begin(), c.end());
  }
  EXPECT_EQ(cells.size(), 20u);
  const Dataset& test = s.split.test;
  int first = 0;
  double with = 0, without = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const int k = test.labels[i], j = s.test_cell[i];
    first += j == 0;
    with += pattern_contrast(s, test, i, k, s.class_cells[k][j]) / test.size();
    without += pattern_contrast(s, test, i, k, s.class_cells[k][1 - j]) / test.size();
  }
  EXPECT_NEAR(with, 90.0, 8.0);    // the pattern's +90 (clamping at 255 takes a little)
  EXPECT_NEAR(without, 0.0, 8.0);  // background: sd 40 over 8 pixels per side, 200 images
  EXPECT_GT(first, 70);
  EXPECT_LT(first, 130);
}

// The distractor: a cell of its own, a pattern in every image (null training images too), drawn
// independently of the label; unequal strengths run linearly from (1 − s) to (1 + s)·signal.
TEST(Planted, DistractorInEveryImageWithoutLabelInformationAndUnequalStrengths) {
  PlantedConfig cfg = datasets::planted_config_from("2,cells=10,unequal=0.5,distractor");
  EXPECT_EQ(cfg.evidence_cells, 10);
  EXPECT_FLOAT_EQ(cfg.distractor_signal, 135.f);
  cfg.train_count = 1000, cfg.test_count = 500;
  const PlantedSet s = datasets::make_planted(cfg);
  for (const auto& c : s.class_cells) EXPECT_NE(c[0], s.distractor_cell);
  ASSERT_NE(s.distractor_cell.first, -1);
  ASSERT_EQ(s.class_signal.size(), 10u);
  for (int k = 0; k < 10; ++k) EXPECT_NEAR(s.class_signal[k], 90.0 * (0.5 + k / 9.0), 1e-4) << k;
  // Every image, null ones included, shows its drawn distractor pattern.
  double contrast = 0;
  for (size_t i = 0; i < s.split.train.size(); ++i)
    contrast += pattern_contrast(s, s.split.train, i, s.train_distractor[i], s.distractor_cell) / s.split.train.size();
  EXPECT_GT(contrast, 100.0);
  // Independent of the label: every (class, pattern) pair about 1/100 of the test images.
  std::vector<int> count(100, 0);
  for (size_t i = 0; i < s.split.test.size(); ++i) ++count[s.split.test.labels[i] * 10 + s.test_distractor[i]];
  for (int c : count) EXPECT_LT(c, 20);  // expected 5 each
  // A class's strength shows in its own cell: the weak class 0 at ~45, the strong class 9 at ~135.
  std::vector<double> own(10, 0);
  std::vector<int> n(10, 0);
  for (size_t i = 0; i < s.split.test.size(); ++i) {
    const int k = s.split.test.labels[i];
    own[k] += pattern_contrast(s, s.split.test, i, k, s.class_cells[k][0]), ++n[k];
  }
  EXPECT_NEAR(own[0] / n[0], 45.0, 8.0);
  EXPECT_GT(own[9] / n[9], 100.0);  // 128 + 135 clamps at 255 on most pattern pixels
}

TEST(Planted, DataSpecOptionsAndTheirErrors) {
  const PlantedConfig plain = datasets::planted_config_from("7");
  EXPECT_EQ(plain.seed, 7u);
  EXPECT_EQ(plain.evidence_cells, 5);
  EXPECT_EQ(plain.cells_per_class, 1);
  EXPECT_EQ(plain.distractor_signal, 0.f);
  const PlantedConfig c = datasets::planted_config_from("3,cells=12,moving,distractor=50");
  EXPECT_EQ(c.evidence_cells, 12);  // cells= wins over moving's 20
  EXPECT_EQ(c.cells_per_class, 2);
  EXPECT_EQ(c.distractor_signal, 50.f);
  expect_error_naming([] { datasets::planted_config_from("x"); }, "seed 'x'");
  expect_error_naming([] { datasets::planted_config_from("1,cells=0"); }, "cells '0'");
  expect_error_naming([] { datasets::planted_config_from("1,unequal=2"); }, "unequal '2'");
  expect_error_naming([] { datasets::planted_config_from("1,distractor=-3"); }, "distractor '-3'");
  expect_error_naming([] { datasets::planted_config_from("1,wobble"); }, "option 'wobble'");
  // An option given twice is refused naming it (the later one silently won).
  expect_error_naming([] { datasets::planted_config_from("1,cells=3,cells=5"); }, "option 'cells=5': cells is given twice");
  expect_error_naming([] { datasets::planted_config_from("1,moving,distractor,moving"); }, "option 'moving': moving is given twice");
  // More cells than the classes can hold would be capped silently: refused, naming the cap.
  EXPECT_EQ(datasets::planted_config_from("1,cells=10").evidence_cells, 10);
  EXPECT_EQ(datasets::planted_config_from("1,cells=20,moving").evidence_cells, 20);
  expect_error_naming([] { datasets::planted_config_from("1,cells=11"); }, "cells=11 exceeds 10");
  expect_error_naming([] { datasets::planted_config_from("1,cells=99,moving"); }, "cells=99 exceeds 20");
  PlantedConfig full;  // 64 classes in all 64 cells leave none for the distractor
  full.num_classes = 64, full.evidence_cells = 64, full.distractor_signal = 1, full.train_count = full.test_count = 0;
  expect_error_naming([&] { datasets::make_planted(full); }, "64 evidence cells and a distractor exceed the 64 cells");
}

// A seed or count is decimal digits only, a number has no blanks: strtoull skipped leading blanks and
// took a sign, so "planted: -1" was seed 2^64 − 1 (while "planted:-1" was refused) and "planted:+1",
// "cells= 3" other spellings of one data set.
TEST(Planted, NumbersInTheSpecHaveOneSpelling) {
  expect_error_naming([] { datasets::planted_config_from(" -1"); }, "seed ' -1' is not a non-negative integer");
  expect_error_naming([] { datasets::planted_config_from("+1"); }, "seed '+1'");
  expect_error_naming([] { datasets::planted_config_from(" 1"); }, "seed ' 1'");
  expect_error_naming([] { datasets::planted_config_from("1,cells= 3"); }, "cells ' 3'");
  expect_error_naming([] { datasets::planted_config_from("1,unequal= 0.5"); }, "unequal ' 0.5' is not a number");
  expect_error_naming([] { datasets::planted_config_from("1,distractor=\t50"); }, "distractor '\\t50'");
  EXPECT_EQ(datasets::planted_config_from("0").seed, 0u);
  EXPECT_EQ(datasets::planted_config_from("18446744073709551615").seed, 18446744073709551615u);
  EXPECT_EQ(datasets::planted_config_from("1,unequal=0.5").signal_spread, 0.5);
}

// The null images are a whole number of rounds of the K labels, rounded down (planted.h: "a fraction
// null_fraction of the training images", at most that share): 0.2 of 75 images is 1.5 rounds, 1 round.
TEST(Planted, NullImagesAreWholeRoundsRoundedDown) {
  PlantedConfig cfg;
  cfg.train_count = 75, cfg.test_count = 0;
  const PlantedSet s = datasets::make_planted(cfg);
  EXPECT_EQ(std::count(s.train_is_null.begin(), s.train_is_null.end(), 1), 10);
  cfg.train_count = 99;  // 1.98 rounds
  const std::vector<uint8_t> is_null = datasets::make_planted(cfg).train_is_null;
  EXPECT_EQ(std::count(is_null.begin(), is_null.end(), 1), 10);
}

// With moving evidence class k owns cells c[k·P], …, c[k·P + P − 1] of the shuffled list (indices mod
// the evidence cells): with 5 cells and P = 2, class k's cells are c[2k mod 5] and c[(2k + 1) mod 5],
// so two (class, j) pairs share a cell exactly when their indices agree mod 5.
TEST(Planted, MovingClassesOwnConsecutiveCellsOfTheShuffledList) {
  for (const std::string options : {"1,cells=5,moving", "6,cells=7,moving"}) {
    PlantedConfig cfg = datasets::planted_config_from(options);
    cfg.train_count = cfg.test_count = 0;
    const PlantedSet s = datasets::make_planted(cfg);
    const int n = cfg.evidence_cells;
    for (int k = 0; k < 10; ++k)
      for (int j = 0; j < 2; ++j)
        for (int k2 = 0; k2 < 10; ++k2)
          for (int j2 = 0; j2 < 2; ++j2)
            EXPECT_EQ(s.class_cells[k][j] == s.class_cells[k2][j2], (2 * k + j) % n == (2 * k2 + j2) % n)
                << options << ": class " << k << " cell " << j << ", class " << k2 << " cell " << j2;
  }
}

// The distractor takes the first cell after the evidence cells IN USE (at most one per class and
// cell): evidence_cells 20 or 64 with 10 classes is the layout of 10, distractor included, and 64 is
// no reason to refuse a distractor.  On a grid that is not square the cell stays a cell of its own.
TEST(Planted, TheDistractorFollowsTheEvidenceCellsInUse) {
  PlantedConfig cfg;
  cfg.train_count = cfg.test_count = 0, cfg.distractor_signal = 50, cfg.evidence_cells = 10;
  const PlantedSet ten = datasets::make_planted(cfg);
  for (int cells : {20, 64}) {
    cfg.evidence_cells = cells;
    PlantedSet more;
    EXPECT_NO_THROW(more = datasets::make_planted(cfg)) << cells;
    EXPECT_EQ(more.class_cells, ten.class_cells) << cells;
    EXPECT_EQ(more.distractor_cell, ten.distractor_cell) << cells;
  }
  cfg.evidence_cells = 10, cfg.cell_rows = 4, cfg.cell_cols = 8;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    cfg.seed = seed;
    const PlantedSet s = datasets::make_planted(cfg);
    std::set<std::pair<int, int>> used;
    for (const auto& c : s.class_cells) used.insert(c[0]);
    EXPECT_EQ(used.count(s.distractor_cell), 0u) << "seed " << seed;
    EXPECT_TRUE(s.distractor_cell.first >= 0 && s.distractor_cell.first < 4 && s.distractor_cell.second >= 0 &&
                s.distractor_cell.second < 8) << "seed " << seed;
  }
  // 64 classes fill the 64 cells exactly: allowed without a distractor (with one: ImpossibleConfigsThrow)
  PlantedConfig full;
  full.num_classes = 64, full.evidence_cells = 64, full.train_count = full.test_count = 0;
  EXPECT_NO_THROW(datasets::make_planted(full));
}

// A pattern that misses a tiny cell (1 pixel high: "first half of the rows", odd rows) falls back to
// the whole cell, so every class has evidence: with a flat background each class's images differ from
// 128 inside its own cell.
TEST(Planted, EveryClassHasEvidenceInCellsOneRowHigh) {
  PlantedConfig cfg;
  cfg.height = 8, cfg.evidence_cells = 10, cfg.noise_sd = 0, cfg.train_count = 0, cfg.test_count = 100;
  const PlantedSet s = datasets::make_planted(cfg);
  std::vector<int> lit(10, 0);
  const Dataset& test = s.split.test;
  for (size_t i = 0; i < test.size(); ++i) {
    const std::vector<uint8_t> own = s.mask(test.labels[i]);
    for (size_t p = 0; p < own.size(); ++p) lit[test.labels[i]] += own[p] && test.view().image(i)[p] != 128;
  }
  for (int k = 0; k < 10; ++k) EXPECT_GT(lit[k], 0) << "class " << k;
}

// Pins the harder options' draws (planted.h: per image the cell choice, then the distractor pattern,
// then the pixels): a change here changes every "planted:SEED,moving,distractor" run.  Each of the ten
// distractor patterns is drawn.
TEST(Planted, GoldenBytesForMovingEvidenceWithADistractor) {
  PlantedConfig cfg = datasets::planted_config_from("1,moving,unequal=0.5,distractor");
  cfg.train_count = 50, cfg.test_count = 500;
  const PlantedSet s = datasets::make_planted(cfg);
  const std::vector<uint8_t>& p = s.split.train.pixels;
  EXPECT_EQ(base::sha256_hex(p.data(), p.size()), "4e2a3d5f50cfae0c166af16c6e65e78ee5aff25f49ec9412db1a6281d7f0ac4f");
  EXPECT_EQ(base::sha256_hex(s.train_cell.data(), s.train_cell.size()), "7a4f4344947580d518fbbc3e9cb56effe58359d2f44c281bb614273b5a2819f7");
  EXPECT_EQ(base::sha256_hex(s.train_distractor.data(), s.train_distractor.size()), "115f3f1b6b8172335b9c64ffb3c97f8b43650d93172436d35da65ffc109f35f1");
  std::vector<int> count(10, 0);
  for (uint8_t d : s.test_distractor) ++count[d];
  for (int k = 0; k < 10; ++k) EXPECT_GT(count[k], 25) << "pattern " << k;  // 50 expected
}

// background=DIR is the last option: the rest of the spec, commas included, is the folder.
TEST(Planted, ABackgroundFolderMayHoldCommas) {
  EXPECT_EQ(datasets::planted_config_from("1,cells=4,background=/data/a,b,moving").background_dir, "/data/a,b,moving");
  EXPECT_EQ(datasets::planted_config_from("1,cells=4,background=/data/a,b,moving").cells_per_class, 1);
}

TEST(Planted, ImpossibleConfigsThrow) {
  PlantedConfig cfg;
  cfg.evidence_cells = 65, cfg.num_classes = 70;  // only 64 cells
  expect_error_naming([&] { datasets::make_planted(cfg); }, "65 evidence cells exceed the 64 cells");
  cfg = {};
  cfg.num_classes = 20;  // classes 0 and 10 would share cell 0 and pattern 0
  expect_error_naming([&] { datasets::make_planted(cfg); }, "classes 0 and 10 would share a cell and a pattern");
  cfg.evidence_cells = 20;  // one cell each: fine
  EXPECT_NO_THROW(datasets::make_planted(cfg));
  cfg = {};
  cfg.evidence_cells = 0;
  EXPECT_THROW(datasets::make_planted(cfg), base::Error);
  cfg = {};
  cfg.null_fraction = 0.95;
  EXPECT_THROW(datasets::make_planted(cfg), base::Error);
  cfg = {};
  cfg.num_classes = 1;
  EXPECT_THROW(datasets::make_planted(cfg), base::Error);
  cfg = {};
  cfg.cell_rows = 33;
  EXPECT_THROW(datasets::make_planted(cfg), base::Error);
  cfg = {};
  cfg.test_count = -1;
  EXPECT_THROW(datasets::make_planted(cfg), base::Error);
  cfg = {};
  cfg.noise_sd = NAN;
  EXPECT_THROW(datasets::make_planted(cfg), base::Error);
}

}  // namespace

// Real-image backgrounds: outside the evidence and distractor cells every pixel is the recorded crop
// of the recorded CIFAR-10 image (of the split's own half), mirrored when recorded so; inside, the
// pattern pixels are that background plus the class's signal (clamped), the others the background.
class PlantedBackground : public TempDirTest {
 protected:
  // 30 training and 20 test images of random pixels, even in training and odd in test.
  static datasets::DataSplit fake_cifar() {
    datasets::DataSplit cifar;
    nn::Rng rng(11);
    for (datasets::Dataset* d : {&cifar.train, &cifar.test}) {
      d->name = "cifar10", d->channels = 3, d->height = d->width = 32;
      for (int k = 0; k < 10; ++k) d->class_names.push_back("c" + std::to_string(k));
      const size_t n = d == &cifar.train ? 30 : 20;
      for (size_t i = 0; i < n; ++i) d->labels.push_back(uint8_t(i % 10));
      for (size_t i = 0; i < n * d->image_size(); ++i) d->pixels.push_back(uint8_t(2 * rng.below(64) + (d == &cifar.test)));
    }
    return cifar;
  }
};

TEST_F(PlantedBackground, EveryPixelIsTheRecordedCropPlusTheEvidence) {
  // train pixels are even, test pixels odd: a test image's background cannot come from training images
  const datasets::DataSplit cifar = fake_cifar();
  datasets::write_cifar10(path("cifar"), cifar);
  PlantedConfig cfg = datasets::planted_config_from("4,distractor,background=" + path("cifar"));
  ASSERT_EQ(cfg.background_dir, path("cifar"));
  cfg.height = 28, cfg.width = 30, cfg.cell_rows = cfg.cell_cols = 4;  // crops smaller than 32: offsets drawn
  cfg.train_count = 200, cfg.test_count = 100;
  const PlantedSet s = datasets::make_planted(cfg);
  EXPECT_EQ(s.split.train.files, std::vector<std::string>(datasets::load_cifar10(path("cifar")).train.files));
  bool offsets = false, mirrored = false, unmirrored = false;
  for (const bool train : {true, false}) {
    const datasets::Dataset& d = train ? s.split.train : s.split.test;
    const datasets::Dataset& from = train ? cifar.train : cifar.test;
    const auto& backgrounds = train ? s.train_background : s.test_background;
    ASSERT_EQ(backgrounds.size(), d.size());
    for (size_t i = 0; i < d.size(); ++i) {
      const PlantedSet::Background& b = backgrounds[i];
      ASSERT_LT(b.image, from.size());
      ASSERT_LE(b.y, 32 - 28);
      ASSERT_LE(b.x, 32 - 30);
      offsets |= b.y > 0 || b.x > 0, mirrored |= b.mirrored, unmirrored |= !b.mirrored;
      const bool is_null = train && s.train_is_null[i];
      const int k = d.labels[i];
      const auto evidence_cell = s.class_cells[size_t(k)][0];
      const datasets::CellBox e = datasets::cell_box(cfg, evidence_cell.first, evidence_cell.second);
      const datasets::CellBox x = datasets::cell_box(cfg, s.distractor_cell.first, s.distractor_cell.second);
      const int pattern = train ? s.train_distractor[i] : s.test_distractor[i];
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 28; ++y)
          for (int xx = 0; xx < 30; ++xx) {
            const int sx = b.x + (b.mirrored ? 29 - xx : xx);
            const int bg = from.pixels[size_t(b.image) * 3072 + (size_t(c) * 32 + b.y + y) * 32 + sx];
            double add = 0;
            if (!is_null && y >= e.y0 && y < e.y1 && xx >= e.x0 && xx < e.x1 &&
                datasets::pattern_on(k, y - e.y0, xx - e.x0, e.y1 - e.y0, e.x1 - e.x0))
              add += s.class_signal[size_t(k)];
            if (y >= x.y0 && y < x.y1 && xx >= x.x0 && xx < x.x1 &&
                datasets::pattern_on(pattern, y - x.y0, xx - x.x0, x.y1 - x.y0, x.x1 - x.x0))
              add += cfg.distractor_signal;
            const int expected = int(std::floor(std::clamp(bg + add, 0.0, 255.0) + 0.5));
            ASSERT_EQ(int(d.pixels[i * d.image_size() + (size_t(c) * 28 + y) * 30 + xx]), expected)
                << (train ? "train " : "test ") << i << " " << c << " " << y << " " << xx;
          }
    }
  }
  EXPECT_TRUE(offsets && mirrored && unmirrored);
  // Same spec, same bytes.
  EXPECT_EQ(datasets::make_planted(cfg).split.test.pixels, s.split.test.pixels);
  // A folder that is not CIFAR-10, and an empty folder name: one error naming them.
  expect_error_naming([&] { datasets::make_planted(datasets::planted_config_from("1,background=" + path("none"))); },
                      path("none"));
  expect_error_naming([] { datasets::planted_config_from("1,background="); }, "background= needs a CIFAR-10 folder");
}

// Channel c of an image reads the CIFAR image's channel c mod 3 (planted.h), here with 4 channels; the
// crop's offsets are drawn uniformly over 0 … 32 − H and 0 … 32 − W, both ends included.
TEST_F(PlantedBackground, AFourthChannelReadsTheFirstAndOffsetsReachTheirLastValue) {
  const datasets::DataSplit cifar = fake_cifar();
  datasets::write_cifar10(path("cifar"), cifar);
  PlantedConfig cfg = datasets::planted_config_from("5,background=" + path("cifar"));
  cfg.channels = 4, cfg.height = 28, cfg.width = 30, cfg.cell_rows = cfg.cell_cols = 4;
  cfg.train_count = 0, cfg.test_count = 100;
  const PlantedSet s = datasets::make_planted(cfg);
  const std::vector<uint8_t> evidence = s.union_mask();
  int last_y = 0, last_x = 0;
  for (size_t i = 0; i < s.split.test.size(); ++i) {
    const PlantedSet::Background& b = s.test_background[i];
    last_y += b.y == 4, last_x += b.x == 2;
    for (int c = 0; c < 4; ++c)
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 30; ++x) {
          if (evidence[size_t(y) * 30 + x]) continue;
          const int sx = b.x + (b.mirrored ? 29 - x : x);
          ASSERT_EQ(int(s.split.test.pixels[i * s.split.test.image_size() + (size_t(c) * 28 + y) * 30 + x]),
                    int(cifar.test.pixels[size_t(b.image) * 3072 + (size_t(c % 3) * 32 + b.y + y) * 32 + sx]))
              << "image " << i << " channel " << c << " " << y << " " << x;
        }
  }
  EXPECT_GT(last_y, 5);  // 20 expected
  EXPECT_GT(last_x, 15);  // 33 expected
}
