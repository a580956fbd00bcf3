#include "nn/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"
#include "base/json.h"
#include "base/text.h"
#include "nn/framed_file.h"

namespace nn {

namespace {
const char kMagic[8] = {'N', 'N', 'F', 'M', 'R', 'I', 'c', 'k'};
const char kStateMagic[8] = {'N', 'N', 'F', 'M', 'R', 'I', 's', 't'};
// A shape as a framed header lists it, [n, c, h, w] (FramedFile::check_listed).
std::vector<int64_t> listed_shape(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

std::vector<FramedTensor> model_tensors(Network& net) {
  std::vector<FramedTensor> tensors;
  for (NamedParam& np : net.named_params()) tensors.push_back({np.name, &np.param->value});
  return tensors;
}
}  // namespace

nlohmann::json describe_network(const Network& net) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < net.num_layers(); ++i) {
    const Layer& l = net.layer(i);
    nlohmann::json j = {{"name", net.layer_name(i)},
                        {"kind", l.kind()},
                        {"token", l.token()},
                        {"input_shape", {l.input_shape.c, l.input_shape.h, l.input_shape.w}},
                        {"output_shape", {l.output_shape.c, l.output_shape.h, l.output_shape.w}},
                        {"input", net.layer_source(i)}};  // the layer it reads, −1 the network input
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
      case LayerKind::add:
        j["shortcut"] = net.shortcut_source(i);  // the layer the shortcut reads, −1 the network input
        break;
      case LayerKind::pad_shortcut: {
        const auto& p = static_cast<const PadShortcut&>(l);
        j["stride"] = p.stride;
        j["pad_front"] = p.front();
        j["pad_back"] = p.out_channels - l.input_shape.c - p.front();
        break;
      }
      case LayerKind::relu:
      case LayerKind::gap:
        break;  // nothing beyond kind, token and shapes
    }
    layers.push_back(j);
  }
  nlohmann::json blocks = nlohmann::json::array();
  for (const Block& b : net.blocks())
    blocks.push_back({{"name", b.name}, {"kind", b.kind}, {"layers", {b.first, b.last}}, {"inputs", b.inputs},
                      {"output_shape", {b.output_shape.c, b.output_shape.h, b.output_shape.w}}});
  return {{"spec", net.spec()},
          {"input", {net.channels(), net.height(), net.width()}},
          {"normalization", {{"mean", net.input_mean}, {"std", net.input_std}}},
          {"layers", layers},
          {"blocks", blocks}};
}

namespace {
// A float as text: its shortest, and when that reads as another number (1e-12 for the float
// 9.99999996e-13, below the bound 1e-12), its value to 9 digits before it, so a refusal never quotes a
// value that looks in range.
std::string float_text(float value) {
  const std::string text = base::shortest(value, true);
  if (std::strtod(text.c_str(), nullptr) == double(value)) return text;
  return base::format("%.9g", double(value)) + " (" + text + " as a float32)";
}
}  // namespace

std::string normalization_problem(const std::vector<float>& mean, const std::vector<float>& stddev) {
  for (size_t c = 0; c < mean.size(); ++c)
    if (!(std::abs(double(mean[c])) <= kMaxNormMean))
      return "mean " + float_text(mean[c]) + " of channel " + std::to_string(c + 1) + ", expected -1e6 to 1e6";
  for (size_t c = 0; c < stddev.size(); ++c)
    if (!(double(stddev[c]) >= kMinNormStd && double(stddev[c]) <= kMaxNormStd))
      return "std " + float_text(stddev[c]) + " of channel " + std::to_string(c + 1) + ", expected 1e-12 to 1e6";
  return "";
}

std::string class_names_problem(const std::vector<std::string>& names, int outputs) {
  if (names.size() != size_t(outputs))
    return std::to_string(names.size()) + " class names, but the net has " + std::to_string(outputs) + " outputs";
  for (size_t k = 0; k < names.size(); ++k) {
    if (names[k].empty()) return "class " + std::to_string(k) + " is an empty name, expected a name for every class";
    if (std::any_of(names[k].begin(), names[k].end(), [](char ch) { return (unsigned char)ch < 0x20 || ch == 0x7f; }))
      return "class " + std::to_string(k) + " holds a control character, expected printable names";
    // checked as the bytes they are: a writer would store invalid UTF-8 as U+FFFD, and two names one
    if (!base::is_utf8(names[k]))
      return "class " + std::to_string(k) + " '" + base::utf8_escaped(names[k]) + "' is not valid UTF-8, expected UTF-8 names";
    if (std::find(names.begin(), names.begin() + long(k), names[k]) != names.begin() + long(k))
      return "class name '" + names[k] + "' appears twice, expected one name per class";
  }
  return "";
}

void save_checkpoint(const std::string& path, Network& net, int epoch, const std::vector<std::string>& class_names,
                     const nlohmann::json& meta) {
  if (const std::string problem = normalization_problem(net.input_mean, net.input_std); !problem.empty())
    throw base::Error(path + ": not written: the input normalisation has " + problem);
  if (const std::string problem = class_names_problem(class_names, net.num_outputs()); !problem.empty())
    throw base::Error(path + ": not written: the class names: " + problem);
  nlohmann::json header = {{"spec", net.spec()},
                           {"input", {net.channels(), net.height(), net.width()}},
                           {"normalization", {{"mean", net.input_mean}, {"std", net.input_std}}},
                           {"epoch", epoch},
                           {"class_names", class_names},
                           {"meta", meta}};
  write_framed(path, kMagic, header, model_tensors(net));
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

Checkpoint load_checkpoint(const std::string& path, bool inference_only) {
  const FramedFile file(path, kMagic, "nnfmri checkpoint", base::kMaxCheckpointBytes, Fingerprint::sha256);
  const base::Json& h = file.header;
  Checkpoint ck;
  // Every header field is read, and the spec planned (its tensors named and shaped, none allocated; a
  // spec over kMaxParameters is refused here), before anything the header names is allocated.
  std::unique_ptr<Network> planned;
  std::vector<float> mean, stddev;
  try {
    const base::Node root(h, "header");
    const base::Node input = root["input"];
    if (input.array_size() != 3) input.fail("[channels, height, width]");
    int dims[3];
    for (size_t d = 0; d < 3; ++d) dims[d] = int(input[d].integer(1, base::kMaxInputSide));
    planned = std::make_unique<Network>(Network::planned(root["spec"].text(), dims[0], dims[1], dims[2]));
    const base::Node normalization = root["normalization"];
    mean = per_channel(normalization["mean"], size_t(dims[0]), -kMaxNormMean, kMaxNormMean);
    stddev = per_channel(normalization["std"], size_t(dims[0]), kMinNormStd, kMaxNormStd);
    ck.epoch = int(root["epoch"].integer(0, 1 << 30));
    const base::Node names = root["class_names"];
    for (size_t c = 0; c < names.array_size(); ++c) ck.class_names.push_back(names[c].text());
    if (const std::string problem = class_names_problem(ck.class_names, planned->num_outputs()); !problem.empty())
      names.reject(problem);
    if (auto meta = root.find("meta")) {
      check_meta(*meta);
      ck.meta = nlohmann::json(meta->json());
    } else {
      ck.meta = nlohmann::json::object();
    }
  } catch (const base::Error& e) {
    throw file.fail(e.what());
  }
  // The spec's tensors are compared with the header's list by name and shape: the first the file lacks
  // or lists in another shape is named with both shapes, however large the net (it was refused by its
  // size alone, naming no tensor, when it needed more than twice the file's values).
  std::vector<TensorRef> wanted;
  for (NamedParam& np : planned->named_params()) wanted.push_back({np.name, listed_shape(np.param->shape), nullptr});
  file.check_listed(wanted);
  // Built with at most twice the values the file holds (nn::file_net_limit): what still refuses, before
  // allocating, a header whose list agrees with its spec over data too short for it.
  try {
    ck.net = std::make_unique<Network>(planned->spec(), planned->channels(), planned->height(), planned->width(),
                                       int64_t(file.data_bytes() / 4), inference_only);
  } catch (const base::Error& e) {
    throw file.fail(e.what());
  }
  ck.net->input_mean = std::move(mean);
  ck.net->input_std = std::move(stddev);
  file.read_tensors(model_tensors(*ck.net));
  ck.sha256 = file.sha256;
  return ck;
}

namespace {
// The model's tensors, then the optimiser's (named optimizer.<i>), as a training state holds them.
std::vector<FramedTensor> state_tensors(Network& net, Optimizer& optimizer) {
  std::vector<FramedTensor> tensors = model_tensors(net);
  std::vector<Tensor>& state = optimizer.state();
  for (size_t i = 0; i < state.size(); ++i) tensors.push_back({"optimizer." + std::to_string(i), &state[i]});
  return tensors;
}
}  // namespace

void save_training_state(const std::string& path, Network& net, Optimizer& optimizer, const TrainPosition& position,
                         uint64_t seed) {
  nlohmann::json header = {{"spec", net.spec()},
                           {"seed", seed},
                           {"epoch", position.epoch},
                           {"step", position.step},
                           {"loss_sum", position.loss_sum},
                           {"correct", position.correct},
                           {"images", position.images},
                           {"optimizer_steps", optimizer.steps()},
                           {"net_rng", net.rng().state()}};
  write_framed(path, kStateMagic, header, state_tensors(net, optimizer));
}

TrainPosition load_training_state(const std::string& path, Network& net, Optimizer& optimizer, uint64_t seed) {
  const FramedFile file(path, kStateMagic, "nnfmri training state", base::kMaxCheckpointBytes, Fingerprint::none);
  const base::Json& h = file.header;
  TrainPosition position;
  long steps = 0;
  uint64_t rng = 0;
  try {
    // Each field read with its range (a narrowing read took "epoch": 4294967297 for epoch 1).
    const base::Node root(h, "header");
    const std::string spec = root["spec"].text();
    if (spec != net.spec()) throw base::Error("it is of the net \"" + spec + "\", not \"" + net.spec() + "\"");
    if (h.contains("seed")) {
      if (!h.at("seed").is_number_unsigned()) root["seed"].fail("an integer from 0 to 2^64 - 1");
      if (const uint64_t trained = h.at("seed").get<uint64_t>(); trained != seed)
        throw base::Error("it is of a training with seed " + std::to_string(trained) + ", not this run's seed " +
                          std::to_string(seed) + " (another run's state; its weights would not continue this run)");
    }
    constexpr long long kMaxCount = 1LL << 53;  // counts a double holds exactly
    position.epoch = int(root["epoch"].integer(1, std::numeric_limits<int>::max()));
    position.step = long(root["step"].integer(0, kMaxCount));
    position.loss_sum = root["loss_sum"].number(0, base::kUnbounded);  // Σ of cross-entropies ≥ 0
    position.images = long(root["images"].integer(0, kMaxCount));
    position.correct = long(root["correct"].integer(0, position.images));
    steps = long(root["optimizer_steps"].integer(0, kMaxCount));
    if (!h.at("net_rng").is_number_unsigned()) root["net_rng"].fail("an integer from 0 to 2^64 - 1");
    rng = h.at("net_rng").get<uint64_t>();
  } catch (const base::Error& e) {
    throw file.fail(e.what());
  } catch (const std::exception& e) {
    throw file.fail(std::string("header field missing or malformed (") + e.what() + ")");
  }
  // By name and shape first (the run's net and optimiser are allocated already): the first tensor the
  // state lacks or holds in another shape is named with both shapes; read_tensors then checks the order.
  std::vector<FramedTensor> tensors = state_tensors(net, optimizer);
  std::vector<TensorRef> wanted;
  for (const FramedTensor& t : tensors) wanted.push_back({t.name, listed_shape(t.tensor->shape()), nullptr});
  file.check_listed(wanted);
  file.read_tensors(tensors);
  optimizer.restore_steps(steps);
  net.rng() = Rng(rng);
  return position;
}


}  // namespace nn
