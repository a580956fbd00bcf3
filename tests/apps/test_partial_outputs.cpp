// tests/apps/test_partial_outputs.cpp — commands that write several files never leave an earlier run's
// file beside a new one: `analyze` removes every stage file of an earlier analysis in --out (a run of
// fewer stages, or a stage that fails, would otherwise mix two analyses), `export --npz` the earlier
// description before the new weights, `corrupt` the earlier record before the new batches.  A late
// failure is provoked by a directory standing at the atomic writer's temporary name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "apps/commands.h"
#include "base/error.h"
#include "tests/command_data.h"
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
}

TEST_F(PartialOutputs, ExportNeverPairsNewWeightsWithAnOldDescription) {
  ASSERT_EQ(run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("E.npz")}), 0);
  ASSERT_TRUE(fs::exists(path("E.model.json")));
  block(path("E.model.json"));
  EXPECT_THROW(run_command(app::cmd_export, {path("a.ckpt"), "--npz", path("E.npz")}), base::Error);
  EXPECT_FALSE(fs::exists(path("E.model.json")));  // so `import E.npz` asks for one instead of pairing them
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
