// tests/apps/test_eval_command.cpp — `nnfmri eval --lesion ... --lesion-json FILE` through the command
// itself: the JSON holds the numbers the command prints, its lesioned accuracy is the lesion game's own
// dense v(S) (accuracy value) for both ablations, its matrices are consistent (rows sum to the class's
// images, change = after − before, the diagonal gives the per-class accuracies); --lesion-json without
// --lesion is one error naming the flag, and nothing is written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)

#include "apps/commands.h"
#include "base/sha256.h"
#include "base/error.h"
#include "base/fileio.h"
#include "datasets/cifar10.h"
#include "imaging/lesion_game.h"
#include "imaging/region_lesion.h"
#include "imaging/zeta_settings.h"
#include "nn/checkpoint.h"
#include "tests/command_data.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

class EvalCommand : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const datasets::DataSplit split = write_random_cifar10(path("data"), 20, 90, 11, 0, 256);
    write_initialised_checkpoint(path("a.ckpt"), "conv3x3:6 relu maxpool2 linear:10", 4, split.train.class_names);
  }
};

constexpr const char* kLesion = "conv1:grid_*_2_*,grid_3_*_1";

// The provenance every output carries (config.json's data, the imaging files' dataset): each file once
// with its SHA-256, though the train and test halves of a CIFAR-10 folder share its class-name file.
TEST_F(EvalCommand, DataProvenanceListsEachFileOnce) {
  const nlohmann::ordered_json d = app::describe_data("cifar10:" + path("data"), datasets::load_cifar10(path("data")));
  std::vector<std::string> paths;
  for (const auto& f : d.at("files")) {
    paths.push_back(f.at("path").get<std::string>());
    EXPECT_EQ(f.at("sha256").get<std::string>().size(), 64u) << paths.back();
  }
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << d.at("files").dump();
  for (const char* name : {"batches.meta.txt", "data_batch_1.bin", "test_batch.bin"})
    EXPECT_EQ(std::count(paths.begin(), paths.end(), path("data") + "/" + name), 1) << name << " in " << d.at("files").dump();
}

// data_identity (what every rank of an MPI job compares): each file's SHA-256 under its file name, no
// directory and no spec, so ranks that read copies in other directories agree; and an image folder,
// whose two halves share one digest, is one entry "images" (in describe_data too: listed once), with
// the line that says how it was read (read_as).
TEST_F(EvalCommand, DataIdentityKeysFilesByNameAndAnImageFolderOnce) {
  const datasets::DataSplit data = datasets::load_cifar10(path("data"));
  const nlohmann::ordered_json described = app::describe_data("cifar10:" + path("data"), data);
  const nlohmann::ordered_json id = app::data_identity(described, data);
  EXPECT_FALSE(id.contains("spec"));
  std::vector<std::string> keys;
  for (auto it = id.at("files").begin(); it != id.at("files").end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"batches.meta.txt", "data_batch_1.bin", "test_batch.bin"})) << id.dump();
  for (const auto& f : described.at("files")) {
    const std::string file = f.at("path").get<std::string>();
    EXPECT_EQ(id.at("files").value(file.substr(file.find_last_of('/') + 1), ""), f.at("sha256")) << file;
  }
  datasets::DataSplit folder;  // what images:DIR gives each half (datasets/image_folder.h)
  for (datasets::Dataset* half : {&folder.train, &folder.test}) {
    half->files = {path("imgs")};
    half->digest = std::string(64, 'a');
  }
  const nlohmann::ordered_json folder_described = app::describe_data("images:" + path("imgs"), folder);
  ASSERT_EQ(folder_described.at("files").size(), 1u) << folder_described.dump();
  EXPECT_EQ(folder_described.at("files").at(0).at("path"), path("imgs"));
  EXPECT_EQ(app::data_identity(folder_described, folder).at("files"), (nlohmann::ordered_json{{"images", std::string(64, 'a')}}));
  // how the folder was read (channels, size, split) is part of what the data is; a CIFAR-10 file has no such line
  EXPECT_FALSE(described.contains("read_as"));
  folder.test.read_as = "RGB 4x4, split 0.200000 seed 1";
  EXPECT_EQ(app::describe_data("images:" + path("imgs"), folder).value("read_as", ""), folder.test.read_as);
  EXPECT_EQ(app::data_identity(app::describe_data("images:" + path("imgs"), folder), folder).value("read_as", ""), folder.test.read_as);
}

TEST_F(EvalCommand, LesionJsonAgreesWithThePrintAndTheLesionGame) {
  nn::Checkpoint ck = nn::load_checkpoint(path("a.ckpt"));
  const datasets::DataSplit data = datasets::load_cifar10(path("data"));
  const nn::LabeledImages test = data.test.view();
  std::vector<uint32_t> all(test.count);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint32_t(i);
  for (const std::string ablation : {"zero", "mean"}) {
    const std::string out = path("lesion_" + ablation + ".json");
    testing::internal::CaptureStdout();
    const int rc = run_command(app::cmd_eval, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--grid", "4x4x2", "--batch", "32",
                                       "--threads", "1", "--lesion", kLesion, "--lesion-ablation", ablation, "--lesion-json", out});
    std::fflush(stdout);
    const std::string printed = testing::internal::GetCapturedStdout();
    ASSERT_EQ(rc, 0);
    const nlohmann::json j = nlohmann::json::parse(base::read_file(out));
    EXPECT_EQ(j["block"], "conv1");
    EXPECT_EQ(j["ablation"], ablation);
    EXPECT_EQ(j["grid"], nlohmann::json::array({4, 4, 2}));
    EXPECT_EQ(j["regions"].size(), 11u);  // column 2: 4 rows × 2 groups; row 3, group 1: 4 columns, one shared
    EXPECT_EQ(j["images"], 90);
    // the printed line, from the JSON's numbers
    char line[160];
    const double before = j["accuracy"]["before"], after = j["accuracy"]["after"];
    std::snprintf(line, sizeof line, "accuracy before %.4f  after %.4f  change %+.4f  (90 images)", before, after, after - before);
    EXPECT_NE(printed.find(line), std::string::npos) << line << "\n" << printed;
    // the lesioned accuracy is the lesion game's dense v(S), S = every region but the lesioned ones
    imaging::ZetaSettings s;
    s.value = "accuracy";
    s.ablation = ablation;
    imaging::CoalitionValue game(*ck.net, 0, run::GridSpec{4, 4, 2}, test, all, s);
    const imaging::RegionLesion lesion = imaging::parse_region_lesion(kLesion, *ck.net, run::GridSpec{4, 4, 2}, "--lesion");
    std::vector<bool> coalition(size_t(game.regions()), true);
    for (int r : lesion.regions) coalition[size_t(r)] = false;
    EXPECT_NEAR(after, game.value(coalition), 1e-12) << ablation;
    EXPECT_NEAR(before, game.v_all(), 1e-12) << ablation;
    bool changed = false;
    for (const auto& row : j["confusion"]["change"])
      for (const auto& v : row) changed = changed || v.get<long>() != 0;
    if (ablation == "zero") {
      EXPECT_TRUE(changed) << "a third of conv1's cells zeroed changes some prediction";
    }
    // the matrices: rows sum to the class's 9 images, change = after − before, the diagonal over the
    // row is the per-class accuracy, the trace over all images the accuracy
    const nlohmann::json& m = j["confusion"];
    long trace_after = 0;
    for (int y = 0; y < 10; ++y) {
      long row_before = 0, row_after = 0;
      for (int p = 0; p < 10; ++p) {
        row_before += m["before"][y][p].get<long>();
        row_after += m["after"][y][p].get<long>();
        EXPECT_EQ(m["change"][y][p].get<long>(), m["after"][y][p].get<long>() - m["before"][y][p].get<long>());
      }
      EXPECT_EQ(row_before, 9);
      EXPECT_EQ(row_after, 9);
      trace_after += m["after"][y][y].get<long>();
      EXPECT_EQ(j["per_class"][y]["class"], y);
      EXPECT_EQ(j["per_class"][y]["images"], 9);
      EXPECT_DOUBLE_EQ(j["per_class"][y]["after"].get<double>(), m["after"][y][y].get<double>() / 9);
      EXPECT_DOUBLE_EQ(j["per_class"][y]["before"].get<double>(), m["before"][y][y].get<double>() / 9);
    }
    EXPECT_DOUBLE_EQ(after, double(trace_after) / 90);
  }
  // --lesion-json without --lesion: one error naming the flag, nothing written
  const std::string e = error_of([&] {
    run_command(app::cmd_eval, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--lesion-json", path("none.json")});
  });
  EXPECT_NE(e.find("--lesion-json"), std::string::npos) << e;
  EXPECT_NE(e.find("needs --lesion"), std::string::npos) << e;
  EXPECT_FALSE(base::file_exists(path("none.json")));
  // so are --lesion-ablation and --grid, which set a lesion (they were ignored: exit 0)
  for (const std::vector<std::string>& flag : {std::vector<std::string>{"--lesion-ablation", "mean"}, {"--grid", "3x3x3"}}) {
    const std::string m = error_of([&] {
      run_command(app::cmd_eval, {path("a.ckpt"), "--data", "cifar10:" + path("data"), flag[0], flag[1]});
    });
    EXPECT_NE(m.find(flag[0] + " '" + flag[1] + "': needs --lesion"), std::string::npos) << m;
  }
}

// --dump and --lesion-json never write over the checkpoint being evaluated, however it is spelled:
// refused before the evaluation, naming the flag; the checkpoint is left as it was.
TEST_F(EvalCommand, AnOutputIsNeverTheCheckpoint) {
  const std::string ckpt = base::read_file(path("a.ckpt"));
  ASSERT_EQ(symlink(path("a.ckpt").c_str(), path("link.ckpt").c_str()), 0);
  for (const std::string& out : {path("a.ckpt"), path(".") + "/a.ckpt", path("link.ckpt")}) {
    testing::internal::CaptureStdout();
    const std::string message = error_of([&] {
      run_command(app::cmd_eval, {path("link.ckpt"), "--data", "cifar10:" + path("data"), "--threads", "1", "--dump", out});
    });
    EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
    EXPECT_NE(message.find("flag --dump " + out + ": the same file as the evaluated checkpoint"), std::string::npos) << message;
  }
  EXPECT_EQ(base::read_file(path("a.ckpt")), ckpt);
}

// An output --dump cannot become ("", a folder, a file in a folder that does not exist) is refused
// before the evaluation, naming it, as export's outputs are: nothing is printed, nothing written.
TEST_F(EvalCommand, ADumpThatCannotBeWrittenIsRefusedBeforeTheEvaluation) {
  base::make_directories(path("folder"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "flag --dump '': expected a non-empty OUT.npz"},
      {path("folder"), path("folder") + ": is a directory, expected a file (or no file) to write"},
      {path("none/x.npz"), path("none/x.npz") + ": no folder " + path("none/") + ", expected a file in an existing folder"}};
  for (const auto& c : cases) {  // (a structured binding cannot be captured before C++20: clang refuses it)
    const std::string& out = c.first;
    testing::internal::CaptureStdout();
    expect_error_naming([&] { run_command(app::cmd_eval, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--threads", "1", "--dump", out}); },
                        c.second);
    EXPECT_EQ(testing::internal::GetCapturedStdout(), "") << out;
  }
}

// An output in a folder where no file can be created (/proc: refused even to root) was found only by
// the write, after the whole evaluation (and the lesion's tables) had been printed: now refused before
// the evaluation, for --lesion-json and --dump alike, naming the file and what was expected.
TEST_F(EvalCommand, AnOutputInAFolderNoFileCanBeCreatedInIsRefusedBeforeTheEvaluation) {
  for (const char* flag : {"--lesion-json", "--dump"}) {
    const std::string out = std::string("/proc/hI_eval_output.") + (flag == std::string("--dump") ? "npz" : "json");
    testing::internal::CaptureStdout();
    expect_error_naming([&] {
      run_command(app::cmd_eval, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--threads", "1", "--lesion", "conv1:*", flag, out});
    }, out + ": cannot create a file in /proc/ (");
    EXPECT_EQ(testing::internal::GetCapturedStdout(), "") << flag;
  }
}

// eval and analyze use the test half alone, yet they read (and required) every training batch: a
// CIFAR-10 folder without data_batch_1.bin was refused, and a whole data set's training images sat in
// memory.  Now the folder's test_batch.bin and batches.meta.txt suffice: eval prints what it prints
// with the whole folder, and analyze's files name no training file and no training count.
TEST_F(EvalCommand, EvalAndAnalyzeReadTheTestHalfAlone) {
  // runs a command, its output captured; an error is the test's failure (the capture ended first)
  auto run = [&](int (*command)(int, char**), const std::vector<std::string>& args) {
    testing::internal::CaptureStdout();
    int rc = -1;
    std::string error;
    try {
      rc = run_command(command, args);
    } catch (const base::Error& e) {
      error = e.what();
    }
    std::fflush(stdout);
    const std::string printed = testing::internal::GetCapturedStdout();
    EXPECT_EQ(error, "");
    EXPECT_EQ(rc, 0);
    return printed;
  };
  auto eval = [&](const std::string& dir) {
    return run(app::cmd_eval, {path("a.ckpt"), "--data", "cifar10:" + dir, "--threads", "1"});
  };
  const std::string whole = eval(path("data"));
  base::make_directories(path("test_only"));
  for (const char* name : {"test_batch.bin", "batches.meta.txt"})
    std::filesystem::copy_file(path("data/") + name, path("test_only/") + name);
  EXPECT_EQ(eval(path("test_only")), whole);
  run(app::cmd_analyze, {path("a.ckpt"), "--data", "cifar10:" + path("test_only"), "--threads", "1", "--stages", "grid",
                         "--eval-samples", "16", "--out", path("scan")});
  ASSERT_TRUE(std::filesystem::exists(path("scan/grid.json")));
  const nlohmann::json grid = nlohmann::json::parse(base::read_file(path("scan/grid.json")));
  // the analysis names the checkpoint it imaged: its path as given and its SHA-256
  const nlohmann::json& imaged = grid.at("checkpoint");
  EXPECT_EQ(imaged.at("path"), path("a.ckpt"));
  EXPECT_EQ(imaged.at("sha256"), base::sha256_file(path("a.ckpt")));
  const nlohmann::json& data = grid.at("dataset");
  EXPECT_FALSE(data.contains("train_images")) << data.dump();
  EXPECT_EQ(data.at("test_images"), 90);
  ASSERT_EQ(data.at("files").size(), 2u) << data.dump();
  for (const auto& f : data.at("files"))
    EXPECT_EQ(f.at("path").get<std::string>().find("data_batch"), std::string::npos) << data.dump();
  // images:DIR of colour train/ and grayscale test/: read alone, the test half is all grayscale, and is
  // read as RGB for the 3-channel net (as the whole folder was)
  std::vector<uint8_t> pixels(32 * 32 * 3);
  for (int c = 0; c < 10; ++c)
    for (const int comp : {3, 1}) {
      const std::string dir = path(comp == 3 ? "f/train/c" : "f/test/c") + std::to_string(c);
      base::make_directories(dir);
      for (size_t p = 0; p < pixels.size(); ++p) pixels[p] = uint8_t((p * 7 + size_t(c) * 29) % 256);
      ASSERT_NE(stbi_write_png((dir + "/0.png").c_str(), 32, 32, comp, pixels.data(), 32 * comp), 0);
    }
  EXPECT_NE(run(app::cmd_eval, {path("a.ckpt"), "--data", "images:" + path("f"), "--threads", "1"}).find("(10 images, epoch 1)"),
            std::string::npos);
}

}  // namespace
