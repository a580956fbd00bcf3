// tests/nn/test_tensor_file.cpp — weights from elsewhere (nn/tensor_file.h).
//  - The fixture of tests/nn/fixtures/make_safetensors_fixture.py (standard-library Python: the same
//    weights stored as F32, F16 and BF16, and the logits of a double-precision forward written there
//    on the weights as each dtype stores them): imported, the net reproduces them to 1e-5.
//  - Round trips: a net's tensors written as safetensors or .npz and read back are bit-identical.
//  - Hostile files: each one error naming the file and the tensor or offset.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <csignal>
#include <functional>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "base/fileio.h"
#include "base/json.h"
#include "base/npz.h"
#include "base/sha256.h"
#include "nn/tensor_file.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

std::string fixture(const std::string& name) {
  const std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/')) + "/fixtures/" + name;
}

TEST(TensorFile, ImportedFixtureReproducesTheReferenceLogitsForEveryDtype) {
  const base::Json expected = base::read_json(fixture("tiny_logits.json"));
  const int C = expected["input"][0], H = expected["input"][1], W = expected["input"][2];
  std::vector<std::vector<float>> logits_by_dtype;
  for (const std::string dtype : {"f32", "f16", "bf16"}) {
    const nn::TensorFile file = nn::read_safetensors(fixture("tiny_" + dtype + ".safetensors"));
    EXPECT_EQ(file.tensors.size(), 7u) << "bn1.num_batches_tracked (I64) is dropped";
    EXPECT_EQ(file.metadata.at("format"), "pt");
    nn::Network net(expected["spec"].get<std::string>(), C, H, W);
    nn::load_named_tensors(net, file.tensors, false, dtype);
    const auto& pixels = expected["pixels"];
    nn::Tensor x(int(pixels.size()), C, H, W);
    for (size_t n = 0; n < pixels.size(); ++n)
      for (int c = 0; c < C; ++c)
        for (int i = 0; i < H * W; ++i)
          x.data()[(n * C + c) * H * W + i] =
              (pixels[n][c * H * W + i].get<float>() / 255.f - expected["mean"][c].get<float>()) / expected["std"][c].get<float>();
    const nn::Tensor& logits = net.forward(x, false);
    const auto& want = expected["logits"][dtype];
    std::vector<float> got(logits.data(), logits.data() + logits.size());
    for (size_t n = 0; n < want.size(); ++n)
      for (size_t k = 0; k < want[n].size(); ++k)
        EXPECT_NEAR(got[n * want[n].size() + k], want[n][k].get<double>(), 1e-5) << dtype << " image " << n << " class " << k;
    logits_by_dtype.push_back(got);
  }
  // The three dtypes really store different weights: F16 and BF16 logits differ from F32's.
  for (size_t d = 1; d < 3; ++d) {
    double differ = 0;
    for (size_t i = 0; i < logits_by_dtype[0].size(); ++i)
      differ = std::max(differ, double(std::fabs(logits_by_dtype[d][i] - logits_by_dtype[0][i])));
    EXPECT_GT(differ, 1e-5) << d;
  }
}

nn::Network random_net() {
  nn::Network net("conv3x3:4 bn relu maxpool2 conv3x3:3 relu linear:6 relu dropout:0.1 linear:3", 3, 8, 8);
  net.init(7);
  for (nn::NamedParam& p : net.named_params())  // running statistics away from their 0/1 start
    for (size_t i = 0; i < p.param->value.size(); ++i) p.param->value.data()[i] += 0.001f * float(i % 7);
  return net;
}

void expect_same_weights(nn::Network& a, nn::Network& b) {
  const auto pa = a.named_params(), pb = b.named_params();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    ASSERT_EQ(pa[i].param->value.size(), pb[i].param->value.size());
    EXPECT_EQ(std::memcmp(pa[i].param->value.data(), pb[i].param->value.data(), 4 * pa[i].param->value.size()), 0)
        << pa[i].name;
  }
}

class TensorFileIO : public TempDirTest {};

TEST_F(TensorFileIO, SafetensorsAndNpzRoundTripsAreBitIdentical) {
  nn::Network net = random_net();
  const std::vector<nn::TensorRef> tensors = nn::torch_tensors(net);
  EXPECT_EQ(tensors[0].name, "conv1.weight");
  EXPECT_EQ(tensors[0].shape, std::vector<int64_t>({4, 3, 3, 3}));
  nn::write_safetensors(path("w.safetensors"), tensors, {{"note", "x"}});
  std::vector<base::NpyArray> arrays;
  for (const nn::TensorRef& t : tensors) arrays.push_back({t.name, std::vector<int>(t.shape.begin(), t.shape.end()), t.values});
  base::write_npz(path("w.npz"), arrays);
  for (const std::string file : {"w.safetensors", "w.npz"}) {
    const nn::TensorFile read = file == "w.npz" ? nn::read_npz(path(file)) : nn::read_safetensors(path(file));
    nn::Network copy("conv3x3:4 bn relu maxpool2 conv3x3:3 relu linear:6 relu dropout:0.1 linear:3", 3, 8, 8);
    nn::load_named_tensors(copy, read.tensors, false, file);
    expect_same_weights(net, copy);
    EXPECT_EQ(read.sha256, base::sha256_file(path(file))) << file;  // the digest import records
  }
  EXPECT_EQ(nn::read_safetensors(path("w.safetensors")).metadata.at("note"), "x");
  // The header is 8-byte aligned, as the format recommends.
  const std::string bytes = base::read_file(path("w.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

template <class T>
T le_at(const std::string& bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// The writers stream each array from its buffer, not building the file in a string: the bytes are
// those of a writer that builds it whole (the SHA-256 of its file, kept here), and the
// fields a streaming writer computes itself are checked one by one: each member's CRC (of its .npy
// header and data, an empty array's included: zlib's crc32 restarts at 0 on a null buffer), its local
// header's offset, the central directory's offset and size.
TEST_F(TensorFileIO, WrittenFilesKeepTheirBytesFieldByField) {
  const float a[2] = {1.0f, -2.0f}, b[3] = {0.5f, 3.0f, -0.25f};
  base::write_npz(path("s.npz"), {{"a", {2}, a}, {"empty", {0}, nullptr}, {"b", {1, 3}, b}});
  const std::string npz = base::read_file(path("s.npz"));
  ASSERT_EQ(npz.size(), 692u);
  EXPECT_EQ(base::sha256_file(path("s.npz")), "f072a115fb6addd595019f3ca674c5366237c6bdb2baf82518ebcf6c6686cdcd");
  const std::string header_a = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                               "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + std::string(60, ' ') + "\n";
  ASSERT_EQ(header_a.size(), 128u);  // the .npy header padded to 64 bytes
  const size_t locals[3] = {0, 0xab, 0x152}, sizes[3] = {136, 128, 140};
  const uint32_t crcs[3] = {0x0a1349ba, 0xfc69dbcd, 0x9bfdac07};
  EXPECT_EQ(npz.compare(30 + 5, 128, header_a), 0);
  EXPECT_EQ(npz.compare(30 + 5 + 128, 8, std::string(reinterpret_cast<const char*>(a), 8)), 0);
  const size_t directory = le_at<uint32_t>(npz, npz.size() - 6);
  EXPECT_EQ(directory, 0x201u);
  EXPECT_EQ(le_at<uint32_t>(npz, npz.size() - 10), npz.size() - 22 - directory);
  size_t entry = directory;
  for (int m = 0; m < 3; ++m) {
    EXPECT_EQ(le_at<uint32_t>(npz, locals[m]), 0x04034b50u) << m;
    const uint16_t name = le_at<uint16_t>(npz, locals[m] + 26);
    const std::string member = npz.substr(locals[m] + 30 + name, sizes[m]);
    EXPECT_EQ(uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(member.data()), uInt(member.size()))), crcs[m]) << m;
    EXPECT_EQ(le_at<uint32_t>(npz, locals[m] + 14), crcs[m]) << m;
    EXPECT_EQ(le_at<uint32_t>(npz, locals[m] + 18), sizes[m]) << m;
    EXPECT_EQ(le_at<uint32_t>(npz, entry + 16), crcs[m]) << m;
    EXPECT_EQ(le_at<uint32_t>(npz, entry + 42), locals[m]) << m;
    entry += 46 + le_at<uint16_t>(npz, entry + 28);
  }
  const nn::TensorFile read = nn::read_npz(path("s.npz"));
  ASSERT_EQ(read.tensors.size(), 3u);
  EXPECT_EQ(read.tensors[2].shape, std::vector<int64_t>({1, 3}));
  EXPECT_EQ(std::memcmp(read.tensors[2].values.data(), b, sizeof b), 0);
  EXPECT_TRUE(read.tensors[1].values.empty());

  float a2[2] = {1.0f, -2.0f}, b2[3] = {0.5f, 3.0f, -0.25f};
  nn::write_safetensors(path("s.safetensors"), {{"a", {2}, a2}, {"b", {1, 3}, b2}}, {{"k", "v"}});
  const std::string st = base::read_file(path("s.safetensors"));
  EXPECT_EQ(st.substr(8, 0x88),
            "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[8,20]}} ");
  EXPECT_EQ(base::sha256_file(path("s.safetensors")), "f28e80dccf4362bb804af1e4c9680ce7927771f0ce377ec5d212e8cf9a8687e9");
  base::write_npy(path("s.npy"), {"", {1, 3}, b});
  EXPECT_EQ(base::sha256_file(path("s.npy")), "e1d6ed4178be2d3cbb4db3a787046c66f0532a9ad28312bb31c0d2b5f1381a76");
  EXPECT_EQ(base::read_npy_2d(path("s.npy"), 3).data, std::vector<float>(b, b + 3));
}

// A write that fails part-way (here the file-size limit, RLIMIT_FSIZE, after 300 bytes: the write
// returns EFBIG) leaves the file that stood at the destination as it was, and no temporary: the
// streaming writers write `path.tmp.<pid>` and rename it only once whole.
TEST_F(TensorFileIO, AWriteThatFailsPartWayLeavesTheDestinationAsItWas) {
  nn::Network net = random_net();
  const std::vector<nn::TensorRef> tensors = nn::torch_tensors(net);
  std::vector<base::NpyArray> arrays;
  for (const nn::TensorRef& t : tensors) arrays.push_back({t.name, std::vector<int>(t.shape.begin(), t.shape.end()), t.values});
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> writers = {
      {"w.npz", [&](const std::string& p) { base::write_npz(p, arrays); }},
      {"w.safetensors", [&](const std::string& p) { nn::write_safetensors(p, tensors, {}); }},
      {"w.npy", [&](const std::string& p) { base::write_npy(p, arrays[0]); }}};
  for (size_t w = 0; w < writers.size(); ++w) {
    const std::string& name = writers[w].first;  // not a structured binding: a lambda captures it (clang)
    const auto& write = writers[w].second;
    base::write_file_atomic(path(name), "before");
    struct rlimit saved;
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG, not the signal's default (end the process)
    struct rlimit small = saved;
    small.rlim_cur = 300;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    const std::string error = error_of([&] { write(path(name)); });
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_NE(error.find(path(name) + ": write failed"), std::string::npos) << error;
    EXPECT_EQ(base::read_file(path(name)), "before") << name;
    EXPECT_EQ(files().size(), w + 1) << name;  // the destinations so far, no temporary
  }
}

TEST_F(TensorFileIO, MissingWrongShapeAndExtraTensorsAreOneErrorNamingThem) {
  nn::Network net = random_net();
  std::vector<nn::NamedTensor> tensors;
  for (const nn::TensorRef& t : nn::torch_tensors(net)) {
    size_t count = 1;
    for (int64_t d : t.shape) count *= size_t(d);
    tensors.push_back({t.name, t.shape, std::vector<float>(t.values, t.values + count), ""});
  }
  nn::Network target("conv3x3:4 bn relu maxpool2 conv3x3:3 relu linear:6 relu dropout:0.1 linear:3", 3, 8, 8);
  auto without = tensors;
  without.erase(without.begin() + 2);  // bn1.bias
  EXPECT_EQ(error_of([&] { nn::load_named_tensors(target, without, false, "m.safetensors"); }),
            "m.safetensors: no tensor bn1.bias [4], which the spec needs");
  auto reshaped = tensors;
  reshaped[0].shape = {4, 3, 9};
  EXPECT_EQ(error_of([&] { nn::load_named_tensors(target, reshaped, false, "m.safetensors"); }),
            "m.safetensors: tensor conv1.weight is [4, 3, 9], the spec needs [4, 3, 3, 3]");
  auto extra = tensors;
  extra.push_back({"head.weight", {2}, {1.f, 2.f}, ""});
  extra.push_back({"bn1.num_batches_tracked", {}, {3.f}, ""});
  expect_error_naming([&] { nn::load_named_tensors(target, extra, false, "m.safetensors"); },
                      "tensor head.weight [2] is not used by the spec (--ignore-extra");
  extra.push_back({"head.buffer", {2}, {}, "m.safetensors (header): /head.buffer/dtype: tensor head.buffer: dtype I64, expected F32, F16 or BF16 weights"});
  nn::load_named_tensors(target, extra, true, "m.safetensors");  // an unusable tensor the net does not use: skipped
  expect_same_weights(net, target);
  auto unusable = tensors;
  unusable[0].values.clear();
  unusable[0].unusable = "m.safetensors (header): /conv1.weight: tensor conv1.weight: element 5 is nan, expected finite weights";
  EXPECT_EQ(error_of([&] { nn::load_named_tensors(target, unusable, true, "m.safetensors"); }), unusable[0].unusable);
  auto negative = tensors;
  for (nn::NamedTensor& t : negative)
    if (t.name == "bn1.running_var") t.values[2] = -0.5f;
  EXPECT_EQ(error_of([&] { nn::load_named_tensors(target, negative, false, "m.npz"); }),
            "m.npz: tensor bn1.running_var: element 2 is -0.5, expected a variance ≥ 0");
  auto twice = tensors;
  twice.push_back(tensors[1]);
  expect_error_naming([&] { nn::load_named_tensors(target, twice, false, "m.npz"); }, "tensor bn1.weight appears twice");
}

// A planned net (nn::Network::planned) has every tensor's name and shape, the ones a built net has, and
// no value: a spec of 37.7 M parameters (151 MB if allocated) is compared with a file's tensors
// without allocating it, and the first tensor that differs is named.
TEST_F(TensorFileIO, APlannedNetNamesTheTensorsOfItsSpecWithoutAllocatingThem) {
  const std::string spec = "conv3x3:4 bn relu maxpool2 conv3x3:3 relu linear:6 relu dropout:0.1 linear:3";
  nn::Network built(spec, 3, 8, 8);
  nn::Network planned = nn::Network::planned(spec, 3, 8, 8);
  const std::vector<nn::TensorRef> want = nn::torch_tensors(built), got = nn::torch_tensors(planned);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].shape, want[i].shape) << got[i].name;
    EXPECT_EQ(got[i].values, nullptr) << got[i].name;
  }
  EXPECT_EQ(planned.parameter_count(), built.parameter_count());
  std::vector<nn::NamedTensor> tensors;
  for (const nn::TensorRef& t : want) {
    size_t count = 1;
    for (int64_t d : t.shape) count *= size_t(d);
    tensors.push_back({t.name, t.shape, std::vector<float>(t.values, t.values + count), ""});
  }
  nn::check_named_shapes(planned, tensors, "m.safetensors");  // the same tensors: no error
  nn::Network big = nn::Network::planned("conv3x3:4 bn relu conv3x3:2048 relu conv3x3:2048 linear:3", 3, 8, 8);
  size_t values = 0;
  for (size_t i = 0; i < big.num_layers(); ++i)
    for (nn::Param* p : big.layer(i).params()) {
      EXPECT_EQ(p->value.size(), 0u);
      values += p->shape.size();
    }
  EXPECT_GT(values, size_t(37000000));
  EXPECT_EQ(error_of([&] { nn::check_named_shapes(big, tensors, "m.safetensors"); }),
            "m.safetensors: tensor conv2.weight is [3, 4, 3, 3], the spec needs [2048, 4, 3, 3]");
  tensors.erase(tensors.begin() + 2);  // bn1.bias
  EXPECT_EQ(error_of([&] { nn::check_named_shapes(planned, tensors, "m.safetensors"); }),
            "m.safetensors: no tensor bn1.bias [4], which the spec needs");
}

// A safetensors file built by hand: header JSON text, then the data area.
std::string safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// F16 → float32 is exact for every half, the subnormals included (mantissa·2^−24; the fixture's weights
// are all normal numbers, so a scale of 2^−25 there went unseen), and an infinity is read as one (the
// error names it "inf", not "nan").
TEST_F(TensorFileIO, HalfSubnormalsAndInfinityConvertExactly) {
  const std::string header = R"({"a":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},)"
                             R"("b":{"dtype":"F16","shape":[1],"data_offsets":[10,12]}})";
  const uint16_t halves[6] = {0x0001, 0x03ff, 0x8200, 0x3c00, 0xc000, 0x7c00};
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(halves), sizeof halves);
  const std::string file = path("h.safetensors");
  base::write_file_atomic(file, bytes);
  const nn::TensorFile read = nn::read_safetensors(file);
  ASSERT_EQ(read.tensors.size(), 2u);
  EXPECT_EQ(read.tensors[0].values, (std::vector<float>{std::ldexp(1.f, -24), std::ldexp(1023.f, -24),
                                                         -std::ldexp(512.f, -24), 1.f, -2.f}));
  EXPECT_TRUE(read.tensors[1].values.empty());
  EXPECT_NE(read.tensors[1].unusable.find("tensor b: element 0 is inf, expected finite weights"), std::string::npos)
      << read.tensors[1].unusable;
}

TEST_F(TensorFileIO, HostileSafetensorsAreOneErrorLineNamingFileAndTensor) {
  const std::string four_floats(16, '\0');
  struct Case {
    std::string bytes, expected;
    bool deferred = false;  // a tensor that is read but unusable: the error load_named_tensors gives if it is needed
  };
  std::string huge(8, '\0');
  const uint64_t big = uint64_t(1) << 40;
  std::memcpy(huge.data(), &big, 8);
  std::string past(8, '\0');
  const uint64_t n = 1000;
  std::memcpy(past.data(), &n, 8);
  const std::vector<Case> cases = {
      {"abc", "3 bytes, expected a safetensors file"},
      {huge + "{}", "header length 1099511627776, expected at most 104857600 bytes"},
      {past + "{}", "header length 1000 runs past the end of the file (10 bytes)"},
      {safetensors("[1]", ""), "(header): /: expected a JSON object of tensors"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", four_floats),
       "/a: the key appears twice in its object"},
      {safetensors(R"({"a": {"dtype": "C64", "shape": [2], "data_offsets": [0, 16]}})", four_floats),
       "/a/dtype: tensor a: dtype C64, expected a safetensors dtype"},
      {safetensors(R"({"a": {"dtype": "I32", "shape": [4], "data_offsets": [0, 16]}})", four_floats),
       "/a/dtype: tensor a: dtype I32, expected F32, F16 or BF16 weights", true},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 20]}})", four_floats),
       "/a/data_offsets/1: expected an integer from 0 to 16"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", four_floats),
       "/a/data_offsets: tensor a: 16 − 0 bytes, expected 3 elements of 4 bytes (F32 [3])"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", four_floats),
       "/b/data_offsets: overlaps the tensor before it"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})", four_floats),
       "/a/data_offsets: leaves bytes 0 … 8 of the data area to no tensor"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", four_floats),
       "the tensors cover 8 of the data area's 16 bytes, expected all of them"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [65536, 65536], "data_offsets": [0, 16]}})", four_floats),
       "/a/shape: tensor a: more than 2^31 elements"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", std::string(12, '\0') + std::string("\x00\x00\xc0\x7f", 4)),
       "/a: tensor a: element 3 is nan, expected finite weights", true},
      {safetensors(R"({"__metadata__": {"k": 1}})", ""), "/__metadata__/k: expected a string"},
      // no tensors: it was read as a file of 0 values, and `import` blamed the net's size
      {safetensors("{}", ""), "no tensors (num_batches_tracked counters aside), expected a safetensors file of weights"},
      {safetensors(R"({"__metadata__": {"format": "pt"}})", ""), "no tensors"},
      {safetensors(R"({"bn1.num_batches_tracked": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}})", std::string(8, '\0')), "no tensors"},
  };
  for (const Case& c : cases) {
    {
      std::ofstream f(path("bad.safetensors"), std::ios::binary);
      f << c.bytes;
    }
    const std::string m = c.deferred ? nn::read_safetensors(path("bad.safetensors")).tensors.at(0).unusable
                                     : error_of([&] { nn::read_safetensors(path("bad.safetensors")); });
    EXPECT_NE(m.find(c.expected), std::string::npos) << m;
    EXPECT_EQ(m.rfind(path("bad.safetensors"), 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST_F(TensorFileIO, HostileNpzIsOneErrorNamingTheMember) {
  nn::Network net = random_net();
  std::vector<base::NpyArray> arrays;
  for (const nn::TensorRef& t : nn::torch_tensors(net)) arrays.push_back({t.name, std::vector<int>(t.shape.begin(), t.shape.end()), t.values});
  base::write_npz(path("w.npz"), arrays);
  const std::string good = base::read_file(path("w.npz"));
  auto error_for = [&](const std::string& bytes) {
    {
      std::ofstream f(path("bad.npz"), std::ios::binary);
      f << bytes;
    }
    return error_of([&] { nn::read_npz(path("bad.npz")); });
  };
  // the zip is read from its end record: cut anywhere, or followed by other bytes, it is refused
  for (const std::string& cut : {good.substr(0, 100), good.substr(0, good.size() - 1), good + "GARBAGE", std::string("not a zip")})
    EXPECT_NE(error_for(cut).find("bad.npz: no zip end-of-central-directory record at its end"), std::string::npos) << cut.size();
  // a member whose local header leaves its CRC and sizes to a data descriptor (flag bit 3; numpy.savez
  // into a stream that cannot seek): read with the central directory's sizes
  std::string described = good;
  described[6] = char(described[6] | 8);
  for (size_t b = 14; b < 26; ++b) described[b] = 0;
  {
    std::ofstream f(path("stream.npz"), std::ios::binary);
    f << described;
  }
  const nn::TensorFile streamed = nn::read_npz(path("stream.npz")), plain = nn::read_npz(path("w.npz"));
  ASSERT_EQ(streamed.tensors.size(), plain.tensors.size());
  for (size_t i = 0; i < plain.tensors.size(); ++i) EXPECT_EQ(streamed.tensors[i].values, plain.tensors[i].values);
  std::string flipped = good;
  flipped[200] ^= 1;  // inside conv1.weight's data
  EXPECT_NE(error_for(flipped).find("conv1.weight.npy: CRC mismatch"), std::string::npos);
  flipped = good;  // the CRC covers the member's .npy header too (read apart from its data)
  flipped[30 + 16 + 10 + 60] ^= 1;  // inside conv1.weight's .npy header (after the local header and name)
  EXPECT_NE(error_for(flipped).find("conv1.weight.npy: CRC mismatch"), std::string::npos) << error_for(flipped);
  // a float64 member (its header's descr '<f8', both CRCs made right): the dtype is named as written
  std::string wide = good;
  const size_t descr = wide.find("'<f4'");
  ASSERT_NE(descr, std::string::npos);
  wide[descr + 3] = '8';
  const auto le32 = [&](size_t at) { uint32_t v; std::memcpy(&v, wide.data() + at, 4); return v; };
  const size_t name_bytes = size_t(uint8_t(wide[26])) | size_t(uint8_t(wide[27])) << 8;
  const size_t extra_bytes = size_t(uint8_t(wide[28])) | size_t(uint8_t(wide[29])) << 8;
  const size_t data = 30 + name_bytes + extra_bytes;
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(wide.data() + data), uInt(le32(18))));
  const size_t directory = le32(wide.size() - 22 + 16);  // the first entry is this member's
  std::memcpy(wide.data() + 14, &crc, 4);
  std::memcpy(wide.data() + directory + 16, &crc, 4);
  {
    std::ofstream f(path("wide.npz"), std::ios::binary);
    f << wide;
  }
  EXPECT_NE(nn::read_npz(path("wide.npz")).tensors.at(0).unusable.find("conv1.weight.npy: dtype '<f8', expected little-endian float32 ('<f4')"),
            std::string::npos);
  // a zip64 end record and locator before the end record (torch.save's .pt): said to be one, not "corrupt"
  std::string zip64 = good;
  std::string records = std::string("PK\6\6", 4) + std::string(52, '\0') + std::string("PK\6\7", 4) + std::string(16, '\0');
  zip64.insert(zip64.size() - 22, records);
  EXPECT_NE(error_for(zip64).find("bad.npz: a zip64 archive (a PyTorch .pt file?), expected numpy.savez's .npz or a safetensors file"),
            std::string::npos);
  std::string compressed = good;
  compressed[8] = 8;  // method deflate
  EXPECT_NE(error_for(compressed).find("a compressed member"), std::string::npos);
  // Size fields no file can hold (the members are read in parts, each straight into its values): one
  // error naming what does not fit, before anything of that size is allocated or read.  The first
  // member's sizes in the central directory (the ones read), at most 2^32 − 1 ...
  const size_t first_entry = directory;  // (wide has good's offsets)
  for (const uint32_t size : {uint32_t(good.size()), uint32_t(0x7FFFFFFF), uint32_t(0xFFFFFFFE)}) {
    std::string hostile = good;
    std::memcpy(&hostile[first_entry + 20], &size, 4);
    std::memcpy(&hostile[first_entry + 24], &size, 4);
    EXPECT_NE(error_for(hostile).find("bad.npz: conv1.weight.npy: " + std::to_string(size) + " bytes run into the central directory"),
              std::string::npos) << error_for(hostile);
  }
  // ... the directory's size and offset in the end record ...
  for (const size_t field : {size_t(12), size_t(16)}) {
    std::string hostile = good;
    const uint32_t huge = 0xFFFFFFF0u;
    std::memcpy(&hostile[good.size() - 22 + field], &huge, 4);
    EXPECT_NE(error_for(hostile).find("bad.npz: the zip's central directory ("), std::string::npos) << error_for(hostile);
  }
  // ... and a local header's name length, which the data's offset adds.
  std::string long_name = good;
  long_name[26] = char(0xFF), long_name[27] = char(0xFF);
  EXPECT_NE(error_for(long_name).find("bad.npz: conv1.weight.npy: its local header does not match the central directory"),
            std::string::npos) << error_for(long_name);
  // One member listed twice in the central directory (the second entry's name and local offset made the
  // first's; the two arrays are equal, so sizes and CRCs agree): refused, not read twice (else each
  // such entry would read another copy, up to 65,535 copies of one member).
  const std::vector<float> same(1000, 0.5f);
  base::write_npz(path("twice.npz"), {{"a", {1000}, same.data()}, {"b", {1000}, same.data()}});
  std::string twice = base::read_file(path("twice.npz"));
  const auto le32_of = [&](const std::string& bytes, size_t at) { uint32_t v; std::memcpy(&v, bytes.data() + at, 4); return v; };
  const size_t second_entry = le32_of(twice, twice.size() - 22 + 16) + 46 + 5;  // after the first entry ("a.npy")
  ASSERT_EQ(le32_of(twice, second_entry), 0x02014b50u);
  ASSERT_EQ(twice.substr(second_entry + 46, 5), "b.npy");
  twice[second_entry + 46] = 'a';
  const uint32_t zero = 0;
  std::memcpy(&twice[second_entry + 42], &zero, 4);
  EXPECT_EQ(error_for(twice), path("bad.npz") + ": a.npy: its bytes overlap those of member a.npy: the file is corrupt");
}

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int b = 0; b < bytes; ++b) s += char((v >> (8 * b)) & 0xff);
}

// One member in a stored zip, as numpy.savez writes it, whatever its bytes `npy`.
std::string npz_of_member(const std::string& name, const std::string& npy) {
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(npy.data()), uInt(npy.size())));
  std::string zip, entry;
  for (std::string* s : {&zip, &entry}) {
    const bool central = s == &entry;
    put_le(*s, central ? 0x02014b50 : 0x04034b50, 4);
    if (central) put_le(*s, 20, 2);
    put_le(*s, 20, 2), put_le(*s, 0, 2), put_le(*s, 0, 2), put_le(*s, 0, 4);  // version, flags, stored, time and date
    put_le(*s, crc, 4), put_le(*s, npy.size(), 4), put_le(*s, npy.size(), 4), put_le(*s, name.size(), 2), put_le(*s, 0, 2);
    if (central) put_le(*s, 0, 2), put_le(*s, 0, 2), put_le(*s, 0, 2), put_le(*s, 0, 4), put_le(*s, 0, 4);  // comment, disk, attributes, offset 0
    *s += name;
    if (!central) *s += npy;
  }
  const size_t directory_at = zip.size();
  zip += entry;
  put_le(zip, 0x06054b50, 4), put_le(zip, 0, 4), put_le(zip, 1, 2), put_le(zip, 1, 2), put_le(zip, entry.size(), 4),
      put_le(zip, directory_at, 4), put_le(zip, 0, 2);
  return zip;
}

// One .npy array in a stored zip: version bytes, the header's length (2 bytes in version 1, 4 in 2
// and 3), the header, `values` as little-endian float32.
std::string npz_of_one(const std::string& name, int version, const std::string& header, const std::vector<float>& values) {
  std::string npy = "\x93NUMPY";
  npy += char(version);
  npy += '\0';
  put_le(npy, header.size(), version == 1 ? 2 : 4);
  npy += header;
  npy.append(reinterpret_cast<const char*>(values.data()), 4 * values.size());
  return npz_of_member(name, npy);
}

// The .npy header is parsed as numpy parses it, not searched: exactly the keys 'descr', 'fortran_order'
// and 'shape', each once; versions 1.0, 2.0 and 3.0 only.  What numpy writes is read (padding, no
// padding, versions 2 and 3, "" quotes); a header numpy refuses or reads differently is one error
// naming the member (a '<f4' inside another key's string hid a big-endian descr; a second 'shape').
TEST_F(TensorFileIO, NpyHeadersAreParsedAsNumpyReadsThem) {
  const std::vector<float> ten = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto read = [&](int version, const std::string& header) {
    base::write_file_atomic(path("h.npz"), npz_of_one("b.npy", version, header, ten));
    return nn::read_npz(path("h.npz"));
  };
  const std::string padded = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }" + std::string(59, ' ') + "\n";
  for (const auto& [version, header] : std::vector<std::pair<int, std::string>>{
           {1, padded}, {2, padded}, {3, padded}, {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (10,)}"},
           {1, "{\"shape\": (10,), \"fortran_order\": False, \"descr\": \"<f4\"}\n"}}) {
    const nn::TensorFile f = read(version, header);
    ASSERT_EQ(f.tensors.size(), 1u) << header;
    EXPECT_EQ(f.tensors[0].shape, std::vector<int64_t>({10})) << header;
    EXPECT_EQ(f.tensors[0].values, ten) << header;
  }
  EXPECT_EQ(read(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5), }\n").tensors[0].shape, std::vector<int64_t>({2, 5}));
  EXPECT_NE(read(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (10,), }").tensors[0].unusable.find("h.npz: b.npy: dtype '>f4'"),
            std::string::npos);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"{'x': \"'descr': '<f4'\", 'descr': '>f4', 'fortran_order': False, 'shape': (10,), }", "holds the key 'x'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (10,), 'shape': (2, 5)}", "holds 'shape' twice"},
      {"{'descr': '<f4', 'shape': (10,), }", "has no 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (10,), }", "holds a 'fortran_order' that is neither True nor False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (10), }", "holds a 'shape' that is not a tuple of integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [10], }", "holds a 'shape' that is not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (10,), } x", "holds text after its '}'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (10,)}", "has no ',' or '}' after 'descr'"},
  };
  for (const auto& c : refused) {  // not a structured binding: the lambda captures it (C++20 only)
    const std::string& header = c.first;
    const std::string& problem = c.second;
    const std::string m = error_of([&] { read(1, header); });
    EXPECT_NE(m.find("h.npz: b.npy: the .npy header " + problem), std::string::npos) << header << "\n" << m;
  }
  for (int version : {0, 4, 9}) {
    const std::string m = error_of([&] { read(version, padded); });
    EXPECT_NE(m.find("b.npy: .npy format version " + std::to_string(version) + ".0, expected 1.0, 2.0 or 3.0"), std::string::npos) << m;
  }
}

// A member whose bytes are not an .npy array where its magic, version and header length say where the
// header lies: one error naming the member and what is wrong, after its CRC is checked (a member read
// whole when its layout is wrong; a CRC of the wrong bytes would be the error instead).
// A Fortran-order array (numpy.savez of a transposed view) is refused as that, the one thing the reader
// cannot take in a well-formed header: without its own check the error called 'True' "neither True nor
// False".
TEST_F(TensorFileIO, AFortranOrderMemberIsRefusedAsSuch) {
  base::write_file_atomic(path("f.npz"), npz_of_one("w.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n",
                                                    {1, 2, 3, 4}));
  const std::string m = error_of([&] { nn::read_npz(path("f.npz")); });
  EXPECT_NE(m.find("f.npz: w.npy: Fortran order, expected C order"), std::string::npos) << m;
}

TEST_F(TensorFileIO, NpyMembersWithNoHeaderWhereTheySayAreOneError) {
  std::string v1_long = std::string("\x93NUMPY\x01\x00", 8);
  put_le(v1_long, 200, 2);
  v1_long += "{'descr': '<f4', }";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello, world", "b.npy: not an .npy array"},
      {"\x93NUM", "b.npy: not an .npy array"},
      {std::string("\x93NUMPY\x02\x00\x01\x00", 10), "b.npy: the .npy header is cut off"},
      {v1_long, "b.npy: the .npy header runs past the member"},
  };
  for (const auto& c : cases) {
    const std::string npy = c.first, expected = c.second;
    base::write_file_atomic(path("m.npz"), npz_of_member("b.npy", npy));
    EXPECT_EQ(error_of([&] { nn::read_npz(path("m.npz")); }), path("m.npz") + ": " + expected) << npy;
  }
}

}  // namespace
