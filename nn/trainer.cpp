#include "nn/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "base/format.h"
#include "nn/loss.h"

namespace nn {

void make_batch(const Network& net, const LabeledImages& data, const uint32_t* idx, int count, const Augment* augment,
                uint64_t seed, int epoch, long first_position, Tensor& x, std::vector<uint8_t>& y) {
  const int C = data.channels, H = data.height, W = data.width;
  x.resize(count, C, H, W);
  y.resize(count);
  // lut[c][p] = (p/255 − mean[c]) / std[c]: one table lookup per pixel
  std::vector<float> lut(size_t(C) * 256);
  for (int c = 0; c < C; ++c)
    for (int p = 0; p < 256; ++p) lut[c * 256 + p] = (p / 255.f - net.input_mean[c]) / net.input_std[c];
  const bool aug = augment && augment->enabled;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < count; ++i) {
    const uint8_t* img = data.image(idx[i]);
    y[i] = data.labels[idx[i]];
    int dy = 0, dx = 0;
    bool flip = false;
    if (aug) {
      Rng r = Rng::derive(seed, uint64_t(epoch), uint64_t(first_position + i));
      int pad = augment->crop_padding;
      dy = int(r.below(2 * pad + 1)) - pad;
      dx = int(r.below(2 * pad + 1)) - pad;
      flip = augment->flip && r.uniform() < 0.5;
    }
    for (int c = 0; c < C; ++c) {
      const float* table = &lut[c * 256];
      float* out = x.data() + (size_t(i) * C + c) * H * W;
      const uint8_t* plane = img + size_t(c) * H * W;
      for (int yy = 0; yy < H; ++yy)
        for (int xx = 0; xx < W; ++xx) {
          int sy = yy + dy, sx = (flip ? W - 1 - xx : xx) + dx;
          uint8_t p = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? plane[sy * W + sx] : 0;
          out[yy * W + xx] = table[p];
        }
    }
  }
}

Evaluation evaluate(Network& net, const LabeledImages& data, int batch, EvaluationRecord* record) {
  if (batch < 1) throw base::Error("evaluation batch " + std::to_string(batch) + ": expected ≥ 1");
  Evaluation ev;
  if (record) {
    record->input.clear();
    record->logits.clear();
    record->input.reserve(data.count * size_t(net.channels()) * size_t(net.height()) * size_t(net.width()));
    record->logits.reserve(data.count * size_t(net.num_outputs()));
  }
  Tensor x;
  std::vector<uint8_t> y;
  std::vector<uint32_t> idx(data.count);
  std::iota(idx.begin(), idx.end(), 0u);
  double loss_sum = 0;
  long hits = 0;
  for (size_t start = 0; start < data.count; start += batch) {
    int count = int(std::min<size_t>(batch, data.count - start));
    make_batch(net, data, idx.data() + start, count, nullptr, 0, 0, 0, x, y);
    const Tensor& logits = net.forward(x, false);
    if (record) {
      record->input.insert(record->input.end(), x.data(), x.data() + x.size());
      record->logits.insert(record->logits.end(), logits.data(), logits.data() + logits.size());
    }
    int correct = 0;
    loss_sum += softmax_cross_entropy(logits, y.data(), nullptr, &correct) * count;
    hits += correct;
  }
  ev.count = data.count;
  ev.loss = data.count ? loss_sum / data.count : 0;
  ev.accuracy = data.count ? double(hits) / data.count : 0;
  return ev;
}

namespace {
long steps_per_epoch_of(const TrainConfig& cfg, const LabeledImages& train) {
  if (cfg.batch < 1) throw base::Error("--batch " + std::to_string(cfg.batch) + ": expected a positive batch size");
  if (train.count == 0) throw base::Error("training set is empty");
  return long((train.count + cfg.batch - 1) / cfg.batch);
}

// A bn whose input is 1×1 per channel, in a forward of one image, normalises one value per channel:
// x̂ = 0, so it outputs β and passes no gradient (PyTorch refuses such a batch).  Refused before the
// first step, for every forward an epoch makes: full batches, the short last one, each cut into --shards.
void refuse_single_value_batch_norm(const Network& net, const TrainConfig& cfg, size_t images) {
  const size_t batch = size_t(cfg.batch);
  std::vector<std::pair<size_t, const char*>> sizes;  // the batch sizes an epoch has
  if (images >= batch) sizes.push_back({batch, "a batch"});
  if (images % batch != 0) sizes.push_back({images % batch, "the short last batch"});
  for (const Block& b : net.blocks()) {
    if (b.batchnorm < 0) continue;
    const Shape in = net.layer(size_t(b.batchnorm)).input_shape;
    if (in.h * in.w != 1) continue;
    for (const auto& [size, which] : sizes)
      for (int s = 0; s < cfg.shards; ++s)
        if (shard_range(int(size), cfg.shards, s).count() == 1)
          throw base::Error("the bn of block " + b.name + " would normalise one value per channel (its input is " +
                            std::to_string(in.c) + "x1x1) in " + which + " of " + std::to_string(size) +
                            (cfg.shards > 1 ? " images cut into --shards " + std::to_string(cfg.shards) : " image") +
                            ": its batch statistics would be undefined; expected --batch, --shards or the number of "
                            "training images (" + std::to_string(images) + ") to leave at least 2 images in every forward");
  }
}

}  // namespace

Trainer::Trainer(Network& net, const TrainConfig& cfg, const LabeledImages& train, ShardGroup* group)
    : net_(net),
      cfg_(cfg),
      train_(train),
      optimizer_(net, cfg.optim),
      steps_per_epoch_(steps_per_epoch_of(cfg, train)),
      schedule_(cfg.schedule, cfg.optim.lr, steps_per_epoch_, steps_per_epoch_ * cfg.epochs),
      group_(group ? group : &serial_) {
  if (cfg.shards < 1 || cfg.shards > cfg.batch)
    throw base::Error("--shards " + std::to_string(cfg.shards) + ": expected 1 … --batch (" +
                      std::to_string(cfg.batch) + "): every shard of a full batch needs an image");
  if (group_->ranks() > cfg.shards)
    throw base::Error(std::to_string(group_->ranks()) + " ranks but --shards " + std::to_string(cfg.shards) +
                      ": every rank needs a shard (run at most " + std::to_string(cfg.shards) +
                      (cfg.shards == 1 ? " rank" : " ranks") + ", or give more --shards)");
  refuse_single_value_batch_norm(net, cfg, train.count);
  for (const NamedParam& p : net.named_params())
    if (!p.param->trainable) buffers_.push_back(p.param);
  if (train.num_classes > net.num_outputs())
    throw base::Error("the data has " + std::to_string(train.num_classes) + " classes but the net's last linear has " +
                std::to_string(net.num_outputs()) + " outputs");
  std::vector<const Param*> learnable;  // the optimiser's order (nn::StepSums)
  for (const NamedParam& p : net.named_params())
    if (p.param->trainable) learnable.push_back(p.param);
  for (const Block& b : net.blocks()) {
    block_params_.emplace_back();
    for (int i = b.first; i <= b.last; ++i)
      for (Param* p : net.layer(size_t(i)).params())
        if (p->trainable)
          block_params_.back().push_back(size_t(std::find(learnable.begin(), learnable.end(), p) - learnable.begin()));
  }
}

void Trainer::measure(const StepProbe& probe, StepInfo& info) const {
  info.gradient_norms.clear();
  info.update_ratios.clear();
  for (const std::vector<size_t>& params : block_params_) {
    double grad = 0, change = 0, before = 0;
    for (size_t k : params) {
      grad += step_sums_.grad_sq[k];
      change += step_sums_.change_sq[k];
      before += step_sums_.weight_sq[k];
    }
    if (probe.gradient_norms) info.gradient_norms.push_back(std::sqrt(grad));
    if (probe.update_ratios) info.update_ratios.push_back(before > 0 ? std::sqrt(change / before) : 0.0);
  }
}

EpochStats Trainer::train_epoch(int epoch, const StepProbe* probe) {
  TrainPosition position;
  position.epoch = epoch;
  train(position, probe, nullptr);
  return stats(position);
}

bool Trainer::train(TrainPosition& pos, const StepProbe* probe, const std::function<bool()>& stop) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const int epoch = pos.epoch;
  // The epoch's order: Fisher–Yates from the seed and the epoch number.
  std::vector<uint32_t> order(train_.count);
  std::iota(order.begin(), order.end(), 0u);
  Rng::derive(cfg_.seed, 0x5EED, uint64_t(epoch)).shuffle(order.data(), order.size());

  const Probe* forward_probe = probe && probe->forward ? &probe->forward : nullptr;
  bool stopped = false;
  while (pos.step < steps_per_epoch_ && !stopped) {
    const long s = pos.step;
    const long start = s * cfg_.batch;
    const int count = int(std::min<long>(cfg_.batch, long(train_.count) - start));
    make_batch(net_, train_, order.data() + start, count, &cfg_.augment, cfg_.seed, epoch, start, x_, y_);
    const long t = long(epoch - 1) * steps_per_epoch_ + s;
    BlockEdit edit;
    if (intervention_) {
      if (intervention_->batch) intervention_->batch(t + 1, x_, y_);
      if (intervention_->block) edit = [this, t](int b, Tensor& a) { intervention_->block(t + 1, b, a); };
      cut_.clear();
      if (intervention_->cut) {
        cut_.assign(net_.blocks().size(), false);
        bool any = false;
        for (size_t b = 0; b < cut_.size(); ++b) any |= bool(cut_[b] = intervention_->cut(t + 1, int(b)));
        if (!any) cut_.clear();
      }
    }
    int correct = 0;
    double loss;
    if (cfg_.shards > 1) {
      loss = sharded_step(t, count, forward_probe, probe ? probe->reads : ProbeReads{}, edit ? &edit : nullptr, &correct);
    } else {
      const Tensor& logits = net_.forward(x_, true, forward_probe, edit ? &edit : nullptr, probe ? probe->reads : ProbeReads{});
      loss = softmax_cross_entropy(logits, y_.data(), &dlogits_, &correct);
    }
    if (!std::isfinite(loss))
      throw base::Error("training diverged: loss is " + base::shortest(loss, false) + " at epoch " + std::to_string(epoch) +
                  ", step " + std::to_string(s + 1) + " (try a lower --lr)");
    if (cfg_.shards == 1) {
      net_.zero_grad();
      net_.backward(dlogits_, true, -1, false, cut_blocks());  // only the parameter gradients are read
    }
    double rate = schedule_.rate(t);
    if (intervention_ && intervention_->rate) rate = intervention_->rate(t + 1, rate);
    const bool sums = probe && (probe->gradient_norms || probe->update_ratios);
    optimizer_.step(rate, sums ? &step_sums_ : nullptr);
    pos.loss_sum += loss * count;
    pos.correct += correct;
    pos.images += count;
    pos.step = s + 1;
    if (probe) {
      if (sums) measure(*probe, info_);
      info_.epoch = epoch;
      info_.step = s + 1;
      info_.global_step = t + 1;
      info_.steps_per_epoch = steps_per_epoch_;
      info_.images = count;
      info_.epoch_images = pos.images;
      info_.loss = loss;
      info_.running_loss = pos.loss_sum / pos.images;
      info_.learning_rate = rate;
      if (probe->after_step) probe->after_step(info_);
    }
    stopped = stop && group_->any(stop());
  }
  pos.train_seconds += std::chrono::duration<double>(clock::now() - t0).count();
  return pos.step == steps_per_epoch_;
}

// The layout of a shard's partial (nn/shards.h): every learnable tensor's gradient in named order,
// then every running statistic × n_s/n, then n_s·loss_s and the shard's hits.
double Trainer::sharded_step(long t, int count, const Probe* forward_probe, ProbeReads reads, const BlockEdit* edit,
                             int* correct) {
  std::vector<Param*> learnable;
  for (const NamedParam& p : net_.named_params())
    if (p.param->trainable) learnable.push_back(p.param);
  size_t length = 2;
  for (const Param* p : learnable) length += p->value.size();
  for (const Param* p : buffers_) length += p->value.size();
  buffers_before_.clear();
  for (const Param* p : buffers_) buffers_before_.insert(buffers_before_.end(), p->value.data(), p->value.data() + p->value.size());

  const int S = cfg_.shards;
  const size_t image = x_.size() / size_t(count);
  const Rng own_stream = net_.rng();  // shards draw from their own streams; the net's is left as it was
  size_t kept = 0;
  for (int shard = 0; shard < S; ++shard) {
    if (!group_->owns(shard)) continue;
    if (mine_.size() <= kept) mine_.emplace_back();
    std::vector<double>& partial = mine_[kept++];
    partial.assign(length, 0.0);
    const ShardRange r = shard_range(count, S, shard);
    if (r.count() == 0) continue;  // a short last batch: an empty shard adds nothing
    // every shard starts from the running statistics of before the step
    size_t at = 0;
    for (Param* p : buffers_)
      for (size_t i = 0; i < p->value.size(); ++i) p->value[i] = buffers_before_[at++];
    shard_x_.resize(r.count(), x_.c(), x_.h(), x_.w());
    std::copy(x_.data() + size_t(r.first) * image, x_.data() + size_t(r.end) * image, shard_x_.data());
    shard_y_.assign(y_.begin() + r.first, y_.begin() + r.end);
    net_.rng() = Rng::derive(cfg_.seed, kShardDropoutTag + uint64_t(t), uint64_t(shard));
    const Tensor& logits = net_.forward(shard_x_, true, forward_probe, edit, reads);
    int hits = 0;
    const double loss = softmax_cross_entropy(logits, shard_y_.data(), &dlogits_, &hits);
    const double weight = double(r.count()) / double(count);
    for (size_t i = 0; i < dlogits_.size(); ++i) dlogits_[i] = float(double(dlogits_[i]) * weight);
    net_.zero_grad();
    net_.backward(dlogits_, true, -1, false, cut_blocks());  // only the parameter gradients are read
    at = 0;
    for (const Param* p : learnable)
      for (size_t i = 0; i < p->grad.size(); ++i) partial[at++] = p->grad[i];
    for (const Param* p : buffers_)
      for (size_t i = 0; i < p->value.size(); ++i) partial[at++] = double(p->value[i]) * weight;
    partial[at++] = loss * r.count();
    partial[at++] = hits;
  }
  mine_.resize(kept);
  net_.rng() = own_stream;
  group_->sum_in_shard_order(S, length, mine_, total_);
  size_t at = 0;
  for (Param* p : learnable)
    for (size_t i = 0; i < p->grad.size(); ++i) p->grad[i] = float(total_[at++]);
  for (Param* p : buffers_)
    for (size_t i = 0; i < p->value.size(); ++i) p->value[i] = float(total_[at++]);
  const double loss_sum = total_[at++];
  *correct = int(total_[at++]);
  return loss_sum / count;
}

EpochStats Trainer::stats(const TrainPosition& pos) const {
  EpochStats st;
  st.epoch = pos.epoch;
  if (pos.step == 0) return st;
  st.learning_rate = schedule_.rate(long(pos.epoch - 1) * steps_per_epoch_ + pos.step - 1);
  st.train_loss = pos.loss_sum / pos.images;
  st.train_acc = double(pos.correct) / pos.images;
  st.train_seconds = pos.train_seconds;
  st.train_images_per_s = pos.images / pos.train_seconds;
  return st;
}

}  // namespace nn
