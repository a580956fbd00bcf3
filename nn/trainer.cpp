#include "nn/trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "base/error.h"
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

Evaluation evaluate(Network& net, const LabeledImages& data, int batch) {
  if (batch < 1) throw base::Error("evaluation batch " + std::to_string(batch) + ": expected ≥ 1");
  Evaluation ev;
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
}  // namespace

Trainer::Trainer(Network& net, const TrainConfig& cfg, const LabeledImages& train)
    : net_(net),
      cfg_(cfg),
      train_(train),
      optimizer_(net, cfg.optim),
      steps_per_epoch_(steps_per_epoch_of(cfg, train)),
      schedule_(cfg.schedule, cfg.optim.lr, steps_per_epoch_, steps_per_epoch_ * cfg.epochs) {
  if (train.num_classes > net.num_outputs())
    throw base::Error("the data has " + std::to_string(train.num_classes) + " classes but the net's last linear has " +
                std::to_string(net.num_outputs()) + " outputs");
}

EpochStats Trainer::train_epoch(int epoch, const StepCallback& on_step) {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  EpochStats st;
  st.epoch = epoch;
  // The epoch's order: Fisher–Yates from the seed and the epoch number.
  std::vector<uint32_t> order(train_.count);
  std::iota(order.begin(), order.end(), 0u);
  Rng::derive(cfg_.seed, 0x5EED, uint64_t(epoch)).shuffle(order.data(), order.size());

  double loss_sum = 0;
  long hits = 0, done = 0;
  for (long s = 0; s < steps_per_epoch_; ++s) {
    long start = s * cfg_.batch;
    int count = int(std::min<long>(cfg_.batch, long(train_.count) - start));
    make_batch(net_, train_, order.data() + start, count, &cfg_.augment, cfg_.seed, epoch, start, x_, y_);
    const Tensor& logits = net_.forward(x_, true);
    int correct = 0;
    double loss = softmax_cross_entropy(logits, y_.data(), &dlogits_, &correct);
    if (!std::isfinite(loss))
      throw base::Error("training diverged: loss is " + std::to_string(loss) + " at epoch " + std::to_string(epoch) +
                  ", step " + std::to_string(s + 1) + " (try a lower --lr)");
    net_.zero_grad();
    net_.backward(dlogits_);
    const long t = long(epoch - 1) * steps_per_epoch_ + s;
    st.learning_rate = schedule_.rate(t);
    optimizer_.step(st.learning_rate);
    loss_sum += loss * count;
    hits += correct;
    done += count;
    if (on_step) on_step(s + 1, steps_per_epoch_, loss_sum / done, done);
  }
  st.train_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  st.train_loss = loss_sum / done;
  st.train_acc = double(hits) / done;
  st.train_images_per_s = done / st.train_seconds;
  return st;
}

}  // namespace nn
