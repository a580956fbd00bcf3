// tests/apps/test_monitor_command.cpp — `nnfmri corrupt`, `profile` and `monitor` through the commands
// themselves: corrupt writes the squares it records, monitor writes one line per image and one per
// full window, the same bytes twice, and monitor.html; a profile for another checkpoint is refused
// before anything is written.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "base/fileio.h"
#include "base/json.h"
#include "datasets/cifar10.h"
#include "datasets/corrupt.h"
#include "imaging/monitor.h"
#include "nn/checkpoint.h"
#include "nn/rng.h"
#include "tests/command_data.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

int run(int (*command)(int, char**), std::vector<std::string> args) { return run_command(command, std::move(args)); }

class MonitorCommand : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const datasets::DataSplit split = write_random_cifar10(path("data"), 200, 120, 5, 60, 120);
    const std::string spec = "conv3x3:4 relu maxpool2 linear:8 relu linear:10";
    write_initialised_checkpoint(path("a.ckpt"), spec, 2, split.train.class_names);
    write_initialised_checkpoint(path("b.ckpt"), spec, 3, split.train.class_names);
  }
  // cifar10:late: the data folder whose test record 40 has label 77, which the stream refuses there.
  std::string data_with_a_bad_label_at_record_40() {
    std::filesystem::create_directories(path("late"));
    for (const char* name : {"data_batch_1.bin", "batches.meta.txt"})
      std::filesystem::copy_file(path("data/") + name, path("late/") + name);
    std::string test = base::read_file(path("data/test_batch.bin"));
    test[40 * 3073] = char(77);  // record 40's label
    base::write_file_atomic(path("late/test_batch.bin"), test);
    return "cifar10:" + path("late");
  }
};

// An --out where a file stands was "afile: is not a directory" (the path, not the flag), and analyze and
// corrupt said it only after reading the data.  Each output directory flag now names itself, before the work,
// and the file is left as it was.
TEST_F(MonitorCommand, AnOutputDirectoryFlagOnAFileNamesTheFlag) {
  base::write_file_atomic(path("afile"), "x");
  const std::string data = "cifar10:" + path("data"), out = path("afile");
  expect_error_naming([&] { run(app::cmd_corrupt, {"--data", data, "--kind", "noise", "--out", out}); },
                      "flag --out " + out + ": not a directory, expected a directory for the corrupted CIFAR-10 files");
  expect_error_naming([&] { run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("none.profile"), "--input", data, "--out", out}); },
                      "flag --out " + out + ": not a directory, expected a directory for monitor.jsonl and monitor.html");
  expect_error_naming([&] { run(app::cmd_analyze, {path("a.ckpt"), "--data", data, "--stages", "grid", "--eval-samples", "8", "--out", out}); },
                      "flag --out " + out + ": not a directory, expected a directory for the analysis files");
  EXPECT_EQ(base::read_file(out), "x");
}

TEST_F(MonitorCommand, CorruptProfileMonitor) {
  ASSERT_EQ(run(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "occlusion", "--severity", "2",
                                   "--out", path("occluded")}), 0);
  const nlohmann::json record = nlohmann::json::parse(base::read_file(path("occluded/corruption.json")));
  const datasets::DataSplit occluded = datasets::load_cifar10(path("occluded"));
  ASSERT_EQ(record["occlusions"]["test"].size(), 120u);
  for (size_t i = 0; i < 120; ++i) {
    const auto& square = record["occlusions"]["test"][i];
    const int y = square[0], x = square[1], side = square[2];
    ASSERT_EQ(side, 8);
    for (int c = 0; c < 3; ++c) ASSERT_EQ(occluded.test.pixels[i * 3072 + (size_t(c) * 32 + y + 3) * 32 + x + 5], 0);
  }
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100",
                                   "--spatial-bank", "50", "--threads", "1", "--out", path("a.profile")}), 0);
  for (const std::string out : {"m1", "m2"})
    ASSERT_EQ(run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("occluded"),
                                     "--window", "50", "--batch", "32", "--threads", "1", "--out", path(out)}), 0);
  const std::string lines = base::read_file(path("m1/monitor.jsonl"));
  EXPECT_EQ(lines, base::read_file(path("m2/monitor.jsonl")));  // same inputs, same threads: same bytes
  std::istringstream in(lines);
  int images = 0, windows = 0;
  std::map<std::string, double> sums;  // each score's sum over the images since the last window line
  int summed = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json row = nlohmann::json::parse(line);
    // Each line is exactly the project's JSON writer's text of its own content (the image lines are
    // joined from fragments written by it: apps/cmd_monitor.cpp, image_line), keys in their order.
    EXPECT_EQ(base::json_text(base::Json::parse(line), -1), line) << "line " << images + windows;
    if (row.contains("window")) {
      ++windows;
      // windows numbered from 0, as README's {"window": 3, "first": 300} of --window 100; mean_scores the means
      // over the window's own images (those since the previous window line)
      EXPECT_EQ(row["window"], windows - 1);
      EXPECT_EQ(row["first"], 50 * (windows - 1));
      EXPECT_EQ(row["images"], 50);
      EXPECT_EQ(summed, 50);
      EXPECT_EQ(row["mean_scores"].size(), sums.size());
      for (const auto& [score, sum] : sums) {
        const double mean = row["mean_scores"][score].get<double>();
        EXPECT_NEAR(mean, sum / summed, 1e-5 * std::max(1.0, std::abs(mean))) << "window " << windows - 1 << " " << score;
      }
      sums.clear(), summed = 0;
    } else {
      for (const auto& [score, value] : row["scores"].items()) sums[score] += value.get<double>();
      ++summed;
      EXPECT_EQ(row["image"], images++);
      EXPECT_FALSE(row.contains("file")) << "a CIFAR-10 record has no file of its own";
      EXPECT_EQ(row["top_regions"].size(), 5u);
      // A region's box is its receptive field on the input, padding clipped (README "Monitoring"):
      // the default 8×8 grid cuts conv1 (32×32, conv3x3 pad 1) into 4-row cells, read through the
      // 3×3 window one row beyond each side; pool1 (16×16) into 2-row cells, whose 2×2 windows read
      // the same 4 conv1 rows.  Both: [4(i−1) − 1, 4i + 1) clipped to [0, 32).  The proportional box
      // [4(i−1), 4i) fails.
      for (const char* layer : {"conv1", "pool1"}) {
        const nlohmann::json& top = row["layer_top"][layer];
        int i = 0, j = 0, k = 0;
        ASSERT_EQ(std::sscanf(top["region"].get<std::string>().c_str(), "grid_%d_%d_%d", &i, &j, &k), 3);
        const auto span = [](int cell) {
          return std::array<int, 2>{std::max(0, (cell - 1) * 4 - 1), std::min(32, cell * 4 + 1)};
        };
        const std::array<int, 2> rows = span(i), cols = span(j);
        EXPECT_EQ(top["box"], nlohmann::json({rows[0], cols[0], rows[1], cols[1]})) << layer << " " << top["region"];
      }
      for (const char* score : {"spatial", "spatial_cov", "spatial_typ", "spatial_knn", "msp", "energy", "mahalanobis", "knn"}) EXPECT_TRUE(row["scores"].contains(score));
    }
  }
  EXPECT_EQ(images, 120);
  EXPECT_EQ(windows, 2);  // 120 images: two full windows of 50
  // The summary line counts in words that agree with the number (not "1 full windows", "(1 threads)").
  testing::internal::CaptureStdout();
  const int rc = run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("occluded"),
                                        "--window", "100", "--threads", "1", "--out", path("m_said")});
  std::fflush(stdout);
  const std::string said = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(said.rfind("monitor: 120 images, 1 full window of 100, ", 0), 0u) << said;
  EXPECT_NE(said.find(" images/s (1 thread); wrote "), std::string::npos) << said;
  // monitor.html: the default score spatial_typ comes first, and the page's images are the 8 with the
  // largest spatial_typ (the decision rule of README "Monitoring"; spatial ranks these images otherwise).
  const std::string html = base::read_file(path("m1/monitor.html"));
  const std::string open = "id=\"monitor-data\">";
  const size_t begin = html.find(open);
  ASSERT_NE(begin, std::string::npos);
  const size_t end = html.find("</script>", begin);
  const nlohmann::json page = nlohmann::json::parse(html.substr(begin + open.size(), end - begin - open.size()));
  EXPECT_EQ(page["detectors"][0], "spatial_typ");
  std::vector<std::pair<double, int>> typ;  // (spatial_typ, image) of every image line
  std::istringstream again(lines);
  for (std::string line; std::getline(again, line);) {
    const nlohmann::json row = nlohmann::json::parse(line);
    if (!row.contains("window")) typ.push_back({row["scores"]["spatial_typ"].get<double>(), row["image"].get<int>()});
  }
  std::sort(typ.begin(), typ.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  ASSERT_EQ(page["selected"].size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(page["selected"][k]["image"], typ[k].second) << "selected image " << k;
    EXPECT_EQ(page["selected"][k]["spatial_typ"].get<double>(), typ[k].first) << "selected image " << k;
  }
  // The profile of a.ckpt refused for b.ckpt, nothing written.
  expect_error_naming([&] {
    run(app::cmd_monitor, {path("b.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("data"), "--out", path("m3")});
  }, "made for the checkpoint");
  EXPECT_FALSE(std::filesystem::exists(path("m3")));
}

// A stream far from the fitted data (pixels in [0, 40) against [60, 180)) alarms in every window: each ALARM line
// names the window, its first and last image (first + images − 1) and its most drifting region as the window's line
// in monitor.jsonl has them.
TEST_F(MonitorCommand, AnAlarmLineNamesTheWindowAndItsImagesAsTheJsonLineDoes) {
  write_random_cifar10(path("dark"), 20, 120, 9, 0, 40);
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  testing::internal::CaptureStdout();
  const int rc = run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("dark"),
                                        "--window", "40", "--batch", "32", "--threads", "1", "--out", path("m")});
  std::fflush(stdout);
  const std::string said = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0) << said;
  std::vector<std::string> expected;
  std::istringstream lines(base::read_file(path("m/monitor.jsonl")));
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json row = nlohmann::json::parse(line);
    if (!row.contains("window") || !row["alarm"].get<bool>()) continue;
    const long first = row["first"], images = row["images"];
    const nlohmann::json& most = row["top_regions"][0];
    char text[300];
    std::snprintf(text, sizeof text, "monitor: ALARM window %ld (images %ld-%ld): %d of %d regions drift (BH-adjusted p < 0.01); most: %s %s, KS distance %.3f",
                  row["window"].get<long>(), first, first + images - 1, row["regions_drifting"].get<int>(),
                  row["regions_tested"].get<int>(), most["layer"].get<std::string>().c_str(),
                  most["region"].get<std::string>().c_str(), most["ks_distance"].get<double>());
    expected.push_back(text);
  }
  ASSERT_EQ(expected.size(), 3u) << "every window of the dark stream alarms: " << said;
  std::vector<std::string> alarms;
  std::istringstream out(said);
  for (std::string line; std::getline(out, line);)
    if (line.rfind("monitor: ALARM", 0) == 0) alarms.push_back(line);
  EXPECT_EQ(alarms, expected);
  EXPECT_EQ(expected[0].rfind("monitor: ALARM window 0 (images 0-39): ", 0), 0u) << expected[0];
}

// corrupt: image i of the training half draws from Rng::derive(seed, 0, i), of the test half from derive(seed, 1, i)
// (README): the files hold what datasets::corrupt_dataset makes of each half with its own split number.
TEST_F(MonitorCommand, CorruptDrawsTheTrainingHalfFromSplit0AndTheTestHalfFromSplit1) {
  ASSERT_EQ(run(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "noise", "--seed", "7", "--out", path("noisy")}), 0);
  datasets::DataSplit expected = datasets::load_cifar10(path("data"));
  datasets::corrupt_dataset(expected.train, datasets::CorruptionKind::noise, 3, 7, 0);
  datasets::corrupt_dataset(expected.test, datasets::CorruptionKind::noise, 3, 7, 1);
  const datasets::DataSplit written = datasets::load_cifar10(path("noisy"));
  EXPECT_TRUE(written.train.pixels == expected.train.pixels) << "the training half";
  EXPECT_TRUE(written.test.pixels == expected.test.pixels) << "the test half";
  EXPECT_FALSE(written.train.pixels == datasets::load_cifar10(path("data")).train.pixels) << "noise changed nothing";
}

// What stands at DIR/monitor.html (a directory) is refused before the stream, not after every image was
// scored: the input's record 40 has a label the stream would refuse, and the error is the page's.
TEST_F(MonitorCommand, ADirectoryAtThePageIsRefusedBeforeTheStream) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  const std::string late = data_with_a_bad_label_at_record_40();
  std::filesystem::create_directories(path("m/monitor.html"));
  expect_error_naming([&] {
    run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", late, "--batch", "32",
                           "--threads", "1", "--out", path("m")});
  }, "m/monitor.html: is a directory");
  EXPECT_FALSE(std::filesystem::exists(path("m/monitor.jsonl")));
}

// A stream that fails half-way (record 40's label) leaves no earlier run's monitor.jsonl or monitor.html
// in DIR to be read as this input's: both are removed once the checks that need no image have passed.
TEST_F(MonitorCommand, AStreamThatFailsHalfWayLeavesNoEarlierOutput) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  ASSERT_EQ(run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("data"),
                                   "--batch", "32", "--threads", "1", "--out", path("m")}), 0);
  ASSERT_TRUE(std::filesystem::exists(path("m/monitor.jsonl")));
  ASSERT_TRUE(std::filesystem::exists(path("m/monitor.html")));
  const std::string late = data_with_a_bad_label_at_record_40();
  expect_error_naming([&] {
    run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", late, "--batch", "32",
                           "--threads", "1", "--out", path("m")});
  }, "record 40 has label 77");
  EXPECT_FALSE(std::filesystem::exists(path("m/monitor.jsonl")));
  EXPECT_FALSE(std::filesystem::exists(path("m/monitor.html")));
  // A run refused before any image (the profile of another checkpoint) leaves the earlier output as it was.
  ASSERT_EQ(run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("data"),
                                   "--batch", "32", "--threads", "1", "--out", path("m")}), 0);
  const std::string before = base::read_file(path("m/monitor.jsonl"));
  expect_error_naming([&] {
    run(app::cmd_monitor, {path("b.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("data"), "--out", path("m")});
  }, "made for the checkpoint");
  EXPECT_EQ(base::read_file(path("m/monitor.jsonl")), before);
  EXPECT_TRUE(std::filesystem::exists(path("m/monitor.html")));
}

// Two monitors on one --out (an hourly job overrunning into the next) could leave one's monitor.jsonl beside
// the other's monitor.html; now the second is refused while the first holds DIR's lock, touching nothing.
TEST_F(MonitorCommand, ADirectoryAnotherMonitorHoldsIsRefusedAndLeftAsItIs) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  const std::vector<std::string> args = {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("data"),
                                         "--batch", "32", "--threads", "1", "--out", path("m")};
  ASSERT_EQ(run(app::cmd_monitor, args), 0);
  const std::string lines = base::read_file(path("m/monitor.jsonl")), page = base::read_file(path("m/monitor.html"));
  {
    const base::DirectoryLock other(path("m"), "held");
    expect_error_naming([&] { run(app::cmd_monitor, args); }, path("m") + ": in use by another nnfmri train, analyze or monitor");
    EXPECT_EQ(base::read_file(path("m/monitor.jsonl")), lines);
    EXPECT_EQ(base::read_file(path("m/monitor.html")), page);
    size_t entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(path("m"))) entries += entry.is_regular_file();
    EXPECT_EQ(entries, 2u) << "no temporary left beside the two files";
  }
  EXPECT_EQ(run(app::cmd_monitor, args), 0) << "released when the holder ends";
}

// A monitor killed mid-stream leaves DIR/monitor.jsonl.tmp.<pid>, as large as its lines; no command removed
// them (one per kill of an hourly job).  Now the next monitor, holding DIR's lock, removes its own names'
// temporaries and nothing else.
TEST_F(MonitorCommand, TemporariesOfKilledMonitorsAreRemovedByTheNext) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  std::filesystem::create_directories(path("m"));
  const std::vector<std::string> stale = {"monitor.jsonl.tmp.999999", "monitor.html.tmp.4242"};
  const std::vector<std::string> kept = {"notes.tmp.77", "monitor.jsonl.tmp.12x", "monitor.jsonl.old", "other.jsonl.tmp.5"};
  for (const std::string& name : stale) base::write_file_atomic(path("m/" + name), "{\"image\": 0");
  for (const std::string& name : kept) base::write_file_atomic(path("m/" + name), "mine");
  ASSERT_EQ(run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "cifar10:" + path("data"),
                                   "--batch", "32", "--threads", "1", "--out", path("m")}), 0);
  for (const std::string& name : stale) EXPECT_FALSE(std::filesystem::exists(path("m/" + name))) << name;
  for (const std::string& name : kept) EXPECT_EQ(base::read_file(path("m/" + name)), "mine") << name;
  EXPECT_TRUE(std::filesystem::exists(path("m/monitor.jsonl")));
}

// monitor --input images:DIR reads DIR/test/ alone: a train/ folder holding a file that is no image (which
// the whole load refuses) does not stop it, and grayscale test images are read as RGB for this 3-channel net
// (each value replicated; beside colour images in a whole load they would be too).
TEST_F(MonitorCommand, AnImageFolderInputReadsItsTestFolderAlone) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  std::vector<uint8_t> gray(32 * 32);
  for (const char* cls : {"c0", "c1"}) {
    std::filesystem::create_directories(path("f/train/") + cls);
    std::filesystem::create_directories(path("f/test/") + cls);
    for (int i = 0; i < 3; ++i) {
      for (size_t p = 0; p < gray.size(); ++p) gray[p] = uint8_t((p * 7 + size_t(i) * 31 + cls[1]) % 256);
      const std::string name = path("f/test/") + cls + "/" + std::to_string(i) + ".png";
      ASSERT_NE(stbi_write_png(name.c_str(), 32, 32, 1, gray.data(), 32), 0);
    }
    std::ofstream(path("f/train/") + cls + "/0.png") << "not a PNG";
  }
  ASSERT_EQ(run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "images:" + path("f"), "--window", "2",
                                   "--threads", "1", "--out", path("m")}), 0);
  std::istringstream in(base::read_file(path("m/monitor.jsonl")));
  int images = 0, windows = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json row = nlohmann::json::parse(line);
    if (row.contains("window")) {
      ++windows;
    } else {
      EXPECT_EQ(row["label"], images / 3) << line;
      ++images;
    }
  }
  EXPECT_EQ(images, 6);
  EXPECT_EQ(windows, 3);
}

// A folder of images without class folders (a production stream: no labels) is monitored whole, in name
// order: every image line has "label": null and its "file", and each image's scores and prediction are those the same
// files get as a class folder's test images (the labels change nothing the monitor computes). It is not
// refused ("no class folders").
TEST_F(MonitorCommand, AFolderOfUnlabelledImagesIsMonitoredWithNullLabelsAndTheSameScores) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  std::vector<uint8_t> rgb(32 * 32 * 3);
  for (const std::string dir : {"flat/", "classes/test/only/", "classes/train/only/"}) std::filesystem::create_directories(path(dir));
  for (int i = 0; i < 5; ++i) {
    for (size_t p = 0; p < rgb.size(); ++p) rgb[p] = uint8_t((p * 13 + size_t(i) * 57) % 256);
    for (const std::string dir : {"flat/", "classes/test/only/"})
      ASSERT_NE(stbi_write_png(path(dir + "img" + std::to_string(i) + ".png").c_str(), 32, 32, 3, rgb.data(), 32 * 3), 0);
  }
  const auto lines = [&](const std::string& input, const std::string& out) {
    EXPECT_EQ(run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "images:" + path(input), "--window", "2",
                                     "--threads", "1", "--out", path(out)}), 0);
    std::vector<nlohmann::json> rows;
    std::istringstream in(base::read_file(path(out + "/monitor.jsonl")));
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    return rows;
  };
  const std::vector<nlohmann::json> flat = lines("flat", "m1"), labelled = lines("classes", "m2");
  ASSERT_EQ(flat.size(), labelled.size());
  int images = 0;
  for (size_t i = 0; i < flat.size(); ++i) {
    if (flat[i].contains("window")) continue;
    EXPECT_TRUE(flat[i]["label"].is_null()) << flat[i].dump();
    EXPECT_EQ(labelled[i]["label"], 0);
    EXPECT_EQ(flat[i]["image"], images);
    EXPECT_EQ(flat[i]["file"], "img" + std::to_string(images) + ".png");  // the image's path under DIR
    EXPECT_EQ(labelled[i]["file"], "test/only/img" + std::to_string(images) + ".png");
    EXPECT_EQ(flat[i]["scores"], labelled[i]["scores"]) << i;
    EXPECT_EQ(flat[i]["prediction"], labelled[i]["prediction"]) << i;
    ++images;
  }
  EXPECT_EQ(images, 5);
  EXPECT_NE(base::read_file(path("m1/monitor.html")).find("\"label\":null"), std::string::npos);
  // such a folder is monitored whole, not split: --split and --split-seed are refused naming the flag
  // (not ignored without a word, every image scored)
  for (const std::string flag : {"--split", "--split-seed"}) {
    const std::string m = error_of([&] {
      run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", "images:" + path("flat"), flag,
                             flag == "--split" ? "0.5" : "3", "--threads", "1", "--out", path("m3")});
    });
    EXPECT_EQ(m.rfind("flag " + flag + ": applies to a folder of class folders only, not to --input images:", 0), 0u) << m;
    EXPECT_NE(m.find("a folder of images without class folders (monitored whole, unlabelled)"), std::string::npos) << m;
    EXPECT_FALSE(std::filesystem::exists(path("m3/monitor.jsonl")));
  }
}

// profile --out in a folder that does not exist is refused before anything else is read: the ζ file given
// with it (of another epoch) is checked after the --out check, so its error would come first otherwise.
TEST_F(MonitorCommand, AProfileOutInAMissingFolderIsRefusedBeforeTheFit) {
  base::write_file_atomic(path("z99.json"), R"({"epoch": 99, "settings": {"grid": [8, 8, 4]}, "layers": {}})");
  expect_error_naming([&] {
    run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                           "--zeta", path("z99.json"), "--out", path("nowhere/a.profile")});
  }, "nowhere/a.profile: no folder");
  EXPECT_FALSE(std::filesystem::exists(path("nowhere")));
}

// profile fits on the training half alone, yet it required the test half: a CIFAR-10 folder without
// test_batch.bin, or an images:DIR with train/ and no test/, was refused.  Both now give the profile of
// their training images (the same bytes as with the test half there, which is not read).
TEST_F(MonitorCommand, AProfileNeedsNoTestHalf) {
  const std::vector<std::string> fit = {"--knn-images", "100", "--threads", "1"};
  auto profile = [&](const std::string& data, const std::string& out) {
    std::vector<std::string> args = {path("a.ckpt"), "--data", data, "--out", path(out)};
    args.insert(args.end(), fit.begin(), fit.end());
    return run(app::cmd_profile, args);
  };
  ASSERT_EQ(profile("cifar10:" + path("data"), "whole.profile"), 0);
  // the header counts the half it read and no other (no "test_images": 0)
  const base::Json data = imaging::load_profile(path("whole.profile")).about["data"];
  EXPECT_GT(data.value("train_images", 0), 0) << data.dump();
  EXPECT_FALSE(data.contains("test_images")) << data.dump();
  std::filesystem::create_directories(path("train_only"));
  for (const char* name : {"data_batch_1.bin", "batches.meta.txt"})
    std::filesystem::copy_file(path("data/") + name, path("train_only/") + name);
  ASSERT_EQ(profile("cifar10:" + path("train_only"), "train_only.profile"), 0);
  const std::string whole = base::read_file(path("whole.profile")), alone = base::read_file(path("train_only.profile"));
  // the same fit: the tensors (the second half of the file, before the CRC, which covers the header
  // naming the data files) are the same bytes
  const size_t n = std::min(whole.size(), alone.size()) / 2;
  ASSERT_GT(n, 4u);
  EXPECT_TRUE(whole.substr(whole.size() - n, n - 4) == alone.substr(alone.size() - n, n - 4));
  // images:DIR with train/ alone
  std::vector<uint8_t> rgb(32 * 32 * 3);
  for (int c = 0; c < 10; ++c) {
    const std::string dir = path("f/train/c") + std::to_string(c);
    std::filesystem::create_directories(dir);
    for (int i = 0; i < 2; ++i) {
      for (size_t p = 0; p < rgb.size(); ++p) rgb[p] = uint8_t((p * 13 + size_t(i) * 31 + size_t(c) * 7) % 256);
      ASSERT_NE(stbi_write_png((dir + "/" + std::to_string(i) + ".png").c_str(), 32, 32, 3, rgb.data(), 96), 0);
    }
  }
  EXPECT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "images:" + path("f"), "--knn-images", "10", "--knn-k", "5",
                                   "--threads", "1", "--out", path("f.profile")}), 0);
  EXPECT_TRUE(std::filesystem::exists(path("f.profile")));
}

// profile --zeta of another grid was refused only after the fit (minutes on real data).  Its epoch and
// grid are checked before: here the fit itself would fail (one image), and the ζ file's error comes first.
TEST_F(MonitorCommand, AProfileZetaOfAnotherGridIsRefusedBeforeTheFit) {
  base::write_file_atomic(path("z.json"), R"({"epoch": 1, "settings": {"grid": [4, 4, 2]}, "layers": {}})");
  expect_error_naming([&] {
    run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--limit-train", "1", "--knn-k", "1",
                           "--knn-images", "1", "--threads", "1", "--zeta", path("z.json"), "--out", path("a.profile")});
  }, "z.json: /settings/grid: is 4x4x2, expected the profile's --grid");
  EXPECT_FALSE(std::filesystem::exists(path("a.profile")));
  // without --zeta, the one image is said naming the flags that gave it (the fit's own line named none)
  expect_error_naming([&] {
    run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--limit-train", "1", "--knn-k", "1",
                           "--knn-images", "1", "--threads", "1", "--out", path("a.profile")});
  }, "flag --data cifar10:" + path("data") + ": 1 training image (--limit-train 1), expected at least 2 to fit a profile");
  EXPECT_FALSE(std::filesystem::exists(path("a.profile")));
}

// A stream that failed (record 40's label) into a new --out folder left that folder behind, empty.  The
// folders monitor made are removed again; a folder that was there stays.
TEST_F(MonitorCommand, AFailedStreamLeavesNoNewFolderBehind) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  const std::string late = data_with_a_bad_label_at_record_40();
  for (const std::string& out : {path("new/deeper"), path("was_there")}) {
    SCOPED_TRACE(out);
    const bool existed = out == path("was_there");
    if (existed) std::filesystem::create_directories(out);
    expect_error_naming([&] {
      run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("a.profile"), "--input", late, "--batch", "32",
                             "--threads", "1", "--out", out});
    }, "record 40 has label 77");
    EXPECT_EQ(std::filesystem::exists(out), existed);
    if (!existed) EXPECT_FALSE(std::filesystem::exists(path("new")));
    else EXPECT_TRUE(std::filesystem::is_empty(out));
  }
}

// A checksummed profile whose tensors are finite but extreme (a precision of 3e38, class means of 1e6: not a fit's) gave
// scores that are no float, written as null in every line ("mahalanobis":null); now the first such image
// is one error naming the profile, the image and the score, and no monitor.jsonl is left.
TEST_F(MonitorCommand, AProfileThatGivesNoNumberIsRefusedNotWrittenAsNull) {
  ASSERT_EQ(run(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "100", "--threads", "1",
                                   "--out", path("a.profile")}), 0);
  imaging::Profile extreme = imaging::load_profile(path("a.profile"));
  std::fill_n(extreme.precision.data(), extreme.precision.size(), 3e38f);
  std::fill_n(extreme.class_means.data(), extreme.class_means.size(), 1e6f);
  imaging::save_profile(path("extreme.profile"), extreme);
  expect_error_naming([&] {
    run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("extreme.profile"), "--input", "cifar10:" + path("data"),
                           "--batch", "32", "--threads", "1", "--out", path("m")});
  }, "--profile " + path("extreme.profile") + ": image 0 gets mahalanobis = inf, expected a finite number");
  EXPECT_FALSE(std::filesystem::exists(path("m")));
  // A score finite as a double but beyond a float's range (the lines write floats) is refused the same way.
  std::fill_n(extreme.precision.data(), extreme.precision.size(), 1e30f);
  imaging::save_profile(path("extreme.profile"), extreme);
  const std::string m = error_of([&] {
    run(app::cmd_monitor, {path("a.ckpt"), "--profile", path("extreme.profile"), "--input", "cifar10:" + path("data"),
                           "--batch", "32", "--threads", "1", "--out", path("m")});
  });
  EXPECT_NE(m.find("--profile " + path("extreme.profile") + ": image 0 gets mahalanobis = "), std::string::npos) << m;
  EXPECT_EQ(m.find("= inf"), std::string::npos) << "a finite double: " << m;
  EXPECT_FALSE(std::filesystem::exists(path("m")));
}

// A directory at DIR/test_batch.bin was found only after corrupt had written DIR/batches.meta.txt and a
// new DIR/data_batch_1.bin (corrupted training images without their corruption.json); now every name is
// checked before the first file is written, and the error names the directory.
TEST_F(MonitorCommand, CorruptChecksEveryOutputBeforeWritingAny) {
  std::filesystem::create_directories(path("shifted/test_batch.bin"));
  expect_error_naming([&] {
    run(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "noise", "--out", path("shifted")});
  }, path("shifted/test_batch.bin") + ": is a directory");
  EXPECT_FALSE(std::filesystem::exists(path("shifted/data_batch_1.bin")));
  EXPECT_FALSE(std::filesystem::exists(path("shifted/batches.meta.txt")));
  EXPECT_FALSE(std::filesystem::exists(path("shifted/corruption.json")));
}

}  // namespace
