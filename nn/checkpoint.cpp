#include "nn/checkpoint.h"

#include <zlib.h>

#include <cstring>

#include "base/error.h"
#include "base/fileio.h"

namespace nn {

namespace {
const char kMagic[8] = {'N', 'N', 'F', 'M', 'R', 'I', 'c', 'k'};
const uint32_t kVersion = 1;

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T get(const std::string& s, size_t off) {
  T v;
  std::memcpy(&v, s.data() + off, sizeof v);
  return v;
}
nlohmann::json shape_json(const Shape& s) { return {s.n, s.c, s.h, s.w}; }
}  // namespace

nlohmann::json describe_network(const Network& net) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < net.num_layers(); ++i) {
    const Layer& l = net.layer(i);
    nlohmann::json j = {{"name", net.layer_name(i)},
                        {"kind", l.kind()},
                        {"token", l.token()},
                        {"input_shape", {l.input_shape.c, l.input_shape.h, l.input_shape.w}},
                        {"output_shape", {l.output_shape.c, l.output_shape.h, l.output_shape.w}}};
    switch (l.layer_kind()) {
      case LayerKind::conv2d: {
        const auto& c = static_cast<const Conv2d&>(l);
        j["in_channels"] = l.input_shape.c;
        j["out_channels"] = c.out_channels;
        j["kernel"] = {c.kh, c.kw};
        j["stride"] = c.stride;
        j["padding"] = c.pad;
        j["bias"] = c.has_bias;
        break;
      }
      case LayerKind::linear: {
        const auto& f = static_cast<const Linear&>(l);
        j["in_features"] = f.in_features;
        j["out_features"] = f.out_features;
        break;
      }
      case LayerKind::maxpool:
      case LayerKind::avgpool: {
        const auto& p = static_cast<const Pool2d&>(l);
        j["kernel"] = p.k;
        j["stride"] = p.stride;
        break;
      }
      case LayerKind::batchnorm2d: {
        const auto& b = static_cast<const BatchNorm2d&>(l);
        j["num_features"] = l.input_shape.c;
        j["eps"] = b.eps;
        j["momentum"] = b.momentum;
        break;
      }
      case LayerKind::dropout:
        j["p"] = static_cast<const Dropout&>(l).p;
        break;
      case LayerKind::relu:
      case LayerKind::gap:
        break;  // nothing beyond kind, token and shapes
    }
    layers.push_back(j);
  }
  nlohmann::json blocks = nlohmann::json::array();
  for (const Block& b : net.blocks())
    blocks.push_back({{"name", b.name}, {"kind", b.kind}, {"layers", {b.first, b.last}},
                      {"output_shape", {b.output_shape.c, b.output_shape.h, b.output_shape.w}}});
  return {{"spec", net.spec()},
          {"input", {net.channels(), net.height(), net.width()}},
          {"normalization", {{"mean", net.input_mean}, {"std", net.input_std}}},
          {"layers", layers},
          {"blocks", blocks}};
}

void save_checkpoint(const std::string& path, Network& net, int epoch, const std::vector<std::string>& class_names,
                     const nlohmann::json& meta) {
  nlohmann::json tensors = nlohmann::json::array();
  auto params = net.named_params();
  for (auto& np : params) tensors.push_back({{"name", np.name}, {"shape", shape_json(np.param->value.shape())}});
  nlohmann::json header = {{"spec", net.spec()},
                           {"input", {net.channels(), net.height(), net.width()}},
                           {"normalization", {{"mean", net.input_mean}, {"std", net.input_std}}},
                           {"epoch", epoch},
                           {"class_names", class_names},
                           {"tensors", tensors},
                           {"meta", meta}};
  std::string text = header.dump();
  std::string out(kMagic, 8);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, text.size());
  out += text;
  for (auto& np : params)
    out.append(reinterpret_cast<const char*>(np.param->value.data()), np.param->value.size() * sizeof(float));
  uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size())));
  put<uint32_t>(out, crc);
  base::write_file_atomic(path, out);
}

Checkpoint load_checkpoint(const std::string& path) {
  std::string s = base::read_file(path);
  auto fail = [&](const std::string& why) { return base::Error(path + ": not a valid nnfmri checkpoint: " + why); };
  if (s.size() < 8 + 4 + 8 + 4 || std::memcmp(s.data(), kMagic, 8) != 0) throw fail("bad magic or too short");
  uint32_t version = get<uint32_t>(s, 8);
  if (version != kVersion)
    throw fail("version " + std::to_string(version) + ", this build reads version " + std::to_string(kVersion));
  uint32_t stored = get<uint32_t>(s, s.size() - 4);
  uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size() - 4)));
  if (stored != crc) throw fail("checksum mismatch (truncated or corrupt file)");
  uint64_t hlen = get<uint64_t>(s, 12);
  if (hlen > s.size() - 24) throw fail("header length " + std::to_string(hlen) + " exceeds the file");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(s.substr(20, hlen));
  } catch (const std::exception& e) {
    throw fail(std::string("header is not JSON (") + e.what() + ")");
  }
  Checkpoint ck;
  try {
    auto in = h.at("input");
    ck.net = std::make_unique<Network>(h.at("spec").get<std::string>(), in.at(0).get<int>(), in.at(1).get<int>(),
                                       in.at(2).get<int>());
    ck.net->input_mean = h.at("normalization").at("mean").get<std::vector<float>>();
    ck.net->input_std = h.at("normalization").at("std").get<std::vector<float>>();
    ck.epoch = h.at("epoch").get<int>();
    ck.class_names = h.at("class_names").get<std::vector<std::string>>();
    ck.meta = h.value("meta", nlohmann::json::object());
  } catch (const base::Error& e) {
    throw fail(e.what());
  } catch (const std::exception& e) {
    throw fail(std::string("header field missing or malformed (") + e.what() + ")");
  }
  if (int(ck.net->input_mean.size()) != ck.net->channels() || int(ck.net->input_std.size()) != ck.net->channels())
    throw fail("normalization does not have one value per input channel");
  auto params = ck.net->named_params();
  const nlohmann::json tensors = h.value("tensors", nlohmann::json());
  if (!tensors.is_array()) throw fail("header has no tensor list");
  if (tensors.size() != params.size())
    throw fail("it lists " + std::to_string(tensors.size()) + " tensors, the spec has " + std::to_string(params.size()));
  size_t off = 20 + hlen;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor& v = params[i].param->value;
    const nlohmann::json& t = tensors[i];
    if (!t.is_object() || t.value("name", nlohmann::json()) != params[i].name ||
        t.value("shape", nlohmann::json()) != shape_json(v.shape()))
      throw fail("tensor " + std::to_string(i) + " is " + t.dump() + ", expected " + params[i].name + " " +
                 shape_json(v.shape()).dump());
    size_t bytes = v.size() * sizeof(float);
    if (off + bytes > s.size() - 4) throw fail("data ends inside tensor " + params[i].name);
    std::memcpy(v.data(), s.data() + off, bytes);
    off += bytes;
  }
  if (off != s.size() - 4) throw fail(std::to_string(s.size() - 4 - off) + " unexpected bytes after the tensors");
  return ck;
}

}  // namespace nn
