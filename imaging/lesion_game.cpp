// imaging/lesion_game.cpp — the lesion game of one block (imaging/lesion_game.h): its sample, its
// activations and baseline, the blocks after it re-laid for the walker, and v(S) by dense forwards.
#include "imaging/lesion_game.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "imaging/net_view.h"
#include "nn/rng.h"
#include "nn/loss.h"
#include "nn/trainer.h"

namespace imaging {

namespace {

// A copy on a cache line (base/aligned.h), for the walker's states (its weight rows come aligned from NetView).
base::AlignedVector<float> aligned(const std::vector<float>& v) { return base::AlignedVector<float>(v.begin(), v.end()); }
// dst (cols, rows) = srcᵀ, src (rows, cols): (C, H·W) → (H·W, C) is channels-first → channels-last
// of one image, and (H·W, C) → (C, H·W) the way back.
void transpose(const float* src, int rows, int cols, float* dst) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) dst[size_t(c) * rows + r] = src[size_t(r) * cols + c];
}
}  // namespace

void to_channels_last(const float* chw, int C, int H, int W, float* hwc) { transpose(chw, C, H * W, hwc); }
void to_channels_first(const float* hwc, int C, int H, int W, float* chw) { transpose(hwc, H * W, C, chw); }

void image_values(const nn::Tensor& logits, const uint8_t* labels, const ValueFunction& value, double* out) {
  using Kind = ValueFunction::Kind;
  const int K = logits.c();
  switch (value.kind) {
    case Kind::logprob:
      nn::log_prob_of_label(logits, labels, out);
      return;
    case Kind::accuracy:
      for (int n = 0; n < logits.n(); ++n) out[n] = nn::predicted_class(logits.sample(n), K) == labels[n];
      return;
    case Kind::margin:
      for (int n = 0; n < logits.n(); ++n) {
        const float* z = logits.sample(n);
        double other = -HUGE_VAL;
        for (int k = 0; k < K; ++k)
          if (k != labels[n]) other = std::max(other, double(z[k]));
        out[n] = double(z[labels[n]]) - other;
      }
      return;
    case Kind::confusion:
      for (int n = 0; n < logits.n(); ++n) out[n] = double(logits.sample(n)[value.b]) - double(logits.sample(n)[value.a]);
      return;
  }
}

std::vector<uint32_t> stratified_sample(const nn::LabeledImages& data, size_t pool, size_t samples, uint64_t seed,
                                        int only_class) {
  const size_t available = std::min(pool, data.count);
  int classes = data.num_classes;
  for (size_t i = 0; i < available; ++i) classes = std::max(classes, int(data.labels[i]) + 1);
  std::vector<std::vector<uint32_t>> by_class(classes);
  for (size_t i = 0; i < available; ++i)
    if (only_class < 0 || data.labels[i] == only_class) by_class[data.labels[i]].push_back(uint32_t(i));
  for (int c = 0; c < classes; ++c) {
    nn::Rng rng = nn::Rng::derive(seed, 0x5A3B1E, uint64_t(c));
    auto& v = by_class[c];
    rng.shuffle(v.data(), v.size());
  }
  std::vector<uint32_t> chosen;
  std::vector<size_t> next(classes, 0);
  for (bool progress = true; progress && chosen.size() < samples;) {
    progress = false;
    for (int c = 0; c < classes && chosen.size() < samples; ++c)
      if (next[c] < by_class[c].size()) {
        chosen.push_back(by_class[c][next[c]++]);
        progress = true;
      }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// CoalitionValue

double CoalitionValue::mean_of(const std::vector<double>& v, size_t count) {
  double s = 0;
  for (size_t i = 0; i < count; ++i) s += v[i];
  return count == 0 ? 0 : s / double(count);
}

CoalitionValue::CoalitionValue(nn::Network& net, int block, const run::GridSpec& spec, const nn::LabeledImages& data,
                               const std::vector<uint32_t>& eval_indices, const ZetaSettings& settings,
                               const std::function<bool(const CoalitionValue&)>& keep_activations)
    : net_(net), data_(data), indices_(eval_indices), block_(block), value_(parse_value_function(settings.value)) {
  if (block < 0 || block >= int(net.blocks().size()))
    throw base::Error("ζ: block index " + std::to_string(block) + " is not a block of the net");
  if (eval_indices.empty()) throw base::Error("--zeta-samples: the evaluation sample is empty");
  const nn::Shape shape = net.blocks()[block].output_shape;
  const int C = shape.c, H = shape.h, W = shape.w;
  grid_ = run::RegionGrid(H, W, C, block_grid(net, block, spec));
  region_units_.assign(grid_.count(), {});
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w)
      for (int c = 0; c < C; ++c) region_units_[grid_.region_of(c, h, w)].push_back((h * W + w) * C + c);

  build_replay(NetView(net));

  // The block's activations of the sample and v_x(all) by dense forwards of kGameChunk images.
  const size_t N = eval_indices.size(), U = block_units();
  baseline_.assign(U, 0.f);  // ablation `zero`; `mean` below, from the activations
  const bool keep = !keep_activations || keep_activations(*this);
  if (!keep && (crossed() || settings.ablation != "zero"))
    throw std::logic_error("CoalitionValue: a game without activations needs ablation zero outside a residual branch");
  if (crossed()) {
    inputs_.resize(int(N), net.channels(), net.height(), net.width());
    for (External& e : external_) e.activations.resize(N * e.units);
  }
  labels_.resize(N);
  if (keep) activations_.resize(N * U);
  image_v_all_.resize(N);
  nn::ShardGroup* ranks = settings.ranks && settings.ranks->ranks() > 1 ? settings.ranks : nullptr;
  nn::Tensor x;
  std::vector<uint8_t> y;
  for (size_t first = 0; first < N; first += kGameChunk) {
    const int count = int(std::min<size_t>(kGameChunk, N - first));
    if (!owns_chunk(ranks, first)) continue;  // another rank's chunk: shared below
    const nn::Tensor& logits = forward_chunk(first, count, x, y);
    for (int i = 0; i < count; ++i)
      if (y[i] >= net.num_outputs())
        throw base::Error("ζ: test image " + std::to_string(eval_indices[first + i]) + " has label " +
                        std::to_string(y[i]) + " but the net has " + std::to_string(net.num_outputs()) + " outputs");
    image_values(logits, y.data(), value_, &image_v_all_[first]);
    std::copy(y.begin(), y.end(), labels_.begin() + long(first));
    const nn::Tensor& a = net.output(block);
    if (keep)
      for (int i = 0; i < count; ++i) to_channels_last(a.sample(i), C, H, W, &activations_[(first + i) * U]);
    if (crossed()) add_external(x, first, count);
  }
  if (ranks) {
    share_chunks(ranks, labels_, N, 1);
    share_chunks(ranks, image_v_all_, N, 1);
    if (keep) share_chunks(ranks, activations_, N, U);
    if (crossed()) {
      std::vector<float> inputs(inputs_.data(), inputs_.data() + inputs_.size());
      share_chunks(ranks, inputs, N, inputs_.shape().per_sample());
      std::copy(inputs.begin(), inputs.end(), inputs_.data());
      for (External& e : external_) share_chunks(ranks, e.activations, N, e.units);
    }
  }

  // The baseline: 0, or each unit's mean over the sample.
  if (settings.ablation == "mean") {
    std::vector<double> sum(U, 0.0);
    for (size_t n = 0; n < N; ++n)
      for (size_t u = 0; u < U; ++u) sum[u] += activations_[n * U + u];
    for (size_t u = 0; u < U; ++u) baseline_[u] = float(sum[u] / double(N));
  }

  // The all-lesioned state: a forward of the baseline, every later block captured by a probe (of
  // the batch's first image).  Outside a residual branch one forward serves every image; inside one,
  // v_x(∅) is each image's own (its shortcut input differs) and the state kept is the first image's.
  const size_t states = replay_.size() + 1 + external_.size();
  empty_z_.assign(states, {});
  empty_a_.assign(states, {});
  empty_a_[0] = aligned(baseline_);
  for (const External& e : external_) empty_a_[size_t(e.state)].assign(e.activation(0), e.activation(0) + e.units);
  nn::Probe capture = [&](const nn::BlockView& view) {
    const size_t k = size_t(view.index - block_);
    const nn::Shape s = view.a.shape();
    empty_z_[k].resize(s.per_sample());
    empty_a_[k].resize(s.per_sample());
    to_channels_last(view.z.data(), s.c, s.h, s.w, empty_z_[k].data());
    to_channels_last(view.a.data(), s.c, s.h, s.w, empty_a_[k].data());
  };
  image_v_none_.resize(N);
  const size_t chunk = crossed() ? kGameChunk : 1;
  for (size_t first = 0; first < (crossed() ? N : 1); first += chunk) {
    const int count = int(std::min(chunk, N - first));
    if (first > 0 && !owns_chunk(ranks, first)) continue;  // chunk 0 (the captured state) on every rank
    nn::Tensor b(count, C, H, W);
    for (int i = 0; i < count; ++i) to_channels_first(baseline_.data(), C, H, W, b.sample(i));
    prepare_forward_from(first, count);
    const nn::Tensor& empty_logits = net.forward_from(block, b, first == 0 ? &capture : nullptr);
    if (crossed())
      image_values(empty_logits, &labels_[first], value_, &image_v_none_[first]);
    else
      for (size_t n = 0; n < N; ++n) image_values(empty_logits, &labels_[n], value_, &image_v_none_[n]);
  }
  if (crossed()) share_chunks(ranks, image_v_none_, N, 1);
}

const nn::Tensor& CoalitionValue::forward_chunk(size_t first, int count, nn::Tensor& x, std::vector<uint8_t>& y) const {
  nn::make_batch(net_, data_, indices_.data() + first, count, nullptr, 0, 0, 0, x, y);
  return net_.forward(x, false);
}

const float* CoalitionValue::chunk_activations(size_t first, int count, std::vector<float>& scratch) const {
  if (keeps_activations()) return activation(first);
  const int C = grid_.channels, H = grid_.height, W = grid_.width;
  const size_t U = block_units();
  nn::Tensor x;
  std::vector<uint8_t> y;
  forward_chunk(first, count, x, y);
  const nn::Tensor& a = net_.output(block_);
  scratch.resize(size_t(count) * U);
  for (int i = 0; i < count; ++i) to_channels_last(a.sample(i), C, H, W, &scratch[size_t(i) * U]);
  return scratch.data();
}

// Inside a residual branch: the chunk's images (as the net read them) and each external block's output.
void CoalitionValue::add_external(const nn::Tensor& x, size_t first, int count) {
  const size_t per_image = x.shape().per_sample();
  std::copy(x.data(), x.data() + size_t(count) * per_image, inputs_.data() + first * per_image);
  for (External& e : external_) {
    const nn::Tensor& a = e.source < 0 ? x : net_.output(e.source);
    const nn::Shape s = a.shape();
    for (int i = 0; i < count; ++i) to_channels_last(a.sample(i), s.c, s.h, s.w, &e.activations[(first + i) * e.units]);
  }
}

void CoalitionValue::prepare_forward_from(size_t first, int count) const {
  if (!crossed()) return;
  const nn::Shape s = inputs_.shape();
  // A member, not a local: the net keeps a pointer to its input, and the forward_from that follows
  // re-runs every layer reading it (an add's shortcut, .proj, .pad of a unit that opens the net).
  nn::Tensor& x = forward_input_;
  x.resize(count, s.c, s.h, s.w);
  std::copy(inputs_.sample(int(first)), inputs_.sample(int(first)) + size_t(count) * s.per_sample(), x.data());
  net_.forward(x, false);
}

// One replayed block per block after the lesioned one; weights re-laid channels-last, batch norm folded.
void CoalitionValue::build_replay(const NetView& view) {
  using Axis = NetView::Axis;
  for (int b = block_ + 1; b < view.size(); ++b) {
    const ImagedBlock& k = view.block(b);
    ReplayBlock r;
    // A block's first input is the lesioned block or one after it; only an add's shortcut may read
    // a block before it (inside a residual branch), which becomes an external state.
    if (k.inputs[0] < block_) throw std::logic_error("CoalitionValue: block " + k.name + " reads a block before the lesioned one");
    r.input_state = k.inputs[0] - block_;
    r.op = k.op;
    r.activation = k.activation;
    r.in_c = k.input.c, r.in_h = k.input.h, r.in_w = k.input.w;
    r.out_c = k.output.c, r.out_h = k.output.h, r.out_w = k.output.w;
    r.kh = k.window.kh, r.kw = k.window.kw;
    switch (k.op) {
      case BlockOp::convolution:  // (C, KH·KW, OC)
        r.weight = view.folded_weights(b, {Axis::in, Axis::tap, Axis::out});
        break;
      case BlockOp::dense:  // (H·W, C, OUT): the taps of a dense block are the input positions
        r.weight = view.folded_weights(b, {Axis::tap, Axis::in, Axis::out});
        break;
      case BlockOp::max_pool:
      case BlockOp::average_pool:
        break;
      case BlockOp::residual_add: {
        r.shortcut_state = k.inputs[1] - block_;
        if (k.inputs[1] < block_) {
          const int R = view.size() - 1 - block_;  // replayed blocks: states 0 .. R, then the external ones
          auto e = std::find_if(external_.begin(), external_.end(), [&](const External& x) { return x.source == k.inputs[1]; });
          if (e == external_.end()) {
            External x;
            x.source = k.inputs[1];
            x.state = R + 1 + int(external_.size());
            x.channels = k.shortcut_input.c;
            x.units = k.shortcut_input.per_sample();
            e = external_.insert(external_.end(), std::move(x));
          }
          r.shortcut_state = e->state;
        }
        r.shortcut = k.shortcut;
        r.pad_front = k.pad_front;
        if (k.shortcut == Shortcut::projection) r.weight = view.shortcut_weights(b);  // (IC, OC)
        const ReceptiveField field = view.shortcut_field(b);  // 1×1: one tap, each input reaches ≤ 1 output
        r.shortcut_position.assign(size_t(field.input_positions), -1);
        for (int q = 0; q < field.positions; ++q)
          if (field.at(0, q) >= 0) r.shortcut_position[size_t(field.at(0, q))] = q;
        break;
      }
    }
    if (k.op != BlockOp::dense) {
      const ReceptiveField field = view.receptive_field(b);
      field.fan_out(r.fan_begin, r.fan_position, r.fan_tap);
      if (k.op == BlockOp::max_pool) field.windows(r.window_begin, r.window);
    }
    replay_.push_back(std::move(r));
  }
}

void CoalitionValue::lesioned_batch(size_t first, int count, const std::vector<bool>& coalition, nn::Tensor& a) const {
  const int C = grid_.channels, H = grid_.height, W = grid_.width;
  const size_t U = block_units();
  a.resize(count, C, H, W);
  std::vector<float> hwc(U);
  for (int i = 0; i < count; ++i) {
    const float* act = activation(first + size_t(i));
    hwc = baseline_;
    for (int g = 0; g < regions(); ++g)
      if (coalition[g])
        for (int u : region_units_[g]) hwc[u] = act[u];
    to_channels_first(hwc.data(), C, H, W, a.sample(i));
  }
}

double CoalitionValue::value(const std::vector<bool>& coalition) {
  if (int(coalition.size()) != regions())
    throw base::Error("ζ: a coalition of " + std::to_string(coalition.size()) + " flags for " +
                    std::to_string(regions()) + " regions");
  nn::Tensor a;
  std::vector<double> v(images());
  for (size_t first = 0; first < images(); first += kGameChunk) {
    const int count = int(std::min<size_t>(kGameChunk, images() - first));
    lesioned_batch(first, count, coalition, a);
    prepare_forward_from(first, count);
    image_values(net_.forward_from(block_, a), &labels_[first], value_, &v[first]);
  }
  return mean_of(v, v.size());
}

}  // namespace imaging
