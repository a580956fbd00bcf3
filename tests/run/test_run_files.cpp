// tests/run/test_run_files.cpp — run/'s small files at their edges: the epoch names and the state
// paths of run/layout.h, grid.json's region of run/grid_schema.h (its keys in their order, the one
// optional key), and run.json of run/manifest.h read back with its bounds, and the housekeeping
// (directory_entries, remove_file, clear_run).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "run/grid_schema.h"
#include "run/json.h"
#include "run/layout.h"
#include "run/manifest.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

// run/layout.h: "epoch_<1–6 digits>" is an epoch directory; epoch_name writes at least three digits.
TEST(RunLayout, EpochNamesHaveAtLeastThreeDigitsAndOneToSixAreRead) {
  EXPECT_EQ(run::epoch_name(7), "epoch_007");
  EXPECT_EQ(run::epoch_name(1234), "epoch_1234");
  EXPECT_EQ(run::parse_epoch_name("epoch_7"), 7);
  EXPECT_EQ(run::parse_epoch_name("epoch_007"), 7);
  EXPECT_EQ(run::parse_epoch_name("epoch_123456"), 123456);  // six digits, the most
  for (const char* name : {"epoch_1234567", "epoch_", "epoch_12a", "epoch_-1", "Epoch_001", "xepoch_001", "epoch_001 "})
    EXPECT_EQ(run::parse_epoch_name(name), std::nullopt) << name;
  for (int e : {1, 7, 999, 1000, 123456}) EXPECT_EQ(run::parse_epoch_name(run::epoch_name(e)), e);
}

// A state after the whole epoch has no step in its name; one after step S of it has S in six digits.
TEST(RunLayout, AStateNamesItsStepOnlyWhenItStoppedInsideTheEpoch) {
  const run::Layout layout("RUN");
  EXPECT_EQ(layout.state(3), "RUN/checkpoints/epoch_003.state");
  EXPECT_EQ(layout.state(3, 0), "RUN/checkpoints/epoch_003.state");
  EXPECT_EQ(layout.state(3, 31), "RUN/checkpoints/epoch_003.step_000031.state");
  EXPECT_EQ(layout.state(12, 1234567), "RUN/checkpoints/epoch_012.step_1234567.state");
  EXPECT_EQ(layout.relative(layout.state(3, 31)), "checkpoints/epoch_003.step_000031.state");
}

// run/grid_schema.h states the region's keys and their order; the reader takes a grid.json written
// before information_null_bits existed (0) and refuses values out of their range naming the pointer.
TEST(GridSchema, ARegionHasItsKeysInTheirOrderAndReadsBack) {
  run::GridRegionStats s;
  s.density = 0.5;
  s.variance = 0.25;
  s.mean_abs = 0.75;
  s.active_fraction = 1;
  s.information_bits = 0.125;
  s.information_null_bits = 0.0625;
  s.activation_count = 0;  // in range (0 … 2^30)
  const nlohmann::ordered_json j = run::region_json(s);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, std::vector<std::string>({"density", "variance", "activation_count", "mean_abs", "active_fraction",
                                            "information_bits", "information_null_bits"}));
  const run::Json doc = j;
  const run::GridRegionStats r = run::read_region(base::Node(doc, "grid.json", "/layers/conv1/regions/grid_1_1_1"));
  EXPECT_EQ(r.density, s.density);
  EXPECT_EQ(r.variance, s.variance);
  EXPECT_EQ(r.mean_abs, s.mean_abs);
  EXPECT_EQ(r.active_fraction, s.active_fraction);
  EXPECT_EQ(r.information_bits, s.information_bits);
  EXPECT_EQ(r.information_null_bits, s.information_null_bits);
  EXPECT_EQ(r.activation_count, 0);

  run::Json old = doc;
  old.erase("information_null_bits");  // grid.json before 2026-11-25
  EXPECT_EQ(run::read_region(base::Node(old, "grid.json")).information_null_bits, 0);
  run::Json bad = doc;
  bad["mean_abs"] = -0.5;  // a mean of absolute values
  expect_error_naming([&] { run::read_region(base::Node(bad, "grid.json")); }, "grid.json: /mean_abs:");
  bad = doc;
  bad["variance"] = -0.25;  // a mean of squared deviations
  expect_error_naming([&] { run::read_region(base::Node(bad, "grid.json")); }, "grid.json: /variance:");
  bad["variance"] = 0;  // a constant region's
  EXPECT_EQ(run::read_region(base::Node(bad, "grid.json")).variance, 0);
  bad = doc;
  bad["activation_count"] = -1;
  expect_error_naming([&] { run::read_region(base::Node(bad, "grid.json")); }, "grid.json: /activation_count:");
}

class RunManifest : public TempDirTest {
 protected:
  run::Json written(const run::Manifest& m) {
    run::write_manifest(run::Layout(dir_), m);
    return run::read_json(run::Layout(dir_).manifest());
  }
  // run.json with one field replaced, read back.
  std::optional<run::Manifest> read_with(const std::function<void(run::Json&)>& edit) {
    run::Manifest m;
    m.epochs = 3;
    m.completed_epoch = 2;
    m.state_file = "checkpoints/epoch_002.state";
    m.state_epoch = 2;
    m.state_step = 8;
    m.threads = 2;
    run::Json doc = written(m);
    edit(doc);
    run::write_json(run::Layout(dir_).manifest(), doc, 2);
    return run::read_manifest(run::Layout(dir_));
  }
};

// Every status the header names reads back, with the state and the lists; anything else is refused
// naming the field.
TEST_F(RunManifest, EveryStatusAndTheStateReadBackAndTheirBoundsNameTheField) {
  run::Manifest m;
  m.status = "interrupted";
  m.epochs = 5;
  m.completed_epoch = 2;
  m.state_file = "checkpoints/epoch_003.step_000031.state";
  m.state_epoch = 3;
  m.state_step = 31;
  m.threads = 4;
  m.arguments = {"--data=planted", "--epochs=5"};
  m.files = {"config.json", "checkpoints/epoch_003.step_000031.state"};
  const run::Json doc = written(m);
  EXPECT_EQ(doc["state"], run::Json({{"file", m.state_file}, {"epoch", 3}, {"step", 31}}));
  for (const char* status : {"running", "interrupted", "complete"}) {
    m.status = status;
    written(m);
    const std::optional<run::Manifest> r = run::read_manifest(run::Layout(dir_));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->epochs, 5);
    EXPECT_EQ(r->completed_epoch, 2);
    EXPECT_EQ(r->state_file, m.state_file);
    EXPECT_EQ(r->state_epoch, 3);
    EXPECT_EQ(r->state_step, 31);
    EXPECT_EQ(r->threads, 4);
    EXPECT_EQ(r->arguments, m.arguments);
    EXPECT_EQ(r->files, m.files);
  }
  m.state_file.clear();  // before the first epoch ends: "state": null
  EXPECT_TRUE(written(m)["state"].is_null());
  EXPECT_EQ(run::read_manifest(run::Layout(dir_))->state_file, "");

  expect_error_naming([&] { read_with([](run::Json& d) { d["status"] = "stopped"; }); }, "run.json: /status:");
  expect_error_naming([&] { read_with([](run::Json& d) { d["version"] = 2; }); }, "run.json: /version:");
  expect_error_naming([&] { read_with([](run::Json& d) { d["state"]["epoch"] = 4; }); }, "run.json: /state/epoch:");
  expect_error_naming([&] { read_with([](run::Json& d) { d["state"]["step"] = 0; }); }, "run.json: /state/step:");
  expect_error_naming([&] { read_with([](run::Json& d) { d["completed_epoch"] = 4; }); }, "run.json: /completed_epoch:");
  EXPECT_EQ(read_with([](run::Json& d) { d["state"]["epoch"] = 3; })->state_epoch, 3);  // the last planned epoch
  fs::remove(run::Layout(dir_).manifest());
  EXPECT_EQ(run::read_manifest(run::Layout(dir_)), std::nullopt);
}

// run_entries names what a run writes at its top; clear_run removes those and the *.tmp.<digits>
// files below the directory, and nothing else.
TEST_F(RunManifest, ClearRunRemovesTheRunsEntriesAndStaleTemporariesOnly) {
  const run::Layout layout(dir_);
  EXPECT_EQ(run::run_entries(layout),
            std::vector<std::string>({"config.json", "metrics.jsonl", "model.ckpt", "run.json", "summary.json", "report.html",
                                      "checkpoints", "analysis", "figures", "eeg"}));
  const auto touch = [&](const std::string& name) {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::ofstream(path(name)) << "x";
  };
  for (const char* name : {"config.json", "eeg/epoch_001.npy", "figures/training.svg", "checkpoints/epoch_001.ckpt",
                           "notes.txt", "notes.txt.tmp.123", "mine/data.tmp.42", "mine/data.tmp.", "mine/data.tmp.4x",
                           "mine/keep.txt"})
    touch(name);
  run::clear_run(layout);
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(dir_))
    if (e.is_regular_file()) left.push_back(fs::relative(e.path(), dir_).string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, std::vector<std::string>({"mine/data.tmp.", "mine/data.tmp.4x", "mine/keep.txt", "notes.txt"}));
}

// directory_entries of a file is an error (not an empty folder); remove_file removes a link itself,
// even one to a folder, but refuses a folder.
TEST_F(RunManifest, DirectoryEntriesOfAFileIsAnErrorAndRemoveFileRemovesALinkToAFolder) {
  std::ofstream(path("file")) << "x";
  expect_error_naming([&] { run::directory_entries(path("file")); }, path("file") + ": is not a directory");
  EXPECT_TRUE(run::directory_entries(path("missing")).empty());
  fs::create_directories(path("folder/inside"));
  EXPECT_EQ(run::directory_entries(path("folder")), std::vector<std::string>({"inside"}));
  fs::create_directory_symlink(path("folder"), path("link"));
  run::remove_file(path("link"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(path("link"))));
  EXPECT_TRUE(fs::is_directory(path("folder/inside")));
  expect_error_naming([&] { run::remove_file(path("folder")); }, path("folder") + ": is a directory");
}

}  // namespace
