// tests/imaging/test_grid_stats.cpp — the region grid cuts layers as documented (uneven sizes, clamping,
// bad --grid values), and the grid stage computes density, variance, mean_abs, active_fraction,
// coverage and information exactly as specified: hand-computed layers, the tie-rank binning rule,
// label-determined and constant regions, and streaming in batches equal to all at once.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "imaging/grid_stats.h"
#include "run/region_grid.h"
#include "base/error.h"
#include "base/limits.h"
#include "nn/rng.h"
#include "tests/error_of.h"

namespace {

using imaging::GridSettings;
using run::GridSpec;
using imaging::LayerGridAccumulator;
using imaging::LayerGridStats;
using run::RegionGrid;

// ---- run::RegionGrid -------------------------------------------------------------------------------

TEST(RegionGrid, UnevenSizesCutAtFloorBoundaries) {
  const run::RegionGrid g(7, 5, 10, run::GridSpec{3, 2, 4});
  EXPECT_EQ(g.gh, 3);
  // 7 rows into 3 → rows 0-1, 2-3, 4-6
  EXPECT_EQ(g.rows(0).begin, 0); EXPECT_EQ(g.rows(0).end, 2);
  EXPECT_EQ(g.rows(1).begin, 2); EXPECT_EQ(g.rows(1).end, 4);
  EXPECT_EQ(g.rows(2).begin, 4); EXPECT_EQ(g.rows(2).end, 7);
  // 5 columns into 2 → 0-1, 2-4;  10 channels into 4 → 0-1, 2-4, 5-6, 7-9
  EXPECT_EQ(g.cols(0).end, 2); EXPECT_EQ(g.cols(1).begin, 2); EXPECT_EQ(g.cols(1).end, 5);
  const int chan_ends[4] = {2, 5, 7, 10};
  for (int k = 0; k < 4; ++k) EXPECT_EQ(g.chans(k).end, chan_ends[k]);
  const std::vector<int> row_region = {0, 0, 1, 1, 2, 2, 2};
  EXPECT_EQ(g.row_region, row_region);
  // Every unit lies in exactly one region, and the region sizes add up to the layer.
  std::vector<int> seen(g.count(), 0);
  for (int c = 0; c < 10; ++c)
    for (int h = 0; h < 7; ++h)
      for (int w = 0; w < 5; ++w) ++seen[g.region_of(c, h, w)];
  int total = 0;
  for (int r = 0; r < g.count(); ++r) {
    EXPECT_EQ(seen[r], g.units(r)) << g.key(r);
    total += g.units(r);
  }
  EXPECT_EQ(total, 7 * 5 * 10);
}

TEST(RegionGrid, RegionOrderAndKeys) {
  const run::RegionGrid g(8, 8, 8, run::GridSpec{2, 3, 4});
  EXPECT_EQ(g.key(0), "grid_1_1_1");
  EXPECT_EQ(g.key(1), "grid_1_1_2");
  EXPECT_EQ(g.key(4), "grid_1_2_1");
  EXPECT_EQ(g.key(g.count() - 1), "grid_2_3_4");
  // r = ((i−1)·GW + (j−1))·GC + (k−1)
  EXPECT_EQ(g.index(1, 2, 3), (1 * 3 + 2) * 4 + 3);
  for (int r = 0; r < g.count(); ++r) {
    int i, j, k;
    g.coords(r, i, j, k);
    EXPECT_EQ(g.index(i, j, k), r);
  }
}

TEST(RegionGrid, FinerGridIsClampedToTheLayer) {
  const run::RegionGrid map(4, 4, 16, run::GridSpec{8, 8, 4});  // a 4×4 map: one row and column per region
  EXPECT_EQ(map.gh, 4); EXPECT_EQ(map.gw, 4); EXPECT_EQ(map.gc, 4);
  EXPECT_EQ(map.units(0), 1 * 1 * 4);
  const run::RegionGrid fc(1, 1, 10, run::GridSpec{8, 8, 4});  // fc of 10 units → 1×1×4
  EXPECT_EQ(fc.gh, 1); EXPECT_EQ(fc.gw, 1); EXPECT_EQ(fc.gc, 4);
  EXPECT_EQ(fc.count(), 4);
  const run::RegionGrid few(2, 2, 3, run::GridSpec{8, 8, 4});  // 3 channels with gc 4 → 3
  EXPECT_EQ(few.gc, 3);
  EXPECT_EQ(few.count(), 2 * 2 * 3);
}

TEST(RegionGrid, ParsesGridSpecs) {
  const run::GridSpec g = run::parse_grid_spec("2x3x1");
  EXPECT_EQ(g.gh, 2); EXPECT_EQ(g.gw, 3); EXPECT_EQ(g.gc, 1);
  const run::GridSpec d = run::parse_grid_spec("8x8x4");
  EXPECT_EQ(d.gh, 8); EXPECT_EQ(d.gw, 8); EXPECT_EQ(d.gc, 4);
}

TEST(RegionGrid, RejectsBadGridSpecsNamingTheFlag) {
  for (const std::string bad : {"8x8", "0x8x4", "8x8x4x2", "axbxc", "", "8x8x", "x8x4", "-1x8x4", "8x 8x4", "8X8X4"}) {
    const std::string m = error_of([&] { run::parse_grid_spec(bad); });
    EXPECT_NE(m.find("--grid"), std::string::npos) << "'" << bad << "': " << m;
    EXPECT_NE(m.find("'" + bad + "'"), std::string::npos) << m;
  }
}

// Issue 11, defect 1: grid sizes from a file or a flag overflowed i0·H/GH (UBSan at region_grid.h:37) and
// wrote outside the lookup tables, or asked std::vector for billions of entries.
TEST(RegionGrid, SizesOverTheLimitsAreOneErrorBeforeAllocating) {
  EXPECT_NE(error_of([] { run::RegionGrid(50000, 1, 1, {50000, 1, 1}); }).find("grid 50000x1x1"), std::string::npos);
  EXPECT_NE(error_of([] { run::RegionGrid(1300, 1300, 1300, {1300, 1300, 1300}); }).find("at most 4194304 units"),
            std::string::npos);
  EXPECT_NE(error_of([] { run::RegionGrid(64, 64, 64, {64, 64, 64}); }).find("262144 regions, expected at most 4096"),
            std::string::npos);
  EXPECT_NE(error_of([] { run::RegionGrid(0, 1, 1, {1, 1, 1}); }).find("layer shape 0x1x1"), std::string::npos);
  EXPECT_EQ(run::grid_limit_problem(1, 1, 4096, {1, 1, 4096}), "");  // linear:4096 --grid 1x1x4096 is fine
  EXPECT_NE(run::grid_limit_problem(32, 32, 32, {4096, 4096, 4096}).find("32768 regions"), std::string::npos);
  for (const std::string bad : {"9999x9999x9999", "4097x1x1", "1x1x99999"}) {
    const std::string m = error_of([&] { run::parse_grid_spec(bad); });
    EXPECT_NE(m.find("--grid '" + bad + "': expected GHxGWxGC with three integers from 1 to 4096"), std::string::npos) << m;
  }
  EXPECT_EQ(run::parse_grid_spec("4096x1x1").gh, 4096);
}

// The cuts ⌊i·H/GH⌋ are exact for the largest layers (i·H needs 64 bits).
TEST(RegionGrid, CutsOfALargeLayerAreExact) {
  const int height = int(base::kMaxLayerUnits);
  const run::RegionGrid g(height, 1, 1, {4096, 1, 1}, false);
  EXPECT_TRUE(g.row_region.empty());  // no lookup tables asked for
  for (int i0 : {0, 1, 2047, 4095}) {
    EXPECT_EQ(g.rows(i0).begin, int(int64_t(i0) * height / 4096)) << i0;
    EXPECT_EQ(g.rows(i0).end, int(int64_t(i0 + 1) * height / 4096)) << i0;
  }
  EXPECT_EQ(g.rows(4095).end, height);
}

// ---- binning and information --------------------------------------------------------------------

TEST(GridStats, EqualValuesShareTheSmallestRank) {
  // sorted: 1 1 3 5 5 5 7 9 → ranks 1→0, 3→2, 5→3 (not 3,4,5), 7→6, 9→7; bin = ⌊4·r/8⌋
  const std::vector<double> values = {5, 1, 5, 3, 5, 1, 7, 9};
  const std::vector<int> expected = {1, 0, 1, 1, 1, 0, 3, 3};
  EXPECT_EQ(imaging::equal_frequency_bins(values.data(), values.size(), 4), expected);
  // distinct values: exactly n/bins per bin
  const std::vector<double> distinct = {0.7, 0.1, 0.5, 0.3, 0.2, 0.8, 0.4, 0.6};
  const std::vector<int> quarters = {3, 0, 2, 1, 0, 3, 1, 2};
  EXPECT_EQ(imaging::equal_frequency_bins(distinct.data(), distinct.size(), 4), quarters);
  // all equal → one bin
  const std::vector<double> same(10, 2.5);
  EXPECT_EQ(imaging::equal_frequency_bins(same.data(), same.size(), 8), std::vector<int>(10, 0));
}

TEST(GridStats, InformationBitsOnHandCases) {
  const std::vector<uint8_t> labels = {0, 0, 1, 1};
  const std::vector<int> pure = {0, 0, 1, 1}, mixed = {0, 1, 0, 1}, skew = {0, 0, 0, 1};
  EXPECT_NEAR(imaging::information_bits(pure.data(), labels.data(), 4, 2, 2), 1.0, 1e-12);
  EXPECT_NEAR(imaging::information_bits(mixed.data(), labels.data(), 4, 2, 2), 0.0, 1e-12);
  // H(Y) = 1, H(Y|Q) = ¾·H(⅔, ⅓)
  const double h = -(2.0 / 3) * std::log2(2.0 / 3) - (1.0 / 3) * std::log2(1.0 / 3);
  EXPECT_NEAR(imaging::information_bits(skew.data(), labels.data(), 4, 2, 2), 1.0 - 0.75 * h, 1e-12);
}

TEST(GridStats, ShuffledLabelsAreAFixedPermutation) {
  std::vector<uint8_t> labels(100);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(i % 10);
  const std::vector<uint8_t> a = imaging::shuffled_labels(labels.data(), labels.size(), imaging::kNullShuffleSeed);
  const std::vector<uint8_t> b = imaging::shuffled_labels(labels.data(), labels.size(), imaging::kNullShuffleSeed);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, labels);
  std::vector<int> count(10, 0);
  for (uint8_t y : a) ++count[y];
  EXPECT_EQ(count, std::vector<int>(10, 10));
}

// ---- the accumulator on hand-filled layers ------------------------------------------------------

// Accumulates `images` (n, C, H, W) in batches of `batch` and finishes with `labels`.
LayerGridStats accumulate(const std::vector<float>& images, int n, int c, int h, int w, const GridSettings& settings,
                          int batch, const std::vector<uint8_t>& labels, int num_classes) {
  LayerGridAccumulator layer("test", h, w, c, settings, size_t(n));
  const size_t sample = size_t(c) * h * w;
  for (int offset = 0; offset < n; offset += batch)
    layer.add(images.data() + offset * sample, std::min(batch, n - offset), size_t(offset));
  return layer.finish(labels.data(), num_classes);
}

TEST(GridStats, HandComputedDensityVarianceMeanAbsActiveFraction) {
  // A 2×2 layer with 2 channels, grid 1x1x2: region r = channel, 4 units each; 2 images.
  const std::vector<float> images = {
      1, -1, 3, -3, /* ch1 */ 0, 0, 0, 2,  // image 0
      2, 2, 2, 2, /* ch1 */ 0, 0, 0, 0,    // image 1
  };
  GridSettings settings;
  settings.grid = run::GridSpec{1, 1, 2};
  const LayerGridStats s = accumulate(images, 2, 2, 2, 2, settings, 2, {0, 1}, 2);
  ASSERT_EQ(s.regions.size(), 2u);
  const double lambda = 0.1, eps = 1e-6;
  // channel 0: m = 2, 2; v = (1+1+9+9)/4 = 5, 0; all 8 pairs active
  EXPECT_NEAR(s.regions[0].mean_abs, 2.0, 1e-12);
  EXPECT_NEAR(s.regions[0].variance, 2.5, 1e-12);
  EXPECT_NEAR(s.regions[0].density, 0.5 * ((2 + lambda * std::log(5 + eps)) + (2 + lambda * std::log(eps))), 1e-12);
  EXPECT_NEAR(s.regions[0].active_fraction, 1.0, 1e-12);
  EXPECT_EQ(s.regions[0].activation_count, 4);
  // channel 1: m = 0.5, 0; μ = 0.5 → v = (3·0.25 + 2.25)/4 = 0.75, 0; 1 of 8 pairs active
  EXPECT_NEAR(s.regions[1].mean_abs, 0.25, 1e-12);
  EXPECT_NEAR(s.regions[1].variance, 0.375, 1e-12);
  EXPECT_NEAR(s.regions[1].density, 0.5 * ((0.5 + lambda * std::log(0.75 + eps)) + lambda * std::log(eps)), 1e-12);
  EXPECT_NEAR(s.regions[1].active_fraction, 0.125, 1e-12);
  EXPECT_NEAR(s.coverage, 1.0, 1e-12);
  EXPECT_TRUE(s.dead_regions.empty());
}

// coverage = share of regions with active_fraction ≥ 0.05 (README "Region grid"): a region active on 1 of
// its 20 (unit, image) pairs is live, exactly at the cut; one never active is dead.
TEST(GridStats, ARegionActiveOnFivePercentOfPairsIsLive) {
  std::vector<float> images(5 * 2 * 4, 0.f);  // 5 images, 2 channels of 2×2; grid 1x1x2: region = channel
  images[2] = 0.5f;                           // image 0, channel 0, one unit
  GridSettings settings;
  settings.grid = run::GridSpec{1, 1, 2};
  const LayerGridStats s = accumulate(images, 5, 2, 2, 2, settings, 5, {0, 1, 0, 1, 0}, 2);
  ASSERT_EQ(s.regions.size(), 2u);
  EXPECT_EQ(s.regions[0].active_fraction, 0.05);
  EXPECT_EQ(s.regions[1].active_fraction, 0.0);
  EXPECT_EQ(s.dead_regions, (std::vector<int>{1}));
  EXPECT_EQ(s.coverage, 0.5);
}

TEST(GridStats, LambdaAndEpsilonEnterDensityAsSpecified) {
  const std::vector<float> images = {1, 3, 1, 3};  // one region of 4 units: m = 2, v = 1
  GridSettings settings;
  settings.lambda = 0.5, settings.epsilon = 0.25;
  const LayerGridStats s = accumulate(images, 1, 1, 2, 2, settings, 1, {0}, 1);
  ASSERT_EQ(s.regions.size(), 4u);  // 2×2×1 clamped: one unit per region
  // each region is one unit: v = 0, φ = |a| + 0.5·ln(0.25)
  EXPECT_NEAR(s.regions[1].density, 3 + 0.5 * std::log(0.25), 1e-12);
  settings.grid = run::GridSpec{1, 1, 1};
  const LayerGridStats whole = accumulate(images, 1, 1, 2, 2, settings, 1, {0}, 1);
  EXPECT_NEAR(whole.regions[0].density, 2 + 0.5 * std::log(1.25), 1e-12);
}

// image_phi sweeps a sample once per pass and interleaves the regions along each row; the slow
// definition below sums one region's units alone, in (c, h, w) order.  Both add the same doubles in
// the same order, so they must agree to the bit, on uneven cuts, clamped grids and mixed signs.
TEST(GridStats, ImagePhiSweepEqualsThePerRegionDefinitionBitForBit) {
  struct Case {
    int c, h, w;
    run::GridSpec spec;
  };
  const Case cases[] = {{10, 7, 5, {3, 2, 4}}, {32, 32, 32, {8, 8, 4}}, {6, 3, 9, {8, 8, 4}}, {256, 1, 1, {8, 8, 4}},
                        {5, 11, 13, {4, 3, 2}}};
  nn::Rng rng(17);
  for (const Case& k : cases) {
    const run::RegionGrid grid(k.h, k.w, k.c, k.spec);
    std::vector<float> sample(size_t(k.c) * k.h * k.w);
    for (float& a : sample) a = rng.below(4) == 0 ? 0.f : float(rng.below(1 << 20)) / 4096.f - 128.f;  // a quarter exact zeros
    std::vector<double> fast(size_t(grid.count()));
    const double lambda = 0.1, epsilon = 1e-6;
    imaging::image_phi(grid, sample.data(), lambda, epsilon, fast.data());
    for (int r = 0; r < grid.count(); ++r) {
      int i0, j0, k0;
      grid.coords(r, i0, j0, k0);
      double sum_abs = 0, sum = 0, squares = 0;
      const auto units = [&](auto&& f) {
        for (int c = grid.chans(k0).begin; c < grid.chans(k0).end; ++c)
          for (int h = grid.rows(i0).begin; h < grid.rows(i0).end; ++h)
            for (int w = grid.cols(j0).begin; w < grid.cols(j0).end; ++w) f(sample[(size_t(c) * k.h + h) * k.w + w]);
      };
      units([&](float a) { sum_abs += std::fabs(double(a)), sum += a; });
      const double n = grid.units(r), mean = sum / n;
      units([&](float a) { squares += (a - mean) * (a - mean); });
      const double slow = sum_abs / n + lambda * std::log(squares / n + epsilon);
      ASSERT_EQ(fast[size_t(r)], slow) << k.c << "x" << k.h << "x" << k.w << " region " << grid.key(r);
    }
  }
}

// The even-grid kernel (width = W·GW, W in {1, 2, 4, 8}, GW in {4, 8}) and the general sweep (any other
// cut) against the per-region definition: mean_abs, variance, active_fraction and φ of one image, to
// the bit.  Values mix signs, exact zeros, -0 and magnitudes either side of the activity threshold 1e-6.
// Both kernels add a squared deviation as d·d + s, which the compiler fuses into one multiply-add where
// the target has one (-march=native, GCC's default -ffp-contract=fast): the definition rounds the same.
TEST(GridStats, EvenAndGeneralKernelsEqualThePerRegionDefinitionBitForBit) {
  struct Case {
    int c, h, w;
    run::GridSpec spec;
  };
  const Case cases[] = {
      {32, 32, 32, {8, 8, 4}},  {32, 16, 16, {8, 8, 4}}, {64, 8, 8, {8, 8, 4}},  {128, 4, 4, {4, 4, 4}},  // W = 4, 2, 1, 1
      {12, 9, 64, {3, 8, 5}},   {7, 5, 16, {2, 2, 3}},   {9, 6, 8, {4, 1, 2}},   {256, 1, 1, {1, 1, 4}},  // W = 8; GW = 2, 1
      {3, 5, 32, {2, 4, 2}},    {4, 6, 16, {3, 4, 2}},   {5, 3, 8, {2, 4, 3}},  // GW = 4 with W = 8, 4, 2 (every instantiation)
      {6, 7, 24, {3, 8, 4}},    {5, 6, 64, {2, 16, 2}},  {10, 7, 5, {3, 2, 4}},  {5, 11, 13, {4, 3, 2}}};  // general
  nn::Rng rng(29);
  for (const Case& k : cases) {
    const run::RegionGrid grid(k.h, k.w, k.c, k.spec);
    std::vector<float> sample(size_t(k.c) * k.h * k.w);
    for (float& a : sample) {
      switch (rng.below(6)) {
        case 0: a = 0.f; break;
        case 1: a = -0.f; break;
        case 2: a = (rng.below(2) ? 1.f : -1.f) * float(rng.below(3) + 1) * 5e-7f; break;  // 5e-7, 1e-6, 1.5e-6
        default: a = float(rng.below(1 << 20)) / 4096.f - 128.f;
      }
    }
    GridSettings settings;
    settings.grid = k.spec;
    const LayerGridStats s = accumulate(sample, 1, k.c, k.h, k.w, settings, 1, {0}, 1);
    ASSERT_EQ(s.regions.size(), size_t(grid.count()));
    for (int r = 0; r < grid.count(); ++r) {
      int i0, j0, k0;
      grid.coords(r, i0, j0, k0);
      double sum_abs = 0, sum = 0, squares = 0;
      long active = 0;
      const auto units = [&](auto&& f) {
        for (int c = grid.chans(k0).begin; c < grid.chans(k0).end; ++c)
          for (int h = grid.rows(i0).begin; h < grid.rows(i0).end; ++h)
            for (int w = grid.cols(j0).begin; w < grid.cols(j0).end; ++w) f(sample[(size_t(c) * k.h + h) * k.w + w]);
      };
      units([&](float a) { sum_abs += std::fabs(double(a)), sum += a, active += std::fabs(double(a)) > imaging::kActiveThreshold; });
      const double n = grid.units(r), mean = sum / n;
      units([&](float a) {
        const double d = a - mean;
#ifdef __FMA__
        squares = std::fma(d, d, squares);
#else
        squares += d * d;
#endif
      });
      const std::string where = std::to_string(k.c) + "x" + std::to_string(k.h) + "x" + std::to_string(k.w) + " " + grid.key(r);
      ASSERT_EQ(s.regions[size_t(r)].mean_abs, sum_abs / n) << where;
      ASSERT_EQ(s.regions[size_t(r)].variance, squares / n) << where;
      ASSERT_EQ(s.regions[size_t(r)].active_fraction, double(active) / (double(grid.units(r)) * 1.0)) << where;
      ASSERT_EQ(s.regions[size_t(r)].density, sum_abs / n + settings.lambda * std::log(squares / n + settings.epsilon)) << where;
    }
  }
}

TEST(GridStats, SilentRegionsAreDeadAndLowerCoverage) {
  // 1×1×8 layer (an fc of 8 units), grid 1x1x4: units 0-1, 2-3, 4-5, 6-7.  40 images.
  // Units 2-3 are never active; units 4-5 are active on 1 of 40 images each (2.5% < 5%).
  const int n = 40;
  std::vector<float> images(size_t(n) * 8, 0.f);
  for (int x = 0; x < n; ++x) {
    images[x * 8 + 0] = 1.f + x, images[x * 8 + 1] = -1.f;
    images[x * 8 + 6] = 0.5f, images[x * 8 + 7] = 0.5f;
  }
  images[3 * 8 + 4] = 7.f, images[3 * 8 + 5] = 1e-7f;  // |1e-7| is below the activity threshold
  GridSettings settings;
  const LayerGridStats s = accumulate(images, n, 8, 1, 1, settings, 16, std::vector<uint8_t>(n, 0), 1);
  EXPECT_NEAR(s.regions[1].active_fraction, 0.0, 1e-15);
  EXPECT_NEAR(s.regions[2].active_fraction, 1.0 / 80, 1e-15);
  EXPECT_EQ(s.dead_regions, std::vector<int>({1, 2}));
  EXPECT_NEAR(s.coverage, 0.5, 1e-15);
}

TEST(GridStats, LabelDeterminedRegionCarriesHOfYAndConstantRegionNothing) {
  // Layer 1×2×2, grid 1x2x1: region 0 = column 0 (both channels = label), region 1 = column 1 (constant).
  // 8 balanced classes, 80 images → each class one equal-frequency bin → I = H(Y) = log2 8 = 3 bits.
  const int n = 80, classes = 8;
  std::vector<float> images;
  std::vector<uint8_t> labels;
  for (int x = 0; x < n; ++x) {
    const uint8_t y = uint8_t((x * 3) % classes);
    labels.push_back(y);
    images.insert(images.end(), {float(y), 4.f, float(y), 4.f});  // (C=2, H=1, W=2)
  }
  GridSettings settings;
  settings.grid = run::GridSpec{1, 2, 1};
  const LayerGridStats s = accumulate(images, n, 2, 1, 2, settings, 13, labels, classes);
  EXPECT_NEAR(s.regions[0].information_bits, 3.0, 1e-12);
  EXPECT_EQ(s.regions[1].information_bits, 0.0);
  EXPECT_EQ(s.regions[1].information_null_bits, 0.0);
  // Shuffled labels break the link: the null is far below H(Y).
  EXPECT_LT(s.regions[0].information_null_bits, 1.5);
  // 4 balanced classes with 8 bins: still every class in its own bins → 2 bits.
  for (uint8_t& y : labels) y %= 4;
  for (int x = 0; x < n; ++x) images[x * 4] = images[x * 4 + 2] = float(labels[x]);
  const LayerGridStats four = accumulate(images, n, 2, 1, 2, settings, n, labels, 4);
  EXPECT_NEAR(four.regions[0].information_bits, 2.0, 1e-12);
}

TEST(GridStats, StreamingInBatchesEqualsAllAtOnce) {
  const int n = 30, c = 6, h = 7, w = 5;
  nn::Rng rng(7);
  std::vector<float> images(size_t(n) * c * h * w);
  for (float& v : images) v = rng.uniform() < 0.3 ? 0.f : float(rng.normal());
  std::vector<uint8_t> labels(n);
  for (uint8_t& y : labels) y = uint8_t(rng.below(3));
  GridSettings settings;
  settings.grid = run::GridSpec{3, 2, 4};
  const LayerGridStats streamed = accumulate(images, n, c, h, w, settings, 7, labels, 3);
  const LayerGridStats whole = accumulate(images, n, c, h, w, settings, n, labels, 3);
  ASSERT_EQ(streamed.regions.size(), whole.regions.size());
  for (size_t r = 0; r < whole.regions.size(); ++r) {
    const auto& a = streamed.regions[r];
    const auto& b = whole.regions[r];
    EXPECT_NEAR(a.density, b.density, 1e-9);
    EXPECT_NEAR(a.variance, b.variance, 1e-9);
    EXPECT_NEAR(a.mean_abs, b.mean_abs, 1e-9);
    EXPECT_EQ(a.active_fraction, b.active_fraction);
    EXPECT_EQ(a.information_bits, b.information_bits);
    EXPECT_EQ(a.information_null_bits, b.information_null_bits);
  }
}

TEST(GridStats, NonFiniteActivationsFailNamingLayerAndRegion) {
  std::vector<float> images(2 * 4, 1.f);
  images[4 + 3] = std::nanf("");  // image 1, last unit
  LayerGridAccumulator layer("conv7", 2, 2, 1, GridSettings{run::GridSpec{1, 2, 1}, 0.1, 1e-6, 8}, 2);
  {
    const std::string m = error_of([&] { layer.add(images.data(), 2, 0); });
    EXPECT_NE(m.find("conv7"), std::string::npos) << m;
    EXPECT_NE(m.find("grid_1_2_1"), std::string::npos) << m;
    EXPECT_NE(m.find("image 1"), std::string::npos) << m;
  }
}

}  // namespace
