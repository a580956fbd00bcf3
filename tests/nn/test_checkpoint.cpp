// tests/nn/test_checkpoint.cpp — nn/checkpoint.h (save/load round trip, every corruption is an
// base::Error naming the file, atomic writes) and base/npz.h (the zip/npy structure, and numpy.load
// when /usr/bin/python3 has numpy).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <typeinfo>
#include <vector>

#include "tests/nn/gradient_check.h"
#include "nn/checkpoint.h"
#include "nn/framed_file.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/npz.h"
#include "base/sha256.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

using gradcheck::random_tensor;

// The `bn` preset with non-trivial weights, batch-norm statistics and input normalisation.
std::unique_ptr<nn::Network> trained_looking_bn_net() {
  auto net = std::make_unique<nn::Network>(nn::Network::preset("bn"), 3, 32, 32);
  net->init(11);
  net->input_mean = {0.49f, 0.48f, 0.45f};
  net->input_std = {0.25f, 0.24f, 0.26f};
  for (int k = 0; k < 3; ++k) net->forward(random_tensor(nn::Shape{4, 3, 32, 32}, 20 + k), true);  // running stats
  nn::Rng rng(12);
  for (nn::NamedParam& p : net->named_params())
    if (p.name.rfind("bn", 0) == 0 && p.param->trainable)
      for (size_t i = 0; i < p.param->value.size(); ++i) p.param->value[i] += float(0.2 * rng.normal());
  return net;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Loading `path` must throw base::Error whose one-line message names the file and contains `why`.
void expect_load_error(const std::string& path, const std::string& why) {
  try {  // error_of catches base::Error only: anything else lands below
    const std::string m = error_of([&] { nn::load_checkpoint(path); });
    EXPECT_NE(m.find(path), std::string::npos) << "message does not name the file: " << m;
    EXPECT_NE(m.find(why), std::string::npos) << "message does not say '" << why << "': " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << "message is not one line: " << m;
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": threw a " << typeid(e).name() << " instead of base::Error: " << e.what();
  }
}

// The checkpoint layout of nn/checkpoint.h, re-assembled around a replacement header with a valid crc.
std::string with_header(const std::string& file, const std::string& header) {
  uint64_t old_length;
  std::memcpy(&old_length, file.data() + 12, 8);
  std::string data = file.substr(20 + old_length, file.size() - 24 - old_length);
  std::string out = file.substr(0, 12);
  uint64_t length = header.size();
  out.append(reinterpret_cast<const char*>(&length), 8);
  out += header + data;
  uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

nlohmann::json header_of(const std::string& file) {
  uint64_t length;
  std::memcpy(&length, file.data() + 12, 8);
  return nlohmann::json::parse(file.substr(20, length));
}

// The framed file `file` (a checkpoint or a training state) with its header changed by `change` (the
// spec, or the "tensors" list: an entry renamed, reshaped or dropped), each listed tensor's data
// carried by name: its first values for the shape now listed (what there is when the shape grows, none
// for a name the file did not hold), none for a tensor dropped.  The CRC is valid: a file no nnfmri
// writes, whose header may disagree with its data or its spec, but not with its checksum.
std::string with_tensor_list(const std::string& file, const std::function<void(nlohmann::json& header)>& change) {
  nlohmann::json h = header_of(file);
  uint64_t length;
  std::memcpy(&length, file.data() + 12, 8);
  const auto bytes_of = [](const nlohmann::json& tensor) {
    size_t count = 1;
    for (const auto& side : tensor["shape"]) count *= side.get<size_t>();
    return 4 * count;
  };
  std::map<std::string, std::string> data;  // by name
  size_t at = 20 + length;
  for (const nlohmann::json& t : h["tensors"]) {
    data[t["name"]] = file.substr(at, bytes_of(t));
    at += bytes_of(t);
  }
  change(h);
  std::string out = file.substr(0, 20 + length);  // with_header puts the new header before the data
  for (const nlohmann::json& t : h["tensors"]) out += data[t["name"]].substr(0, bytes_of(t));
  return with_header(out + "crc_", h.dump());
}

// Drops the entry `name` from a header's tensor list.
void drop_tensor(nlohmann::json& header, const std::string& name) {
  nlohmann::json& list = header["tensors"];
  const auto entry = std::find_if(list.begin(), list.end(), [&](const nlohmann::json& t) { return t["name"] == name; });
  ASSERT_NE(entry, list.end()) << name;
  list.erase(entry);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

class Checkpoint : public TempDirTest {};

TEST_F(Checkpoint, RoundTripOfTheBnPresetGivesIdenticalLogits) {
  auto net = trained_looking_bn_net();
  nn::Tensor x = random_tensor(nn::Shape{2, 3, 32, 32}, 30);
  nn::Tensor logits = net->forward(x, false);
  const std::vector<std::string> classes = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
  nlohmann::json meta = {{"dataset", "planted"}, {"lr", 0.05}};
  const std::string file = path("model.nnfmri");
  nn::save_checkpoint(file, *net, 7, classes, meta);

  nn::Checkpoint ck = nn::load_checkpoint(file);
  ASSERT_TRUE(ck.net);
  EXPECT_EQ(ck.net->spec(), net->spec());
  EXPECT_EQ(ck.net->channels(), 3);
  EXPECT_EQ(ck.net->height(), 32);
  EXPECT_EQ(ck.epoch, 7);
  EXPECT_EQ(ck.class_names, classes);
  EXPECT_EQ(ck.meta, meta);
  EXPECT_EQ(ck.net->input_mean, net->input_mean);
  EXPECT_EQ(ck.net->input_std, net->input_std);
  auto a = net->named_params(), b = ck.net->named_params();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].name, b[k].name);
    ASSERT_EQ(a[k].param->value.shape(), b[k].param->value.shape());
    EXPECT_EQ(std::memcmp(a[k].param->value.data(), b[k].param->value.data(), a[k].param->value.size() * 4), 0)
        << a[k].name;
  }
  const nn::Tensor& again = ck.net->forward(x, false);
  ASSERT_EQ(again.shape(), logits.shape());
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_EQ(again[i], logits[i]) << i;
}

TEST_F(Checkpoint, SaveIsAtomicAndOverwrites) {
  auto net = std::make_unique<nn::Network>("conv3x3:2 bn relu linear:3", 1, 4, 4);
  net->init(1);
  const std::string file = path("m.nnfmri");
  nn::save_checkpoint(file, *net, 1, {"a", "b", "c"});
  net->init(2);
  nn::save_checkpoint(file, *net, 2, {"a", "b", "c"});
  EXPECT_EQ(files(), std::vector<std::string>{"m.nnfmri"}) << "a .tmp. file was left behind";
  EXPECT_EQ(nn::load_checkpoint(file).epoch, 2);
}

// A checkpoint's digest is the file's SHA-256 (coreutils' sha256sum's, here base::sha256_file's) over a
// file of several 1 MiB read parts, taken in the pass that checks its CRC: so it is the digest of the
// bytes loaded, even when the path is replaced (save_checkpoint's rename, as a training run does with
// model.ckpt) between the load and any later read of the path.
TEST_F(Checkpoint, TheDigestIsOfTheBytesLoaded) {
  nn::Network net("linear:100", 3, 32, 32);  // 307,300 values: 1.2 MB
  net.init(1);
  const std::string file = path("model.nnfmri");
  std::vector<std::string> classes;
  for (int c = 0; c < 100; ++c) classes.push_back("c" + std::to_string(c));
  nn::save_checkpoint(file, net, 1, classes);
  ASSERT_GT(fs::file_size(file), size_t(1) << 20);
  const std::string before = base::sha256_file(file);
  const char magic[8] = {'N', 'N', 'F', 'M', 'R', 'I', 'c', 'k'};
  const nn::FramedFile framed(file, magic, "nnfmri checkpoint", size_t(1) << 30, nn::Fingerprint::sha256);
  EXPECT_EQ(framed.sha256, before);
  EXPECT_EQ(nn::load_checkpoint(file).sha256, before);
  EXPECT_EQ(nn::FramedFile(file, magic, "nnfmri checkpoint", size_t(1) << 30, nn::Fingerprint::none).sha256, "");  // not asked
  net.init(2);
  nn::save_checkpoint(file, net, 2, classes);  // replaced by rename
  ASSERT_NE(base::sha256_file(file), before);
  std::vector<nn::FramedTensor> tensors;
  nn::Network copy("linear:100", 3, 32, 32);
  for (nn::NamedParam& np : copy.named_params()) tensors.push_back({np.name, &np.param->value});
  framed.read_tensors(tensors);  // the file opened before the rename: its bytes, the digest's
  EXPECT_EQ(framed.sha256, before);
}

// A class name that is not valid UTF-8 is refused before anything is written, naming it: the header's
// dump threw nlohmann's type_error 316 (exit 3, half-written run), and writing U+FFFD for the bad
// bytes made two names one ("a\xff" and "a\xfe").
TEST_F(Checkpoint, ClassNamesThatAreNotUtf8AreRefused) {
  auto net = std::make_unique<nn::Network>("linear:2", 1, 2, 2);
  net->init(1);
  const std::string file = path("m.nnfmri");
  expect_error_naming([&] { nn::save_checkpoint(file, *net, 1, {"caf\xe9", "b"}); },
                      file + ": not written: the class names: class 0 'caf\\xe9' is not valid UTF-8, expected UTF-8 names");
  EXPECT_FALSE(base::file_exists(file));
}

// A NaN normalisation mean is refused before anything is written, like one of 2e6: the bound is written
// so that NaN fails it (`!(|mean| ≤ 1e6)`; the comparison `|mean| > 1e6` is false for NaN, and with it
// the checkpoint was written).
TEST_F(Checkpoint, ANaNNormalisationMeanIsRefusedBeforeWriting) {
  auto net = std::make_unique<nn::Network>("linear:2", 1, 2, 2);
  net->init(1);
  net->input_mean = {std::nanf("")};
  const std::string file = path("m.nnfmri");
  const std::string m = error_of([&] { nn::save_checkpoint(file, *net, 1, {"a", "b"}); });
  EXPECT_NE(m.find("of channel 1, expected -1e6 to 1e6"), std::string::npos) << m;
  EXPECT_FALSE(base::file_exists(file));
}

TEST_F(Checkpoint, SaveIntoAMissingDirectoryThrowsNamingThePath) {
  auto net = std::make_unique<nn::Network>("linear:3", 1, 2, 2);
  const std::string file = path("no/such/dir/m.nnfmri");
  expect_error_naming([&] { nn::save_checkpoint(file, *net, 0, {"a", "b", "c"}); }, file);
}

class CheckpointCorruption : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    net_ = std::make_unique<nn::Network>("conv3x3:4 bn relu maxpool2 linear:3", 2, 6, 6);
    net_->init(3);
    good_ = path("good.nnfmri");
    nn::save_checkpoint(good_, *net_, 4, {"x", "y", "z"});
    bytes_ = base::read_file(good_);
  }
  // Writes `bytes` as a new file and returns its path.
  std::string corrupt(const std::string& name, const std::string& bytes) {
    write_bytes(path(name), bytes);
    return path(name);
  }
  std::unique_ptr<nn::Network> net_;
  std::string good_, bytes_;
};

TEST_F(CheckpointCorruption, TheGoodFileLoads) { EXPECT_EQ(nn::load_checkpoint(good_).epoch, 4); }

// Loaded inference-only (eval, profile, monitor, info, export): the same values, the net in that mode,
// no gradient allocated; loaded for training, every gradient there and zero.
TEST_F(CheckpointCorruption, AnInferenceOnlyLoadHasTheValuesAndNoGradients) {
  const nn::Checkpoint lean = nn::load_checkpoint(good_, true), full = nn::load_checkpoint(good_);
  EXPECT_TRUE(lean.net->inference_only());
  EXPECT_FALSE(full.net->inference_only());
  auto a = full.net->named_params(), b = lean.net->named_params();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].param->value.shape(), b[k].param->value.shape()) << a[k].name;
    EXPECT_EQ(std::memcmp(a[k].param->value.data(), b[k].param->value.data(), a[k].param->value.size() * sizeof(float)), 0) << a[k].name;
    if (!a[k].param->trainable) continue;
    EXPECT_EQ(b[k].param->grad.capacity(), 0u) << a[k].name;
    ASSERT_EQ(a[k].param->grad.size(), a[k].param->value.size()) << a[k].name;
    for (size_t i = 0; i < a[k].param->grad.size(); ++i) ASSERT_EQ(a[k].param->grad[i], 0.f) << a[k].name;
  }
}

TEST_F(CheckpointCorruption, TruncatedFile) {
  expect_load_error(corrupt("truncated", bytes_.substr(0, bytes_.size() - 37)), "checksum");
  expect_load_error(corrupt("cut_in_header", bytes_.substr(0, 30)), "checksum");
}

TEST_F(CheckpointCorruption, FlippedByteFailsTheChecksum) {
  std::string b = bytes_;
  b[b.size() - 50] ^= 0x10;  // inside the float data
  expect_load_error(corrupt("flipped_data", b), "checksum");
  b = bytes_;
  b[25] ^= 0x01;  // inside the JSON header
  expect_load_error(corrupt("flipped_header", b), "checksum");
}

// A framed file is read in parts, not whole into one string: its CRC is checked
// when it is opened and again over the bytes read_tensors copies, so a file changed in place between
// the two (here a weight's byte, written over with pwrite) is refused, not loaded unchecked.
TEST_F(CheckpointCorruption, AFileChangedInPlaceAfterItsCheckIsRefused) {
  const char magic[8] = {'N', 'N', 'F', 'M', 'R', 'I', 'c', 'k'};
  nn::Network copy("conv3x3:4 bn relu maxpool2 linear:3", 2, 6, 6);
  std::vector<nn::FramedTensor> tensors;
  for (nn::NamedParam& np : copy.named_params()) tensors.push_back({np.name, &np.param->value});
  {
    const nn::FramedFile file(good_, magic, "nnfmri checkpoint", 1 << 20, nn::Fingerprint::none);
    file.read_tensors(tensors);  // unchanged: loads
  }
  const nn::FramedFile file(good_, magic, "nnfmri checkpoint", 1 << 20, nn::Fingerprint::none);
  const int fd = ::open(good_.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const char changed = char(bytes_[bytes_.size() - 50] ^ 0x10);  // inside the float data
  ASSERT_EQ(::pwrite(fd, &changed, 1, off_t(bytes_.size() - 50)), 1);
  ::close(fd);
  EXPECT_EQ(error_of([&] { file.read_tensors(tensors); }),
            good_ + ": not a valid nnfmri checkpoint: checksum mismatch (truncated or corrupt file)");
}

// A header length the file cannot hold (its CRC made right, so that the length itself is judged):
// one error line before anything of that length is read or allocated, up to 2^64 − 1 (where a check
// written as 20 + length > size wraps around and lets it through).
TEST_F(CheckpointCorruption, AHeaderLengthPastTheFileIsRefusedBeforeReadingIt) {
  for (const uint64_t length : {uint64_t(bytes_.size()) - 23, uint64_t(1) << 32, uint64_t(1) << 63, ~uint64_t(0) - 19, ~uint64_t(0)}) {
    std::string b = bytes_.substr(0, bytes_.size() - 4);
    std::memcpy(&b[12], &length, 8);
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), uInt(b.size())));
    b.append(reinterpret_cast<const char*>(&crc), 4);
    expect_load_error(corrupt("long_header", b), "header length " + std::to_string(length) + " exceeds the file");
  }
}

TEST_F(CheckpointCorruption, WrongMagic) {
  std::string b = bytes_;
  b[0] = 'X';
  expect_load_error(corrupt("magic", b), "magic");
  expect_load_error(corrupt("not_a_checkpoint.png", "\x89PNG\r\n\x1a\n and some more bytes here"), "magic");
}

TEST_F(CheckpointCorruption, VersionMismatch) {
  std::string b = bytes_;
  b[8] = 2;  // u32 version, little-endian
  expect_load_error(corrupt("version", b), "version 2");
}

TEST_F(CheckpointCorruption, EmptyFile) { expect_load_error(corrupt("empty", ""), "too short"); }

TEST_F(CheckpointCorruption, MissingFile) { expect_load_error(path("does_not_exist.nnfmri"), "cannot open"); }

TEST_F(CheckpointCorruption, HeaderIsNotJson) {
  expect_load_error(corrupt("not_json", with_header(bytes_, "{\"spec\": ")), "header: not valid JSON");
}

TEST_F(CheckpointCorruption, HeaderSpecDisagreesWithTheData) {
  nlohmann::json h = header_of(bytes_);
  h["spec"] = "conv3x3:4 bn relu maxpool3 linear:3";  // same tensor count, a smaller output.weight
  expect_load_error(corrupt("other_spec", with_header(bytes_, h.dump())), "output.weight");
  h["spec"] = "linear:3";
  h["class_names"] = {"x", "y", "z"};
  expect_load_error(corrupt("fewer_tensors", with_header(bytes_, h.dump())),
                    "tensor output.weight is [3, 36, 1, 1], the spec needs [3, 72, 1, 1]");
  h = header_of(bytes_);
  h["spec"] = "conv3x3:4 relu frobnicate linear:3";
  expect_load_error(corrupt("bad_spec", with_header(bytes_, h.dump())), "frobnicate");
}

// (a) A header whose spec needs a far larger net than the tensors its file holds: refused naming the
// spec's first tensor the file holds in another shape, with both shapes, before anything is allocated.
// It was refused by the net's size alone, naming no tensor ("spec token 'conv3x3:64': 1152 parameters,
// expected at most 398, twice the 199 values its file holds").
TEST_F(CheckpointCorruption, ASpecFarLargerThanItsFileNamesTheFirstTensorAndBothShapes) {
  nlohmann::json h = header_of(bytes_);
  h["spec"] = "conv3x3:64 bn relu maxpool2 linear:3";
  expect_load_error(corrupt("wide_spec", with_header(bytes_, h.dump())),
                    "not a valid nnfmri checkpoint: tensor conv1.weight is [4, 2, 3, 3], the spec needs [64, 2, 3, 3]");
  h["spec"] = "conv3x3:4 bn relu maxpool2 linear:20000 linear:3";  // 740,000 values more, from the fifth tensor on
  expect_load_error(corrupt("deep_spec", with_header(bytes_, h.dump())),
                    "not a valid nnfmri checkpoint: no tensor fc1.weight [20000, 36, 1, 1], which the spec needs");
}

// (b) A tensor listed (and stored) in another shape of the same size, the spec unchanged: named with
// both shapes.  It was refused by its place in the list ("tensor 5 is {\"name\":\"output.weight\",
// \"shape\":[3,4,3,3]}, expected output.weight [3,36,1,1]").
TEST_F(CheckpointCorruption, ATensorOfAnotherShapeOfTheSameSizeIsNamedWithBothShapes) {
  const std::string file = corrupt("unflattened", with_tensor_list(bytes_, [](nlohmann::json& h) {
    ASSERT_EQ(h["tensors"][5]["name"], "output.weight");
    h["tensors"][5]["shape"] = {3, 4, 3, 3};  // the 108 values of [3, 36, 1, 1]
  }));
  expect_load_error(file, "not a valid nnfmri checkpoint: tensor output.weight is [3, 4, 3, 3], the spec needs [3, 36, 1, 1]");
}

// (c) A tensor missing from the list and the data: named with the shape the spec needs.  It was
// refused by the count alone ("it lists 7 tensors, the spec has 8").
TEST_F(CheckpointCorruption, ATensorMissingIsNamedWithTheShapeTheSpecNeeds) {
  const std::string file = corrupt("no_running_var", with_tensor_list(bytes_, [](nlohmann::json& h) { drop_tensor(h, "bn1.running_var"); }));
  expect_load_error(file, "not a valid nnfmri checkpoint: no tensor bn1.running_var [4, 1, 1, 1], which the spec needs");
}

// A header whose list agrees with its spec of a large net, over data too short for it (the CRC valid):
// the net is still built with at most twice the values the file holds (nn::file_net_limit), refused by
// the spec's first layer over them before that layer allocates (it allocated first, then found the
// data short: a 258-byte file naming linear:21000 made `info` allocate 520 MB, exit 3 under ulimit -v).
TEST_F(CheckpointCorruption, AHeaderNamingMoreValuesThanTheFileHoldsIsRefusedBeforeAllocating) {
  nn::Network large("conv3x3:4 bn relu maxpool2 linear:20000 linear:3", 2, 6, 6);
  const nlohmann::json listed = header_of([&] {
    nn::save_checkpoint(path("large.nnfmri"), large, 4, {"x", "y", "z"});
    return base::read_file(path("large.nnfmri"));
  }())["tensors"];
  const std::string file = corrupt("large_spec", with_tensor_list(bytes_, [&](nlohmann::json& h) {
    h["spec"] = large.spec();
    h["tensors"] = listed;  // fc1.* hold no data, output.weight its 108 values of 60,000
  }));
  expect_load_error(file, "spec token 'linear:20000': 740000 parameters, expected at most 310 (what is left of 398, twice the "
                          "199 values its file holds)");
}

// A residual checkpoint whose shortcut projection is stored with fewer input channels than its spec
// gives it (header and data agree, the CRC is valid): refused naming that tensor and both shapes.  It
// was refused by the spec's last token, which the shortfall reached first ("spec token 'linear:3': 27
// parameters, expected at most 11 (what is left of the 483 values its file holds)"), naming neither.
TEST_F(CheckpointCorruption, AResidualShortcutProjectionOfAnotherShapeIsNamed) {
  nn::Network net("conv3x3:4 bn relu res:proj(conv3x3:8:s2 bn) relu gap linear:3", 2, 6, 6);
  net.init(5);
  nn::save_checkpoint(path("res.nnfmri"), net, 1, {"x", "y", "z"});
  const std::string file = corrupt("short_projection", with_tensor_list(base::read_file(path("res.nnfmri")), [](nlohmann::json& h) {
    for (nlohmann::json& t : h["tensors"])
      if (t["name"] == "res1.proj.weight") {
        ASSERT_EQ(t["shape"], nlohmann::json({8, 4, 1, 1}));
        t["shape"] = {8, 2, 1, 1};
      }
  }));
  expect_load_error(file, "tensor res1.proj.weight is [8, 2, 1, 1], the spec needs [8, 4, 1, 1]");
}

// A training state's tensor of another shape or missing (the run's net and optimiser allocated): named
// with both shapes, or with the shape the net needs.  They were refused by place and count ("tensor 0 is
// {...}, expected conv1.weight [4,2,3,3]", "it lists N tensors, the spec has N + 1").
TEST_F(CheckpointCorruption, ATrainingStateNamesItsTensorOfAnotherShapeOrMissing) {
  nn::Optimizer optimizer(*net_, nn::OptimConfig{});
  nn::TrainPosition position;
  position.epoch = 1, position.step = 2;
  const std::string state = path("good.state");
  nn::save_training_state(state, *net_, optimizer, position, 5);
  const std::string bytes = base::read_file(state);
  for (const auto& [name, change, why] : std::vector<std::tuple<std::string, std::function<void(nlohmann::json&)>, std::string>>{
           {"transposed.state", [](nlohmann::json& h) { h["tensors"][0]["shape"] = {2, 4, 3, 3}; },
            "tensor conv1.weight is [2, 4, 3, 3], the spec needs [4, 2, 3, 3]"},
           {"no_bias.state", [](nlohmann::json& h) { drop_tensor(h, "output.bias"); },
            "no tensor output.bias [3, 1, 1, 1], which the spec needs"}}) {
    const std::string file = corrupt(name, with_tensor_list(bytes, change));
    const std::string m = error_of([&] { nn::load_training_state(file, *net_, optimizer, 5); });
    EXPECT_EQ(m.find(file + ": not a valid nnfmri training state: " + why), 0u) << m;
  }
  EXPECT_EQ(nn::load_training_state(state, *net_, optimizer, 5).step, 2);
}

// A training state's header fields are read with their ranges: "epoch": 4294967297 was read as epoch
// 1 (a narrowing read), and a count of correct images above the images, a negative loss sum or a
// signed net_rng were taken.  Each is one error naming the file and the field.
TEST_F(CheckpointCorruption, TrainingStateFieldsOutOfRangeAreRefusedNamingThem) {
  nn::Optimizer optimizer(*net_, nn::OptimConfig{});
  nn::TrainPosition position;
  position.epoch = 2, position.step = 3, position.loss_sum = 4.5, position.correct = 7, position.images = 24;
  const std::string state = path("good.state");
  nn::save_training_state(state, *net_, optimizer, position, 5);
  const std::string bytes = base::read_file(state);
  const nn::TrainPosition back = nn::load_training_state(state, *net_, optimizer, 5);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.correct, 7);
  const nlohmann::json good = header_of(bytes);
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"epoch", 4294967297ULL}, {"epoch", 0}, {"step", -1}, {"correct", 25}, {"loss_sum", -1.0},
           {"images", 1e300}, {"optimizer_steps", 2.5}, {"net_rng", -5}, {"seed", -5}}) {
    nlohmann::json h = good;
    h[field] = value;
    const std::string file = corrupt("bad_" + field + ".state", with_header(bytes, h.dump()));
    const std::string m = error_of([&] { nn::load_training_state(file, *net_, optimizer, 5); });
    EXPECT_NE(m.find(file), std::string::npos) << field << ": " << m;
    EXPECT_NE(m.find("/" + field), std::string::npos) << field << " = " << value.dump() << ": " << m;
  }
}

// A state of the same net trained with another seed was taken: the resumed run continued another
// training's weights under this run's name.  It is refused naming both seeds; a state without a seed
// (written before the seed was stored) is taken as it is.
TEST_F(CheckpointCorruption, ATrainingStateOfAnotherSeedIsRefusedNamingBothSeeds) {
  nn::Optimizer optimizer(*net_, nn::OptimConfig{});
  nn::TrainPosition position;
  position.epoch = 2, position.step = 3;
  const std::string state = path("seed7.state");
  nn::save_training_state(state, *net_, optimizer, position, 7);
  EXPECT_EQ(nn::load_training_state(state, *net_, optimizer, 7).step, 3);
  const std::string m = error_of([&] { nn::load_training_state(state, *net_, optimizer, 1); });
  EXPECT_EQ(m.find(state + ": "), 0u) << m;
  EXPECT_NE(m.find("it is of a training with seed 7, not this run's seed 1"), std::string::npos) << m;
  nlohmann::json h = header_of(base::read_file(state));
  h.erase("seed");
  const std::string unseeded = corrupt("unseeded.state", with_header(base::read_file(state), h.dump()));
  EXPECT_EQ(nn::load_training_state(unseeded, *net_, optimizer, 1).step, 3);
}

TEST_F(CheckpointCorruption, ExtraBytesAfterTheTensors) {
  std::string b = bytes_.substr(0, bytes_.size() - 4) + std::string(8, '\0');
  uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), uInt(b.size())));
  b.append(reinterpret_cast<const char*>(&crc), 4);
  expect_load_error(corrupt("extra", b), "unexpected bytes");
}

// A checksummed file with a NaN or an infinity among its weights (nnfmri never writes one: a hand-made
// or damaged file) is refused naming the tensor; it loaded, and every score computed from it was NaN.
TEST_F(CheckpointCorruption, NonFiniteWeightsAreRefusedNamingTheTensor) {
  for (const float bad : {std::nanf(""), -std::numeric_limits<float>::infinity()}) {
    std::string b = bytes_.substr(0, bytes_.size() - 4);
    const float value = bad;
    std::memcpy(&b[b.size() - 8], &value, 4);  // the second-to-last float: output.bias[1]
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), uInt(b.size())));
    b.append(reinterpret_cast<const char*>(&crc), 4);
    expect_load_error(corrupt("nonfinite", b), "tensor output.bias holds");
    expect_load_error(corrupt("nonfinite", b), "at element 1, expected finite numbers");
  }
}

TEST_F(CheckpointCorruption, HeaderFieldMissing) {
  nlohmann::json h = header_of(bytes_);
  h.erase("epoch");
  expect_load_error(corrupt("no_epoch", with_header(bytes_, h.dump())), "epoch");
}

// A header whose "tensors" list is missing or holds a non-object must still be an base::Error
// (not an nlohmann exception escaping from the JSON accessors).
TEST_F(CheckpointCorruption, HeaderWithoutAValidTensorListThrowsNnError) {
  nlohmann::json h = header_of(bytes_);
  h.erase("tensors");
  expect_load_error(corrupt("no_tensors", with_header(bytes_, h.dump())), "tensor");
  h = header_of(bytes_);
  h["tensors"][0] = 42;  // an entry that is not an object
  expect_load_error(corrupt("bad_tensor_entry", with_header(bytes_, h.dump())), "header: /tensors/0: expected an object");
  h = header_of(bytes_);
  h["tensors"][1].erase("shape");
  expect_load_error(corrupt("entry_without_shape", with_header(bytes_, h.dump())), "header: /tensors/1/shape: missing");
  h = header_of(bytes_);
  h["tensors"][1]["shape"] = {4, 1};  // not the framing's [n, c, h, w]
  expect_load_error(corrupt("entry_of_two_sides", with_header(bytes_, h.dump())), "header: /tensors/1/shape: expected [n, c, h, w]");
}

// Issue 11, defect 8: input dimensions were never range-checked ([INT_MAX, …] → UBSan overflow in
// Conv2d::setup; [3.5, …] silently read as 3), and meta fields of the wrong type escaped as bare
// nlohmann text from `info` and `analyze` (exit 3).
TEST_F(CheckpointCorruption, InputDimensionsAreRangeCheckedNamingTheField) {
  nlohmann::json h = header_of(bytes_);
  h["input"] = {2147483647, 6, 6};
  expect_load_error(corrupt("int_max", with_header(bytes_, h.dump())),
                    "header: /input/0: expected an integer from 1 to 65536, found the number 2147483647");
  h["input"] = {2.5, 6, 6};
  expect_load_error(corrupt("fraction", with_header(bytes_, h.dump())), "header: /input/0: expected an integer from 1 to 65536, found the number 2.5");
  h["input"] = {2, 6};
  expect_load_error(corrupt("two_dims", with_header(bytes_, h.dump())), "header: /input: expected [channels, height, width]");
  h["input"] = {2, 60000, 60000};
  expect_load_error(corrupt("huge_map", with_header(bytes_, h.dump())), "network input 2x60000x60000");
}

TEST_F(CheckpointCorruption, MetaAndNormalizationOfTheWrongTypeAreOneError) {
  const std::vector<std::pair<nlohmann::json, std::string>> metas = {
      {5, "header: /meta: expected an object, found the number 5"},
      {{{"data", "cifar10"}}, "header: /meta/data: expected an object, found the string \"cifar10\""},
      {{{"data", {{"spec", 7}}}}, "header: /meta/data/spec: expected a string, found the number 7"},
      {{{"model", nlohmann::json::array()}}, "header: /meta/model: expected a string"}};
  for (const auto& [meta, why] : metas) {
    nlohmann::json h = header_of(bytes_);
    h["meta"] = meta;
    expect_load_error(corrupt("meta", with_header(bytes_, h.dump())), why);
  }
  nlohmann::json h = header_of(bytes_);
  h["normalization"]["std"] = {0.5, 0};
  expect_load_error(corrupt("zero_std", with_header(bytes_, h.dump())), "header: /normalization/std/1: expected a number from");
  h["normalization"]["std"] = {0.5};
  expect_load_error(corrupt("short_std", with_header(bytes_, h.dump())), "header: /normalization/std: expected 2 numbers");
  h = header_of(bytes_);
  h["class_names"] = {"x", 3};
  expect_load_error(corrupt("class_number", with_header(bytes_, h.dump())), "header: /class_names/1: expected a string");
  std::string text = header_of(bytes_).dump();
  text.replace(text.find("\"epoch\":4"), 9, "\"epoch\":1e999");
  expect_load_error(corrupt("overflow", with_header(bytes_, text)), "header: /epoch: number overflow parsing '1e999'");
}

// The loader holds the class names to import's rules (nn::class_names_problem): one per output, non-empty,
// no control character, each once; save_checkpoint will not write such names either.  So `info` and
// `export` never pass on names that `import` then refuses.
TEST_F(CheckpointCorruption, ClassNamesImportWouldRefuseAreRefused) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{"x", "y"}, "header: /class_names: 2 class names, but the net has 3 outputs"},
      {{"x", "y", "x"}, "header: /class_names: class name 'x' appears twice"},
      {{"x", "", "z"}, "header: /class_names: class 1 is an empty name"},
      {{"x", "y", "\x1b[2J"}, "header: /class_names: class 2 holds a control character"}};
  for (const auto& c : cases) {  // not a structured binding: a lambda below captures it (C++20 only)
    const nlohmann::json& names = c.first;
    const std::string& why = c.second;
    nlohmann::json h = header_of(bytes_);
    h["class_names"] = names;
    expect_load_error(corrupt("names", with_header(bytes_, h.dump())), why);
    expect_error_naming([&] { nn::save_checkpoint(path("n.nnfmri"), *net_, 1, names.get<std::vector<std::string>>()); },
                        path("n.nnfmri") + ": not written: the class names: " + why.substr(why.find("/class_names: ") + 14));
    EXPECT_FALSE(base::file_exists(path("n.nnfmri")));
  }
}

// Issue 11, defect 2 for the checkpoint reader: its JSON header is bounded like every other JSON.
TEST_F(CheckpointCorruption, DeeplyNestedHeaderIsRefused) {
  nlohmann::json h = header_of(bytes_);
  std::string text = h.dump();
  text.insert(text.size() - 1, ",\"deep\":" + std::string(80000, '[') + std::string(80000, ']'));
  expect_load_error(corrupt("deep", with_header(bytes_, text)), "header: nested deeper than 64 levels");
}

// Issue 11, defect 8: `info /dev/zero` read until memory ran out; a FIFO would block.
TEST_F(CheckpointCorruption, DevicesFifosAndDirectoriesAreRefusedBeforeReading) {
  expect_load_error("/dev/zero", "/dev/zero: not a regular file");
  expect_load_error(dir_, "is a directory, expected a file");
  const std::string fifo = path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_load_error(fifo, "not a regular file");
}

TEST(DescribeNetwork, ListsLayersBlocksAndNormalisation) {
  nn::Network net("conv5x5:6:s2:p0 bn relu maxpool2 linear:4 relu dropout:0.25 linear:2", 3, 16, 16);
  nlohmann::json d = nn::describe_network(net);
  EXPECT_EQ(d["spec"], net.spec());
  EXPECT_EQ(d["input"], nlohmann::json({3, 16, 16}));
  ASSERT_EQ(d["layers"].size(), net.num_layers());
  const auto& conv = d["layers"][0];
  EXPECT_EQ(conv["name"], "conv1");
  EXPECT_EQ(conv["kind"], "conv2d");
  EXPECT_EQ(conv["kernel"], nlohmann::json({5, 5}));
  EXPECT_EQ(conv["stride"], 2);
  EXPECT_EQ(conv["padding"], 0);
  EXPECT_EQ(conv["bias"], false);
  EXPECT_EQ(conv["output_shape"], nlohmann::json({6, 6, 6}));
  EXPECT_EQ(d["layers"][1]["name"], "bn1");
  EXPECT_EQ(d["blocks"].size(), net.blocks().size());
  EXPECT_EQ(d["blocks"].back()["name"], "output");
  EXPECT_EQ(d["normalization"]["mean"].size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// NumPy .npz

template <typename T>
T read_le(const std::string& s, size_t off) {
  T v;
  std::memcpy(&v, s.data() + off, sizeof v);
  return v;
}

std::string without_spaces(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

class Npz : public TempDirTest {
 protected:
  std::vector<float> a_ = {0.5f, -1.f, 2.25f, 3.f, -4.5f, 1e-3f}, b_ = {7.f, 8.f, -9.f, 1e20f};
  std::vector<base::NpyArray> arrays() const { return {{"a", {2, 3}, a_.data()}, {"b", {4}, b_.data()}}; }
};

TEST_F(Npz, ZipAndNpyStructure) {
  const std::string file = path("w.npz");
  base::write_npz(file, arrays());
  EXPECT_EQ(files(), std::vector<std::string>{"w.npz"}) << "a .tmp. file was left behind";
  const std::string z = base::read_file(file);
  struct Expect {
    std::string name, shape;
    const std::vector<float>* data;
  };
  const Expect expected[2] = {{"a.npy", "(2,3)", &a_}, {"b.npy", "(4,)", &b_}};
  size_t off = 0;
  std::vector<size_t> local_offsets;
  for (const Expect& e : expected) {
    local_offsets.push_back(off);
    ASSERT_LE(off + 30, z.size());
    ASSERT_EQ(read_le<uint32_t>(z, off), 0x04034b50u) << "local file header signature";
    EXPECT_EQ(read_le<uint16_t>(z, off + 8), 0) << "stored, not compressed";
    const uint32_t crc = read_le<uint32_t>(z, off + 14), size = read_le<uint32_t>(z, off + 18);
    EXPECT_EQ(read_le<uint32_t>(z, off + 22), size);
    const uint16_t name_length = read_le<uint16_t>(z, off + 26), extra = read_le<uint16_t>(z, off + 28);
    ASSERT_EQ(z.substr(off + 30, name_length), e.name);
    const size_t npy = off + 30 + name_length + extra;
    ASSERT_LE(npy + size, z.size());
    const std::string body = z.substr(npy, size);
    EXPECT_EQ(crc, uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
    // .npy v1.0: magic, version, u16 header length, a dict padded so the data starts at a multiple of 64.
    ASSERT_EQ(body.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const uint16_t header_length = read_le<uint16_t>(body, 8);
    const std::string header = body.substr(10, header_length);
    EXPECT_EQ((10 + header_length) % 64, 0);
    EXPECT_EQ(header.back(), '\n');
    EXPECT_NE(without_spaces(header).find("'descr':'<f4'"), std::string::npos) << header;
    EXPECT_NE(without_spaces(header).find("'fortran_order':False"), std::string::npos) << header;
    EXPECT_NE(without_spaces(header).find("'shape':" + e.shape), std::string::npos) << header;
    ASSERT_EQ(body.size(), 10 + header_length + e.data->size() * 4);
    EXPECT_EQ(std::memcmp(body.data() + 10 + header_length, e.data->data(), e.data->size() * 4), 0);
    off = npy + size;
  }
  // End of central directory: 2 entries, pointing at a directory whose entries point back at the headers.
  ASSERT_GE(z.size(), off + 22);
  const size_t end = z.size() - 22;
  ASSERT_EQ(read_le<uint32_t>(z, end), 0x06054b50u);
  EXPECT_EQ(read_le<uint16_t>(z, end + 10), 2);
  const uint32_t directory = read_le<uint32_t>(z, end + 16);
  EXPECT_EQ(directory, off);
  EXPECT_EQ(read_le<uint32_t>(z, end + 12), end - directory);
  size_t c = directory;
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(read_le<uint32_t>(z, c), 0x02014b50u);
    const uint16_t n = read_le<uint16_t>(z, c + 28), extra = read_le<uint16_t>(z, c + 30),
                   comment = read_le<uint16_t>(z, c + 32);
    EXPECT_EQ(z.substr(c + 46, n), expected[k].name);
    EXPECT_EQ(read_le<uint32_t>(z, c + 42), local_offsets[k]);
    c += 46 + n + extra + comment;
  }
  EXPECT_EQ(c, end);
}

TEST_F(Npz, NumpyLoadsIt) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  const std::string file = path("w.npz");
  base::write_npz(file, arrays());
  const std::string script =
      "import sys, numpy as np\n"
      "z = np.load(sys.argv[1])\n"
      "assert sorted(z.files) == ['a', 'b'], z.files\n"
      "a = np.array([0.5, -1, 2.25, 3, -4.5, 1e-3], dtype=np.float32).reshape(2, 3)\n"
      "b = np.array([7, 8, -9, 1e20], dtype=np.float32)\n"
      "assert z['a'].dtype == np.float32 and z['a'].shape == (2, 3) and (z['a'] == a).all(), z['a']\n"
      "assert z['b'].dtype == np.float32 and z['b'].shape == (4,) and (z['b'] == b).all(), z['b']\n";
  const std::string script_file = path("check.py");
  write_bytes(script_file, script);
  EXPECT_EQ(std::system(("/usr/bin/python3 " + script_file + " " + file).c_str()), 0);
}

// The zip write_npz makes has 32-bit sizes and offsets and 16-bit counts (no zip64): what would not fit
// is refused before anything is written, by names and shapes alone (no 4 GiB is allocated here).
TEST_F(Npz, ArraysOver4GiBAreRefusedBeforeWriting) {
  EXPECT_NE(base::npz_size_problem({{"input", {260, 3, 1182, 1182}, nullptr}}).find(" bytes, expected an .npz under 4 GiB (a zip without zip64)"),
            std::string::npos);
  EXPECT_EQ(base::npz_size_problem({{"input", {250, 3, 1182, 1182}, nullptr}, {"logits", {250, 10}, nullptr}}), "");
  EXPECT_NE(base::npz_size_problem(std::vector<base::NpyArray>(70000, {"a", {1}, nullptr})).find("70000 arrays"), std::string::npos);
  const float one = 1;
  expect_error_naming([&] { base::write_npz(path("big.npz"), {{"a", {1 << 30, 4}, &one}}); },
                      path("big.npz") + ": not written: 17179869");  // 17,179,869,3xx bytes: 2^32 floats and the zip's framing
  EXPECT_FALSE(fs::exists(path("big.npz")));
}

// The .npy header is padded with blanks so that the data start at a multiple of 64, and not at all
// when prefix, dict and newline already fill their blocks exactly: the shape (10,1,…,1) of 31
// dimensions is 64 characters, the dict 117 bytes, 10 + 117 + its newline = 128 bytes.
TEST_F(Npz, AHeaderThatEndsOnA64ByteBoundaryIsNotPadded) {
  const std::vector<float> ten(10, 1.f);
  std::vector<int> shape(31, 1);
  shape[0] = 10;
  base::write_npy(path("ones.npy"), {"", shape, ten.data()});
  const std::string bytes = base::read_file(path("ones.npy"));
  ASSERT_EQ(bytes.size(), 128u + 40);
  EXPECT_EQ(read_le<uint16_t>(bytes, 8), 118);
  EXPECT_EQ(bytes.substr(10, 118), "{'descr': '<f4', 'fortran_order': False, 'shape': (10,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
                                   "1,1,1,1,1,1,1,1,1), }\n");
}

// The limits of a zip without zip64 are exact: 65,535 arrays and a 65,535-byte member name
// (NAME.npy) are allowed, one more is not; and the size the refusal names is the file's, byte for
// byte (a small array of the same header gives the framing).
TEST_F(Npz, TheZipLimitsAreExact) {
  EXPECT_EQ(base::npz_size_problem(std::vector<base::NpyArray>(65535, {"a", {1}, nullptr})), "");
  EXPECT_EQ(base::npz_size_problem(std::vector<base::NpyArray>(65536, {"a", {1}, nullptr})),
            "65536 arrays, expected at most 65535 (a zip without zip64)");
  EXPECT_EQ(base::npz_size_problem({{std::string(65531, 'n'), {1}, nullptr}}), "");
  EXPECT_EQ(base::npz_size_problem({{std::string(65532, 'n'), {1}, nullptr}}),
            "an array name of 65536 bytes, expected under 64 KiB");
  const std::vector<float> seven(7, 1.f);
  base::write_npz(path("empty.npz"), {{"a", {1000000000, 0}, nullptr}, {"b", {7}, seven.data()}});
  const unsigned long long framing = base::read_file(path("empty.npz")).size() - 7 * 4;
  EXPECT_EQ(base::npz_size_problem({{"a", {1000000000, 5}, nullptr}, {"b", {7}, nullptr}}),
            std::to_string(framing + 4ull * (5000000000ull + 7)) + " bytes, expected an .npz under 4 GiB (a zip without zip64)");
}

TEST_F(Npz, UnwritablePathThrowsNamingIt) {
  const std::string file = path("missing_dir/w.npz");
  expect_error_naming([&] { base::write_npz(file, arrays()); }, file);
}

}  // namespace
