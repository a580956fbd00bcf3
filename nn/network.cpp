#include "nn/network.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "base/error.h"
#include "base/text.h"

namespace nn {

namespace {

bool parse_int(const std::string& s, int& v) {
  if (s.empty() || s.size() > 6) return false;
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  v = std::atoi(s.c_str());
  return true;
}


[[noreturn]] void bad_token(const std::string& token, const std::string& expected) {
  throw base::Error("spec token '" + token + "': " + expected);
}

// "maxpool2", "maxpool3:s2" → window and stride
void parse_pool(const std::string& token, const std::string& prefix, int& k, int& stride) {
  auto parts = base::split(token.substr(prefix.size()), ':');
  if (!parse_int(parts[0], k) || k < 1) bad_token(token, "expected " + prefix + "<K>[:s<S>] with K ≥ 1");
  stride = k;
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i].size() < 2 || parts[i][0] != 's' || !parse_int(parts[i].substr(1), stride) || stride < 1)
      bad_token(token, "expected " + prefix + "<K>[:s<S>] with S ≥ 1");
}

std::unique_ptr<Layer> parse_conv(const std::string& token, bool bias) {
  // conv<KH>x<KW>:<C>[:s<S>][:p<P>]
  auto parts = base::split(token.substr(4), ':');
  auto dims = base::split(parts[0], 'x');
  int kh, kw, channels;
  const char* form = "expected conv<KH>x<KW>:<C>[:s<S>][:p<P>], e.g. conv3x3:32";
  if (dims.size() != 2 || !parse_int(dims[0], kh) || !parse_int(dims[1], kw) || kh < 1 || kw < 1 ||
      parts.size() < 2 || !parse_int(parts[1], channels) || channels < 1)
    bad_token(token, form);
  int stride = 1, pad = -1;
  for (size_t i = 2; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    int v;
    if (p.size() >= 2 && p[0] == 's' && parse_int(p.substr(1), v) && v >= 1)
      stride = v;
    else if (p.size() >= 2 && p[0] == 'p' && parse_int(p.substr(1), v))
      pad = v;
    else
      bad_token(token, form);
  }
  if (pad < 0) pad = kh / 2;
  return std::make_unique<Conv2d>(channels, kh, kw, stride, pad, bias);
}

}  // namespace

std::string Network::preset(const std::string& name) {
  if (name == "reference")
    return "conv3x3:32 relu maxpool2 conv3x3:64 relu maxpool2 conv3x3:128 relu maxpool2 linear:256 relu linear:10";
  if (name == "bn")
    return "conv3x3:32 bn relu conv3x3:32 bn relu maxpool2 conv3x3:64 bn relu conv3x3:64 bn relu maxpool2 "
           "conv3x3:128 bn relu conv3x3:128 bn relu maxpool2 linear:256 relu dropout:0.3 linear:10";
  // He et al. 2016's CIFAR ResNet-6n+2: a 3×3 conv, three stages of n basic blocks (16, 32, 64
  // channels; the first unit of stages 2 and 3 halves the map with stride 2 and an option A shortcut),
  // global average pooling, linear 10.
  const auto resnet = [](int n) {
    const std::string k = std::to_string(n - 1);
    return "conv3x3:16 bn relu " + std::to_string(n) + "*(res(conv3x3:16 bn relu conv3x3:16 bn) relu) "
           "res:pad(conv3x3:32:s2 bn relu conv3x3:32 bn) relu " + k + "*(res(conv3x3:32 bn relu conv3x3:32 bn) relu) "
           "res:pad(conv3x3:64:s2 bn relu conv3x3:64 bn) relu " + k + "*(res(conv3x3:64 bn relu conv3x3:64 bn) relu) "
           "gap linear:10";
  };
  if (name == "resnet20") return resnet(3);
  if (name == "resnet56") return resnet(9);
  return "";
}

namespace {

bool opens_group(const std::string& token) { return !token.empty() && token.back() == '('; }

// Words split on white space; a '(' ends a token ("res(", "3*(") and a ')' is a token of its own.
std::vector<std::string> split_tokens(const std::string& spec) {
  std::vector<std::string> tokens;
  std::istringstream is(spec);
  std::string word;
  while (is >> word) {
    std::string current;
    for (char ch : word) {
      if (ch == ')') {
        if (!current.empty()) tokens.push_back(current);
        tokens.push_back(")");
        current.clear();
        continue;
      }
      current += ch;
      if (ch == '(') {
        tokens.push_back(current);
        current.clear();
      }
    }
    if (!current.empty()) tokens.push_back(current);
  }
  return tokens;
}

constexpr size_t kMaxExpandedTokens = 100000;
// Groups (res( … ), N*( … )) nest at most this deep: expand_repeats recurses once per level.
constexpr size_t kMaxGroupDepth = 64;

// Expands the repeat groups N*( … ) of tokens[begin, end) into `out`; `match[i]` is the index of the
// ')' closing the group opened at i.
void expand_repeats(const std::vector<std::string>& tokens, const std::vector<size_t>& match, size_t begin, size_t end,
                    std::vector<std::string>& out) {
  for (size_t i = begin; i < end; ++i) {
    const std::string& t = tokens[i];
    const size_t star = t.find('*');
    if (!opens_group(t) || star == std::string::npos) {
      out.push_back(t);
      continue;
    }
    int count = 0;
    if (star + 2 != t.size() || !parse_int(t.substr(0, star), count) || count < 1)
      bad_token(t, "expected a repeat N*( … ) with a count N ≥ 1, e.g. 3*(res(conv3x3:16 bn relu conv3x3:16 bn) relu)");
    if (match[i] == i + 1) bad_token(t, "nothing to repeat (expected tokens between '" + t + "' and ')')");
    for (int k = 0; k < count; ++k) {
      expand_repeats(tokens, match, i + 1, match[i], out);
      if (out.size() > kMaxExpandedTokens)
        bad_token(t, "the spec expands to more than " + std::to_string(kMaxExpandedTokens) + " tokens");
    }
    i = match[i];
  }
}

// The spec's tokens with every repeat expanded; unbalanced groups throw naming the token.
std::vector<std::string> expanded_tokens(const std::string& spec) {
  const std::vector<std::string> tokens = split_tokens(spec);
  std::vector<size_t> match(tokens.size(), 0), open;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == "(")
      bad_token("(", "a group opens with its name against the bracket: res(, res:pad(, res:proj( or N*(");
    if (opens_group(tokens[i])) {
      open.push_back(i);
      if (open.size() > kMaxGroupDepth)
        bad_token(tokens[i], "groups nested at most " + std::to_string(kMaxGroupDepth) + " deep (this one opens level " +
                                 std::to_string(open.size()) + ")");
    }
    if (tokens[i] == ")") {
      if (open.empty()) bad_token(")", "no group is open (expected a res( … ) or N*( … ) before it)");
      match[open.back()] = i;
      open.pop_back();
    }
  }
  if (!open.empty()) bad_token(tokens[open.back()], "unclosed group (expected a matching ')')");
  std::vector<std::string> out;
  expand_repeats(tokens, match, 0, tokens.size(), out);
  return out;
}

// The stride S with ⌈in/S⌉ = out on both axes (a residual shortcut's subsampling), or 0 if none.
int shortcut_stride(const Shape& in, const Shape& out) {
  for (int s = 1; s <= std::max(in.h, in.w); ++s)
    if ((in.h - 1) / s + 1 == out.h && (in.w - 1) / s + 1 == out.w) return s;
  return 0;
}

std::string shape_text(const Shape& s) { return "(" + std::to_string(s.c) + "," + std::to_string(s.h) + "," + std::to_string(s.w) + ")"; }

}  // namespace

Network::Network(const std::string& spec, int channels, int height, int width, int64_t max_values, bool inference_only)
    : Network(spec, channels, height, width, max_values, true, !inference_only) {
  if (inference_only) set_inference_only(true);
}

Network Network::planned(const std::string& spec, int channels, int height, int width) {
  return Network(spec, channels, height, width, base::kMaxParameters, false, false);
}

Network::Network(const std::string& spec, int channels, int height, int width, int64_t max_values, bool allocate, bool gradients)
    : spec_(spec), in_c_(channels), in_h_(height), in_w_(width) {
  max_values = std::clamp<int64_t>(max_values, 0, base::kMaxParameters);
  const int64_t limit = max_values < base::kMaxParameters ? file_net_limit(max_values) : max_values;
  const std::vector<std::string> tokens = expanded_tokens(spec);
  if (tokens.empty()) throw base::Error("spec '" + spec + "': empty (expected tokens such as conv3x3:32 relu maxpool2 linear:10)");
  if (channels < 1 || height < 1 || width < 1 || channels > base::kMaxInputSide || height > base::kMaxInputSide ||
      width > base::kMaxInputSide || int64_t(channels) * height * width > base::kMaxLayerUnits)
    throw base::Error("network input " + std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width) +
                      ": expected sides from 1 to " + std::to_string(base::kMaxInputSide) + " and at most " +
                      std::to_string(base::kMaxLayerUnits) + " values per image");
  int64_t stored_values = 0;  // of the layers set up so far, against limit
  int n_conv = 0, n_pool = 0, n_fc = 0, n_bn = 0, n_res = 0;
  Shape shape{1, channels, height, width};
  // Sets up `layer` on input `in` read from layer `source` (−1: the network input) as a layer of the
  // last block; returns its output shape.
  const auto place = [&](std::unique_ptr<Layer> layer, const std::string& name, int source, const Shape& in) {
    layer->value_limit = max_values;
    layer->value_budget = limit - stored_values;
    layer->allocate = allocate;
    layer->gradients = gradients;
    const Shape out = layer->setup(in);
    for (Param* p : layer->params()) stored_values += int64_t(p->shape.size());
    layer->input_shape = in;  // every layer records its shapes, whatever its setup() did
    layer->output_shape = out;
    blocks_.back().last = int(layers_.size());
    blocks_.back().output_shape = out;
    layers_.push_back(std::move(layer));
    layer_names_.push_back(name);
    source_.push_back(source);
    shortcut_source_.push_back(-2);
    block_of_layer_.push_back(int(blocks_.size()) - 1);
    return out;
  };
  const auto block_of = [&](int layer) { return layer < 0 ? -1 : block_of_layer_[size_t(layer)]; };
  const auto open_block = [&](const std::string& name, const std::string& kind, std::vector<int> inputs) {
    Block b;
    b.name = name;
    b.kind = kind;
    b.first = b.last = b.main = b.pre_activation = int(layers_.size());
    b.inputs = std::move(inputs);
    blocks_.push_back(b);
  };
  // The residual units open at this point of the spec.
  struct Unit {
    std::string token;        // "res(", "res:pad(", "res:proj("
    int input_layer;          // the layer whose output enters the unit (−1: the network input)
    Shape input_shape;
    size_t first_block;       // blocks_.size() when it opened
  };
  std::vector<Unit> units;
  for (size_t ti = 0; ti < tokens.size(); ++ti) {
    const std::string& t = tokens[ti];
    const int previous = int(layers_.size()) - 1;
    if (t == "res(" || t == "res:pad(" || t == "res:proj(") {
      if (tokens[ti + 1] == ")") bad_token(t, "a residual unit needs a branch (expected layers between '" + t + "' and ')')");
      units.push_back({t, previous, shape, blocks_.size()});
      residual_ = true;
      continue;
    }
    if (opens_group(t)) bad_token(t, "unknown group (expected res(, res:pad(, res:proj( or N*( with N ≥ 1)");
    if (t == ")") {
      const Unit unit = units.back();
      units.pop_back();
      const int branch = previous;
      const std::string name = "res" + std::to_string(++n_res);
      open_block(name, "res", {block_of(branch), block_of(unit.input_layer)});
      int shortcut = unit.input_layer;
      Shape shortcut_shape = unit.input_shape;
      if (unit.token != "res(") {  // an option A or B shortcut
        const int stride = shortcut_stride(unit.input_shape, shape);
        if (stride == 0)
          bad_token(unit.token, "the branch's output " + shape_text(shape) + " is not the unit's input " + shape_text(unit.input_shape) +
                                    " subsampled by one stride; expected a branch that keeps or strides the map");
        if (unit.token == "res:pad(") {
          shortcut_shape = place(std::make_unique<PadShortcut>(shape.c, stride), name + ".pad", unit.input_layer, unit.input_shape);
          shortcut = previous + 1;
        } else if (unit.token == "res:proj(") {
          shortcut_shape = place(std::make_unique<Conv2d>(shape.c, 1, 1, stride, 0, false), name + ".proj", unit.input_layer, unit.input_shape);
          shortcut_shape = place(std::make_unique<BatchNorm2d>(), name + ".proj_bn", previous + 1, shortcut_shape);
          shortcut = previous + 2;
        }
        blocks_.back().shortcut_layer = previous + 1;
      }
      if (!(shortcut_shape.c == shape.c && shortcut_shape.h == shape.h && shortcut_shape.w == shape.w))
        bad_token(unit.token, "the branch's output " + shape_text(shape) + " cannot be added to the identity shortcut " +
                                  shape_text(shortcut_shape) + "; expected equal shapes (res:pad( or res:proj( change the shortcut's shape)");
      auto add = std::make_unique<Add>();
      add->shortcut_shape = shortcut_shape;
      Block& b = blocks_.back();
      b.main = b.pre_activation = int(layers_.size());
      shape = place(std::move(add), name, branch, shape);
      shortcut_source_.back() = shortcut;
      continue;
    }
    std::unique_ptr<Layer> layer;
    std::string name;
    if (t.rfind("conv", 0) == 0) {
      bool followed_by_bn = ti + 1 < tokens.size() && tokens[ti + 1] == "bn";
      layer = parse_conv(t, !followed_by_bn);
      name = "conv" + std::to_string(++n_conv);
      open_block(name, "conv", {block_of(previous)});
    } else if (t.rfind("linear:", 0) == 0) {
      int n;
      if (!parse_int(t.substr(7), n) || n < 1) bad_token(t, "expected linear:<N> with N ≥ 1");
      layer = std::make_unique<Linear>(n);
      name = "fc" + std::to_string(++n_fc);
      open_block(name, "fc", {block_of(previous)});
    } else if (t.rfind("maxpool", 0) == 0 || t.rfind("avgpool", 0) == 0) {
      bool is_max = t[0] == 'm';
      int k, s;
      parse_pool(t, is_max ? "maxpool" : "avgpool", k, s);
      layer = std::make_unique<Pool2d>(is_max ? Pool2d::Max : Pool2d::Average, k, s);
      name = "pool" + std::to_string(++n_pool);
      open_block(name, "pool", {block_of(previous)});
    } else if (t == "gap") {
      layer = std::make_unique<GlobalAvgPool>();
      name = "pool" + std::to_string(++n_pool);
      open_block(name, "pool", {block_of(previous)});
    } else if (t == "relu" || t == "bn" || t.rfind("dropout:", 0) == 0) {
      // Inside a residual branch the block must have opened inside it; the ')' is no layer of it.
      if (blocks_.empty() || blocks_.back().kind == "pool" || (!units.empty() && blocks_.size() == units.back().first_block))
        bad_token(t, "must follow a conv or linear token (it belongs to that block), or a res group's ')'");
      Block& b = blocks_.back();
      if (t == "relu") {
        if (b.activation >= 0) bad_token(t, "block " + b.name + " already has an activation");
        layer = std::make_unique<ReLU>();
        name = b.name + ".relu";
      } else if (t == "bn") {
        if (b.kind != "conv" || b.batchnorm >= 0 || b.activation >= 0 || b.last != b.main)
          bad_token(t, "bn must directly follow a conv token");
        layer = std::make_unique<BatchNorm2d>();
        name = "bn" + std::to_string(++n_bn);
      } else {
        char* end = nullptr;
        std::string v = t.substr(8);
        double p = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(p >= 0.0 && p < 1.0)) bad_token(t, "expected dropout:<p> with 0 ≤ p < 1");
        layer = std::make_unique<Dropout>(float(p));
        name = b.name + ".dropout";
      }
      if (t == "relu") b.activation = int(layers_.size());
      if (t == "bn") b.batchnorm = b.pre_activation = int(layers_.size());
    } else {
      bad_token(t, "unknown (expected convKxK:C, linear:N, relu, bn, dropout:p, maxpoolK, avgpoolK, gap, res( … ) or N*( … ))");
    }
    shape = place(std::move(layer), name, previous, shape);
  }
  if (blocks_.back().kind != "fc")
    throw base::Error("spec '" + spec + "': must end with a linear:<classes> block (the logits)");
  Block& out = blocks_.back();
  if (out.activation >= 0) throw base::Error("spec '" + spec + "': the last linear block (the logits) cannot have a relu");
  out.kind = "output";
  out.name = "output";
  layer_names_[out.main] = "output";
  for (int i = out.first; i <= out.last; ++i)
    if (i != out.main) layer_names_[i] = "output" + layer_names_[i].substr(layer_names_[i].find('.'));
  --n_fc;
  // A relu whose output only a pool reads runs fused with it (Pool2d::forward_after_relu).
  relu_then_pool_.assign(layers_.size(), 0);
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    if (layers_[i]->layer_kind() != LayerKind::relu || source_[i + 1] != int(i)) continue;
    const LayerKind next = layers_[i + 1]->layer_kind();
    if (next != LayerKind::maxpool && next != LayerKind::avgpool) continue;
    bool only_reader = true;
    for (size_t j = 0; j < layers_.size(); ++j)
      if ((j != i + 1 && source_[j] == int(i)) || shortcut_source_[j] == int(i)) only_reader = false;
    relu_then_pool_[i] = only_reader;
  }
  // A bn whose output only the next layer, a relu, reads runs fused with it (BatchNorm2d::forward_then_relu),
  // unless that relu runs fused with a pool after it.
  bn_then_relu_.assign(layers_.size(), 0);
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    if (layers_[i]->layer_kind() != LayerKind::batchnorm2d || layers_[i + 1]->layer_kind() != LayerKind::relu ||
        source_[i + 1] != int(i))
      continue;
    bool only_reader = true;
    for (size_t j = 0; j < layers_.size(); ++j)
      if ((j != i + 1 && source_[j] == int(i)) || shortcut_source_[j] == int(i)) only_reader = false;
    bn_then_relu_[i] = only_reader && !relu_then_pool_[i + 1];  // a relu fused with its pool stays so
  }
  // A conv/linear whose output only such a relu reads (nets without residual units: forward_from
  // checks a shortcut's images against a stored output).
  z_in_relu_.assign(layers_.size(), 0);
  for (size_t i = 0; i + 1 < layers_.size() && !residual_; ++i) {
    const LayerKind kind = layers_[i]->layer_kind();
    if ((kind != LayerKind::conv2d && kind != LayerKind::linear) || source_[i + 1] != int(i) || !relu_then_pool_[i + 1])
      continue;
    bool only_reader = true;
    for (size_t j = 0; j < layers_.size(); ++j)
      if ((j != i + 1 && source_[j] == int(i)) || shortcut_source_[j] == int(i)) only_reader = false;
    z_in_relu_[i] = only_reader;
  }
  acts_.resize(layers_.size());
  grads_.resize(layers_.size());
  input_mean.assign(channels, 0.f);
  input_std.assign(channels, 1.f);
}

void Network::init(uint64_t seed, OutputInit output) {
  Rng rng(seed);
  for (auto& l : layers_) l->init(rng);
  if (output == OutputInit::zero) {
    Layer& last = *layers_[size_t(blocks_.back().main)];
    for (Param* p : last.params()) p->value.zero();  // weight and bias (the bias is 0 already)
  }
  rng_ = Rng::derive(seed, 0xD0D0);
}

std::string Network::layer_name(size_t i) const { return layer_names_[i]; }

int Network::find_block(const std::string& name) const {
  for (size_t b = 0; b < blocks_.size(); ++b)
    if (blocks_[b].name == name) return int(b);
  return -1;
}

void Network::run(size_t from, bool training, const Probe* probe, const BlockEdit* edit, ProbeReads reads) {
  start_layer_ = from;
  if (!probe) reads = {};
  // Inference only: a layer's output buffer goes back to the pool (spare_) once the last layer or
  // probe that reads it is done, and a layer about to write takes the smallest pooled buffer that
  // holds its output, so the batch's memory is the outputs alive at one time, not every layer's.
  // last_read_[j]: the last layer after which layer j's output is read (a layer, or the probe of a
  // block that ends there); the logits are kept.
  const bool pooled = inference_only_;
  const size_t batch = size_t(from == 0 ? input_->n() : acts_[from - 1].n());
  if (pooled) {
    last_read_.assign(layers_.size(), -1);
    const auto read_after = [&](int j, size_t i) {
      if (j >= 0) last_read_[size_t(j)] = std::max(last_read_[size_t(j)], int(i));
    };
    for (size_t i = from; i < layers_.size(); ++i) {
      read_after(source_[i], i);
      if (shortcut_source_[i] != -2) read_after(shortcut_source_[i], i);
    }
    if (probe)
      for (const Block& b : blocks_) {
        if (size_t(b.last) < from) continue;
        read_after(b.kind == "res" ? source_[size_t(b.main)] : source_[size_t(b.first)], size_t(b.last));
        read_after(b.pre_activation, size_t(b.last));
        read_after(b.last, size_t(b.last));
      }
    last_read_.back() = int(layers_.size());
  }
  const auto take = [&](size_t j) {
    if (pooled && acts_[j].capacity() == 0) acts_[j] = take_spare(batch * layers_[j]->output_shape.per_sample());
  };
  // After layers up to `done` and their probes: the outputs nothing reads any more go to the pool.
  const auto give_back = [&](size_t done) {
    if (!pooled) return;
    for (size_t j = 0; j <= done; ++j)
      if (last_read_[j] <= int(done) && acts_[j].capacity() > 0) spare_.push_back(std::move(acts_[j]));
  };
  // The probe of the block that layer i ends, if it ends one (`sums`: its BlockView::unit_sums).
  const auto probe_after = [&](size_t i, const float* sums = nullptr) {
    const Block& b = blocks_[block_of_layer_[i]];
    if (!probe || int(i) != b.last) return;
    const int reads_from = b.kind == "res" ? source_[size_t(b.main)] : source_[size_t(b.first)];
    (*probe)(BlockView{block_of_layer_[i], b, source_output(reads_from), acts_[b.pre_activation], acts_[b.last], sums});
  };
  // The sums buffers of relu layer r and its pool r + 1, when the probe asked for them.
  const auto sums_of = [&](size_t r, const Tensor& a) -> std::pair<float*, float*> {
    if (!reads.unit_sums) return {nullptr, nullptr};
    const Shape& pooled = layers_[r + 1]->output_shape;
    unit_sums_.resize(layers_.size());
    unit_sums_[r].resize(size_t(a.c()) * size_t(a.h()) * size_t(a.w()));
    unit_sums_[r + 1].resize(size_t(pooled.c) * size_t(pooled.h) * size_t(pooled.w));
    return {unit_sums_[r].data(), unit_sums_[r + 1].data()};
  };
  for (size_t i = from; i < layers_.size(); ++i) {
    if (z_in_relu_[i] && (!probe || !reads.z) && !edit) {  // z written into the relu's buffer, rectified in place
      take(i + 1), take(i + 2);
      layers_[i]->forward(source_output(source_[i]), acts_[i + 1], training, rng_);
      const auto [a_sums, out_sums] = sums_of(i + 1, acts_[i + 1]);
      static_cast<Pool2d&>(*layers_[i + 2]).forward_after_relu(acts_[i + 1], acts_[i + 1], acts_[i + 2], a_sums, out_sums);
      if (probe) {  // the relu ends the conv/linear's block (its z is a here), the pool is a block
        const Block& b = blocks_[block_of_layer_[i + 1]];
        if (int(i + 1) == b.last)
          (*probe)(BlockView{block_of_layer_[i + 1], b, source_output(source_[size_t(b.first)]), acts_[i + 1], acts_[i + 1], a_sums});
        probe_after(i + 2, out_sums);
      }
      i += 2;
      give_back(i);
      continue;
    }
    if (relu_then_pool_[i] && !edit) {  // an edit of the relu's block output must come before the pool
      take(i), take(i + 1);
      const auto [a_sums, out_sums] = sums_of(i, source_output(source_[i]));
      static_cast<Pool2d&>(*layers_[i + 1]).forward_after_relu(source_output(source_[i]), acts_[i], acts_[i + 1], a_sums, out_sums);
      probe_after(i, a_sums);
      probe_after(++i, out_sums);
      give_back(i);
      continue;
    }
    if (bn_then_relu_[i] && !(edit && int(i) == blocks_[block_of_layer_[i]].last)) {  // an edit of the bn's block output comes first
      take(i), take(i + 1);
      static_cast<BatchNorm2d&>(*layers_[i]).forward_then_relu(source_output(source_[i]), acts_[i], acts_[i + 1], training);
      probe_after(i);
      ++i;
      if (edit && int(i) == blocks_[block_of_layer_[i]].last) (*edit)(block_of_layer_[i], acts_[i]);
      probe_after(i);
      give_back(i);
      continue;
    }
    take(i);
    if (shortcut_source_[i] != -2) static_cast<Add&>(*layers_[i]).shortcut = &source_output(shortcut_source_[i]);
    layers_[i]->forward(source_output(source_[i]), acts_[i], training, rng_);
    if (edit && int(i) == blocks_[block_of_layer_[i]].last) (*edit)(block_of_layer_[i], acts_[i]);
    probe_after(i);
    give_back(i);
  }
}

const Tensor& Network::forward(const Tensor& x, bool training, const Probe* probe, const BlockEdit* edit, ProbeReads reads) {
  if (x.c() != in_c_ || x.h() != in_h_ || x.w() != in_w_)
    throw base::Error("network input " + x.shape().str() + " does not match the net's input (N," + std::to_string(in_c_) +
                "," + std::to_string(in_h_) + "," + std::to_string(in_w_) + ")");
  if (training && inference_only_) throw std::logic_error("Network::forward(training = true) on an inference-only net");
  input_ = &x;
  run(0, training, probe, edit, reads);
  return acts_.back();
}

bool Network::crossed_by_shortcut(int b) const {
  const int last = blocks_[size_t(b)].last;
  for (size_t i = size_t(last) + 1; i < layers_.size(); ++i)
    if (source_[i] < last || (shortcut_source_[i] != -2 && shortcut_source_[i] < last)) return true;
  return false;
}

const Tensor& Network::forward_from(int b, const Tensor& a, const Probe* probe) {
  const Shape& s = blocks_[b].output_shape;
  if (a.c() != s.c || a.h() != s.h || a.w() != s.w)
    throw base::Error("forward_from(" + blocks_[b].name + "): activation " + a.shape().str() + " does not match the block's output");
  if (inference_only_ && crossed_by_shortcut(b))  // the outputs the shortcut would read are pooled (set_inference_only)
    throw std::logic_error("Network::forward_from(" + blocks_[b].name + ") past a shortcut on an inference-only net");
  if (crossed_by_shortcut(b) && (!input_ || acts_[size_t(blocks_[b].first)].n() != a.n()))
    throw base::Error("forward_from(" + blocks_[b].name + "): a shortcut passes this block; expected a forward() of the same " +
                      std::to_string(a.n()) + " images before it");
  const size_t last = size_t(blocks_[b].last);
  // Inference only: the copy goes into a pooled buffer, as every output run() writes (run() gives it
  // back); a buffer of its own each call went to the pool too and was never taken again.
  if (inference_only_ && acts_[last].capacity() == 0) acts_[last] = take_spare(a.size());
  acts_[last] = a;
  if (last + 1 == layers_.size()) return acts_.back();
  run(last + 1, false, probe);
  return acts_.back();
}

namespace {
// dst += src, element-wise (same shapes).
void add_into(Tensor& dst, const Tensor& src) {
  float* d = dst.data();
  const float* s = src.data();
  const long n = long(dst.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) d[i] += s[i];
}
}  // namespace

Tensor Network::take_spare(size_t need) {
  size_t best = spare_.size();
  for (size_t k = 0; k < spare_.size(); ++k) {
    const size_t cap = spare_[k].capacity();
    if (best == spare_.size()) {
      best = k;
      continue;
    }
    const size_t have = spare_[best].capacity();
    // Of equal capacities the one given back last (still in cache, and what a reader that held on to
    // a buffer given back too early would see overwritten first).
    const bool fits = cap >= need, best_fits = have >= need;
    if ((fits && (!best_fits || cap <= have)) || (!fits && !best_fits && cap >= have)) best = k;
  }
  if (best == spare_.size()) return Tensor();
  Tensor t = std::move(spare_[best]);
  spare_.erase(spare_.begin() + long(best));
  return t;
}

void Network::backward(const Tensor& dlogits, bool param_grads, int stop_block, bool keep_output_grads,
                       const std::vector<bool>* cut) {
  if (cut && cut->size() != blocks_.size()) throw std::logic_error("Network::backward: cut flags are not one per block");
  if (inference_only_) throw std::logic_error("Network::backward on an inference-only net");
  const bool pooled = !keep_output_grads;
  const size_t batch = size_t(dlogits.n());
  // Without keep_output_grads a gradient slot takes a pooled buffer just before it is first written
  // and gives it back once its layer's backward has read it.
  const auto take = [&](size_t layer) {
    if (pooled) grads_[layer] = take_spare(batch * layers_[layer]->output_shape.per_sample());
  };
  const auto give_back = [&](size_t layer) {
    if (pooled && grads_[layer].capacity() > 0) spare_.push_back(std::move(grads_[layer]));
  };
  take(layers_.size() - 1);
  grads_.back() = dlogits;
  size_t stop = stop_block >= 0 ? size_t(blocks_[stop_block].last) + 1 : start_layer_;
  if (stop < start_layer_) throw base::Error("backward: block is before the start of the last forward");
  // A layer's output may feed several layers (a residual unit's input feeds its branch and its
  // shortcut): its gradient is the sum over them, written by the first (highest) consumer and added
  // to by the others, in a fixed order.  Gradients below the first layer run are not needed.
  const int lowest = int(stop) - 1;
  grad_written_.assign(layers_.size(), 0);
  grad_written_.back() = 1;
  // Where layer i's input gradient goes (null: not needed).
  const auto input_grad = [&](size_t i) -> Tensor* {
    const int src = source_[i];
    if (src < lowest || src < 0) return nullptr;
    if (grad_written_[size_t(src)]) return &scratch_;
    take(size_t(src));
    return &grads_[size_t(src)];
  };
  const auto input_grad_done = [&](size_t i, Tensor* din) {
    if (din == &scratch_) add_into(grads_[size_t(source_[i])], scratch_);
    if (din) grad_written_[size_t(source_[i])] = 1;
  };
  // Whether layer k ends a cut block: its output gradient is zeroed, so it runs backward on its own
  // (never fused with the layer after it, whose backward would write past the zeroing).
  const auto cut_at = [&](size_t k) {
    return cut && int(k) == blocks_[size_t(block_of_layer_[k])].last && (*cut)[size_t(block_of_layer_[k])];
  };
  const auto fuse_relu_pool = [&](size_t k) { return relu_then_pool_[k] && !cut_at(k); };
  const auto fuse_bn_relu = [&](size_t k) { return bn_then_relu_[k] && !cut_at(k); };
  // Whether layer k's backward runs in the general path below (not fused with the layer before it).
  const auto unfused = [&](size_t k) {
    return !(k >= 1 && k - 1 >= stop && (fuse_relu_pool(k - 1) || fuse_bn_relu(k - 1)));
  };
  // A residual add's output gradient is the gradient of both its inputs.  With pooled buffers it is
  // not copied: its buffer goes to the input whose layer runs backward next (layer i − 1: the branch's
  // last layer, or the shortcut's), and once that layer's backward has read it, on to the other input
  // (handover_from → handover_to).  Only when layer i − 1 runs next on its own (not fused, not itself
  // an add) and neither slot holds a gradient yet: then nothing reads or writes the slots in between,
  // and the values each reader sees, and every sum, are those the copy gave (the same bits).
  int handover_from = -1, handover_to = -1;
  plane_sums_for_ = -1;
  for (size_t i = layers_.size(); i-- > stop;) {
    if (cut_at(i)) std::fill(grads_[i].data(), grads_[i].data() + grads_[i].size(), 0.f);  // complete here: its readers are above
    if (pooled && shortcut_source_[i] != -2 && i >= 1 && i - 1 >= stop && unfused(i - 1) && shortcut_source_[i - 1] == -2) {
      const int branch = source_[i], shortcut = shortcut_source_[i];
      const int first = std::max(branch, shortcut), second = std::min(branch, shortcut);
      if (first == int(i) - 1 && second >= lowest && second >= 0 && !grad_written_[size_t(first)] &&
          !grad_written_[size_t(second)] && !cut_at(size_t(first))) {  // a cut would zero the shared buffer
        give_back(size_t(first));
        grads_[size_t(first)] = std::move(grads_[i]);
        give_back(size_t(second));
        grad_written_[size_t(first)] = grad_written_[size_t(second)] = 1;
        handover_from = first;
        handover_to = second;
        continue;  // Add::backward has nothing else to do (no parameters)
      }
    }
    if (i >= 1 && i - 1 >= stop && fuse_relu_pool(i - 1)) {  // the pool i and its relu i − 1, fused
      Tensor* dz = input_grad(i - 1);
      Pool2d& pool = static_cast<Pool2d&>(*layers_[i]);
      // A conv with a bias whose only reader is this relu: its output gradient is dz, complete once
      // written here and read next by the conv's backward, so the plane sums of its bias gradient are
      // taken here, each plane while it is in the cache (the same sum_of of the same values).  Only for
      // planes of ≥ 256 values: on `reference`'s 8×8 conv3 planes the separate pass was the cheaper one
      // (bench/study/pool_bias_ab, branch ref13e in bench/README.md).
      const int z = source_[i - 1];
      float* dz_plane_sums = nullptr;
      if (param_grads && dz && z >= 0 && z_in_relu_[size_t(z)] && dz == &grads_[size_t(z)] &&
          layers_[size_t(z)]->layer_kind() == LayerKind::conv2d && static_cast<Conv2d&>(*layers_[size_t(z)]).has_bias &&
          long(layers_[size_t(z)]->output_shape.h) * layers_[size_t(z)]->output_shape.w >= 256) {
        plane_sums_.resize(batch * size_t(layers_[size_t(z)]->output_shape.c));
        dz_plane_sums = plane_sums_.data();
        plane_sums_for_ = z;
      }
      if (pooled && dz) {
        pool.backward_into_relu(acts_[i - 1], grads_[i], *dz, dz, dz_plane_sums);  // element-wise: in place is the same bits
      } else {
        take(i - 1);
        pool.backward_into_relu(acts_[i - 1], grads_[i], grads_[i - 1], dz, dz_plane_sums);
      }
      grad_written_[i - 1] = 1;
      input_grad_done(i - 1, dz);
      give_back(i);
      give_back(i - 1);
      --i;
      continue;
    }
    if (i >= 1 && i - 1 >= stop && fuse_bn_relu(i - 1)) {  // the relu i and its bn i − 1, fused
      Tensor* din = input_grad(i - 1);
      take(i - 1);
      static_cast<BatchNorm2d&>(*layers_[i - 1])
          .backward_from_relu(source_output(source_[i - 1]), acts_[i], grads_[i], grads_[i - 1], din, param_grads);
      grad_written_[i - 1] = 1;
      input_grad_done(i - 1, din);
      give_back(i);
      give_back(i - 1);
      --i;
      continue;
    }
    const int src = source_[i];
    Tensor* din = input_grad(i);
    if (shortcut_source_[i] != -2) static_cast<Add&>(*layers_[i]).shortcut = &source_output(shortcut_source_[i]);
    if (int(i) == plane_sums_for_) {
      static_cast<Conv2d&>(*layers_[i]).backward_given_plane_sums(source_output(src), grads_[i], din, param_grads,
                                                                 plane_sums_.data());
      plane_sums_for_ = -1;
    } else {
      layers_[i]->backward(source_output(src), acts_[i], grads_[i], din, param_grads);
    }
    if (int(i) == handover_from) {  // read: the add's gradient goes on to its other input
      grads_[size_t(handover_to)] = std::move(grads_[i]);
      handover_from = -1;
    }
    input_grad_done(i, din);
    const int shortcut = shortcut_source_[i];
    if (shortcut != -2 && shortcut >= lowest && shortcut >= 0) {  // dL/dshortcut = dout of the add
      if (grad_written_[size_t(shortcut)]) {
        add_into(grads_[size_t(shortcut)], grads_[i]);
      } else if (pooled) {  // the add's gradient is given back next: hand its buffer over, no copy
        give_back(size_t(shortcut));
        grads_[size_t(shortcut)] = std::move(grads_[i]);
      } else {
        take(size_t(shortcut));
        grads_[size_t(shortcut)] = grads_[i];
      }
      grad_written_[size_t(shortcut)] = 1;
    }
    give_back(i);
  }
}

void Network::release_buffers() {
  for (Tensor& t : acts_) t = Tensor();
  for (Tensor& t : grads_) t = Tensor();
  scratch_ = Tensor();
  spare_.clear();
  input_ = nullptr;
}

void Network::set_inference_only(bool on) {
  // The pool is emptied when the mode changes: a training forward writes every layer's output into a
  // buffer of its own and the next pooled forward gives them all to the pool, so a pool kept across
  // the changes grew by the net's outputs at every turn.
  if (on != inference_only_) spare_.clear();
  inference_only_ = on;
  for (auto& l : layers_) {
    if (l->layer_kind() == LayerKind::maxpool) static_cast<Pool2d&>(*l).set_record_argmax(!on);
    for (Param* p : l->params()) {
      if (!p->trainable || p->value.size() == 0) continue;  // a buffer, or a planned net's parameter
      if (on) {
        p->grad = Tensor();  // no backward runs: the gradients are freed
      } else if (p->grad.size() != p->value.size()) {
        p->grad.resize(p->value.shape());  // as a net is built: zero
        p->grad.zero();
      }
    }
  }
}

void Network::zero_grad() {
  for (auto& l : layers_)
    for (Param* p : l->params())
      if (p->trainable) p->grad.zero();
}

std::vector<NamedParam> Network::named_params() {
  std::vector<NamedParam> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    for (Param* p : layers_[i]->params()) out.push_back({layer_names_[i] + "." + p->name, p});
  return out;
}

size_t Network::parameter_count() const {
  size_t n = 0;
  for (auto& l : layers_)
    for (Param* p : l->params())
      if (p->trainable) n += p->shape.size();  // a planned net's too
  return n;
}

size_t Network::activation_floats_held() const {
  size_t n = 0;
  for (const Tensor& t : acts_) n += t.capacity();
  for (const Tensor& t : spare_) n += t.capacity();
  return n;
}

size_t Network::activation_floats_per_image() const {
  size_t n = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const size_t out = layers_[i]->output_shape.per_sample();
    if (!inference_only_) {
      n += out;
    } else {  // a layer's output and its input are alive together (the network input is the caller's)
      const int from = source_[i];
      n = std::max(n, out + (from < 0 ? 0 : layers_[size_t(from)]->output_shape.per_sample()));
    }
  }
  return n;
}

}  // namespace nn
