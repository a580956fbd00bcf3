// tests/apps/test_eeg_run.cpp — `train --eeg` and `--inject` through apps/training_run.h: the probe
// leaves the weights bit-identical, the eeg files are deterministic and survive a stop and resume,
// planted faults are detected within a bounded number of steps, and a clean run has no events on
// the block channels (region channels do change in clean training: README "NN-EEG").
#include <gtest/gtest.h>
#include <omp.h>

#include <memory>
#include <string>
#include <vector>

#include "apps/training_run.h"
#include "base/fileio.h"
#include "datasets/dataset.h"
#include "report/report_eeg.h"
#include "base/npz.h"
#include "run/json.h"
#include "run/layout.h"
#include "tests/error_of.h"
#include "tests/planted_split.h"
#include "tests/run_compare.h"
#include "tests/temp_dir.h"

namespace {

// 1,600 planted training images in batches of 32: 50 steps per epoch, 200 in 4 epochs (the events
// need more than H + 1 = 129 steps of history).  (In batches of 8 a clean run had region events
// of z 6.0 … 7.6: README "NN-EEG" says so.)
const datasets::DataSplit& planted_1600() { return planted_split(1600, 40); }

app::TrainingSettings eeg_settings(const std::string& out) {
  app::TrainingSettings s;
  s.model = s.spec = "conv3x3:4 relu maxpool2 linear:10";
  s.data_spec = "planted";
  s.out = out;
  s.threads = 2;
  s.train.epochs = 4;
  s.train.batch = 32;
  s.train.optim.lr = 0.01f;
  s.train.schedule.kind = "constant";
  s.analysis.grid = {4, 4, 2};
  s.eeg_window = 32;
  return s;
}

class EegRun : public TwoThreadTempDirTest {
 protected:
  // The events of a run, as the callback heard them.
  std::vector<imaging::eeg::Event> run(const app::TrainingSettings& s) {
    std::vector<imaging::eeg::Event> events;
    app::TrainingCallbacks callbacks;
    callbacks.on_eeg_event = [&](const imaging::eeg::Event& e) { events.push_back(e); };
    app::run_training(s, planted_1600(), callbacks);
    return events;
  }
};

TEST_F(EegRun, TheProbeLeavesTheWeightsBitIdenticalAndTheFilesAreDeterministic) {
  app::TrainingSettings plain = eeg_settings(path("plain"));
  plain.eeg_window = 0;
  app::run_training(plain, planted_1600(), {});
  run(eeg_settings(path("a")));
  run(eeg_settings(path("b")));
  for (int e = 1; e <= 4; ++e) {
    const run::Layout p(path("plain")), a(path("a"));
    EXPECT_EQ(base::read_file(p.checkpoint(e)), base::read_file(a.checkpoint(e))) << "epoch " << e;
  }
  expect_same_run(path("a"), path("b"));
  // the rows: 50 steps × the channels, the loss first and equal to the epoch's losses
  const run::Layout a(path("a"));
  const base::Npy2D rows = base::read_npy_2d(a.eeg_rows(2), 1 << 24);
  const run::Json channels = run::read_json(a.eeg_channels());
  EXPECT_EQ(rows.rows, 50);
  EXPECT_EQ(size_t(rows.cols), channels["channels"].size());
  EXPECT_EQ(channels["channels"][0]["name"], "loss");
  double mean_loss = 0;
  for (int t = 0; t < rows.rows; ++t) mean_loss += rows.data[size_t(t) * size_t(rows.cols)] / 50.0;
  const std::string metrics = base::read_file(a.metrics());
  const run::Json epoch2 = run::parse_json(metrics.substr(metrics.find('\n') + 1, metrics.find('\n', metrics.find('\n') + 1) - metrics.find('\n') - 1), "metrics");
  EXPECT_NEAR(mean_loss, epoch2["train_loss"].get<double>(), 1e-5);  // equal batches of 32
  // listed in the manifest; the config says how it was recorded
  const std::string manifest = base::read_file(a.manifest());
  EXPECT_NE(manifest.find("eeg/epoch_004.npy"), std::string::npos);
  EXPECT_NE(manifest.find("eeg/epoch_004.json"), std::string::npos);
  EXPECT_NE(base::read_file(a.config()).find("\"window\": 32"), std::string::npos);
  EXPECT_EQ(base::read_file(path("plain/config.json")).find("\"eeg\""), std::string::npos);
}

// 810 images in batches of 32: 26 steps per epoch, the last a short batch of 10, over 16 epochs.
// Stopped twice inside epoch 15 (steps 365 … 390), the resumed run replays the rows from
// 365 − max(2W, H + 2R) − H − 2R = 45 on, read from the middle of epoch 2's file (a stop before step
// 322 replays every row from step 1, which would leave that cut untested).
TEST_F(EegRun, StoppedInsideAnEpochAndResumedItWritesTheSameEegFiles) {
  const datasets::DataSplit& data = planted_split(810, 40);
  auto settings = [&](const std::string& out) {
    app::TrainingSettings s = eeg_settings(out);
    s.train.epochs = 16;
    return s;
  };
  app::run_training(settings(path("reference")), data, {});
  app::TrainingSettings s = settings(path("stopped"));
  for (long at : {370L, 380L}) {  // inside epoch 15, twice
    app::TrainingCallbacks stop;
    auto last = std::make_shared<long>(0);
    stop.step_probe.after_step = [last](const nn::StepInfo& i) { *last = i.global_step; };
    stop.stop_requested = [last, at] { return *last >= at; };
    EXPECT_FALSE(app::run_training(s, data, stop).complete);
    EXPECT_TRUE(base::file_exists(run::Layout(s.out).eeg_rows(15)));
    s.start = app::RunStart::resume;
  }
  EXPECT_TRUE(app::run_training(s, data, {}).complete);
  expect_same_run(path("reference"), s.out);
}

TEST_F(EegRun, ACleanRunHasNoBlockEventsAndPlantedFaultsAreDetectedWithinTwoSteps) {
  // Region channels do change in clean training (a unit comes alive and stays): this run has two
  // such region events before step 160, which README "NN-EEG" reports.  No block channel has one.
  for (const imaging::eeg::Event& e : run(eeg_settings(path("clean")))) EXPECT_EQ(e.channel, "region") << e.line();
  struct Case {
    std::string inject, block, region, channel;
  };
  const std::vector<Case> cases = {
      {"lr@160:5:10", "conv1", "", "update_ratio"},
      {"lesion@160:20:conv1/grid_2_2_1", "conv1", "grid_2_2_1", "region"},
      {"labels@160:10", "", "", "loss"},
      {"dead@160:20:conv1", "conv1", "", "activity"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.inject);
    app::TrainingSettings s = eeg_settings(path(c.inject.substr(0, c.inject.find('@'))));
    s.injections = imaging::eeg::parse_injections(c.inject);
    bool found = false;
    for (const imaging::eeg::Event& e : run(s)) {
      if (e.channel != "region") {
        EXPECT_GE(e.step, 160) << e.line();  // no block event before the fault
      }
      if (e.block == c.block && e.region == c.region && e.channel == c.channel && e.step <= 161) found = true;
    }
    EXPECT_TRUE(found);
    const run::Json config = run::read_json(path(c.inject.substr(0, c.inject.find('@'))) + "/config.json");
    EXPECT_EQ(config["inject"][0]["kind"], c.inject.substr(0, c.inject.find('@')));
  }
}

// A change event is confirmed one step after its onset and belongs to the epoch of the confirming
// step (README "NN-EEG"): a dead conv1 from step 150, epoch 3's last step, is an event at step 150
// listed in eeg/epoch_004.json (steps 151 … 200).  The report refused that file ("/events/0/step:
// expected an integer from 151 to 200"), so the run had no report at all.
TEST_F(EegRun, AnEventWhoseOnsetIsTheLastStepOfAnEpochIsReadBack) {
  app::TrainingSettings s = eeg_settings(path("edge"));
  s.injections = imaging::eeg::parse_injections("dead@150:20:conv1");
  bool heard = false;
  for (const imaging::eeg::Event& e : run(s)) heard |= e.step == 150 && e.block == "conv1" && e.channel == "activity";
  ASSERT_TRUE(heard);
  const std::vector<report::EegEpoch> eeg = report::load_eeg(s.out);
  ASSERT_EQ(eeg.size(), 4u);
  EXPECT_EQ(eeg[3].first_step, 151);
  bool listed = false;
  for (const report::EegEvent& e : eeg[3].events) listed |= e.step == 150 && e.block == "conv1" && e.channel == "activity";
  EXPECT_TRUE(listed);
  for (const report::EegEvent& e : eeg[2].events) EXPECT_NE(e.step, 150) << "an event is listed once, by its confirming epoch";
}

TEST_F(EegRun, BadInjectionsAndWindowsAreOneErrorNamingTheFlag) {
  expect_error_naming([] { imaging::eeg::parse_injections("spike@10"); }, "unknown kind 'spike'");
  expect_error_naming([] { imaging::eeg::parse_injections("lr@0"); }, "--inject 'lr@0'");
  expect_error_naming([] { imaging::eeg::parse_injections("lesion@5:2"); }, "BLOCK/grid_i_j_k");
  expect_error_naming([] { imaging::eeg::parse_injections("dead@5:2"); }, "expected PARAM BLOCK");
  app::TrainingSettings s = eeg_settings(path("bad"));
  s.injections = imaging::eeg::parse_injections("lr@201");
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "flag --inject 'lr@201': step 201 is outside the run's steps 1 … 200");
  s.injections = imaging::eeg::parse_injections("lr@199:5");  // steps 199 … 203 of a 200-step run
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "steps 199 … 203 run past the run's last step 200");
  s.injections = imaging::eeg::parse_injections("noise@20:1:2000");
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "expected a number in [0, 1000], found '2000'");
  s.injections = imaging::eeg::parse_injections("lesion@20:5:conv1/grid_9_1_1");
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "pattern 'grid_9_1_1' matches no region of block conv1");
  s.injections = imaging::eeg::parse_injections("bias@20:5:conv7=1");
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "no block 'conv7'");
  s.injections = imaging::eeg::parse_injections("dead@20:5:conv7");
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "no block 'conv7'");
  // a --grid finer than a block allows: named with the flag and the block, as --analyze-every names it
  s.injections.clear();
  s.model = s.spec = "conv3x3:8 relu maxpool2 linear:10";  // conv1: 8,192 units, so 8,192 regions at most
  s.analysis.grid = run::GridSpec{64, 64, 999};
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "--grid 64x64x999: block conv1: grid 64x64x999 on a ");
  s.injections = imaging::eeg::parse_injections("lr@20:5");
  s.eeg_window = 0;
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "--grid 64x64x999: block conv1:");
  s = eeg_settings(path("bad"));
  s.eeg_window = 256;
  expect_error_naming([&] { app::run_training(s, planted_1600(), {}); }, "--eeg-window 256: longer than the run's 200 steps");
  EXPECT_FALSE(base::file_exists(path("bad/config.json")));
}

}  // namespace

namespace {
// Writes FILE as np.save writes an array: header DICT (a space after the shape's comma, ending ", }"),
// padded to 128 bytes (a multiple of 64) with blanks and "\n", then PAYLOAD; returns FILE.
std::string numpy_file(const std::string& file, const std::string& dict, const std::string& payload) {
  std::string header = dict;
  header.resize(128 - 10 - 1, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  bytes += payload;
  base::write_file_atomic(file, bytes);
  return file;
}

TEST_F(EegRun, AHostileRowsFileIsOneErrorNamingIt) {
  const std::string file = path("rows.npy");
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  base::write_npy(file, {"", {2, 3}, values.data()});
  const base::Npy2D back = base::read_npy_2d(file, 100);
  EXPECT_EQ(back.rows, 2);
  EXPECT_EQ(back.cols, 3);
  EXPECT_EQ(back.data, values);
  const std::string bytes = base::read_file(file);
  base::write_file_atomic(file, bytes.substr(0, bytes.size() - 1));
  expect_error_naming([&] { base::read_npy_2d(file, 100); }, file + ": expected 152 bytes");
  base::write_file_atomic(file, "not numpy at all");
  expect_error_naming([&] { base::read_npy_2d(file, 100); }, "not a NumPy .npy v1.0 file");
  base::write_file_atomic(file, bytes);
  expect_error_naming([&] { base::read_npy_2d(file, 5); }, "holds 6 values, expected at most 5");
}

// The same array as np.save writes it (np.save(f, np.arange(1, 7, dtype='<f4').reshape(2, 3))) is read
// as nnfmri's own; another dtype or Fortran order is still refused.
TEST_F(EegRun, AnArrayAsNumPyWritesItIsRead) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  const std::string payload(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  const auto numpy = [&](const std::string& dict) { return numpy_file(path("numpy.npy"), dict, payload); };
  const std::string file = numpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  const base::Npy2D back = base::read_npy_2d(file, 100);
  EXPECT_EQ(back.rows, 2);
  EXPECT_EQ(back.cols, 3);
  EXPECT_EQ(back.data, values);
  expect_error_naming([&] { base::read_npy_2d(numpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"), 100); },
                      "expected a float32 ('<f4') C-order array");
  expect_error_naming([&] { base::read_npy_2d(numpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), 100); },
                      "expected a float32 ('<f4') C-order array");
  expect_error_naming([&] { base::read_npy_2d(numpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }"), 100); },
                      "expected a 2-D shape");
}

// np.save of a float64 array (numpy's default dtype) of the expected shape is twice the bytes of the
// float32 rows: it is refused for its dtype, not for its size ("160128 bytes, expected at most 145545",
// which does not say what is wrong); so is a shape with more values than allowed.
TEST_F(EegRun, ALargeFileOfAnotherDtypeIsRefusedForItsDtype) {
  const std::string file =
      numpy_file(path("f8.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (100, 200), }", std::string(100 * 200 * sizeof(double), '\0'));
  expect_error_naming([&] { base::read_npy_2d(file, 100 * 200); }, "expected a float32 ('<f4') C-order array");
  const std::vector<float> values(100 * 200 * 2, 1.f);
  base::write_npy(file, {"", {200, 200}, values.data()});
  expect_error_naming([&] { base::read_npy_2d(file, 100 * 200); }, "holds 40000 values, expected at most 20000");
}

// The reader's edges: an array of no row is its header alone (read, not "truncated"); a byte after
// the values is refused as a missing one is; a dimension of ten digits is refused as malformed (it
// would overflow an int), and a shape above 1 GiB of values is refused by its count whatever the
// caller's maximum.
TEST_F(EegRun, TheRowsReaderAtItsEdges) {
  const std::string file = path("edge.npy");
  base::write_npy(file, {"", {0, 3}, nullptr});
  const base::Npy2D empty = base::read_npy_2d(file, 100);
  EXPECT_EQ(empty.rows, 0);
  EXPECT_EQ(empty.cols, 3);
  EXPECT_TRUE(empty.data.empty());
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  base::write_npy(file, {"", {2, 3}, values.data()});
  base::write_file_atomic(file, base::read_file(file) + '\0');
  expect_error_naming([&] { base::read_npy_2d(file, 100); }, file + ": expected 152 bytes for shape (2,3), found 153");
  numpy_file(file, "{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999, 1), }", "");
  expect_error_naming([&] { base::read_npy_2d(file, 100); }, file + ": expected a 2-D shape (rows,cols), found (9999999999, 1)");
  numpy_file(file, "{'descr': '<f4', 'fortran_order': False, 'shape': (20000, 20000), }", "");
  expect_error_naming([&] { base::read_npy_2d(file, size_t(-1)); }, file + ": holds 400000000 values, expected at most 268435456");
}
}  // namespace
