#include "nn/layers.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "nn/error.h"

namespace nn {

namespace {

// Images per im2col chunk: bounds the column workspace whatever the batch — to ~8M floats (32 MB) in
// training, where one chunk per batch lets backward reuse the columns, and to ~1M floats (4 MB) in
// evaluation, where imaging streams large batches and memory matters more than GEMM width.
int chunk_images(size_t col_floats_per_image, int n, bool training) {
  size_t limit = training ? (8u << 20) : (1u << 20);
  int chunk = int(std::max<size_t>(1, limit / std::max<size_t>(1, col_floats_per_image)));
  return std::min(chunk, n);
}

void he_normal(Tensor& w, int fan_in, Rng& rng) {
  double sd = std::sqrt(2.0 / fan_in);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(sd * rng.normal());
}

void make_param(Param& p, const char* name, Shape s, bool trainable = true) {
  p.name = name;
  p.trainable = trainable;
  p.value.resize(s);
  p.value.zero();
  if (trainable) {
    p.grad.resize(s);
    p.grad.zero();
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Conv2d

Conv2d::Conv2d(int out_channels_, int kh_, int kw_, int stride_, int pad_, bool bias_)
    : out_channels(out_channels_), kh(kh_), kw(kw_), stride(stride_), pad(pad_), has_bias(bias_) {}

std::string Conv2d::token() const {
  std::string t = "conv" + std::to_string(kh) + "x" + std::to_string(kw) + ":" + std::to_string(out_channels);
  if (stride != 1) t += ":s" + std::to_string(stride);
  if (pad != kh / 2 || pad != kw / 2) t += ":p" + std::to_string(pad);
  return t;
}

Shape Conv2d::setup(Shape in) {
  int oh = (in.h + 2 * pad - kh) / stride + 1, ow = (in.w + 2 * pad - kw) / stride + 1;
  if (in.h + 2 * pad < kh || in.w + 2 * pad < kw || oh < 1 || ow < 1)
    throw Error("spec token '" + token() + "': a " + std::to_string(kh) + "x" + std::to_string(kw) +
                " kernel does not fit a " + std::to_string(in.h) + "x" + std::to_string(in.w) + " map");
  input_shape = Shape{1, in.c, in.h, in.w};
  output_shape = Shape{1, out_channels, oh, ow};
  make_param(weight, "weight", Shape{out_channels, in.c, kh, kw});
  if (has_bias) make_param(bias, "bias", Shape{out_channels, 1, 1, 1});
  return output_shape;
}

std::vector<Param*> Conv2d::params() {
  if (has_bias) return {&weight, &bias};
  return {&weight};
}

void Conv2d::init(Rng& rng) {
  he_normal(weight.value, input_shape.c * kh * kw, rng);
  if (has_bias) bias.value.zero();
}

// col (K = C·KH·KW, count·OH·OW): col[k][i·OHW + oh·OW + ow] = in[n0+i][c][oh·S−P+kh'][ow·S−P+kw'] (0 outside)
static void im2col(const Tensor& in, int n0, int count, int kh, int kw, int stride, int pad, int oh, int ow,
                   float* col) {
  const int C = in.c(), H = in.h(), W = in.w();
  const size_t ohw = size_t(oh) * ow, row = size_t(count) * ohw;
  const int K = C * kh * kw;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < K; ++k) {
    int c = k / (kh * kw), r = k % (kh * kw), dy = r / kw, dx = r % kw;
    float* dst = col + size_t(k) * row;
    for (int i = 0; i < count; ++i) {
      const float* src = in.data() + (size_t(n0 + i) * C + c) * H * W;
      for (int y = 0; y < oh; ++y, dst += ow) {
        int iy = y * stride - pad + dy;
        if (iy < 0 || iy >= H) {
          std::memset(dst, 0, sizeof(float) * ow);
          continue;
        }
        const float* srow = src + size_t(iy) * W;
        for (int x = 0; x < ow; ++x) {
          int ix = x * stride - pad + dx;
          dst[x] = (ix >= 0 && ix < W) ? srow[ix] : 0.f;
        }
      }
    }
  }
}

// The adjoint of im2col: din[n0+i][c][iy][ix] += col[k][...]; each channel is owned by one thread.
static void col2im(const float* col, int n0, int count, int kh, int kw, int stride, int pad, int oh, int ow,
                   Tensor& din) {
  const int C = din.c(), H = din.h(), W = din.w();
  const size_t ohw = size_t(oh) * ow, row = size_t(count) * ohw;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    for (int dy = 0; dy < kh; ++dy)
      for (int dx = 0; dx < kw; ++dx) {
        const float* src = col + size_t((c * kh + dy) * kw + dx) * row;
        for (int i = 0; i < count; ++i) {
          float* dst = din.data() + (size_t(n0 + i) * C + c) * H * W;
          for (int y = 0; y < oh; ++y, src += ow) {
            int iy = y * stride - pad + dy;
            if (iy < 0 || iy >= H) continue;
            float* drow = dst + size_t(iy) * W;
            for (int x = 0; x < ow; ++x) {
              int ix = x * stride - pad + dx;
              if (ix >= 0 && ix < W) drow[ix] += src[x];
            }
          }
        }
      }
  }
}

void Conv2d::forward(const Tensor& in, Tensor& out, bool training, Rng&) {
  const int N = in.n(), OC = out_channels, OH = output_shape.h, OW = output_shape.w;
  const int K = input_shape.c * kh * kw;
  const size_t ohw = size_t(OH) * OW;
  out.resize(N, OC, OH, OW);
  const int chunk = forward_chunk_ = chunk_images(size_t(K) * ohw, N, training);
  col_.resize(1, 1, 1, int(size_t(K) * chunk * ohw));
  tmp_.resize(1, 1, 1, int(size_t(OC) * chunk * ohw));
  for (int n0 = 0; n0 < N; n0 += chunk) {
    int count = std::min(chunk, N - n0);
    int cols = int(count * ohw);
    im2col(in, n0, count, kh, kw, stride, pad, OH, OW, col_.data());
    cols_hold_batch_ = count == N;  // backward can reuse them instead of rebuilding
    // tmp (OC, count·OHW) = weight (OC, K) · col (K, count·OHW)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, cols, K, 1.f, weight.value.data(), K, col_.data(),
                cols, 0.f, tmp_.data(), cols);
    // (OC, count, OHW) → (count, OC, OHW), adding the bias
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < count; ++i)
      for (int oc = 0; oc < OC; ++oc) {
        const float* src = tmp_.data() + size_t(oc) * cols + size_t(i) * ohw;
        float* dst = out.data() + (size_t(n0 + i) * OC + oc) * ohw;
        float b = has_bias ? bias.value[oc] : 0.f;
        for (size_t p = 0; p < ohw; ++p) dst[p] = src[p] + b;
      }
  }
}

void Conv2d::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool param_grads) {
  const int N = in.n(), OC = out_channels, OH = output_shape.h, OW = output_shape.w;
  const int K = input_shape.c * kh * kw;
  const size_t ohw = size_t(OH) * OW;
  if (din) {
    din->resize(in.shape());
    din->zero();
  }
  const int chunk = std::min(forward_chunk_, N);
  col_.resize(1, 1, 1, int(size_t(K) * chunk * ohw));
  tmp_.resize(1, 1, 1, int(size_t(OC) * chunk * ohw));
  for (int n0 = 0; n0 < N; n0 += chunk) {
    int count = std::min(chunk, N - n0);
    int cols = int(count * ohw);
    // dout_t (OC, count·OHW) from dout (count, OC, OHW)
#pragma omp parallel for collapse(2) schedule(static)
    for (int oc = 0; oc < OC; ++oc)
      for (int i = 0; i < count; ++i)
        std::memcpy(tmp_.data() + size_t(oc) * cols + size_t(i) * ohw, dout.data() + (size_t(n0 + i) * OC + oc) * ohw,
                    sizeof(float) * ohw);
    if (param_grads) {
      if (!(cols_hold_batch_ && count == N)) im2col(in, n0, count, kh, kw, stride, pad, OH, OW, col_.data());
      // dweight (OC, K) += dout_t (OC, count·OHW) · colᵀ
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, K, cols, 1.f, tmp_.data(), cols, col_.data(), cols,
                  1.f, weight.grad.data(), K);
      if (has_bias)
        for (int oc = 0; oc < OC; ++oc) {
          const float* src = tmp_.data() + size_t(oc) * cols;
          double s = 0;
          for (int p = 0; p < cols; ++p) s += src[p];
          bias.grad[oc] += float(s);
        }
    }
    if (din) {
      // dcol (K, count·OHW) = weightᵀ (K, OC) · dout_t, then scattered back to the input
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, cols, OC, 1.f, weight.value.data(), K, tmp_.data(),
                  cols, 0.f, col_.data(), cols);
      cols_hold_batch_ = false;  // col_ now holds dcol
      col2im(col_.data(), n0, count, kh, kw, stride, pad, OH, OW, *din);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Linear

Linear::Linear(int out_features_) : out_features(out_features_) {}

Shape Linear::setup(Shape in) {
  in_features = int(in.per_sample());
  input_shape = Shape{1, in.c, in.h, in.w};
  output_shape = Shape{1, out_features, 1, 1};
  make_param(weight, "weight", Shape{out_features, in_features, 1, 1});
  make_param(bias, "bias", Shape{out_features, 1, 1, 1});
  return output_shape;
}

void Linear::init(Rng& rng) {
  he_normal(weight.value, in_features, rng);
  bias.value.zero();
}

void Linear::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  const int N = in.n();
  out.resize(N, out_features, 1, 1);
  // out (N, OUT) = in (N, IN) · weightᵀ (IN, OUT) + bias
  for (int i = 0; i < N; ++i) std::memcpy(out.sample(i), bias.value.data(), sizeof(float) * out_features);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out_features, in_features, 1.f, in.data(), in_features,
              weight.value.data(), in_features, 1.f, out.data(), out_features);
}

void Linear::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool param_grads) {
  const int N = in.n();
  if (param_grads) {
    // dweight (OUT, IN) += doutᵀ (OUT, N) · in (N, IN)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_features, in_features, N, 1.f, dout.data(),
                out_features, in.data(), in_features, 1.f, weight.grad.data(), in_features);
    for (int o = 0; o < out_features; ++o) {
      double s = 0;
      for (int i = 0; i < N; ++i) s += dout[size_t(i) * out_features + o];
      bias.grad[o] += float(s);
    }
  }
  if (din) {
    din->resize(in.shape());
    // din (N, IN) = dout (N, OUT) · weight (OUT, IN)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in_features, out_features, 1.f, dout.data(),
                out_features, weight.value.data(), in_features, 0.f, din->data(), in_features);
  }
}

// ---------------------------------------------------------------------------------------------
// ReLU

void ReLU::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  out.resize(in.shape());
  const float* x = in.data();
  float* y = out.data();
  const long n = long(in.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) y[i] = x[i] < 0.f ? 0.f : x[i];  // a NaN passes through, as in PyTorch
}

void ReLU::backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool) {
  if (!din) return;
  din->resize(in.shape());
  const float* y = out.data();
  const float* g = dout.data();
  float* d = din->data();
  const long n = long(in.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) d[i] = y[i] > 0.f ? g[i] : 0.f;
}

// ---------------------------------------------------------------------------------------------
// Pool2d

Pool2d::Pool2d(Mode mode_, int k_, int stride_) : mode(mode_), k(k_), stride(stride_) {}

std::string Pool2d::token() const {
  std::string t = (mode == Max ? "maxpool" : "avgpool") + std::to_string(k);
  if (stride != k) t += ":s" + std::to_string(stride);
  return t;
}

Shape Pool2d::setup(Shape in) {
  if (in.h < k || in.w < k)
    throw Error("spec token '" + token() + "': cannot pool a " + std::to_string(in.h) + "x" + std::to_string(in.w) +
                " map with a " + std::to_string(k) + "x" + std::to_string(k) + " window");
  input_shape = Shape{1, in.c, in.h, in.w};
  output_shape = Shape{1, in.c, (in.h - k) / stride + 1, (in.w - k) / stride + 1};
  return output_shape;
}

// One plane of max pooling: the first maximum in row-major order wins; a NaN wins (it propagates, as in
// PyTorch).  Branch-free selects: on real activations the comparisons are unpredictable.
template <int KFIXED>
static void max_pool_plane(const float* src, int W, int OH, int OW, int k_runtime, int S, float* dst, int* arg) {
  const int K = KFIXED > 0 ? KFIXED : k_runtime;
  for (int y = 0; y < OH; ++y)
    for (int x = 0; x < OW; ++x) {
      const int y0 = y * S, x0 = x * S;
      int best = y0 * W + x0;
      float m = src[best];
      for (int dy = 0; dy < K; ++dy)
        for (int dx = 0; dx < K; ++dx) {
          const int idx = (y0 + dy) * W + x0 + dx;
          const float v = src[idx];
          const bool take = v > m || (v != v && m == m);
          m = take ? v : m;
          best = take ? idx : best;
        }
      dst[y * OW + x] = m;
      arg[y * OW + x] = best;
    }
}

void Pool2d::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w(), OH = output_shape.h, OW = output_shape.w;
  const int K = k, S = stride;
  const bool is_max = mode == Max;
  out.resize(N, C, OH, OW);
  if (is_max) argmax_.resize(out.size());
  const float inv = 1.f / float(K * K);
  const long planes = long(N) * C;
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < planes; ++plane) {
    const float* src = in.data() + size_t(plane) * H * W;
    float* dst = out.data() + size_t(plane) * OH * OW;
    if (is_max) {
      int* arg = argmax_.data() + size_t(plane) * OH * OW;
      if (K == 2)
        max_pool_plane<2>(src, W, OH, OW, K, S, dst, arg);
      else
        max_pool_plane<0>(src, W, OH, OW, K, S, dst, arg);
      continue;
    }
    for (int y = 0; y < OH; ++y)
      for (int x = 0; x < OW; ++x) {
        float sum = 0.f;
        for (int dy = 0; dy < K; ++dy)
          for (int dx = 0; dx < K; ++dx) sum += src[(y * S + dy) * W + x * S + dx];
        dst[y * OW + x] = sum * inv;
      }
  }
}

void Pool2d::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool) {
  if (!din) return;
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w(), OH = output_shape.h, OW = output_shape.w;
  din->resize(in.shape());
  din->zero();
  const float inv = 1.f / float(k * k);
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < long(N) * C; ++plane) {
    const float* g = dout.data() + size_t(plane) * OH * OW;
    float* d = din->data() + size_t(plane) * H * W;
    for (int y = 0; y < OH; ++y)
      for (int x = 0; x < OW; ++x) {
        if (mode == Max) {
          d[argmax_[size_t(plane) * OH * OW + y * OW + x]] += g[y * OW + x];
        } else {
          for (int dy = 0; dy < k; ++dy)
            for (int dx = 0; dx < k; ++dx) d[(y * stride + dy) * W + x * stride + dx] += g[y * OW + x] * inv;
        }
      }
  }
}

// ---------------------------------------------------------------------------------------------
// GlobalAvgPool

void GlobalAvgPool::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  const int N = in.n(), C = in.c();
  const size_t hw = size_t(in.h()) * in.w();
  out.resize(N, C, 1, 1);
  for (long plane = 0; plane < long(N) * C; ++plane) {
    const float* src = in.data() + plane * hw;
    float s = 0.f;
    for (size_t i = 0; i < hw; ++i) s += src[i];
    out[plane] = s / float(hw);
  }
}

void GlobalAvgPool::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool) {
  if (!din) return;
  din->resize(in.shape());
  const size_t hw = size_t(in.h()) * in.w();
  for (long plane = 0; plane < long(in.n()) * in.c(); ++plane) {
    float g = dout[plane] / float(hw);
    float* d = din->data() + plane * hw;
    for (size_t i = 0; i < hw; ++i) d[i] = g;
  }
}

// ---------------------------------------------------------------------------------------------
// BatchNorm2d

Shape BatchNorm2d::setup(Shape in) {
  input_shape = output_shape = Shape{1, in.c, in.h, in.w};
  Shape s{in.c, 1, 1, 1};
  make_param(weight, "weight", s);
  make_param(bias, "bias", s);
  make_param(running_mean, "running_mean", s, false);
  make_param(running_var, "running_var", s, false);
  return output_shape;
}

void BatchNorm2d::init(Rng&) {
  weight.value.fill(1.f);
  bias.value.zero();
  running_mean.value.zero();
  running_var.value.fill(1.f);
}

void BatchNorm2d::eval_affine(std::vector<float>& scale, std::vector<float>& shift) const {
  const int C = input_shape.c;
  scale.resize(C);
  shift.resize(C);
  for (int c = 0; c < C; ++c) {
    scale[c] = weight.value[c] / std::sqrt(running_var.value[c] + eps);
    shift[c] = bias.value[c] - running_mean.value[c] * scale[c];
  }
}

void BatchNorm2d::forward(const Tensor& in, Tensor& out, bool training, Rng&) {
  const int N = in.n(), C = in.c();
  const size_t hw = size_t(in.h()) * in.w();
  out.resize(in.shape());
  last_training_ = training;
  batch_mean_.assign(C, 0.f);
  batch_inv_std_.assign(C, 0.f);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    float mean, inv_std;
    if (training) {
      double s = 0, s2 = 0;
      for (int n = 0; n < N; ++n) {
        const float* x = in.data() + (size_t(n) * C + c) * hw;
        for (size_t i = 0; i < hw; ++i) s += x[i];
      }
      const double m = double(N) * hw;
      double mu = s / m;
      for (int n = 0; n < N; ++n) {
        const float* x = in.data() + (size_t(n) * C + c) * hw;
        for (size_t i = 0; i < hw; ++i) s2 += (x[i] - mu) * (x[i] - mu);
      }
      double var = s2 / m;  // biased, used to normalise
      mean = float(mu);
      inv_std = float(1.0 / std::sqrt(var + eps));
      double unbiased = m > 1 ? s2 / (m - 1) : var;
      running_mean.value[c] = (1 - momentum) * running_mean.value[c] + momentum * float(mu);
      running_var.value[c] = (1 - momentum) * running_var.value[c] + momentum * float(unbiased);
    } else {
      mean = running_mean.value[c];
      inv_std = 1.f / std::sqrt(running_var.value[c] + eps);
    }
    batch_mean_[c] = mean;
    batch_inv_std_[c] = inv_std;
    const float g = weight.value[c], b = bias.value[c];
    for (int n = 0; n < N; ++n) {
      const float* x = in.data() + (size_t(n) * C + c) * hw;
      float* y = out.data() + (size_t(n) * C + c) * hw;
      for (size_t i = 0; i < hw; ++i) y[i] = (x[i] - mean) * inv_std * g + b;
    }
  }
}

void BatchNorm2d::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool param_grads) {
  const int N = in.n(), C = in.c();
  const size_t hw = size_t(in.h()) * in.w();
  const double m = double(N) * hw;
  if (din) din->resize(in.shape());
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    const float mean = batch_mean_[c], inv_std = batch_inv_std_[c], g = weight.value[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int n = 0; n < N; ++n) {
      const float* x = in.data() + (size_t(n) * C + c) * hw;
      const float* dy = dout.data() + (size_t(n) * C + c) * hw;
      for (size_t i = 0; i < hw; ++i) {
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * (x[i] - mean) * inv_std;
      }
    }
    if (param_grads) {
      weight.grad[c] += float(sum_dy_xhat);
      bias.grad[c] += float(sum_dy);
    }
    if (!din) continue;
    for (int n = 0; n < N; ++n) {
      const float* x = in.data() + (size_t(n) * C + c) * hw;
      const float* dy = dout.data() + (size_t(n) * C + c) * hw;
      float* dx = din->data() + (size_t(n) * C + c) * hw;
      if (last_training_) {
        // dx = γ·inv_std/m · (m·dy − Σdy − x̂·Σ(dy·x̂))
        for (size_t i = 0; i < hw; ++i) {
          double xhat = (x[i] - mean) * inv_std;
          dx[i] = float(g * inv_std / m * (m * dy[i] - sum_dy - xhat * sum_dy_xhat));
        }
      } else {
        for (size_t i = 0; i < hw; ++i) dx[i] = dy[i] * g * inv_std;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout

Dropout::Dropout(float p_) : p(p_) {}

std::string Dropout::token() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "dropout:%g", double(p));
  return buf;
}

void Dropout::forward(const Tensor& in, Tensor& out, bool training, Rng& rng) {
  out = in;
  last_training_ = training && p > 0.f;
  if (!last_training_) return;
  mask_.resize(in.size());
  const float scale = 1.f / (1.f - p);
  for (size_t i = 0; i < in.size(); ++i) {
    mask_[i] = rng.uniform() >= p ? scale : 0.f;
    out[i] *= mask_[i];
  }
}

void Dropout::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool) {
  if (!din) return;
  *din = dout;
  if (!last_training_) return;
  for (size_t i = 0; i < in.size(); ++i) (*din)[i] *= mask_[i];
}

}  // namespace nn
