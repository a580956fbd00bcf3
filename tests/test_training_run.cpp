// tests/test_training_run.cpp — apps/training_run.h: the run directory one training writes, its
// callbacks, and that two runs with the same seed and threads write the same bytes.
#include <gtest/gtest.h>
#include <omp.h>

#include <filesystem>
#include <string>
#include <vector>

#include "apps/training_run.h"
#include "base/fileio.h"
#include "datasets/dataset.h"
#include "run/json.h"
#include "run/layout.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

// The planted set cut to 96 training and 40 test images (built once: generating it is the slow part).
const datasets::DataSplit& small_planted() {
  static const datasets::DataSplit split = [] {
    datasets::DataSplit s = datasets::load_dataset("planted");
    s.train.truncate(96);
    s.test.truncate(40);
    return s;
  }();
  return split;
}

// A small net with dropout (the network's own random stream), SGD with momentum, augmentation,
// and every imaging stage after every epoch with a reproducible ζ stop.
app::TrainingSettings small_settings(const std::string& out) {
  app::TrainingSettings s;
  s.model = s.spec = "conv3x3:4 relu maxpool2 linear:12 relu dropout:0.2 linear:10";
  s.data_spec = "planted";
  s.out = out;
  s.threads = 2;
  s.train.epochs = 3;
  s.train.batch = 32;
  s.train.optim.lr = 0.01f;
  s.analyze_every = 1;
  s.analysis.eval_samples = 16;
  s.analysis.zeta.samples = 8;
  s.analysis.zeta.budget_seconds = 1e6;
  s.analysis.zeta.max_permutations = 4;
  s.analysis.tract.samples = 8;
  return s;
}

// A JSON document without the fields that time something (they differ between any two runs).
run::Json without_timing(run::Json j) {
  if (j.is_object()) {
    for (const char* key : {"seconds", "train_seconds", "train_images_per_s", "analysis_seconds", "timing"}) j.erase(key);
    if (j.contains("critical_share")) j.erase("budget_seconds");  // a zeta layer's time left over
    for (auto& [key, value] : j.items()) value = without_timing(value);
  } else if (j.is_array()) {
    for (auto& value : j) value = without_timing(value);
  }
  return j;
}

// Every file under `dir`, relative, sorted.
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(fs::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

// Two run directories hold the same files with the same bytes, timing fields apart.
void expect_same_run(const std::string& a, const std::string& b) {
  const std::vector<std::string> names = files_under(a);
  ASSERT_EQ(names, files_under(b));
  for (const std::string& name : names) {
    const std::string x = base::read_file(a + "/" + name), y = base::read_file(b + "/" + name);
    const bool jsonl = name.size() > 6 && name.substr(name.size() - 6) == ".jsonl";
    const bool analysis_json = name.rfind("analysis/", 0) == 0;
    if (!jsonl && !analysis_json) {
      EXPECT_TRUE(x == y) << name << " differs";
      continue;
    }
    // A JSON Lines file line by line, a JSON file whole.
    auto documents = [&](const std::string& text) {
      std::vector<std::string> out;
      if (!jsonl) return std::vector<std::string>{without_timing(run::parse_json(text, name)).dump()};
      size_t start = 0;
      for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        out.push_back(without_timing(run::parse_json(text.substr(start, end - start), name)).dump());
      return out;
    };
    EXPECT_EQ(documents(x), documents(y)) << name << " differs beyond its timing fields";
  }
}

class TrainingRun : public TempDirTest {
 protected:
  int saved_threads_ = omp_get_max_threads();
  void SetUp() override {
    TempDirTest::SetUp();
    omp_set_num_threads(2);
  }
  void TearDown() override {
    omp_set_num_threads(saved_threads_);
    TempDirTest::TearDown();
  }
};

TEST_F(TrainingRun, WritesTheRunDirectoryAndTellsItsCallbacks) {
  const app::TrainingSettings s = small_settings(path("run"));
  int starts = 0, analyses = 0;
  long steps = 0;
  std::vector<int> epochs;
  app::TrainingCallbacks callbacks;
  callbacks.on_start = [&](const nn::Network& net) {
    ++starts;
    EXPECT_TRUE(base::file_exists(run::Layout(s.out).config())) << "config.json comes first";
    EXPECT_EQ(net.spec(), s.spec);
  };
  callbacks.step_probe.after_step = [&](const nn::StepInfo& step) {
    ++steps;
    EXPECT_EQ(step.global_step, steps);
  };
  callbacks.on_epoch = [&](const nn::EpochStats& st) {
    epochs.push_back(st.epoch);
    EXPECT_TRUE(base::file_exists(run::Layout(s.out).checkpoint(st.epoch)));
    EXPECT_GT(st.test_acc + st.test_loss, 0.0);
  };
  callbacks.on_analysis = [&](const imaging::AnalysisReport& report) {
    ++analyses;
    EXPECT_FALSE(report.summary.empty());
  };
  app::run_training(s, small_planted(), callbacks);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(analyses, 3);
  EXPECT_EQ(steps, 3 * 3);  // 96 images in batches of 32

  const run::Layout layout(s.out);
  std::vector<std::string> expected = {"checkpoints/epoch_001.ckpt", "checkpoints/epoch_002.ckpt",
                                       "checkpoints/epoch_003.ckpt", "config.json", "metrics.jsonl", "model.ckpt"};
  for (int e = 1; e <= 3; ++e)
    for (const char* f : {run::kGridFile, run::kTractFile, run::kZetaFile})
      expected.push_back("analysis/" + run::epoch_name(e) + "/" + f);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(files_under(s.out), expected);
  EXPECT_EQ(base::read_file(layout.model()), base::read_file(layout.checkpoint(3)));
  const run::Json config = run::read_json(layout.config());
  EXPECT_EQ(config["spec"], s.spec);
  EXPECT_EQ(config["threads"], 2);
  EXPECT_EQ(config["data"]["train_images"], 96);
  const std::string metrics = base::read_file(layout.metrics());
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3);
  EXPECT_EQ(run::parse_json(metrics.substr(0, metrics.find('\n')), "metrics")["epoch"], 1);
}

TEST_F(TrainingRun, SameSettingsSeedAndThreadsWriteTheSameBytes) {
  app::run_training(small_settings(path("a")), small_planted(), {});
  app::run_training(small_settings(path("b")), small_planted(), {});
  expect_same_run(path("a"), path("b"));
}

}  // namespace
