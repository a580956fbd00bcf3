// tests/apps/test_flags.cpp — apps/flags.h: the one flag table, its parser, its error lines, its usage
// text, and that its defaults and ranges are the library's.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/flags.h"
#include "imaging/analysis.h"
#include "nn/optim.h"
#include "base/fileio.h"
#include "tests/command_data.h"
#include "tests/error_of.h"
#include "tests/nnfmri_binary.h"
#include "tests/temp_dir.h"

namespace {

// Flags parsed from a list of arguments (the strings outlive the parse: Flags copies what it keeps).
app::Flags parse(app::Command command, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return app::Flags(command, int(argv.size()), argv.data());
}

std::vector<app::Command> every_command() {
  std::vector<app::Command> all;
  for (const app::CommandDef& c : app::command_table()) all.push_back(c.id);
  return all;
}

TEST(FlagTable, EachCommandTakesEachNameOnceAndEveryDefaultIsAValidValue) {
  for (app::Command command : every_command()) {
    std::set<std::string> names;
    for (const app::FlagDef& d : app::flag_table()) {
      if (!(d.commands & command)) continue;
      EXPECT_TRUE(names.insert(d.name).second) << d.name << " twice for " << app::command_def(command).name;
      EXPECT_FALSE(d.help.empty()) << d.name;
      EXPECT_EQ(d.required & ~d.commands, 0u) << d.name << " is required by a command that does not take it";
      if (d.default_value.empty() || d.kind == app::FlagKind::Switch) continue;
      // A default must pass the flag's own validation: given explicitly, it is accepted.
      EXPECT_NO_THROW(parse(command, {d.name + "=" + d.default_value, "--help"})) << d.name << " default " << d.default_value;
    }
    EXPECT_TRUE(names.count("--help")) << app::command_def(command).name;
  }
}

TEST(FlagTable, ImagingDefaultsAreTheLibrarysDefaults) {
  const imaging::AnalysisSettings from_flags =
      app::analysis_settings(parse(app::kAnalyze, {"x.ckpt", "--data", "planted", "--out", "o"}));
  EXPECT_EQ(imaging::describe(from_flags).dump(), imaging::describe(imaging::AnalysisSettings{}).dump());
}

TEST(FlagTable, TrainingDefaultsAreTheLibrarysDefaults) {
  const app::TrainingSettings s = app::training_settings(parse(app::kTrain, {"--data", "planted"}), 2);
  const nn::TrainConfig library;
  EXPECT_EQ(s.train.epochs, library.epochs);
  EXPECT_EQ(s.train.batch, library.batch);
  EXPECT_EQ(s.train.seed, library.seed);
  EXPECT_EQ(s.train.optim.kind, library.optim.kind);
  EXPECT_EQ(s.train.optim.lr, library.optim.lr);
  EXPECT_EQ(s.train.optim.momentum, library.optim.momentum);
  EXPECT_EQ(s.train.optim.weight_decay, library.optim.weight_decay);
  EXPECT_EQ(s.train.optim.nesterov, library.optim.nesterov);
  EXPECT_EQ(s.train.schedule.kind, library.schedule.kind);
  EXPECT_EQ(s.train.schedule.step_size, library.schedule.step_size);
  EXPECT_EQ(s.train.schedule.gamma, library.schedule.gamma);
  EXPECT_EQ(s.train.schedule.warmup, library.schedule.warmup);
  EXPECT_EQ(s.train.augment.enabled, library.augment.enabled);
  EXPECT_EQ(s.model, "reference");
  EXPECT_EQ(s.spec, nn::Network::preset("reference"));
  EXPECT_EQ(s.out, "runs/reference");
  EXPECT_EQ(s.analyze_every, 0);
  // Adam's default rate, and a spec given as --model.
  const app::TrainingSettings adam =
      app::training_settings(parse(app::kTrain, {"--data", "planted", "--optimizer", "adam", "--model", "linear:10"}), 1);
  EXPECT_EQ(adam.train.optim.lr, nn::default_learning_rate("adam"));
  EXPECT_EQ(adam.spec, "linear:10");
  EXPECT_EQ(adam.out, "runs/custom");
}

TEST(FlagTable, ChoicesAndRangesAreWhatTheLibraryAccepts) {
  // --zeta-max-permutations: the CLI's minimum is the fewest the estimator can stop at (it was 2
  // in the CLI and 4 in imaging/zeta.cpp: a value the CLI accepted then failed after an epoch).
  imaging::ZetaSettings zeta;
  zeta.max_permutations = imaging::kMinPermutationsPerImage;
  EXPECT_NO_THROW(imaging::validate(zeta));
  zeta.max_permutations = imaging::kMinPermutationsPerImage - 1;
  EXPECT_THROW(imaging::validate(zeta), base::Error);
  const std::string below = std::to_string(imaging::kMinPermutationsPerImage - 1);
  expect_error_naming([&] { parse(app::kAnalyze, {"--zeta-max-permutations", below, "--help"}); }, "--zeta-max-permutations");
  // --zeta-budget 0 was accepted by the CLI and refused by imaging.
  expect_error_naming([&] { parse(app::kTrain, {"--zeta-budget", "0", "--help"}); }, "(0, ");
  // --split: the help said [0, 1] and the flag took 0 and 1, which the image folder then refused.
  for (const char* share : {"0", "1"})
    expect_error_naming([&] { parse(app::kTrain, {"--data", "planted", "--split", share}); }, "flag --split '" + std::string(share) + "': expected a finite number in (0, 1)");
  EXPECT_NE(parse(app::kTrain, {"--help"}).usage().find("(0.2) (0, 1)"), std::string::npos);
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted", "--split", "0.999"}).real("--split"), 0.999);
  // Every choice the table offers is one the library takes.
  for (const app::FlagDef& d : app::flag_table()) {
    for (const std::string& choice : d.choices) {
      imaging::AnalysisSettings s;
      if (d.name == "--zeta-method") s.zeta.method = choice;
      if (d.name == "--zeta-value") s.zeta.value = choice;
      if (d.name == "--zeta-ablation") s.zeta.ablation = choice;
      EXPECT_NO_THROW(imaging::validate_analysis_settings(s)) << d.name << " " << choice;
      nn::OptimConfig optim;
      nn::ScheduleConfig schedule;
      if (d.name == "--optimizer") optim.kind = choice;
      if (d.name == "--schedule") schedule.kind = choice;
      EXPECT_NO_THROW(nn::validate(optim)) << choice;
      EXPECT_NO_THROW(nn::validate(schedule)) << choice;
    }
  }
}

TEST(Flags, ValuesInBothFormsSwitchesDefaultsAndOperands) {
  const app::Flags f = parse(app::kEval, {"run/model.ckpt", "--data=planted:3", "--batch", "32", "--limit-test=50"});
  EXPECT_EQ(f.operands(), std::vector<std::string>{"run/model.ckpt"});
  EXPECT_EQ(f.text("--data"), "planted:3");
  EXPECT_EQ(f.integer("--batch"), 32);
  EXPECT_EQ(f.integer("--limit-test"), 50);
  EXPECT_FALSE(f.has("--dump"));
  EXPECT_FALSE(f.help());
  // Eval's --batch has its own default (train's is 64).
  EXPECT_EQ(parse(app::kEval, {"c", "--data", "planted"}).integer("--batch"), 256);
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted"}).integer("--batch"), 64);
  const app::Flags t = parse(app::kTrain, {"--data", "planted", "--nesterov", "--zeta-tol", "-1", "--stages", "grid,tract"});
  EXPECT_TRUE(t.has("--nesterov"));
  EXPECT_EQ(t.real("--zeta-tol"), -1.0);  // a negative number is a value, not a flag
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted", "--out=--odd"}).text("--out"), "--odd");  // given so, it is the value
  EXPECT_EQ(t.list("--stages"), (std::vector<std::string>{"grid", "tract"}));
  // "--" ends the flags (audit D, finding 9: it was taken as an operand), and -h is --help.
  EXPECT_EQ(parse(app::kReport, {"--", "--odd-name"}).operands(), std::vector<std::string>{"--odd-name"});
  EXPECT_EQ(parse(app::kReport, {"--format", "svg", "--", "-h"}).operands(), std::vector<std::string>{"-h"});
  EXPECT_TRUE(parse(app::kReport, {"-h"}).help());
  EXPECT_NE(error_of([] { parse(app::kReport, {"--", "a", "b"}); }).find("unexpected argument 'b'"), std::string::npos);
  // Operands in [ ] may be left out: compare takes A B and up to three more.
  EXPECT_EQ(parse(app::kCompare, {"a", "b", "--out", "o"}).operands(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse(app::kCompare, {"a", "b", "c", "d", "e", "--out", "o"}).operands().size(), 5u);
  EXPECT_NE(error_of([] { parse(app::kCompare, {"a", "--out", "o"}); }).find("missing A B [C D E]"), std::string::npos);
  EXPECT_NE(error_of([] { parse(app::kCompare, {"a", "b", "c", "d", "e", "f", "--out", "o"}); }).find("unexpected argument 'f'"),
            std::string::npos);
  // A repeated flag: the last one wins.
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted", "--epochs", "3", "--epochs", "4"}).integer("--epochs"), 4);
}

TEST(Flags, BadInputIsOneLineNamingTheFlagAndWhatWasExpected) {
  struct Case {
    app::Command command;
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {app::kTrain, {"--data", "planted", "--bogus"}, "unknown flag '--bogus'"},
      {app::kEval, {"c", "--data", "planted", "--epochs", "3"}, "unknown flag '--epochs'"},  // train's flag
      {app::kTrain, {"--data", "planted", "--epochs"}, "flag --epochs: missing value (expected an integer in [1, 100000])"},
      {app::kTrain, {"--data", "--epochs", "3"}, "flag --data: missing value"},  // the next word is a flag
      {app::kTrain, {"--data", "--epochs=3"}, "flag --data: missing value"},  // … given as --name=value too
      // a word that looks like a flag but is none of this command's (audit D, finding 8: it became the value)
      {app::kTrain, {"--data", "planted", "--out", "--overwrit"}, "flag --out: expected a value, got the flag-like '--overwrit'"},
      {app::kTrain, {"--data", "planted", "--zeta-tol", "--1"}, "flag --zeta-tol: expected a value, got the flag-like '--1'"},
      {app::kTrain, {"--data", "planted", "--epochs", "x"}, "flag --epochs 'x': expected an integer in [1, 100000]"},
      {app::kTrain, {"--data", "planted", "--epochs", "0"}, "flag --epochs '0'"},
      {app::kTrain, {"--data", "planted", "--lr", "nan"}, "flag --lr 'nan': expected a finite number"},
      // α = 1 alarms on every window where any region has p_adjusted < 1: not a test level
      {app::kMonitor, {"c.ckpt", "--profile", "p", "--input", "cifar10:x", "--out", "o", "--alpha", "1"}, "flag --alpha '1'"},
      {app::kTrain, {"--data", "planted", "--optimizer", "rmsprop"}, "flag --optimizer 'rmsprop': expected sgd or adam"},
      {app::kTrain, {"--data", "planted", "--stages", "grid,foo"}, "flag --stages 'grid,foo': unknown 'foo'"},
      // an empty entry is refused as such, not skipped (",," or a trailing comma is a mistyped list)
      {app::kTrain, {"--data", "planted", "--stages", "grid,,zeta"}, "flag --stages 'grid,,zeta': unknown empty entry"},
      {app::kTrain, {"--data", "planted", "--stages", "grid,"}, "flag --stages 'grid,': unknown empty entry"},
      {app::kTrain, {"--data", "planted", "--stages", "grid,zeta,grid"}, "flag --stages 'grid,zeta,grid': 'grid' named twice"},
      {app::kTrain, {"--data", "planted", "--nesterov=yes"}, "flag --nesterov: takes no value"},
      {app::kTrain, {"--epochs", "3"}, "flag --data SPEC is required"},
      {app::kTrain, {"--data", "planted", "stray"}, "unexpected argument 'stray'"},
      {app::kAnalyze, {"c.ckpt", "--data", "planted"}, "flag --out DIR is required"},
      {app::kImport, {"m.safetensors"}, "flag --out CKPT is required"},
      {app::kReport, {}, "missing RUN_DIR"},
      {app::kInfo, {"a", "b"}, "unexpected argument 'b'"},
      // a flag of comma-separated values given twice would drop the first's values: refused
      {app::kTrain, {"--data", "planted", "--inject", "lr@5", "--inject", "lr@6"},
       "flag --inject: given twice, expected one --inject with every value, separated by commas"},
      {app::kTrain, {"--data", "planted", "--stages", "grid", "--stages=zeta"}, "flag --stages: given twice"},
      {app::kImport, {"m.npz", "--out", "x", "--classes", "a,b", "--classes", "c"}, "flag --classes: given twice"},
      {app::kEval, {"c.ckpt", "--data", "planted", "--lesion", "conv1:grid_1_1_1", "--lesion", "conv1:grid_2_2_1"},
       "flag --lesion: given twice"},
      {app::kImport, {"m.npz", "--out", "x", "--norm", "0.5:0.2", "--norm", "0.4,0.4,0.4:0.2"}, "flag --norm: given twice"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of([&] { parse(c.command, c.args); });
    EXPECT_NE(message.find(c.named), std::string::npos) << "'" << message << "' does not contain '" << c.named << "'";
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // --help skips the checks of required flags and operands.
  EXPECT_TRUE(parse(app::kAnalyze, {"--help"}).help());
}

// Audit D, finding 7: strtol and strtod took leading blanks, '+', hex floats for reals ("0x10" was 16
// for --lr but refused for --epochs) and silently read 1e-400 as 0.  One grammar for every numeric
// flag: an optional '-', decimal digits, and for reals a fraction and exponent.
// --resize, --split and --split-seed act on an images:DIR folder only: with any other data spec each is
// one error line naming it and the spec, before any data is read (--split 0.3 on planted or cifar10
// was taken without a word and split nothing), for train's --data as for monitor's --input.
TEST(Flags, ImageFolderFlagsWithAnotherDataSpecAreRefused) {
  for (const auto& flag : std::vector<std::vector<std::string>>{{"--resize", "8x8"}, {"--split", "0.3"}, {"--split-seed", "2"}}) {
    const std::string named = "flag " + flag[0] + ": applies to images:DIR only, not to ";
    expect_error_naming([&] { app::load_data(parse(app::kTrain, {"--data", "planted", flag[0], flag[1]}), true); },
                        named + "--data planted");
    expect_error_naming(
        [&] {
          app::open_test_stream(parse(app::kMonitor, {"c.ckpt", "--profile", "p", "--input", "cifar10:/nonexistent",
                                                      "--out", "o", flag[0], flag[1]}),
                                "--input");
        },
        named + "--input cifar10:/nonexistent");
  }
}

// --split and --split-seed were taken without a word for an images:DIR whose train/ and test/ folders make
// the split (the loader ignores them there): one error line naming the flag and the spec, before any image
// is read, for train's --data as for monitor's --input (test/ alone).  A folder of class folders takes them.
class FlagsOnFolders : public TempDirTest {};
TEST_F(FlagsOnFolders, SplitFlagsWithAnImageFolderOfTrainAndTestAreRefused) {
  const std::string halves = path("halves"), flat = path("flat");
  std::filesystem::create_directories(halves + "/train/a");
  std::filesystem::create_directories(halves + "/test/a");
  std::filesystem::create_directories(flat + "/a");
  for (const auto& flag : std::vector<std::vector<std::string>>{{"--split", "0.3"}, {"--split-seed", "2"}}) {
    expect_error_naming([&] { app::load_data(parse(app::kTrain, {"--data", "images:" + halves, flag[0], flag[1]}), true); },
                        "flag " + flag[0] + ": applies to a folder of class folders only, not to --data images:" + halves +
                            ", whose train/ folder makes the split");
    std::filesystem::remove_all(halves + "/train");
    expect_error_naming(
        [&] {
          app::open_test_stream(parse(app::kMonitor, {"c.ckpt", "--profile", "p", "--input", "images:" + halves, "--out", "o",
                                                      flag[0], flag[1]}),
                                "--input");
        },
        "flag " + flag[0] + ": applies to a folder of class folders only, not to --input images:" + halves + ", whose test/");
    std::filesystem::create_directories(halves + "/train/a");
    // a folder of class folders: the flag is taken (the error is the empty class folder's, not the flag's)
    const std::string m = error_of([&] { app::load_data(parse(app::kTrain, {"--data", "images:" + flat, flag[0], flag[1]}), true); });
    EXPECT_EQ(m.find("flag "), std::string::npos) << m;
  }
}

// --limit-test N keeps the first N test images whichever reader takes the spec: load_data (--data) and
// open_test_stream (monitor's --input, streamed batch by batch), which ignored it in a mutant no test saw.
TEST_F(FlagsOnFolders, LimitTestCutsTheTestHalfForEitherReader) {
  write_random_cifar10(path("c10"), 12, 20, 5, 0, 256);
  const std::vector<std::string> monitor = {"c.ckpt", "--profile", "p", "--input", "cifar10:" + path("c10"), "--out", "o"};
  std::vector<std::string> limited = monitor;
  limited.insert(limited.end(), {"--limit-test", "7"});
  EXPECT_EQ(app::open_test_stream(parse(app::kMonitor, limited), "--input")->size(), 7u);
  EXPECT_EQ(app::open_test_stream(parse(app::kMonitor, monitor), "--input")->size(), 20u);
  EXPECT_EQ(app::load_data(parse(app::kEval, {"c.ckpt", "--data", "cifar10:" + path("c10"), "--limit-test", "7"}), false).test.size(), 7u);
}

// parse_sizes (--resize HxW): exactly `count` integers from 1 to base::kMaxInputSide joined by x.  A third
// size was taken and dropped in a mutant no test saw ("8x8x8" read as 8x8).
TEST(Flags, SizesAreExactlyCountIntegersJoinedByX) {
  EXPECT_EQ(app::parse_sizes("32x24", "--resize", 2, "HxW"), (std::vector<int>{32, 24}));
  EXPECT_EQ(app::parse_sizes("65536x1", "--resize", 2, "HxW"), (std::vector<int>{65536, 1}));
  for (const std::string bad : {"8x8x8", "8", "8x", "x8", "0x8", "8x-1", "8xx8", "", "65537x8", "8X8"})
    expect_error_naming([&] { app::parse_sizes(bad, "--resize", 2, "HxW"); },
                        "flag --resize '" + bad + "': expected HxW, 2 integers from 1 to 65536 joined by x");
}

// load_data refuses a half it needs that holds no image, naming the flag and the spec: a flat image
// folder of one image per class split by --split 0.2 (round(0.2) = 0 test images per class) or 0.9
// (round(0.9) = 1: every image tested, none trained).  The loader reads both halves without a word
// here (it refuses an empty half only when it reads that half alone), so this check is the one.
TEST_F(FlagsOnFolders, AHalfTheCommandNeedsThatHoldsNoImageIsRefused) {
  const std::vector<uint8_t> pixels(4 * 4 * 3, 128);
  for (const char* cls : {"a", "b"}) {
    std::filesystem::create_directories(path("one") + "/" + cls);
    ASSERT_NE(stbi_write_png((path("one") + "/" + cls + "/x.png").c_str(), 4, 4, 3, pixels.data(), 4 * 3), 0);
  }
  const std::string spec = "images:" + path("one");
  expect_error_naming([&] { app::load_data(parse(app::kTrain, {"--data", spec}), true); }, "--data " + spec + ": no test images");
  expect_error_naming([&] { app::load_data(parse(app::kTrain, {"--data", spec, "--split", "0.9"}), true); },
                      "--data " + spec + ": no training images");
  // the half not needed may be empty: profile's training half alone
  EXPECT_EQ(app::load_data(parse(app::kTrain, {"--data", spec}), true, "--data", false).train.size(), 2u);
}

// given(): each argument as parsed, a flag as --name=value (an empty value too), a switch as its name;
// given() parsed again gives the same flags (train records it so, and a resume reads it back).
TEST(Flags, GivenIsEveryArgumentAsParsedAndParsesAgainToTheSameFlags) {
  const app::Flags f = parse(app::kTrain, {"--data", "planted", "--epochs", "3", "--nesterov", "--model=", "--inject", "lr@5"});
  EXPECT_EQ(f.given(), (std::vector<std::string>{"--data=planted", "--epochs=3", "--nesterov", "--model=", "--inject=lr@5"}));
  const app::Flags again = parse(app::kTrain, f.given());
  for (const char* name : {"--data", "--epochs", "--model", "--inject"}) EXPECT_EQ(again.text(name), f.text(name)) << name;
  EXPECT_TRUE(again.has("--nesterov"));
}

// Asking for a value the command cannot have is a programming error (std::logic_error), never a
// silent 0 or "": a flag without a default that was not given (train's --lr is computed by the
// command: has() first), a flag of another kind, a flag the command does not take.
TEST(Flags, AskingForAValueThatCannotBeIsALogicError) {
  const app::Flags f = parse(app::kTrain, {"--data", "planted"});
  EXPECT_FALSE(f.has("--lr"));
  EXPECT_THROW(f.real("--lr"), std::logic_error);
  EXPECT_THROW(f.integer("--lr"), std::logic_error);
  EXPECT_THROW(f.text("--nesterov"), std::logic_error);
  EXPECT_THROW(f.list("--data"), std::logic_error);
  EXPECT_THROW(f.text("--lesion"), std::logic_error);  // eval's
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted", "--lr", "0.5"}).real("--lr"), 0.5);
}

// --momentum with Adam, --step-size or --gamma with another schedule than step, --warmup with onecycle:
// ignored without a word before; refused naming the flag and what it applies to.  Given where they apply, they are taken.
TEST(Flags, OptimiserAndScheduleFlagsOfAnotherKindAreRefused) {
  const auto settings = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", "planted"});
    return app::training_settings(parse(app::kTrain, args), 1);
  };
  expect_error_naming([&] { settings({"--optimizer", "adam", "--momentum", "0.5"}); },
                      "flag --momentum: applies to --optimizer sgd only, not to --optimizer adam");
  for (const auto& flag : std::vector<std::vector<std::string>>{{"--step-size", "3"}, {"--gamma", "0.5"}}) {
    expect_error_naming([&] { settings({flag[0], flag[1]}); }, "flag " + flag[0] + ": applies to --schedule step only");
    expect_error_naming([&] { settings({"--schedule", "onecycle", flag[0], flag[1]}); }, "--schedule onecycle");
  }
  // --warmup with onecycle (its own rise): refused, but a run recorded so (taken without a word before 2026-12-03) resumes
  expect_error_naming([&] { settings({"--schedule", "onecycle", "--warmup", "2"}); },
                      "flag --warmup: applies to --schedule constant, step or cosine only, not to --schedule onecycle");
  EXPECT_EQ(app::training_settings(parse(app::kTrain, {"--data", "planted", "--schedule", "onecycle", "--warmup", "2"}), 1, true)
                .train.schedule.kind, "onecycle");
  for (const char* kind : {"constant", "step", "cosine"})
    EXPECT_EQ(settings({"--schedule", kind, "--warmup", "2"}).train.schedule.warmup, 2.f) << kind;
  const app::TrainingSettings s = settings({"--momentum", "0.5", "--schedule", "step", "--step-size", "3", "--gamma", "0.5"});
  EXPECT_EQ(s.train.optim.momentum, 0.5f);
  EXPECT_EQ(s.train.schedule.step_size, 3);
  EXPECT_EQ(s.train.schedule.gamma, 0.5f);
}

// train's settings from flags, where a slip would go unnoticed by the flag layer: --lr defaults to the optimiser's own
// rate (0.02 for SGD, 0.001 for Adam), --warmup may equal --epochs ("at most"), --out defaults to runs/<preset> and
// runs/custom for a spec, --grid is taken without analyses for the regions of --inject as of --eeg, and a resumed run's
// recorded imaging flags (taken without --analyze-every before 2026-12-03) are ignored, not refused.
TEST(Flags, TrainSettingsDefaultsAndExceptions) {
  const auto settings = [](std::vector<std::string> args, bool recorded = false) {
    args.insert(args.begin(), {"--data", "planted"});
    return app::training_settings(parse(app::kTrain, args), 1, recorded);
  };
  EXPECT_EQ(settings({}).train.optim.lr, 0.02f);
  EXPECT_EQ(settings({"--optimizer", "adam"}).train.optim.lr, 0.001f);
  EXPECT_EQ(settings({"--optimizer", "adam", "--lr", "0.5"}).train.optim.lr, 0.5f);
  EXPECT_EQ(settings({"--epochs", "3", "--warmup", "3"}).train.schedule.warmup, 3.f);
  expect_error_naming([&] { settings({"--epochs", "3", "--warmup", "3.5"}); }, "flag --warmup '3.5': expected at most --epochs (3)");
  EXPECT_EQ(settings({}).out, "runs/reference");
  EXPECT_EQ(settings({"--model", "bn"}).out, "runs/bn");
  EXPECT_EQ(settings({"--model", "conv3x3:4 relu linear:10"}).out, "runs/custom");
  EXPECT_EQ(settings({"--model", "bn", "--out", "mine"}).out, "mine");
  EXPECT_EQ(settings({"--inject", "lr@5", "--grid", "2x2x1"}).analysis.grid.gh, 2);
  expect_error_naming([&] { settings({"--zeta-samples", "5"}); }, "flag --zeta-samples: applies to the imaging");
  EXPECT_EQ(settings({"--zeta-samples", "5"}, true).analyze_every, 0);
  EXPECT_EQ(settings({"--zeta-every", "2"}, true).analyze_every, 0);
}

// train refuses the imaging flags without --analyze-every: taken and ignored, they would let a
// `--zeta-samples 5` run image nothing and say nothing.
TEST(Flags, ImagingFlagsWithoutAnalysesAreRefused) {
  const auto settings = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", "planted"});
    return app::training_settings(parse(app::kTrain, args), 1);
  };
  for (const auto& flag : std::vector<std::vector<std::string>>{
           {"--zeta-samples", "5"}, {"--eval-samples", "64"}, {"--stages", "grid"}, {"--lambda", "0.5"}, {"--tract-top", "3"}, {"--grid", "2x2x1"}})
    expect_error_naming([&] { settings(flag); }, "flag " + flag[0] + ": applies to the imaging of --analyze-every N only");
  // with analyses they are taken; --grid also sets NN-EEG's regions
  EXPECT_EQ(settings({"--analyze-every", "2", "--zeta-samples", "5"}).analysis.zeta.samples, 5u);
  EXPECT_EQ(settings({"--eeg", "--grid", "2x2x1"}).analysis.grid.gh, 2);
}

// The imaging flags had a second list in cmd_train.cpp beside the flag table: a new imaging flag added
// to the table alone was taken by train without --analyze-every and ignored.  Now the table's mark is
// the list: every flag marked imaging (each given its default value, which train parses) is refused
// by train without --analyze-every and taken with it; the 16 analysis flags are marked, and flags
// that do not set the analyses (--data, --threads, analyze's --errors, train's --eeg) are not.
TEST(Flags, EveryImagingFlagOfTheTableIsRefusedWithoutAnalyses) {
  const auto settings = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", "planted"});
    return app::training_settings(parse(app::kTrain, args), 1);
  };
  std::vector<std::string> marked;
  for (const app::FlagDef& d : app::flag_table()) {
    if (!d.imaging) continue;
    marked.push_back(d.name);
    EXPECT_TRUE((d.commands & app::kTrain) && (d.commands & app::kAnalyze)) << d.name << ": an imaging flag is train's and analyze's";
    std::vector<std::string> given = {d.name};
    if (d.kind != app::FlagKind::Switch) given.push_back(d.default_value);
    expect_error_naming([&] { settings(given); }, "flag " + d.name + ": applies to the imaging of --analyze-every N only");
    given.insert(given.end(), {"--analyze-every", "1"});
    EXPECT_NO_THROW(settings(given)) << d.name;
  }
  EXPECT_EQ(marked.size(), 16u);  // --grid, --lambda, --epsilon, --eval-samples, --stages, the 9 --zeta-*, the 2 --tract-*
  // A run an earlier nnfmri started with such a flag (and ignored it) still resumes: its recorded flags
  // are read back without the refusal, and image nothing as before.
  for (const std::string& name : marked) {
    const app::FlagDef& d = *std::find_if(app::flag_table().begin(), app::flag_table().end(),
                                          [&](const app::FlagDef& f) { return f.name == name; });
    std::vector<std::string> given = {"--data", "planted", name};
    if (d.kind != app::FlagKind::Switch) given.push_back(d.default_value);
    app::TrainingSettings resumed;
    EXPECT_NO_THROW(resumed = app::training_settings(parse(app::kTrain, given), 1, true)) << name;
    EXPECT_EQ(resumed.analyze_every, 0) << name;
  }
  for (const char* name : {"--grid", "--stages", "--zeta-samples", "--zeta-ci", "--tract-top"})
    EXPECT_NE(std::find(marked.begin(), marked.end(), name), marked.end()) << name;
  for (const char* name : {"--data", "--threads", "--errors", "--eeg", "--analyze-every"})
    EXPECT_EQ(std::find(marked.begin(), marked.end(), name), marked.end()) << name;
}

TEST(Flags, NumbersHaveOneGrammar) {
  const auto refused = [](app::Command command, std::vector<std::string> args) {
    args.push_back("--help");  // parsed values only: --help returns before the run's own checks
    return error_of([&] { parse(command, args); });
  };
  for (const std::string bad : {" 7", "+7", "7 ", "0x10", "1e3", "7.0", "", "-", "٣"})
    EXPECT_NE(refused(app::kTrain, {"--epochs", bad}).find("flag --epochs '" + bad + "': expected an integer"), std::string::npos) << bad;
  for (const std::string bad : {" 0.1", "+0.1", "0x10", "0x1p-3", "inf", "nan", ".", "1e", "1e+", "e5", "0.1 ", "1,5"})
    EXPECT_NE(refused(app::kTrain, {"--lr", bad}).find("flag --lr '" + bad + "': expected a finite number"), std::string::npos) << bad;
  for (const std::string tiny : {"1e-400", "1e-310"})
    EXPECT_NE(refused(app::kTrain, {"--weight-decay", tiny}).find("not one below 2.2e-308 in magnitude"), std::string::npos) << tiny;
  EXPECT_NE(refused(app::kServe, {"ROOT", "--port", " 5"}).find("flag --port ' 5'"), std::string::npos);
  for (const std::string good : {"0.1", ".1", "1.", "1e-3", "1E-3", "5e-1", "1e+0", "0e-400", "0", "-0"})
    EXPECT_NO_THROW(parse(app::kTrain, {"--weight-decay", good, "--help"})) << good;
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted", "--zeta-tol", "-1.5e-1"}).real("--zeta-tol"), -0.15);
  EXPECT_EQ(parse(app::kTrain, {"--data", "planted", "--seed", "-0"}).integer("--seed"), 0);
}

TEST(Flags, UsageNamesOperandsRequiredFlagsAndEveryFlagWithItsDefault) {
  const std::string analyze = parse(app::kAnalyze, {"--help"}).usage();
  EXPECT_EQ(analyze.substr(0, analyze.find('\n')), "usage: nnfmri analyze CKPT --data SPEC --out DIR [flags]");
  EXPECT_EQ(parse(app::kReport, {"--help"}).usage_line(), "nnfmri report RUN_DIR [flags]");
  EXPECT_EQ(parse(app::kTrain, {"--help"}).usage_line(), "nnfmri train --data SPEC [flags]");
  const std::string train = parse(app::kTrain, {"--help"}).usage();
  for (const app::FlagDef& d : app::flag_table()) {
    if (!(d.commands & app::kTrain)) continue;
    EXPECT_NE(train.find("  " + d.name), std::string::npos) << d.name;
  }
  EXPECT_NE(train.find("(4096) [4, "), std::string::npos) << train;  // --zeta-max-permutations
  EXPECT_NE(train.find("(0.02 (sgd), 0.001 (adam))"), std::string::npos) << train;
  EXPECT_EQ(train.find("--npz"), std::string::npos);
  EXPECT_NE(train.find("[,distractor[=D]][,background=DIR]] | images:DIR"), std::string::npos) << train;  // --data: every form
  const std::string commands = app::commands_usage();
  for (const app::CommandDef& c : app::command_table()) EXPECT_NE(commands.find("  " + c.name + " "), std::string::npos);
  // The command list shows each command's operands, as its own usage line does.
  for (const char* line : {"  eval CKPT ", "  info CKPT ", "  export CKPT ", "  import FILE ", "  analyze CKPT ", "  report RUN_DIR ", "  compare A B [C D E] "})
    EXPECT_NE(commands.find(line), std::string::npos) << line << "\n" << commands;
}

// `nnfmri --help CMD` is `nnfmri CMD --help` (a newcomer's first guess); any other argument after
// --help is refused with one line naming it, as after --version. Before, every argument after --help
// was ignored without a word: `nnfmri --help train` and `nnfmri --help bogus` printed the command list.
class HelpOperand : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (!base::file_exists(nnfmri_binary())) GTEST_SKIP() << nnfmri_binary() << " is not built";
  }
  struct Result {
    int status;
    std::string out, err;
  };
  Result run(const std::vector<std::string>& args) {
    const std::string out = path("out.txt"), err = path("err.txt");
    const pid_t pid = spawn_nnfmri(args, out, err);
    EXPECT_GT(pid, 0);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), base::read_file(out), base::read_file(err)};
  }
};

// A command name that is none of nnfmri's is a bad input like a bad flag: one line naming it and the commands, exit
// 2; no command at all is the list of commands on stderr (stdout stays empty), exit 2 too (no test ran either: a
// mutant exiting 1 for the first and 0 for the second passed).
TEST_F(HelpOperand, AnUnknownCommandOrNoneIsExit2) {
  const Result bogus = run({"bogus"});
  EXPECT_EQ(bogus.status, 2) << bogus.err;
  EXPECT_EQ(bogus.out, "");
  EXPECT_EQ(bogus.err.rfind("nnfmri: error: unknown command 'bogus' (expected one of train, eval", 0), 0u) << bogus.err;
  EXPECT_EQ(std::count(bogus.err.begin(), bogus.err.end(), '\n'), 1) << bogus.err;
  const Result none = run({});
  EXPECT_EQ(none.status, 2) << none.err;
  EXPECT_EQ(none.out, "");
  EXPECT_NE(none.err.find("serve ROOT"), std::string::npos) << none.err;
}

TEST_F(HelpOperand, HelpWithACommandIsThatCommandsHelpAndAnythingElseIsRefused) {
  const Result train = run({"train", "--help"});
  ASSERT_EQ(train.status, 0) << train.err;
  for (const char* help : {"--help", "-h"}) {
    const Result r = run({help, "train"});
    EXPECT_EQ(r.status, 0) << help << ": " << r.err;
    EXPECT_EQ(r.out, train.out) << help;
    EXPECT_NE(r.out.find("--zeta-budget"), std::string::npos) << r.out;
  }
  const Result list = run({"--help"});
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("serve ROOT"), std::string::npos) << list.out;
  const Result bogus = run({"--help", "bogus"});
  EXPECT_EQ(bogus.status, 2) << bogus.out;
  EXPECT_EQ(bogus.out, "");
  EXPECT_EQ(std::count(bogus.err.begin(), bogus.err.end(), '\n'), 1) << bogus.err;
  EXPECT_NE(bogus.err.find("'bogus'"), std::string::npos) << bogus.err;
  EXPECT_NE(bogus.err.find("expected one of train, eval"), std::string::npos) << bogus.err;
  const Result extra = run({"--help", "train", "extra"});
  EXPECT_EQ(extra.status, 2);
  EXPECT_EQ(extra.out, "");
  EXPECT_NE(extra.err.find("--help train takes no other argument, got 'extra'"), std::string::npos) << extra.err;
}

}  // namespace
