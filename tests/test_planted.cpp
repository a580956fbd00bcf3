// tests/test_planted.cpp — the planted dataset is deterministic, its masks are exactly
// the class cells, and the class evidence really sits inside those cells (and nowhere
// else), so imaging code can be judged against the masks.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "datasets/planted.h"
#include "datasets/sha256.h"
#include "nn/error.h"

namespace {

using datasets::CellBox;
using datasets::Dataset;
using datasets::PlantedConfig;
using datasets::PlantedSet;

// Mean intensity of image i over every class's cell, all channels: (num_classes).
std::vector<double> cell_means(const PlantedSet& s, const Dataset& d, size_t i) {
  const PlantedConfig& c = s.config;
  const uint8_t* image = d.view().image(i);
  std::vector<double> means;
  for (const auto& cells : s.class_cells) {
    const CellBox b = datasets::cell_box(c, cells[0].first, cells[0].second);
    double sum = 0;
    for (int ch = 0; ch < c.channels; ++ch)
      for (int y = b.y0; y < b.y1; ++y)
        for (int x = b.x0; x < b.x1; ++x) sum += image[(size_t(ch) * c.height + y) * c.width + x];
    means.push_back(sum / (double(c.channels) * (b.y1 - b.y0) * (b.x1 - b.x0)));
  }
  return means;
}

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
  cfg.train_count = 20, cfg.test_count = 10;
  const PlantedSet s = datasets::make_planted(cfg);
  const std::vector<uint8_t>& p = s.split.train.pixels;
  const std::vector<uint8_t>& labels = s.split.test.labels;
  EXPECT_EQ(datasets::sha256_hex(p.data(), p.size()),
            "e00dd7b0cdc5871f26194eff5df6acd93ce3a23bac6b617212ac02b151a00973");
  EXPECT_EQ(datasets::sha256_hex(labels.data(), labels.size()),
            "471c7445ebd64e81949a5d75080f283d1bd375e6a429464fcc3878947e56a57c");
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

TEST(Planted, CellsAreDistinctAndMasksAreExactlyTheCells) {
  for (uint64_t seed : {1, 2, 3}) {
    PlantedConfig cfg;
    cfg.seed = seed, cfg.train_count = 10, cfg.test_count = 10;
    const PlantedSet s = datasets::make_planted(cfg);
    ASSERT_EQ(s.class_cells.size(), 10u);
    std::set<std::pair<int, int>> seen;
    std::vector<uint8_t> expected_union(32 * 32, 0);
    for (int k = 0; k < 10; ++k) {
      ASSERT_EQ(s.class_cells[k].size(), 1u);
      const auto [row, col] = s.class_cells[k][0];
      EXPECT_TRUE(row >= 0 && row < 8 && col >= 0 && col < 8);
      EXPECT_TRUE(seen.insert({row, col}).second) << "cell reused by class " << k;
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
    EXPECT_THROW(s.mask(10), nn::Error);
    EXPECT_THROW(s.mask(-1), nn::Error);
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

// The evidence is where the masks say: in class k's cell, class-k images are much
// brighter than the others; a nearest-class-mean classifier on the per-cell means
// alone is almost perfect; and outside a class's own cell everything is background.
TEST(Planted, EvidenceLivesInsideTheMask) {
  const PlantedSet s = datasets::make_planted({});
  const int K = 10;
  const Dataset& train = s.split.train;
  const Dataset& test = s.split.test;

  // class_means[k][j]: mean over class-k training images of the mean in cell j.
  std::vector<std::vector<double>> class_means(K, std::vector<double>(K, 0));
  std::vector<int> class_count(K, 0);
  for (size_t i = 0; i < train.size(); ++i) {
    const std::vector<double> f = cell_means(s, train, i);
    for (int j = 0; j < K; ++j) class_means[train.labels[i]][j] += f[j];
    ++class_count[train.labels[i]];
  }
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < K; ++j) class_means[k][j] /= class_count[k];
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < K; ++j) {
      if (j == k) continue;
      // Own cell: about +signal/2 (half the cell's pixels carry +90).  Others: background.
      EXPECT_GT(class_means[k][k] - class_means[j][k], 30.0) << "class " << k << " vs " << j;
      EXPECT_NEAR(class_means[k][j], 128.0, 3.0) << "class " << k << " in cell of " << j;
    }

  size_t correct = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const std::vector<double> f = cell_means(s, test, i);
    int best = 0;
    double best_d2 = INFINITY;
    for (int k = 0; k < K; ++k) {
      double d2 = 0;
      for (int j = 0; j < K; ++j) d2 += (f[j] - class_means[k][j]) * (f[j] - class_means[k][j]);
      if (d2 < best_d2) best_d2 = d2, best = k;
    }
    correct += best == test.labels[i];
  }
  EXPECT_GE(double(correct) / double(test.size()), 0.99);

  // Outside every class cell the pixels carry no class information: mean ≈ 128 per class.
  const std::vector<uint8_t> outside_is_0 = s.union_mask();
  std::vector<double> sum(K, 0), n(K, 0);
  for (size_t i = 0; i < train.size(); ++i) {
    const uint8_t* image = train.view().image(i);
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 32 * 32; ++p)
        if (!outside_is_0[p]) sum[train.labels[i]] += image[ch * 32 * 32 + p], ++n[train.labels[i]];
  }
  for (int k = 0; k < K; ++k) EXPECT_NEAR(sum[k] / n[k], 128.0, 0.5) << "class " << k;
}

TEST(Planted, ImpossibleConfigsThrow) {
  PlantedConfig cfg;
  cfg.num_classes = 65;  // only 64 cells
  EXPECT_THROW(datasets::make_planted(cfg), nn::Error);
  cfg = {};
  cfg.num_classes = 1;
  EXPECT_THROW(datasets::make_planted(cfg), nn::Error);
  cfg = {};
  cfg.cell_rows = 33;
  EXPECT_THROW(datasets::make_planted(cfg), nn::Error);
  cfg = {};
  cfg.test_count = -1;
  EXPECT_THROW(datasets::make_planted(cfg), nn::Error);
  cfg = {};
  cfg.noise_sd = NAN;
  EXPECT_THROW(datasets::make_planted(cfg), nn::Error);
}

}  // namespace
