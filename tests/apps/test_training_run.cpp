// tests/apps/test_training_run.cpp — apps/training_run.h: the run directory one training writes, its
// callbacks, and that two runs with the same seed and threads write the same bytes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/training_run.h"
#include "base/fileio.h"
#include "datasets/dataset.h"
#include "nn/checkpoint.h"
#include "run/json.h"
#include "run/layout.h"
#include "run/manifest.h"
#include "tests/error_of.h"
#include "tests/planted_split.h"
#include "dist/world.h"
#include "report/report_data.h"
#include "report/report_summary.h"
#include "tests/run_compare.h"
#include "tests/simulated_ranks.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

// The planted set cut to 96 training and 40 test images (built once: generating it is the slow part).
const datasets::DataSplit& small_planted() { return planted_split(96, 40); }

// Trains `s` on two simulated ranks, rank 0 on small_planted() and rank 1 on `rank1`: each rank's
// JointFailure message ("" if none) and whether that rank printed it (-1 if none).
struct RankFailures {
  std::vector<std::string> errors = std::vector<std::string>(2);
  std::vector<int> printed = std::vector<int>(2, -1);
};
RankFailures train_on_two_ranks(const app::TrainingSettings& s, const datasets::DataSplit& rank1) {
  RankFailures out;
  on_simulated_ranks(2, [&](SimulatedRank& rank) {
    app::TrainingCallbacks callbacks;
    callbacks.group = &rank;
    try {
      app::run_training(s, rank.rank() == 0 ? small_planted() : rank1, callbacks);
    } catch (const dist::JointFailure& e) {
      out.errors[size_t(rank.rank())] = e.what();
      out.printed[size_t(rank.rank())] = e.print;
    }
  });
  return out;
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

class TrainingRun : public TwoThreadTempDirTest {};

TEST_F(TrainingRun, WritesTheRunDirectoryAndTellsItsCallbacks) {
  const app::TrainingSettings s = small_settings(path("run"));
  int starts = 0, analyses = 0;
  long steps = 0;
  std::vector<int> epochs;
  app::TrainingCallbacks callbacks;
  callbacks.on_start = [&](const nn::Network& net, const nn::TrainPosition& from) {
    ++starts;
    EXPECT_EQ(from.epoch, 1);
    EXPECT_EQ(from.step, 0);
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
                                       "checkpoints/epoch_003.ckpt", "checkpoints/epoch_003.state",
                                       "config.json",                "metrics.jsonl",
                                       "model.ckpt",                 "run.json"};
  for (int e = 1; e <= 3; ++e)
    for (const char* f : {run::kGridFile, run::kTractFile, run::kZetaFile})
      expected.push_back("analysis/" + run::epoch_name(e) + "/" + f);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(files_under(s.out), expected);
  EXPECT_EQ(base::read_file(layout.model()), base::read_file(layout.checkpoint(3)));
  // grid.json's images block (mean and example images) in the first analysed epoch only.
  for (int e = 1; e <= 3; ++e) {
    const run::Json grid = run::read_json(layout.analysis(e) + "/" + run::kGridFile);
    EXPECT_EQ(grid.contains("images"), e == 1) << "epoch " << e;
    if (e == 1) {
      EXPECT_EQ(grid["images"]["mean"].size(), size_t(small_planted().test.image_size()));
    }
  }
  const run::Json config = run::read_json(layout.config());
  EXPECT_EQ(config["spec"], s.spec);
  EXPECT_EQ(config["threads"], 2);
  EXPECT_EQ(config["data"]["train_images"], 96);
  // Float settings by their shortest text, reading back as the same floats.
  const std::string config_text = base::read_file(layout.config());
  EXPECT_NE(config_text.find("\"lr\": 0.01,"), std::string::npos) << config_text;
  EXPECT_NE(config_text.find("\"momentum\": 0.9,"), std::string::npos) << config_text;
  EXPECT_NE(config_text.find("\"weight_decay\": 0.0005"), std::string::npos) << config_text;
  EXPECT_NE(config_text.find("\"gamma\": 0.1,"), std::string::npos) << config_text;
  EXPECT_EQ(float(config["optimizer"]["lr"].get<double>()), s.train.optim.lr);
  EXPECT_EQ(float(config["optimizer"]["momentum"].get<double>()), s.train.optim.momentum);
  for (const run::Json& mean : config["normalization"]["mean"]) {
    const std::string text = mean.dump();
    EXPECT_LE(text.size(), 11u) << text;  // at most 9 significant digits: a float's shortest text
  }
  const std::string metrics = base::read_file(layout.metrics());
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3);
  EXPECT_EQ(run::parse_json(metrics.substr(0, metrics.find('\n')), "metrics")["epoch"], 1);
  const std::optional<run::Manifest> manifest = run::read_manifest(layout);
  ASSERT_TRUE(manifest);
  EXPECT_EQ(manifest->status, "complete");
  EXPECT_EQ(manifest->completed_epoch, 3);
  EXPECT_EQ(manifest->state_file, "checkpoints/epoch_003.state");
  std::vector<std::string> listed = manifest->files;
  listed.push_back("run.json");
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, expected) << "run.json lists every file of the run";
}

TEST_F(TrainingRun, SameSettingsSeedAndThreadsWriteTheSameBytes) {
  app::run_training(small_settings(path("a")), small_planted(), {});
  app::run_training(small_settings(path("b")), small_planted(), {});
  expect_same_run(path("a"), path("b"));
}

// ---------------------------------------------------------------------------------------------
// Kill, stop and resume

// Thrown by a test hook: a kill at that point (nothing after it runs, nothing is tidied up).
struct Killed {};

// True when a hook of `callbacks` killed the run.
bool killed_in(const app::TrainingSettings& s, const app::TrainingCallbacks& callbacks) {
  try {
    app::run_training(s, small_planted(), callbacks);
  } catch (const Killed&) {
    return true;
  }
  return false;
}

app::TrainingSettings resumed(app::TrainingSettings s) {
  s.start = app::RunStart::resume;
  return s;
}

// Stops the run (as a signal does) once the global step `at` is done.
app::TrainingCallbacks stop_after_step(long at) {
  app::TrainingCallbacks callbacks;
  auto last = std::make_shared<long>(0);
  callbacks.step_probe.after_step = [last](const nn::StepInfo& step) { *last = step.global_step; };
  callbacks.stop_requested = [last, at] { return *last >= at; };
  return callbacks;
}

// --zeta-every 2 over 3 analysed epochs: epochs 1 and 3 write grid.json and tract.json, epoch 2 also
// zeta.json (and run.json lists just those); every file is the every-epoch run's file of the same name,
// timing aside (the zeta stage changes neither the weights nor the other stages), and config.json differs
// by its one key.  Killed after epoch 1 and resumed, it writes the same run.  The report notes an absent
// zeta.json only where the run asked for one.
TEST_F(TrainingRun, ZetaEveryRunsTheZetaStageInItsEpochsOnlyAndResumesToTheSameBytes) {
  const app::TrainingSettings every = small_settings(path("every"));
  app::run_training(every, small_planted(), {});
  app::TrainingSettings s = small_settings(path("thinned"));
  s.zeta_every = 2;
  app::run_training(s, small_planted(), {});
  const run::Layout layout(s.out);
  for (int epoch = 1; epoch <= 3; ++epoch) {
    SCOPED_TRACE(epoch);
    EXPECT_TRUE(base::file_exists(layout.analysis(epoch) + "/" + run::kGridFile));
    EXPECT_TRUE(base::file_exists(layout.analysis(epoch) + "/" + run::kTractFile));
    EXPECT_EQ(base::file_exists(layout.analysis(epoch) + "/" + run::kZetaFile), epoch == 2);
  }
  const std::optional<run::Manifest> m = run::read_manifest(layout);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::count(m->files.begin(), m->files.end(), "analysis/epoch_002/zeta.json"), 1);
  EXPECT_EQ(std::count_if(m->files.begin(), m->files.end(),
                          [](const std::string& f) { return f.find("zeta.json") != std::string::npos; }),
            1);
  for (const std::string& name : files_under(s.out)) {
    SCOPED_TRACE(name);
    if (name == "run.json") continue;
    const std::string x = base::read_file(every.out + "/" + name), y = base::read_file(s.out + "/" + name);
    if (name == "config.json") {
      run::Json thinned = run::parse_json(y, name);
      EXPECT_EQ(thinned["zeta_every"], 2);
      thinned.erase("zeta_every");
      EXPECT_EQ(thinned, run::parse_json(x, name));
    } else if (has_timing_fields(name)) {
      EXPECT_EQ(untimed_documents(name, x), untimed_documents(name, y));
    } else {
      EXPECT_TRUE(x == y);
    }
  }
  EXPECT_EQ(run::parse_json(base::read_file(every.out + "/config.json"), "config.json").count("zeta_every"), 0u);

  app::TrainingSettings killed = small_settings(path("killed"));
  killed.zeta_every = 2;
  app::TrainingCallbacks callbacks;
  callbacks.at_point = [](app::RunPoint p, int epoch) {
    if (p == app::RunPoint::manifest_written && epoch == 1) throw Killed{};
  };
  ASSERT_TRUE(killed_in(killed, callbacks));
  app::run_training(resumed(killed), small_planted(), {});
  expect_same_run(s.out, killed.out);

  // The report's notes and each epoch summary's "missing" name zeta.json only where the run asked for it.
  auto zeta_notes = [](const std::string& dir) {
    std::vector<std::string> notes;
    const report::RunData run = report::load_run(dir);
    for (const std::string& note : run.notes)
      if (note.find("zeta.json") != std::string::npos) notes.push_back(note);
    for (size_t e = 0; e < run.epochs.size(); ++e) {
      const nlohmann::ordered_json summary = report::epoch_summary(run, e, report::zeta_stability(run));
      for (const auto& file : summary["missing"])
        notes.push_back("epoch " + std::to_string(run.epochs[e].epoch) + " missing " + file.get<std::string>());
    }
    return notes;
  };
  EXPECT_EQ(zeta_notes(s.out), std::vector<std::string>());
  fs::remove(layout.analysis(2) + "/" + run::kZetaFile);
  EXPECT_EQ(zeta_notes(s.out),
            (std::vector<std::string>{"epoch 2: no zeta.json (ζ-scores not shown)", "epoch 2 missing zeta.json"}));
}

// --analyze-every 2 over 4 epochs with --zeta-every 4: the analysed epochs are 2 and 4 (the multiples of N); grid.json's
// images block is in epoch 2's, the run's first analysed epoch (not epoch 1's, which is not analysed); the zeta stage
// runs in epoch 4, the epoch number that is a multiple of 4 (not in the 4th analysed epoch, which this run never
// reaches); metrics.jsonl has analysis_seconds on the analysed epochs' lines only.  (Every other test here analyses
// every epoch, where these rules cannot be told from their slips.)
TEST_F(TrainingRun, AnalysedEpochsAreTheMultiplesOfAnalyzeEveryAndZetaEveryCountsEpochNumbers) {
  app::TrainingSettings s = small_settings(path("run"));
  s.train.epochs = 4;
  s.analyze_every = 2;
  s.zeta_every = 4;
  app::run_training(s, small_planted(), {});
  const run::Layout layout(s.out);
  const std::string metrics = base::read_file(layout.metrics());
  ASSERT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 4) << metrics;
  size_t at = 0;
  for (int epoch = 1; epoch <= 4; ++epoch) {
    SCOPED_TRACE(epoch);
    const bool analysed = epoch % 2 == 0;
    EXPECT_EQ(base::file_exists(layout.analysis(epoch) + "/" + run::kGridFile), analysed);
    EXPECT_EQ(base::file_exists(layout.analysis(epoch) + "/" + run::kTractFile), analysed);
    EXPECT_EQ(base::file_exists(layout.analysis(epoch) + "/" + run::kZetaFile), epoch == 4);
    if (analysed) {
      EXPECT_EQ(run::read_json(layout.analysis(epoch) + "/" + run::kGridFile).contains("images"), epoch == 2);
    }
    const size_t end = metrics.find('\n', at);
    const run::Json line = run::parse_json(metrics.substr(at, end - at), "metrics.jsonl");
    at = end + 1;
    EXPECT_EQ(line["epoch"], epoch);
    EXPECT_EQ(line.contains("analysis_seconds"), analysed);
  }
}

// A stop asked after the last step of the last epoch comes after the end: the run is complete (outcome and run.json),
// not stopped with a run.json a resume would refuse ("interrupted" with every epoch done).
TEST_F(TrainingRun, AStopAskedAfterTheLastStepLeavesACompleteRun) {
  app::TrainingSettings s = small_settings(path("run"));
  s.analyze_every = 0;
  EXPECT_TRUE(app::run_training(s, small_planted(), stop_after_step(9)).complete);  // 3 epochs of 3 steps
  const std::optional<run::Manifest> m = run::read_manifest(run::Layout(s.out));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->status, "complete");
  EXPECT_EQ(m->completed_epoch, 3);
}

// A kill in epoch 1's commit after metrics.jsonl and model.ckpt were written, before run.json said so (completed_epoch
// 0): the resume removes both before it trains, so that a run stopped again before epoch 1 is committed holds the
// files its run.json lists and nothing else (an epoch-1 line in metrics.jsonl beside a run.json at epoch 0).
TEST_F(TrainingRun, AResumeBeforeAnyCommittedEpochRemovesTheMetricsAndModelAKillLeft) {
  const app::TrainingSettings s = small_settings(path("run"));
  app::TrainingCallbacks kill;
  kill.at_point = [](app::RunPoint p, int epoch) {
    if (p == app::RunPoint::model_written && epoch == 1) throw Killed{};
  };
  ASSERT_TRUE(killed_in(s, kill));
  const run::Layout layout(s.out);
  ASSERT_TRUE(base::file_exists(layout.metrics()));
  ASSERT_TRUE(base::file_exists(layout.model()));
  EXPECT_FALSE(app::run_training(resumed(s), small_planted(), stop_after_step(1)).complete);
  const std::optional<run::Manifest> m = run::read_manifest(layout);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->completed_epoch, 0);
  std::vector<std::string> listed = m->files;
  listed.push_back("run.json");
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(files_under(s.out), listed);
}

void write(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  base::write_file_atomic(path, bytes);
}

TEST_F(TrainingRun, KilledAtAnyPointAndResumedItFinishesWithTheSameBytes) {
  const app::TrainingSettings reference = small_settings(path("reference"));
  app::run_training(reference, small_planted(), {});
  struct Case {
    std::string name;
    app::TrainingCallbacks callbacks;
    int committed;                                      // the epoch run.json is at after the kill
    std::function<void(const run::Layout&)> leftovers;  // what a real kill could also leave
    int metrics_lines = -1, model_epoch = -1;           // after the kill, in the commit's order (-1: not checked)
  };
  std::vector<Case> cases;
  const std::pair<app::RunPoint, const char*> points[] = {
      {app::RunPoint::checkpoint_written, "after_checkpoint"}, {app::RunPoint::state_written, "after_state"},
      {app::RunPoint::analysis_written, "after_analysis"},     {app::RunPoint::metrics_written, "after_metrics"},
      {app::RunPoint::model_written, "after_model"},           {app::RunPoint::manifest_written, "after_manifest"}};
  for (const auto& [point, name] : points) {
    app::TrainingCallbacks callbacks;
    callbacks.at_point = [point = point](app::RunPoint p, int epoch) {
      if (p == point && epoch == 2) throw Killed{};
    };
    // An epoch is committed in README's order: checkpoint, state, analysis, metrics.jsonl, model.ckpt, run.json.
    cases.push_back({std::string("epoch2_") + name, callbacks, point == app::RunPoint::manifest_written ? 2 : 1, nullptr,
                     point >= app::RunPoint::metrics_written ? 2 : 1, point >= app::RunPoint::model_written ? 2 : 1});
  }
  // Mid-step, mid-epoch (global step 5 = epoch 2, step 2 of 3) and inside the first epoch (no state yet).
  for (long step : {5L, 2L}) {
    app::TrainingCallbacks callbacks;
    callbacks.step_probe.after_step = [step](const nn::StepInfo& info) {
      if (info.global_step == step) throw Killed{};
    };
    cases.push_back({"step" + std::to_string(step), callbacks, step > 3 ? 1 : 0, nullptr});
  }
  // During epoch 2's analysis: some of its files written, one caught between write and rename, and a
  // checkpoint's temp file.
  {
    app::TrainingCallbacks callbacks;
    callbacks.at_point = [](app::RunPoint p, int epoch) {
      if (p == app::RunPoint::state_written && epoch == 2) throw Killed{};
    };
    auto leftovers = [](const run::Layout& layout) {
      write(layout.analysis(2) + "/" + run::kGridFile, "{\"half\": ");
      write(layout.analysis(2) + "/" + run::kZetaFile + ".tmp.12345", "{");
      write(layout.checkpoint(3) + ".tmp.4242", "NNFMRIck");
      write(layout.metrics() + ".tmp.77", "{}");
    };
    cases.push_back({"during_analysis", callbacks, 1, leftovers});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const app::TrainingSettings s = small_settings(path(c.name));
    ASSERT_TRUE(killed_in(s, c.callbacks));
    const run::Layout layout(s.out);
    const std::optional<run::Manifest> manifest = run::read_manifest(layout);
    ASSERT_TRUE(manifest);
    EXPECT_EQ(manifest->completed_epoch, c.committed);
    if (c.metrics_lines >= 0) {
      const std::string metrics = base::read_file(layout.metrics());
      EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), c.metrics_lines) << "metrics.jsonl";
    }
    if (c.model_epoch > 0) {
      EXPECT_TRUE(base::read_file(layout.model()) == base::read_file(layout.checkpoint(c.model_epoch)))
          << "model.ckpt is not epoch " << c.model_epoch << "'s checkpoint";
    }
    if (c.leftovers) c.leftovers(layout);
    app::run_training(resumed(s), small_planted(), {});
    expect_same_run(reference.out, s.out);
  }
}

TEST_F(TrainingRun, StoppedAfterAnyStepItWritesAResumableStateAndResumesToTheSameBytes) {
  for (const char* optimizer : {"sgd", "adam"}) {
    SCOPED_TRACE(optimizer);
    app::TrainingSettings reference = small_settings(path(std::string("reference_") + optimizer));
    reference.train.optim.kind = optimizer;
    reference.train.optim.nesterov = std::string(optimizer) == "sgd";  // Adam has none (refused)
    app::run_training(reference, small_planted(), {});

    app::TrainingSettings s = reference;
    s.out = path(std::string("stopped_") + optimizer);
    // Stopped inside epoch 2 (global step 4 = its step 1): a state at that step.
    app::TrainingOutcome outcome = app::run_training(s, small_planted(), stop_after_step(4));
    EXPECT_FALSE(outcome.complete);
    EXPECT_EQ(outcome.epoch, 2);
    EXPECT_EQ(outcome.step, 1);
    const run::Layout layout(s.out);
    std::optional<run::Manifest> manifest = run::read_manifest(layout);
    ASSERT_TRUE(manifest);
    EXPECT_EQ(manifest->status, "interrupted");
    EXPECT_EQ(manifest->completed_epoch, 1);
    EXPECT_EQ(manifest->state_file, layout.relative(layout.state(2, 1)));
    EXPECT_TRUE(base::file_exists(layout.state(2, 1)));
    EXPECT_FALSE(base::file_exists(layout.state(1))) << "the previous state is removed once replaced";
    // Resumed, and stopped again after the last step of epoch 2 (global step 6): at the epoch's end.
    s.start = app::RunStart::resume;
    outcome = app::run_training(s, small_planted(), stop_after_step(6));
    EXPECT_FALSE(outcome.complete);
    EXPECT_EQ(outcome.epoch, 2);
    EXPECT_EQ(outcome.step, 3);
    manifest = run::read_manifest(layout);
    EXPECT_EQ(manifest->completed_epoch, 2);
    EXPECT_EQ(manifest->state_file, layout.relative(layout.state(2)));
    EXPECT_EQ(manifest->status, "interrupted") << "stopped at an epoch's end is stopped, not running";
    // Resumed to the end.
    nn::TrainPosition started;
    app::TrainingCallbacks callbacks;
    callbacks.on_start = [&](const nn::Network&, const nn::TrainPosition& from) { started = from; };
    EXPECT_TRUE(app::run_training(s, small_planted(), callbacks).complete);
    EXPECT_EQ(started.epoch, 3);
    EXPECT_EQ(started.step, 0);
    expect_same_run(reference.out, s.out);
  }
}

TEST_F(TrainingRun, NonFiniteFiguresStopTheRunAndKeepTheLastGoodEpoch) {
  // Issue 11: with an absurd rate the test loss became NaN and that epoch still reached model.ckpt
  // and metrics.jsonl ("test_loss": null).  One step per epoch, so the bad weights come from the
  // epoch's last step.
  app::TrainingSettings s = small_settings(path("diverged"));
  s.spec = s.model = "conv3x3:4 relu maxpool2 linear:12 relu dropout:0.2 linear:10";
  s.train.batch = 96;
  s.train.optim.lr = 1e6f;
  s.train.epochs = 4;
  s.analyze_every = 0;
  const std::string message = error_of([&] { app::run_training(s, small_planted(), {}); });
  int epoch = 0;
  long step = 0;
  const size_t at = message.find("after epoch ");
  ASSERT_NE(at, std::string::npos) << message;
  ASSERT_EQ(std::sscanf(message.c_str() + at, "after epoch %d, step %ld", &epoch, &step), 2) << message;
  EXPECT_NE(message.find("training diverged"), std::string::npos) << message;
  EXPECT_GE(epoch, 2) << "the test needs a finite first epoch: " << message;
  EXPECT_EQ(step, 1);
  const run::Layout layout(s.out);
  const std::string metrics = base::read_file(layout.metrics());
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), epoch - 1) << metrics;
  EXPECT_EQ(metrics.find("null"), std::string::npos) << metrics;
  EXPECT_FALSE(base::file_exists(layout.checkpoint(epoch)));
  EXPECT_EQ(base::read_file(layout.model()), base::read_file(layout.checkpoint(epoch - 1)));
  EXPECT_EQ(run::read_manifest(layout)->completed_epoch, epoch - 1);
}

TEST_F(TrainingRun, ANonEmptyOutIsRefusedUnlessOverwrittenOrResumed) {
  app::TrainingSettings first = small_settings(path("run"));
  first.analyze_every = 1;
  app::run_training(first, small_planted(), {});
  write(path("run/notes.txt"), "mine");
  write(path("run/figures/epoch_001/conv1_density.png"), "png");  // the report's
  write(path("run/run.json.tmp.4242"), "{");                       // a write killed before its rename
  // Issue 11: a second run into the same --out mixed its files with the first's.
  app::TrainingSettings second = small_settings(path("run"));
  second.train.epochs = 1;
  second.analyze_every = 0;
  expect_error_naming([&] { app::run_training(second, small_planted(), {}); }, "--overwrite");
  expect_error_naming([&] { app::run_training(second, small_planted(), {}); }, "3 of 3 epochs");
  second.start = app::RunStart::overwrite;
  app::run_training(second, small_planted(), {});
  EXPECT_EQ(files_under(path("run")),
            (std::vector<std::string>{"checkpoints/epoch_001.ckpt", "checkpoints/epoch_001.state", "config.json",
                                      "metrics.jsonl", "model.ckpt", "notes.txt", "run.json"}));
  // A directory that is not a run is never overwritten.
  write(path("other/data.bin"), "x");
  app::TrainingSettings other = small_settings(path("other"));
  other.start = app::RunStart::overwrite;
  expect_error_naming([&] { app::run_training(other, small_planted(), {}); }, "not a run directory");
  EXPECT_TRUE(base::file_exists(path("other/data.bin")));
}

// What a start stopped before run.json leaves (a kill between config.json and run.json) is named as
// such, not "holds another run (config.json, checkpoints/); give --resume ... to continue it", which
// --resume would then refuse for want of a run.json (and the same words whatever is there).
TEST_F(TrainingRun, AStartLeftWithoutRunJsonIsNamedSoAndOverwritten) {
  app::TrainingSettings s = small_settings(path("run"));
  s.train.epochs = 1;
  s.analyze_every = 0;
  write(path("run/config.json"), "{}");
  EXPECT_EQ(error_of([&] { app::run_training(s, small_planted(), {}); }),
            "--out " + path("run") + ": holds the start of a run that has no run.json (config.json), nothing to resume; "
            "give --overwrite to replace it");
  s.start = app::RunStart::overwrite;
  app::run_training(s, small_planted(), {});
  EXPECT_TRUE(base::file_exists(path("run/run.json")));
}

// run.json lists the analysis files the epoch's stages wrote, not whatever its folder holds: a file
// another process put there before the commit (a report of the run this one --overwrote, writing its
// analysis/epoch_N/summary.json late) was listed as the epoch's and served as committed.
TEST_F(TrainingRun, RunJsonListsTheStageFilesNotWhatElseTheAnalysisFolderHolds) {
  app::TrainingSettings s = small_settings(path("run"));
  s.train.epochs = 1;
  app::TrainingCallbacks callbacks;
  callbacks.at_point = [&](app::RunPoint p, int epoch) {
    if (p == app::RunPoint::checkpoint_written) write(path("run/analysis/epoch_001/summary.json"), "{}");
    (void)epoch;
  };
  app::run_training(s, small_planted(), callbacks);
  const std::optional<run::Manifest> m = run::read_manifest(run::Layout(path("run")));
  ASSERT_TRUE(m.has_value());
  std::vector<std::string> analysis;
  for (const std::string& f : m->files)
    if (f.rfind("analysis/", 0) == 0) analysis.push_back(f);
  EXPECT_EQ(analysis, (std::vector<std::string>{"analysis/epoch_001/grid.json", "analysis/epoch_001/tract.json",
                                                "analysis/epoch_001/zeta.json"}));
}

// True when another open of `dir` (as another process would) gets its lock; released at once.
bool lockable(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  const bool locked = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (fd >= 0) close(fd);
  return locked;
}

// Audit E 1: two trainers wrote into one run directory at once (an --overwrite removed the other's
// files while it ran).  A run holds its directory's lock from before it touches it to its end: a
// fresh run, an --overwrite and a --resume of a directory another trainer holds are each refused,
// naming it, and nothing in it changes.
TEST_F(TrainingRun, ARunDirectoryAnotherTrainerHoldsIsRefusedAndLeftAsItIs) {
  app::TrainingSettings s = small_settings(path("run"));
  s.analyze_every = 0;
  bool held_while_running = false;
  app::TrainingCallbacks stop = stop_after_step(2);
  stop.on_start = [&](const nn::Network&, const nn::TrainPosition&) { held_while_running = !lockable(s.out); };
  app::run_training(s, small_planted(), stop);
  EXPECT_TRUE(held_while_running);
  EXPECT_TRUE(lockable(s.out)) << "released when the run ends";
  const std::vector<std::string> files = files_under(s.out);
  const std::string manifest = base::read_file(run::Layout(s.out).manifest());
  const int holder = open(s.out.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(flock(holder, LOCK_EX | LOCK_NB), 0);
  for (app::RunStart start : {app::RunStart::fresh, app::RunStart::overwrite, app::RunStart::resume}) {
    app::TrainingSettings again = s;
    again.start = start;
    expect_error_naming([&] { app::run_training(again, small_planted(), {}); },
                        s.out + ": in use by another nnfmri train, analyze or monitor");
  }
  EXPECT_EQ(files_under(s.out), files);
  EXPECT_EQ(base::read_file(run::Layout(s.out).manifest()), manifest);
  close(holder);
  EXPECT_TRUE(app::run_training(resumed(s), small_planted(), {}).complete);
}

TEST_F(TrainingRun, AResumeThatWouldNotContinueTheSameRunIsRefused) {
  app::TrainingSettings s = small_settings(path("run"));
  s.analyze_every = 0;
  app::run_training(s, small_planted(), stop_after_step(2));
  app::TrainingSettings changed = resumed(s);
  changed.train.seed = 7;
  expect_error_naming([&] { app::run_training(changed, small_planted(), {}); }, "config.json: \"seed\" differs");
  changed = resumed(s);
  changed.threads = 3;
  expect_error_naming([&] { app::run_training(changed, small_planted(), {}); }, "\"threads\"");
  // fewer training images: 2 steps an epoch, and the state stands at step 2 of epoch 1.  The data's
  // change is named, not run.json's step (which was: "/state/step: 2, expected 1 to 1")
  datasets::DataSplit fewer = small_planted();
  fewer.train.truncate(64);
  expect_error_naming([&] { app::run_training(resumed(s), fewer, {}); }, "config.json: \"data\" differs");
  app::TrainingSettings elsewhere = resumed(s);
  elsewhere.out = path("empty");
  fs::create_directories(elsewhere.out);
  expect_error_naming([&] { app::run_training(elsewhere, small_planted(), {}); }, "run.json: missing");
  app::run_training(resumed(s), small_planted(), {});  // to the end
  expect_error_naming([&] { app::run_training(resumed(s), small_planted(), {}); }, "the run is complete");
  // A kill between the last commit and the removal of the previous state left that state (and a
  // temporary) behind: a resume of the complete run removes them, and says so.
  const run::Layout layout(path("run"));
  const run::Manifest m = *run::read_manifest(layout);
  const std::string stray = layout.state(1), temp = layout.metrics() + ".tmp.12345";
  ASSERT_NE(layout.dir + "/" + m.state_file, stray);
  write(stray, "x");
  write(temp, "x");
  expect_error_naming([&] { app::run_training(resumed(s), small_planted(), {}); },
                      "there is nothing to resume (removed 2 file(s) a kill had left beyond run.json)");
  EXPECT_FALSE(base::file_exists(stray));
  EXPECT_FALSE(base::file_exists(temp));
  EXPECT_TRUE(base::file_exists(layout.dir + "/" + m.state_file));
  EXPECT_EQ(run::read_manifest(layout)->files, m.files);
}

// report takes no lock: it may be writing a run's figures while train --resume starts.  The resume
// removed every *.tmp.<digits> below the run directory, a running report's included, and that report
// then failed: `figures/epoch_001/pool1_zeta.png: rename failed (No such file or directory)`.  Now the
// resume removes the temporaries of train's own files only.
TEST_F(TrainingRun, ResumeLeavesTheTemporariesOfAReportWritingTheRun) {
  const app::TrainingSettings s = small_settings(path("run"));
  ASSERT_TRUE(killed_in(s, [] {
    app::TrainingCallbacks callbacks;
    callbacks.step_probe.after_step = [](const nn::StepInfo& info) {
      if (info.global_step == 5) throw Killed{};
    };
    return callbacks;
  }()));
  const run::Layout layout(s.out);
  const std::string pid = "." + std::to_string(getpid());
  const std::vector<std::string> report = {layout.dir + "/figures/epoch_001/conv1_zeta.png.tmp" + pid,
                                           layout.summary() + ".tmp" + pid, layout.report_page() + ".tmp" + pid,
                                           layout.analysis(1) + "/" + run::kEpochSummaryFile + ".tmp" + pid};
  const std::vector<std::string> train = {layout.metrics() + ".tmp.77", layout.model() + ".tmp.4242",
                                          layout.manifest() + ".tmp.12345", layout.dir + "/.write_check.tmp.5",
                                          layout.checkpoint(2) + ".tmp.9"};
  for (const std::string& file : report) write(file, "a report's write in progress");
  for (const std::string& file : train) write(file, "a killed train's write");
  app::run_training(resumed(s), small_planted(), {});
  for (const std::string& file : report) EXPECT_TRUE(base::file_exists(file)) << file << " removed by the resume";
  for (const std::string& file : train) EXPECT_FALSE(base::file_exists(file)) << file << " left by the resume";
}

// A copy of the run directory `from` at `to` whose run.json `edit` changes.
void copy_with_manifest(const std::string& from, const std::string& to, const std::function<void(run::Json&)>& edit) {
  fs::copy(from, to, fs::copy_options::recursive);
  const run::Layout layout(to);
  run::Json manifest = run::read_json(layout.manifest());
  edit(manifest);
  run::write_json(layout.manifest(), manifest, 2);
}

// Every file under `dir` with a hash of its bytes (a failure prints names, not whole checkpoints).
std::vector<std::pair<std::string, size_t>> contents_of(const std::string& dir) {
  std::vector<std::pair<std::string, size_t>> all;
  for (const std::string& name : files_under(dir))
    all.emplace_back(name, std::hash<std::string>{}(base::read_file(dir + "/" + name)));
  return all;
}

// Audit E 2 and 5: a resume trusted run.json's state and epochs, removing a committed epoch's
// analysis and writing a run that skips or repeats epochs.  A run.json the writer could not have
// written is one error line naming its field, before anything in the directory is removed.
TEST_F(TrainingRun, AResumeChecksRunJsonBeforeRemovingAnything) {
  app::TrainingSettings s = small_settings(path("stopped"));
  app::run_training(s, small_planted(), stop_after_step(4));  // epoch 2, step 1 of 3: completed_epoch 1
  struct Case {
    std::string name, error;
    std::function<void(run::Json&)> edit;
  };
  const std::vector<Case> cases = {
      {"behind", "run.json: /state/epoch: 2, expected 0 (completed_epoch) or 1", [](run::Json& m) { m["completed_epoch"] = 0; }},
      {"no_state", "run.json: /state: null, expected the state of epoch 1", [](run::Json& m) { m["state"] = nullptr; }},
      {"epoch_end", "run.json: /state/step: 3, expected 1 to 2", [](run::Json& m) { m["state"]["step"] = 3; }},
      {"epochs", "run.json: /epochs: 99999, but its arguments make --epochs 3", [](run::Json& m) { m["epochs"] = 99999; }},
      {"complete", "run.json: /status: \"complete\" with completed_epoch 1 of 3 epochs, expected running or interrupted",
       [](run::Json& m) { m["status"] = "complete"; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    app::TrainingSettings edited = resumed(s);
    edited.out = path(c.name);
    copy_with_manifest(s.out, edited.out, c.edit);
    write(run::Layout(edited.out).checkpoint(2) + ".tmp.123", "a leftover");
    const auto before = contents_of(edited.out);
    expect_error_naming([&] { app::run_training(edited, small_planted(), {}); }, c.error);
    EXPECT_EQ(contents_of(edited.out), before) << "nothing is removed or written";
  }
  // "complete" exactly at the last epoch, both ways: a run.json at its last epoch that says "running" is refused too.
  app::run_training(resumed(s), small_planted(), {});
  app::TrainingSettings running = resumed(s);
  running.out = path("running");
  copy_with_manifest(s.out, running.out, [](run::Json& m) { m["status"] = "running"; });
  const auto before = contents_of(running.out);
  expect_error_naming([&] { app::run_training(running, small_planted(), {}); },
                      "run.json: /status: \"running\" with completed_epoch 3 of 3 epochs, expected complete");
  EXPECT_EQ(contents_of(running.out), before) << "nothing is removed or written";
}

// run/manifest.h: completed_epoch is at most the planned epochs; a run.json saying 4 of 3 is refused by
// read_manifest naming the field (a reader that bounded it by anything larger passed every test).
TEST_F(TrainingRun, ARunJsonWithMoreEpochsCompletedThanPlannedIsRefusedNamingTheField) {
  const auto manifest_with = [&](int completed) {
    base::make_directories(path("r"));
    run::write_json(path("r/run.json"),
                    {{"format", "nnfmri run"}, {"version", 1}, {"status", "running"}, {"epochs", 3},
                     {"completed_epoch", completed}, {"state", nullptr}, {"threads", 2},
                     {"arguments", run::Json::array()}, {"files", run::Json::array()}},
                    2);
    return run::read_manifest(run::Layout(path("r")));
  };
  EXPECT_EQ(manifest_with(3)->completed_epoch, 3);
  expect_error_naming([&] { manifest_with(4); }, "run.json: /completed_epoch: expected an integer from 0 to 3, found the number 4");
}

// Audit E 3: run.json's state.file was taken as a path: '../victim/s.state' removed a file outside the
// run, and a name missing from "files" erased the list's end.  The state has one name, the run's own,
// and must be listed; anything else is refused naming /state/file or /files, nothing removed.
TEST_F(TrainingRun, AResumeTakesTheStateOnlyByItsOwnListedName) {
  app::TrainingSettings s = small_settings(path("stopped"));
  s.analyze_every = 0;
  app::run_training(s, small_planted(), stop_after_step(4));  // epoch 2, step 1: epoch_002.step_000001.state
  const std::string state = "checkpoints/epoch_002.step_000001.state";
  ASSERT_TRUE(base::file_exists(s.out + "/" + state));
  write(path("victim/s.state"), base::read_file(s.out + "/" + state));
  struct Case {
    std::string name, error;
    std::function<void(run::Json&)> edit;
  };
  const std::vector<Case> cases = {
      {"outside", "run.json: /state/file: '../victim/s.state', expected '" + state + "'",
       [](run::Json& m) { m["state"]["file"] = "../victim/s.state"; }},
      {"other_name", "run.json: /state/file: 'checkpoints/alt.state', expected '" + state + "'",
       [](run::Json& m) { m["state"]["file"] = "checkpoints/alt.state"; }},
      {"unlisted", "run.json: /files: does not list the state file '" + state + "'",
       [&](run::Json& m) { m["files"].erase(std::find(m["files"].begin(), m["files"].end(), run::Json(state))); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    app::TrainingSettings edited = resumed(s);
    edited.out = path(c.name);
    copy_with_manifest(s.out, edited.out, c.edit);
    fs::copy_file(edited.out + "/" + state, edited.out + "/checkpoints/alt.state");
    const auto before = contents_of(edited.out);
    expect_error_naming([&] { app::run_training(edited, small_planted(), {}); }, c.error);
    EXPECT_EQ(contents_of(edited.out), before) << "nothing is removed or written";
    EXPECT_TRUE(base::file_exists(path("victim/s.state")));
  }
}

// Audit E 4: a resume copied the last committed checkpoint over model.ckpt unread (a truncated or
// another net's file ended up in a "complete" run) and kept metrics.jsonl's lines by counting them
// (garbage became committed epochs).  Both are read and checked first: one error line naming the file,
// nothing removed or written.
TEST_F(TrainingRun, AResumeReadsTheCheckpointAndMetricsItKeeps) {
  app::TrainingSettings s = small_settings(path("stopped"));
  s.analyze_every = 0;
  app::run_training(s, small_planted(), stop_after_step(7));  // epoch 3, step 1: completed_epoch 2
  app::TrainingSettings other = small_settings(path("other"));
  other.model = other.spec = "conv3x3:2 relu maxpool2 linear:10";
  other.analyze_every = 0;
  other.train.epochs = 2;
  app::run_training(other, small_planted(), {});
  const run::Layout layout(s.out);
  const std::string checkpoint = base::read_file(layout.checkpoint(2)), metrics = base::read_file(layout.metrics());
  const size_t first_end = metrics.find('\n') + 1;
  struct Case {
    std::string name, error;
    std::function<void(const run::Layout&)> damage;
  };
  const std::vector<Case> cases = {
      {"truncated", "checkpoints/epoch_002.ckpt: ",
       [&](const run::Layout& l) { write(l.checkpoint(2), checkpoint.substr(0, 5000)); }},
      {"another_net", "checkpoints/epoch_002.ckpt: holds epoch 2 of the net 'conv3x3:2 relu maxpool2 linear:10'",
       [&](const run::Layout& l) { write(l.checkpoint(2), base::read_file(run::Layout(other.out).checkpoint(2))); }},
      {"another_epoch", "checkpoints/epoch_002.ckpt: holds epoch 1 of the net '" + s.spec + "', expected epoch 2",
       [&](const run::Layout& l) { write(l.checkpoint(2), base::read_file(l.checkpoint(1))); }},
      {"another_normalisation", "checkpoints/epoch_002.ckpt: holds epoch 2 of the net '" + s.spec + "', expected epoch 2 of "
       "this run's net '" + s.spec + "' with its input normalisation",
       [&](const run::Layout& l) {
         nn::Checkpoint ck = nn::load_checkpoint(l.checkpoint(2));
         ck.net->input_mean[0] += 0.25f;
         nn::save_checkpoint(l.checkpoint(2), *ck.net, ck.epoch, ck.class_names, ck.meta);
       }},
      {"garbage", "metrics.jsonl:1: ", [](const run::Layout& l) { write(l.metrics(), "garbage\nmore\nlines\n"); }},
      {"out_of_order", "metrics.jsonl:1: /epoch: 2, expected 1 (the committed epochs 1 to 2 in order)",
       [&](const run::Layout& l) { write(l.metrics(), metrics.substr(first_end) + metrics.substr(0, first_end)); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    app::TrainingSettings damaged = resumed(s);
    damaged.out = path(c.name);
    fs::copy(s.out, damaged.out, fs::copy_options::recursive);
    const run::Layout l(damaged.out);
    c.damage(l);
    write(l.checkpoint(3) + ".tmp.123", "a leftover");
    const auto before = contents_of(damaged.out);
    expect_error_naming([&] { app::run_training(damaged, small_planted(), {}); }, damaged.out + "/" + c.error);
    EXPECT_EQ(contents_of(damaged.out), before) << "nothing is removed or written";
  }
}

// A resume took the state and the last checkpoint of the same net trained with another seed (copied
// in from a sibling run): the run went on from another training's weights under this run's seed.
// Each is refused naming the file and both seeds, nothing removed or written.
TEST_F(TrainingRun, AResumeRefusesTheStateOrCheckpointOfAnotherSeed) {
  app::TrainingSettings s = small_settings(path("stopped"));
  s.analyze_every = 0;
  app::run_training(s, small_planted(), stop_after_step(7));  // epoch 3, step 1: completed_epoch 2
  app::TrainingSettings sibling = s;
  sibling.out = path("sibling");
  sibling.train.seed = 2;
  app::run_training(sibling, small_planted(), stop_after_step(7));
  const std::string state = "checkpoints/epoch_003.step_000001.state", checkpoint = "checkpoints/epoch_002.ckpt";
  ASSERT_TRUE(base::file_exists(sibling.out + "/" + state));
  for (const std::string& file : {state, checkpoint}) {
    SCOPED_TRACE(file);
    app::TrainingSettings damaged = resumed(s);
    damaged.out = path("with_" + fs::path(file).extension().string().substr(1));
    fs::copy(s.out, damaged.out, fs::copy_options::recursive);
    write(damaged.out + "/" + file, base::read_file(sibling.out + "/" + file));
    const auto before = contents_of(damaged.out);
    const std::string m = error_of([&] { app::run_training(damaged, small_planted(), {}); });
    EXPECT_NE(m.find(damaged.out + "/" + file + ": "), std::string::npos) << m;
    EXPECT_NE(m.find("seed 2, not this run's seed 1"), std::string::npos) << m;
    EXPECT_EQ(contents_of(damaged.out), before) << "nothing is removed or written";
  }
  EXPECT_TRUE(app::run_training(resumed(s), small_planted(), {}).complete);  // its own state resumes
}

// Issue 11: --batch 65536 on a net at the layer-size limit ended in "out of memory", exit 3, after the
// run directory was made.  The batch's activations are now checked against the machine's memory
// before anything is allocated: 2^30 images of even a small net are terabytes on any machine.
// Ranks of an MPI job whose training sets differ (here 96 and 64 images: 3 and 2 steps per epoch)
// would wait forever for a step the other never takes: every rank fails together right after
// loading, the differing rank alone printing the difference, and nothing is written.
TEST_F(TrainingRun, RanksWhoseDataDiffersAllFailNamingTheDifference) {
  app::TrainingSettings s = small_settings(path("run"));
  s.train.shards = 2;
  s.train.epochs = 1;
  s.analyze_every = 0;
  datasets::DataSplit fewer = small_planted();
  fewer.train.truncate(64);
  const auto [errors, printed] = train_on_two_ranks(s, fewer);
  for (int r : {0, 1}) {
    EXPECT_NE(errors[size_t(r)].find("data or settings differ from rank 0's: /data/train_images is 64 here, 96 on rank 0"),
              std::string::npos) << "rank " << r << ": " << errors[size_t(r)];
  }
  EXPECT_EQ(printed, (std::vector<int>{0, 1}));
  EXPECT_FALSE(fs::exists(s.out));
}

// A fingerprint holding text that is not UTF-8 was serialised by nlohmann's dump, which throws on it:
// every rank would fail with a JSON library error instead of agreeing or naming the difference.  Latent
// through the CLI (it refuses names that are not UTF-8 before), not for a caller of run_training, such as
// this dataset's name.  Its bytes are compared as json_text writes them.
TEST_F(TrainingRun, RanksWhoseFingerprintIsNotUtf8StillNameTheDifference) {
  app::TrainingSettings s = small_settings(path("run"));
  s.train.shards = 2;
  s.train.epochs = 1;
  s.analyze_every = 0;
  datasets::DataSplit renamed = small_planted();
  renamed.train.name = renamed.test.name = "planted\xff";
  const std::vector<std::string> errors = train_on_two_ranks(s, renamed).errors;
  for (int r : {0, 1})
    EXPECT_NE(errors[size_t(r)].find("data or settings differ from rank 0's: /data/name is \"planted\ufffd\" here, "
                                     "\"planted\" on rank 0"),
              std::string::npos)
        << "rank " << r << ": " << errors[size_t(r)];
  EXPECT_FALSE(fs::exists(s.out));
}

// Generated data (planted) names no file, and its seed and options were only in the spec, which the
// fingerprint leaves out (paths may differ per rank): ranks whose planted sets differed with the same
// counts and normalisation (`planted:1` against `planted:2` for analyze, here two training labels
// swapped) trained or imaged other data without a word.  The generated content is now compared.
TEST_F(TrainingRun, RanksWhoseGeneratedDataDiffersAllFailNamingTheDifference) {
  app::TrainingSettings s = small_settings(path("run"));
  s.train.shards = 2;
  s.train.epochs = 1;
  s.analyze_every = 0;
  datasets::DataSplit swapped = small_planted();
  ASSERT_NE(swapped.train.labels[0], swapped.train.labels[1]);
  std::swap(swapped.train.labels[0], swapped.train.labels[1]);  // the same pixels: the same normalisation
  const std::vector<std::string> errors = train_on_two_ranks(s, swapped).errors;
  for (int r : {0, 1})
    EXPECT_NE(errors[size_t(r)].find("data or settings differ from rank 0's: /data/generated/train is "), std::string::npos)
        << "rank " << r << ": " << errors[size_t(r)];
  EXPECT_FALSE(fs::exists(s.out));
}

TEST(BatchFits, ABatchLargerThanTheMachinesMemoryIsOneErrorNamingTheFlag) {
  const nn::Network net("conv3x3:8 relu maxpool2 linear:10", 3, 8, 8);
  // conv 8x8x8, its relu 8x8x8, pool 4x4x8, linear 10: the floats of one image's buffers.
  EXPECT_EQ(net.activation_floats_per_image(), size_t(512 + 512 + 128 + 10));
  const long huge = 1L << 30;
  const std::string m = error_of([&] { app::check_batch_fits(net, huge, size_t(huge), true); });
  EXPECT_NE(m.find("--batch 1073741824: a batch of 1073741824 images needs at least"), std::string::npos) << m;
  EXPECT_NE(m.find("(0.0 MiB per image)"), std::string::npos) << m;
  expect_error_naming([&] { app::check_batch_fits(net, huge, size_t(huge), false); }, "activations (");
  // The batch is what the data makes of it: 2^30 asked of 64 images is a batch of 64.
  EXPECT_NO_THROW(app::check_batch_fits(net, huge, 64, true));
  EXPECT_NO_THROW(app::check_batch_fits(net, 64, size_t(huge), true));
}

// Evaluation keeps no gradients: a batch whose activations fit in memory but whose activations and
// gradients (twice as much) do not is refused for training and taken for evaluation (a mutant that
// counted twice for both passed the test above, whose batch is past both).
TEST(BatchFits, EvaluationNeedsHalfWhatTrainingNeeds) {
  const nn::Network net("conv3x3:8 relu maxpool2 linear:10", 3, 8, 8);
  const double per_image = double(net.activation_floats_per_image()) * sizeof(float);
  const double memory = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  const long batch = long(memory / (1.5 * per_image));  // 1.5 × per_image each: over memory twice, under once
  expect_error_naming([&] { app::check_batch_fits(net, batch, size_t(batch), true); },
                      "--batch " + std::to_string(batch) + ": a batch of " + std::to_string(batch) + " images needs");
  EXPECT_NO_THROW(app::check_batch_fits(net, batch, size_t(batch), false));
}

// check_net_fits: the net must take the data's images and, unless check_classes is false (monitor's
// --input, whose labels are not scored), have one output per class: more outputs than classes is
// refused as fewer is (a mutant that refused fewer only, and checked classes always, passed every test).
TEST(NetFits, TheNetTakesTheImagesAndHasOneOutputPerClass) {
  const nn::Network net("conv3x3:8 relu maxpool2 linear:10", 3, 8, 8);
  datasets::Dataset d;
  d.channels = 3, d.height = 8, d.width = 8;
  for (char c = 'a'; c < 'a' + 10; ++c) d.class_names.push_back(std::string(1, c));
  EXPECT_NO_THROW(app::check_net_fits(net, d, "--model m"));
  d.class_names.resize(3);
  expect_error_naming([&] { app::check_net_fits(net, d, "--model m"); },
                      "--model m has 10 outputs but --data has 3 classes (end the spec with linear:3)");
  EXPECT_NO_THROW(app::check_net_fits(net, d, "the checkpoint's net", "--input", false));
  for (char c = 'd'; c < 'd' + 9; ++c) d.class_names.push_back(std::string(1, c));
  expect_error_naming([&] { app::check_net_fits(net, d, "--model m"); }, "--model m has 10 outputs but --data has 12 classes");
  EXPECT_NO_THROW(app::check_net_fits(net, d, "the checkpoint's net", "--input", false));
  d.height = 9;
  expect_error_naming([&] { app::check_net_fits(net, d, "the checkpoint's net", "--input", false); },
                      "the checkpoint's net takes 3x8x8 images but --input has 3x9x8");
}

// NN-EEG records whole-batch forwards: with shards it would see each shard's, so it is refused,
// naming --eeg; the same settings with --shards 1 pass.
TEST(TrainingSettings, EegIsRefusedWithShards) {
  app::TrainingSettings s;
  s.eeg_window = 16;
  s.train.shards = 2;
  try {
    app::validate(s, 1);
    FAIL() << "--eeg with --shards 2 accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--eeg"), std::string::npos) << e.what();
  }
  s.train.shards = 1;
  EXPECT_NO_THROW(app::validate(s, 1));
  // On several ranks --eeg itself is refused, with --shards 1 too (before: the trainer's "give more
  // --shards", which the check above then refused).
  expect_error_naming([&] { app::validate(s, 2); }, "--eeg: not with 2 MPI ranks");
}

// train --resume under mpirun was refused by run_training, after every rank had loaded the data: the
// refusal is one of the settings' checks, made before any data is read.
TEST_F(TrainingRun, AResumeOnSeveralRanksIsRefusedBeforeTheData) {
  app::TrainingSettings s = small_settings(path("run"));
  s.analyze_every = 0;
  app::run_training(s, small_planted(), stop_after_step(2));
  const app::TrainingSettings again = resumed(s);
  EXPECT_NO_THROW(app::validate(again, 1));
  expect_error_naming([&] { app::validate(again, 2); }, "--resume " + s.out + ": not with 2 ranks; resume with one process");
}

}  // namespace
