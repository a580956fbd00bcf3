#include "nn/network.h"

#include <cstdlib>
#include <sstream>

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
  return "";
}

Network::Network(const std::string& spec, int channels, int height, int width)
    : spec_(spec), in_c_(channels), in_h_(height), in_w_(width) {
  std::vector<std::string> tokens;
  {
    std::istringstream is(spec);
    std::string t;
    while (is >> t) tokens.push_back(t);
  }
  if (tokens.empty()) throw base::Error("spec '" + spec + "': empty (expected tokens such as conv3x3:32 relu maxpool2 linear:10)");
  if (channels < 1 || height < 1 || width < 1 || channels > base::kMaxInputSide || height > base::kMaxInputSide ||
      width > base::kMaxInputSide || int64_t(channels) * height * width > base::kMaxLayerUnits)
    throw base::Error("network input " + std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width) +
                      ": expected sides from 1 to " + std::to_string(base::kMaxInputSide) + " and at most " +
                      std::to_string(base::kMaxLayerUnits) + " values per image");
  int64_t stored_values = 0;  // of the layers set up so far, against base::kMaxParameters
  int n_conv = 0, n_pool = 0, n_fc = 0, n_bn = 0;
  Shape shape{1, channels, height, width};
  for (size_t ti = 0; ti < tokens.size(); ++ti) {
    const std::string& t = tokens[ti];
    std::unique_ptr<Layer> layer;
    std::string name;
    bool opens_block = false;
    std::string block_kind;
    if (t.rfind("conv", 0) == 0) {
      bool followed_by_bn = ti + 1 < tokens.size() && tokens[ti + 1] == "bn";
      layer = parse_conv(t, !followed_by_bn);
      name = "conv" + std::to_string(++n_conv);
      opens_block = true;
      block_kind = "conv";
    } else if (t.rfind("linear:", 0) == 0) {
      int n;
      if (!parse_int(t.substr(7), n) || n < 1) bad_token(t, "expected linear:<N> with N ≥ 1");
      layer = std::make_unique<Linear>(n);
      name = "fc" + std::to_string(++n_fc);
      opens_block = true;
      block_kind = "fc";
    } else if (t.rfind("maxpool", 0) == 0 || t.rfind("avgpool", 0) == 0) {
      bool is_max = t[0] == 'm';
      int k, s;
      parse_pool(t, is_max ? "maxpool" : "avgpool", k, s);
      layer = std::make_unique<Pool2d>(is_max ? Pool2d::Max : Pool2d::Average, k, s);
      name = "pool" + std::to_string(++n_pool);
      opens_block = true;
      block_kind = "pool";
    } else if (t == "gap") {
      layer = std::make_unique<GlobalAvgPool>();
      name = "pool" + std::to_string(++n_pool);
      opens_block = true;
      block_kind = "pool";
    } else if (t == "relu" || t == "bn" || t.rfind("dropout:", 0) == 0) {
      if (blocks_.empty() || blocks_.back().kind == "pool")
        bad_token(t, "must follow a conv or linear token (it belongs to that block)");
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
    } else {
      bad_token(t, "unknown (expected convKxK:C, linear:N, relu, bn, dropout:p, maxpoolK, avgpoolK or gap)");
    }
    const Shape layer_input = shape;
    layer->value_budget = base::kMaxParameters - stored_values;
    shape = layer->setup(shape);
    for (Param* p : layer->params()) stored_values += int64_t(p->value.size());
    layer->input_shape = layer_input;  // every layer records its shapes, whatever its setup() did
    layer->output_shape = shape;
    int index = int(layers_.size());
    if (opens_block) {
      Block b;
      b.name = name;
      b.kind = block_kind;
      b.first = b.last = b.main = b.pre_activation = index;
      blocks_.push_back(b);
    } else {
      Block& b = blocks_.back();
      b.last = index;
      if (t == "relu") b.activation = index;
      if (t == "bn") b.batchnorm = index;
      if (t == "bn") b.pre_activation = index;
    }
    blocks_.back().output_shape = shape;
    layers_.push_back(std::move(layer));
    layer_names_.push_back(name);
    block_of_layer_.push_back(int(blocks_.size()) - 1);
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

void Network::run(size_t from, const Tensor& x, bool training, const Probe* probe, const BlockEdit* edit) {
  input_ = &x;
  start_layer_ = from;
  for (size_t i = from; i < layers_.size(); ++i) {
    const Tensor& in = i == from ? x : acts_[i - 1];
    layers_[i]->forward(in, acts_[i], training, rng_);
    if (edit && int(i) == blocks_[block_of_layer_[i]].last) (*edit)(block_of_layer_[i], acts_[i]);
    if (probe) {
      const Block& b = blocks_[block_of_layer_[i]];
      if (int(i) == b.last) {
        const Tensor& block_in = size_t(b.first) == from ? x : acts_[b.first - 1];
        (*probe)(BlockView{block_of_layer_[i], b, block_in, acts_[b.pre_activation], acts_[b.last]});
      }
    }
  }
}

const Tensor& Network::forward(const Tensor& x, bool training, const Probe* probe, const BlockEdit* edit) {
  if (x.c() != in_c_ || x.h() != in_h_ || x.w() != in_w_)
    throw base::Error("network input " + x.shape().str() + " does not match the net's input (N," + std::to_string(in_c_) +
                "," + std::to_string(in_h_) + "," + std::to_string(in_w_) + ")");
  run(0, x, training, probe, edit);
  return acts_.back();
}

const Tensor& Network::forward_from(int b, const Tensor& a, const Probe* probe) {
  const Shape& s = blocks_[b].output_shape;
  if (a.c() != s.c || a.h() != s.h || a.w() != s.w)
    throw base::Error("forward_from(" + blocks_[b].name + "): activation " + a.shape().str() + " does not match the block's output");
  if (size_t(blocks_[b].last) + 1 == layers_.size()) {
    acts_.back() = a;
    return acts_.back();
  }
  run(size_t(blocks_[b].last) + 1, a, false, probe);
  return acts_.back();
}

void Network::backward(const Tensor& dlogits, bool param_grads, int stop_block) {
  grads_.back() = dlogits;
  size_t stop = stop_block >= 0 ? size_t(blocks_[stop_block].last) + 1 : start_layer_;
  if (stop < start_layer_) throw base::Error("backward: block is before the start of the last forward");
  for (size_t i = layers_.size(); i-- > stop;) {
    const Tensor& in = i == start_layer_ ? *input_ : acts_[i - 1];
    // Layer 0 needs no input gradient (its input is data); a forward_from() start gets one:
    // it is the gradient of the lesioned block's output.
    Tensor* din = i > 0 ? &grads_[i - 1] : nullptr;
    layers_[i]->backward(in, acts_[i], grads_[i], din, param_grads);
  }
}

void Network::release_buffers() {
  for (Tensor& t : acts_) t = Tensor();
  for (Tensor& t : grads_) t = Tensor();
  input_ = nullptr;
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
      if (p->trainable) n += p->value.size();
  return n;
}

size_t Network::activation_floats_per_image() const {
  size_t n = 0;
  for (const auto& l : layers_) n += l->output_shape.per_sample();
  return n;
}

}  // namespace nn
