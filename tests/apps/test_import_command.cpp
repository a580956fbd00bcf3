// tests/apps/test_import_command.cpp — `nnfmri export` then `nnfmri import`, through the commands
// themselves: safetensors and .npz + .model.json both come back as the same checkpoint, bit for bit
// (weights, buffers, normalisation, classes, spec, epoch); flags fill in what a foreign file lacks,
// and a wrong one is one error naming the flag.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "apps/commands.h"
#include "base/fileio.h"
#include "base/sha256.h"
#include "nn/checkpoint.h"
#include "nn/tensor_file.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

int run(int (*command)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return command(int(argv.size()), argv.data());
}

class ImportCommand : public TempDirTest {};

void fs_remove(const std::string& file) { std::remove(file.c_str()); }

TEST_F(ImportCommand, ExportThenImportGivesTheSameCheckpointBitForBit) {
  const std::string spec = "conv3x3:4 bn relu maxpool2 linear:6 relu linear:3";
  nn::Network net(spec, 3, 8, 8);
  net.init(3);
  net.input_mean = {0.1f, 0.2f, 0.3f};
  net.input_std = {0.7f, 0.3f, 0.123456789f};
  nn::save_checkpoint(path("a.ckpt"), net, 12, {"cat", "dog", "émeu"}, {{"model", "custom"}});
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--safetensors", path("a.safetensors"), "--npz", path("a.npz")}), 0);
  for (const std::string from : {"a.safetensors", "a.npz"}) {
    ASSERT_EQ(run(app::cmd_import, {path(from), "--out", path("b.ckpt")}), 0);
    const nn::Checkpoint a = nn::load_checkpoint(path("a.ckpt")), b = nn::load_checkpoint(path("b.ckpt"));
    EXPECT_EQ(b.net->spec(), spec);
    EXPECT_EQ(b.epoch, 12);
    EXPECT_EQ(b.class_names, a.class_names);
    EXPECT_EQ(b.net->input_mean, a.net->input_mean);
    EXPECT_EQ(b.net->input_std, a.net->input_std);
    auto pa = a.net->named_params(), pb = b.net->named_params();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i)
      EXPECT_EQ(std::memcmp(pa[i].param->value.data(), pb[i].param->value.data(), 4 * pa[i].param->value.size()), 0)
          << from << " " << pa[i].name;
    EXPECT_EQ(b.meta["imported_from"]["path"], path(from));
    EXPECT_EQ(b.meta["imported_from"]["sha256"], base::sha256_file(path(from)));  // the file's, as read
  }
}

// A file holding a tensor the spec does not use (a PyTorch state_dict's extra head) is refused naming it, and with
// --ignore-extra imported: the net's tensors come from the file, the extra one is left out.
TEST_F(ImportCommand, ATensorTheSpecDoesNotUseIsRefusedUnlessIgnoreExtra) {
  const std::string spec = "conv3x3:2 relu linear:3";
  nn::Network net(spec, 3, 4, 4);
  net.init(5);
  std::vector<nn::TensorRef> tensors = nn::torch_tensors(net);
  std::vector<float> extra = {1.f, 2.f, 3.f, 4.f};
  tensors.push_back({"head2.weight", {2, 2}, extra.data()});
  nn::write_safetensors(path("extra.safetensors"), tensors, {});
  const std::vector<std::string> args = {path("extra.safetensors"), "--model", spec, "--input", "3x4x4", "--out", path("b.ckpt")};
  expect_error_naming([&] { run(app::cmd_import, args); }, "head2.weight");
  EXPECT_FALSE(base::file_exists(path("b.ckpt")));
  std::vector<std::string> ignoring = args;
  ignoring.push_back("--ignore-extra");
  ASSERT_EQ(run(app::cmd_import, ignoring), 0);
  const nn::Checkpoint b = nn::load_checkpoint(path("b.ckpt"));
  const auto pa = net.named_params(), pb = b.net->named_params();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(std::memcmp(pa[i].param->value.data(), pb[i].param->value.data(), 4 * pa[i].param->value.size()), 0) << pa[i].name;
}

TEST_F(ImportCommand, AForeignFileTakesItsDescriptionFromFlags) {
  const std::string here = __FILE__;
  const std::string fixture = here.substr(0, here.find_last_of('/')) + "/../nn/fixtures/tiny_f16.safetensors";
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt")}); },
                      "flag --model: required, " + fixture + " does not say its architecture");
  const std::vector<std::string> good = {fixture, "--out", path("t.ckpt"), "--model", "conv3x3:2 bn relu maxpool2 linear:3",
                                         "--input", "2x4x4"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = good;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ASSERT_EQ(run(app::cmd_import, with({"--norm", "0.4,0.6:0.25,0.5", "--classes", "a,b,c"})), 0);
  const nn::Checkpoint t = nn::load_checkpoint(path("t.ckpt"));
  EXPECT_EQ(t.class_names, std::vector<std::string>({"a", "b", "c"}));
  EXPECT_EQ(t.net->input_std, std::vector<float>({0.25f, 0.5f}));
  ASSERT_EQ(run(app::cmd_import, good), 0);  // defaults: 0:1, classes 0 1 2
  const nn::Checkpoint d = nn::load_checkpoint(path("t.ckpt"));
  EXPECT_EQ(d.class_names, std::vector<std::string>({"0", "1", "2"}));
  EXPECT_EQ(d.net->input_mean, std::vector<float>({0.f, 0.f}));
  EXPECT_EQ(d.net->input_std, std::vector<float>({1.f, 1.f}));
  expect_error_naming([&] { run(app::cmd_import, with({"--norm", "0.4:0"})); }, "flag --norm '0.4:0': '0': expected MEAN:STD");
  expect_error_naming([&] { run(app::cmd_import, with({"--norm", "0.4,0.5,0.6:1"})); }, "flag --norm '0.4,0.5,0.6:1'");
  expect_error_naming([&] { run(app::cmd_import, with({"--classes", "a,b"})); }, "flag --classes: 2 class names, but the net has 3 outputs");
  // two names that differ only in bytes that are not UTF-8 (a checkpoint would hold both as U+FFFD)
  expect_error_naming([&] { run(app::cmd_import, with({"--classes", "a\xff,a\xfe,c"})); },
                      "flag --classes: class 0 'a\\xff' is not valid UTF-8, expected UTF-8 names");
  expect_error_naming([&] { run(app::cmd_import, with({"--input", "2x4"})); }, "flag --input '2x4': expected CxHxW");
  // a net of another shape within the file's values: its first differing tensor is named
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt"), "--model", "conv3x3:3 relu maxpool2 maxpool2 linear:3", "--input", "2x4x4"}); },
                      "tensor conv1.weight is [2, 2, 3, 3], the spec needs [3, 2, 3, 3]");
  // A spec larger than the file (this one holds 71 values, num_batches_tracked aside): its tensors are
  // compared with the file's before a net is allocated, and the first that differs is named (before: a
  // net of more than twice the file's values, nn::file_net_limit, was refused by its size alone, "spec
  // token 'linear:3': 6147 parameters, expected at most 98 …", naming no tensor)
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt"), "--model", "conv3x3:2 bn relu maxpool2 linear:3", "--input", "2x64x64"}); },
                      fixture + ": tensor output.weight is [3, 8], the spec needs [3, 2048]");
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt"), "--model", "conv3x3:64 bn relu maxpool2 linear:3", "--input", "2x4x4"}); },
                      fixture + ": tensor conv1.weight is [2, 2, 3, 3], the spec needs [64, 2, 3, 3]");
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt"), "--model", "linear:21000 linear:3", "--input", "2x4x4"}); },
                      fixture + ": no tensor fc1.weight [21000, 32], which the spec needs");
  // a hostile spec is still refused before anything is allocated, by the per-network limit
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt"), "--model", "conv3x3:8192 conv3x3:8192 linear:3", "--input", "2x4x4"}); },
                      "flag --model with --input 2x4x4: spec token 'conv3x3:8192': 603987968 parameters, expected at most");
  // a spec that fits the file's tensors but not the input size given beside it names both flags (not
  // --model alone, though --input 2x1x1 is the one to change)
  expect_error_naming([&] { run(app::cmd_import, {fixture, "--out", path("t.ckpt"), "--model", "conv3x3:2 bn relu maxpool2 linear:3", "--input", "2x1x1"}); },
                      "flag --model with --input 2x1x1: spec token 'maxpool2'");
}

// Every checkpoint import writes can be read back: a normalisation the loader refuses (std below
// 1e-12 or above 1e6, |mean| above 1e6, a double that rounds to a float 0) is refused before writing,
// from a flag or from the file's own description, naming which; so is save_checkpoint itself.
TEST_F(ImportCommand, ANormalisationTheLoaderWouldRefuseIsNeverWritten) {
  const std::string spec = "conv3x3:2 relu linear:3";
  nn::Network net(spec, 3, 4, 4);
  net.init(1);
  nn::save_checkpoint(path("a.ckpt"), net, 1, {"a", "b", "c"});
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--npz", path("a.npz")}), 0);
  for (const std::string norm : {"0:1e-20", "0:1e-50", "0:1e300", "1e300:1", "2e6:1", "0:2e6"}) {
    expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt"), "--norm", norm}); },
                        "flag --norm '" + norm + "'");
    EXPECT_FALSE(base::file_exists(path("b.ckpt"))) << norm;
  }
  nlohmann::json model = nlohmann::json::parse(base::read_file(path("a.model.json")));
  model["normalization"]["std"][1] = 1e-30;
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /normalization/std/1: expected a standard deviation from 1e-12 to 1e6");
  model["normalization"]["std"][1] = 1;
  model["normalization"]["mean"][0] = -1e300;
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /normalization/mean/0: expected a mean from -1e6 to 1e6");
  model["normalization"]["mean"][0] = 0;
  model["input"] = {3, 4, 4, 1};
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); }, "a.model.json: /input: expected [C, H, W]");
  model["input"] = {3, 4, 4};
  nlohmann::json layers = model["layers"];
  model["layers"][0]["out_channels"] = 5;
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /layers: does not describe the net of its spec 'conv3x3:2 relu linear:3'");
  model["layers"] = layers;
  model["spec"] = "conv3x3:2 bogus linear:3";  // a spec that does not build names the description, or the flag
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /spec: spec token 'bogus'");
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt"), "--model", "conv3x3:2 bogus linear:3"}); },
                      "flag --model: spec token 'bogus'");
  model["spec"] = spec;
  model["class_names"] = {"a", "a", "c"};
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /class_names: class name 'a' appears twice");
  model["class_names"] = {"a", "b\x1b[31m", "c"};
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /class_names: class 1 holds a control character");
  model["class_names"] = {"a", "b", "c"};
  base::write_file_atomic(path("a.model.json"), model.dump());
  ASSERT_EQ(run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}), 0);  // the description's hash is recorded
  EXPECT_EQ(nn::load_checkpoint(path("b.ckpt")).meta["imported_from"]["description"]["path"], path("a.model.json"));
  EXPECT_EQ(nn::load_checkpoint(path("b.ckpt")).meta["imported_from"]["description"]["sha256"],
            base::sha256_file(path("a.model.json")));
  fs_remove(path("b.ckpt"));
  model["class_names"] = {"a", "b"};  // the description's fault, not a flag's
  base::write_file_atomic(path("a.model.json"), model.dump());
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt")}); },
                      "a.model.json: /class_names: 2 class names, but the net has 3 outputs");
  EXPECT_FALSE(base::file_exists(path("b.ckpt")));
  // 1e-12 rounds to the float 9.99999996e-13, below the bound: said so, not "std 1e-12 … expected 1e-12 to 1e6"
  expect_error_naming([&] { run(app::cmd_import, {path("a.npz"), "--out", path("b.ckpt"), "--norm", "0:1e-12", "--classes", "a,b,c"}); },
                      "flag --norm: std 9.99999996e-13 (1e-12 as a float32) of channel 1, expected 1e-12 to 1e6");
  net.input_std = {1.f, 0.f, 1.f};
  expect_error_naming([&] { nn::save_checkpoint(path("c.ckpt"), net, 1, {"a", "b", "c"}); },
                      path("c.ckpt") + ": not written: the input normalisation has std 0 of channel 2, expected 1e-12 to 1e6");
  EXPECT_FALSE(base::file_exists(path("c.ckpt")));
}

// The file's kind comes from its first bytes, not its name: an .npz exported under a name without
// ".npz" imports (with NAME.model.json beside it), a checkpoint is said to be one, and neither export
// nor import writes over its own input.
TEST_F(ImportCommand, TheKindOfFileIsReadFromItsBytes) {
  nn::Network net("conv3x3:2 relu linear:3", 3, 4, 4);
  net.init(2);
  nn::save_checkpoint(path("a.ckpt"), net, 1, {"a", "b", "c"});
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--npz", path("weights")}), 0);
  ASSERT_TRUE(base::file_exists(path("weights.model.json")));
  ASSERT_EQ(run(app::cmd_import, {path("weights"), "--out", path("b.ckpt")}), 0);
  EXPECT_EQ(nn::load_checkpoint(path("b.ckpt")).class_names, std::vector<std::string>({"a", "b", "c"}));
  // export and import name the description alike (nn::npz_description_path), .npz alone included
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--npz", path(".npz")}), 0);
  EXPECT_TRUE(base::file_exists(path(".npz.model.json")));
  ASSERT_EQ(run(app::cmd_import, {path(".npz"), "--out", path("b.ckpt")}), 0);
  EXPECT_EQ(nn::load_checkpoint(path("b.ckpt")).meta["imported_from"]["description"]["path"], path(".npz.model.json"));
  expect_error_naming([&] { run(app::cmd_import, {path("a.ckpt"), "--out", path("c.ckpt")}); },
                      path("a.ckpt") + ": an nnfmri checkpoint already");
  // what is neither is said to be neither, not read as a safetensors header of absurd length
  base::write_file_atomic(path("state"), "NNFMRIst" + std::string(40, '\1'));
  expect_error_naming([&] { run(app::cmd_import, {path("state"), "--out", path("c.ckpt")}); },
                      path("state") + ": an nnfmri training state, expected a safetensors or .npz file");
  base::write_file_atomic(path("text.npz"), "this is not a zip file at all, just text\n");
  expect_error_naming([&] { run(app::cmd_import, {path("text.npz"), "--out", path("c.ckpt")}); },
                      path("text.npz") + ": neither a safetensors file (an 8-byte header length, then a JSON header) nor an .npz");
  base::write_file_atomic(path("empty.npz"), std::string("PK\5\6", 4) + std::string(18, '\0'));  // numpy.savez of nothing
  expect_error_naming([&] { run(app::cmd_import, {path("empty.npz"), "--out", path("c.ckpt")}); },
                      path("empty.npz") + ": no arrays, expected an .npz file");
  EXPECT_FALSE(base::file_exists(path("c.ckpt")));
  expect_error_naming([&] { run(app::cmd_import, {path("weights"), "--out", path("weights")}); },
                      "flag --out " + path("weights") + ": the same file as the imported file");
  expect_error_naming([&] { run(app::cmd_export, {path("a.ckpt"), "--npz", path("s.npz"), "--safetensors", path("s.npz")}); },
                      "flag --safetensors " + path("s.npz") + ": the same file as flag --npz");
  EXPECT_FALSE(base::file_exists(path("s.npz")));
  // a safetensors file whose header is 19,280 bytes long starts "PK\0\0" (0x4b50): read as what it is,
  // not as a broken zip (every zip starts with a 4-byte signature, PK\3\4 or PK\5\6)
  std::vector<nn::TensorRef> tensors = nn::torch_tensors(net);
  nn::write_safetensors(path("pk.safetensors"), tensors, {{"pad", ""}});
  uint64_t unpadded = 0;
  std::memcpy(&unpadded, base::read_file(path("pk.safetensors")).data(), 8);
  for (size_t pad = 19280 - unpadded;; ++pad) {  // the header grows with the pad, in steps of 8
    nn::write_safetensors(path("pk.safetensors"), tensors, {{"pad", std::string(pad, 'x')}});
    if (base::read_file(path("pk.safetensors")).compare(0, 4, std::string("PK\0\0", 4)) == 0) break;
    ASSERT_LT(pad, 19288 - unpadded);
  }
  ASSERT_EQ(run(app::cmd_import, {path("pk.safetensors"), "--model", "conv3x3:2 relu linear:3", "--input", "3x4x4", "--out", path("pk.ckpt")}), 0);
  EXPECT_EQ(nn::load_checkpoint(path("pk.ckpt")).net->parameter_count(), net.parameter_count());
}

// Weights stored as float64 (numpy's default dtype) or any dtype but F32, F16 and BF16: the tensor the
// net needs is named with its dtype.  Before, such a tensor counted as no values of the file, and the
// net was refused for its size (`flag --model: spec token 'linear:2': 6 parameters, expected at most 0,
// twice the 0 values its file holds`), blaming the flag.
TEST_F(ImportCommand, AWeightOfAnotherDtypeIsNamedNotTheNetsSize) {
  const std::vector<std::string> flags = {"--model", "linear:2", "--input", "1x1x2", "--out", path("c.ckpt")};
  auto import = [&](const std::string& file) {
    std::vector<std::string> args = {path(file)};
    args.insert(args.end(), flags.begin(), flags.end());
    return run(app::cmd_import, args);
  };
  const std::string header = R"({"output.weight": {"dtype": "F64", "shape": [2, 2], "data_offsets": [0, 32]}, )"
                             R"("output.bias": {"dtype": "F64", "shape": [2], "data_offsets": [32, 48]}})";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  base::write_file_atomic(path("f64.safetensors"), bytes + header + std::string(48, '\0'));
  expect_error_naming([&] { import("f64.safetensors"); }, "/output.weight/dtype: tensor output.weight: dtype F64, expected F32, F16 or BF16 weights");
  // an .npz whose members say '<f8' (each member's CRC made right again, in its local header and its
  // central directory entry)
  nn::Network net("linear:2", 1, 1, 2);
  net.init(1);
  nn::save_checkpoint(path("a.ckpt"), net, 1, {"a", "b"});
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--npz", path("w.npz")}), 0);
  fs_remove(path("w.model.json"));
  std::string zip = base::read_file(path("w.npz"));
  std::vector<uint32_t> crcs;
  auto le = [&](size_t at, int size) {
    uint32_t v = 0;
    std::memcpy(&v, zip.data() + at, size_t(size));
    return v;
  };
  for (size_t at = 0; le(at, 4) == 0x04034b50;) {
    const size_t data = at + 30 + le(at + 26, 2) + le(at + 28, 2), size = le(at + 18, 4);
    const size_t descr = zip.find("'<f4'", data);
    ASSERT_LT(descr, data + size);
    zip[descr + 3] = '8';
    crcs.push_back(uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(zip.data() + data), uInt(size))));
    std::memcpy(zip.data() + at + 14, &crcs.back(), 4);
    at = data + size;
  }
  ASSERT_EQ(crcs.size(), 2u);
  for (size_t at = zip.find("PK\1\2"), k = 0; k < crcs.size(); at = zip.find("PK\1\2", at + 4), ++k)
    std::memcpy(zip.data() + at + 16, &crcs[k], 4);
  base::write_file_atomic(path("f64.npz"), zip);
  expect_error_naming([&] { import("f64.npz"); }, "output.weight.npy: dtype '<f8', expected little-endian float32 ('<f4')");
  EXPECT_FALSE(base::file_exists(path("c.ckpt")));
}

// What is not a file is refused before a byte of it is read: a FIFO's open waited for a writer for ever
// (`import FIFO` hung), and with one it read the first bytes from the pipe.  Here the FIFO has a
// writer holding "NNFMRIck": it was read and said to be a checkpoint.
TEST_F(ImportCommand, AFifoOrDirectoryIsRefusedNotReadOrWaitedOn) {
  ASSERT_EQ(mkfifo(path("pipe").c_str(), 0600), 0);
  const int fd = open(path("pipe").c_str(), O_RDWR | O_NONBLOCK);  // a reader and a writer: nothing blocks
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "NNFMRIck", 8), 8);
  expect_error_naming([&] { run(app::cmd_import, {path("pipe"), "--model", "linear:2", "--out", path("c.ckpt")}); },
                      path("pipe") + ": not a regular file (a device, FIFO or socket), expected a file");
  char left[8];
  EXPECT_EQ(read(fd, left, 8), 8);  // the pipe's bytes are still there
  close(fd);
  fs_remove(path("pipe"));
  expect_error_naming([&] { run(app::cmd_import, {path(""), "--model", "linear:2", "--out", path("c.ckpt")}); },
                      ": is a directory, expected a file");
  EXPECT_FALSE(base::file_exists(path("c.ckpt")));
}

// No output of import or export is a file they read, or another of their outputs, however its path is
// spelled: ./NAME, a symbolic link, a hard link, an .npz's description.  Refused before any work,
// naming the flag; the input is left as it was.
TEST_F(ImportCommand, AnOutputIsNeverAFileTheCommandReads) {
  nn::Network net("conv3x3:2 relu linear:3", 3, 4, 4);
  net.init(2);
  nn::save_checkpoint(path("a.ckpt"), net, 1, {"a", "b", "c"});
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--npz", path("w.npz"), "--safetensors", path("w.safetensors")}), 0);
  ASSERT_EQ(symlink(path("a.ckpt").c_str(), path("link.ckpt").c_str()), 0);
  ASSERT_EQ(link(path("w.safetensors").c_str(), path("hard.safetensors").c_str()), 0);
  const std::string ckpt = base::read_file(path("a.ckpt")), npz = base::read_file(path("w.npz")),
                    description = base::read_file(path("w.model.json")), safetensors = base::read_file(path("w.safetensors"));
  const std::string dot = path(".") + "/";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{path("w.safetensors"), "--out", dot + "w.safetensors"}, "flag --out " + dot + "w.safetensors: the same file as the imported file"},
      {{path("w.safetensors"), "--out", path("hard.safetensors")}, "flag --out " + path("hard.safetensors") + ": the same file as the imported file"},
      {{path("w.npz"), "--out", path("w.model.json")}, "flag --out " + path("w.model.json") + ": the same file as the imported file's description"},
  };
  for (const auto& c : cases) expect_error_naming([&] { run(app::cmd_import, c.first); }, c.second);
  const std::vector<std::pair<std::vector<std::string>, std::string>> exports = {
      {{path("a.ckpt"), "--npz", path("a.ckpt")}, "flag --npz " + path("a.ckpt") + ": the same file as the exported checkpoint"},
      {{path("a.ckpt"), "--safetensors", dot + "a.ckpt"}, "flag --safetensors " + dot + "a.ckpt: the same file as the exported checkpoint"},
      {{path("link.ckpt"), "--safetensors", path("a.ckpt")}, "flag --safetensors " + path("a.ckpt") + ": the same file as the exported checkpoint"},
      {{path("a.ckpt"), "--npz", path("n.npz"), "--safetensors", path("n.model.json")},
       "flag --safetensors " + path("n.model.json") + ": the same file as the description of flag --npz"},
      {{path("a.ckpt"), "--npz", path("w.npz"), "--safetensors", dot + "w.model.json"},
       "flag --safetensors " + dot + "w.model.json: the same file as the description of flag --npz"},
  };
  for (const auto& c : exports) expect_error_naming([&] { run(app::cmd_export, c.first); }, c.second);
  EXPECT_EQ(base::read_file(path("a.ckpt")), ckpt);
  EXPECT_EQ(base::read_file(path("w.npz")), npz);
  EXPECT_EQ(base::read_file(path("w.model.json")), description);
  EXPECT_EQ(base::read_file(path("w.safetensors")), safetensors);
  EXPECT_FALSE(base::file_exists(path("n.npz")));
  // an output that cannot be written (a folder that does not exist, a directory) is said before the
  // other is written: the .npz pair was written, then the command failed on --safetensors
  for (const std::string& bad : {path("nowhere/w.safetensors"), path("")}) {
    expect_error_naming([&] { run(app::cmd_export, {path("a.ckpt"), "--npz", path("p.npz"), "--safetensors", bad}); }, bad + ": ");
    EXPECT_FALSE(base::file_exists(path("p.npz")));
    EXPECT_FALSE(base::file_exists(path("p.model.json")));
  }
}

}  // namespace

namespace {

// `info` prints shapes as the checkpoint header and export's model.json hold them, [C, H, W], and
// says so: on a non-square input the order shows.
TEST_F(ImportCommand, InfoPrintsShapesInTheOrderOfModelJson) {
  nn::Network net("conv3x3:4 relu maxpool2 linear:3", 3, 8, 6);
  net.init(1);
  nn::save_checkpoint(path("a.ckpt"), net, 2, {"a", "b", "c"}, {{"model", "custom"}});
  ASSERT_EQ(run(app::cmd_export, {path("a.ckpt"), "--npz", path("a.npz")}), 0);
  const nlohmann::json model = nlohmann::json::parse(base::read_file(path("a.model.json")));
  testing::internal::CaptureStdout();
  ASSERT_EQ(run(app::cmd_info, {path("a.ckpt")}), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(model["input"], nlohmann::json({3, 8, 6}));
  EXPECT_NE(out.find("input: [3, 8, 6] (C, H, W)"), std::string::npos) << out;
  for (const auto& block : model["blocks"]) {
    const std::vector<int> s = block["output_shape"];
    const std::string shown = "-> [" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " + std::to_string(s[2]) + "] (C, H, W)";
    const size_t line = out.find("  " + block["name"].get<std::string>() + " ");
    ASSERT_NE(line, std::string::npos) << out;
    EXPECT_NE(out.substr(line, out.find('\n', line) - line).find(shown), std::string::npos) << shown << "\n" << out;
  }
  EXPECT_NE(out.find("-> [4, 4, 3] (C, H, W)"), std::string::npos) << out;  // pool1
  // and the file's digest, the one `analyze` records in the files of its analysis
  EXPECT_NE(out.find("\nsha256: " + base::sha256_file(path("a.ckpt")) + " (the file's"), std::string::npos) << out;
}

// `info` prints a string the checkpoint stores (meta.data.spec) with its control characters escaped,
// as error lines have them: a file cannot send escape sequences to the terminal.
TEST_F(ImportCommand, InfoEscapesControlCharactersOfStoredText) {
  nn::Network net("linear:3", 1, 2, 2);
  net.init(1);
  nn::save_checkpoint(path("a.ckpt"), net, 2, {"a", "b", "c"}, {{"data", {{"spec", "\x1b[31mred"}}}});
  testing::internal::CaptureStdout();
  ASSERT_EQ(run(app::cmd_info, {path("a.ckpt")}), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find("trained on: \\x1b[31mred\n"), std::string::npos) << out;
}

}  // namespace
