// tests/imaging/test_analysis.cpp — the evaluation stream visits the first N images in fixed batches with
// the right labels and offsets; the grid stage on a real (random `reference`) net gives the same
// numbers streamed in batches of 7 as all at once; run_analysis validates its settings naming the
// flag, clamps eval_samples to the test size, and writes grid.json (and zeta.json, tract.json) atomically with every layer of
// the net in network order, the right shapes and grids, and only finite numbers.
#include <algorithm>
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/analysis.h"
#include "imaging/eval_stream.h"
#include "imaging/grid_stats.h"
#include "imaging/tract.h"
#include "base/error.h"
#include "base/fileio.h"
#include "nn/rng.h"
#include "tests/error_of.h"

namespace {

// count random 3×32×32 images with labels i % 10 (owned, with a view).
struct SyntheticImages {
  std::vector<uint8_t> pixels, labels;
  nn::LabeledImages view;
  explicit SyntheticImages(size_t count) : pixels(count * 3 * 32 * 32), labels(count) {
    nn::Rng rng(11);
    for (uint8_t& p : pixels) p = uint8_t(rng.below(256));
    for (size_t i = 0; i < count; ++i) labels[i] = uint8_t(i % 10);
    view = nn::LabeledImages{pixels.data(), labels.data(), count, 3, 32, 32, 10};
  }
};

nn::Network reference_net() {
  nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  net.init(3);
  return net;
}

// A fresh empty directory under /tmp.
std::string temp_dir() {
  char name[] = "/tmp/nnfmri_analysis_XXXXXX";
  const char* made = mkdtemp(name);
  if (!made) throw std::runtime_error("mkdtemp failed");
  return made;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

void remove_dir(const std::string& dir) {
  for (const std::string& f : files_in(dir)) unlink((dir + "/" + f).c_str());
  rmdir(dir.c_str());
}


TEST(EvalStream, VisitsTheFirstImagesInFixedBatches) {
  SyntheticImages data(40);
  nn::Network net = reference_net();
  std::vector<size_t> offsets;
  std::vector<int> counts, blocks;
  std::vector<uint8_t> seen_labels;
  imaging::stream_eval(
      net, data.view, 30, 7,
      [&](const imaging::EvalBatch& b, const nn::BlockView& v) {
        blocks.push_back(v.index);
        EXPECT_EQ(v.a.n(), b.count);
        EXPECT_EQ(b.input.n(), b.count);
      },
      [&](const imaging::EvalBatch& b, const nn::Tensor& logits) {
        offsets.push_back(b.offset);
        counts.push_back(b.count);
        EXPECT_EQ(logits.n(), b.count);
        seen_labels.insert(seen_labels.end(), b.labels, b.labels + b.count);
      });
  EXPECT_EQ(offsets, std::vector<size_t>({0, 7, 14, 21, 28}));
  EXPECT_EQ(counts, std::vector<int>({7, 7, 7, 7, 2}));
  EXPECT_EQ(seen_labels, std::vector<uint8_t>(data.labels.begin(), data.labels.begin() + 30));
  const int per_batch = int(net.blocks().size());
  ASSERT_EQ(blocks.size(), size_t(5 * per_batch));
  for (size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(blocks[i], int(i) % per_batch);
  EXPECT_THROW(imaging::stream_eval(net, data.view, 41, 7, nullptr), base::Error);
  EXPECT_THROW(imaging::stream_eval(net, data.view, 10, 0, nullptr), base::Error);
}

void expect_same_stats(const imaging::GridResult& a, const imaging::GridResult& b, double tolerance, double bits) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t l = 0; l < a.layers.size(); ++l) {
    ASSERT_EQ(a.layers[l].regions.size(), b.layers[l].regions.size());
    for (size_t r = 0; r < a.layers[l].regions.size(); ++r) {
      const imaging::RegionStats& x = a.layers[l].regions[r];
      const imaging::RegionStats& y = b.layers[l].regions[r];
      const std::string where = a.layers[l].name + " " + a.layers[l].grid.key(int(r));
      EXPECT_NEAR(x.density, y.density, tolerance * (1 + std::fabs(y.density))) << where;
      EXPECT_NEAR(x.variance, y.variance, tolerance * (1 + y.variance)) << where;
      EXPECT_NEAR(x.mean_abs, y.mean_abs, tolerance * (1 + y.mean_abs)) << where;
      EXPECT_NEAR(x.active_fraction, y.active_fraction, tolerance) << where;
      EXPECT_NEAR(x.information_bits, y.information_bits, bits) << where;
      EXPECT_NEAR(x.information_null_bits, y.information_null_bits, bits) << where;
    }
  }
}

TEST(GridStage, ReferenceNetStreamedEqualsAllAtOnce) {
  SyntheticImages data(30);
  nn::Network net = reference_net();
  const imaging::GridSettings settings;
  const imaging::GridResult streamed = imaging::run_grid_stage(net, data.view, 30, 7, settings);
  ASSERT_EQ(streamed.layers.size(), net.blocks().size());
  for (size_t l = 0; l < net.blocks().size(); ++l) EXPECT_EQ(streamed.layers[l].name, net.blocks()[l].name);

  // The same activations (forward in batches of 7), held all at once and added in one piece.
  std::vector<std::vector<float>> all(net.blocks().size());
  imaging::stream_eval(net, data.view, 30, 7, [&](const imaging::EvalBatch&, const nn::BlockView& v) {
    all[v.index].insert(all[v.index].end(), v.a.data(), v.a.data() + v.a.size());
  });
  imaging::GridResult whole;
  for (size_t l = 0; l < net.blocks().size(); ++l) {
    const nn::Shape& s = net.blocks()[l].output_shape;
    imaging::GridSettings block_settings = settings;  // the output block is cut one region per logit
    if (l + 1 == net.blocks().size()) block_settings.grid = run::GridSpec{1, 1, s.c};
    imaging::LayerGridAccumulator layer(net.blocks()[l].name, s.h, s.w, s.c, block_settings, 30);
    layer.add(all[l].data(), 30, 0);
    whole.layers.push_back(layer.finish(data.labels.data(), 10));
  }
  expect_same_stats(streamed, whole, 1e-9, 1e-12);

  // The forward itself is not batch-size invariant (float GEMMs block differently: ~1e-6 apart),
  // so a run with one batch of 30 agrees to float precision only.
  const imaging::GridResult one_batch = imaging::run_grid_stage(net, data.view, 30, 30, settings);
  expect_same_stats(streamed, one_batch, 1e-4, 0.2);
}

TEST(Analysis, WritesGridJsonWithEveryLayerInNetworkOrder) {
  SyntheticImages data(24);
  nn::Network net = reference_net();
  const std::string dir = temp_dir() + "/out";  // run_analysis creates it
  imaging::AnalysisSettings settings;           // eval_samples 1000 → clamped to 24
  settings.batch = 10;
  settings.zeta.method = "lesion";  // every stage runs; the cheap exact estimator keeps the test fast
  const imaging::AnalysisContext context{"reference", 15, {{"name", "synthetic"}}};
  const imaging::AnalysisReport report = imaging::run_analysis(net, data.view, settings, context, dir);

  std::vector<std::string> files = files_in(dir);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, std::vector<std::string>({"grid.json", "tract.json", "zeta.json"}));  // no temporary left behind
  const auto j = nlohmann::ordered_json::parse(base::read_file(dir + "/grid.json"));
  ASSERT_NE(report.stage("grid"), nullptr);
  EXPECT_EQ(j, report.stage("grid")->document);
  std::vector<std::string> top;
  for (const auto& item : j.items()) top.push_back(item.key());
  EXPECT_EQ(top, std::vector<std::string>({"model", "epoch", "dataset", "eval_samples", "settings", "layers", "images"}));
  // "images": the mean of the 24 evaluation images (to 0.1) and the first 6 of them, as they are.
  const auto& images = j["images"];
  EXPECT_EQ(images["shape"], nlohmann::ordered_json({3, 32, 32}));
  ASSERT_EQ(images["mean"].size(), size_t(3 * 32 * 32));
  for (size_t v = 0; v < 3 * 32 * 32; v += 97) {
    double sum = 0;
    for (size_t i = 0; i < 24; ++i) sum += data.view.image(i)[v];
    EXPECT_NEAR(images["mean"][v].get<double>(), sum / 24, 0.05 + 1e-9) << v;
  }
  ASSERT_EQ(images["examples"].size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(images["examples"][i]["index"], i);
    EXPECT_EQ(images["examples"][i]["label"], data.view.labels[i]);
    EXPECT_EQ(images["examples"][i]["pixels"].get<std::vector<int>>(),
              std::vector<int>(data.view.image(i), data.view.image(i) + 3 * 32 * 32));
  }
  EXPECT_EQ(j["model"], "reference");
  EXPECT_EQ(j["epoch"], 15);
  EXPECT_EQ(j["dataset"]["name"], "synthetic");
  EXPECT_EQ(j["eval_samples"], 24);
  EXPECT_EQ(j["settings"]["grid"], nlohmann::ordered_json({8, 8, 4}));
  EXPECT_EQ(j["settings"]["lambda"], 0.1);
  EXPECT_EQ(j["settings"]["epsilon"], 1e-6);
  EXPECT_EQ(j["settings"]["bins"], 8);

  struct Expected {
    const char* name;
    std::vector<int> shape, grid;
  };
  const std::vector<Expected> expected = {
      {"conv1", {32, 32, 32}, {8, 8, 4}}, {"pool1", {16, 16, 32}, {8, 8, 4}}, {"conv2", {16, 16, 64}, {8, 8, 4}},
      {"pool2", {8, 8, 64}, {8, 8, 4}},   {"conv3", {8, 8, 128}, {8, 8, 4}},  {"pool3", {4, 4, 128}, {4, 4, 4}},
      {"fc1", {1, 1, 256}, {1, 1, 4}},    {"output", {1, 1, 10}, {1, 1, 10}}};  // the output block: one region per logit
  ASSERT_EQ(j["layers"].size(), expected.size());
  size_t l = 0;
  for (const auto& layer : j["layers"].items()) {
    const Expected& e = expected[l++];
    EXPECT_EQ(layer.key(), e.name);
    const auto& v = layer.value();
    EXPECT_EQ(v["shape"].get<std::vector<int>>(), e.shape) << e.name;
    EXPECT_EQ(v["grid"].get<std::vector<int>>(), e.grid) << e.name;
    const int regions = e.grid[0] * e.grid[1] * e.grid[2];
    ASSERT_EQ(int(v["regions"].size()), regions) << e.name;
    EXPECT_EQ(v["regions"].begin().key(), "grid_1_1_1");
    EXPECT_EQ(std::prev(v["regions"].end()).key(),
              "grid_" + std::to_string(e.grid[0]) + "_" + std::to_string(e.grid[1]) + "_" + std::to_string(e.grid[2]));
    int units = 0, dead = 0;
    for (const auto& region : v["regions"].items()) {
      const auto& s = region.value();
      units += s["activation_count"].get<int>();
      dead += s["active_fraction"].get<double>() < 0.05;
      EXPECT_GE(s["information_bits"].get<double>(), 0.0);
      EXPECT_LE(s["information_bits"].get<double>(), std::log2(10.0) + 1e-12);
      EXPECT_EQ(s.size(), 7u);
    }
    EXPECT_EQ(units, e.shape[0] * e.shape[1] * e.shape[2]) << e.name;
    EXPECT_EQ(int(v["dead_regions"].size()), dead) << e.name;
    EXPECT_NEAR(v["coverage"].get<double>(), 1.0 - double(dead) / regions, 1e-12) << e.name;
    EXPECT_NE(report.summary.find(std::string(e.name) + ": coverage"), std::string::npos) << report.summary;
  }
  EXPECT_GT(report.stage("grid")->seconds, 0.0);
  remove_dir(dir);
  rmdir(dir.substr(0, dir.size() - 4).c_str());
}

// The one streamed pass (batches of 10) feeds grid and tract; each must write what its own pass
// wrote before: the grid stage streamed alone, tractography forwarding its 37 images in batches of
// 32 (chunks that straddle the pass's batches, and fc1/output recomputed at the chunk's size).
TEST(Analysis, OneStreamedPassGivesTheGridAndTractOfSeparatePasses) {
  SyntheticImages data(45);
  nn::Network net = reference_net();
  const std::string dir = temp_dir();
  imaging::AnalysisSettings settings;
  settings.batch = 10;
  settings.stages = {"grid", "tract"};
  settings.tract.samples = 37;
  const imaging::AnalysisReport report = imaging::run_analysis(net, data.view, settings, {"reference", 1, {}}, dir);
  ASSERT_NE(report.stage("grid"), nullptr);
  ASSERT_NE(report.stage("tract"), nullptr);
  EXPECT_EQ(report.stage("zeta"), nullptr);

  const imaging::GridSettings grid{settings.grid, settings.lambda, settings.epsilon, settings.bins};
  const auto grid_alone = imaging::grid_layers_json(imaging::run_grid_stage(net, data.view, 45, 10, grid));
  nlohmann::ordered_json layers = report.stage("grid")->document["layers"];
  for (auto& [name, layer] : layers.items()) layer.erase("receptive_field");  // geometry: NetView.InputSpan...
  EXPECT_EQ(layers.dump(), grid_alone.dump());

  // Alone, streamed in the pass's batches too: a convolution's rounding may depend on the batch
  // (OpenBLAS's AVX2 kernels), so only the sharing of the pass is under test here.
  const auto tract_alone = imaging::tract_analysis(net, data.view, settings.grid, settings.tract, size_t(settings.batch));
  const auto& tract = report.stage("tract")->document;
  for (const char* key : {"eval_samples", "settings", "pairs", "network"})
    EXPECT_EQ(tract[key].dump(), tract_alone[key].dump()) << key;
  EXPECT_EQ(tract["eval_samples"], 37);
  EXPECT_NE(report.summary.find("evaluation pass: 45 images in batches of 10 for grid, tract"), std::string::npos)
      << report.summary;
  remove_dir(dir);
}

// tract.json's settings say what was asked, as zeta.json's do; eval_samples says how many images were
// used (it said the used count in settings.samples too, unlike zeta.json).
TEST(Analysis, TractSettingsSayTheSamplesAskedForAndEvalSamplesTheImagesUsed) {
  SyntheticImages data(12);
  nn::Network net = reference_net();
  const std::string dir = temp_dir();
  imaging::AnalysisSettings settings;
  settings.eval_samples = 12;
  settings.stages = {"tract"};
  settings.tract.samples = 50;
  const imaging::AnalysisReport report = imaging::run_analysis(net, data.view, settings, {"reference", 1, {}}, dir);
  ASSERT_NE(report.stage("tract"), nullptr);
  const auto& tract = report.stage("tract")->document;
  EXPECT_EQ(tract["settings"]["samples"], 50);
  EXPECT_EQ(tract["eval_samples"], 12);
  remove_dir(dir);
}

TEST(Analysis, RejectsBadSettingsNamingTheFlag) {
  SyntheticImages data(12);
  nn::Network net = reference_net();
  const std::string dir = temp_dir();
  const imaging::AnalysisContext context{"reference", 1, {}};
  auto run = [&](imaging::AnalysisSettings s) {
    return [&net, &data, &context, &dir, s] { imaging::run_analysis(net, data.view, s, context, dir); };
  };
  imaging::AnalysisSettings s;
  s.eval_samples = 4;
  expect_error_naming(run(s), "--eval-samples");
  s = {}, s.lambda = std::nan("");
  expect_error_naming(run(s), "--lambda");
  s = {}, s.epsilon = 0;
  expect_error_naming(run(s), "--epsilon");
  s = {}, s.epsilon = -1e-6;
  expect_error_naming(run(s), "--epsilon");
  s = {}, s.grid = run::GridSpec{0, 8, 4};
  expect_error_naming(run(s), "--grid");
  s = {}, s.bins = 1;
  expect_error_naming(run(s), "analysis setting bins");
  s = {}, s.batch = 0;
  expect_error_naming(run(s), "analysis setting batch");
  // a test set smaller than the bins need
  SyntheticImages tiny(5);
  expect_error_naming([&] { imaging::run_analysis(net, tiny.view, imaging::AnalysisSettings{}, context, dir); },
                      "--eval-samples");
  EXPECT_TRUE(files_in(dir).empty());
  remove_dir(dir);
}

// Issue 11, defect 8: `train --grid 9999x9999x9999 --analyze-every 1` trained an epoch, then ran out of
// memory in the analysis (32768 regions on conv1).  The grid is checked against every block first.
TEST(Analysis, GridOverTheRegionLimitFailsBeforeAnything) {
  nn::Network net = reference_net();
  const std::string m = error_of([&] { imaging::check_grid_fits(net, {4096, 4096, 4096}); });
  EXPECT_NE(m.find("--grid 4096x4096x4096: block conv1: grid 4096x4096x4096 on a 32x32x32 layer: 32768 regions, "
                   "expected at most 4096 per layer"),
            std::string::npos)
      << m;
  imaging::check_grid_fits(net, {8, 8, 4});
  imaging::check_grid_fits(nn::Network("linear:4096 relu linear:10", 3, 32, 32), {1, 1, 4096});
  SyntheticImages data(12);
  const std::string dir = temp_dir();
  imaging::AnalysisSettings s;
  s.grid = {64, 64, 64};
  expect_error_naming([&] { imaging::run_analysis(net, data.view, s, {"reference", 1, {}}, dir); }, "--grid 64x64x64");
  EXPECT_TRUE(files_in(dir).empty());
  remove_dir(dir);
}

// A linear inside a residual branch is a legal spec that tractography cannot image (the shortcut
// passes a dense block).  That is found before anything runs — by check_stages_fit, which `train
// --analyze-every` calls before the first epoch and `analyze` first — not by the tract stage once the
// grid's pass is done (train died after epoch 1 with a half-written run), and the error names the
// stage and the --stages that avoids it.
TEST(Analysis, TractOfALinearInsideAResidualBranchFailsBeforeAnything) {
  nn::Network net("conv3x3:4 gap res(linear:4) relu linear:10", 3, 32, 32);
  net.init(5);
  imaging::AnalysisSettings s;
  const std::string m = error_of([&] { imaging::check_stages_fit(net, s); });
  EXPECT_NE(m.find("--stages: stage tract cannot image this net"), std::string::npos) << m;
  EXPECT_NE(m.find("a linear inside a residual branch"), std::string::npos) << m;
  EXPECT_NE(m.find("--stages grid,zeta"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  SyntheticImages data(12);
  const std::string dir = temp_dir();
  expect_error_naming([&] { imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir); }, "stage tract");
  EXPECT_TRUE(files_in(dir).empty());
  s.stages = {"grid", "zeta"};
  imaging::check_stages_fit(net, s);  // the other stages image it
  remove_dir(dir);
}

// ζ settings that cannot run on this net and these images — confusion:A:B with no image of class A
// among the first --eval-samples, `exact` on a block of more than 16 regions — are found by
// check_analysis_fits, which `analyze` calls before removing an earlier analysis in --out and `train
// --analyze-every` before the first epoch (they were found inside the ζ stage, after the grid stage had
// replaced grid.json, the earlier zeta.json and tract.json already gone).  The error names the flag.
TEST(Analysis, ZetaSettingsThatCannotRunOnTheImagesFailBeforeAnything) {
  nn::Network net("conv3x3:2 maxpool4 linear:10", 3, 32, 32);
  net.init(5);
  SyntheticImages data(12);  // labels 0, 1, …, 9, 0, 1
  imaging::AnalysisSettings s;
  s.eval_samples = 8;
  s.zeta.value = "confusion:9:0";
  expect_error_naming([&] { imaging::check_analysis_fits(net, s, data.view); },
                      "--zeta-value 'confusion:9:0': no image of class 9 among the first 8 evaluation images");
  const std::string dir = temp_dir();
  expect_error_naming([&] { imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir); }, "no image of class 9");
  EXPECT_TRUE(files_in(dir).empty());  // not even grid.json
  s.zeta.value = "confusion:7:0";
  s.grid = {2, 2, 2};
  imaging::check_analysis_fits(net, s, data.view);
  s.zeta.method = "exact";
  imaging::check_analysis_fits(net, s, data.view);  // 8 regions per block
  s.grid = {4, 4, 2};  // conv1 32 regions
  expect_error_naming([&] { imaging::check_analysis_fits(net, s, data.view); }, "--zeta-method exact: block conv1 has 32 regions");
  s.stages = {"grid", "tract"};  // no ζ stage: nothing of ζ is checked
  imaging::check_analysis_fits(net, s, data.view);
  remove_dir(dir);
}

// The ζ stage's image count — zeta.json's "eval_samples" and the "zeta stage: N images" line — is the
// sample its games are played on: with confusion:A:B the images of class A among the pool alone, not
// min(--zeta-samples, pool) (which said 256 for the ~100 cats of `analyze --zeta-value confusion:cat:dog`).
TEST(Analysis, ZetaStageCountsTheImagesOfItsSample) {
  nn::Network net("conv3x3:2 maxpool4 linear:10", 3, 32, 32);
  net.init(5);
  SyntheticImages data(40);  // labels i % 10: 4 images of each class
  imaging::AnalysisSettings s;
  s.stages = {"grid", "zeta"};
  s.grid = {2, 2, 2};
  s.zeta.method = "lesion";  // exact, no budget: every layer covers the whole sample
  for (const auto& [value, images] : std::vector<std::pair<std::string, int>>{{"logprob", 40}, {"confusion:7:0", 4}}) {
    s.zeta.value = value;
    const std::string dir = temp_dir();
    const imaging::AnalysisReport report = imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir);
    const auto zeta = nlohmann::ordered_json::parse(base::read_file(dir + "/zeta.json"));
    EXPECT_EQ(zeta["eval_samples"], images) << value;
    for (const auto& layer : zeta["layers"]) EXPECT_EQ(layer["eval_samples"], images) << value;
    ASSERT_NE(report.stage("zeta"), nullptr);
    EXPECT_EQ(report.stage("zeta")->images, size_t(images)) << value;
    EXPECT_NE(report.summary.find("zeta stage: " + std::to_string(images) + " images"), std::string::npos) << report.summary;
    remove_dir(dir);
  }
}

TEST(Analysis, DivergedNetFailsNamingTheLayer) {
  SyntheticImages data(10);
  nn::Network net = reference_net();
  for (const nn::NamedParam& p : net.named_params())
    if (p.name == "conv2.bias") p.param->value[0] = INFINITY;  // (a NaN would vanish in the relu)
  const std::string dir = temp_dir();
  imaging::AnalysisSettings settings;
  settings.stages = {"grid"};
  expect_error_naming([&] { imaging::run_analysis(net, data.view, settings, {"reference", 1, {}}, dir); }, "conv2");
  EXPECT_TRUE(files_in(dir).empty());
  remove_dir(dir);
}

// A write that fails after others succeeded (here tract.json, where a directory stands) leaves none of
// the analysis's files: a grid.json and zeta.json alone would read as an analysis without tractography.
TEST(Analysis, AFailedWriteLeavesNoneOfTheAnalysisFiles) {
  nn::Network net("conv3x3:2 maxpool4 linear:10", 3, 32, 32);
  net.init(5);
  SyntheticImages data(20);
  imaging::AnalysisSettings s;
  s.stages = {"grid", "zeta", "tract"};
  s.grid = {2, 2, 2};
  s.zeta.method = "lesion";
  const std::string dir = temp_dir();
  ASSERT_EQ(mkdir((dir + "/tract.json").c_str(), 0755), 0);
  expect_error_naming([&] { imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir); }, "tract.json");
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"tract.json"});  // the directory that stood there, alone
  rmdir((dir + "/tract.json").c_str());
  remove_dir(dir);
}

// The analysed epochs of train --zeta-every N that are not multiples of N run without_stage(settings,
// "zeta"): the stages the settings run but zeta, whatever --stages said.  Above all --stages zeta
// alone: the stages left are grid (which always runs), never an empty list, which would mean every
// stage and bring zeta back.
TEST(Analysis, WithoutAStageRunsTheOthersWhateverStagesNamed) {
  const std::vector<std::vector<std::string>> stages = {{}, {"zeta"}, {"grid", "zeta"}, {"zeta", "tract"}, {"tract"}};
  for (const std::vector<std::string>& named : stages) {
    imaging::AnalysisSettings s;
    s.stages = named;
    const imaging::AnalysisSettings without = imaging::without_stage(s, "zeta");
    std::string text;
    for (const std::string& n : named) text += (text.empty() ? "" : ",") + n;
    SCOPED_TRACE("--stages '" + text + "'");
    EXPECT_FALSE(imaging::runs_stage(without, "zeta"));
    EXPECT_TRUE(imaging::runs_stage(without, "grid"));  // always
    const bool tract = named.empty() || std::count(named.begin(), named.end(), "tract");
    EXPECT_EQ(imaging::runs_stage(without, "tract"), tract);
    EXPECT_EQ(imaging::runs_stage(s, "zeta"), named.empty() || std::count(named.begin(), named.end(), "zeta"));
    // config.json's analysis.stages of the settings without zeta: what they run, in the fixed order
    nlohmann::ordered_json expected = nlohmann::ordered_json::array({"grid"});
    if (tract) expected.push_back("tract");
    EXPECT_EQ(imaging::describe(without)["stages"], expected);
  }
}

// Random C×H×W images with labels i % classes (owned, with a view), for shapes SyntheticImages lacks.
struct ShapedImages {
  std::vector<uint8_t> pixels, labels;
  nn::LabeledImages view;
  ShapedImages(size_t count, int c, int h, int w, int classes) : pixels(count * size_t(c * h * w)), labels(count) {
    nn::Rng rng(13);
    for (uint8_t& p : pixels) p = uint8_t(rng.below(256));
    for (size_t i = 0; i < count; ++i) labels[i] = uint8_t(i % size_t(classes));
    view = nn::LabeledImages{pixels.data(), labels.data(), count, c, h, w, classes};
  }
};

// eval_stream.h: a batch `wanted` refuses is not forwarded (neither probe nor batch end sees it), the
// others are as without it; the evaluation set may be every image of the data.
TEST(EvalStream, ABatchNobodyWantsIsNotForwardedAndTheWholeSetMayBeStreamed) {
  SyntheticImages data(30);
  nn::Network net("conv3x3:2 maxpool4 linear:10", 3, 32, 32);
  net.init(5);
  std::vector<size_t> probed, ended;
  imaging::stream_eval(
      net, data.view, 30, 7,
      [&](const imaging::EvalBatch& b, const nn::BlockView& v) {
        if (v.index == 0) probed.push_back(b.offset);
      },
      [&](const imaging::EvalBatch& b, const nn::Tensor&) { ended.push_back(b.offset); },
      [](size_t offset) { return offset != 7 && offset != 28; });
  EXPECT_EQ(probed, std::vector<size_t>({0, 14, 21}));
  EXPECT_EQ(ended, probed);
}

// grid.json's "images" (grid_stage.cpp): the mean takes one of the kMaxImageValues / (C·H·W) slots, the
// examples the others (at most 6); a training run's later epochs (write_images = false) write no block.
TEST(GridStage, TheImagesBlockKeepsASlotForTheMeanAndIsLeftOutWhenNotWanted) {
  imaging::AnalysisSettings s;
  s.stages = {"grid"};
  s.grid = {2, 2, 1};
  s.eval_samples = 8;
  for (const auto& [side, examples] : std::vector<std::pair<int, size_t>>{{300, 1}, {200, 5}, {100, 6}}) {
    // 90,000 values: 2 slots, the mean and 1 example; 40,000: 6 slots, 5 examples; 10,000: 25 slots, 6.
    ShapedImages data(8, 1, side, side, 2);
    nn::Network net("maxpool" + std::to_string(side / 10) + " linear:2", 1, side, side);
    net.init(5);
    const std::string dir = temp_dir();
    imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir);
    const auto j = nlohmann::ordered_json::parse(base::read_file(dir + "/grid.json"));
    EXPECT_EQ(j["images"]["mean"].size(), size_t(side * side)) << side;
    EXPECT_EQ(j["images"]["examples"].size(), examples) << side;
    remove_dir(dir);
    if (side != 100) continue;
    imaging::AnalysisContext later{"custom", 2, {}};
    later.write_images = false;
    imaging::run_analysis(net, data.view, s, later, dir);
    EXPECT_FALSE(nlohmann::ordered_json::parse(base::read_file(dir + "/grid.json")).contains("images"));
    remove_dir(dir);
  }
}

// The grid digest's coverage is the share of all regions of all layers that are active: each layer's
// coverage weighted by its region count.  Here conv1 and pool1 (8 regions each) are dead (a bias of
// −100 before the relu) and the output's 10 regions alive (bias 1): 10 / 26, not the layers' mean 1/3.
TEST(GridStage, TheDigestsCoverageWeighsEachLayerByItsRegions) {
  SyntheticImages data(10);
  nn::Network net("conv3x3:4 relu maxpool2 linear:10", 3, 32, 32);
  net.init(5);
  for (const nn::NamedParam& p : net.named_params()) {
    if (p.name == "conv1.bias") p.param->value.fill(-100.f);
    if (p.name == "output.bias") p.param->value.fill(1.f);
  }
  imaging::AnalysisSettings s;
  s.stages = {"grid"};
  s.grid = {2, 2, 2};
  const std::string dir = temp_dir();
  const imaging::AnalysisReport report = imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir);
  const auto& layers = report.stage("grid")->document["layers"];
  EXPECT_EQ(layers["conv1"]["coverage"], 0.0);
  EXPECT_EQ(layers["pool1"]["coverage"], 0.0);
  EXPECT_EQ(layers["output"]["coverage"], 1.0);
  EXPECT_NE(report.digest.find(": coverage 0.38"), std::string::npos) << report.digest;
  remove_dir(dir);
}

// grid.json's receptive_field: rows are spans on the input's height, columns on its width (a 8×16
// image: the last row block reaches row 8, the last column block column 16).
TEST(GridStage, ReceptiveFieldRowsAndColumnsFollowTheirOwnAxis) {
  ShapedImages data(8, 3, 8, 16, 4);
  nn::Network net("conv3x3:2 maxpool2 linear:4", 3, 8, 16);
  net.init(5);
  imaging::AnalysisSettings s;
  s.stages = {"grid"};
  s.grid = {2, 2, 1};
  const std::string dir = temp_dir();
  const imaging::AnalysisReport report = imaging::run_analysis(net, data.view, s, {"custom", 1, {}}, dir);
  for (const char* name : {"conv1", "pool1"}) {
    const auto& rf = report.stage("grid")->document["layers"][name]["receptive_field"];
    EXPECT_EQ(rf["rows"], nlohmann::ordered_json({{0, 5}, {3, 8}})) << name;
    EXPECT_EQ(rf["cols"], nlohmann::ordered_json({{0, 9}, {7, 16}})) << name;
  }
  remove_dir(dir);
}

}  // namespace
