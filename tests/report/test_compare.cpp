// tests/report/test_compare.cpp — report/compare.h (`nnfmri compare`) on synthetic run directories:
// the difference and its apart rule on planted intervals, compare.json's counts against the regions
// planted apart, the epoch chosen, the settings that differ, figures that decode and repeat byte for
// byte, an earlier comparison's figures replaced, and the refusals that write nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb/stb_image.h>  // implemented by libstb (-lstb)

#include "base/fileio.h"
#include "report/compare.h"
#include "report/report_data.h"
#include "tests/error_of.h"
#include "tests/report/synthetic_run.h"
#include "tests/temp_dir.h"

namespace {

using namespace synthetic;
using Json = nlohmann::ordered_json;

// A layer of `n` regions (grid 1×1×n) with ζ values and 95% intervals [ζ − half, ζ + half].
report::LayerImage layer_of(const std::vector<double>& zeta, double half = 0.5) {
  report::LayerImage l;
  l.has_zeta = true;
  l.grid.gh = l.grid.gw = 1;
  l.grid.gc = int(zeta.size());
  for (double z : zeta) {
    report::ZetaRegion region;
    region.zeta = z, region.ci_low = z - half, region.ci_high = z + half;
    l.zeta.push_back(region);
  }
  return l;
}

TEST(Compare, DifferenceIsAMinusXAndApartMeansIntervalsThatDoNotOverlap) {
  // A − X: 2.0 (apart: [1.5, 2.5] and [−0.5, 0.5]), −1.2 (apart the other way), 0.9 (overlapping),
  // 1.0 (touching at one point: lo_A = hi_X, not apart), 0.
  const report::LayerImage a = layer_of({2.0, -1.2, 0.9, 1.0, 0.3}), x = layer_of({0.0, 0.0, 0.0, 0.0, 0.3});
  const std::optional<report::ZetaDifference> d = report::zeta_difference(a, x);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->values, (std::vector<double>{2.0, -1.2, 0.9, 1.0, 0.0}));
  EXPECT_EQ(d->apart, (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(d->max, 2.0);
  EXPECT_DOUBLE_EQ(d->mean_abs, (2.0 + 1.2 + 0.9 + 1.0) / 5);
  // the rule is symmetric in which run is wider: a wide interval of X around A's value is never apart
  EXPECT_TRUE(report::zeta_difference(layer_of({3.0}), layer_of({0.0}, 3.5))->apart.empty());
  // another grid, or no ζ: nothing to compare
  EXPECT_FALSE(report::zeta_difference(a, layer_of({0, 0, 0, 0})));
  report::LayerImage none = x;
  none.has_zeta = false;
  EXPECT_FALSE(report::zeta_difference(a, none));
}

class CompareRuns : public TempDirTest {
 protected:
  // Run B: run A with conv1's ζ at epoch 2 moved by `shift` at the regions `moved` (intervals stay ±0.5)
  // and config seed 2.
  void write_pair(const std::vector<int>& moved, const std::vector<double>& shift) {
    write_run(path("a"));
    write_run(path("b"));
    Json config = Json::parse(base::read_file(path("b/config.json")));
    config["seed"] = 2;
    write(path("b/config.json"), config.dump(2));
    Json zeta = Json::parse(base::read_file(path("b/analysis/epoch_002/zeta.json")));
    for (size_t i = 0; i < moved.size(); ++i) {
      Json& region = zeta["layers"]["conv1"]["regions"][kLayers[0].key(moved[i])];
      const double z = region["zeta_score"].get<double>() + shift[i];
      region["zeta_score"] = z;
      region["confidence_interval"] = {z - 0.5, z + 0.5};
    }
    write(path("b/analysis/epoch_002/zeta.json"), zeta.dump(1));
  }
  std::string compare(const std::vector<std::string>& runs, const std::string& out, std::optional<int> epoch = std::nullopt,
                      const std::string& format = "png") {
    report::CompareOptions opts;
    opts.out = path(out);
    opts.epoch = epoch;
    opts.format = format;
    std::vector<std::string> dirs;
    for (const std::string& r : runs) dirs.push_back(path(r));
    return report::build_comparison(dirs, opts);
  }
  Json compare_json(const std::string& out) { return Json::parse(base::read_file(path(out + "/compare.json"))); }
};

TEST_F(CompareRuns, CountsTheRegionsPlantedApartAndNoOthers) {
  // conv1 has 8 regions; regions 1 and 6 moved by 1.5 and −2 (apart), region 3 by 0.7 (within the intervals)
  write_pair({1, 6, 3}, {1.5, -2.0, 0.7});
  const std::string text = compare({"a", "b"}, "out");
  const Json j = compare_json("out");
  EXPECT_EQ(j["runs"][0]["epoch"], 2);  // the newest epoch both have with zeta.json
  EXPECT_EQ(j["runs"][1]["letter"], "B");
  ASSERT_EQ(j["layers"][0]["layer"], "conv1");
  const Json& conv1 = j["layers"][0]["compared"][0];
  EXPECT_EQ(conv1["apart"], 2);
  EXPECT_EQ(conv1["apart_regions"], Json::array({kLayers[0].key(1), kLayers[0].key(6)}));
  EXPECT_NEAR(conv1["max_abs_difference"].get<double>(), 2.0, 1e-9);
  EXPECT_NEAR(conv1["mean_abs_difference"].get<double>(), (1.5 + 2.0 + 0.7) / 8, 1e-3);
  // the layers left alone: the same ζ, nothing apart
  for (size_t l = 1; l < 3; ++l) {
    EXPECT_EQ(j["layers"][l]["compared"][0]["apart"], 0) << j["layers"][l]["layer"];
    EXPECT_EQ(j["layers"][l]["compared"][0]["max_abs_difference"], 0.0) << j["layers"][l]["layer"];
  }
  // the one setting that differs, with both values
  ASSERT_EQ(j["settings_differ"].size(), 1u) << j["settings_differ"].dump();
  EXPECT_EQ(j["settings_differ"][0]["key"], "seed");
  EXPECT_EQ(j["settings_differ"][0]["values"], Json::array({"1", "2"}));
  EXPECT_NE(text.find("conv1: 8 regions; B 2 apart"), std::string::npos) << text;
  EXPECT_NE(text.find("settings differ: seed 1 | 2"), std::string::npos) << text;
  // A compared with itself: the null, nothing apart anywhere
  compare({"a", "a"}, "self");
  const Json self = compare_json("self");
  for (const Json& layer : self["layers"]) EXPECT_EQ(layer["compared"][0]["apart"], 0);
}

TEST_F(CompareRuns, FiguresDecodeRepeatAndReplaceAnEarlierComparisons) {
  write_pair({1}, {1.5});
  compare({"a", "b", "a"}, "out");
  const Json j = compare_json("out");
  EXPECT_EQ(j["figures"], Json::array({"conv1_zeta.png", "pool1_zeta.png", "output_zeta.png", "training.png"}));
  for (const Json& f : j["figures"]) {
    const std::string bytes = base::read_file(path("out/" + f.get<std::string>()));
    int w = 0, h = 0, channels = 0;
    ASSERT_TRUE(stbi_info_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()), &w, &h, &channels)) << f;
    EXPECT_GT(w, 300) << f;
    EXPECT_GT(h, 200) << f;
  }
  // the same runs: the same bytes, in another directory
  compare({"a", "b", "a"}, "again");
  for (const Json& f : j["figures"])
    EXPECT_EQ(base::read_file(path("out/" + f.get<std::string>())), base::read_file(path("again/" + f.get<std::string>()))) << f;
  EXPECT_EQ(base::read_file(path("out/compare.json")), base::read_file(path("again/compare.json")));
  // an SVG comparison into the same directory: the PNGs the earlier one drew and it does not go; a
  // picture of the user's there, which no compare.json lists, stays (every .png went before)
  base::write_file_atomic(path("out/my_notes.png"), "not a figure of compare's");
  compare({"a", "b"}, "out", std::nullopt, "svg");
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(path("out"))) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"compare.json", "conv1_zeta.svg", "pool1_zeta.svg", "output_zeta.svg",
                                          "training.svg", "my_notes.png"}));
  // compare.json lists what it may remove: a name outside DIR, or no figure's, is refused before anything is written
  for (const std::string bad : {"../a/config.json", "sub/x.png", ".png", "notes.txt"}) {
    Json doc = compare_json("out");
    doc["figures"][1] = bad;
    base::write_file_atomic(path("out/compare.json"), doc.dump());
    const std::string message = error_of([&] { compare({"a", "b"}, "out", std::nullopt, "svg"); });
    EXPECT_NE(message.find(path("out/compare.json") + ": /figures/1: expected a figure's file name as compare writes it"),
              std::string::npos) << message;
    EXPECT_TRUE(std::filesystem::exists(path("out/pool1_zeta.svg"))) << bad;
  }
}

TEST_F(CompareRuns, ALongNameIsCutBetweenCharacters) {
  // 15 × "é" (2 bytes each): cut to 11 of them and "…", not inside the 12th (which would draw U+FFFD)
  std::string name;
  for (int i = 0; i < 15; ++i) name += "é";
  write_run(path(name));
  write_run(path("b"));
  compare({name, "b"}, "out", std::nullopt, "svg");
  const std::string svg = base::read_file(path("out/training.svg"));
  EXPECT_NE(svg.find("A: " + name.substr(0, 22) + "…"), std::string::npos);
  EXPECT_EQ(svg.find("\xEF\xBF\xBD"), std::string::npos);
}

TEST_F(CompareRuns, EpochIsChosenOrRefusedNamingTheRunThatLacksIt) {
  write_pair({1}, {1.5});
  compare({"a", "b"}, "one", 1);
  const Json j = compare_json("one");
  EXPECT_EQ(j["runs"][1]["epoch"], 1);
  EXPECT_EQ(j["layers"][0]["compared"][0]["apart"], 0);  // the move was planted at epoch 2 only
  // B without epoch 2's zeta.json: the newest common epoch is 1; --epoch 2 is refused naming B
  std::filesystem::remove(path("b/analysis/epoch_002/zeta.json"));
  compare({"a", "b"}, "common");
  EXPECT_EQ(compare_json("common")["runs"][0]["epoch"], 1);
  const std::string message = error_of([&] { compare({"a", "b"}, "two", 2); });
  EXPECT_NE(message.find("B (" + path("b") + ") has no analysed epoch 2 with zeta.json (its epochs with zeta.json: 1)"), std::string::npos)
      << message;
  EXPECT_FALSE(std::filesystem::exists(path("two")));
}

TEST_F(CompareRuns, ALayerMissingFromARunIsSaidNotCompared) {
  write_run(path("a"));
  std::vector<LayerSpec> two = {kLayers[0], kLayers[2]};  // B has no pool1
  write(path("b/analysis/epoch_001/zeta.json"), zeta_json(1, two).dump(1));
  const std::string text = compare({"a", "b"}, "out", std::nullopt, "svg");
  const Json j = compare_json("out");
  ASSERT_EQ(j["layers"][1]["layer"], "pool1");
  EXPECT_EQ(j["layers"][1]["compared"][0]["not_compared"], "no layer of that name");
  // the figure's row and the terminal line give the same why
  EXPECT_NE(base::read_file(path("out/pool1_zeta.svg")).find("not compared: no layer of that name"), std::string::npos);
  EXPECT_NE(text.find("pool1: 8 regions; B not compared (no layer of that name)"), std::string::npos) << text;
  EXPECT_EQ(j["layers"][0]["compared"][0]["apart"], 0);
  EXPECT_EQ(j["runs"][0]["epoch"], 1);  // B has epoch 1 alone
}

TEST_F(CompareRuns, AnalyzeDirectoriesGiveTheirOneEpochAndTheSettingsTheirFilesRecord) {
  // two analyses of one checkpoint at epoch 5 with ζ seeds 1 and 2 (grid.json and zeta.json alone)
  for (int seed : {1, 2}) {
    Json zeta = zeta_json(5);
    zeta["settings"]["seed"] = seed;
    const std::string dir = path("an" + std::to_string(seed));
    write(dir + "/grid.json", grid_json(5).dump(1));
    write(dir + "/zeta.json", zeta.dump(1));
  }
  const std::string text = compare({"an1", "an2"}, "out");
  const Json j = compare_json("out");
  EXPECT_EQ(j["runs"][1]["epoch"], 5);
  EXPECT_TRUE(j["runs"][1]["analyze_directory"].get<bool>());
  EXPECT_TRUE(j["runs"][1]["checkpoint"].is_null()) << j["runs"][1].dump();  // these files record none
  ASSERT_EQ(j["settings_differ"].size(), 1u) << j["settings_differ"].dump();
  EXPECT_EQ(j["settings_differ"][0]["key"], "zeta.seed");
  // the checkpoint each analysis imaged (analyze writes it into every file): two checkpoints differ there
  for (int seed : {1, 2}) {
    Json zeta = zeta_json(5);
    zeta["settings"]["seed"] = seed;
    zeta["checkpoint"] = {{"path", "model.ckpt"}, {"sha256", std::string(64, seed == 1 ? 'a' : 'b')}};
    write(path("ck" + std::to_string(seed) + "/zeta.json"), zeta.dump(1));
  }
  compare({"ck1", "ck2"}, "checkpoints");
  const Json ck = compare_json("checkpoints");
  ASSERT_EQ(ck["settings_differ"].size(), 2u) << ck["settings_differ"].dump();
  EXPECT_EQ(ck["settings_differ"][0]["key"], "checkpoint.sha256");
  EXPECT_EQ(ck["settings_differ"][0]["values"], Json::array({std::string(64, 'a'), std::string(64, 'b')}));
  // and each run's entry names its checkpoint
  EXPECT_EQ(ck["runs"][0]["checkpoint"], (Json{{"path", "model.ckpt"}, {"sha256", std::string(64, 'a')}}));
  EXPECT_EQ(ck["runs"][1]["checkpoint"]["sha256"], std::string(64, 'b'));
  Json bad = zeta_json(5);
  bad["checkpoint"] = {{"path", "model.ckpt"}, {"sha256", "xyz"}};
  write(path("ck2/zeta.json"), bad.dump(1));
  const std::string message = error_of([&] { compare({"ck1", "ck2"}, "bad"); });
  EXPECT_NE(message.find("zeta.json: /checkpoint/sha256: 'xyz', expected 64 lower-case hex digits"), std::string::npos) << message;
  // every file naming a checkpoint is checked, not only the first (grid.json's is good, zeta.json's bad),
  // and the files of one epoch name one checkpoint
  Json good_grid = grid_json(5);
  good_grid["checkpoint"] = {{"path", "model.ckpt"}, {"sha256", std::string(64, 'a')}};
  write(path("ck2/grid.json"), good_grid.dump(1));
  const std::string second = error_of([&] { compare({"ck1", "ck2"}, "bad"); });
  EXPECT_NE(second.find("zeta.json: /checkpoint/sha256: 'xyz', expected 64 lower-case hex digits"), std::string::npos) << second;
  Json other = zeta_json(5);
  other["checkpoint"] = {{"path", "model.ckpt"}, {"sha256", std::string(64, 'b')}};
  write(path("ck2/zeta.json"), other.dump(1));
  const std::string two = error_of([&] { compare({"ck1", "ck2"}, "bad"); });
  EXPECT_NE(two.find("ck2/zeta.json: /checkpoint: {\"path\":\"model.ckpt\",\"sha256\":\"" + std::string(64, 'b') +
                     "\"}, expected {\"path\":\"model.ckpt\",\"sha256\":\"" + std::string(64, 'a') + "\"} as " +
                     path("ck2/grid.json") + " says (the files of one analysed checkpoint)"),
            std::string::npos)
      << two;
  EXPECT_FALSE(std::filesystem::exists(path("bad")));
  EXPECT_EQ(j["figures"], Json::array({"conv1_zeta.png", "pool1_zeta.png", "output_zeta.png"}));  // no metrics: no training figure
  // an analyze directory beside a run directory: the run's epoch is chosen as before, the analysis keeps its own
  write_run(path("run"));
  compare({"run", "an1"}, "mixed");
  const Json mixed = compare_json("mixed");
  EXPECT_EQ(mixed["runs"][0]["epoch"], 2);
  EXPECT_EQ(mixed["runs"][1]["epoch"], 5);
  // the analyze directory lacks every config.json key: not listed for that, only what the files record
  // (its ζ seed; the tract.json settings the run has and the analysis lacks)
  ASSERT_FALSE(mixed["settings_differ"].empty());
  for (const Json& row : mixed["settings_differ"]) {
    const std::string key = row["key"];
    EXPECT_TRUE(key.rfind("zeta.", 0) == 0 || key.rfind("tract.", 0) == 0) << row.dump();
  }
  // a key one run directory's config.json has and the other's lacks is listed, "–" for the one that lacks it
  Json config = Json::parse(base::read_file(path("run/config.json")));
  config.erase("batch");
  write_run(path("run2"));
  write(path("run2/config.json"), config.dump(2));
  compare({"run", "run2"}, "lacks");
  const Json lacks = compare_json("lacks")["settings_differ"];
  ASSERT_EQ(lacks.size(), 1u) << lacks.dump();
  EXPECT_EQ(lacks[0]["values"], Json::array({"16", "–"}));
  expect_error_naming([&] { compare({"an1", "an2"}, "none", 5); }, "every run compared is an analyze directory");
  // an analyze directory without ζ, and run directories without a common epoch with ζ: one line each
  write(path("grid_only/grid.json"), grid_json(5).dump(1));
  expect_error_naming([&] { compare({"an1", "grid_only"}, "none"); }, "B (" + path("grid_only") + ") is an analyze directory without zeta.json");
  write(path("late/analysis/epoch_007/zeta.json"), zeta_json(7).dump(1));
  expect_error_naming([&] { compare({"run", "late"}, "none"); }, "no analysed epoch with zeta.json is common to every run (A (" + path("run") +
                                                                     ") has 1, 2; B (" + path("late") + ") has 7)");
  EXPECT_FALSE(std::filesystem::exists(path("none")));
}

TEST_F(CompareRuns, OutputInsideARunOrOverOtherFilesIsRefusedBeforeAnythingIsWritten) {
  write_pair({1}, {1.5});
  expect_error_naming([&] { compare({"a", "b"}, "a/cmp"); }, "inside the run " + path("a"));
  EXPECT_FALSE(std::filesystem::exists(path("a/cmp")));
  expect_error_naming([&] { compare({"a", "b"}, "b"); }, "is the run " + path("b"));
  write(path("busy/notes.txt"), "mine");
  expect_error_naming([&] { compare({"a", "b"}, "busy"); }, "holds files but no compare.json");
  EXPECT_EQ(base::read_file(path("busy/notes.txt")), "mine");
  write(path("afile"), "x");
  expect_error_naming([&] { compare({"a", "b"}, "afile"); }, "not a directory");
  // a run that cannot be read: its error, and no output directory
  expect_error_naming([&] { compare({"a", "missing"}, "out"); }, path("missing"));
  EXPECT_FALSE(std::filesystem::exists(path("out")));
}

}  // namespace
