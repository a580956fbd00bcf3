// tests/report/test_report.cpp — report/report.h and its parts on synthetic run directories (no training,
// no browser): summary.json fields and the role rule, strength normalisation, Spearman stability,
// figures that decode as PNG (and SVG), deterministic bytes, escaping in report.html, missing
// inputs tolerated, malformed inputs reported with file and JSON path.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <set>
#include <future>
#include <tuple>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb/stb_image.h>  // implemented by libstb (-lstb)
#include <stb/stb_truetype.h>
#include <zlib.h>

#include "report/canvas.h"
#include "report/colormap.h"
#include "report/figures.h"
#include "report/report.h"
#include "report/report_data.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "report/report_eeg.h"
#include "run/manifest.h"
#include "report/report_summary.h"
#include "base/error.h"
#include "base/fileio.h"
#include "tests/error_of.h"
#include "tests/report/synthetic_run.h"

namespace {

using namespace synthetic;

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// A fresh directory under the system temp folder, removed with the object.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path = fs::temp_directory_path() / ("nnfmri_report_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

Json read_json(const fs::path& path) { return Json::parse(base::read_file(path.string())); }

// An analyze output directory: DIR/grid.json and DIR/zeta.json.
void write_analysis(const fs::path& dir, const Json& grid, const Json& zeta) {
  write(dir / "grid.json", grid.dump(1));
  write(dir / "zeta.json", zeta.dump(1));
}

// Builds DIR's report as SVG figures only and returns the text of DIR/figures/FIGURE.svg.
std::string svg_figure(const fs::path& dir, const std::string& figure) {
  report::ReportOptions opts;
  opts.format = "svg";
  opts.figures_only = true;
  report::build_report(dir.string(), opts);
  return base::read_file((dir / "figures" / (figure + ".svg")).string());
}

// One <text> element of an SVG figure: its label, anchor point, font size (em 9.6·size, canvas.h),
// anchor kind and the horizontal span its label takes (report::text_width).
struct SvgText {
  std::string label;
  double x = 0, y = 0, size = 0, left = 0, right = 0;
  bool middle = false;
};

std::vector<SvgText> svg_texts(const std::string& svg) {
  std::vector<SvgText> texts;
  for (size_t at = svg.find("<text "); at != std::string::npos; at = svg.find("<text ", at + 1)) {
    const std::string element = svg.substr(at, svg.find("</text>", at) - at);
    SvgText t;
    t.label = element.substr(element.find('>') + 1);
    t.x = std::atof(element.c_str() + element.find(" x=\"") + 4);
    t.y = std::atof(element.c_str() + element.find(" y=\"") + 4);
    t.size = std::atof(element.c_str() + element.find("font-size=\"") + 11) / 9.6;
    t.middle = element.find("text-anchor=\"middle\"") != std::string::npos;
    const bool end = element.find("text-anchor=\"end\"") != std::string::npos;
    const double w = report::text_width(t.label, t.size);
    t.left = t.middle ? t.x - w / 2 : end ? t.x - w : t.x;
    t.right = t.left + w;
    texts.push_back(t);
  }
  return texts;
}

// A run of two analysed epochs over 30 conv layers (block1_conv … block30_conv), as deep as resnet20:
// its metrics.jsonl and each epoch's grid.json and zeta.json.  Returns the layers.
std::vector<LayerSpec> write_run_of_30_layers(const fs::path& dir) {
  std::vector<LayerSpec> specs;
  for (int l = 0; l < 30; ++l) specs.push_back({"block" + std::to_string(l + 1) + "_conv", 2, 2, 4, 2, 2, 2});
  std::string metrics;
  for (int e = 1; e <= 2; ++e) {
    metrics += Json({{"epoch", e}, {"train_loss", 1.5}, {"train_acc", 0.5}, {"test_loss", 1.6}, {"test_acc", 0.45}}).dump() + "\n";
    write(dir / "analysis" / ("epoch_00" + std::to_string(e)) / "grid.json", grid_json(e, specs).dump(1));
    write(dir / "analysis" / ("epoch_00" + std::to_string(e)) / "zeta.json", zeta_json(e, specs).dump(1));
  }
  write(dir / "metrics.jsonl", metrics);
  return specs;
}


}  // namespace

TEST(Report, RoleRuleIsTheLayersThirdOfTheDepth) {
  // Reference net, L = 8: conv1 pool1 conv2 | pool2 conv3 pool3 | fc1 output.
  const char* expected[] = {"feature_extraction", "feature_extraction", "feature_extraction", "pattern_recognition",
                            "pattern_recognition", "pattern_recognition", "decision", "decision"};
  for (int l = 0; l < 8; ++l) EXPECT_EQ(report::region_role(l, 8), expected[l]) << l;
  EXPECT_EQ(report::region_role(0, 1), "feature_extraction");
  EXPECT_EQ(report::region_role(0, 3), "feature_extraction");
  EXPECT_EQ(report::region_role(1, 3), "pattern_recognition");
  EXPECT_EQ(report::region_role(2, 3), "decision");
}

TEST(Report, SpearmanOnAHandMadeCase) {
  // ranks a = 1..5; b = {5,6,7,8,7} → ranks {1,2,3.5,5,3.5}; Σ dadb = 8, Σ da² = 10, Σ db² = 9.5.
  const auto rho = report::spearman_rank_correlation({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7});
  ASSERT_TRUE(rho);
  EXPECT_NEAR(*rho, 8 / std::sqrt(95.0), 1e-12);
  EXPECT_NEAR(*report::spearman_rank_correlation({1, 2, 3}, {30, 20, 10}), -1, 1e-12);
  EXPECT_NEAR(*report::spearman_rank_correlation({0.1, 5, 2}, {1, 100, 3}), 1, 1e-12);  // monotone, not linear
  EXPECT_FALSE(report::spearman_rank_correlation({1, 1, 1}, {1, 2, 3}));  // undefined: all tied
  EXPECT_FALSE(report::spearman_rank_correlation({1, 2}, {1, 2}));        // fewer than 3 regions
}

TEST(Report, SelectivityAndSignificantDigits) {
  run::GridRegionStats g;
  g.information_bits = 1.0, g.information_null_bits = 0.2;
  EXPECT_NEAR(*report::region_selectivity(g, 4), 0.4, 1e-12);  // 0.8 bits of log2 4 = 2
  EXPECT_FALSE(report::region_selectivity(g, 1));
  g.information_bits = 0.1, g.information_null_bits = 0.3;  // below the floor: 0, not −0.1
  EXPECT_EQ(*report::region_selectivity(g, 4), 0.0);
  g.information_bits = 3.0, g.information_null_bits = 0.5;  // 2.5 bits above it, of 2: at most 1
  EXPECT_EQ(*report::region_selectivity(g, 4), 1.0);
  EXPECT_EQ(report::significant(0.123456), 0.1235);
  EXPECT_EQ(report::significant(-98765.4), -98770);
  EXPECT_EQ(report::significant(0), 0);
}

// The terminal lines printed summary.json's 4-digit numbers again with 3 digits, a second rounding: a
// ζ of 1.24451 (1.245 in summary.json) was printed 1.25, which is neither the value to 3 digits (1.24)
// nor summary.json's; about 1 region value in 20 of a CIFAR run (195 of 4,074) came out so.  The
// terminal now prints summary.json's numbers as they are.
TEST(Report, TheTerminalSummaryPrintsSummaryJsonsNumbers) {
  const nlohmann::ordered_json summary = nlohmann::ordered_json::parse(R"({"epoch": 2, "test_acc": 0.4159,
      "top_regions": [{"layer": "conv2", "region": "grid_6_6_4", "zeta": 1.245, "zeta_ci": [0.1235, 2.345], "role": "decision"}],
      "top_regions_ranked_by": "zeta",
      "critical_pathways": [{"path": "pool3→fc1", "strength": 5.335, "connection_strength": 1365}],
      "coverage": {"conv2": 0.9995}, "critical_share": {"conv2": 0.01245},
      "zeta_stability": {"from_epoch": 1, "to_epoch": 2, "mean": 0.5645}})");
  report::RunData run;
  run.epochs.resize(1);
  run.metrics.resize(1);  // "1 epoch trained" (not "1 epoch(s) trained")
  const std::string text = report::summary_text(run, summary);
  for (const char* shown : {"1 epoch trained, 1 analysed", "ζ 1.245 [0.1235, 2.345]", "pool3→fc1 5.335", "coverage: conv2 0.9995", "critical share: conv2 0.01245",
                                   "epoch 1→2): mean 0.5645 over layers", "test accuracy 0.4159"})
    EXPECT_NE(text.find(shown), std::string::npos) << shown << " not in:\n" << text;
}

// A run cut short during epoch 2's imaging: run.json commits epoch 1, epoch 2's files are on disk. The
// report reads epoch 1 only and writes no summary into epoch 2's directory.
TEST(Report, ARunIsReadUpToTheEpochItsManifestCommits) {
  TempDir tmp("committed");
  write_run(tmp.path);
  run::Manifest m;
  m.epochs = 2, m.completed_epoch = 1, m.threads = 1;
  run::write_manifest(run::Layout(tmp.str()), m);
  report::build_report(tmp.str(), {});
  EXPECT_EQ(read_json(tmp.path / "summary.json")["epoch"], 1);
  EXPECT_TRUE(fs::exists(tmp.path / "analysis/epoch_001/summary.json"));
  EXPECT_FALSE(fs::exists(tmp.path / "analysis/epoch_002/summary.json"));
  m.completed_epoch = 2;  // once committed, it is read
  run::write_manifest(run::Layout(tmp.str()), m);
  report::build_report(tmp.str(), {});
  EXPECT_EQ(read_json(tmp.path / "summary.json")["epoch"], 2);
}

// load_run itself honours run.json (report and serve no longer each pass it the committed epoch): the
// metrics row and analysis directory of an uncommitted epoch are left out unless the run's own writer
// asks for them (train's digest, RunSelection::uncommitted).
TEST(Report, LoadRunReadsWhatTheManifestCommitsUnlessAskedForMore) {
  TempDir tmp("load_committed");
  write_run(tmp.path);
  EXPECT_EQ(report::load_run(tmp.str()).epochs.size(), 2u);  // no run.json: the whole directory
  run::Manifest m;
  m.epochs = 2, m.completed_epoch = 1, m.threads = 1;
  run::write_manifest(run::Layout(tmp.str()), m);
  const report::RunData committed = report::load_run(tmp.str());
  ASSERT_EQ(committed.epochs.size(), 1u);
  EXPECT_EQ(committed.epochs[0].epoch, 1);
  for (const report::MetricsRow& row : committed.metrics) EXPECT_LE(row.epoch, 1);
  EXPECT_NE(committed.metrics_of(1), nullptr);  // the committed epoch's row is read
  EXPECT_EQ(committed.metrics_of(2), nullptr);
  const report::RunData all = report::load_run(tmp.str(), {true, 0});
  ASSERT_EQ(all.epochs.size(), 2u);
  EXPECT_EQ(all.epochs[1].epoch, 2);
  EXPECT_NE(all.metrics_of(2), nullptr);
}

// The Region panel's φ interval is the one behind the p-value and significance (the layer's "ci"):
// the population interval under --zeta-ci population, the sample one otherwise; the page also gets
// the robust score (the critical rule's quantity) and how many images ζ rests on and why it stopped.
TEST(Report, ThePhiIntervalShownIsTheKindBehindSignificance) {
  TempDir tmp("ci_kind");
  write_run(tmp.path);
  Json zeta = zeta_json(2);
  Json& conv1 = zeta["layers"]["conv1"];
  conv1["ci"] = "population", conv1["stopped_by"] = "budget";
  Json& first = conv1["regions"]["grid_1_1_1"];
  first["shapley_ci_population"] = {-1.0, 2.0}, first["robust_score"] = 4.5;
  zeta["layers"]["pool1"]["ci"] = "sample";
  zeta["layers"]["pool1"]["regions"]["grid_1_1_1"]["shapley_ci_population"] = {-7.0, 7.0};
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const report::LayerImage& c = run.epochs[1].layers[0];
  EXPECT_EQ(c.zeta_ci, "population");
  EXPECT_EQ(c.zeta_stopped_by, "budget");
  EXPECT_EQ(c.zeta_images, 32);
  EXPECT_EQ(*c.zeta[0].shapley_low, -1.0);
  EXPECT_EQ(*c.zeta[0].shapley_high, 2.0);
  EXPECT_EQ(*c.zeta[0].robust_score, 4.5);
  const report::LayerImage& p = run.epochs[1].layers[1];  // sample: shapley_ci, not the population one
  EXPECT_NEAR(*p.zeta[0].shapley_low, *p.zeta[0].shapley - 0.005, 1e-12);
  const Json data = Json::parse(report::page_data_text(run));
  const Json& z = data["epochs"][1]["layers"][0]["z"];
  EXPECT_EQ(z["ci"], "population");
  EXPECT_EQ(z["images"], 32);
  EXPECT_EQ(z["stopped_by"], "budget");
  EXPECT_EQ(z["robust"][0], 4.5);
  EXPECT_EQ(z["shapley_lo"][0], -1.0);
}

// figures/ holds exactly what the last report drew: a report in SVG after one in PNG leaves no PNG
// (summary.json lists the SVGs only); files of other kinds there are the user's and stay.
TEST(Report, FiguresOfAnEarlierReportThatThisOneDoesNotDrawAreRemoved) {
  TempDir tmp("figures_kept");
  write_run(tmp.path);
  report::build_report(tmp.str(), {});
  const auto count = [&](const std::string& ext) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(tmp.path / "figures")) n += e.path().extension() == ext;
    return n;
  };
  ASSERT_GT(count(".png"), 0u);
  write(tmp.path / "figures/notes.txt", "mine");
  report::ReportOptions svg;
  svg.format = "svg";
  report::build_report(tmp.str(), svg);
  EXPECT_EQ(count(".png"), 0u);
  EXPECT_EQ(count(".svg"), read_json(tmp.path / "summary.json")["figures"].size());
  EXPECT_TRUE(fs::exists(tmp.path / "figures/notes.txt"));
  report::build_report(tmp.str(), {});  // and back: no SVG is left
  EXPECT_EQ(count(".svg"), 0u);
  EXPECT_EQ(count(".png"), read_json(tmp.path / "summary.json")["figures"].size());
}

TEST(Report, SummaryJsonHasTheCitableFields) {
  TempDir tmp("summary");
  write_run(tmp.path);
  const std::string text = report::build_report(tmp.str(), {});
  EXPECT_NE(text.find("tiny on synthetic"), std::string::npos) << text;

  const Json s = read_json(tmp.path / "summary.json");
  EXPECT_EQ(s["model"], "tiny");
  EXPECT_EQ(s["dataset"], "synthetic");
  EXPECT_EQ(s["epoch"], 2);
  EXPECT_DOUBLE_EQ(s["test_acc"].get<double>(), 0.3);
  EXPECT_EQ(s["eval_samples"], 64);  // grid.json's, not zeta.json's layers' 32 (the images ζ rests on)
  EXPECT_EQ(s["top_regions_ranked_by"], "zeta");
  ASSERT_GE(s["top_regions"].size(), 3u);
  // epoch 2: conv1 ζ = 2.0 − 0.5 r is largest at r = 0 (2.0); the others' maxima are found the same way.
  double best = -1e9;
  std::string best_layer, best_region;
  for (size_t l = 0; l < kLayers.size(); ++l)
    for (int r = 0; r < kLayers[l].count(); ++r)
      if (synthetic_zeta(2, l, r) > best) best = synthetic_zeta(2, l, r), best_layer = kLayers[l].name, best_region = kLayers[l].key(r);
  const Json& top = s["top_regions"][0];
  EXPECT_EQ(top["layer"], best_layer);
  EXPECT_EQ(top["region"], best_region);
  EXPECT_NEAR(top["zeta"].get<double>(), best, 1e-3);
  for (const Json& r : s["top_regions"]) {
    const int l = r["layer"] == "conv1" ? 0 : r["layer"] == "pool1" ? 1 : 2;
    EXPECT_EQ(r["role"], report::region_role(l, 3));
    EXPECT_EQ(r["grid"].size(), 3u);
    EXPECT_TRUE(r.contains("zeta_ci") && r.contains("significant") && r.contains("selectivity"));
  }
  // strength = connection_strength / units of the receiving layer: pool1 has 16, output 3.
  ASSERT_EQ(s["critical_pathways"].size(), 2u);
  EXPECT_EQ(s["critical_pathways"][0]["path"], "pool1\u2192output");
  EXPECT_NEAR(s["critical_pathways"][0]["strength"].get<double>(), 10.0, 1e-9);
  EXPECT_EQ(s["critical_pathways"][1]["path"], "conv1\u2192pool1");
  EXPECT_NEAR(s["critical_pathways"][1]["strength"].get<double>(), 2.0, 1e-9);
  EXPECT_EQ(s["critical_pathways"][1]["strongest_flow"], "grid_2_2_2 \u2192 grid_2_2_2");
  EXPECT_EQ(s["critical_chains"][0]["path"], "conv1:grid_2_2_2 \u2192 pool1:grid_2_2_2 \u2192 output:grid_1_1_2");
  EXPECT_DOUBLE_EQ(s["coverage"]["conv1"].get<double>(), 0.875);
  EXPECT_TRUE(s["critical_share"].contains("pool1"));
  // conv1's ζ order is reversed from epoch 1 to 2: Spearman −1.
  EXPECT_NEAR(s["zeta_stability"]["layers"]["conv1"].get<double>(), -1, 1e-9);
  EXPECT_EQ(s["epochs_trained"], 3);
  EXPECT_EQ(s["analysed_epochs"], Json::array({1, 2}));
  EXPECT_EQ(s["final"]["epoch"], 3);
  EXPECT_EQ(s["best_test_acc"]["epoch"], 3);
  EXPECT_EQ(s["report"], "report.html");

  const Json e1 = read_json(tmp.path / "analysis/epoch_001/summary.json");
  EXPECT_EQ(e1["epoch"], 1);
  EXPECT_FALSE(e1.contains("zeta_stability"));  // nothing before epoch 1
  EXPECT_FALSE(e1["figures"].empty());
  for (const Json& f : e1["figures"]) EXPECT_EQ(f.get<std::string>().rfind("figures/epoch_001/", 0), 0u) << f;  // its own
  EXPECT_LT(e1["figures"].size(), s["figures"].size());
  EXPECT_EQ(e1["missing"], Json::array());
}

TEST(Report, ZetaStabilityPerLayer) {
  TempDir tmp("stability");
  write_run(tmp.path);
  const report::RunData run = report::load_run(tmp.str());
  const std::vector<report::StabilityStep> steps = report::zeta_stability(run);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].from_epoch, 1);
  EXPECT_EQ(steps[0].to_epoch, 2);
  EXPECT_NEAR(*steps[0].layers[0], -1, 1e-12);
  EXPECT_NEAR(*steps[0].layers[1], 1, 1e-12);  // pool1: the same pattern shifted by 0.1
  double mean = 0;
  for (const auto& v : steps[0].layers) mean += *v;
  EXPECT_NEAR(*steps[0].mean, mean / 3, 1e-12);
}

// The training digest reads only the last two epochs with ζ: the same last step as the whole run's,
// with an epoch without zeta.json after them (skipped) and one before them (not read).
TEST(Report, LatestEpochsWithZetaGiveTheLastStabilityStep) {
  TempDir tmp("stability_latest");
  write_run(tmp.path);
  const fs::path e3 = tmp.path / "analysis" / "epoch_003", e0 = tmp.path / "analysis" / "epoch_000";
  write(e3 / "grid.json", grid_json(3).dump(1));  // grid only
  write(e0 / "grid.json", grid_json(0).dump(1));
  write(e0 / "zeta.json", zeta_json(0).dump(1));
  const std::vector<report::StabilityStep> all = report::zeta_stability(report::load_run(tmp.str()));
  const report::RunData latest_run = report::load_run(tmp.str(), {false, 2});
  ASSERT_EQ(latest_run.epochs.size(), 2u);
  EXPECT_EQ(latest_run.epochs[0].epoch, 1);
  EXPECT_EQ(latest_run.epochs[1].epoch, 2);
  const std::vector<report::StabilityStep> latest = report::zeta_stability(latest_run);
  ASSERT_EQ(all.size(), 2u);
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].to_epoch, all[1].to_epoch);
  EXPECT_EQ(latest[0].from_epoch, all[1].from_epoch);
  EXPECT_EQ(*latest[0].mean, *all[1].mean);
}

// eeg/epoch_00E.json of write_run's net: every region's γ a rising function of its ζ at that epoch
// (a planted association), conv1 `unstable` at epoch 2 (where its ζ map reverses, so its spatial
// state is `unstable` too), output `dead` at epoch 2 (where the test widens every output ζ interval
// over 0), one conv1 event in epoch 2; every other block `learning`.
Json eeg_json(int epoch) {
  Json blocks = Json::object();
  for (size_t l = 0; l < kLayers.size(); ++l) {
    const LayerSpec& s = kLayers[l];
    Json regions = Json::object();
    for (int r = 0; r < s.count(); ++r)
      regions[s.key(r)] = {{"mean_activity", 0.5}, {"gamma", 1 / (1 + std::exp(-synthetic_zeta(epoch, l, r)))}};
    Json bands = {{"delta", 0.1}, {"theta", 0.1}, {"alpha", 0.2}, {"beta", 0.3}, {"gamma", 0.1 + 0.1 * double(l) + 0.01 * epoch}};
    const char* state = l == 0 && epoch == 2 ? "unstable" : l == 2 && epoch == 2 ? "dead" : "learning";
    blocks[s.name] = {{"state", state}, {"activity_bands", bands},
                      {"grad_norm_bands", bands}, {"regions", regions}};
  }
  Json events = Json::array();
  if (epoch == 2) events.push_back({{"step", 15}, {"block", "conv1"}, {"region", ""}, {"channel", "update_ratio"}, {"z", 9.5}});
  if (epoch == 3) events.push_back({{"step", 25}, {"block", "output"}, {"region", ""}, {"channel", "activity"}, {"z", -7.0}});
  return {{"epoch", epoch}, {"steps", {10 * epoch - 9, 10 * epoch}}, {"window", 8}, {"definitions", "README.md, NN-EEG"},
          {"span", {10 * epoch - 7, 10 * epoch}}, {"loss", {{"bands", blocks["conv1"]["activity_bands"]}, {"trend_t", -3.0}}},
          {"blocks", blocks}, {"events", events}};
}

// The eeg files of a run with run.json are read only where run.json lists them: epochs 2 and 3's,
// written before their commit (or by an epoch a kill cut short), are not; without run.json all are.
TEST(Report, EegFilesAreReadOnlyWhereTheManifestListsThem) {
  TempDir tmp("eeg_committed");
  write_run(tmp.path);
  for (int e = 1; e <= 3; ++e) write(tmp.path / "eeg" / ("epoch_00" + std::to_string(e) + ".json"), eeg_json(e).dump(1));
  EXPECT_EQ(report::load_eeg(tmp.str()).size(), 3u);
  run::Manifest m;
  m.epochs = 3, m.completed_epoch = 1, m.threads = 1;
  m.files = {"config.json", "eeg/epoch_001.json", "metrics.jsonl"};
  run::write_manifest(run::Layout(tmp.str()), m);
  const report::RunData run = report::load_run(tmp.str());
  ASSERT_TRUE(run.committed_files.has_value());
  const std::vector<report::EegEpoch> eeg = report::load_eeg(tmp.str(), &*run.committed_files);
  ASSERT_EQ(eeg.size(), 1u);
  EXPECT_EQ(eeg[0].epoch, 1);
  report::build_report(tmp.str(), {});
  EXPECT_TRUE(fs::exists(tmp.path / "analysis/epoch_001/eeg.json"));
  EXPECT_FALSE(fs::exists(tmp.path / "analysis/epoch_002/eeg.json"));
  // the served page data (serve's data endpoint) holds epoch 1's NN-EEG lane only
  const Json data = Json::parse(report::page_data_text(run));
  ASSERT_EQ(data["eeg"]["epochs"].size(), 1u) << data["eeg"].dump();
  EXPECT_EQ(data["eeg"]["epochs"][0]["epoch"], 1);
  EXPECT_FALSE(report::load_run(tmp.str(), {true, 0}).committed_files.has_value());
}

// Audit A 10: an event of an unknown block was drawn on the loss lane, and one at a step outside its
// epoch's steps was listed too.  Both are one error naming the file and pointer.
TEST(Report, EegEventsOfAnUnknownBlockOrAnotherEpochsStepAreRefused) {
  for (const auto& [key, value, expected] : std::vector<std::tuple<std::string, Json, std::string>>{
           {"block", "nope", "epoch_002.json: /events/0/block: expected \"\" (the loss) or a block of /blocks, found the string \"nope\""},
           {"step", 999999, "epoch_002.json: /events/0/step: expected an integer from 9 to 20, found the number 999999"},
           // two steps before the first is the earliest onset a change event confirmed in this epoch can have
           {"step", 8, "epoch_002.json: /events/0/step: expected an integer from 9 to 20, found the number 8"}}) {
    TempDir tmp("eeg_event");
    Json eeg = eeg_json(2);
    eeg["events"][0][key] = value;
    write(tmp.path / "eeg/epoch_002.json", eeg.dump(1));
    expect_error_naming([&] { report::load_eeg(tmp.str()); }, expected);
  }
}

// The Welch span was read as two integers: a span past the epoch's steps, or longer than the 2W steps
// the spectra cover, was taken and its spectra shown as the epoch's.  The span is the last
// min(2W, rows so far) ≥ W steps, ending at the epoch's last step (here steps [11, 20], W 8).
TEST(Report, EegSpansThatAreNoRecordersAreRefused) {
  for (const auto& [span, expected] : std::vector<std::pair<Json, std::string>>{
           {Json::array({13, 999999}), "epoch_002.json: /span/1: expected the epoch's last step, 20 (/steps/1), found the number 999999"},
           {Json::array({1, 20}), "epoch_002.json: /span/0: expected an integer from 5 to 13, found the number 1"},
           {Json::array({15, 20}), "epoch_002.json: /span/0: expected an integer from 5 to 13, found the number 15"},
           {Json::array({13}), "epoch_002.json: /span: expected [first, last]"}}) {
    TempDir tmp("eeg_span");
    Json eeg = eeg_json(2);
    write(tmp.path / "eeg/epoch_002.json", eeg.dump(1));
    EXPECT_EQ(report::load_eeg(tmp.str()).size(), 1u);  // its own span [13, 20]
    eeg["span"] = span;
    write(tmp.path / "eeg/epoch_002.json", eeg.dump(1));
    expect_error_naming([&] { report::load_eeg(tmp.str()); }, expected);
  }
  TempDir tmp("eeg_span_early");  // fewer than W steps at the epoch's end: no spectra, span null
  Json eeg = eeg_json(1);
  eeg["window"] = 16;
  write(tmp.path / "eeg/epoch_001.json", eeg.dump(1));
  expect_error_naming([&] { report::load_eeg(tmp.str()); }, "epoch_001.json: /span: expected null (no spectra before 16 steps");
}

// Two epochs claiming the same steps would be folded into one trace twice: refused naming both files.
// An epoch without rows (steps [s, s − 1]) sits anywhere.
TEST(Report, EegEpochsWhoseStepsOverlapAreRefusedNamingBoth) {
  TempDir tmp("eeg_overlap");
  write_run(tmp.path);
  Json second = eeg_json(2), empty = eeg_json(3);
  empty["steps"] = {15, 14};
  empty["span"] = {7, 14};
  empty["events"] = Json::array();  // no steps, no events
  write(tmp.path / "eeg/epoch_001.json", eeg_json(1).dump(1));
  write(tmp.path / "eeg/epoch_002.json", second.dump(1));
  write(tmp.path / "eeg/epoch_003.json", empty.dump(1));
  EXPECT_EQ(report::load_eeg(tmp.str()).size(), 3u);
  second["steps"] = {10, 20};  // epoch 1 holds [1, 10]
  write(tmp.path / "eeg/epoch_002.json", second.dump(1));
  const std::string message = error_of([&] { report::load_eeg(tmp.str()); });
  EXPECT_NE(message.find("epoch_002.json: /steps: [10, 20] overlap the steps of "), std::string::npos) << message;
  EXPECT_NE(message.find("epoch_001.json [1, 10]"), std::string::npos) << message;
}

TEST(Report, EegConsistencyOnAPlantedRun) {
  TempDir a("eeg_a"), b("eeg_b");
  for (const TempDir* t : {&a, &b}) {
    write_run(t->path);
    Json zeta = zeta_json(2);
    for (auto& [key, region] : zeta["layers"]["output"]["regions"].items())
      region["confidence_interval"] = {region["zeta_score"].get<double>() - 5, region["zeta_score"].get<double>() + 5};
    write(t->path / "analysis/epoch_002/zeta.json", zeta.dump(1));
    for (int e = 1; e <= 3; ++e) write(t->path / "eeg" / ("epoch_00" + std::to_string(e) + ".json"), eeg_json(e).dump(1));
    report::build_report(t->str(), {});
  }
  EXPECT_FALSE(fs::exists(a.path / "analysis/epoch_003"));  // epoch 3 was not analysed
  const Json e1 = read_json(a.path / "analysis/epoch_001/eeg.json"), e2 = read_json(a.path / "analysis/epoch_002/eeg.json");
  EXPECT_EQ(base::read_file((a.path / "analysis/epoch_002/eeg.json").string()),
            base::read_file((b.path / "analysis/epoch_002/eeg.json").string()));  // same files, same bytes
  const Json& c = e2["consistency"];
  // γ rises with ζ in every block: ρ = 1 per block, and in every resample; the shuffles break it
  EXPECT_DOUBLE_EQ(c["rho_gamma_zeta"]["value"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(c["rho_gamma_zeta"]["ci"][0].get<double>(), 1.0);
  EXPECT_LT(std::abs(c["rho_gamma_zeta"]["null_shuffled"]["median"].get<double>()), 0.5);
  EXPECT_EQ(c["rho_gamma_zeta"]["items"], 8 + 8 + 3);
  EXPECT_DOUBLE_EQ(e2["blocks"]["pool1"]["rho_gamma_zeta"].get<double>(), 1.0);
  // states: conv1 `unstable` at epoch 2 on both sides (its ζ stability is −1), the rest ok/learning
  EXPECT_EQ(e2["blocks"]["conv1"]["spatial_state"], "unstable");
  EXPECT_EQ(e2["blocks"]["pool1"]["spatial_state"], "ok");
  EXPECT_EQ(e2["blocks"]["output"]["spatial_state"], "dead");  // every ζ interval includes 0
  EXPECT_EQ(e1["blocks"]["output"]["spatial_state"], "ok");
  EXPECT_EQ(e1["blocks"]["conv1"]["spatial_state"], "ok");
  EXPECT_EQ(c["kappa"]["items"], 6);  // 3 blocks × 2 analysed epochs
  EXPECT_DOUBLE_EQ(c["kappa"]["value"].get<double>(), 1.0);
  EXPECT_TRUE(e1["consistency"]["kappa"]["value"].is_null());  // epoch 1 alone: every item ok on both sides
  // anomalies: conv1's ζ-map jump at epoch 2 and its one event; F1 = 1 over the 3 blocks
  EXPECT_EQ(e2["blocks"]["conv1"]["spatial_anomaly"], true);
  EXPECT_EQ(e2["blocks"]["output"]["spatial_anomaly"], false);
  EXPECT_EQ(e2["blocks"]["conv1"]["events"], 1);
  EXPECT_DOUBLE_EQ(c["f1"]["value"].get<double>(), 1.0);
  EXPECT_TRUE(e1["consistency"]["f1"]["value"].is_null());  // no previous analysed epoch
  EXPECT_DOUBLE_EQ(c["consistency"]["value"].get<double>(), 1.0);
  EXPECT_LT(c["consistency"]["null_shuffled"]["median"].get<double>(), 0.75);
  // the layer form over (block, epoch) points: x = γ of the block's activity, y = its max ζ
  EXPECT_EQ(c["rho_gamma_zeta_layer"]["items"], 6);
  EXPECT_EQ(e2["events_total"], 1);  // epoch 3's event is after the last analysed epoch

  // A malformed eeg file is one error naming it and the pointer; nothing is written.
  Json bad = eeg_json(2);
  bad["blocks"]["pool1"]["state"] = "sleepy";
  write(a.path / "eeg/epoch_002.json", bad.dump());
  std::string message = error_of([&] { report::build_report(a.str(), {}); });
  EXPECT_NE(message.find("eeg/epoch_002.json: /blocks/pool1/state: expected a state"), std::string::npos) << message;
  bad = eeg_json(2);
  bad["blocks"]["conv1"]["regions"]["grid_1_1_1"]["gamma"] = 1.5;
  write(a.path / "eeg/epoch_002.json", bad.dump());
  message = error_of([&] { report::build_report(a.str(), {}); });
  EXPECT_NE(message.find("/blocks/conv1/regions/grid_1_1_1/gamma: expected a relative band power"), std::string::npos) << message;
  bad = eeg_json(2);  // a mean of |a| is never negative
  bad["blocks"]["conv1"]["regions"]["grid_1_1_1"]["mean_activity"] = -0.5;
  write(a.path / "eeg/epoch_002.json", bad.dump());
  message = error_of([&] { report::build_report(a.str(), {}); });
  EXPECT_NE(message.find("/blocks/conv1/regions/grid_1_1_1/mean_activity: expected a number ≥ 0, found"), std::string::npos)
      << message;
  bad = eeg_json(2);
  bad["epoch"] = 5;
  write(a.path / "eeg/epoch_002.json", bad.dump());
  message = error_of([&] { report::build_report(a.str(), {}); });
  EXPECT_NE(message.find("eeg/epoch_002.json: /epoch"), std::string::npos) << message;
}

TEST(Report, FiguresAreValidPngsAndDeterministic) {
  TempDir a("png_a"), b("png_b");
  write_run(a.path / "run");
  write_run(b.path / "run");
  report::build_report((a.path / "run").string(), {});
  report::build_report((b.path / "run").string(), {});
  const Json s = read_json(a.path / "run/summary.json");
  const std::vector<std::string> expected = {"figures/epoch_001/conv1_density.png", "figures/epoch_002/output_zeta.png",
                                             "figures/epoch_002/pathways.png", "figures/evolution/pool1_zeta.png",
                                             "figures/training.png"};
  std::vector<std::string> listed = s["figures"].get<std::vector<std::string>>();
  for (const std::string& f : expected) EXPECT_NE(std::find(listed.begin(), listed.end(), f), listed.end()) << f;
  EXPECT_EQ(listed.size(), 2u * 3 * 2 + 2 + 3 * 2 + 1);  // maps, pathways, evolution, training
  for (const std::string& f : listed) {
    const std::string bytes = base::read_file((a.path / "run" / f).string());
    ASSERT_GT(bytes.size(), 24u) << f;
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << f;
    EXPECT_EQ(bytes.substr(12, 4), "IHDR") << f;
    int w = 0, h = 0, channels = 0;
    unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()), &w, &h,
                                                  &channels, 0);
    ASSERT_NE(pixels, nullptr) << f;
    EXPECT_EQ(channels, 3);
    EXPECT_GT(w, 200) << f;
    EXPECT_GT(h, 100) << f;
    // IHDR width and height are big-endian at bytes 16..23.
    auto be32 = [&](size_t at) {
      return (unsigned(uint8_t(bytes[at])) << 24) | (unsigned(uint8_t(bytes[at + 1])) << 16) | (unsigned(uint8_t(bytes[at + 2])) << 8) |
             unsigned(uint8_t(bytes[at + 3]));
    };
    EXPECT_EQ(be32(16), unsigned(w));
    EXPECT_EQ(be32(20), unsigned(h));
    // rendered text: the title line (top 16..40 px) holds dark pixels
    int dark = 0;
    for (int y = 16; y < 40 && y < h; ++y)
      for (int x = 0; x < w; ++x) dark += pixels[(size_t(y) * w + x) * 3] < 80;
    EXPECT_GT(dark, 50) << f;
    stbi_image_free(pixels);
    EXPECT_EQ(bytes, base::read_file((b.path / "run" / f).string())) << f;
  }
  for (const char* f : {"summary.json", "report.html", "analysis/epoch_002/summary.json"})
    EXPECT_EQ(base::read_file((a.path / "run" / f).string()), base::read_file((b.path / "run" / f).string())) << f;
}

TEST(Report, SvgFiguresAndFiguresOnly) {
  TempDir tmp("svg");
  write_run(tmp.path);
  report::ReportOptions opts;
  opts.format = "svg";
  opts.figures_only = true;
  report::build_report(tmp.str(), opts);
  EXPECT_FALSE(fs::exists(tmp.path / "report.html"));
  const Json s = read_json(tmp.path / "summary.json");
  EXPECT_FALSE(s.contains("report"));
  for (const Json& f : s["figures"]) {
    const std::string text = base::read_file((tmp.path / f.get<std::string>()).string());
    EXPECT_EQ(text.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << f;
    EXPECT_NE(text.find("</svg>"), std::string::npos) << f;
    EXPECT_NE(text.find("<text"), std::string::npos) << f;
  }
  opts.format = "jpg";
  EXPECT_NE(error_of([&] { report::build_report(tmp.str(), opts); }).find("--format 'jpg'"), std::string::npos);
  // Audit A 12: an earlier report.html stayed beside the new summary with its old numbers; it goes.
  report::build_report(tmp.str(), {});
  ASSERT_TRUE(fs::exists(tmp.path / "report.html"));
  opts.format = "png";
  const std::string text = report::build_report(tmp.str(), opts);
  EXPECT_FALSE(fs::exists(tmp.path / "report.html"));
  EXPECT_NE(text.find("report.html (--figures-only writes no page)"), std::string::npos) << text;
}

TEST(Report, PageEscapesDataText) {
  TempDir tmp("escape");
  write_run(tmp.path, "<script>alert(1)</script>&\u2028x");
  report::build_report(tmp.str(), {});
  const std::string html = base::read_file((tmp.path / "report.html").string());
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("\u2028"), std::string::npos);
  EXPECT_NE(html.find("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u0026\\u2028x"), std::string::npos);
  // Only the page's own three script elements (data, helpers.js, report.js), and no network.
  size_t scripts = 0;
  for (size_t at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1)) ++scripts;
  EXPECT_EQ(scripts, 3u);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(report::script_safe_json(R"({"a":"</script><!--&"})"), R"({"a":"\u003c/script\u003e\u003c!--\u0026"})");
}

// The page's data: the JSON of report.html's <script id="report-data"> in `dir`.
Json page_data(const fs::path& dir) {
  const std::string html = base::read_file((dir / "report.html").string());
  const std::string open = "id=\"report-data\">";
  const size_t from = html.find(open) + open.size();
  return Json::parse(html.substr(from, html.find("</script>", from) - from));
}

// The region panel shows the summary's selectivity (not a recomputation from rounded bits), so a
// region reads the same in the top-regions table and in its panel.
TEST(Report, PageDataCarriesTheSummarysSelectivity) {
  TempDir tmp("selectivity");
  write_run(tmp.path);
  report::build_report(tmp.str(), {});
  const Json data = page_data(tmp.path);
  ASSERT_EQ(data["epochs"].size(), 2u);
  size_t checked = 0;
  for (const Json& epoch : data["epochs"]) {
    for (size_t l = 0; l < kLayers.size(); ++l) {
      const Json& selectivity = epoch["layers"][l]["g"]["selectivity"];
      ASSERT_EQ(selectivity.size(), size_t(kLayers[l].count()));
      for (int r = 0; r < kLayers[l].count(); ++r)  // information 0.2 + 0.05 r, null 0.05, 3 classes
        EXPECT_NEAR(selectivity[size_t(r)].get<double>(), std::min(1.0, (0.15 + 0.05 * r) / std::log2(3.0)), 1e-4);
    }
    for (const Json& top : epoch["summary"]["top_regions"]) {
      const size_t l = size_t(std::find_if(kLayers.begin(), kLayers.end(), [&](const LayerSpec& s) { return s.name == top["layer"]; }) - kLayers.begin());
      const LayerSpec& s = kLayers[l];
      const int r = ((top["grid"][0].get<int>() - 1) * s.gw + top["grid"][1].get<int>() - 1) * s.gc + top["grid"][2].get<int>() - 1;
      EXPECT_EQ(epoch["layers"][l]["g"]["selectivity"][size_t(r)], top["selectivity"]) << top["layer"] << " " << top["region"];
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

// A layer scored with a later layer's game (zeta.json "same_game_as", README "One game, two blocks")
// carries that name to the page; a name that is not another layer of the file is one clear error.
TEST(Report, PageDataSaysWhichLayersGameALayerPlays) {
  TempDir tmp("same_game");
  write_run(tmp.path);
  Json zeta = zeta_json(2);
  zeta["layers"]["conv1"]["same_game_as"] = "pool1";
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
  const std::string text = report::build_report(tmp.str(), {});
  const Json data = page_data(tmp.path);
  ASSERT_EQ(data["epochs"].size(), 2u);
  EXPECT_TRUE(data["epochs"][0]["layers"][0]["z"]["same_game_as"].is_null());
  EXPECT_EQ(data["epochs"][1]["layers"][0]["z"]["same_game_as"], "pool1");
  EXPECT_TRUE(data["epochs"][1]["layers"][1]["z"]["same_game_as"].is_null());

  // The top regions rank each game once: at epoch 2 conv1's entries (pool1's game renamed) are left
  // out, the first is the largest ζ of the other layers, and pool1's entries name conv1; at epoch 1,
  // where conv1 plays its own game, every layer ranks and nothing names another layer.
  const Json top2 = read_json(tmp.path / "summary.json")["top_regions"];
  const Json top1 = read_json(tmp.path / "analysis/epoch_001/summary.json")["top_regions"];
  ASSERT_FALSE(top2.empty());
  int pool1_entries = 0;
  for (const Json& r : top2) {
    EXPECT_NE(r["layer"], "conv1") << r.dump();
    if (r["layer"] == "pool1") {
      EXPECT_EQ(r["same_game_layers"], Json::array({"conv1"})) << r.dump();
      ++pool1_entries;
    } else {
      EXPECT_FALSE(r.contains("same_game_layers")) << r.dump();
    }
  }
  EXPECT_GT(pool1_entries, 0);
  EXPECT_NE(text.find("conv1's \u03b6 too, the same game"), std::string::npos) << text;
  auto best_of = [](int epoch, bool with_conv1) {
    double best = -1e9;
    std::string name;
    for (size_t l = with_conv1 ? 0 : 1; l < kLayers.size(); ++l)
      for (int r = 0; r < kLayers[l].count(); ++r)
        if (synthetic_zeta(epoch, l, r) > best) best = synthetic_zeta(epoch, l, r), name = kLayers[l].name + " " + kLayers[l].key(r);
    return name;
  };
  EXPECT_EQ(top2[0]["layer"].get<std::string>() + " " + top2[0]["region"].get<std::string>(), best_of(2, false));
  ASSERT_FALSE(top1.empty());
  EXPECT_EQ(top1[0]["layer"].get<std::string>() + " " + top1[0]["region"].get<std::string>(), best_of(1, true));
  bool conv1_ranked = false;
  for (const Json& r : top1) {
    EXPECT_FALSE(r.contains("same_game_layers")) << r.dump();
    conv1_ranked = conv1_ranked || r["layer"] == "conv1";
  }
  EXPECT_TRUE(conv1_ranked);

  for (const std::string bad : {"pool9", "conv1"}) {
    zeta["layers"]["conv1"]["same_game_as"] = bad;
    write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
    const std::string message = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(message.find("zeta.json: /layers/conv1/same_game_as: expected another layer of this zeta.json, found \"" + bad + "\""),
              std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  // A cycle (conv1 → pool1 → conv1, or pool1 → output → pool1 behind conv1's name) left no layer's ζ
  // ranked: the summary's top regions were empty, exit 0.  A chain that ends is read (conv1 → pool1 → output).
  zeta["layers"]["conv1"]["same_game_as"] = "pool1";
  zeta["layers"]["pool1"]["same_game_as"] = "output";
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
  report::build_report(tmp.str(), {});
  EXPECT_FALSE(read_json(tmp.path / "summary.json")["top_regions"].empty());
  for (const char* back : {"conv1", "pool1"}) {
    zeta["layers"]["output"]["same_game_as"] = back;
    write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
    const std::string message = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(message.find("/same_game_as: \"pool1\": same_game_as followed from it runs in a cycle"), std::string::npos)
        << back << ": " << message;
  }
}

TEST(Report, MissingInputsAreTolerated) {
  TempDir tmp("missing");
  write_run(tmp.path);
  fs::remove(tmp.path / "analysis/epoch_001/zeta.json");
  fs::remove(tmp.path / "analysis/epoch_001/tract.json");
  fs::remove(tmp.path / "analysis/epoch_002/grid.json");
  fs::create_directories(tmp.path / "analysis/epoch_003");  // empty
  const std::string text = report::build_report(tmp.str(), {});
  EXPECT_NE(text.find("missing:"), std::string::npos) << text;
  const Json e1 = read_json(tmp.path / "analysis/epoch_001/summary.json");
  EXPECT_EQ(e1["missing"], Json::array({"zeta.json", "tract.json"}));
  // Audit A 11: ranked by information above the null floor, which is what the list says and prints
  EXPECT_EQ(e1["top_regions_ranked_by"], "information_above_null");
  ASSERT_FALSE(e1["top_regions"].empty());
  for (size_t i = 1; i < e1["top_regions"].size(); ++i)
    EXPECT_GE(e1["top_regions"][i - 1]["information_above_null"].get<double>(), e1["top_regions"][i]["information_above_null"].get<double>());
  const Json e2 = read_json(tmp.path / "analysis/epoch_002/summary.json");
  EXPECT_EQ(e2["missing"], Json::array({"grid.json"}));
  EXPECT_TRUE(e2["coverage"].empty());
  // without grid.json at epoch 2 the shapes still come from epoch 1's grid.json
  EXPECT_TRUE(e2["critical_pathways"][0].contains("strength"));
  const Json s = read_json(tmp.path / "summary.json");
  EXPECT_EQ(s["epoch"], 3);
  bool noted = false;
  for (const Json& n : s["notes"]) noted = noted || n.get<std::string>().find("epoch 1: no zeta.json") != std::string::npos;
  EXPECT_TRUE(noted) << s["notes"].dump();
  EXPECT_FALSE(fs::exists(tmp.path / "figures/epoch_001/conv1_zeta.png"));
  EXPECT_FALSE(fs::exists(tmp.path / "figures/epoch_002/conv1_density.png"));
  EXPECT_TRUE(fs::exists(tmp.path / "figures/epoch_002/conv1_zeta.png"));
  EXPECT_TRUE(fs::exists(tmp.path / "report.html"));

  // no grid.json anywhere: grids are inferred from the region keys, strength is left out
  TempDir bare("bare");
  write_run(bare.path);
  for (const char* e : {"epoch_001", "epoch_002"}) fs::remove(bare.path / "analysis" / e / "grid.json");
  fs::remove(bare.path / "metrics.jsonl");
  report::build_report(bare.str(), {});
  const Json b = read_json(bare.path / "summary.json");
  EXPECT_FALSE(b["critical_pathways"][0].contains("strength"));
  EXPECT_EQ(b["critical_pathways"][0]["path"], "conv1\u2192pool1");  // ranked by raw connection strength
  EXPECT_FALSE(b.contains("test_acc"));
}

// `nnfmri analyze --out DIR` leaves grid/zeta/tract.json directly in DIR: the report reads it as one
// epoch (numbered as the files say), takes model, data and classes from the files' header, writes
// DIR/summary.json (the epoch's summary and the run's in one), figures and the page, and reads its
// own output again the same way (same bytes).
TEST(Report, AnAnalyzeOutputDirectoryIsOneEpochWithoutTrainingCurves) {
  TempDir tmp("analyze");
  Json grid = grid_json(7), zeta = zeta_json(7);
  grid["dataset"]["classes"] = {"cat", "dog", "bird"};
  grid["dataset"]["spec"] = "cifar10:rel";
  grid["dataset"]["absolute_spec"] = "cifar10:/abs/rel";
  write_analysis(tmp.path, grid, zeta);
  write(tmp.path / "tract.json", tract_json().dump(1));
  const std::string text = report::build_report(tmp.str(), {});
  EXPECT_NE(text.find("report: tiny on synthetic, an analyze output directory (no training); epoch 7"), std::string::npos) << text;
  EXPECT_NE(text.find("  notes: an analyze output directory"), std::string::npos) << text;
  const Json s = read_json(tmp.path / "summary.json");
  EXPECT_EQ(s["epoch"], 7);
  EXPECT_EQ(s["model"], "tiny");
  EXPECT_EQ(s["analysed_epochs"], Json::array({7}));
  EXPECT_EQ(s["epochs_trained"], 0);
  EXPECT_FALSE(s.contains("final"));
  EXPECT_TRUE(s["top_regions"][0].contains("selectivity"));  // the classes came from the header
  EXPECT_EQ(s["missing"], Json::array());
  EXPECT_EQ(s["notes"], Json::array({"an analyze output directory: one analysed epoch, no run settings or training curves"}));
  EXPECT_FALSE(fs::exists(tmp.path / "analysis"));
  EXPECT_TRUE(fs::exists(tmp.path / "figures/epoch_007/conv1_zeta.png"));
  EXPECT_TRUE(fs::exists(tmp.path / "figures/epoch_007/pathways.png"));
  EXPECT_FALSE(fs::exists(tmp.path / "figures/training.png"));  // nothing trained: no empty panels
  EXPECT_FALSE(fs::exists(tmp.path / "figures/evolution"));     // one checkpoint: nothing evolves
  const std::string page = base::read_file((tmp.path / "report.html").string());
  EXPECT_NE(page.find("\"model\":\"tiny\""), std::string::npos);
  EXPECT_NE(page.find("\"analysis_dir\":true"), std::string::npos);  // the page says "one analysed checkpoint"
  EXPECT_NE(page.find("\"data\":{\"spec\":\"cifar10:rel\",\"absolute_spec\":\"cifar10:/abs/rel\"}"), std::string::npos)
      << "the data of its commands";
  // Its own output (summary.json, figures/, report.html) does not make it a run directory.
  const std::string summary = base::read_file((tmp.path / "summary.json").string());
  report::build_report(tmp.str(), {});
  EXPECT_EQ(base::read_file((tmp.path / "summary.json").string()), summary);
  EXPECT_EQ(base::read_file((tmp.path / "report.html").string()), page);
  // Only zeta.json: the epoch comes from its header.
  TempDir only("analyze_zeta");
  write(only.path / "zeta.json", zeta_json(4).dump(1));
  report::build_report(only.str(), {});
  EXPECT_EQ(read_json(only.path / "summary.json")["epoch"], 4);
  // A directory with none of the files is still one error naming both kinds of directory.
  TempDir empty("analyze_empty");
  expect_error_naming([&] { report::build_report(empty.str(), {}); }, "an output directory of nnfmri analyze");
}

// Audit A 13: `nnfmri report .` called the run "." on the page and in every figure's subtitle.
TEST(Report, TheRunIsNamedAfterItsDirectoryHoweverItIsWritten) {
  TempDir tmp("run_name");
  write_run(tmp.path / "main");
  const fs::path before = fs::current_path();
  for (const auto& [cwd, dir] : std::vector<std::pair<fs::path, std::string>>{{tmp.path / "main", "."}, {tmp.path, "main/."},
                                                                               {tmp.path, "./main/../main/"}}) {
    fs::current_path(cwd);
    report::build_report(dir, {});
    fs::current_path(before);
    const std::string page = base::read_file((tmp.path / "main/report.html").string());
    EXPECT_NE(page.find("\"run\":\"main\""), std::string::npos) << dir;
  }
}

// The page's example pixels are base64: RFC 4648's test vectors, padding included.
TEST(Report, Base64IsRfc4648) {
  auto of = [](const std::string& s) { return report::base64(std::vector<uint8_t>(s.begin(), s.end())); };
  EXPECT_EQ(of(""), "");
  EXPECT_EQ(of("f"), "Zg==");
  EXPECT_EQ(of("fo"), "Zm8=");
  EXPECT_EQ(of("foo"), "Zm9v");
  EXPECT_EQ(of("foob"), "Zm9vYg==");
  EXPECT_EQ(of("fooba"), "Zm9vYmE=");
  EXPECT_EQ(of("foobar"), "Zm9vYmFy");
  EXPECT_EQ(report::base64({0xFB, 0xFF, 0xBF}), "+/+/");
}

// analyze --errors: zeta.json's errors.gallery and each layer's per_image rows give
// LAYER_gallery.png (with grid.json's receptive fields); the image is drawn and the overlay changes it
// (a gallery whose φ rows are zero draws a different image); errors.labels/predicted give confusion.png; a
// pixel count that is not C·H·W is one error.
TEST(Report, ErrorsGalleryIsDrawnFromZetaJson) {
  auto with_errors = [](double phi_scale, size_t pixels) {
    Json grid = grid_json(7), zeta = zeta_json(7);
    grid["dataset"]["classes"] = {"cat", "dog", "bird"};
    grid["layers"]["conv1"]["receptive_field"] = {{"rows", {{0, 3}, {1, 4}}}, {"cols", {{0, 3}, {1, 4}}}};
    Json gallery = Json::array();
    for (int i = 0; i < 3; ++i) {
      std::vector<int> px(pixels);
      for (size_t v = 0; v < px.size(); ++v) px[v] = int((v * 37 + size_t(i) * 11) % 256);
      gallery.push_back({{"slot", i}, {"index", 10 + i}, {"kind", i == 2 ? "mistake" : "confident"}, {"label", i % 2},
                         {"predicted", i == 2 ? 1 - i % 2 : i % 2}, {"probability_true", i == 2 ? 0.1 : 0.9}, {"pixels", px}});
    }
    zeta["errors"] = {{"shape", {3, 4, 4}}, {"gallery", gallery}, {"labels", {0, 1, 0}}, {"predicted", {0, 1, 1}}};
    Json rows = Json::array();
    for (int i = 0; i < 3; ++i) {
      Json row = Json::array();
      for (int r = 0; r < 8; ++r) row.push_back(phi_scale * (r - 3.5) * (i + 1));
      rows.push_back(row);
    }
    const Json phi = {0.1, -0.4, 0.3, 0.0, 0.2, -0.1, 0.5, -0.2};
    zeta["layers"]["conv1"]["errors"] = {
        {"per_image", rows},
        {"per_class", {{{"class", 0}, {"images", 2}, {"phi", phi}}, {{"class", 1}, {"images", 1}, {"phi", phi}}}},
        {"confusions", {{{"true", 0}, {"predicted", 1}, {"images", 1}, {"phi", phi}}}}};
    return std::make_pair(grid, zeta);
  };
  std::string drawn[2];
  for (int k = 0; k < 2; ++k) {
    TempDir tmp(k ? "gallery_flat" : "gallery");
    const auto [grid, zeta] = with_errors(k ? 0.0 : 0.01, 48);
    write_analysis(tmp.path, grid, zeta);
    report::build_report(tmp.str(), {});
    ASSERT_TRUE(fs::exists(tmp.path / "figures/epoch_007/conv1_gallery.png"));
    EXPECT_TRUE(fs::exists(tmp.path / "figures/epoch_007/confusion.png"));
    EXPECT_FALSE(fs::exists(tmp.path / "figures/epoch_007/pool1_gallery.png"));  // no receptive field in its grid.json
    drawn[k] = base::read_file((tmp.path / "figures/epoch_007/conv1_gallery.png").string());
    // The page gets the verdicts and, per layer, the 5 regions of each class (largest φ: 6, 2, 4, 0, 3)
    // and of each confusion cell the (at most 5) regions of negative φ, most negative first: 1, 7, 5 (not
    // also 3 and 0, of φ 0 and 0.1, under the page's "most negative φ").
    const std::string page = base::read_file((tmp.path / "report.html").string());
    EXPECT_NE(page.find("\"errors\":{\"labels\":[0,1,0],\"predicted\":[0,1,1],\"examples\":[{\"slot\":2,\"label\":0,\"predicted\":1,"),
              std::string::npos);  // the confusion view's examples: the mistakes only
    EXPECT_NE(page.find("\"shape\":[3,4,4]}"), std::string::npos);
    // ... and per layer each example's φ summed over the channel groups of each cell (i, j): image 2's
    // row is 0.03·(r − 3.5), r = (2i + j)·2 + k, so the cells hold −0.18, −0.06, 0.06, 0.18.
    if (k == 0) {
      EXPECT_NE(page.find("\"example_cells\":[[-0.18,-0.06,0.06,0.18]]"), std::string::npos);
    }
    EXPECT_NE(page.find("\"class\":0,\"images\":2,\"regions\":[6,2,4,0,3],\"phi\":[0.5,0.3,0.2,0.1,0.0],"
                        "\"map\":[0.1,-0.4,0.3,0.0,0.2,-0.1,0.5,-0.2]"),
              std::string::npos);  // and the class's whole map, for the page's class colouring
    EXPECT_NE(page.find("\"true\":0,\"predicted\":1,\"images\":1,\"regions\":[1,7,5],\"phi\":[-0.4,-0.2,-0.1]}"), std::string::npos);
  }
  EXPECT_NE(drawn[0], drawn[1]);
  TempDir bad("gallery_bad");
  const auto [grid, zeta] = with_errors(0.01, 47);
  write(bad.path / "grid.json", grid.dump(1));
  write(bad.path / "zeta.json", zeta.dump(1));
  expect_error_naming([&] { report::build_report(bad.str(), {}); }, "expected 48 pixel values");
  // a class index beyond the run's 3 classes, and a gallery slot beyond the sample's 3 images, are
  // refused (they drew an 18×18 confusion matrix of unnamed classes)
  for (int k = 0; k < 2; ++k) {
    auto [g, z] = with_errors(0.01, 48);
    if (k == 0) z["errors"]["predicted"][0] = 17;
    else z["errors"]["gallery"][1]["slot"] = 999;
    write(bad.path / "grid.json", g.dump(1));
    write(bad.path / "zeta.json", z.dump(1));
    expect_error_naming([&] { report::build_report(bad.str(), {}); },
                        k == 0 ? "zeta.json: /errors/predicted/0: expected an integer from 0 to 2"
                               : "zeta.json: /errors/gallery/1/slot: expected an integer from 0 to 2");
  }
}

// A zeta.json errors value that is wrong, not only malformed, is one error naming its pointer: none of
// these is drawn (a p(true) of 5 on the page, a gallery image labelled against its slot, a class beyond
// the run's classes, a "mistake" the net got right, a cell true → true, a class twice), and an `errors`
// that is no object is not read as a run without error maps.
TEST(Report, WrongErrorMapsAreRefusedNamingTheirPointer) {
  TempDir bad("errors_wrong");
  const Json phi = {0.1, -0.4, 0.3, 0.0, 0.2, -0.1, 0.5, -0.2};
  auto zeta_with = [&](const std::function<void(Json&)>& change) {
    Json grid = grid_json(7), zeta = zeta_json(7);
    grid["dataset"]["classes"] = {"cat", "dog", "bird"};
    Json gallery = Json::array();
    for (int i = 0; i < 3; ++i)
      gallery.push_back({{"slot", i}, {"index", 10 + i}, {"kind", i == 2 ? "mistake" : "confident"}, {"label", i % 2},
                         {"predicted", i == 2 ? 1 : i % 2}, {"probability_true", i == 2 ? 0.1 : 0.9},
                         {"pixels", std::vector<int>(48, 7)}});
    zeta["errors"] = {{"shape", {3, 4, 4}}, {"gallery", gallery}, {"labels", {0, 1, 0}}, {"predicted", {0, 1, 1}}};
    zeta["layers"]["conv1"]["errors"] = {
        {"per_image", Json::array()},
        {"per_class", {{{"class", 0}, {"images", 2}, {"phi", phi}}, {{"class", 1}, {"images", 1}, {"phi", phi}}}},
        {"confusions", {{{"true", 0}, {"predicted", 1}, {"images", 1}, {"phi", phi}}}}};
    change(zeta);
    write(bad.path / "grid.json", grid.dump(1));
    write(bad.path / "zeta.json", zeta.dump(1));
  };
  zeta_with([](Json&) {});
  report::build_report(bad.str(), {});  // the file as written reads
  zeta_with([&](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 3, z["layers"]["conv1"]["errors"]["per_image"] = Json::array({phi, phi, phi}); });
  report::build_report(bad.str(), {});  // with its count of images: 2 of class 0, 1 of class 1, one mistake 0 → 1
  zeta_with([](Json& z) {
    Json& e = z["layers"]["conv1"]["errors"];
    e["images"] = 0, e["per_class"] = Json::array(), e["confusions"] = Json::array();
  });
  report::build_report(bad.str(), {});  // and so does a layer whose estimate covers no image (0 rows, no map)
  const std::vector<std::pair<std::function<void(Json&)>, std::string>> cases = {
      {[](Json& z) { z["errors"]["gallery"][0]["probability_true"] = 5; }, "zeta.json: /errors/gallery/0/probability_true: expected a number from 0 to 1"},
      {[](Json& z) { z["errors"]["gallery"][1]["label"] = 0; }, "zeta.json: /errors/gallery/1/label: 0, expected 1 (/errors/labels/1"},
      {[](Json& z) { z["errors"]["gallery"][2]["predicted"] = 2; }, "zeta.json: /errors/gallery/2/predicted: 2, expected 1 (/errors/predicted/2"},
      {[](Json& z) { z["errors"]["gallery"][0]["kind"] = "best"; }, "zeta.json: /errors/gallery/0/kind: \"best\", expected confident, mistake or cell"},
      {[](Json& z) { z["errors"]["gallery"][0]["kind"] = "mistake"; }, "zeta.json: /errors/gallery/0/kind: mistake for an image predicted as its label"},
      {[](Json& z) { z["errors"]["gallery"][2]["kind"] = "confident"; }, "zeta.json: /errors/gallery/2/kind: confident for an image predicted as another class"},
      {[](Json& z) { z["layers"]["conv1"]["errors"]["per_class"][1]["class"] = 99; }, "zeta.json: /layers/conv1/errors/per_class/1/class: expected an integer from 0 to 2"},
      {[](Json& z) { z["layers"]["conv1"]["errors"]["confusions"][0]["predicted"] = 3; }, "zeta.json: /layers/conv1/errors/confusions/0/predicted: expected an integer from 0 to 2"},
      {[](Json& z) { z["layers"]["conv1"]["errors"]["confusions"][0]["predicted"] = 0; }, "zeta.json: /layers/conv1/errors/confusions/0/predicted: 0, the true class: expected a mistake"},
      {[](Json& z) { z["layers"]["conv1"]["errors"]["per_class"][1]["class"] = 0; }, "zeta.json: /layers/conv1/errors/per_class/1: class 0 listed twice"},
      {[&](Json& z) { z["layers"]["conv1"]["errors"]["confusions"].push_back({{"true", 0}, {"predicted", 1}, {"images", 1}, {"phi", phi}}); },
       "zeta.json: /layers/conv1/errors/confusions/1: the cell 0 → 1 listed twice"},
      {[](Json& z) { z["errors"] = "x"; }, "zeta.json: /errors: expected an object, found the string \"x\""},
      // per_image: one row per image the layer's estimate covers (`images`, at most the sample's 3)
      {[](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 2; }, "zeta.json: /layers/conv1/errors/per_image: 0 rows, expected 2"},
      {[](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 4; }, "zeta.json: /layers/conv1/errors/images: expected an integer from 0 to 3"},
      // the maps' image counts are those of the layer's images by the sample's labels and predictions
      // (not whatever count the file says, which would leave a missing class unsaid)
      {[&](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 3, z["layers"]["conv1"]["errors"]["per_image"] = Json::array({phi, phi, phi}),
                      z["layers"]["conv1"]["errors"]["per_class"][0]["images"] = 5; },
       "zeta.json: /layers/conv1/errors/per_class/0/images: 5, expected 2 (the layer's images of class 0"},
      {[&](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 2, z["layers"]["conv1"]["errors"]["per_image"] = Json::array({phi, phi}); },
       "zeta.json: /layers/conv1/errors/per_class/0/images: 2, expected 1 (the layer's images of class 0"},
      {[&](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 3, z["layers"]["conv1"]["errors"]["per_image"] = Json::array({phi, phi, phi}),
                      z["layers"]["conv1"]["errors"]["confusions"] = Json::array(); },
       "zeta.json: /layers/conv1/errors/confusions: no map of the cell 0 → 1, expected one for each with images (1 of the layer's)"},
      {[&](Json& z) { z["layers"]["conv1"]["errors"]["images"] = 3, z["layers"]["conv1"]["errors"]["per_image"] = Json::array({phi, phi, phi}),
                      z["layers"]["conv1"]["errors"]["per_class"].erase(1); },
       "zeta.json: /layers/conv1/errors/per_class: no map of class 1, expected one for each with images (1 of the layer's)"},
  };
  for (const auto& [change, message] : cases) {
    zeta_with(change);
    expect_error_naming([&] { report::build_report(bad.str(), {}); }, message);
  }
}

// confusion.png (analyze --errors): no column label is cut to 4 characters ("clas", "clas", … for
// class0 … class9; "airp", "auto" for CIFAR-10), nor does the run's label line run off the figure's
// right edge.  Each column says its class name (short_class_name: at most 16
// characters) without overlapping its neighbours, and every text lies inside the figure.
TEST(Report, ConfusionMatrixLabelsAreWholeAndInside) {
  TempDir tmp("confusion_labels");
  Json grid = grid_json(7), zeta = zeta_json(7);
  const std::vector<std::string> names = {"airplane", "automobile", "a bird with a very long name indeed"};
  grid["dataset"]["classes"] = names;
  grid["model"] = std::string(60, 'm');  // a long run label (model on data)
  zeta["model"] = grid["model"];
  zeta["errors"] = {{"labels", {0, 1, 2, 1}}, {"predicted", {0, 2, 2, 1}}};
  write_analysis(tmp.path, grid, zeta);
  const std::string svg = svg_figure(tmp.path, "epoch_007/confusion");
  const double width = std::atof(svg.c_str() + svg.find("width=\"") + 7);
  std::vector<std::pair<double, double>> columns;  // (left, right) of each column label
  std::vector<std::string> column_names;
  double column_y = -1;
  for (const SvgText& t : svg_texts(svg)) {
    EXPECT_GE(t.left, 0) << t.label;
    EXPECT_LE(t.right, width) << "'" << t.label << "' leaves the figure (width " << width << ")";
    if (t.middle && t.label.find_first_not_of("0123456789") != std::string::npos) {  // not a count
      if (column_y < 0) column_y = t.y;
      EXPECT_EQ(t.y, column_y) << t.label;
      columns.push_back({t.left, t.right});
      column_names.push_back(t.label);
    }
  }
  EXPECT_EQ(column_names, (std::vector<std::string>{"airplane", "automobile", "a bird with a v…"}));
  for (size_t i = 1; i < columns.size(); ++i) EXPECT_LT(columns[i - 1].second + 2, columns[i].first) << "columns " << i << ", " << i + 1;
}

// LAYER_gallery.png with a class absent from the ζ sample (--zeta-value confusion:A:B samples class A
// only; a small --zeta-samples may miss a class): only classes with images get rows, and a
// note names the others (not an empty row, unexplained, for each class below the largest label present,
// and no word of the classes above it).
TEST(Report, GalleryNamesTheClassesAbsentFromTheSample) {
  TempDir tmp("gallery_absent");
  Json grid = grid_json(7), zeta = zeta_json(7);
  grid["dataset"]["classes"] = {"cat", "dog", "bird", "fish"};
  grid["layers"]["conv1"]["receptive_field"] = {{"rows", {{0, 3}, {1, 4}}}, {"cols", {{0, 3}, {1, 4}}}};
  Json gallery = Json::array(), rows = Json::array();
  for (int i = 0; i < 2; ++i) {
    gallery.push_back({{"slot", i}, {"index", i}, {"kind", i == 0 ? "confident" : "mistake"}, {"label", 2}, {"predicted", i == 0 ? 2 : 0},
                       {"probability_true", i == 0 ? 0.9 : 0.2}, {"pixels", std::vector<int>(48, 100)}});
    rows.push_back({0.1, -0.4, 0.3, 0.0, 0.2, -0.1, 0.5, -0.2});
  }
  zeta["errors"] = {{"shape", {3, 4, 4}}, {"gallery", gallery}, {"labels", {2, 2}}, {"predicted", {2, 0}}};
  zeta["layers"]["conv1"]["errors"] = {{"per_image", rows}};
  write_analysis(tmp.path, grid, zeta);
  const std::string svg = svg_figure(tmp.path, "epoch_007/conv1_gallery");
  EXPECT_NE(svg.find(">bird</text>"), std::string::npos);  // its row
  EXPECT_NE(svg.find(">→ cat</text>"), std::string::npos);  // the mistake's verdict
  for (const char* absent : {">cat</text>", ">dog</text>", ">fish</text>"}) EXPECT_EQ(svg.find(absent), std::string::npos) << absent;
  EXPECT_NE(svg.find(">no image in the ζ sample: cat, dog, fish</text>"), std::string::npos);
  // one row: the figure is no taller than one row of images needs (not 6 rows of 4 classes); a third
  // caption line and the colour bar make it 308 high, a second row would add 132
  const double height = std::atof(svg.c_str() + svg.find("height=\"") + 8);
  EXPECT_LT(height, 360) << svg.substr(0, 200);
}

TEST(Report, MalformedInputIsOneClearError) {
  TempDir tmp("malformed");
  write_run(tmp.path);
  Json grid = grid_json(1);
  grid["layers"]["pool1"]["regions"]["grid_1_2_1"]["density"] = "high";
  write(tmp.path / "analysis/epoch_001/grid.json", grid.dump());
  std::string message = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(message.find("analysis/epoch_001/grid.json: /layers/pool1/regions/grid_1_2_1/density: expected a number, found the string \"high\""),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);

  grid = grid_json(1);
  grid["layers"]["conv1"]["regions"].erase("grid_2_2_2");
  write(tmp.path / "analysis/epoch_001/grid.json", grid.dump());
  message = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(message.find("/layers/conv1/regions: expected 8 regions"), std::string::npos) << message;

  write(tmp.path / "analysis/epoch_001/grid.json", "{\"layers\": {");
  message = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(message.find("analysis/epoch_001/grid.json: not valid JSON"), std::string::npos) << message;

  write(tmp.path / "analysis/epoch_001/grid.json", grid_json(1).dump());
  Json zeta = zeta_json(2);
  zeta["layers"]["output"]["regions"]["grid_1_1_9"] = zeta["layers"]["output"]["regions"]["grid_1_1_1"];
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
  message = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(message.find("zeta.json: /layers/output/regions/grid_1_1_9: expected a region of output's 1x1x3 grid"), std::string::npos)
      << message;

  // The critical regions are the ζ stage's decision: read from zeta.json, never re-derived.
  zeta = zeta_json(2);
  zeta["layers"]["pool1"].erase("critical_regions");
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
  message = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(message.find("zeta.json: /layers/pool1/critical_regions: missing"), std::string::npos) << message;

  write(tmp.path / "analysis/epoch_002/zeta.json", zeta_json(2).dump());
  write(tmp.path / "metrics.jsonl", "{\"epoch\":1,\"train_loss\":1,\"train_acc\":0.5,\"test_loss\":1,\"test_acc\":0.5}\n{\"epoch\":2}\n");
  message = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(message.find("metrics.jsonl:2: /train_loss: missing"), std::string::npos) << message;

  message = error_of([&] { report::build_report((tmp.path / "nonexistent").string(), {}); });
  EXPECT_NE(message.find("nonexistent: does not exist (expected a run directory"), std::string::npos) << message;
  message = error_of([&] { report::build_report((tmp.path / "metrics.jsonl").string(), {}); });
  EXPECT_NE(message.find("metrics.jsonl: is a file, not a directory (expected a run directory"), std::string::npos) << message;
  TempDir empty("empty");
  message = error_of([&] { report::build_report(empty.str(), {}); });
  EXPECT_NE(message.find("no config.json, metrics.jsonl, analysis/epoch_N/ or grid.json"), std::string::npos) << message;
}

// grid.json's receptive fields and images reach the page only once checked: sizes against the grid
// and the shape before anything is read, pixel values in range; one error naming file and pointer.
TEST(Report, ReceptiveFieldsAndImagesAreCheckedBeforeThePageGetsThem) {
  TempDir tmp("images");
  write_run(tmp.path);
  Json grid = grid_json(2);
  const int gh = grid["layers"]["conv1"]["grid"][0], gw = grid["layers"]["conv1"]["grid"][1];
  Json rows = Json::array(), cols = Json::array();
  for (int i = 0; i < gh; ++i) rows.push_back({i * 3, i * 3 + 5});
  for (int j = 0; j < gw; ++j) cols.push_back({j * 2, j * 2 + 4});
  grid["layers"]["conv1"]["receptive_field"] = {{"rows", rows}, {"cols", cols}};
  std::vector<int> pixels(2 * 3 * 3);
  for (size_t v = 0; v < pixels.size(); ++v) pixels[v] = int(v * 13 % 256);
  grid["images"] = {{"shape", {2, 3, 3}}, {"mean", std::vector<double>(18, 100.5)},
                    {"examples", {{{"index", 0}, {"label", 1}, {"pixels", pixels}}}}};
  write(tmp.path / "analysis/epoch_002/grid.json", grid.dump());
  report::build_report(tmp.str(), {});
  const std::string page = base::read_file((tmp.path / "report.html").string());
  EXPECT_NE(page.find("\"rf\":{\"rows\":[[0,5],[3,8]]"), std::string::npos);
  EXPECT_NE(page.find("\"images\":{\"shape\":[2,3,3],\"mean\":[100.5,"), std::string::npos);

  const auto expect_error = [&](const Json& bad, const std::string& expected) {
    write(tmp.path / "analysis/epoch_002/grid.json", bad.dump());
    const std::string message = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(message.find("analysis/epoch_002/grid.json: " + expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  };
  Json bad = grid;
  bad["layers"]["conv1"]["receptive_field"]["rows"].erase(0);
  expect_error(bad, "/layers/conv1/receptive_field/rows: expected an array of 2 [first, end] pixel ranges");
  bad = grid;
  bad["layers"]["conv1"]["receptive_field"]["cols"][1] = {4, 4};
  expect_error(bad, "/layers/conv1/receptive_field/cols/1: expected a pixel range [first, end] with first < end");
  bad = grid;
  bad["images"]["examples"][0]["pixels"][5] = 256;
  expect_error(bad, "/images/examples/0/pixels/5: ");
  bad = grid;
  bad["images"]["examples"][0]["pixels"].erase(0);
  expect_error(bad, "/images/examples/0/pixels: expected an array of 18 pixel values");
  bad = grid;
  bad["images"]["shape"] = {3, 4096, 4096};
  expect_error(bad, "/images/shape: an image of 50331648 values, expected at most 4194304");
  bad = grid;
  bad["images"]["mean"][0] = -1;
  expect_error(bad, "/images/mean/0: expected a pixel value 0 … 255");
}

// zeta.json writes each layer's grid as [GH, GW, GC], like grid.json and tract.json; without a
// grid.json it is the layer's grid, so a zeta.json whose regions do not fill it is an error.  The
// string "GHxGWxGC" of older zeta.json files is still read.
TEST(Report, ZetaGridIsTheOneGridEncoding) {
  auto run_with_zeta_grid = [](TempDir& tmp, const std::function<Json(const LayerSpec&)>& grid) {
    write_run(tmp.path);
    for (int e = 1; e <= 2; ++e) {
      const fs::path a = tmp.path / "analysis" / ("epoch_00" + std::to_string(e));
      fs::remove(a / "grid.json");
      Json zeta = zeta_json(e);
      for (const LayerSpec& l : kLayers) zeta["layers"][l.name]["grid"] = grid(l);
      write(a / "zeta.json", zeta.dump());
    }
  };
  TempDir array("zeta_grid");
  run_with_zeta_grid(array, [](const LayerSpec& l) { return Json{l.gh, l.gw, l.gc}; });
  EXPECT_EQ(report::load_run(array.str()).epochs.back().layers.back().grid.gc, 3);
  TempDir text("zeta_grid_string");
  run_with_zeta_grid(text, [](const LayerSpec& l) {
    return Json(std::to_string(l.gh) + "x" + std::to_string(l.gw) + "x" + std::to_string(l.gc));
  });
  EXPECT_EQ(report::load_run(text.str()).epochs.back().layers.back().grid.gc, 3);
  TempDir wider("zeta_grid_wider");
  run_with_zeta_grid(wider, [](const LayerSpec& l) { return Json{l.gh, l.gw, l.gc + (l.name == "output")}; });
  std::string message = error_of([&] { report::load_run(wider.str()); });
  EXPECT_NE(message.find("zeta.json: /layers/output/regions: expected 4 regions"), std::string::npos) << message;
  TempDir bad("zeta_grid_bad");
  run_with_zeta_grid(bad, [](const LayerSpec& l) { return Json{l.gh, l.gw}; });
  message = error_of([&] { report::load_run(bad.str()); });
  EXPECT_NE(message.find("zeta.json: /layers/conv1/grid: expected three integers"), std::string::npos) << message;
}

TEST(Report, CanvasTextAndFormats) {
  // DejaVu Sans has ζ, → and é; a tab, a stray continuation byte and a code point it lacks are '?'.
  EXPECT_EQ(report::drawable_text("\u03b6 \u2192 caf\u00e9\t!\x80\u4e2d"), "\u03b6 \u2192 caf\u00e9?!??");  // no CJK in DejaVu
  // not well-formed UTF-8 (base::utf8_sequence_length): an overlong "A" (C1 81), a surrogate (ED A0 80)
  // and a lead byte whose continuation is missing are each one '?', never the character they resemble
  EXPECT_EQ(report::drawable_text("x\xC1\x81y\xED\xA0\x80z\xE2\x82"), "x?y?z?");
  EXPECT_GT(report::text_width("HELLO", 2), report::text_width("HELLO", 1));
  auto canvas = report::make_canvas("png", 80, 30);
  canvas->text(4, 4, "HELLO", {0, 0, 0}, 2);
  const std::string png = canvas->encode();
  int w, h, n;
  unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), int(png.size()), &w, &h, &n, 3);
  ASSERT_NE(pixels, nullptr);
  int dark = 0;
  for (int i = 0; i < w * h; ++i) dark += pixels[i * 3] < 128;
  stbi_image_free(pixels);
  EXPECT_GT(dark, 40);
  EXPECT_NE(report::make_canvas("svg", 10, 10)->encode().find("<svg"), std::string::npos);
  EXPECT_THROW(report::make_canvas("gif", 10, 10), base::Error);
}

// The PNG encoder's container, read byte by byte: the signature; IHDR (width, height, 8-bit RGB, no
// interlace), IDAT and IEND in that order with nothing after; every chunk's CRC-32 over its type and
// data (stb_image does not check CRCs, other viewers do); the IDAT inflates to one filter-0 row per
// pixel row whose bytes are the pixels stb_image decodes. The figure has text, a line and a
// half-transparent rectangle at scale 2 so rows differ.
TEST(Report, CanvasPngIsAWellFormedPng) {
  auto canvas = report::make_canvas("png", 37, 21, {250, 240, 230}, 2);
  canvas->text(2, 2, "\u03b6 map", {10, 20, 200}, 1.5);
  canvas->line(0, 20, 36, 3, {200, 0, 0}, 1.5);
  canvas->fill_rect(20, 5, 10, 10, {0, 160, 0}, 0.5);
  const std::string png = canvas->encode();
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto u32 = [&](size_t at) {
    return uint32_t(uint8_t(png[at])) << 24 | uint32_t(uint8_t(png[at + 1])) << 16 | uint32_t(uint8_t(png[at + 2])) << 8 |
           uint32_t(uint8_t(png[at + 3]));
  };
  std::vector<std::string> types;
  std::string header, idat;
  for (size_t at = 8; at < png.size();) {
    ASSERT_LE(at + 12, png.size());
    const uint32_t length = u32(at);
    ASSERT_LE(at + 12 + length, png.size());
    const std::string type = png.substr(at + 4, 4), data = png.substr(at + 8, length);
    EXPECT_EQ(u32(at + 8 + length), uint32_t(crc32(0, reinterpret_cast<const Bytef*>(png.data()) + at + 4, uInt(4 + length))))
        << type;
    types.push_back(type);
    if (type == "IHDR") header = data;
    if (type == "IDAT") idat += data;
    at += 12 + length;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  const int w = 74, h = 42;
  ASSERT_EQ(header.size(), 13u);
  EXPECT_EQ(header, std::string("\0\0\0\x4a\0\0\0\x2a\x08\x02\0\0\0", 13));
  std::string rows(size_t(h) * (1 + 3 * w), '\0');
  uLongf rows_size = uLongf(rows.size());
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(rows.data()), &rows_size, reinterpret_cast<const Bytef*>(idat.data()),
                       uLong(idat.size())),
            Z_OK);
  ASSERT_EQ(rows_size, rows.size());
  int dw, dh, n;
  unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), int(png.size()), &dw, &dh, &n, 3);
  ASSERT_NE(pixels, nullptr);
  EXPECT_EQ(dw, w);
  EXPECT_EQ(dh, h);
  std::set<std::string> distinct_rows;
  for (int y = 0; y < h; ++y) {
    const size_t row = size_t(y) * (1 + 3 * w);
    EXPECT_EQ(rows[row], '\0') << "row " << y;
    EXPECT_EQ(0, std::memcmp(rows.data() + row + 1, pixels + size_t(y) * 3 * w, size_t(3 * w))) << "row " << y;
    distinct_rows.insert(rows.substr(row + 1, size_t(3 * w)));
  }
  stbi_image_free(pixels);
  EXPECT_GT(distinct_rows.size(), 20u);
}

// A dashed line is ink on its dashes and background in its gaps (PNG, 1 pixel per unit): dashes of 6,
// gaps of 4 from x = 0, so x + 0.5 in [0, 6) ∪ [10, 16) ∪ … is drawn and [6, 10) ∪ [16, 20) is not.
TEST(Report, CanvasDashedLineLeavesItsGaps) {
  auto canvas = report::make_canvas("png", 60, 10);
  canvas->dashed_line(0, 5, 60, 5, {0, 0, 0}, 2, 1, 6, 4);
  const std::string png = canvas->encode();
  int w, h, n;
  unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), int(png.size()), &w, &h, &n, 3);
  ASSERT_NE(pixels, nullptr);
  auto ink = [&](int x) { return pixels[(5 * w + x) * 3] < 128; };
  for (int x : {2, 3, 12, 13, 42, 53}) EXPECT_TRUE(ink(x)) << "x = " << x;
  for (int x : {8, 18, 28, 38, 48, 58}) EXPECT_FALSE(ink(x)) << "x = " << x;
  for (int x = 0; x < w; ++x) EXPECT_FALSE(pixels[(0 * w + x) * 3] < 128) << "nothing drawn off the line, x = " << x;
  stbi_image_free(pixels);
  auto svg = report::make_canvas("svg", 60, 10);
  svg->dashed_line(0, 5, 60, 5, {0, 0, 0}, 2, 1, 6, 4);
  const std::string text = svg->encode();
  size_t lines = 0;
  for (size_t at = text.find("<polyline"); at != std::string::npos; at = text.find("<polyline", at + 1)) ++lines;
  EXPECT_EQ(lines, 6u);  // 60 units / (6 + 4)
}

// The pathways figure of a residual run: the flows of the shortcut pair and the chain steps along it
// are the dashed ones; the branch pairs' are solid.  Layers: conv1 (0), conv2 (1), conv3 (2), res1 (3).
TEST(Report, PathwayFigureDashesShortcutEdges) {
  report::EpochData e;
  auto pair = [](int from, int to, bool shortcut) {
    report::PairTract p;
    p.from = from, p.to = to, p.shortcut = shortcut;
    p.flows = {{0, 1, 2.0}, {1, 0, 1.0}};
    return p;
  };
  e.pairs = {pair(0, 1, false), pair(1, 2, false), pair(2, 3, false), pair(0, 3, true)};
  report::RegionChain through_branch, through_shortcut;
  through_branch.layers = {0, 1, 2, 3}, through_branch.regions = {0, 1, 0, 1};
  through_shortcut.layers = {0, 3}, through_shortcut.regions = {1, 0};
  e.chains = {through_branch, through_shortcut};
  const std::vector<report::PathwayStep> steps = report::pathway_steps(e, 1);
  ASSERT_EQ(steps.size(), 4u + 3 + 1);  // one flow per pair, then the chains' steps
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(steps[i].chain, -1);
    EXPECT_EQ(steps[i].shortcut, e.pairs[i].shortcut) << i;
    EXPECT_EQ(steps[i].from_region, 0);  // the stronger flow (2.0)
    EXPECT_EQ(steps[i].to_region, 1);
  }
  for (size_t i = 4; i < 7; ++i) EXPECT_FALSE(steps[i].shortcut) << i;
  EXPECT_EQ(steps[7].chain, 1);
  EXPECT_TRUE(steps[7].shortcut);
  EXPECT_EQ(steps[7].from_layer, 0);
  EXPECT_EQ(steps[7].to_layer, 3);
  e.pairs[3].shortcut = false;  // the same graph read as a plain pair: nothing dashed
  for (const report::PathwayStep& s : report::pathway_steps(e, 2)) EXPECT_FALSE(s.shortcut);
}

// ---- issue 11: hostile and oversized run directories ------------------------------------------

namespace {

// tract.json for a chain of layers: one flow per consecutive pair, one chain through every layer.
Json chain_tract_json(const std::vector<LayerSpec>& specs) {
  Json pairs = Json::object(), chain = Json::array();
  for (size_t l = 0; l + 1 < specs.size(); ++l)
    pairs["layer_" + std::to_string(l) + "_to_" + std::to_string(l + 1)] = {
        {"from", specs[l].name}, {"to", specs[l + 1].name}, {"connection_strength", 2.0}, {"pathway_efficiency", 0.5},
        {"connected_pairs", 1}, {"flows", {{specs[l].key(0), specs[l + 1].key(0), 1.0}}}};
  for (const LayerSpec& s : specs) chain.push_back({{"layer", s.name}, {"region", s.key(0)}});
  return {{"eval_samples", 64}, {"pairs", pairs}, {"network", {{"path_strength", 2.0}, {"chains", {{{"regions", chain}, {"score", -1.0}}}}}}};
}

// Nothing of the report's output exists in `dir`.
void expect_nothing_written(const fs::path& dir) {
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  EXPECT_FALSE(fs::exists(dir / "figures"));
  EXPECT_FALSE(fs::exists(dir / "report.html"));
  EXPECT_FALSE(fs::exists(dir / "analysis/epoch_001/summary.json"));
}

std::pair<int, int> png_size(const std::string& bytes) {
  int w = 0, h = 0, n = 0;
  EXPECT_EQ(stbi_info_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()), &w, &h, &n), 1);
  return {w, h};
}

}  // namespace

// Defect 1: a 51-byte zeta.json with the key grid_50000_1_1 crashed the report (signed overflow in
// RegionGrid, out-of-bounds write); grid: [50000,1,1] in grid.json too; grid_1300_1300_1300 was a bare
// std::vector length error (exit 3).  Now one error line naming file and JSON pointer, nothing written.
TEST(Report, GridSizesOverTheLimitsAreOneErrorNamingFileAndPointer) {
  const std::vector<std::pair<std::string, std::string>> zeta_cases = {
      {R"({"layers":{"a":{"regions":{"grid_50000_1_1":{"zeta_score":1}}}}})",
       "zeta.json: /layers/a/regions/grid_50000_1_1: region grid_50000_1_1: expected indices from 1 to 4096"},
      {R"({"layers":{"a":{"regions":{"grid_1300_1300_1300":{"zeta_score":1}}}}})",
       "zeta.json: /layers/a/regions/grid_1300_1300_1300: region grid_1300_1300_1300 makes a's grid 1300x1300x1300, "
       "expected at most 4096 regions"},
      // Audit A 5: a zeta.json layer's grid (no grid.json) was checked only by RegionGrid, naming no file
      {R"({"layers":{"a":{"grid":[16777216,16777216,16777216],"regions":{}}}})",
       "zeta.json: /layers/a/grid/0: expected an integer from 1 to 4096, found the number 16777216"},
      {R"({"layers":{"a":{"grid":[100,100,1],"regions":{}}}})",
       "zeta.json: /layers/a/grid: makes a's grid 100x100x1, expected at most 4096 regions"}};
  for (const auto& [text, expected] : zeta_cases) {
    TempDir tmp("huge_key");
    write(tmp.path / "analysis/epoch_001/zeta.json", text);
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    expect_nothing_written(tmp.path);
  }
  const std::vector<std::tuple<Json, Json, std::string>> grid_cases = {
      {{50000, 1, 1}, {50000, 1, 1}, "grid.json: /layers/a/grid/0: expected an integer from 1 to 4096, found the number 50000"},
      {{1300, 1300, 1300}, {1, 1, 1}, "grid.json: /layers/a/shape: layer shape 1300x1300x1300: expected positive sides and at most 4194304 units"},
      {{64, 64, 64}, {64, 64, 64}, "grid.json: /layers/a/grid: grid 64x64x64 on a 64x64x64 layer: 262144 regions, expected at most 4096"},
      {{2147483647, 1, 1}, {1, 1, 1}, "grid.json: /layers/a/shape/0: expected an integer from 1 to 4194304"}};
  for (const auto& [shape, grid, expected] : grid_cases) {
    TempDir tmp("huge_grid");
    write(tmp.path / "analysis/epoch_001/grid.json",
          Json({{"layers", {{"a", {{"shape", shape}, {"grid", grid}, {"coverage", 1}, {"regions", Json::object()}}}}}}).dump());
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    expect_nothing_written(tmp.path);
  }
}

// Audit A 8: out-of-range or contradictory values were shown as facts (test accuracy 7.5, coverage
// 1e300, a critical share of −5, a region listed critical 5000 times, an interval [5, 1], densities
// ±1.7e308 whose range is infinite; since audit hA a critical share other than the listed regions' share,
// a critical region that is not significant, a region key with a leading zero).  Each is one error naming file and pointer, nothing written.
TEST(Report, ValuesOutOfTheirRangeAreOneErrorNamingFileAndPointer) {
  using Edit = std::function<void(const fs::path&)>;
  auto edit = [](const std::string& file, std::function<void(Json&)> change) -> Edit {
    return [=](const fs::path& dir) {
      Json doc = read_json(dir / file);
      change(doc);
      write(dir / file, doc.dump());
    };
  };
  const std::vector<std::pair<Edit, std::string>> cases = {
      {[](const fs::path& dir) {
         std::string text = base::read_file((dir / "metrics.jsonl").string());
         text.replace(text.find("\"test_acc\":0.15"), 15, "\"test_acc\":7.5");
         write(dir / "metrics.jsonl", text);
       },
       "metrics.jsonl:1: /test_acc: expected a number from 0 to 1, found the number 7.5"},
      {[](const fs::path& dir) {
         std::string text = base::read_file((dir / "metrics.jsonl").string());
         text.replace(text.find("\"train_loss\":2"), 14, "\"train_loss\":-2");
         write(dir / "metrics.jsonl", text);
       },
       "metrics.jsonl:1: /train_loss: expected a number ≥ 0, found the number -2"},
      {[](const fs::path& dir) {
         std::string text = base::read_file((dir / "metrics.jsonl").string());
         text.replace(text.find("\"seconds\":1.5"), 13, "\"seconds\":-1.5");
         write(dir / "metrics.jsonl", text);
       },
       "metrics.jsonl:1: /seconds: expected a number ≥ 0, found the number -1.5"},
      {edit("analysis/epoch_002/grid.json", [](Json& g) { g["layers"]["conv1"]["coverage"] = 1e300; }),
       "grid.json: /layers/conv1/coverage: expected a number from 0 to 1"},
      {edit("analysis/epoch_002/grid.json", [](Json& g) { g["layers"]["conv1"]["regions"]["grid_1_1_2"]["active_fraction"] = 2; }),
       "grid.json: /layers/conv1/regions/grid_1_1_2/active_fraction: expected a number from 0 to 1"},
      {edit("analysis/epoch_002/grid.json", [](Json& g) { g["layers"]["conv1"]["regions"]["grid_1_1_2"]["density"] = -1.7e308; }),
       "grid.json: /layers/conv1/regions/grid_1_1_2/density: expected a number from -1e+100 to 1e+100"},
      {edit("analysis/epoch_002/grid.json", [](Json& g) { g["layers"]["conv1"]["dead_regions"] = {"grid_1_1_1", "grid_1_1_1"}; }),
       "grid.json: /layers/conv1/dead_regions/1: region grid_1_1_1 listed twice, expected each region once"},
      {edit("analysis/epoch_002/zeta.json", [](Json& z) { z["layers"]["conv1"]["critical_share"] = -5; }),
       "zeta.json: /layers/conv1/critical_share: expected a number from 0 to 1"},
      {edit("analysis/epoch_002/zeta.json", [](Json& z) { z["layers"]["conv1"]["critical_regions"] = {"grid_1_1_1", "grid_1_1_1"}; }),
       "zeta.json: /layers/conv1/critical_regions/1: region grid_1_1_1 listed twice, expected each region once"},
      {edit("analysis/epoch_002/zeta.json", [](Json& z) { z["layers"]["conv1"]["regions"]["grid_1_1_1"]["confidence_interval"] = {5, 1}; }),
       "zeta.json: /layers/conv1/regions/grid_1_1_1/confidence_interval: expected an interval [low, high] with low \u2264 high"},
      // A p-value outside 0 … 1 and a negative tractography flow or connection strength (means of
      // products of |W|, ReLU(a) and σ' ≥ 0) are refused, not drawn as they are.
      {edit("analysis/epoch_002/zeta.json", [](Json& z) { z["layers"]["conv1"]["regions"]["grid_1_1_1"]["p_value"] = 5; }),
       "zeta.json: /layers/conv1/regions/grid_1_1_1/p_value: expected a number from 0 to 1, found the number 5"},
      {edit("analysis/epoch_002/tract.json", [](Json& t) { t["pairs"]["layer_0_to_1"]["connection_strength"] = -32; }),
       "tract.json: /pairs/layer_0_to_1/connection_strength: expected a number from 0 to 1e+100"},
      {edit("analysis/epoch_002/tract.json", [](Json& t) { t["pairs"]["layer_1_to_2"]["flows"][0][2] = -0.5; }),
       "tract.json: /pairs/layer_1_to_2/flows/0/2: expected a number from 0 to 1e+100"},
      // Audit hA: a critical share that is not the listed regions' share (the page said "0 critical" beside a
      // critical share of 25%), and a critical region that is not significant (every rule requires it).
      {edit("analysis/epoch_002/zeta.json", [](Json& z) {
         z["layers"]["conv1"]["critical_regions"] = Json::array();
         z["layers"]["conv1"]["critical_share"] = 0.25;
       }),
       "zeta.json: /layers/conv1/critical_share: is 0.25, expected 0 (the 0 regions listed in critical_regions over the layer's 8)"},
      {edit("analysis/epoch_002/zeta.json", [](Json& z) {
         z["layers"]["conv1"]["regions"]["grid_1_1_1"]["significance"] = false;
         z["layers"]["conv1"]["critical_regions"] = {"grid_1_1_1"};
         z["layers"]["conv1"]["critical_share"] = 0.125;
       }),
       "zeta.json: /layers/conv1/critical_regions/0: region grid_1_1_1 has significance false, expected only significant regions"},
      // a key with a leading zero named grid_1_1_1 and was drawn as critical
      {edit("analysis/epoch_002/zeta.json", [](Json& z) {
         z["layers"]["conv1"]["regions"]["grid_1_1_1"]["significance"] = true;
         z["layers"]["conv1"]["critical_regions"] = {"grid_01_1_1"};
         z["layers"]["conv1"]["critical_share"] = 0.125;
       }),
       "zeta.json: /layers/conv1/critical_regions/0: expected a region of conv1's 2x2x2 grid (grid_1_1_1 ... grid_2_2_2), found the string \"grid_01_1_1\""}};
  for (const auto& [change, expected] : cases) {
    TempDir tmp("out_of_range");
    write_run(tmp.path);
    change(tmp.path);
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    expect_nothing_written(tmp.path);
  }
}

// Audit A 9: an analyze directory whose zeta.json said another epoch or model than grid.json was
// reported as one checkpoint.  Each file's header is the first's: one error naming the file and key.
TEST(Report, AnAnalyzeDirectoryOfMixedCheckpointsIsOneError) {
  for (const auto& [key, value, expected] : std::vector<std::tuple<std::string, Json, std::string>>{
           {"epoch", 5, "zeta.json: /epoch: 5, expected 7 as "}, {"model", "other", "zeta.json: /model: \"other\", expected \"tiny\" as "}}) {
    TempDir tmp("analyze_mixed");
    Json zeta = zeta_json(7);
    zeta[key] = value;
    write(tmp.path / "grid.json", grid_json(7).dump(1));
    write(tmp.path / "zeta.json", zeta.dump(1));
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    EXPECT_NE(m.find("grid.json says (the files of one analysed checkpoint)"), std::string::npos) << m;
    expect_nothing_written(tmp.path);
  }
}

// A run's analysis/epoch_001 holding another epoch's file (`analyze RUN/checkpoints/epoch_003.ckpt --out
// RUN/analysis/epoch_001`, which train's lock on RUN does not stop) was drawn as epoch 1; now it is one
// error naming the file, for report and serve alike (load_run), with nothing written.
TEST(Report, ARunEpochDirectoryHoldingAnotherEpochsFileIsOneError) {
  for (const std::string file : {"grid.json", "zeta.json"}) {
    TempDir tmp("epoch_mismatch");
    write_run(tmp.path);
    write(tmp.path / "analysis/epoch_001" / file, (file == "grid.json" ? grid_json(3) : zeta_json(3)).dump(1));
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find("analysis/epoch_001/" + file + ": /epoch: 3, expected 1 (the epoch of its directory's name)"),
              std::string::npos)
        << m;
    expect_nothing_written(tmp.path);
    EXPECT_NE(error_of([&] { report::load_run(tmp.str()); }).find("/epoch: 3, expected 1"), std::string::npos);
  }
}

// An analysis that `analyze --out RUN/analysis/epoch_001` left in a run images the run's epoch 1: the
// checkpoint its files name is checkpoints/epoch_001.ckpt by digest (the path may differ: a copy), else
// one error naming the file and both digests, nothing written; a run without that file says so in a note.
TEST(Report, ARunEpochsAnalysisImagesThatEpochsCheckpoint) {
  TempDir tmp("run_checkpoint");
  write_run(tmp.path);
  const std::string bytes = "the run's epoch 1 checkpoint, as far as a digest goes";
  write(tmp.path / "checkpoints/epoch_001.ckpt", bytes);
  const std::string own = base::sha256_hex(bytes.data(), bytes.size()), other(64, 'b');
  const auto name_checkpoint = [&](const std::string& sha) {
    Json grid = grid_json(1);
    grid["checkpoint"] = {{"path", "/elsewhere/copy.ckpt"}, {"sha256", sha}};
    write(tmp.path / "analysis/epoch_001/grid.json", grid.dump(1));
  };
  name_checkpoint(own);
  const report::RunData run = report::load_run(tmp.str());
  EXPECT_EQ(run.epochs[0].checkpoint["sha256"], own);
  for (const std::string& note : run.notes) EXPECT_EQ(note.find("checkpoint"), std::string::npos) << note;
  name_checkpoint(other);
  const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(m.find("analysis/epoch_001/grid.json: /checkpoint/sha256: '" + other + "', expected '" + own +
                   "', the SHA-256 of " + tmp.str() + "/checkpoints/epoch_001.ckpt"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  expect_nothing_written(tmp.path);
  // a checkpoint file over the bound any checkpoint reader keeps is refused unread (a sparse 1.25 GiB here)
  fs::resize_file(tmp.path / "checkpoints/epoch_001.ckpt", base::kMaxCheckpointBytes + 1);
  EXPECT_NE(error_of([&] { report::load_run(tmp.str()); })
                .find("checkpoints/epoch_001.ckpt: " + std::to_string(base::kMaxCheckpointBytes + 1) + " bytes, expected at most"),
            std::string::npos);
  fs::remove(tmp.path / "checkpoints/epoch_001.ckpt");
  const report::RunData unconfirmed = report::load_run(tmp.str());
  EXPECT_NE(std::find(unconfirmed.notes.begin(), unconfirmed.notes.end(),
                      "epoch 1: its analysis names checkpoint bbbbbbbbbbbb…, and the run has no checkpoints/epoch_001.ckpt to "
                      "confirm it is this run's"),
            unconfirmed.notes.end())
      << Json(unconfirmed.notes).dump();
}

// A run's epoch directory is held to one checkpoint as an analyze directory is (one check for both):
// a zeta.json of another model, or naming another checkpoint than grid.json, beside the run's own files
// is one error naming both files.  Before, a run's epoch files were checked for their epoch only.
TEST(Report, ARunEpochDirectoryOfTwoCheckpointsIsOneError) {
  const Json one = {{"path", "a.ckpt"}, {"sha256", std::string(64, 'a')}};
  const Json two = {{"path", "a.ckpt"}, {"sha256", std::string(64, 'b')}};
  for (const auto& [key, grid_value, zeta_value, expected] : std::vector<std::tuple<std::string, Json, Json, std::string>>{
           {"model", "tiny", "other", "zeta.json: /model: \"other\", expected \"tiny\" as "},
           {"checkpoint", one, two, "zeta.json: /checkpoint: " + two.dump() + ", expected " + one.dump() + " as "}}) {
    TempDir tmp("run_mixed");
    write_run(tmp.path);
    Json grid = grid_json(1), zeta = zeta_json(1);
    grid[key] = grid_value;
    zeta[key] = zeta_value;
    write(tmp.path / "analysis/epoch_001/grid.json", grid.dump(1));
    write(tmp.path / "analysis/epoch_001/zeta.json", zeta.dump(1));
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find("analysis/epoch_001/" + expected), std::string::npos) << m;
    EXPECT_NE(m.find("analysis/epoch_001/grid.json says (the files of one analysed checkpoint)"), std::string::npos) << m;
    expect_nothing_written(tmp.path);
    // files of one checkpoint are read, and the epoch names that checkpoint
    zeta[key] = grid_value;
    write(tmp.path / "analysis/epoch_001/zeta.json", zeta.dump(1));
    const report::RunData run = report::load_run(tmp.str());
    ASSERT_EQ(run.epochs.size(), 2u);
    EXPECT_EQ(run.epochs[0].checkpoint, key == "checkpoint" ? one : Json()) << run.epochs[0].checkpoint.dump();
    EXPECT_TRUE(run.epochs[1].checkpoint.is_null());
  }
}

// Defect 2: a config.json nested 80,000 levels deep overflowed the stack while the page data was
// written, after summary.json and the figures.  Now the report reads and checks everything first.
TEST(Report, DeepConfigFailsBeforeAnythingIsWritten) {
  TempDir tmp("deep");
  write_run(tmp.path);
  write(tmp.path / "config.json", std::string(80000, '[') + std::string(80000, ']'));
  const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(m.find("config.json: nested deeper than 64 levels"), std::string::npos) << m;
  expect_nothing_written(tmp.path);
}

// Defect 8: 1e999 overflows a double; nlohmann threw out_of_range (exit 3, no file named).
TEST(Report, NumbersBeyondADoubleAreOneErrorNamingFileAndPointer) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"config.json", "config.json: /epochs: number overflow parsing '1e999', expected a finite number"},
      {"metrics.jsonl", "metrics.jsonl:2: /train_loss: number overflow parsing '-1e999'"},
      {"analysis/epoch_001/grid.json", "grid.json: /layers/pool1/regions/grid_1_1_1/density: number overflow"},
      {"analysis/epoch_002/zeta.json", "zeta.json: /layers/conv1/regions/grid_1_1_1/confidence_interval/1: number overflow"},
      {"analysis/epoch_001/tract.json", "tract.json: /pairs/layer_0_to_1/flows/0/2: number overflow"}};
  for (const auto& [file, expected] : cases) {
    TempDir tmp("overflow");
    write_run(tmp.path);
    std::string text = base::read_file((tmp.path / file).string());
    if (file == "config.json") text.replace(text.find("\"epochs\": 3"), 11, "\"epochs\": 1e999");
    if (file == "metrics.jsonl") text.replace(text.find("\"train_loss\":1.0"), 16, "\"train_loss\":-1e999");
    if (file.find("grid") != std::string::npos) {
      const size_t at = text.find("\"density\"", text.find("\"pool1\""));
      text.replace(text.find(':', at) + 1, 0, " -1e999 +");  // "-1e999 + <number>" is cut at the overflow
    }
    if (file.find("zeta") != std::string::npos) {
      const size_t interval = text.find("\"confidence_interval\"");
      const size_t comma = text.find(',', interval);
      text.replace(comma + 1, text.find(']', comma) - comma - 1, "1e999");
    }
    if (file.find("tract") != std::string::npos) {
      const size_t flows = text.find("\"flows\"");
      const size_t second = text.find(',', text.find(',', text.find('[', text.find('[', flows) + 1)) + 1);
      text.replace(second + 1, text.find(']', second) - second - 1, "1e999");
    }
    write(tmp.path / file, text);
    const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
    EXPECT_NE(m.find(expected), std::string::npos) << file << ": " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    expect_nothing_written(tmp.path);
  }
}

// The largest finite double rounds up to infinity at 4 significant digits: summary.json then failed
// to write ("summary.json: … is inf", naming an output) after the figures were written.  A ζ that large
// is now refused where it is read (|ζ| ≤ 64: a standard score over at most 4,096 regions; compare's
// A − B of 1e308 and −1e308 was infinite and named compare.json); ζ = 64 is reported as it is.
TEST(Report, LargestDoubleIsReportedNotRoundedToInfinity) {
  EXPECT_EQ(report::significant(1.7976931348623157e308), 1.7976931348623157e308);
  TempDir tmp("max_double");
  write_run(tmp.path);
  Json zeta = zeta_json(2);
  zeta["layers"]["conv1"]["regions"]["grid_1_1_1"]["zeta_score"] = 1.7976931348623157e308;
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
  const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(m.find("zeta.json: /layers/conv1/regions/grid_1_1_1/zeta_score: expected a number from -64 to 64, found the "
                   "number 1.7976931348623157e+308"),
            std::string::npos) << m;
  zeta["layers"]["conv1"]["regions"]["grid_1_1_1"]["zeta_score"] = 64.0;
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump());
  report::build_report(tmp.str(), {});
  EXPECT_EQ(read_json(tmp.path / "summary.json")["top_regions"][0]["zeta"].get<double>(), 64.0);
}

// Defect 6: `linear:4096 --grid 1x1x4096` trains fine but its 4096 channel blocks made a 690x50834
// density map ("figure size …: expected 1 … 20000 pixels a side", no report).  Now the tiles wrap.
TEST(Report, ALayerOf4096RegionsGetsFiguresThatFit) {
  TempDir tmp("wide_layer");
  const std::vector<LayerSpec> layers = {{"fc1", 1, 1, 4096, 1, 1, 4096}, {"output", 1, 1, 10, 1, 1, 10}};
  for (int e = 1; e <= 2; ++e) {
    const fs::path a = tmp.path / "analysis" / ("epoch_00" + std::to_string(e));
    write(a / "grid.json", grid_json(e, layers).dump());
    write(a / "zeta.json", zeta_json(e, layers).dump());
    write(a / "tract.json", chain_tract_json(layers).dump());
  }
  report::build_report(tmp.str(), {});
  for (const char* f : {"figures/epoch_001/fc1_density.png", "figures/epoch_002/fc1_zeta.png", "figures/epoch_002/pathways.png",
                        "figures/evolution/fc1_zeta.png"}) {
    ASSERT_TRUE(fs::exists(tmp.path / f)) << f;
    const auto [w, h] = png_size(base::read_file((tmp.path / f).string()));
    EXPECT_LE(w, 3000) << f;
    EXPECT_LE(h, 2000) << f;
  }
  EXPECT_TRUE(fs::exists(tmp.path / "report.html"));
}

// Defect 6, the fallback: a figure that is still too large (a pathways figure of 2,100 layers: 210
// bands of 10 columns, over 20000 pixels tall; 160 layers in one row would be over 20000
// pixels wide) is left out with a line saying so, and the rest of the report is written.
TEST(Report, AFigureOverTheSizeLimitIsSkippedWithANote) {
  TempDir tmp("many_layers");
  std::vector<LayerSpec> layers;
  for (int l = 0; l < 2100; ++l) layers.push_back({"l" + std::to_string(l), 1, 1, 1, 1, 1, 1});
  write(tmp.path / "analysis/epoch_001/tract.json", chain_tract_json(layers).dump());
  const std::string text = report::build_report(tmp.str(), {});
  EXPECT_NE(text.find("figures/epoch_001/pathways.png not drawn: 1352x"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(tmp.path / "figures/epoch_001/pathways.png"));
  EXPECT_TRUE(fs::exists(tmp.path / "figures/training.png"));
  EXPECT_TRUE(fs::exists(tmp.path / "report.html"));
  bool noted = false;
  const Json summary = read_json(tmp.path / "summary.json");
  for (const Json& n : summary["notes"]) noted = noted || n.get<std::string>().find("pathways.png not drawn") != std::string::npos;
  EXPECT_TRUE(noted);
}

// Audit A 1: --scale 8 dropped the default model's pathways and training figures (over 2^25 pixels),
// SVGs too, which have no pixels.  A PNG is drawn at the largest scale that fits, with a line saying
// so; an SVG is checked at its layout size.
TEST(Report, AScaleTooLargeForAFigureDrawsItAtTheLargestThatFits) {
  std::vector<LayerSpec> layers;
  for (int l = 0; l < 30; ++l) layers.push_back({"l" + std::to_string(l), 1, 1, 1, 1, 1, 1});
  for (const char* format : {"png", "svg"}) {
    TempDir tmp("large_scale");
    write(tmp.path / "analysis/epoch_001/tract.json", chain_tract_json(layers).dump());
    report::ReportOptions opts;
    opts.format = format;
    opts.scale = 8;
    const std::string text = report::build_report(tmp.str(), opts);
    const std::string figure = std::string("figures/epoch_001/pathways.") + format;
    ASSERT_TRUE(fs::exists(tmp.path / figure)) << text;
    EXPECT_EQ(text.find("not drawn"), std::string::npos) << text;
    if (std::string(format) == "png") {
      const auto [w, h] = png_size(base::read_file((tmp.path / figure).string()));
      EXPECT_LE(w, report::kMaxFigureSide);
      EXPECT_LE((long long)w * h, report::kMaxFigurePixels);
      EXPECT_NE(text.find(figure + " drawn at --scale "), std::string::npos) << text;
    } else {
      EXPECT_EQ(text.find("drawn at --scale"), std::string::npos) << text;
    }
  }
}

// Audit A 14: an all-zero ζ layer's colour bar read "-0   0   0".
TEST(Report, AnAllZeroColourBarHasNoMinusZero) {
  TempDir tmp("minus_zero");
  write_run(tmp.path);
  Json zeta = zeta_json(2);
  for (auto& [key, region] : zeta["layers"]["output"]["regions"].items()) region["zeta_score"] = 0.0, region["confidence_interval"] = {0.0, 0.0};
  zeta["layers"]["output"]["critical_regions"] = Json::array();
  zeta["layers"]["output"]["critical_share"] = 0;
  for (int e : {1, 2}) {
    zeta["epoch"] = e;  // each directory's own epoch
    write(tmp.path / ("analysis/epoch_00" + std::to_string(e)) / "zeta.json", zeta.dump());
  }
  const std::string svg = svg_figure(tmp.path, "epoch_002/output_zeta");
  EXPECT_EQ(svg.find(">-0</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0</text>"), std::string::npos);
}

// Audit A 14: a skipped figure's line was printed twice (among the notes and on its own line).
TEST(Report, ASkippedFigureIsOneLine) {
  TempDir tmp("skipped_once");
  std::vector<LayerSpec> layers;
  // a pathways figure over the limits (160 layers before its bands of 10 columns)
  for (int l = 0; l < 2100; ++l) layers.push_back({"l" + std::to_string(l), 1, 1, 1, 1, 1, 1});
  write(tmp.path / "analysis/epoch_001/tract.json", chain_tract_json(layers).dump());
  const std::string text = report::build_report(tmp.str(), {});
  const size_t first = text.find("pathways.png not drawn");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("pathways.png not drawn", first + 1), std::string::npos) << text;
}

// Audit A 14: with completed_epoch 0 the note said there were no analysis directories (there were).
TEST(Report, ARunJsonCommittingNoEpochSaysSo) {
  TempDir tmp("completed_zero");
  write_run(tmp.path);
  run::Manifest m;
  m.epochs = 3, m.completed_epoch = 0, m.threads = 1;
  m.files = {"config.json", "metrics.jsonl"};
  run::write_manifest(run::Layout(tmp.str()), m);
  const report::RunData run = report::load_run(tmp.str());
  ASSERT_FALSE(run.notes.empty());
  EXPECT_NE(run.notes.back().find("run.json commits no epoch yet (completed_epoch 0)"), std::string::npos) << run.notes.back();
}

// Audit hC: an analysis directory named epoch_… that is no epoch name (7 digits, a letter) was
// skipped without a word; the report reads the others and a note names it.
TEST(Report, AnEpochDirectoryWithAnOddNameIsNoted) {
  TempDir tmp("odd_epoch");
  write_run(tmp.path);
  for (const char* odd : {"epoch_2000000", "epoch_3b"}) {
    fs::create_directories(tmp.path / "analysis" / odd);
    write(tmp.path / "analysis" / odd / "zeta.json", zeta_json(2).dump());
  }
  write(tmp.path / "analysis/epoch_notes.txt", "a file, not an epoch directory");
  const report::RunData run = report::load_run(tmp.str());
  EXPECT_EQ(run.epochs.size(), 2u);
  std::vector<std::string> odd;
  for (const std::string& note : run.notes)
    if (note.find(": not read (an analysed epoch's directory is epoch_N") != std::string::npos) odd.push_back(note.substr(0, note.find(':')));
  std::sort(odd.begin(), odd.end());
  EXPECT_EQ(odd, (std::vector<std::string>{"analysis/epoch_2000000", "analysis/epoch_3b"}));
}

// Defect 7: the text renderer reserved 1,200 bytes per character, so a 1 MB model name cost 1.25 GB.
// Drawn text is cut at 200 characters; long layer names give short file names.
TEST(Report, DataBorneTextIsBoundedInFiguresAndFileNames) {
  EXPECT_EQ(report::drawable_text(std::string(1 << 20, 'm')), std::string(200, 'm') + "...");
  EXPECT_EQ(report::drawable_text(std::string(150, 'a')), std::string(150, 'a'));
  TempDir tmp("long_names");
  write_run(tmp.path);
  Json config = read_json(tmp.path / "config.json");
  config["model"] = std::string(1 << 20, 'm');
  write(tmp.path / "config.json", config.dump());
  report::build_report(tmp.str(), {});
  EXPECT_TRUE(fs::exists(tmp.path / "figures/training.png"));
  const std::string a = report::file_safe(std::string(300, 'x')), b = report::file_safe(std::string(299, 'x') + "y");
  EXPECT_LE(a.size(), report::kMaxFileStem);
  EXPECT_NE(a, b);
  EXPECT_EQ(report::file_safe("conv1"), "conv1");
}

// A config.json listing 300,000 classes sized the confusion maps' (classes²) tables from it: out of
// memory, exit 3.  Every data set has at most base::kMaxClasses (a label is one byte): more is one line.
TEST(Report, MoreClassNamesThanALabelCanHoldIsOneError) {
  TempDir tmp("classes");
  write_run(tmp.path);
  Json config = read_json(tmp.path / "config.json");
  config["data"]["classes"] = Json::array();
  for (int c = 0; c < base::kMaxClasses; ++c) config["data"]["classes"].push_back("c" + std::to_string(c));
  write(tmp.path / "config.json", config.dump());
  report::build_report(tmp.str(), {});  // 256: read
  config["data"]["classes"].push_back("one more");
  write(tmp.path / "config.json", config.dump());
  const std::string m = error_of([&] { report::build_report(tmp.str(), {}); });
  EXPECT_NE(m.find("config.json: /data/classes: expected at most 256 class names (a label is one byte), found an array of 257"),
            std::string::npos) << m;
}

// Audit A 6: layers "c/1" and "c:1" both had the figure c_1_zeta.png: the second overwrote the first and
// summary.json listed the path twice.  Each layer keeps its own file, the same at every report.
TEST(Report, LayerNamesThatSanitiseAlikeKeepTheirOwnFigures) {
  TempDir tmp("same_stem");
  write_run(tmp.path);
  for (const char* e : {"epoch_001", "epoch_002"})
    for (const char* f : {"grid.json", "zeta.json", "tract.json"}) {
      const fs::path p = tmp.path / "analysis" / e / f;
      std::string text = base::read_file(p.string());
      for (const auto& [from, to] : {std::pair<std::string, std::string>{"\"conv1\"", "\"c/1\""}, {"\"pool1\"", "\"c:1\""}})
        for (size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
      write(p, text);
    }
  report::build_report(tmp.str(), {});
  const Json figures = read_json(tmp.path / "summary.json")["figures"];
  std::vector<std::string> paths;
  for (const Json& f : figures) paths.push_back(f.get<std::string>());
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(std::adjacent_find(paths.begin(), paths.end()), paths.end()) << figures.dump();
  for (const std::string& p : paths) EXPECT_TRUE(fs::exists(tmp.path / p)) << p;
  EXPECT_NE(std::find(paths.begin(), paths.end(), "figures/epoch_002/c_1_zeta.png"), paths.end()) << figures.dump();
}

// Audit A 7: a pair whose receiving layer has no known shape was ranked by its raw C among the others'
// per-unit strengths, all under one label.  Per-unit strengths first; the raw C after them, marked.
TEST(Report, PathwaysRankOneMeasureAndLabelEach) {
  TempDir tmp("pathway_measures");
  write_run(tmp.path);
  Json tract = tract_json();
  tract["pairs"]["layer_1_to_2"]["to"] = "ghost";  // no grid.json names it: no shape, no per-unit strength
  tract["pairs"]["layer_1_to_2"]["flows"] = Json::array();
  tract["network"].erase("chains");
  write(tmp.path / "analysis/epoch_002/tract.json", tract.dump());
  const std::string text = report::build_report(tmp.str(), {});
  const Json pathways = read_json(tmp.path / "summary.json")["critical_pathways"];
  ASSERT_EQ(pathways.size(), 2u) << pathways.dump();
  EXPECT_EQ(pathways[0]["path"], "conv1\u2192pool1") << pathways.dump();
  EXPECT_NE(text.find("strongest pathways (mean drive per receiving unit; C: connection strength, receiving layer's shape unknown): "
                      "conv1\u2192pool1 2, pool1\u2192ghost C 30"),
            std::string::npos)
      << text;
}

// Loss values that differ only in their last bits (1e20 and the next double) made the y-axis tick
// loop `v += step` stand still: the report never finished.
TEST(Report, AxisTicksFinishOnValuesTheStepCannotMove) {
  TempDir tmp("ticks");
  write_run(tmp.path);
  std::string metrics;
  for (int e = 1; e <= 2; ++e)
    metrics += Json({{"epoch", e}, {"train_loss", e == 1 ? 1e20 : std::nextafter(1e20, 1e21)}, {"train_acc", 0.5},
                     {"test_loss", 1e308}, {"test_acc", 0.25}})  // an accuracy is 0 … 1 (audit A 8)
                   .dump() + "\n";
  write(tmp.path / "metrics.jsonl", metrics);
  auto done = std::async(std::launch::async, [&] { report::build_report(tmp.str(), {}); });
  if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "build_report did not finish within 60 s";
    std::_Exit(1);  // the report thread cannot be stopped
  }
  done.get();
  EXPECT_TRUE(fs::exists(tmp.path / "figures/training.png"));
}

// Audit hC: over a span of a million epochs the training figure labelled every 66,667th epoch, the
// labels ran into each other and the last one was cut at the figure's edge.  Each axis's epoch
// labels (the middle-anchored numbers on one line) must keep apart and inside the figure.
TEST(Report, EpochLabelsKeepApartOverAHugeSpan) {
  for (const std::vector<int>& epochs : {std::vector<int>{1, 2, 3, 250000, 999999, 1000000}, std::vector<int>{1, 2, 3, 4}}) {
    TempDir tmp("epoch_labels");
    std::string metrics;
    for (int e : epochs)
      metrics += Json({{"epoch", e}, {"train_loss", 1.5}, {"train_acc", 0.5}, {"test_loss", 1.6}, {"test_acc", 0.45}}).dump() + "\n";
    write(tmp.path / "metrics.jsonl", metrics);
    const std::string svg = svg_figure(tmp.path, "training");
    const double width = std::atof(svg.c_str() + svg.find("width=\"") + 7);
    std::map<double, std::vector<std::pair<double, double>>> rows;  // y → (left, right) of each label
    for (const SvgText& t : svg_texts(svg)) {
      if (!t.middle || t.label.empty() || t.label.find_first_not_of("0123456789") != std::string::npos) continue;
      rows[t.y].push_back({t.left, t.right});
    }
    ASSERT_EQ(rows.size(), 3u) << "three epoch axes";
    for (auto& [y, labels] : rows) {
      std::sort(labels.begin(), labels.end());
      EXPECT_GE(labels.size(), std::min<size_t>(epochs.size(), 3)) << "axis at y " << y;
      EXPECT_GE(labels.front().first, 0) << "axis at y " << y;
      EXPECT_LE(labels.back().second, width) << "axis at y " << y << ": the last label leaves the figure";
      for (size_t i = 1; i < labels.size(); ++i)
        EXPECT_LT(labels[i - 1].second + 4, labels[i].first) << "axis at y " << y << ": labels " << i << " and " << i + 1 << " overlap";
    }
  }
}

// README training.png: a run whose metrics.jsonl logs its learning rate gets a fourth panel, between
// accuracy and ζ stability, its axis from 0 to 1.1 times the largest rate: each epoch's rate a dot in the
// panel's colour, in epoch order, whose height above the panel's foot is rate / (1.1 · largest) of the
// panel's height (an axis fitted to the rates, as loss's is, would put the smallest rate near the foot).
TEST(Report, TrainingFigureDrawsTheLearningRateFromZero) {
  TempDir tmp("training_rate");
  const std::vector<double> rates = {0.02, 0.015, 0.01, 0.005};
  std::string metrics;
  for (size_t e = 0; e < rates.size(); ++e)
    metrics += Json({{"epoch", e + 1}, {"train_loss", 1.5}, {"train_acc", 0.5}, {"test_loss", 1.6}, {"test_acc", 0.45},
                     {"learning_rate", rates[e]}}).dump() + "\n";
  write(tmp.path / "metrics.jsonl", metrics);
  const std::string svg = svg_figure(tmp.path, "training");
  std::vector<double> titles;  // the y of the loss, accuracy, learning-rate and ζ stability titles
  for (const char* title : {"loss (cross-entropy)", "accuracy", "learning rate (at each epoch's last step)", "ζ stability (Spearman ρ)"})
    for (const SvgText& t : svg_texts(svg))
      if (t.label == title) titles.push_back(t.y);
  ASSERT_EQ(titles.size(), 4u) << svg;
  EXPECT_TRUE(std::is_sorted(titles.begin(), titles.end()) && std::adjacent_find(titles.begin(), titles.end()) == titles.end());
  // each element's numeric attribute NAME, for the elements of kind TAG whose text holds FILTER
  auto attributes = [&](const std::string& tag, const std::string& filter, const std::string& name) {
    std::vector<double> values;
    for (size_t at = svg.find("<" + tag + " "); at != std::string::npos; at = svg.find("<" + tag + " ", at + 1)) {
      const std::string element = svg.substr(at, svg.find("/>", at) - at);
      if (element.find(filter) != std::string::npos) values.push_back(std::atof(element.c_str() + element.find(" " + name + "=\"") + name.size() + 3));
    }
    return values;
  };
  const std::string frame = "fill=\"none\" stroke=\"" + report::hex({185, 185, 185}) + "\"";
  const std::vector<double> frame_y = attributes("rect", frame, "y"), frame_h = attributes("rect", frame, "height");
  ASSERT_EQ(frame_y.size(), 4u) << "four panels";
  const double foot = frame_y[2] + frame_h[2] + 0.5, height = frame_h[2] + 1;  // the stroke's centre line, 1 unit wide
  EXPECT_GT(frame_y[2], titles[2]);
  EXPECT_LT(foot, titles[3]);
  const std::string fill = "fill=\"" + report::hex({0, 158, 115}) + "\"";
  const std::vector<double> cx = attributes("circle", fill, "cx"), cy = attributes("circle", fill, "cy");
  ASSERT_EQ(cy.size(), rates.size());
  for (size_t e = 0; e < rates.size(); ++e) {
    EXPECT_NEAR(foot - cy[e], height * rates[e] / (1.1 * rates[0]), 0.05) << "epoch " << e + 1;
    if (e) {
      EXPECT_GT(cx[e], cx[e - 1]) << "epoch " << e + 1;
    }
  }
}

// Coordinates from data can be huge or not finite; the raster canvas must neither crash nor convert
// them to int (undefined beyond int's range).
TEST(Report, CanvasIgnoresCoordinatesThatAreNotFinite) {
  for (const char* format : {"png", "svg"}) {
    auto c = report::make_canvas(format, 20, 20);
    c->fill_rect(1e300, -1e300, 1e300, 1e300, {0, 0, 0});
    c->fill_rect(NAN, 0, 5, 5, {0, 0, 0});
    c->polyline({{0, 0}, {1e300, -1e300}, {INFINITY, 3}}, {0, 0, 0}, 2);
    c->polyline({{0, 0}, {5e8, 5}}, {0, 0, 0}, 1e300);
    c->disc(-1e300, 1e300, 1e300, {0, 0, 0});
    c->text(1e300, NAN, "x", {0, 0, 0});
    EXPECT_FALSE(c->encode().empty());
  }
  EXPECT_NE(report::figure_size_problem(20001, 10).find("20001x10 pixels"), std::string::npos);
  EXPECT_NE(report::figure_size_problem(10000, 10000).find("at most 33554432 in all"), std::string::npos);
  EXPECT_EQ(report::figure_size_problem(800, 600), "");
}

// The figure font is DejaVu Sans through stb_truetype: the raster canvas draws exactly stb_truetype's
// own bitmap of a glyph (pen and baseline on whole pixels: no sub-pixel shift), and the capital H
// has two vertical strokes above its bar and one run of ink across it.
TEST(Report, TextIsTheTrueTypeFontsGlyph) {
  const std::string font_bytes = base::read_file(report::kFontPath);
  stbtt_fontinfo font;
  const auto* data = reinterpret_cast<const unsigned char*>(font_bytes.data());
  ASSERT_TRUE(stbtt_InitFont(&font, data, stbtt_GetFontOffsetForIndex(data, 0)));
  const double size = 4;  // an em of 9.6·4 = 38.4 pixels, the baseline 7·4 = 28 below the line's top
  const float scale = stbtt_ScaleForMappingEmToPixels(&font, float(9.6 * size));
  int x0, y0, x1, y1;
  stbtt_GetCodepointBitmapBoxSubpixel(&font, 'H', scale, scale, 0, 0, &x0, &y0, &x1, &y1);
  const int gw = x1 - x0, gh = y1 - y0;
  ASSERT_GT(gw, 10);
  ASSERT_GT(gh, 20);
  std::vector<unsigned char> glyph(size_t(gw) * gh);
  stbtt_MakeCodepointBitmapSubpixel(&font, glyph.data(), gw, gh, gw, scale, scale, 0, 0, 'H');

  auto canvas = report::make_canvas("png", 60, 50);
  const int pen = 10, top = 2, baseline = top + 28;
  canvas->text(pen, top, "H", {0, 0, 0}, size);
  const std::string png = canvas->encode();
  int w, h, n;
  unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), int(png.size()), &w, &h, &n, 3);
  ASSERT_NE(pixels, nullptr);
  int ink = 0, expected_ink = 0, mismatched = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int col = x - pen - x0, row = y - baseline - y0;
      const int want = col >= 0 && col < gw && row >= 0 && row < gh ? glyph[size_t(row) * gw + col] : 0;
      const int got = 255 - pixels[(size_t(y) * w + x) * 3];  // black on white: darkness = coverage
      ink += got > 0;
      expected_ink += want > 0;
      mismatched += std::abs(got - want) > 1;
    }
  EXPECT_EQ(mismatched, 0);
  EXPECT_EQ(ink, expected_ink);
  // Ink runs (darkness > 128) along a row of the glyph box.
  auto runs = [&](int row) {
    int count = 0;
    bool inside = false;
    for (int col = 0; col < gw; ++col) {
      const bool dark = 255 - pixels[(size_t(baseline + y0 + row) * w + pen + x0 + col) * 3] > 128;
      count += dark && !inside;
      inside = dark;
    }
    return count;
  };
  EXPECT_EQ(runs(gh / 5), 2);      // the two stems, above the bar
  EXPECT_EQ(runs(gh * 4 / 5), 2);  // and below it
  int bar_rows = 0;
  for (int row = 0; row < gh; ++row) bar_rows += runs(row) == 1;
  EXPECT_GE(bar_rows, 2);  // the bar joins them
  stbi_image_free(pixels);
  int advance = 0, bearing = 0;
  stbtt_GetCodepointHMetrics(&font, 'H', &advance, &bearing);
  EXPECT_NEAR(report::text_width("H", size), advance * double(scale), 1e-9);  // widths from the same metrics
}

// --scale N multiplies every PNG's width and height by N (the same layout, N pixels per unit) and an
// SVG's width and height attributes (its viewBox stays); the same run and options give the same bytes.
TEST(Report, ScaleMultipliesFigureSizes) {
  TempDir one("scale_1"), two("scale_2"), again("scale_2_again");
  write_run(one.path / "run");
  write_run(two.path / "run");
  write_run(again.path / "run");
  report::ReportOptions opts;
  opts.figures_only = true;
  report::build_report((one.path / "run").string(), opts);
  opts.scale = 2;
  report::build_report((two.path / "run").string(), opts);
  report::build_report((again.path / "run").string(), opts);
  const Json s = read_json(one.path / "run/summary.json");
  ASSERT_FALSE(s["figures"].empty());
  for (const Json& f : s["figures"]) {
    const std::string a = base::read_file((one.path / "run" / f.get<std::string>()).string());
    const std::string b = base::read_file((two.path / "run" / f.get<std::string>()).string());
    const auto [w1, h1] = png_size(a);
    const auto [w2, h2] = png_size(b);
    EXPECT_EQ(w2, 2 * w1) << f;
    EXPECT_EQ(h2, 2 * h1) << f;
    EXPECT_EQ(b, base::read_file((again.path / "run" / f.get<std::string>()).string())) << f;
  }
  auto svg = report::make_canvas("svg", 30, 20, {255, 255, 255}, 3);
  svg->text(1, 1, "\u03b6", {0, 0, 0});
  const std::string text = svg->encode();
  EXPECT_NE(text.find("width=\"90\" height=\"60\" viewBox=\"0 0 30 20\""), std::string::npos) << text;
  EXPECT_NE(text.find(">\u03b6</text>"), std::string::npos) << text;
  opts.scale = 0;
  EXPECT_NE(error_of([&] { report::build_report((one.path / "run").string(), opts); }).find("--scale 0: expected 1 to 8"),
            std::string::npos);
}

// training.png's ζ stability legend with many layers (resnet20's 30) wraps into rows inside the figure,
// every layer named (one right-aligned row whatever its width would draw conv1 … conv14 left of the
// figure's edge, the legend naming only the last 16 layers).
TEST(Report, TrainingLegendOfManyLayersWrapsInsideTheFigure) {
  TempDir tmp("training_legend");
  const std::vector<LayerSpec> specs = write_run_of_30_layers(tmp.path);
  const std::string svg = svg_figure(tmp.path, "training");
  const double width = std::atof(svg.c_str() + svg.find("width=\"") + 7);
  const double height = std::atof(svg.c_str() + svg.find("height=\"") + 8);
  std::map<double, std::vector<std::pair<double, double>>> lines;  // y → (left, right) of each text
  std::set<std::string> labels;
  for (const SvgText& t : svg_texts(svg)) {
    EXPECT_GE(t.left, 0) << "'" << t.label << "' starts left of the figure";
    EXPECT_LE(t.right, width) << "'" << t.label << "' leaves the figure (width " << width << ")";
    EXPECT_GE(t.y, 0) << t.label;
    EXPECT_LE(t.y, height) << t.label;
    lines[t.y].push_back({t.left, t.right});
    labels.insert(t.label);
  }
  for (const LayerSpec& s : specs) EXPECT_TRUE(labels.count(s.name)) << s.name << " is not in the legend";
  EXPECT_TRUE(labels.count("mean"));
  for (auto& [y, spans] : lines) {
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) EXPECT_LT(spans[i - 1].second, spans[i].first) << "texts overlap on the line at y " << y;
  }
}

// confusion.png shades its cells by the share of the row; a colour bar from 0% to 100% of the row, with
// its definition, is under the matrix, inside the figure and below the last row, to read a shade by.
TEST(Report, ConfusionMatrixShadeHasAScale) {
  TempDir tmp("confusion_scale");
  Json grid = grid_json(7), zeta = zeta_json(7);
  grid["dataset"]["classes"] = {"airplane", "automobile", "bird"};
  zeta["errors"] = {{"labels", {0, 1, 2, 1}}, {"predicted", {0, 2, 2, 1}}};
  write_analysis(tmp.path, grid, zeta);
  const std::string svg = svg_figure(tmp.path, "epoch_007/confusion");
  const double height = std::atof(svg.c_str() + svg.find("height=\"") + 8);
  const std::vector<SvgText> texts = svg_texts(svg);
  auto y_of = [&](const std::string& text) {
    for (const SvgText& t : texts)
      if (t.label == text) return t.y;
    return -1.0;
  };
  const double caption = y_of("shade = count / the row's images (the share of that true class predicted as the column)");
  ASSERT_GE(caption, 0) << "no caption for the shade";
  EXPECT_GT(caption, y_of("bird")) << "the scale is under the matrix's last row";
  EXPECT_GE(y_of("0%"), caption);
  EXPECT_EQ(y_of("100% of the row"), y_of("0%"));
  EXPECT_LT(y_of("0%") + 14, height) << "the scale's labels are inside the figure";
}

// pathways.png coloured its cells "by ζ" with no scale and no word of what red and blue mean; each
// layer has its own scale (its map's), so one bar would mislead: the subtitle says the rule instead.
TEST(Report, PathwayFigureSaysWhatItsColoursMean) {
  TempDir tmp("pathway_colours");
  write_run(tmp.path);
  const std::string svg = svg_figure(tmp.path, "epoch_002/pathways");
  EXPECT_NE(svg.find("cells coloured by ζ on each layer's scale (red: above the layer's mean, blue: below; grey: no ζ)"),
            std::string::npos);
}

namespace {
// The SVG's texts whose content is exactly `text`, as (x, y) in figure units.
std::vector<std::pair<double, double>> text_positions(const std::string& svg, const std::string& text) {
  std::vector<std::pair<double, double>> out;
  for (size_t at = svg.find(">" + text + "</text>"); at != std::string::npos; at = svg.find(">" + text + "</text>", at + 1)) {
    const size_t start = svg.rfind("<text ", at);
    out.push_back({std::atof(svg.c_str() + svg.find(" x=\"", start) + 4), std::atof(svg.c_str() + svg.find(" y=\"", start) + 4)});
  }
  return out;
}
}  // namespace

// The evolution figures (a layer's map at every analysed epoch) have tile headers, without which a reader
// could not tell which channel block a column is: each column is headed by its channels once, above the
// first epoch's row, and the output layer's by class name.
TEST(Report, EvolutionFigureHeadsEachTileColumnByItsChannels) {
  TempDir tmp("evolution_headers");
  write_run(tmp.path);
  const std::string svg = svg_figure(tmp.path, "evolution/conv1_zeta");
  const auto first = text_positions(svg, "ch 1–2"), second = text_positions(svg, "ch 3–4");
  const auto epoch1 = text_positions(svg, "epoch 1"), epoch2 = text_positions(svg, "epoch 2");
  ASSERT_EQ(first.size(), 1u) << "conv1's first channel block (channels 1–2) is headed once, above the first row";
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(epoch1.size(), 1u);
  ASSERT_EQ(epoch2.size(), 1u);
  EXPECT_LT(first[0].first, second[0].first) << "columns in channel order, left to right";
  EXPECT_EQ(first[0].second, second[0].second) << "one header line";
  EXPECT_LT(first[0].second, epoch1[0].second) << "the header is above the first epoch's row";
  EXPECT_LT(epoch1[0].second, epoch2[0].second);
  const std::string output = svg_figure(tmp.path, "evolution/output_zeta");
  for (const char* name : {"cat", "dog", "bird"}) EXPECT_EQ(text_positions(output, name).size(), 1u) << name;
  EXPECT_NE(output.find("; tiles: classes; one colour scale"), std::string::npos) << "the output layer's tiles are classes, not channel blocks";
  EXPECT_NE(svg.find("; tiles: channel blocks; one colour scale"), std::string::npos);
}

// training.png's ζ stability panel: coloured by l mod 10 alone, on a run of 30 layers block1_conv,
// block11_conv and block21_conv would be one line. Colour and dash pattern:
// 40 distinct styles, and block11's legend sample is a dashed line (several pieces), block1's solid.
TEST(Report, LayerLinesDifferForFortyLayers) {
  std::set<std::pair<std::string, std::vector<double>>> styles;
  for (size_t l = 0; l < report::kDistinctLayerStyles; ++l) {
    const report::LineStyle s = report::layer_style(l);
    styles.insert({std::to_string(s.color.r) + "," + std::to_string(s.color.g) + "," + std::to_string(s.color.b), s.pattern});
  }
  EXPECT_EQ(styles.size(), report::kDistinctLayerStyles);
  TempDir tmp("layer_lines");
  const std::vector<LayerSpec> specs = write_run_of_30_layers(tmp.path);
  const std::string svg = svg_figure(tmp.path, "training");
  // the pieces of a legend entry's sample: the polylines between the previous text and its label
  auto sample_pieces = [&](const std::string& label) {
    const size_t at = svg.find(">" + label + "</text>");
    if (at == std::string::npos) return -1;
    const size_t from = svg.rfind("</text>", svg.rfind("<text ", at));
    int pieces = 0;
    for (size_t p = svg.find("<polyline", from); p != std::string::npos && p < at; p = svg.find("<polyline", p + 1)) ++pieces;
    return pieces;
  };
  EXPECT_EQ(sample_pieces("block1_conv"), 1) << "the first ten layers: solid";
  EXPECT_GT(sample_pieces("block11_conv"), 1) << "layer 11 has layer 1's colour: it must be dashed";
  EXPECT_GT(sample_pieces("block21_conv"), sample_pieces("block11_conv")) << "layer 21: dotted, more pieces than dashed";
}

// pathways.png of a net of 30 imaged layers (resnet20): in one row of 30 columns, 3,992 units wide, its
// tiles would be unreadable at any page width, so layers wrap into bands of at most 10 columns, each
// layer named once above its column, every text inside the figure, the chain listed over as many lines
// as bands.
TEST(Report, PathwayFigureOfADeepNetWrapsIntoBands) {
  TempDir tmp("pathway_bands");
  std::vector<LayerSpec> specs;
  for (int l = 0; l < 30; ++l) specs.push_back({"block" + std::to_string(l + 1), 4, 4, 4, 2, 2, 2});
  write(tmp.path / "analysis/epoch_001/grid.json", grid_json(1, specs).dump(1));
  write(tmp.path / "analysis/epoch_001/zeta.json", zeta_json(1, specs).dump(1));
  Json tract = chain_tract_json(specs);
  // a residual unit's shortcut over blocks 2 and 3: the subtitle's "dashed: …" was cut off at 200 bytes
  tract["pairs"]["shortcut_0_to_3"] = {{"from", "block1"}, {"to", "block4"}, {"kind", "shortcut"}, {"connection_strength", 1.0},
                                       {"pathway_efficiency", 0.5}, {"connected_pairs", 1}, {"flows", {{specs[0].key(0), specs[3].key(0), 1.0}}}};
  write(tmp.path / "analysis/epoch_001/tract.json", tract.dump(1));
  const std::string svg = svg_figure(tmp.path, "epoch_001/pathways");
  EXPECT_NE(svg.find("; dashed: a residual unit's shortcut; layers wrap into rows"), std::string::npos) << "the subtitle says both, uncut";
  EXPECT_EQ(svg.find("...</text>"), std::string::npos) << "no text cut";
  const double width = std::atof(svg.c_str() + svg.find("width=\"") + 7);
  const double height = std::atof(svg.c_str() + svg.find("height=\"") + 8);
  EXPECT_LT(width, 1500) << "30 columns of 132 units in one row";
  std::set<double> name_rows;
  for (const LayerSpec& s : specs) {
    const auto at = text_positions(svg, s.name);
    ASSERT_EQ(at.size(), 1u) << s.name;
    EXPECT_GT(at[0].first, 0) << s.name;
    EXPECT_LT(at[0].first, width) << s.name;
    name_rows.insert(at[0].second);
  }
  EXPECT_EQ(name_rows.size(), 3u) << "names on three lines: one per band of 10";
  for (size_t at = svg.find("<text "); at != std::string::npos; at = svg.find("<text ", at + 1)) {
    const std::string element = svg.substr(at, svg.find("</text>", at) - at), label = element.substr(element.find('>') + 1);
    const double x = std::atof(element.c_str() + element.find(" x=\"") + 4), y = std::atof(element.c_str() + element.find(" y=\"") + 4);
    const double size = std::atof(element.c_str() + element.find("font-size=\"") + 11) / 9.6, w = report::text_width(label, size);
    const double left = element.find("text-anchor=\"middle\"") != std::string::npos ? x - w / 2
                        : element.find("text-anchor=\"end\"") != std::string::npos ? x - w : x;
    EXPECT_GE(left, 0) << label;
    EXPECT_LE(left + w, width + 0.5) << "'" << label << "' leaves the figure";
    EXPECT_LE(y, height) << label;
  }
}

// The error gallery's scale names the unit of zeta.json's value function, inside the figure (not
// "colour scale: ±0.00745 (φ per pixel, value units)": no unit).
TEST(Report, GalleryScaleNamesTheUnitOfItsValueFunction) {
  for (const std::string value : {"logprob", "margin"}) {
    TempDir tmp("gallery_unit");
    Json grid = grid_json(7), zeta = zeta_json(7);
    grid["dataset"]["classes"] = {"cat", "dog", "bird"};
    grid["layers"]["conv1"]["receptive_field"] = {{"rows", {{0, 3}, {1, 4}}}, {"cols", {{0, 3}, {1, 4}}}};
    Json gallery = Json::array(), rows = Json::array();
    for (int i = 0; i < 2; ++i) {
      gallery.push_back({{"slot", i}, {"index", i}, {"kind", "confident"}, {"label", i}, {"predicted", i}, {"probability_true", 0.9},
                         {"pixels", std::vector<int>(48, 100 + i)}});
      Json row = Json::array();
      for (int r = 0; r < 8; ++r) row.push_back(0.01 * (r - 3.5));
      rows.push_back(row);
    }
    zeta["settings"] = {{"value_function", value}};
    zeta["errors"] = {{"shape", {3, 4, 4}}, {"gallery", gallery}, {"labels", {0, 1}}, {"predicted", {0, 1}}};
    zeta["layers"]["conv1"]["errors"] = {{"per_image", rows}};
    write_analysis(tmp.path, grid, zeta);
    const std::string svg = svg_figure(tmp.path, "epoch_007/conv1_gallery");
    const std::string unit = value == "logprob" ? "nats of the true class's log-likelihood" : "logits of the true class's margin over the largest other";
    const size_t at = svg.find(" φ per pixel, in " + unit + " (value function " + value + ")</text>");
    EXPECT_NE(at, std::string::npos) << value;
    EXPECT_EQ(svg.find("value units"), std::string::npos);
  }
}

// The page's glossary states the λ, ε and value function the run computed with (meta.glossary): the newest
// epoch's grid.json and zeta.json settings first, config.json's analysis for what they do not record. An
// analyze directory has no config.json: its page must not fall back to logprob's words and λ 0.1
// whatever it computed.
TEST(Report, ThePagesGlossarySettingsAreWhatTheFilesRecordThenTheConfigs) {
  TempDir tmp("glossary");
  Json grid = grid_json(7), zeta = zeta_json(7);
  grid["settings"] = {{"lambda", 0.3}, {"epsilon", 1e-4}};
  zeta["settings"] = {{"value_function", "confusion:1:2"}};
  write_analysis(tmp.path, grid, zeta);
  Json data = Json::parse(report::page_data_text(report::load_run(tmp.str())));
  EXPECT_EQ(data["meta"]["glossary"], Json({{"lambda", 0.3}, {"epsilon", 1e-4}, {"value_function", "confusion:1:2"}}));
  // a run directory whose epochs record λ but no value function: the value function from config.json
  TempDir run("glossary_run");
  Json first = grid_json(1);
  first["settings"] = {{"lambda", 0.25}};
  write_analysis(run.path / "analysis/epoch_001", first, zeta_json(1));
  write(run.path / "config.json", Json({{"analysis", {{"lambda", 9.0}, {"epsilon", 2e-6}, {"zeta", {{"value", "margin"}}}}}}).dump());
  data = Json::parse(report::page_data_text(report::load_run(run.str())));
  EXPECT_EQ(data["meta"]["glossary"], Json({{"lambda", 0.25}, {"epsilon", 2e-6}, {"value_function", "margin"}}));
}

// LAYER_gallery.png on a real run (reference, 2 epochs on the CIFAR subset).  With one colour scale for
// the whole figure, set by its largest map (a mistake's, usually), a map a tenth of it would be drawn at
// under a tenth of the overlay's opacity, in RdBu's near-white middle: most confident images would show
// no overlay.  Each image has its own scale ±m_x (its largest |M_x(p)|),
// stated under it, a colour bar under the rows, and an image beyond the layer's covered images (a
// --zeta-budget cut) says "not covered", with a note giving the count covered.
TEST(Report, GalleryScalesEachImageToItsOwnMap) {
  TempDir tmp("gallery_own_scale");
  Json grid = grid_json(7), zeta = zeta_json(7);
  grid["dataset"]["classes"] = {"cat", "dog", "bird"};
  grid["layers"]["conv1"]["receptive_field"] = {{"rows", {{0, 3}, {1, 4}}}, {"cols", {{0, 3}, {1, 4}}}};
  // images of greys 50, 150, 200: image 0's φ a thousandth of image 1's; image 2 (slot 2) not covered
  const int greys[3] = {50, 150, 200};
  Json gallery = Json::array(), rows = Json::array();
  for (int i = 0; i < 3; ++i)
    gallery.push_back({{"slot", i}, {"index", i}, {"kind", i == 2 ? "mistake" : "confident"}, {"label", i % 2},
                       {"predicted", i == 2 ? 1 : i % 2}, {"probability_true", i == 2 ? 0.1 : 0.9},
                       {"pixels", std::vector<int>(48, greys[i])}});
  for (double s : {0.001, 1.0}) {
    Json row = Json::array();
    for (int r = 0; r < 8; ++r) row.push_back(s * r);
    rows.push_back(row);
  }
  zeta["errors"] = {{"shape", {3, 4, 4}}, {"gallery", gallery}, {"labels", {0, 1, 0}}, {"predicted", {0, 1, 1}}};
  zeta["layers"]["conv1"]["errors"] = {{"images", 2}, {"per_image", rows}};
  write_analysis(tmp.path, grid, zeta);
  const std::string svg = svg_figure(tmp.path, "epoch_007/conv1_gallery");
  // the overlay's largest opacity over each image's pixels (a pixel's grey rect, then its overlay)
  std::map<std::string, double> strongest;
  std::string pixel_of;
  for (size_t at = svg.find("<rect "); at != std::string::npos; at = svg.find("<rect ", at + 1)) {
    const std::string element = svg.substr(at, svg.find("/>", at) - at);
    const size_t fill = element.find("fill=\"#");
    if (fill == std::string::npos) continue;
    const std::string colour = element.substr(fill + 6, 7);
    const size_t opacity = element.find("opacity=\"");
    if (colour == "#323232" || colour == "#969696" || colour == "#c8c8c8") pixel_of = colour, strongest.emplace(colour, 0.0);
    else if (opacity != std::string::npos && !pixel_of.empty())
      strongest[pixel_of] = std::max(strongest[pixel_of], std::atof(element.c_str() + opacity + 9)), pixel_of.clear();
    else pixel_of.clear();
  }
  ASSERT_EQ(strongest.size(), 3u) << svg.substr(0, 400);
  EXPECT_NEAR(strongest["#323232"], 0.6, 1e-9);  // the small map is drawn as strongly as the large one
  EXPECT_NEAR(strongest["#969696"], 0.6, 1e-9);
  EXPECT_EQ(strongest["#c8c8c8"], 0.0);  // not covered: no overlay
  // each image's scale by hand: cell sums s·(1, 5, 9, 13), each over a 3×3 field; pixel (1..2, 1..2) in all four: 28s/9
  EXPECT_NE(svg.find(">±0.0031</text>"), std::string::npos);
  EXPECT_NE(svg.find(">±3.1</text>"), std::string::npos);
  EXPECT_NE(svg.find(">not covered</text>"), std::string::npos);
  EXPECT_NE(svg.find("no overlay on 1 image (&quot;not covered&quot;): this layer's estimate covers the first 2 images of the ζ sample only"),
            std::string::npos);
  EXPECT_NE(svg.find(">+m (supports)</text>"), std::string::npos);  // the colour bar's labels
  EXPECT_NE(svg.find(">−m (against)</text>"), std::string::npos);
}

// Mutation audit of report/: each test below kills a wrong implementation the rest of the suite lets
// through (bench/README.md, "Mutation audit of report/").

// README summary.json: "top_regions holds the 10 highest ζ over all layers … ties keep layer, then
// region order", each with its own zeta_ci [low, high], `significant` from zeta.json and `critical`
// from its critical_regions (a significant region need not be critical).  With every ζ equal, the
// ten are conv1's 8 regions in key order, then pool1's first two.
TEST(Report, TopRegionsAreTheTenFirstInLayerThenRegionOrderOnATie) {
  TempDir tmp("top_ties");
  write_run(tmp.path);
  Json zeta = zeta_json(2);
  for (Json& layer : zeta["layers"]) {
    for (Json& region : layer["regions"])
      region["zeta_score"] = 1.0, region["confidence_interval"] = {0.25, 1.75}, region["significance"] = false;
    layer["critical_regions"] = Json::array();
    layer["critical_share"] = 0.0;
  }
  zeta["layers"]["pool1"]["regions"]["grid_1_1_1"]["significance"] = true;  // significant, not critical
  zeta["layers"]["conv1"]["regions"]["grid_1_1_2"]["significance"] = true;  // significant and critical
  zeta["layers"]["conv1"]["critical_regions"] = {"grid_1_1_2"};
  zeta["layers"]["conv1"]["critical_share"] = 1.0 / 8;
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const Json s = report::epoch_summary(run, 1, report::zeta_stability(run));
  ASSERT_EQ(s["top_regions_ranked_by"], "zeta");
  const Json& top = s["top_regions"];
  ASSERT_EQ(top.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    const LayerSpec& spec = kLayers[i < 8 ? 0 : 1];
    const int r = int(i < 8 ? i : i - 8);
    EXPECT_EQ(top[i]["layer"], spec.name) << i;
    EXPECT_EQ(top[i]["region"], spec.key(r)) << i;
    // grid_i_j_k's 1-based i, j, k: r = ((i−1)·GW + (j−1))·GC + (k−1)
    EXPECT_EQ(top[i]["grid"], Json::array({r / (spec.gw * spec.gc) + 1, (r / spec.gc) % spec.gw + 1, r % spec.gc + 1})) << i;
    EXPECT_EQ(top[i]["zeta_ci"], Json::array({0.25, 1.75})) << i;
    EXPECT_EQ(top[i]["significant"], (i == 1 || i == 8)) << i;
    EXPECT_EQ(top[i]["critical"], i == 1) << i;
  }
}

// Without zeta.json the ranking is by information above the shuffled-label floor,
// information_bits − information_null_bits, not by information_bits: here the two orders are reversed
// (information 0.2 + 0.05 r grows with r, the floor 0.06 r faster).
TEST(Report, WithoutZetaRegionsRankByInformationAboveTheFloor) {
  TempDir tmp("top_information");
  write_run(tmp.path);
  Json grid = grid_json(1);
  for (Json& layer : grid["layers"]) {
    int r = 0;
    for (Json& region : layer["regions"]) region["information_null_bits"] = 0.06 * r++;
  }
  write(tmp.path / "analysis/epoch_001/grid.json", grid.dump(1));
  fs::remove(tmp.path / "analysis/epoch_001/zeta.json");
  const report::RunData run = report::load_run(tmp.str());
  const Json s = report::epoch_summary(run, 0, report::zeta_stability(run));
  ASSERT_EQ(s["top_regions_ranked_by"], "information_above_null");
  const Json& top = s["top_regions"];
  ASSERT_EQ(top.size(), 10u);
  // above the floor: 0.2 − 0.01 r in every layer; r = 0 of each layer (0.2) first, in layer order, then r = 1 …
  const std::vector<std::pair<std::string, int>> expected = {{"conv1", 0}, {"pool1", 0}, {"output", 0}, {"conv1", 1}, {"pool1", 1},
                                                             {"output", 1}, {"conv1", 2}, {"pool1", 2}, {"output", 2}, {"conv1", 3}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const LayerSpec& spec = *std::find_if(kLayers.begin(), kLayers.end(), [&](const LayerSpec& l) { return l.name == expected[i].first; });
    EXPECT_EQ(top[i]["layer"], expected[i].first) << i;
    EXPECT_EQ(top[i]["region"], spec.key(expected[i].second)) << i;
    EXPECT_NEAR(top[i]["information_above_null"].get<double>(), 0.2 - 0.01 * expected[i].second, 1e-9) << i;
  }
}

// The page's per-region flows (report.js's Region panel: "strongest in-flows"): at most 3 per region,
// the strongest first, as [region, value, …]; here every conv1 region sends to pool1's grid_1_1_1.
TEST(Report, PageDataListsTheThreeStrongestFlowsOfARegion) {
  TempDir tmp("flows");
  write_run(tmp.path);
  Json tract = tract_json();
  Json flows = Json::array();
  for (int r = 0; r < kLayers[0].count(); ++r) flows.push_back({kLayers[0].key(r), "grid_1_1_1", 1.0 + (r * 5) % 8});
  tract["pairs"]["layer_0_to_1"]["flows"] = flows;  // values 1, 6, 3, 8, 5, 2, 7, 4 from regions 0 … 7
  write(tmp.path / "analysis/epoch_002/tract.json", tract.dump(1));
  const Json data = Json::parse(report::page_data_text(report::load_run(tmp.str())));
  const Json& pool1 = data["epochs"][1]["layers"][1];
  EXPECT_EQ(pool1["in_from"], 0);
  EXPECT_EQ(pool1["in"][0], Json::array({3, 8.0, 6, 7.0, 1, 6.0}));
  for (size_t r = 1; r < pool1["in"].size(); ++r) EXPECT_EQ(pool1["in"][r], Json::array()) << r;
  const Json& conv1 = data["epochs"][1]["layers"][0];
  EXPECT_EQ(conv1["out_to"], 1);
  EXPECT_EQ(conv1["out"][3], Json::array({0, 8.0}));
}

// README ζ stability: Spearman of a layer's region ζ between consecutive analysed epochs, left out
// when the grids differ (a region of one grid is no region of the other, even with as many regions:
// conv1 2×2×2 at epoch 1, 1×2×4 at epoch 2), and `mean` averages the layers where it is defined.
TEST(Report, ZetaStabilityIsLeftOutWhereTheGridChangedAndTheMeanIsOverTheRest) {
  TempDir tmp("stability_regrid");
  write_run(tmp.path);
  std::vector<LayerSpec> regridded = kLayers;
  regridded[0].gh = 1, regridded[0].gc = 4;  // 8 regions, as before
  write(tmp.path / "analysis/epoch_002/grid.json", grid_json(2, regridded).dump(1));
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta_json(2, regridded).dump(1));
  fs::remove(tmp.path / "analysis/epoch_002/tract.json");  // keyed by the 2×2×2 grid
  const std::vector<report::StabilityStep> steps = report::zeta_stability(report::load_run(tmp.str()));
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_EQ(steps[0].layers.size(), 3u);
  EXPECT_FALSE(steps[0].layers[0]);  // conv1: another grid
  // pool1 and output: ζ moves by 0.1 at every region, the order stays: ρ = 1
  ASSERT_TRUE(steps[0].layers[1] && steps[0].layers[2]);
  EXPECT_NEAR(*steps[0].layers[1], 1, 1e-12);
  EXPECT_NEAR(*steps[0].layers[2], 1, 1e-12);
  ASSERT_TRUE(steps[0].mean);
  EXPECT_NEAR(*steps[0].mean, 1, 1e-12);  // over the 2 layers that have it
}

// README: best_test_acc is the first epoch of the highest test accuracy.
TEST(Report, BestTestAccuracyIsTheFirstEpochOfTheHighest) {
  TempDir tmp("best_tie");
  write_run(tmp.path);
  std::string metrics;
  const double acc[] = {0.3, 0.5, 0.5};
  for (int e = 1; e <= 3; ++e)
    metrics += Json({{"epoch", e}, {"train_loss", 1.0}, {"train_acc", 0.4}, {"test_loss", 1.1}, {"test_acc", acc[e - 1]}}).dump() + "\n";
  write(tmp.path / "metrics.jsonl", metrics);
  const report::RunData run = report::load_run(tmp.str());
  const Json s = report::run_summary(run, report::zeta_stability(run), {}, "");
  EXPECT_EQ(s["best_test_acc"]["epoch"], 2);
  EXPECT_DOUBLE_EQ(s["best_test_acc"]["test_acc"].get<double>(), 0.5);
  EXPECT_EQ(s["final"]["epoch"], 3);
}

// README summary.json: critical_chains are the 3 highest chain scores of tract.json's chains (a score
// is ≤ 0, closer to 0 stronger), highest first, whatever order tract.json lists them in.
TEST(Report, CriticalChainsAreTheThreeHighestScores) {
  TempDir tmp("chains");
  write_run(tmp.path);
  Json tract = tract_json();
  const Json chain = tract["network"]["chains"][0];
  Json chains = Json::array();
  for (const double score : {-3.0, -0.5, -2.0, -1.0, -4.0}) {
    Json c = chain;
    c["score"] = score;
    chains.push_back(c);
  }
  tract["network"]["chains"] = chains;
  write(tmp.path / "analysis/epoch_002/tract.json", tract.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const Json s = report::epoch_summary(run, 1, report::zeta_stability(run));
  ASSERT_EQ(s["critical_chains"].size(), 3u);
  EXPECT_DOUBLE_EQ(s["critical_chains"][0]["score"].get<double>(), -0.5);
  EXPECT_DOUBLE_EQ(s["critical_chains"][1]["score"].get<double>(), -1.0);
  EXPECT_DOUBLE_EQ(s["critical_chains"][2]["score"].get<double>(), -2.0);
}

// The page's confusion examples are the gallery's mistakes of both kinds: "mistake" (a class's worst)
// and "cell" (a confusion cell's further examples, README Error analysis); a correct image is none.
TEST(Report, ConfusionExamplesAreTheMistakesOfBothKinds) {
  TempDir tmp("cell_examples");
  Json grid = grid_json(7), zeta = zeta_json(7);
  grid["dataset"]["classes"] = {"cat", "dog", "bird"};
  Json gallery = Json::array();
  const char* kinds[] = {"confident", "confident", "mistake", "cell"};
  const int labels[] = {0, 1, 0, 0}, predicted[] = {0, 1, 1, 1};
  for (int i = 0; i < 4; ++i)
    gallery.push_back({{"slot", i}, {"index", 10 + i}, {"kind", kinds[i]}, {"label", labels[i]}, {"predicted", predicted[i]},
                       {"probability_true", i >= 2 ? 0.1 : 0.9}, {"pixels", std::vector<int>(48, 7 * i)}});
  zeta["errors"] = {{"shape", {3, 4, 4}}, {"gallery", gallery}, {"labels", labels}, {"predicted", predicted}};
  write_analysis(tmp.path, grid, zeta);
  const Json data = Json::parse(report::page_data_text(report::load_run(tmp.str())));
  const Json& examples = data["epochs"][0]["errors"]["examples"];
  ASSERT_EQ(examples.size(), 2u) << examples.dump();
  EXPECT_EQ(examples[0]["slot"], 2);
  EXPECT_EQ(examples[1]["slot"], 3);
  EXPECT_EQ(examples[1]["label"], 0);
  EXPECT_EQ(examples[1]["predicted"], 1);
}

// The page's pathway view draws each pair's 12 strongest listed flows (report.cpp kFlowsPerPair), the
// strongest first: pool1 → output here lists all 24 region pairs, value 1 + (7·f mod 24) for the f-th.
TEST(Report, PageDataListsTheTwelveStrongestFlowsOfAPair) {
  TempDir tmp("pair_flows");
  write_run(tmp.path);
  Json tract = tract_json();
  Json flows = Json::array();
  for (int f = 0; f < 24; ++f) flows.push_back({kLayers[1].key(f / 3), kLayers[2].key(f % 3), 1.0 + (7 * f) % 24});
  tract["pairs"]["layer_1_to_2"]["flows"] = flows;
  write(tmp.path / "analysis/epoch_002/tract.json", tract.dump(1));
  const Json data = Json::parse(report::page_data_text(report::load_run(tmp.str())));
  const Json& pair = data["epochs"][1]["pairs"][1];
  ASSERT_EQ(pair["key"], "layer_1_to_2");
  ASSERT_EQ(pair["top"].size(), 12u);
  for (size_t i = 0; i < 12; ++i) {  // values 24, 23, …, 13; value v is flow f with 7f ≡ v − 1 (mod 24), f = 7(v − 1) mod 24
    const int v = 24 - int(i), f = (7 * (v - 1)) % 24;
    EXPECT_EQ(pair["top"][i], Json::array({f / 3, f % 3, double(v)})) << i;
  }
}

// The page's receptive field of a layer is the newest epoch's (it follows the grid, which the
// newest grid.json gives every epoch's map).
TEST(Report, PageDataTakesTheNewestReceptiveField) {
  TempDir tmp("newest_rf");
  write_run(tmp.path);
  for (int e = 1; e <= 2; ++e) {
    Json grid = grid_json(e);
    grid["layers"]["conv1"]["receptive_field"] = {{"rows", {{0, 2 + e}, {1, 4}}}, {"cols", {{0, 3}, {e - 1, 4}}}};
    write(tmp.path / ("analysis/epoch_00" + std::to_string(e)) / "grid.json", grid.dump(1));
  }
  const Json data = Json::parse(report::page_data_text(report::load_run(tmp.str())));
  const Json& rf = data["layers"][0]["rf"];
  EXPECT_EQ(rf["rows"], Json::parse("[[0,4],[1,4]]"));
  EXPECT_EQ(rf["cols"], Json::parse("[[0,3],[1,4]]"));
  EXPECT_EQ(rf["grid"], Json::parse("[2,2]"));
}

// README summary.json: `missing` lists the stage files the run asked for at that epoch and lacks, not
// those --stages or --zeta-every left out: with analysis.stages [grid, zeta] and zeta_every 2, epoch 1
// lacks nothing (ζ is due at epoch 2, tract never), epoch 2 lacks zeta.json.
TEST(Report, MissingListsOnlyTheStagesTheRunAskedForAtThatEpoch) {
  TempDir tmp("missing_stages");
  write_run(tmp.path);
  Json config = read_json(tmp.path / "config.json");
  config["zeta_every"] = 2;
  config["analysis"] = {{"stages", {"grid", "zeta"}}};
  write(tmp.path / "config.json", config.dump(2));
  for (const char* file : {"epoch_001/zeta.json", "epoch_001/tract.json", "epoch_002/zeta.json", "epoch_002/tract.json"})
    fs::remove(tmp.path / "analysis" / file);
  const report::RunData run = report::load_run(tmp.str());
  const std::vector<report::StabilityStep> stability = report::zeta_stability(run);
  EXPECT_EQ(report::epoch_summary(run, 0, stability)["missing"], Json::array());
  EXPECT_EQ(report::epoch_summary(run, 1, stability)["missing"], Json::array({"zeta.json"}));
}

namespace {

// An SVG figure's elements in order, one a line (report/canvas.cpp): each <rect>'s fill and each
// <text>'s label, as ("rect", fill) and ("text", label).
std::vector<std::pair<std::string, std::string>> svg_elements(const std::string& svg) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines(svg);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("<rect ", 0) == 0 && line.find(" fill=\"#") != std::string::npos)
      out.emplace_back("rect", line.substr(line.find(" fill=\"#") + 7, 7));
    else if (line.rfind("<text ", 0) == 0)
      out.emplace_back("text", line.substr(line.find('>') + 1, line.find("</text>") - line.find('>') - 1));
  }
  return out;
}

}  // namespace

// README confusion.png: rows the true class, columns the predicted, counts in the cells, the shade the
// count's share of its row.  Labels 0 0 0 1, predicted 0 0 1 1: row 0 holds 2 (share 2/3) and 1 (1/3),
// row 1 holds 1 in column 1 (share 1).  Each count follows its cell's rect (canvas order).  A column is
// headed by its class name, at most 16 characters (a longer one cut to 15 and "…").
TEST(Report, ConfusionCellsAreTrueByPredictedShadedByTheirRowsShare) {
  TempDir tmp("confusion_cells");
  Json grid = grid_json(7), zeta = zeta_json(7);
  // class names of 16 characters (shown whole) and 17 (cut to 15 and "…" over its column)
  grid["dataset"]["classes"] = {"cat", "sixteen_chars_ok", "seventeen_chars_x"};
  zeta["errors"] = {{"labels", {0, 0, 0, 1}}, {"predicted", {0, 0, 1, 1}}};
  write_analysis(tmp.path, grid, zeta);
  const auto elements = svg_elements(svg_figure(tmp.path, "epoch_007/confusion"));
  std::multiset<std::string> texts;
  for (const auto& [kind, value] : elements)
    if (kind == "text") texts.insert(value);
  EXPECT_EQ(texts.count("sixteen_chars_ok"), 2u);   // its row and its column
  EXPECT_EQ(texts.count("seventeen_chars_x"), 1u);  // its row
  EXPECT_EQ(texts.count("seventeen_chars\u2026"), 1u);  // its column
  std::vector<std::pair<std::string, std::string>> counts;  // (count, fill of its cell)
  std::string fill;
  for (const auto& [kind, value] : elements)
    if (kind == "rect") fill = value;
    else if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) counts.emplace_back(value, fill);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"2", report::hex(report::sequential_color(2.0 / 3))}, {"1", report::hex(report::sequential_color(1.0 / 3))},
      {"1", report::hex(report::sequential_color(1.0))}};
  EXPECT_EQ(counts, expected);
}

// README: the output layer's tiles are headed by class name; a layer before it of as many 1×1 regions
// as there are classes (fc1 of 3 units, 3 classes) is headed by its channels.
TEST(Report, OnlyTheOutputLayersTilesAreHeadedByClass) {
  TempDir tmp("class_tiles");
  const std::vector<LayerSpec> specs = {{"conv1", 4, 4, 4, 2, 2, 2}, {"fc1", 1, 1, 3, 1, 1, 3}, {"output", 1, 1, 3, 1, 1, 3}};
  Json grid = grid_json(7, specs), zeta = zeta_json(7, specs);
  grid["dataset"]["classes"] = {"cat", "dog", "bird"};
  grid["dataset"]["spec"] = "cifar10:rel";
  grid["dataset"]["absolute_spec"] = "cifar10:/abs/rel";
  write_analysis(tmp.path, grid, zeta);
  svg_figure(tmp.path, "epoch_007/output_zeta");
  const auto labels = [&](const std::string& figure) {
    std::set<std::string> out;
    for (const auto& [kind, value] : svg_elements(base::read_file((tmp.path / "figures/epoch_007" / (figure + ".svg")).string())))
      if (kind == "text") out.insert(value);
    return out;
  };
  for (const char* figure : {"fc1_zeta", "fc1_density"}) {
    const std::set<std::string> fc1 = labels(figure);
    EXPECT_TRUE(fc1.count("ch 1") && fc1.count("ch 3")) << figure;
    EXPECT_FALSE(fc1.count("cat") || fc1.count("bird")) << figure;
  }
  const std::set<std::string> output = labels("output_zeta");
  EXPECT_TRUE(output.count("cat") && output.count("dog") && output.count("bird"));
  EXPECT_FALSE(output.count("ch 1"));
}

// README: the ζ map is RdBu centred on 0 over ±max|ζ| of the layer, so the most negative ζ sets the
// scale when it is the largest in size: conv1's ζ −3 + 0.5 r (r = 0 … 7) are drawn at ζ/3, the
// largest (0.5) a pale red, not the scale's end.  The cells follow the tiles' frames (canvas order).
TEST(Report, ZetaMapScaleIsTheLargestAbsoluteZeta) {
  TempDir tmp("zeta_scale");
  Json grid = grid_json(7), zeta = zeta_json(7);
  int r = 0;
  for (Json& region : zeta["layers"]["conv1"]["regions"]) {
    const double z = -3 + 0.5 * r++;
    region["zeta_score"] = z, region["confidence_interval"] = {z - 0.5, z + 0.5}, region["significance"] = false;
  }
  zeta["layers"]["conv1"]["critical_regions"] = Json::array();
  zeta["layers"]["conv1"]["critical_share"] = 0.0;
  write_analysis(tmp.path, grid, zeta);
  const auto elements = svg_elements(svg_figure(tmp.path, "epoch_007/conv1_zeta"));
  std::vector<std::string> fills;
  for (const auto& [kind, value] : elements)
    if (kind == "rect") fills.push_back(value);
  const std::string frame = report::hex(report::Rgb{185, 185, 185});
  const size_t first_frame = size_t(std::find(fills.begin(), fills.end(), frame) - fills.begin());
  ASSERT_LT(first_frame + 2 + 8, fills.size());
  EXPECT_EQ(fills[first_frame + 1], frame);  // the 2 channel blocks' frames, then the 8 cells
  for (int c = 0; c < 8; ++c) EXPECT_EQ(fills[first_frame + 2 + size_t(c)], report::hex(report::diverging_color((-3 + 0.5 * c) / 3))) << c;
}

// metrics.jsonl may hold an epoch twice (a run resumed from an earlier checkpoint writes it again):
// the last line wins (report_data.h), in the summary's final and best metrics and the epoch's own.
TEST(Report, AnEpochsLastMetricsLineWins) {
  TempDir tmp("metrics_twice");
  write_run(tmp.path);
  std::string metrics;
  const double acc[] = {0.3, 0.6, 0.4, 0.2};
  const int epochs[] = {1, 2, 2, 3};  // epoch 2 again, the second time 0.4
  for (int i = 0; i < 4; ++i)
    metrics += Json({{"epoch", epochs[i]}, {"train_loss", 1.0}, {"train_acc", 0.4}, {"test_loss", 1.0 + i}, {"test_acc", acc[i]}}).dump() + "\n";
  write(tmp.path / "metrics.jsonl", metrics);
  const report::RunData run = report::load_run(tmp.str());
  ASSERT_EQ(run.metrics.size(), 3u);
  EXPECT_DOUBLE_EQ(run.metrics[1].test_acc, 0.4);
  const Json s = report::run_summary(run, report::zeta_stability(run), {}, "");
  EXPECT_EQ(s["best_test_acc"]["epoch"], 2);
  EXPECT_DOUBLE_EQ(s["best_test_acc"]["test_acc"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(s["test_loss"].get<double>(), 3.0);  // epoch 2's summary: its second line
}

// README: the epoch axis labels the multiples of the smallest step of 1, 2, 5, 10, 20, 50, … whose
// labels fit side by side: for epochs 1 … 80 on training.png's 820 units that is 5 (2 gives 40 labels,
// more than fit; 5 gives 16), so 5, 10, …, 80 and not 4, 8, ….
TEST(Report, EpochAxisStepsAreOneTwoFiveTimesAPowerOfTen) {
  TempDir tmp("epoch_steps");
  std::string metrics;
  for (int e = 1; e <= 80; ++e)
    metrics += Json({{"epoch", e}, {"train_loss", 1.0}, {"train_acc", 0.5}, {"test_loss", 1.0}, {"test_acc", 0.5}}).dump() + "\n";
  write(tmp.path / "metrics.jsonl", metrics);
  std::set<std::string> labels;
  for (const SvgText& t : svg_texts(svg_figure(tmp.path, "training"))) labels.insert(t.label);
  for (int e = 5; e <= 80; e += 5) EXPECT_TRUE(labels.count(std::to_string(e))) << e;
  for (const char* e : {"4", "8", "12", "76"}) EXPECT_FALSE(labels.count(e)) << e;
}

// README pathways.png: more than 10 layers wrap into even bands of at most 10 columns: 21 layers make
// 3 bands of 7 (not 10, 10 and 1), so the 8th layer heads the second band, under the first.
TEST(Report, PathwayBandsAreEven) {
  TempDir tmp("even_bands");
  std::vector<LayerSpec> specs;
  for (int l = 0; l < 21; ++l) specs.push_back({"block" + std::to_string(l + 1) + "_conv", 2, 2, 4, 2, 2, 2});
  Json pairs = Json::object();
  for (int l = 0; l + 1 < 21; ++l)
    pairs["layer_" + std::to_string(l) + "_to_" + std::to_string(l + 1)] = {
        {"from", specs[size_t(l)].name}, {"to", specs[size_t(l) + 1].name}, {"connection_strength", 1.0 + l}};
  write(tmp.path / "grid.json", grid_json(1, specs).dump(1));
  write(tmp.path / "tract.json", Json({{"epoch", 1}, {"model", "tiny"}, {"pairs", pairs}, {"network", {{"path_strength", 1.0}}}}).dump(1));
  std::map<std::string, SvgText> names;
  for (const SvgText& t : svg_texts(svg_figure(tmp.path, "epoch_001/pathways"))) names[t.label] = t;
  for (int l = 1; l <= 21; ++l) ASSERT_TRUE(names.count("block" + std::to_string(l) + "_conv")) << l;
  const SvgText &first = names["block1_conv"], &seventh = names["block7_conv"], &eighth = names["block8_conv"],
                &fifteenth = names["block15_conv"];
  EXPECT_EQ(seventh.y, first.y);
  EXPECT_EQ(eighth.x, first.x);  // the second band's first column
  EXPECT_GT(eighth.y, first.y);
  EXPECT_EQ(fifteenth.x, first.x);
  EXPECT_GT(fifteenth.y, eighth.y);
}

// A region key one row past the layer's grid (grid_3_1_1 of a 2×2×2 grid) is no region of it: one
// error naming the file and pointer (it indexed past the layer's regions).
TEST(Report, ARegionKeyPastTheGridIsOneError) {
  TempDir tmp("key_past_grid");
  write_run(tmp.path);
  for (const char* key : {"grid_3_1_1", "grid_1_3_1", "grid_1_1_3"}) {
    Json grid = grid_json(2);
    grid["layers"]["conv1"]["dead_regions"] = {key};
    write(tmp.path / "analysis/epoch_002/grid.json", grid.dump(1));
    expect_error_naming([&] { report::load_run(tmp.str()); },
                        "grid.json: /layers/conv1/dead_regions/0: expected a region of conv1's 2x2x2 grid (grid_1_1_1 ... grid_2_2_2)");
  }
}

// report_data.h: a layer's region grid, for an epoch without grid.json, comes from the newest
// grid.json that has the layer: conv1 2×2×2 at epoch 1, 1×2×4 at epoch 2, and epoch 3's zeta.json
// (no grid.json) is keyed by the 1×2×4 grid.
TEST(Report, AnEpochWithoutGridJsonTakesTheNewestGrid) {
  TempDir tmp("newest_grid");
  write_run(tmp.path);
  std::vector<LayerSpec> regridded = kLayers;
  regridded[0].gh = 1, regridded[0].gc = 4;
  write(tmp.path / "analysis/epoch_002/grid.json", grid_json(2, regridded).dump(1));
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta_json(2, regridded).dump(1));
  fs::remove(tmp.path / "analysis/epoch_002/tract.json");  // keyed by the 2×2×2 grid
  write(tmp.path / "analysis/epoch_003/zeta.json", zeta_json(3, regridded).dump(1));
  const report::RunData run = report::load_run(tmp.str());
  ASSERT_EQ(run.epochs.size(), 3u);
  const run::RegionGrid& g = run.epochs[2].layers[0].grid;
  EXPECT_EQ(std::make_tuple(g.gh, g.gw, g.gc), std::make_tuple(1, 2, 4));
  EXPECT_TRUE(run.epochs[2].layers[0].shape_known);
  EXPECT_DOUBLE_EQ(run.epochs[2].layers[0].zeta[size_t(g.index(0, 1, 3))].zeta, synthetic_zeta(3, 0, 7, 8));
}

// README: the report takes the images (the mean test image and examples) from the newest grid.json
// that has them.
TEST(Report, ImagesComeFromTheNewestGridJsonThatHasThem) {
  TempDir tmp("newest_images");
  write_run(tmp.path);
  for (int e = 1; e <= 2; ++e) {
    Json grid = grid_json(e);
    grid["images"] = {{"shape", {1, 2, 2}}, {"mean", nullptr},
                      {"examples", {{{"index", 10 * e}, {"label", e}, {"pixels", {e, e, e, e}}}}}};
    write(tmp.path / ("analysis/epoch_00" + std::to_string(e)) / "grid.json", grid.dump(1));
  }
  Json grid3 = grid_json(3);  // a newer grid.json without images
  write(tmp.path / "analysis/epoch_003/grid.json", grid3.dump(1));
  const Json data = Json::parse(report::page_data_text(report::load_run(tmp.str())));
  ASSERT_EQ(data["images"]["examples"].size(), 1u);
  EXPECT_EQ(data["images"]["examples"][0]["index"], 20);
  EXPECT_EQ(data["images"]["examples"][0]["pixels"], Json::array({2, 2, 2, 2}));
}

// README: a critical_share other than the share of the layer's regions critical_regions lists, within
// 10⁻⁹, is one error (conv1 lists 1 of its 8 regions at epoch 2: 0.125).
TEST(Report, CriticalShareIsTheListedShareWithinOneInABillion) {
  TempDir tmp("share_tolerance");
  write_run(tmp.path);
  for (const double off : {1e-12, 1e-6}) {
    Json zeta = zeta_json(2);
    ASSERT_EQ(zeta["layers"]["conv1"]["critical_regions"].size(), 1u);
    zeta["layers"]["conv1"]["critical_share"] = 0.125 + off;
    write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump(1));
    if (off < 1e-9)
      EXPECT_EQ(report::load_run(tmp.str()).epochs[1].layers[0].critical.size(), 1u);
    else
      expect_error_naming([&] { report::load_run(tmp.str()); }, "zeta.json: /layers/conv1/critical_share: is 0.125001, expected 0.125");
  }
}

// README Cross-modal consistency, EEG state: dead → dead, unstable and diverged → unstable, learning
// and plateau → ok, warming_up leaves the item out.  The planted run (EegConsistencyOnAPlantedRun) with
// pool1 `diverged` at epoch 2 and conv1 `warming_up` at epoch 1: the 5 items (EEG, spatial) are
// (ok, ok) ×2 at epoch 1, (unstable, unstable), (unstable, ok), (dead, dead) at epoch 2, so
// κ = (5·4 − (2·3 + 2·1 + 1·1)) / (25 − 9) = 11/16.
TEST(Report, EegStatesMapDivergedToUnstableAndLeaveWarmingUpOut) {
  TempDir tmp("eeg_states");
  write_run(tmp.path);
  Json zeta = zeta_json(2);
  for (Json& region : zeta["layers"]["output"]["regions"])
    region["confidence_interval"] = {region["zeta_score"].get<double>() - 5, region["zeta_score"].get<double>() + 5};
  write(tmp.path / "analysis/epoch_002/zeta.json", zeta.dump(1));
  Json e1 = eeg_json(1), e2 = eeg_json(2);
  e1["blocks"]["conv1"]["state"] = "warming_up";
  e2["blocks"]["pool1"]["state"] = "diverged";
  write(tmp.path / "eeg/epoch_001.json", e1.dump(1));
  write(tmp.path / "eeg/epoch_002.json", e2.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const std::vector<Json> docs = report::eeg_epoch_documents(run, report::load_eeg(tmp.str()));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1]["blocks"]["pool1"]["spatial_state"], "ok");
  const Json& kappa = docs[1]["consistency"]["kappa"];
  EXPECT_EQ(kappa["items"], 5);
  EXPECT_NEAR(kappa["value"].get<double>(), 11.0 / 16, 1e-4);
}

// README Cross-modal consistency, the spatial side at its boundaries (epoch 1 → 2):
//  - conv1: every ζ interval at epoch 2 includes 0 but one, which is below 0: not `dead` (an
//    interval excluding 0 on either side), `unstable` (its ζ order reverses);
//  - pool1: coverage 0.875 → 0.4375, exactly half: `dead` (at most half);
//  - output: ζ 10, 11, 12 → 11, 10, 12, Spearman exactly 0.5 = τ: no jump (below τ), `ok`; coverage
//    0.334 → 0.234, a drop of exactly 0.1 (in doubles too): a spatial anomaly (≥ 0.1);
//  - an event of pool1 in epoch 1 counts at epoch 1, not at epoch 2 (events in (e_prev, e]).
TEST(Report, EegSpatialStatesAndAnomaliesAtTheirBoundaries) {
  TempDir tmp("eeg_boundaries");
  write_run(tmp.path);
  Json g1 = grid_json(1), g2 = grid_json(2);
  g1["layers"]["pool1"]["coverage"] = 0.875, g2["layers"]["pool1"]["coverage"] = 0.4375;
  g1["layers"]["output"]["coverage"] = 0.334, g2["layers"]["output"]["coverage"] = 0.234;
  ASSERT_EQ(0.334 - 0.234, report::kCoverageDrop);
  write(tmp.path / "analysis/epoch_001/grid.json", g1.dump(1));
  write(tmp.path / "analysis/epoch_002/grid.json", g2.dump(1));
  for (int e = 1; e <= 2; ++e) {
    Json zeta = zeta_json(e);
    const double output[2][3] = {{10, 11, 12}, {11, 10, 12}};
    int r = 0;
    for (Json& region : zeta["layers"]["output"]["regions"]) {
      const double z = output[e - 1][r++];
      region["zeta_score"] = z, region["confidence_interval"] = {z - 0.5, z + 0.5}, region["significance"] = false;
    }
    zeta["layers"]["output"]["critical_regions"] = Json::array();
    zeta["layers"]["output"]["critical_share"] = 0.0;
    if (e == 2) {
      r = 0;
      for (Json& region : zeta["layers"]["conv1"]["regions"]) {
        const double z = region["zeta_score"].get<double>();
        region["confidence_interval"] = r++ == 7 ? Json::array({-1.5, -0.25}) : Json::array({z - 10, z + 10});
        region["significance"] = false;
      }
      zeta["layers"]["conv1"]["critical_regions"] = Json::array();
      zeta["layers"]["conv1"]["critical_share"] = 0.0;
    }
    write(tmp.path / ("analysis/epoch_00" + std::to_string(e)) / "zeta.json", zeta.dump(1));
  }
  Json e1 = eeg_json(1);
  e1["events"] = {{{"step", 5}, {"block", "pool1"}, {"region", ""}, {"channel", "activity"}, {"z", 8.0}}};
  write(tmp.path / "eeg/epoch_001.json", e1.dump(1));
  write(tmp.path / "eeg/epoch_002.json", eeg_json(2).dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const std::vector<Json> docs = report::eeg_epoch_documents(run, report::load_eeg(tmp.str()));
  ASSERT_EQ(docs.size(), 2u);
  const Json& b = docs[1]["blocks"];
  EXPECT_EQ(b["conv1"]["spatial_state"], "unstable");
  EXPECT_EQ(b["pool1"]["spatial_state"], "dead");
  EXPECT_DOUBLE_EQ(b["output"]["zeta_stability"].get<double>(), 0.5);
  EXPECT_EQ(b["output"]["spatial_state"], "ok");
  EXPECT_EQ(b["output"]["spatial_anomaly"], true);
  EXPECT_EQ(docs[0]["blocks"]["pool1"]["events"], 1);
  EXPECT_EQ(b["pool1"]["events"], 0);
  EXPECT_EQ(docs[1]["since_epoch"], 1);
}

// README Cross-modal consistency, ρ_γζ layer form: one point per (block, analysed epoch ≤ e), x the
// relative γ power of the block's activity, y the largest ζ of its regions (not the largest |ζ|: pool1's
// −9 at epoch 1 is no maximum).  At epoch 2: x = 0.11, 0.12, 0.21, 0.22, 0.31, 0.32 (conv1, pool1,
// output at epochs 1 and 2), y = 2, 2, 2.08, 2.18, 2.42, 2.52: ranks 1 … 6 against 1.5, 1.5, 3, 4, 5, 6,
// ρ = 17 / √(17.5 · 17).
TEST(Report, EegLayerFormIsActivityGammaAgainstTheLargestZeta) {
  TempDir tmp("eeg_layer_form");
  write_run(tmp.path);
  Json zeta = zeta_json(1);
  zeta["layers"]["pool1"]["regions"]["grid_1_1_1"]["zeta_score"] = -9.0;
  zeta["layers"]["pool1"]["regions"]["grid_1_1_1"]["confidence_interval"] = {-9.5, -8.5};
  write(tmp.path / "analysis/epoch_001/zeta.json", zeta.dump(1));
  for (int e = 1; e <= 2; ++e) write(tmp.path / "eeg" / ("epoch_00" + std::to_string(e) + ".json"), eeg_json(e).dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const std::vector<Json> docs = report::eeg_epoch_documents(run, report::load_eeg(tmp.str()));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_DOUBLE_EQ(docs[0]["blocks"]["pool1"]["max_zeta"].get<double>(), report::significant(synthetic_zeta(1, 1, 4)));
  const Json& layer = docs[1]["consistency"]["rho_gamma_zeta_layer"];
  EXPECT_EQ(layer["items"], 6);
  EXPECT_NEAR(layer["value"].get<double>(), 17 / std::sqrt(17.5 * 17), 1e-4);
}

// An epoch whose NN-EEG file has no spectra ("span": null, fewer steps than the window) gives no
// region-form items: its γ values are not a spectrum of the epoch.
TEST(Report, EegRegionFormNeedsTheEpochsSpectra) {
  TempDir tmp("eeg_no_span");
  write_run(tmp.path);
  Json e2 = eeg_json(2);
  e2["span"] = nullptr;
  write(tmp.path / "eeg/epoch_002.json", e2.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const std::vector<Json> docs = report::eeg_epoch_documents(run, report::load_eeg(tmp.str()));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1]["spectra"], false);
  EXPECT_EQ(docs[1]["consistency"]["rho_gamma_zeta"]["items"], 0);
  EXPECT_TRUE(docs[1]["consistency"]["rho_gamma_zeta"]["value"].is_null());
  EXPECT_TRUE(docs[1]["blocks"]["conv1"]["rho_gamma_zeta"].is_null());
}

// The page's NN-EEG lanes without per-step rows: a block's activity at an epoch is the mean over its
// regions of their epoch-mean |a| (conv1's 0, 0.1, …, 0.7: 0.35).
TEST(Report, EegPageActivityIsTheMeanOverTheBlocksRegions) {
  TempDir tmp("eeg_activity");
  write_run(tmp.path);
  Json e1 = eeg_json(1);
  int r = 0;
  for (Json& region : e1["blocks"]["conv1"]["regions"]) region["mean_activity"] = 0.1 * r++;
  write(tmp.path / "eeg/epoch_001.json", e1.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const Json page = report::eeg_page_data(run, report::load_eeg(tmp.str()), {});
  ASSERT_EQ(page["blocks"][0], "conv1");
  EXPECT_DOUBLE_EQ(page["epochs"][0]["activity"][0].get<double>(), 0.35);
  EXPECT_DOUBLE_EQ(page["epochs"][0]["activity"][1].get<double>(), 0.5);
}

// report_eeg.h eeg_page_data: the page lists at most 200 events of an epoch, the file's first, and
// says how many it has.
TEST(Report, EegPageListsAtMost200EventsOfAnEpoch) {
  TempDir tmp("eeg_events");
  write_run(tmp.path);
  Json e1 = eeg_json(1);
  Json events = Json::array();
  for (int i = 0; i < 250; ++i)
    events.push_back({{"step", 1 + i % 10}, {"block", "conv1"}, {"region", ""}, {"channel", "activity"}, {"z", 5.0 + i}});
  e1["events"] = events;
  write(tmp.path / "eeg/epoch_001.json", e1.dump(1));
  const report::RunData run = report::load_run(tmp.str());
  const Json page = report::eeg_page_data(run, report::load_eeg(tmp.str()), {});
  const Json& epoch = page["epochs"][0];
  ASSERT_EQ(epoch["events"].size(), 200u);
  EXPECT_EQ(epoch["events_total"], 250);
  EXPECT_DOUBLE_EQ(epoch["events"][199][3].get<double>(), 204.0);  // the 200th event's z
}
