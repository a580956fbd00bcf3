// nnfmri import FILE --out CKPT — a checkpoint from weights made elsewhere: a safetensors file (from
// PyTorch) or the .npz + .model.json pair of `nnfmri export` (nn/tensor_file.h).
//
// The architecture, input shape, normalisation and class names come from the flags, else from the
// nnfmri description the file carries (`export` writes it into the safetensors "__metadata__" under
// "nnfmri", and beside an .npz as .model.json), else from the defaults: input 3x32x32, normalisation
// 0:1 (pixels / 255, torchvision's ToTensor without Normalize), classes "0" … "K−1".
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

#include "apps/commands.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/sha256.h"
#include "base/text.h"
#include "nn/checkpoint.h"
#include "nn/tensor_file.h"

namespace app {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "0.49,0.48,0.45:0.25,0.24,0.26" → mean, std; `channels` values each, finite, std > 0.
void parse_norm(const std::string& text, int channels, std::vector<float>& mean, std::vector<float>& stddev) {
  const std::vector<std::string> halves = base::split(text, ':');
  const std::string expected = "expected MEAN:STD with " + std::to_string(channels) +
                               " comma-separated numbers each (one per input channel; a single number is used for all), "
                               "mean from -1e6 to 1e6, std from 1e-12 to 1e6";
  if (halves.size() != 2) throw base::Error("flag --norm '" + text + "': " + expected);
  for (int half = 0; half < 2; ++half) {
    std::vector<std::string> parts = base::split(halves[size_t(half)], ',');
    if (parts.size() == 1) parts.assign(size_t(channels), parts[0]);
    if (parts.size() != size_t(channels)) throw base::Error("flag --norm '" + text + "': " + expected);
    std::vector<float>& out = half ? stddev : mean;
    out.clear();
    for (const std::string& p : parts) {
      char* end = nullptr;
      const double v = std::strtod(p.c_str(), &end);
      const bool in_range = half ? v >= nn::kMinNormStd && v <= nn::kMaxNormStd : std::abs(v) <= nn::kMaxNormMean;
      if (p.empty() || *end != '\0' || !in_range)
        throw base::Error("flag --norm '" + text + "': '" + p + "': " + expected);
      out.push_back(float(v));
    }
  }
}

}  // namespace

int cmd_import(int argc, char** argv) {
  Flags flags(kImport, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const std::string path = flags.operands()[0];
  nn::TensorFile file;
  base::Json description;  // the nnfmri description the file carries, if any
  std::string described_by, description_sha256;  // the digest: of an .npz's description file, as read
  // What the file is, by its first bytes (a name need not end in .npz or .safetensors); what is not a
  // file (a FIFO, whose open waited for a writer for ever; a directory) is refused naming it.
  const std::string magic = base::read_file_head(path, 8).bytes;
  if (magic == "NNFMRIck")
    throw base::Error(path + ": an nnfmri checkpoint already, expected a safetensors or .npz file to import (use the checkpoint as it is)");
  if (magic == "NNFMRIst")
    throw base::Error(path + ": an nnfmri training state, expected a safetensors or .npz file to import (use its run's checkpoint)");
  // a zip by any of its 4-byte signatures (a member's local header PK\3\4; an empty numpy.savez is an
  // end record alone, PK\5\6; PK\7\8 opens a split archive): "PK" alone is also the start of a
  // safetensors file whose header is 19,280 bytes long (0x4b50), which was read as a broken zip
  const bool npz = magic.rfind(std::string("PK\3\4", 4), 0) == 0 || magic.rfind(std::string("PK\5\6", 4), 0) == 0 ||
                   magic.rfind(std::string("PK\7\10", 4), 0) == 0 || (magic.empty() && ends_with(path, ".npz"));
  if (npz) described_by = nn::npz_description_path(path);
  std::vector<NamedFile> inputs = {{"the imported file", path}};
  if (npz && base::file_exists(described_by)) inputs.push_back({"the imported file's description", described_by});
  require_distinct_files(inputs, {{"flag --out", flags.text("--out")}});
  require_writable({"flag --out", flags.text("--out")});  // a missing folder, a device: said before the import
  if (npz) {
    file = nn::read_npz(path);
    if (base::file_exists(described_by)) {
      const std::string text = base::read_file(described_by, base::kMaxJsonBytes);
      description = base::parse_json(text, described_by);
      description_sha256 = base::sha256_hex(text.data(), text.size());
    }
  } else {
    file = nn::read_safetensors(path);
    described_by = path + " (__metadata__ \"nnfmri\")";
    if (file.metadata.count("nnfmri")) description = base::parse_json(file.metadata["nnfmri"], described_by);
  }
  const bool described = !description.is_null();
  const base::Node about(description, described_by);

  std::string model, spec;
  if (flags.has("--model")) {
    model = flags.text("--model");
    spec = nn::Network::preset(model).empty() ? model : nn::Network::preset(model);
  } else if (described) {
    model = spec = about["spec"].text();
  } else {
    throw base::Error("flag --model: required, " + path + " does not say its architecture (expected a preset or a spec)");
  }
  std::array<int, 3> input = {3, 32, 32};
  if (flags.has("--input")) {
    const std::vector<int> sizes = parse_sizes(flags.text("--input"), "--input", 3, "CxHxW");
    input = {sizes[0], sizes[1], sizes[2]};
  } else if (described) {
    if (about["input"].array_size() != 3) about["input"].fail("[C, H, W]");
    for (size_t i = 0; i < 3; ++i) input[i] = int(about["input"][i].integer(1, base::kMaxInputSide));
  }
  // a spec that does not build names where it came from: the flag (both, when --model and --input are
  // given: either may be the one to change), or the description's /spec
  const auto from_spec = [&](const std::function<void()>& step) {
    try {
      step();
    } catch (const base::Error& e) {
      if (flags.has("--model") && flags.has("--input"))
        throw base::Error("flag --model with --input " + flags.text("--input") + ": " + e.what());
      if (flags.has("--model")) throw base::Error(std::string("flag --model: ") + e.what());
      if (flags.has("--input")) throw base::Error(std::string("flag --input: ") + e.what());
      about["spec"].reject(e.what());
    }
  };
  // The spec's tensors by name and shape, planned without allocating them (nn::Network::planned), are
  // compared with the file's first: the first the file lacks or holds in another shape is named, however
  // large the net, whether the file's own description or the flags name it.  Then the net is built with at
  // most twice the values the file holds (nn::file_net_limit; every one it stores comes from there),
  // refused layer by layer before it is allocated.
  std::unique_ptr<nn::Network> built;
  from_spec([&] { built = std::make_unique<nn::Network>(nn::Network::planned(spec, input[0], input[1], input[2])); });
  nn::check_named_shapes(*built, file.tensors, path);
  from_spec([&] { built = std::make_unique<nn::Network>(spec, input[0], input[1], input[2], file.values, true); });  // never trained here: no gradients
  nn::Network& net = *built;
  // A description's layer list (what bench/rebuild_from_npz.py builds PyTorch's net from) must be the
  // one its spec builds, unless flags replaced the architecture.
  if (described && !flags.has("--model") && !flags.has("--input")) {
    const nlohmann::json built = nn::describe_network(net);
    for (const char* key : {"layers", "blocks"})
      if (about.has(key) && nlohmann::json::parse(base::json_text(about[key].json(), -1)) != built[key])
        about[key].reject("does not describe the net of its spec '" + spec + "' (expected what export writes for it)");
  }
  if (flags.has("--norm")) {
    parse_norm(flags.text("--norm"), net.channels(), net.input_mean, net.input_std);
  } else if (described) {
    const base::Node mean = about["normalization"]["mean"], stddev = about["normalization"]["std"];
    if (mean.array_size() != size_t(net.channels()) || stddev.array_size() != size_t(net.channels()))
      mean.fail(std::to_string(net.channels()) + " values (one per input channel)");
    for (size_t c = 0; c < size_t(net.channels()); ++c) {
      const double m = mean[c].number(), sd = stddev[c].number();
      if (!(std::abs(m) <= nn::kMaxNormMean)) mean[c].fail("a mean from -1e6 to 1e6");
      if (!(sd >= nn::kMinNormStd && sd <= nn::kMaxNormStd)) stddev[c].fail("a standard deviation from 1e-12 to 1e6");
      net.input_mean[c] = float(m);
      net.input_std[c] = float(sd);
    }
  } else {
    net.input_mean.assign(size_t(net.channels()), 0.f);
    net.input_std.assign(size_t(net.channels()), 1.f);
  }
  std::vector<std::string> classes;
  if (flags.has("--classes")) {
    classes = base::split(flags.text("--classes"), ',');
  } else if (described && about.has("class_names")) {
    const base::Node names = about["class_names"];
    for (size_t k = 0; k < names.array_size(); ++k) classes.push_back(names[k].text());
  } else {
    for (int k = 0; k < net.num_outputs(); ++k) classes.push_back(std::to_string(k));
  }
  const std::string classes_from = flags.has("--classes") ? "flag --classes" : described_by + ": /class_names";
  if (const std::string problem = nn::class_names_problem(classes, net.num_outputs()); !problem.empty())
    throw base::Error(classes_from + ": " + problem);
  // a value within the bounds as a double can still round below them as a float (std 1e-12)
  if (const std::string problem = nn::normalization_problem(net.input_mean, net.input_std); !problem.empty())
    throw base::Error((flags.has("--norm") ? std::string("flag --norm") : described_by + ": /normalization") + ": " + problem);
  const int epoch = described && about.has("epoch") ? int(about["epoch"].integer(0, 1 << 30)) : 0;

  nn::load_named_tensors(net, file.tensors, flags.has("--ignore-extra"), path);
  nlohmann::json meta = {{"model", model},
                               {"spec", spec},
                               {"imported_from", {{"path", path}, {"sha256", file.sha256}}}};
  // an .npz's architecture, normalisation and classes came from its .model.json: recorded too
  if (!description_sha256.empty())
    meta["imported_from"]["description"] = {{"path", described_by}, {"sha256", description_sha256}};
  const std::string out = flags.text("--out");
  nn::save_checkpoint(out, net, epoch, classes, meta);
  std::printf("imported %zu tensors (%zu parameters) from %s into %s\n", nn::torch_tensors(net).size(),
              net.parameter_count(), path.c_str(), out.c_str());
  return 0;
}

}  // namespace app
