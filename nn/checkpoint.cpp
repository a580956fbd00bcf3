#include "nn/checkpoint.h"

#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "base/fileio.h"
#include "base/json.h"

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
    if (auto* c = dynamic_cast<const Conv2d*>(&l)) {
      j["in_channels"] = l.input_shape.c;
      j["out_channels"] = c->out_channels;
      j["kernel"] = {c->kh, c->kw};
      j["stride"] = c->stride;
      j["padding"] = c->pad;
      j["bias"] = c->has_bias;
    } else if (auto* f = dynamic_cast<const Linear*>(&l)) {
      j["in_features"] = f->in_features;
      j["out_features"] = f->out_features;
    } else if (auto* p = dynamic_cast<const Pool2d*>(&l)) {
      j["kernel"] = p->k;
      j["stride"] = p->stride;
    } else if (auto* b = dynamic_cast<const BatchNorm2d*>(&l)) {
      j["num_features"] = l.input_shape.c;
      j["eps"] = b->eps;
      j["momentum"] = b->momentum;
    } else if (auto* d = dynamic_cast<const Dropout*>(&l)) {
      j["p"] = d->p;
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

namespace {

// A JSON number within [low, high] as a float (a double beyond a float's range is undefined to convert).
float bounded_float(const base::Node& n, double low, double high) {
  const double v = n.number();
  if (!(v >= low && v <= high)) {
    char range[64];
    std::snprintf(range, sizeof range, "a number from %g to %g", low, high);
    n.fail(range);
  }
  return float(v);
}

std::vector<float> per_channel(const base::Node& list, size_t channels, double low, double high) {
  if (list.array_size() != channels) list.fail(std::to_string(channels) + " numbers (one per input channel)");
  std::vector<float> out;
  for (size_t c = 0; c < channels; ++c) out.push_back(bounded_float(list[c], low, high));
  return out;
}

// The fields of `meta` that nnfmri itself reads (info, analyze) must have their types.
void check_meta(const base::Node& meta) {
  meta.members();  // an object
  for (const char* key : {"model", "spec"})
    if (auto field = meta.find(key)) field->text();
  if (auto data = meta.find("data")) {
    data->members();
    if (auto spec = data->find("spec")) spec->text();
  }
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  auto fail = [&](const std::string& why) { return base::Error(path + ": not a valid nnfmri checkpoint: " + why); };
  std::string s = base::read_file(path, kMaxCheckpointBytes);
  if (s.size() < 8 + 4 + 8 + 4 || std::memcmp(s.data(), kMagic, 8) != 0) throw fail("bad magic or too short");
  uint32_t version = get<uint32_t>(s, 8);
  if (version != kVersion)
    throw fail("version " + std::to_string(version) + ", this build reads version " + std::to_string(kVersion));
  uint32_t stored = get<uint32_t>(s, s.size() - 4);
  uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size() - 4)));
  if (stored != crc) throw fail("checksum mismatch (truncated or corrupt file)");
  uint64_t hlen = get<uint64_t>(s, 12);
  if (hlen > s.size() - 24) throw fail("header length " + std::to_string(hlen) + " exceeds the file");
  Checkpoint ck;
  try {
    const base::Json h = base::parse_json(s.substr(20, hlen), "header");
    const base::Node root(h, "header");
    const base::Node input = root["input"];
    if (input.array_size() != 3) input.fail("[channels, height, width]");
    int dims[3];
    for (size_t d = 0; d < 3; ++d) dims[d] = int(input[d].integer(1, base::kMaxInputSide));
    ck.net = std::make_unique<Network>(root["spec"].text(), dims[0], dims[1], dims[2]);
    const base::Node normalization = root["normalization"];
    ck.net->input_mean = per_channel(normalization["mean"], size_t(dims[0]), -1e6, 1e6);
    ck.net->input_std = per_channel(normalization["std"], size_t(dims[0]), 1e-12, 1e6);
    ck.epoch = int(root["epoch"].integer(0, 1 << 30));
    const base::Node names = root["class_names"];
    for (size_t c = 0; c < names.array_size(); ++c) ck.class_names.push_back(names[c].text());
    if (auto meta = root.find("meta")) {
      check_meta(*meta);
      ck.meta = nlohmann::json(meta->json());
    } else {
      ck.meta = nlohmann::json::object();
    }
    const base::Node list = root["tensors"];
    auto params = ck.net->named_params();
    if (list.array_size() != params.size())
      throw base::Error("it lists " + std::to_string(list.array_size()) + " tensors, the spec has " + std::to_string(params.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      const base::Node t = list[i];
      const Shape& shape = params[i].param->value.shape();
      const base::Json expected = {shape.n, shape.c, shape.h, shape.w};
      if (!t.json().is_object() || !t.has("name") || !t.has("shape") || t["name"].json() != params[i].name ||
          t["shape"].json() != expected)
        throw base::Error("tensor " + std::to_string(i) + " is " + base::json_text(t.json(), -1).substr(0, 200) + ", expected " +
                   params[i].name + " " + base::json_text(expected, -1));
    }
  } catch (const base::Error& e) {
    throw fail(e.what());
  }
  auto params = ck.net->named_params();
  size_t off = 20 + hlen;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor& v = params[i].param->value;
    size_t bytes = v.size() * sizeof(float);
    if (off + bytes > s.size() - 4) throw fail("data ends inside tensor " + params[i].name);
    std::memcpy(v.data(), s.data() + off, bytes);
    off += bytes;
  }
  if (off != s.size() - 4) throw fail(std::to_string(s.size() - 4 - off) + " unexpected bytes after the tensors");
  return ck;
}

}  // namespace nn
