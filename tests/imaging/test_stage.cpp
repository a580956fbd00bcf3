// tests/imaging/test_stage.cpp — the registry of imaging stages: the registered stages in their fixed
// order, --stages checked against it (unknown stage: one error naming the flag and the known stages),
// stages run in the registry's order whatever order --stages names them in, grid always runs, and the settings of the stages that run reach config.json.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "imaging/analysis.h"
#include "imaging/stage.h"
#include "tests/error_of.h"

namespace {

TEST(Stages, RegisteredInTheirFixedOrder) {
  std::vector<std::string> names;
  for (const auto& stage : imaging::make_stages()) names.push_back(stage->name());
  EXPECT_EQ(names, std::vector<std::string>({"grid", "zeta", "tract"}));
  EXPECT_EQ(imaging::stage_names(), std::vector<std::string>({"grid", "zeta", "tract"}));
  for (const auto& stage : imaging::make_stages())
    EXPECT_EQ(stage->file(), stage->name() + ".json");
}

TEST(Stages, UnknownStageIsOneErrorNamingTheFlagAndTheKnownStages) {
  imaging::AnalysisSettings s;
  s.stages = {"grid", "eeg"};
  EXPECT_EQ(error_of([&] { imaging::validate_analysis_settings(s); }),
            "--stages: unknown stage 'eeg' (expected grid, zeta, tract)");
  s.stages = {""};
  expect_error_naming([&] { imaging::validate_analysis_settings(s); }, "unknown stage ''");
}

TEST(Stages, GridAlwaysRunsAndEachStageDescribesItsSettings) {
  imaging::AnalysisSettings s;
  s.stages = {"tract", "zeta"};  // run and described in the registry's order
  EXPECT_EQ(imaging::describe(s)["stages"], nlohmann::ordered_json({"grid", "zeta", "tract"}));
  s.stages = {"tract"};
  const nlohmann::ordered_json only_tract = imaging::describe(s);
  EXPECT_EQ(only_tract["stages"], nlohmann::ordered_json({"grid", "tract"}));
  EXPECT_FALSE(only_tract.contains("zeta"));
  EXPECT_EQ(only_tract["tract"]["samples"], 256);
  s.stages = {};  // every registered stage
  const nlohmann::ordered_json all = imaging::describe(s);
  EXPECT_EQ(all["stages"], nlohmann::ordered_json({"grid", "zeta", "tract"}));
  EXPECT_EQ(all["zeta"]["method"], "shapley");
  std::vector<std::string> keys;
  for (const auto& item : all.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, std::vector<std::string>({"grid", "lambda", "epsilon", "bins", "eval_samples", "stages", "zeta", "tract"}));
}

// The ζ stage's words on train's epoch line: critical regions over all regions of all layers, and
// the critical region of highest ζ over the layers that play their own game (the first layer's on a
// tie), from zeta.json.
TEST(Stages, ZetaDigestCountsCriticalRegionsAndNamesTheTopOne) {
  std::unique_ptr<imaging::Stage> zeta;
  for (auto& stage : imaging::make_stages())
    if (stage->name() == "zeta") zeta = std::move(stage);
  ASSERT_TRUE(zeta);
  auto region = [](double z) { return nlohmann::ordered_json{{"zeta_score", z}}; };
  nlohmann::ordered_json doc = {
      {"layers",
       {{"conv1", {{"regions", {{"grid_1_1_1", region(2.5)}, {"grid_1_1_2", region(3.5)}, {"grid_1_1_3", region(-1)}}},
                   {"critical_regions", {"grid_1_1_2", "grid_1_1_1"}}}},
        {"fc1", {{"regions", {{"grid_1_1_1", region(3.5)}, {"grid_1_1_2", region(0)}}}, {"critical_regions", {"grid_1_1_1"}}}},
        {"output", {{"regions", {{"grid_1_1_1", region(1)}, {"grid_1_1_2", region(-1)}}}, {"critical_regions", nlohmann::ordered_json::array()}}}}}};
  EXPECT_EQ(zeta->digest(doc), "critical 3 of 7 regions, top conv1 grid_1_1_2 zeta 3.50");
  doc["layers"]["fc1"]["regions"]["grid_1_1_1"] = region(4.25);
  EXPECT_EQ(zeta->digest(doc), "critical 3 of 7 regions, top fc1 grid_1_1_1 zeta 4.25");
  // A layer that plays a later layer's game is counted but never named: its ζ repeats that layer's.
  doc["layers"]["conv1"]["regions"]["grid_1_1_2"] = region(5);
  doc["layers"]["conv1"]["same_game_as"] = "fc1";
  EXPECT_EQ(zeta->digest(doc), "critical 3 of 7 regions, top fc1 grid_1_1_1 zeta 4.25");
  doc["layers"]["conv1"].erase("same_game_as");
  EXPECT_EQ(zeta->digest(doc), "critical 3 of 7 regions, top conv1 grid_1_1_2 zeta 5.00");
  for (auto& [name, layer] : doc["layers"].items()) layer["critical_regions"] = nlohmann::ordered_json::array();
  EXPECT_EQ(zeta->digest(doc), "critical 0 of 7 regions");  // no top without a critical region
  // A budget that cut layers' samples short: the fewest images covered and how many layers were cut.
  doc["eval_samples"] = 256;
  doc["layers"]["conv1"]["eval_samples"] = 256;
  doc["layers"]["fc1"]["eval_samples"] = 9;
  EXPECT_EQ(zeta->digest(doc), "critical 0 of 7 regions, zeta from 9 of 256 images in 1 block (--zeta-budget ran out)");
  doc["layers"]["output"]["eval_samples"] = 2;
  EXPECT_EQ(zeta->digest(doc), "critical 0 of 7 regions, zeta from 2 of 256 images in 2 blocks (--zeta-budget ran out)");
}

// analysis.h: the settings are validated before anything runs, each stage's own by the stage when it
// is chosen (ζ's and tract's settings of a run that leaves the stage out are not its business).
TEST(Stages, EachChosenStageValidatesItsOwnSettings) {
  imaging::AnalysisSettings s;
  s.zeta.method = "guess";
  expect_error_naming([&] { imaging::validate_analysis_settings(s); }, "--zeta-method 'guess'");
  s.stages = {"grid", "tract"};
  imaging::validate_analysis_settings(s);  // ζ does not run
  s.tract.chains = 2000;
  expect_error_naming([&] { imaging::validate_analysis_settings(s); }, "tract setting chains = 2000");
  s.stages = {"zeta"};
  s.zeta.method = "lesion";
  imaging::validate_analysis_settings(s);  // tract does not run
}

}  // namespace
