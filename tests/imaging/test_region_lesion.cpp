// tests/imaging/test_region_lesion.cpp — eval --lesion's pieces: the wildcard matcher, the parser and its
// errors, and the lesioned evaluation, checked against the lesion game's own dense recomputation
// (CoalitionValue::value with the accuracy value: a different code path, forward_from on lesioned
// activations) for zero and mean ablation; the confusion matrix against nn::evaluate.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "imaging/lesion_game.h"
#include "imaging/region_lesion.h"
#include "nn/trainer.h"
#include "tests/error_of.h"
#include "tests/planted_net.h"

namespace {

TEST(RegionLesion, GlobMatch) {
  EXPECT_TRUE(imaging::glob_match("grid_3_4_*", "grid_3_4_1"));
  EXPECT_TRUE(imaging::glob_match("grid_3_4_*", "grid_3_4_12"));
  EXPECT_FALSE(imaging::glob_match("grid_3_4_*", "grid_3_14_1"));
  EXPECT_TRUE(imaging::glob_match("*", "grid_1_1_1"));
  EXPECT_TRUE(imaging::glob_match("grid_*_1_1", "grid_10_1_1"));
  EXPECT_FALSE(imaging::glob_match("grid_*_1_1", "grid_1_1_12"));
  EXPECT_TRUE(imaging::glob_match("grid_1_1_1", "grid_1_1_1"));
  EXPECT_FALSE(imaging::glob_match("grid_1_1_1", "grid_1_1_10"));
  EXPECT_FALSE(imaging::glob_match("", "grid_1_1_1"));
}

TEST(RegionLesion, ParsesWildcardsAndNamesTheFlagOnBadInput) {
  nn::Network net("conv3x3:8 relu maxpool2 linear:4", 3, 8, 8);
  const run::GridSpec grid{4, 4, 2};
  const imaging::RegionLesion l = imaging::parse_region_lesion("conv1:grid_2_*_1,grid_4_4_2", net, grid, "--lesion");
  EXPECT_EQ(l.block, 0);
  ASSERT_EQ(l.regions.size(), 5u);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(l.grid.key(l.regions[size_t(j)]), "grid_2_" + std::to_string(j + 1) + "_1");
  EXPECT_EQ(l.grid.key(l.regions[4]), "grid_4_4_2");
  EXPECT_EQ(imaging::parse_region_lesion("conv1:*", net, grid, "--lesion").regions.size(), 32u);
  // The output block's grid is one region per logit.
  EXPECT_EQ(imaging::parse_region_lesion("output:*", net, grid, "--lesion").regions.size(), 4u);
  for (const char* bad : {"conv9:grid_1_1_1", "conv1:grid_5_*_*", "conv1:", "conv1", "conv1:grid_1_1_x", ":grid_1_1_1"}) {
    const std::string e = error_of([&] { imaging::parse_region_lesion(bad, net, grid, "--lesion"); });
    EXPECT_NE(e.find("--lesion '" + std::string(bad) + "'"), std::string::npos) << e;
  }
}

// A pattern that no region key grid_i_j_k could match (grid_1: a cell without its column and channel
// group) was said to match "no region of block", as if the block were too small: it now says what form
// was expected; a well-formed key or wildcard that this block's grid lacks still says it matches no region.
TEST(RegionLesion, SaysWhichPatternsAreNotAKeyFormAndWhichMatchNoRegion) {
  nn::Network net("conv3x3:8 relu maxpool2 linear:4", 3, 8, 8);
  const run::GridSpec grid{4, 4, 2};
  for (const char* pattern : {"grid_1", "grid_1_1", "grid_1_1_1_1", "grid1_1_1", "grid__1_1", "grid_1_x_1", "grid_*_x",
                              "_1_1_1", "grid_1_1_*_1", ""}) {
    const std::string e = error_of([&] { imaging::parse_region_lesion("conv1:grid_1_1_1," + std::string(pattern), net, grid, "--lesion"); });
    EXPECT_NE(e.find("pattern '" + std::string(pattern) + "' is not a region key grid_i_j_k (with * as a wildcard): expected a key " +
                     "such as grid_3_4_1, a wildcard such as grid_3_*_* or grid_*_1_*, or * for the whole block"),
              std::string::npos)
        << e;
  }
  for (const char* pattern : {"grid_9_*_*", "grid_1_1_3", "grid_0_1_1", "grid_*_*_10", "grid_5*"}) {
    const std::string e = error_of([&] { imaging::parse_region_lesion("conv1:" + std::string(pattern), net, grid, "--lesion"); });
    EXPECT_NE(e.find("pattern '" + std::string(pattern) + "' matches no region of block conv1 (its grid is 4x4x2"), std::string::npos)
        << e;
  }
  // wildcards that span the '_' between the parts are key forms too
  EXPECT_EQ(imaging::parse_region_lesion("conv1:grid_1*", net, grid, "--lesion").regions.size(), 8u);
  EXPECT_EQ(imaging::parse_region_lesion("conv1:grid_*", net, grid, "--lesion").regions.size(), 32u);
  EXPECT_EQ(imaging::parse_region_lesion("conv1:*_4_2", net, grid, "--lesion").regions.size(), 4u);
}

// A second BLOCK: inside one --lesion ('conv1:grid_1_1_1,pool1:grid_1_1_1') is refused saying one --lesion lesions one
// block, not as a pattern that "is not a region key", which would invite dropping the second block's name and
// lesioning conv1's grid_1_1_1 twice over instead of pool1's region.
TEST(RegionLesion, APatternNamingAnotherBlockSaysOneLesionIsOneBlock) {
  nn::Network net("conv3x3:8 relu maxpool2 linear:4", 3, 8, 8);
  const run::GridSpec grid{4, 4, 2};
  for (const char* text : {"conv1:grid_1_1_1,pool1:grid_1_1_1", "conv1:grid_1_1_1,conv1:grid_2_2_2", "conv1:*,pool1:*"}) {
    const std::string e = error_of([&] { imaging::parse_region_lesion(text, net, grid, "--lesion"); });
    const std::string second = std::string(text).substr(std::string(text).find(',') + 1);
    EXPECT_NE(e.find("--lesion '" + std::string(text) + "': pattern '" + second + "' holds a ':': one --lesion lesions one block "),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("conv1's regions only"), std::string::npos) << e;
  }
}

// The lesioned evaluation's accuracy equals the lesion game's v(S) with the accuracy value, S = every
// region but the lesioned ones, for zero and mean ablation (mean: the unit's mean over the same images).
TEST(RegionLesion, AccuracyEqualsTheLesionGamesDenseValue) {
  datasets::PlantedConfig cfg;
  cfg.train_count = 1000;
  cfg.test_count = 96;
  const datasets::PlantedSet planted = datasets::make_planted(cfg);
  nn::Network net = train_planted_net(planted);
  const nn::LabeledImages test = planted.split.test.view();
  std::vector<uint32_t> all(test.count);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint32_t(i);
  const imaging::LesionEvaluation intact = imaging::evaluate_lesioned(net, test, 32, nullptr);
  EXPECT_NEAR(intact.accuracy, nn::evaluate(net, test, 32).accuracy, 1e-12);
  const int K = net.num_outputs();
  for (int y = 0; y < K; ++y) {
    long row = 0, expected = 0;
    for (int p = 0; p < K; ++p) row += intact.confusion[size_t(y) * K + p];
    for (size_t i = 0; i < test.count; ++i) expected += test.labels[i] == y;
    EXPECT_EQ(row, expected) << "class " << y;
  }
  for (const std::string ablation : {"zero", "mean"}) {
    imaging::ZetaSettings s;
    s.value = "accuracy";
    s.ablation = ablation;
    const run::GridSpec grid{8, 8, 1};
    imaging::CoalitionValue game(net, 0, grid, test, all, s);
    imaging::RegionLesion l = imaging::parse_region_lesion("conv1:grid_*_3_1,grid_5_*_1", net, grid, "--lesion");
    if (ablation == "mean") l.baseline = imaging::block_mean(net, test, 32, l.block);
    std::vector<bool> coalition(size_t(game.regions()), true);
    for (int r : l.regions) coalition[size_t(r)] = false;
    const imaging::LesionEvaluation lesioned = imaging::evaluate_lesioned(net, test, 32, &l);
    EXPECT_NEAR(lesioned.accuracy, game.value(coalition), 1e-12) << ablation;
    EXPECT_LT(lesioned.accuracy, intact.accuracy) << ablation << ": 15 of 64 cells gone, some evidence among them";
    long trace = 0, total = 0;
    for (int y = 0; y < K; ++y)
      for (int p = 0; p < K; ++p) {
        total += lesioned.confusion[size_t(y) * K + p];
        trace += y == p ? lesioned.confusion[size_t(y) * K + p] : 0;
      }
    EXPECT_EQ(total, long(test.count));
    EXPECT_NEAR(double(trace) / double(total), lesioned.accuracy, 1e-12);
  }
  // Every region of the last conv block zeroed: the logits no longer depend on the image, so every
  // image gets the same prediction (one non-empty column).
  const imaging::RegionLesion everything = imaging::parse_region_lesion("pool2:*", net, run::GridSpec{8, 8, 4}, "--lesion");
  const imaging::LesionEvaluation dead = imaging::evaluate_lesioned(net, test, 32, &everything);
  for (size_t i = 1; i < test.count; ++i) EXPECT_EQ(dead.predicted[i], dead.predicted[0]);
}

// A '*' matches any run of characters, the empty run included: at the end, between two characters,
// and several in a row.
TEST(RegionLesion, AStarMatchesTheEmptyRunToo) {
  EXPECT_TRUE(imaging::glob_match("grid_1_1_1*", "grid_1_1_1"));
  EXPECT_TRUE(imaging::glob_match("grid_1_1_1**", "grid_1_1_1"));
  EXPECT_TRUE(imaging::glob_match("grid_*1_1_1", "grid_1_1_1"));
  EXPECT_TRUE(imaging::glob_match("*", ""));
  EXPECT_FALSE(imaging::glob_match("grid_1_1_1*2", "grid_1_1_1"));
}

}  // namespace
