// tests/apps/test_partial_outputs.cpp — commands that write several files never leave an earlier run's
// file beside a new one: `analyze` removes every stage file of an earlier analysis in --out (a run of
// fewer stages, or a stage that fails, would otherwise mix two analyses), `export --npz` the earlier
// description before the new weights, `corrupt` the earlier record before the new batches.  A late
// failure is provoked by a directory standing at the atomic writer's temporary name.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "apps/commands.h"
#include "base/error.h"
#include "base/fileio.h"
#include "run/manifest.h"
#include "tests/command_data.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

class PartialOutputs : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const datasets::DataSplit split = write_random_cifar10(path("data"), 40, 40, 3, 0, 256);
    write_initialised_checkpoint(path("a.ckpt"), "conv3x3:4 relu maxpool2 linear:10", 2, split.train.class_names);
  }
  // Ten class folders a … j of two 3x32x32 PNGs each (what corrupt writes, what a.ckpt reads).
  void write_image_folder(const std::string& dir) const {
    for (char cls = 'a'; cls < 'a' + 10; ++cls)
      for (const char* name : {"0.png", "1.png"}) {
        fs::create_directories(dir + "/" + cls);
        const std::vector<unsigned char> pixels(32 * 32 * 3, 100);
        ASSERT_NE(stbi_write_png((dir + "/" + cls + "/" + name).c_str(), 32, 32, 3, pixels.data(), 32 * 3), 0);
      }
  }
  // The atomic writer's temporary name of `file` taken by a non-empty directory: the next write fails.
  void block(const std::string& file) const {
    const std::string tmp = file + ".tmp." + std::to_string(getpid());
    fs::create_directories(tmp + "/x");
  }
};

TEST_F(PartialOutputs, AnalyzeNeverMixesTwoAnalyses) {
  const std::vector<std::string> common = {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--out", path("A"),
                                           "--eval-samples", "20", "--zeta-samples", "10", "--zeta-budget", "0.2",
                                           "--tract-samples", "10"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ASSERT_EQ(run_command(app::cmd_analyze, with({"--stages", "grid,zeta,tract"})), 0);
  for (const char* f : {"grid.json", "zeta.json", "tract.json"}) ASSERT_TRUE(fs::exists(path("A/") + f)) << f;
  ASSERT_EQ(run_command(app::cmd_analyze, with({"--stages", "grid"})), 0);  // fewer stages
  EXPECT_TRUE(fs::exists(path("A/grid.json")));
  EXPECT_FALSE(fs::exists(path("A/zeta.json")));
  EXPECT_FALSE(fs::exists(path("A/tract.json")));
  ASSERT_EQ(run_command(app::cmd_analyze, with({"--stages", "grid,zeta"})), 0);
  block(path("A/zeta.json"));  // the ζ stage fails to write: no earlier zeta.json beside the new grid.json
  EXPECT_THROW(run_command(app::cmd_analyze, with({"--stages", "grid,zeta"})), base::Error);
  EXPECT_FALSE(fs::exists(path("A/zeta.json")));
  // ζ settings that cannot run (`exact` on conv1's 256 regions) fail before the earlier analysis goes.
  fs::remove_all(path("A/zeta.json") + ".tmp." + std::to_string(getpid()));
  ASSERT_EQ(run_command(app::cmd_analyze, with({"--stages", "grid,zeta,tract"})), 0);
  const std::string zeta = base::read_file(path("A/zeta.json"));
  EXPECT_NE(error_of([&] { run_command(app::cmd_analyze, with({"--zeta-method", "exact"})); }).find("--zeta-method exact"),
            std::string::npos);
  for (const char* f : {"grid.json", "zeta.json", "tract.json"}) EXPECT_TRUE(fs::exists(path("A/") + f)) << f;
  EXPECT_EQ(base::read_file(path("A/zeta.json")), zeta);
}

TEST_F(PartialOutputs, ExportNeverPairsNewWeightsWithAnOldDescription) {
  ASSERT_EQ(run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("E.npz")}), 0);
  ASSERT_TRUE(fs::exists(path("E.model.json")));
  block(path("E.model.json"));
  EXPECT_THROW(run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("E.npz")}), base::Error);
  EXPECT_FALSE(fs::exists(path("E.model.json")));  // so `import E.npz` asks for one instead of pairing them
}

// A failed export leaves none of the files it wrote: a full disk at --safetensors left the new .npz and
// its description behind, a whole-looking pair (and "wrote E.npz and E.model.json" printed).  Blocking the
// temporary's name is now found by require_writable before any work, so this checks that refusal (the
// output named, nothing written, nothing printed); the late failure itself is
// AWriteThatFailsLateRemovesTheOutputsWrittenBeforeIt below.
TEST_F(PartialOutputs, AnExportThatFailsLateLeavesNoneOfItsOutputs) {
  block(path("E.safetensors"));
  testing::internal::CaptureStdout();
  const std::string message =
      error_of([&] { run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("E.npz"), "--safetensors", path("E.safetensors")}); });
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  EXPECT_NE(message.find(path("E.safetensors")), std::string::npos) << message;
  for (const char* f : {"E.npz", "E.model.json", "E.safetensors"}) EXPECT_FALSE(fs::exists(path(f))) << f;
  fs::remove_all(path("E.safetensors") + ".tmp." + std::to_string(getpid()));
  ASSERT_EQ(run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("E.npz"), "--safetensors", path("E.safetensors")}), 0);
  for (const char* f : {"E.npz", "E.model.json", "E.safetensors"}) EXPECT_TRUE(fs::exists(path(f))) << f;
}

// The same for eval's two outputs: a --dump that cannot be written left the --lesion-json written
// before it, with "wrote L.json" printed.  As above, the blocked name is refused before any work; the late
// failure is the test below.
TEST_F(PartialOutputs, AnEvalWhoseDumpFailsLeavesNoLesionJson) {
  const std::vector<std::string> args = {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--lesion", "conv1:grid_1_1_1",
                                         "--lesion-json", path("L.json"), "--dump", path("D.npz")};
  block(path("D.npz"));
  testing::internal::CaptureStdout();
  const std::string message = error_of([&] { run_command(app::cmd_eval, args); });
  EXPECT_EQ(testing::internal::GetCapturedStdout().find("wrote"), std::string::npos);
  EXPECT_NE(message.find(path("D.npz")), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(path("L.json")));
  EXPECT_FALSE(fs::exists(path("D.npz")));
  fs::remove_all(path("D.npz") + ".tmp." + std::to_string(getpid()));
  ASSERT_EQ(run_command(app::cmd_eval, args), 0);
  EXPECT_TRUE(fs::exists(path("L.json")));
  EXPECT_TRUE(fs::exists(path("D.npz")));
}

// Runs `step` under a file-size limit (RLIMIT_FSIZE) of `bytes`, with SIGXFSZ ignored as apps/main.cpp ignores it, so a
// write past the limit fails with EFBIG; both are restored after.
void with_file_size_limit(rlim_t bytes, const std::function<void()>& step) {
  struct rlimit saved {};
  getrlimit(RLIMIT_FSIZE, &saved);
  void (*handler)(int) = std::signal(SIGXFSZ, SIG_IGN);
  const struct rlimit limit = {bytes, saved.rlim_max};
  setrlimit(RLIMIT_FSIZE, &limit);
  step();
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, handler);
}

// The two tests above block a temporary's name, which require_writable now finds before any work (refused, nothing
// written), so they no longer reach a write that fails after another output was written: a mutant keeping those
// outputs passed them.  Here the later, larger output fails past a file-size limit the earlier ones fit under, and
// none of the command's outputs is left, nothing announced.
TEST_F(PartialOutputs, AWriteThatFailsLateRemovesTheOutputsWrittenBeforeIt) {
  const std::vector<std::string> eval = {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--lesion", "conv1:grid_1_1_1",
                                         "--lesion-json", path("L.json"), "--dump", path("D.npz")};
  const std::vector<std::string> exported = {path("a.ckpt"), "--npz", path("E.npz"), "--safetensors", path("E.safetensors")};
  testing::internal::CaptureStdout();
  ASSERT_EQ(run_command(app::cmd_eval, eval), 0);
  ASSERT_EQ(run_command(app::cmd_export, exported), 0);
  testing::internal::GetCapturedStdout();
  const uintmax_t lesion_json = fs::file_size(path("L.json")), dump = fs::file_size(path("D.npz"));
  const uintmax_t npz = std::max(fs::file_size(path("E.npz")), fs::file_size(path("E.model.json")));
  const uintmax_t safetensors = fs::file_size(path("E.safetensors"));
  ASSERT_LT(lesion_json, dump);
  ASSERT_LT(npz, safetensors) << "the safetensors file (with the description in its header) is the largest";
  for (const char* f : {"L.json", "D.npz", "E.npz", "E.model.json", "E.safetensors"}) fs::remove(path(f));
  std::string eval_error, export_error;
  testing::internal::CaptureStdout();
  with_file_size_limit((lesion_json + dump) / 2, [&] { eval_error = error_of([&] { run_command(app::cmd_eval, eval); }); });
  with_file_size_limit((npz + safetensors) / 2, [&] { export_error = error_of([&] { run_command(app::cmd_export, exported); }); });
  EXPECT_EQ(testing::internal::GetCapturedStdout().find("wrote"), std::string::npos);
  EXPECT_NE(eval_error.find(path("D.npz")), std::string::npos) << eval_error;
  EXPECT_NE(export_error.find(path("E.safetensors")), std::string::npos) << export_error;
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (entry.path().filename() != "data" && entry.path().filename() != "a.ckpt") left.push_back(entry.path().filename());
  EXPECT_EQ(left, std::vector<std::string>()) << "outputs or temporaries left";
}

// What a command replaces is its own file: a user's directory under that name is refused, never
// removed with what it holds (export used fs::remove_all on NAME.model.json).
TEST_F(PartialOutputs, ADirectoryWhereACommandsOwnFileGoesIsRefusedNotRemoved) {
  fs::create_directories(path("notes.model.json/sub"));
  std::ofstream(path("notes.model.json/sub/mine.txt")) << "keep me";
  const std::string message = error_of([&] { run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("notes.npz")}); });
  EXPECT_EQ(message, path("notes.model.json") + ": is a directory, expected nnfmri's own file there (remove or rename the directory)");
  EXPECT_TRUE(fs::exists(path("notes.model.json/sub/mine.txt")));
  EXPECT_FALSE(fs::exists(path("notes.npz")));
  // the same rule for the files the other commands replace
  ASSERT_EQ(run_command(app::cmd_analyze, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--out", path("A"),
                                           "--stages", "grid", "--eval-samples", "20"}), 0);
  fs::remove(path("A/grid.json"));
  fs::create_directories(path("A/grid.json/x"));
  EXPECT_THROW(run_command(app::cmd_analyze, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--out", path("A"),
                                              "--stages", "grid", "--eval-samples", "20"}),
               base::Error);
  EXPECT_TRUE(fs::exists(path("A/grid.json/x")));
  run::remove_file(path("nothing_there"));  // nothing to remove: fine
  std::ofstream(path("plain")) << "x";
  fs::create_symlink(path("notes.model.json"), path("link"));
  run::remove_file(path("plain"));
  run::remove_file(path("link"));  // the link, not the directory it points to
  EXPECT_FALSE(fs::exists(path("plain")));
  EXPECT_FALSE(fs::is_symlink(path("link")));
  EXPECT_TRUE(fs::exists(path("notes.model.json/sub/mine.txt")));
}

// corrupt's output holds only its own batches: a folder with another data_batch_N.bin (which a
// CIFAR-10 reader would read with the new ones) or the source folder itself is refused, untouched.
TEST_F(PartialOutputs, CorruptNeverWritesBesideOtherBatchesNorOverItsSource) {
  const std::string before = base::read_file(path("data/data_batch_1.bin"));
  expect_error_naming([&] { run_command(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "noise", "--out", path("data")}); },
                      "--out " + path("data") + ": the folder --data reads");
  EXPECT_EQ(base::read_file(path("data/data_batch_1.bin")), before);
  fs::create_directories(path("mixed"));
  std::ofstream(path("mixed/data_batch_2.bin")) << "old";
  expect_error_naming([&] { run_command(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "noise", "--out", path("mixed")}); },
                      "--out " + path("mixed") + ": holds data_batch_2.bin, which corrupt does not write");
  EXPECT_FALSE(fs::exists(path("mixed/data_batch_1.bin")));
}

// The source is found from the files the data was read from, not from the spelling of --data: cifar10
// through $NNFMRI_DATA, a planted background folder and an images:DIR folder (or a folder inside it)
// were rewritten (only a literal cifar10:DIR was compared).
TEST_F(PartialOutputs, CorruptNeverWritesIntoAnyFolderItsDataWasReadFrom) {
  const std::string batch = path("data/data_batch_1.bin"), before = base::read_file(batch);
  const char* old_env = std::getenv("NNFMRI_DATA");
  const std::string saved = old_env ? old_env : "";
  fs::create_directories(path("nd"));
  fs::create_symlink(path("data"), path("nd/cifar-10-batches-bin"));
  setenv("NNFMRI_DATA", path("nd").c_str(), 1);
  const std::string through_env =
      error_of([&] { run_command(app::cmd_corrupt, {"--data", "cifar10", "--kind", "occlusion", "--out", path("nd/cifar-10-batches-bin")}); });
  if (old_env) setenv("NNFMRI_DATA", saved.c_str(), 1); else unsetenv("NNFMRI_DATA");
  EXPECT_NE(through_env.find("--out " + path("nd/cifar-10-batches-bin") + ": the folder --data reads"), std::string::npos) << through_env;
  expect_error_naming([&] { run_command(app::cmd_corrupt, {"--data", "planted:1,background=" + path("data"), "--kind", "noise", "--out", path("data")}); },
                      "--out " + path("data") + ": the folder --data reads");
  EXPECT_EQ(base::read_file(batch), before);
  write_image_folder(path("im"));
  expect_error_naming([&] { run_command(app::cmd_corrupt, {"--data", "images:" + path("im"), "--split", "0.5", "--kind", "noise", "--out", path("im")}); },
                      "--out " + path("im") + ": the folder --data reads");
  expect_error_naming([&] { run_command(app::cmd_corrupt, {"--data", "images:" + path("im"), "--split", "0.5", "--kind", "noise", "--out", path("im/new")}); },
                      "--out " + path("im/new") + ": inside " + path("im") + ", the folder --data reads");
  EXPECT_FALSE(fs::exists(path("im/data_batch_1.bin")));
  EXPECT_FALSE(fs::exists(path("im/new")));
  // Another folder is fine.
  EXPECT_EQ(run_command(app::cmd_corrupt, {"--data", "images:" + path("im"), "--split", "0.5", "--kind", "noise", "--out", path("elsewhere")}), 0);
}

// analyze and monitor write nothing into the data they read either (nor does train: tests/bad_inputs.sh):
// an output folder inside an images:DIR folder was a class without images, and the data no longer loaded.
TEST_F(PartialOutputs, AnalyzeAndMonitorNeverWriteIntoTheFolderTheyRead) {
  write_image_folder(path("im"));
  const std::vector<std::string> analyze = {path("a.ckpt"), "--data", "images:" + path("im"), "--split", "0.5",
                                            "--stages", "grid", "--eval-samples", "8"};
  auto with_out = [](std::vector<std::string> args, const std::string& out) {
    args.insert(args.end(), {"--out", out});
    return args;
  };
  expect_error_naming([&] { run_command(app::cmd_analyze, with_out(analyze, path("im/A"))); },
                      "--out " + path("im/A") + ": inside " + path("im") + ", the folder --data reads");
  EXPECT_FALSE(fs::exists(path("im/A")));
  ASSERT_EQ(run_command(app::cmd_profile, {path("a.ckpt"), "--data", "cifar10:" + path("data"), "--knn-images", "20",
                                           "--knn-k", "5", "--spatial-bank", "10", "--threads", "1", "--out", path("a.profile")}), 0);
  const std::vector<std::string> monitor = {path("a.ckpt"), "--profile", path("a.profile"), "--threads", "1"};
  auto with = [](std::vector<std::string> args, const std::vector<std::string>& extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_error_naming([&] { run_command(app::cmd_monitor, with(monitor, {"--input", "images:" + path("im"), "--split", "0.5", "--out", path("im")})); },
                      "--out " + path("im") + ": the folder --input reads");
  expect_error_naming([&] { run_command(app::cmd_monitor, with(monitor, {"--input", "cifar10:" + path("data"), "--out", path("data/.")})); },
                      "--out " + path("data/.") + ": the folder --input reads");
  EXPECT_FALSE(fs::exists(path("im/monitor.jsonl")));
  EXPECT_FALSE(fs::exists(path("data/monitor.jsonl")));
  // The folder still loads, and another output folder is fine.
  EXPECT_EQ(run_command(app::cmd_analyze, with_out(analyze, path("A"))), 0);
  EXPECT_EQ(run_command(app::cmd_monitor, with(monitor, {"--input", "images:" + path("im"), "--split", "0.5", "--out", path("M")})), 0);
}

TEST_F(PartialOutputs, CorruptNeverLeavesNewBatchesUnderAnOldRecord) {
  ASSERT_EQ(run_command(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "noise", "--out", path("C")}), 0);
  ASSERT_TRUE(fs::exists(path("C/corruption.json")));
  block(path("C/corruption.json"));
  EXPECT_THROW(run_command(app::cmd_corrupt, {"--data", "cifar10:" + path("data"), "--kind", "blur", "--out", path("C")}),
               base::Error);
  EXPECT_FALSE(fs::exists(path("C/corruption.json")));
}

}  // namespace
