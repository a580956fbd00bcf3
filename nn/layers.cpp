#include "nn/layers.h"

#include <cblas.h>
#include <omp.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "base/error.h"
#include "nn/winograd.h"

namespace nn {

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "conv2d";
    case LayerKind::linear: return "linear";
    case LayerKind::relu: return "relu";
    case LayerKind::maxpool: return "maxpool";
    case LayerKind::avgpool: return "avgpool";
    case LayerKind::gap: return "gap";
    case LayerKind::batchnorm2d: return "batchnorm2d";
    case LayerKind::dropout: return "dropout";
    case LayerKind::add: return "add";
    case LayerKind::pad_shortcut: return "pad_shortcut";
  }
  return "unknown";  // not reached: every kind is a case above
}

namespace {

void he_normal(Tensor& w, int fan_in, Rng& rng) {
  double sd = std::sqrt(2.0 / fan_in);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(sd * rng.normal());
}

// allocate: the value (zero); gradients: a trainable param's gradient too (zero).
void make_param(Param& p, const char* name, Shape s, bool allocate, bool gradients, bool trainable = true) {
  p.name = name;
  p.shape = s;
  p.trainable = trainable;
  if (!allocate) return;
  p.value.resize(s);
  p.value.zero();
  if (trainable && gradients) {
    p.grad.resize(s);
    p.grad.zero();
  }
}

// Σ p[0..n) with 16 interleaved partial sums added in a fixed order at the end: the compiler can
// vectorise it (a single running sum is one long chain of dependent additions, ~4 cycles each, and
// it may not be reordered without -ffast-math), and the result depends only on n and the data.
float sum_of(const float* p, int n) {
  float acc[16] = {};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += p[i + j];
  for (; i < n; ++i) acc[i % 16] += p[i];
  float total = 0.f;
  for (int j = 0; j < 16; ++j) total += acc[j];
  return total;
}

}  // namespace

void Layer::check_sizes(const Shape& out, double values, double columns) const {
  const double units = double(out.c) * out.h * out.w;
  auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, v < 1e15 ? "%.0f" : "%.3g", v);
    return std::string(text);
  };
  if (units > double(base::kMaxLayerUnits))
    throw base::Error("spec token '" + token() + "': output " + std::to_string(out.c) + "x" + std::to_string(out.h) + "x" +
                      std::to_string(out.w) + " has " + number(units) + " units per image, expected at most " +
                      std::to_string(base::kMaxLayerUnits));
  if (values > double(value_budget)) {
    const int64_t net_limit = value_limit < base::kMaxParameters ? file_net_limit(value_limit) : value_limit;
    const std::string limit = net_limit < base::kMaxParameters
                                  ? std::to_string(net_limit) + ", twice the " + std::to_string(value_limit) +
                                        " values its file holds"
                                  : std::to_string(base::kMaxParameters) + " per network";
    throw base::Error("spec token '" + token() + "': " + number(values) + " parameters, expected at most " +
                      (value_budget < net_limit ? std::to_string(value_budget) + " (what is left of " + limit + ")" : limit));
  }
  if (columns > double(base::kMaxConvColumns))
    throw base::Error("spec token '" + token() + "': its im2col matrix has " + number(columns) +
                      " values per image, expected at most " + std::to_string(base::kMaxConvColumns));
}

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
    throw base::Error("spec token '" + token() + "': a " + std::to_string(kh) + "x" + std::to_string(kw) +
                " kernel does not fit a " + std::to_string(in.h) + "x" + std::to_string(in.w) + " map");
  const double taps = double(in.c) * kh * kw;
  check_sizes(Shape{1, out_channels, oh, ow}, out_channels * taps + (has_bias ? out_channels : 0), taps * oh * ow);
  input_shape = Shape{1, in.c, in.h, in.w};
  output_shape = Shape{1, out_channels, oh, ow};
  make_param(weight, "weight", Shape{out_channels, in.c, kh, kw}, allocate, gradients);
  if (has_bias) make_param(bias, "bias", Shape{out_channels, 1, 1, 1}, allocate, gradients);
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

// The output columns x0 whose input column x0·S + off (off = dx − P) lies inside [0, W): [lo, hi).
static std::pair<int, int> inside_columns(int W, int ow, int stride, int off) {
  const int lo = std::min(ow, off >= 0 ? 0 : (stride - 1 - off) / stride);
  const int hi = std::clamp(W - 1 - off >= 0 ? (W - 1 - off) / stride + 1 : 0, lo, ow);
  return {lo, hi};
}

// One image's columns: col (K = C·KH·KW, OH·OW), col[k][oh·OW + ow] = x[c][oh·S−P+dy][ow·S−P+dx]
// (0 outside), k = (c·KH + dy)·KW + dx.  x is one image (C, H, W).  Each row: zeros, the inside run
// (a strided copy), zeros.
static void im2col(const float* x, int C, int H, int W, int kh, int kw, int stride, int pad, int oh, int ow,
                   float* col) {
  for (int k = 0; k < C * kh * kw; ++k) {
    const int c = k / (kh * kw), r = k % (kh * kw), dy = r / kw, dx = r % kw;
    const float* plane = x + size_t(c) * H * W;
    float* dst = col + size_t(k) * oh * ow;
    const auto [lo, hi] = inside_columns(W, ow, stride, dx - pad);
    for (int y = 0; y < oh; ++y, dst += ow) {
      const int iy = y * stride - pad + dy;
      if (iy < 0 || iy >= H) {
        std::memset(dst, 0, sizeof(float) * ow);
        continue;
      }
      const float* row = plane + size_t(iy) * W;
      const int off = dx - pad;
      std::fill(dst, dst + lo, 0.f);
      for (int x0 = lo; x0 < hi; ++x0) dst[x0] = row[x0 * stride + off];
      std::fill(dst + hi, dst + ow, 0.f);
    }
  }
}

// The adjoint of im2col for one image: dx[c][iy][ix] += col[k][...]; dx must be zeroed first.
static void col2im(const float* col, int C, int H, int W, int kh, int kw, int stride, int pad, int oh, int ow,
                   float* dx) {
  for (int k = 0; k < C * kh * kw; ++k) {
    const int c = k / (kh * kw), r = k % (kh * kw), dy = r / kw, dxk = r % kw;
    float* plane = dx + size_t(c) * H * W;
    const float* src = col + size_t(k) * oh * ow;
    const auto [lo, hi] = inside_columns(W, ow, stride, dxk - pad);
    for (int y = 0; y < oh; ++y, src += ow) {
      const int iy = y * stride - pad + dy;
      if (iy < 0 || iy >= H) continue;
      float* row = plane + size_t(iy) * W;
      const int off = dxk - pad;
      for (int x0 = lo; x0 < hi; ++x0) row[x0 * stride + off] += src[x0];
    }
  }
}

bool Conv2d::uses_winograd() const {
  switch (algorithm) {
    case ConvAlgorithm::im2col: return false;
    case ConvAlgorithm::winograd:
      if (!winograd::fits(kh, kw, stride, pad)) throw base::Error("conv '" + token() + "': Winograd needs a 3x3 kernel, stride 1 and padding 1");
      return true;
    default: return winograd::suits(kh, kw, stride, pad, input_shape.c, out_channels);
  }
}

// Winograd's U from the current weights.  Rebuilt on every forward and backward (a few µs: 16·OC·C
// values) rather than cached, so no caller can see U of weights that have since changed.
const float* Conv2d::transformed_weights() {
  transformed_.resize(winograd::transformed_size(out_channels, input_shape.c));
  winograd::transform_weights(weight.value.data(), out_channels, input_shape.c, transformed_.data());
  return transformed_.data();
}

void Conv2d::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  if (!uses_winograd()) return forward_im2col(in, out);
  const int N = in.n(), C = in.c(), OC = out_channels;
  out.resize(N, OC, in.h(), in.w());
  winograd::forward(in.data(), N, C, in.h(), in.w(), transformed_weights(), OC, has_bias ? bias.value.data() : nullptr,
                    out.data());
}

// The bias gradient, for both algorithms, is one sum per output channel in image order, whatever the
// thread count; the weight gradients are summed over threads in thread order.
void Conv2d::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool param_grads) {
  backward_given_plane_sums(in, dout, din, param_grads, nullptr);
}

// dbias[oc] += Σ_n sum_of(dout[n][oc]) (float, n = 0 … N−1 in order); dout_plane_sums, when given,
// holds those sum_of values already (N·OC floats, sample-major), so dout is not read a second time.
void Conv2d::backward_given_plane_sums(const Tensor& in, const Tensor& dout, Tensor* din, bool param_grads,
                                       const float* dout_plane_sums) {
  if (param_grads && has_bias) {
    const int N = dout.n(), OC = out_channels, OHW = dout.h() * dout.w();
    if (dout_plane_sums) {  // N·OC additions, every channel's in image order: not worth a parallel region
      std::vector<float> total(size_t(OC), 0.f);
      for (int n = 0; n < N; ++n)
        for (int oc = 0; oc < OC; ++oc) total[size_t(oc)] += dout_plane_sums[size_t(n) * OC + oc];
      for (int oc = 0; oc < OC; ++oc) bias.grad[oc] += total[size_t(oc)];
    } else {
#pragma omp parallel for schedule(static)
      for (int oc = 0; oc < OC; ++oc) {
        float total = 0.f;
        for (int n = 0; n < N; ++n) total += sum_of(dout.sample(n) + size_t(oc) * OHW, OHW);
        bias.grad[oc] += total;
      }
    }
  }
  if (!uses_winograd()) return backward_im2col(in, dout, din, param_grads);
  if (din) din->resize(in.shape());
  winograd::backward(in.data(), dout.data(), in.n(), in.c(), in.h(), in.w(), transformed_weights(), out_channels,
                     din ? din->data() : nullptr, param_grads ? weight.grad.data() : nullptr);
}

// A thread's im2col columns: kept between calls (grown, never shrunk; glibc would map and unmap a
// block of 128 KB or more on every call and fault its pages in again) and on cache lines, as the
// GEMMs read them.  Every call writes all the columns it reads.
static float* im2col_workspace(size_t n) {
  static thread_local base::AlignedVector<float> work;
  if (work.size() < n) work.resize(n);
  return work.data();
}

// Images are shared out among the OpenMP threads (schedule(static)); each thread builds one image's
// columns in its own L2-sized workspace and calls a single-threaded SGEMM (the OpenMP OpenBLAS runs
// serially inside a parallel region), so the output goes straight to NCHW with no transposes.
void Conv2d::forward_im2col(const Tensor& in, Tensor& out) {
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w();
  const int OC = out_channels, OH = output_shape.h, OW = output_shape.w;
  const int K = C * kh * kw, OHW = OH * OW;
  out.resize(N, OC, OH, OW);
#pragma omp parallel
  {
    float* col = im2col_workspace(size_t(K) * OHW);
#pragma omp for schedule(static)
    for (int n = 0; n < N; ++n) {
      im2col(in.sample(n), C, H, W, kh, kw, stride, pad, OH, OW, col);
      float* y = out.sample(n);
      // y (OC, OH·OW) = weight (OC, K) · col (K, OH·OW) + bias
      for (int oc = 0; oc < OC; ++oc) std::fill(y + size_t(oc) * OHW, y + size_t(oc + 1) * OHW, has_bias ? bias.value[oc] : 0.f);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, OHW, K, 1.f, weight.value.data(), K, col, OHW, 1.f, y,
                  OHW);
    }
  }
}

// Each thread accumulates dweight for its share of the images in its own buffer; the buffers are then
// added in thread order, so the result is the same for the same thread count.
void Conv2d::backward_im2col(const Tensor& in, const Tensor& dout, Tensor* din, bool param_grads) {
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w();
  const int OC = out_channels, OH = output_shape.h, OW = output_shape.w;
  const int K = C * kh * kw, OHW = OH * OW;
  if (din) din->resize(in.shape());
  std::vector<base::AlignedVector<float>> partial;  // per thread: dweight (OC, K)
#pragma omp parallel
  {
#pragma omp single
    partial.resize(size_t(omp_get_num_threads()));
    base::AlignedVector<float>& mine = partial[size_t(omp_get_thread_num())];
    if (param_grads) mine.assign(size_t(OC) * K, 0.f);
    float* col = im2col_workspace(size_t(K) * OHW);
#pragma omp for schedule(static)
    for (int n = 0; n < N; ++n) {
      const float* g = dout.sample(n);  // (OC, OH·OW)
      if (param_grads) {
        im2col(in.sample(n), C, H, W, kh, kw, stride, pad, OH, OW, col);
        // dweight (OC, K) += g (OC, OH·OW) · colᵀ (OH·OW, K)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, K, OHW, 1.f, g, OHW, col, OHW, 1.f, mine.data(), K);
      }
      if (din) {
        // dcol (K, OH·OW) = weightᵀ (K, OC) · g, scattered back to the image; dcol zeroed by memset and
        // accumulated into (β = 1): the same bits as β = 0, whose zeroing in OpenBLAS is scalar stores
        std::fill(col, col + size_t(K) * OHW, 0.f);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, OHW, OC, 1.f, weight.value.data(), K, g, OHW, 1.f, col,
                    OHW);
        float* dx = din->sample(n);
        std::memset(dx, 0, sizeof(float) * size_t(C) * H * W);
        col2im(col, C, H, W, kh, kw, stride, pad, OH, OW, dx);
      }
    }
  }
  if (!param_grads) return;
  for (const auto& mine : partial) {
    if (mine.empty()) continue;
    for (size_t i = 0; i < size_t(OC) * K; ++i) weight.grad[i] += mine[i];
  }
}

// ---------------------------------------------------------------------------------------------
// Linear

Linear::Linear(int out_features_) : out_features(out_features_) {}

Shape Linear::setup(Shape in) {
  check_sizes(Shape{1, out_features, 1, 1}, (double(in.per_sample()) + 1) * out_features);
  in_features = int(in.per_sample());
  input_shape = Shape{1, in.c, in.h, in.w};
  output_shape = Shape{1, out_features, 1, 1};
  make_param(weight, "weight", Shape{out_features, in_features, 1, 1}, allocate, gradients);
  make_param(bias, "bias", Shape{out_features, 1, 1, 1}, allocate, gradients);
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
    throw base::Error("spec token '" + token() + "': cannot pool a " + std::to_string(in.h) + "x" + std::to_string(in.w) +
                " map with a " + std::to_string(k) + "x" + std::to_string(k) + " window");
  input_shape = Shape{1, in.c, in.h, in.w};
  output_shape = Shape{1, in.c, (in.h - k) / stride + 1, (in.w - k) / stride + 1};
  return output_shape;
}

// One plane of max pooling: the first maximum in row-major order wins; a NaN wins (it propagates, as in
// PyTorch).  Branch-free selects: on real activations the comparisons are unpredictable.
// 2×2 windows with stride 2, 8 outputs of row y at a time from output column x on: the same four
// comparisons in the same order as the scalar loop below, lane by lane (the same bits); returns the
// first column it did not do.  Inputs read: columns 2x … 2x + 15 of rows 2y and 2y + 1, inside the map
// since x + 8 ≤ OW = ⌊W/2⌋.
static int max_pool_2x2_row_by_8(const float* src, int W, int y, int OW, float* dst, int* arg) {
  int x = 0;
#if defined(__AVX2__)
  const float* r0 = src + size_t(2 * y) * W;
  const float* r1 = r0 + W;
  const __m256i lane = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  // columns 2x + 2j (even) and 2x + 2j + 1 (odd) of a row, j = 0 … 7, in order
  const auto split = [](const float* p, __m256& even, __m256& odd) {
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
                                                  _MM_SHUFFLE(3, 1, 2, 0)));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),
                                                 _MM_SHUFFLE(3, 1, 2, 0)));
  };
  for (; x + 8 <= OW; x += 8) {
    __m256 c[4];
    split(r0 + 2 * x, c[0], c[1]);
    split(r1 + 2 * x, c[2], c[3]);
    const __m256i first = _mm256_add_epi32(_mm256_set1_epi32(2 * y * W + 2 * x), lane);
    const int offset[4] = {0, 1, W, W + 1};
    __m256 m = c[0];
    __m256i best = first;
    for (int q = 1; q < 4; ++q) {
      // take = v > m || (v != v && m == m)
      const __m256 take = _mm256_or_ps(_mm256_cmp_ps(c[q], m, _CMP_GT_OQ),
                                       _mm256_and_ps(_mm256_cmp_ps(c[q], c[q], _CMP_UNORD_Q), _mm256_cmp_ps(m, m, _CMP_ORD_Q)));
      m = _mm256_blendv_ps(m, c[q], take);
      const __m256i idx = _mm256_add_epi32(first, _mm256_set1_epi32(offset[q]));
      best = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best), _mm256_castsi256_ps(idx), take));
    }
    _mm256_storeu_ps(dst + size_t(y) * OW + x, m);
    if (arg) _mm256_storeu_si256(reinterpret_cast<__m256i*>(arg + size_t(y) * OW + x), best);
  }
#else
  (void)src, (void)W, (void)y, (void)OW, (void)dst, (void)arg;
#endif
  return x;
}

template <int KFIXED>
static void max_pool_plane(const float* src, int W, int OH, int OW, int k_runtime, int S, float* dst, int* arg) {
  const int K = KFIXED > 0 ? KFIXED : k_runtime;
  for (int y = 0; y < OH; ++y)
    for (int x = (KFIXED == 2 && S == 2) ? max_pool_2x2_row_by_8(src, W, y, OW, dst, arg) : 0; x < OW; ++x) {
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
      if (arg) arg[y * OW + x] = best;
    }
}

// One plane of pooling (max or average), src (H, W) → dst (OH, OW); max mode writes the argmax plane
// when arg is not null.
void Pool2d::forward_plane(const float* src, int W, float* dst, int* arg) const {
  const int OH = output_shape.h, OW = output_shape.w, K = k, S = stride;
  if (mode == Max) {
    if (K == 2)
      max_pool_plane<2>(src, W, OH, OW, K, S, dst, arg);
    else
      max_pool_plane<0>(src, W, OH, OW, K, S, dst, arg);
    return;
  }
  const float inv = 1.f / float(K * K);
  for (int y = 0; y < OH; ++y)
    for (int x = 0; x < OW; ++x) {
      float sum = 0.f;
      for (int dy = 0; dy < K; ++dy)
        for (int dx = 0; dx < K; ++dx) sum += src[(y * S + dy) * W + x * S + dx];
      dst[y * OW + x] = sum * inv;
    }
}

// One plane of the pool's input gradient: d (H, W) = 0, then each output's gradient added to the
// input(s) it read.
void Pool2d::backward_plane(const float* g, const int* arg, int W, int H, float* d) const {
  const int OH = output_shape.h, OW = output_shape.w;
  const float inv = 1.f / float(k * k);
  std::memset(d, 0, sizeof(float) * size_t(H) * W);
  for (int y = 0; y < OH; ++y)
    for (int x = 0; x < OW; ++x) {
      if (mode == Max) {
        d[arg[y * OW + x]] += g[y * OW + x];
      } else {
        for (int dy = 0; dy < k; ++dy)
          for (int dx = 0; dx < k; ++dx) d[(y * stride + dy) * W + x * stride + dx] += g[y * OW + x] * inv;
      }
    }
}

void Pool2d::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w(), OH = output_shape.h, OW = output_shape.w;
  out.resize(N, C, OH, OW);
  if (mode == Max && record_argmax_) argmax_.resize(out.size());
  const long planes = long(N) * C;
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < planes; ++plane)
    forward_plane(in.data() + size_t(plane) * H * W, W, out.data() + size_t(plane) * OH * OW, argmax_plane(plane, long(OH) * OW));
}

void Pool2d::check_argmax(const char* what) const {
  if (mode == Max && !record_argmax_)
    throw std::logic_error(std::string("Pool2d::") + what + ": the max pool records no argmax (inference only)");
}

const std::vector<int>& Pool2d::argmax() const {
  check_argmax("argmax");
  return argmax_;
}

void Pool2d::set_record_argmax(bool on) {
  record_argmax_ = on;
  if (!on) std::vector<int>().swap(argmax_);
}

void Pool2d::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool) {
  check_argmax("backward");
  if (!din) return;
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w(), OH = output_shape.h, OW = output_shape.w;
  din->resize(in.shape());
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < long(N) * C; ++plane)
    backward_plane(dout.data() + size_t(plane) * OH * OW, mode == Max ? argmax_.data() + size_t(plane) * OH * OW : nullptr,
                   W, H, din->data() + size_t(plane) * H * W);
}

// The relu and the pool after it, plane by plane (see layers.h): each plane is rectified and then
// pooled while it is still in the cache, in one parallel loop.  Per element the same operations as
// ReLU::forward then Pool2d::forward, so the same bits.
void Pool2d::forward_after_relu(const Tensor& z, Tensor& a, Tensor& out, float* a_sums, float* out_sums) {
  const int N = z.n(), C = z.c(), H = z.h(), W = z.w(), OH = output_shape.h, OW = output_shape.w;
  a.resize(z.shape());
  out.resize(N, C, OH, OW);
  if (mode == Max && record_argmax_) argmax_.resize(out.size());
  const long planes = long(N) * C;
  const long hw = long(H) * W;
  if (a_sums && out_sums) {
    // The planes in the order of the loop below (sample by sample) when one thread runs; with T
    // threads thread t takes channels [C·t/T, C·(t+1)/T) of every sample, samples in order, so every
    // unit's sum takes the samples in order 0 … N−1 whatever T (and each thread streams through a
    // contiguous stretch of every sample, as the plain loop does).
    const long ohw = long(OH) * OW;
#pragma omp parallel
    {
      const int threads = omp_get_num_threads(), t = omp_get_thread_num();
      const int c0 = int(long(C) * t / threads), c1 = int(long(C) * (t + 1) / threads);
      std::fill(a_sums + size_t(c0) * size_t(hw), a_sums + size_t(c1) * size_t(hw), 0.f);
      std::fill(out_sums + size_t(c0) * size_t(ohw), out_sums + size_t(c1) * size_t(ohw), 0.f);
      for (int n = 0; n < N; ++n)
        for (int c = c0; c < c1; ++c) {
          const long plane = long(n) * C + c;
          const float* x = z.data() + size_t(plane) * hw;
          float* y = a.data() + size_t(plane) * hw;
          float* ua = a_sums + size_t(c) * size_t(hw);
          float* uo = out_sums + size_t(c) * size_t(ohw);
          for (long i = 0; i < hw; ++i) y[i] = x[i] < 0.f ? 0.f : x[i];  // ReLU::forward's rule
          for (long i = 0; i < hw; ++i) ua[i] += std::fabs(y[i]);
          float* o = out.data() + size_t(plane) * ohw;
          forward_plane(y, W, o, argmax_plane(plane, ohw));
          for (long i = 0; i < ohw; ++i) uo[i] += std::fabs(o[i]);
        }
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < planes; ++plane) {
    const float* x = z.data() + size_t(plane) * hw;
    float* y = a.data() + size_t(plane) * hw;
    for (long i = 0; i < hw; ++i) y[i] = x[i] < 0.f ? 0.f : x[i];  // ReLU::forward's rule
    forward_plane(y, W, out.data() + size_t(plane) * OH * OW, argmax_plane(plane, long(OH) * OW));
  }
}

// Pool2d::backward into da, then ReLU::backward from da into dz (when dz is not null), plane by plane;
// with dz_plane_sums also sum_of each dz plane while it is in the cache (Conv2d's bias gradient reads
// these sums instead of reading dz again: the same function of the same values, so the same bits).
void Pool2d::backward_into_relu(const Tensor& a, const Tensor& dout, Tensor& da, Tensor* dz, float* dz_plane_sums) {
  check_argmax("backward_into_relu");
  const int N = a.n(), C = a.c(), H = a.h(), W = a.w(), OH = output_shape.h, OW = output_shape.w;
  da.resize(a.shape());
  if (dz) dz->resize(a.shape());
  const long hw = long(H) * W;
#pragma omp parallel for schedule(static)
  for (long plane = 0; plane < long(N) * C; ++plane) {
    float* g = da.data() + size_t(plane) * hw;
    backward_plane(dout.data() + size_t(plane) * OH * OW, mode == Max ? argmax_.data() + size_t(plane) * OH * OW : nullptr,
                   W, H, g);
    if (!dz) continue;
    const float* y = a.data() + size_t(plane) * hw;
    float* d = dz->data() + size_t(plane) * hw;
    for (long i = 0; i < hw; ++i) d[i] = y[i] > 0.f ? g[i] : 0.f;  // ReLU::backward's rule
    if (dz_plane_sums) dz_plane_sums[plane] = sum_of(d, int(hw));
  }
}

// ---------------------------------------------------------------------------------------------
// GlobalAvgPool

void GlobalAvgPool::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  const int N = in.n(), C = in.c();
  const size_t hw = size_t(in.h()) * in.w();
  out.resize(N, C, 1, 1);
  for (long plane = 0; plane < long(N) * C; ++plane) {
    out[plane] = sum_of(in.data() + plane * hw, int(hw)) / float(hw);
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
  check_sizes(in, 4.0 * in.c);
  input_shape = output_shape = Shape{1, in.c, in.h, in.w};
  Shape s{in.c, 1, 1, 1};
  make_param(weight, "weight", s, allocate, gradients);
  make_param(bias, "bias", s, allocate, gradients);
  make_param(running_mean, "running_mean", s, allocate, gradients, false);
  make_param(running_var, "running_var", s, allocate, gradients, false);
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

// Batch norm runs plane by plane ((n, c) planes shared out among the threads), each plane read while it
// is in the cache, and combines the planes' partial statistics per channel in image order, in double:
//   forward (training): per plane its sum s_p and its centred sum of squares q_p = Σ (x − s_p/hw)²;
//     per channel μ = Σ_p s_p / m and Σ (x − μ)² = Σ_p [q_p + hw·(s_p/hw − μ)²] (Chan et al.'s
//     pairwise update, exact in real arithmetic), m = N·hw; then y = (x − μ)·inv_std·γ + β, one pass.
//   backward: per plane Σ dy and Σ dy·(x − μ); per channel Σ dy and Σ dy·x̂ = inv_std·Σ dy·(x − μ); then
//     dx = γ·inv_std·(dy − Σdy/m − x̂·Σ(dy·x̂)/m), one pass.
// Three passes over memory forward (two reads and a write) and four backward, where the channel-by-
// channel version made five and five.  The partial sums of a plane use sum_of's 16 lanes (vectorised,
// fixed order) and the per-channel totals add the planes in image order, so the results depend on the
// data only, not on the thread count.
namespace {
// Σ (p[i] − c)² with sum_of's 16 lanes.
float centered_squares(const float* p, int n, float c) {
  float acc[16] = {};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += (p[i + j] - c) * (p[i + j] - c);
  for (; i < n; ++i) acc[i % 16] += (p[i] - c) * (p[i] - c);
  float total = 0.f;
  for (int j = 0; j < 16; ++j) total += acc[j];
  return total;
}
// Σ g[i]·(p[i] − c) with sum_of's 16 lanes.
float centered_dot(const float* g, const float* p, int n, float c) {
  float acc[16] = {};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += g[i + j] * (p[i + j] - c);
  for (; i < n; ++i) acc[i % 16] += g[i] * (p[i] - c);
  float total = 0.f;
  for (int j = 0; j < 16; ++j) total += acc[j];
  return total;
}
}  // namespace

void BatchNorm2d::forward(const Tensor& in, Tensor& out, bool training, Rng&) { forward_impl(in, out, nullptr, training); }

void BatchNorm2d::forward_then_relu(const Tensor& in, Tensor& z, Tensor& a, bool training) {
  forward_impl(in, z, &a, training);
}

void BatchNorm2d::forward_impl(const Tensor& in, Tensor& out, Tensor* relu_out, bool training) {
  const int N = in.n(), C = in.c();
  const int hw = in.h() * in.w();
  const long planes = long(N) * C;
  out.resize(in.shape());
  if (relu_out) relu_out->resize(in.shape());
  last_training_ = training;
  batch_mean_.assign(C, 0.f);
  batch_inv_std_.assign(C, 0.f);
  if (training) {
    plane_stats_.resize(size_t(planes) * 2);  // per plane: sum, centred sum of squares
#pragma omp parallel for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const float* x = in.data() + size_t(p) * hw;
      const float s = sum_of(x, hw);
      plane_stats_[2 * p] = s;
      plane_stats_[2 * p + 1] = centered_squares(x, hw, s / float(hw));
    }
  }
  const double m = double(N) * hw;
  for (int c = 0; c < C; ++c) {
    if (training) {
      double s = 0;
      for (int n = 0; n < N; ++n) s += plane_stats_[2 * (size_t(n) * C + c)];
      const double mu = s / m;
      double s2 = 0;
      for (int n = 0; n < N; ++n) {
        const size_t p = size_t(n) * C + c;
        const double d = double(float(plane_stats_[2 * p] / double(hw))) - mu;  // the plane's mean as used above
        s2 += plane_stats_[2 * p + 1] + double(hw) * d * d;
      }
      const double var = s2 / m;  // biased, used to normalise
      batch_mean_[c] = float(mu);
      batch_inv_std_[c] = float(1.0 / std::sqrt(var + eps));
      const double unbiased = m > 1 ? s2 / (m - 1) : var;
      running_mean.value[c] = (1 - momentum) * running_mean.value[c] + momentum * float(mu);
      running_var.value[c] = (1 - momentum) * running_var.value[c] + momentum * float(unbiased);
    } else {
      batch_mean_[c] = running_mean.value[c];
      batch_inv_std_[c] = 1.f / std::sqrt(running_var.value[c] + eps);
    }
  }
#pragma omp parallel for schedule(static)
  for (long p = 0; p < planes; ++p) {
    const int c = int(p % C);
    const float mean = batch_mean_[c], inv_std = batch_inv_std_[c], g = weight.value[c], b = bias.value[c];
    const float* x = in.data() + size_t(p) * hw;
    float* y = out.data() + size_t(p) * hw;
    for (int i = 0; i < hw; ++i) y[i] = (x[i] - mean) * inv_std * g + b;
    if (!relu_out) continue;
    float* r = relu_out->data() + size_t(p) * hw;
    for (int i = 0; i < hw; ++i) r[i] = y[i] < 0.f ? 0.f : y[i];  // ReLU::forward's rule
  }
}

void BatchNorm2d::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool param_grads) {
  backward_impl(in, nullptr, dout, nullptr, din, param_grads);
}

void BatchNorm2d::backward_from_relu(const Tensor& in, const Tensor& a, const Tensor& da, Tensor& dz, Tensor* din,
                                     bool param_grads) {
  backward_impl(in, &a, da, &dz, din, param_grads);
}

// With a (the relu's output): dz = ReLU::backward's input gradient from a and `dout` (= da), written
// plane by plane, and batch norm's backward from dz.
void BatchNorm2d::backward_impl(const Tensor& in, const Tensor* a, const Tensor& dout, Tensor* dz, Tensor* din,
                                bool param_grads) {
  const int N = in.n(), C = in.c();
  const int hw = in.h() * in.w();
  const long planes = long(N) * C;
  const double m = double(N) * hw;
  if (din) din->resize(in.shape());
  if (dz) dz->resize(in.shape());
  const Tensor& dy_t = dz ? *dz : dout;  // the gradient of the bn's output
  plane_stats_.resize(size_t(planes) * 2);  // per plane: Σ dy, Σ dy·(x − μ)
#pragma omp parallel for schedule(static)
  for (long p = 0; p < planes; ++p) {
    const float mean = batch_mean_[size_t(p % C)];
    const float* x = in.data() + size_t(p) * hw;
    if (dz) {
      const float* y = a->data() + size_t(p) * hw;
      const float* g = dout.data() + size_t(p) * hw;
      float* d = dz->data() + size_t(p) * hw;
      for (int i = 0; i < hw; ++i) d[i] = y[i] > 0.f ? g[i] : 0.f;  // ReLU::backward's rule
    }
    const float* dy = dy_t.data() + size_t(p) * hw;
    plane_stats_[2 * p] = sum_of(dy, hw);
    plane_stats_[2 * p + 1] = centered_dot(dy, x, hw, mean);
  }
  channel_sums_.assign(size_t(C) * 2, 0.0);  // per channel: Σ dy, Σ dy·x̂
  for (int c = 0; c < C; ++c) {
    double sum_dy = 0, sum_dy_xc = 0;
    for (int n = 0; n < N; ++n) {
      const size_t p = size_t(n) * C + c;
      sum_dy += plane_stats_[2 * p];
      sum_dy_xc += plane_stats_[2 * p + 1];
    }
    channel_sums_[2 * c] = sum_dy;
    channel_sums_[2 * c + 1] = sum_dy_xc * batch_inv_std_[c];
    if (param_grads) {
      weight.grad[c] += float(channel_sums_[2 * c + 1]);
      bias.grad[c] += float(sum_dy);
    }
  }
  if (!din) return;
#pragma omp parallel for schedule(static)
  for (long p = 0; p < planes; ++p) {
    const int c = int(p % C);
    const float mean = batch_mean_[c], inv_std = batch_inv_std_[c], k = weight.value[c] * inv_std;
    const float* x = in.data() + size_t(p) * hw;
    const float* dy = dy_t.data() + size_t(p) * hw;
    float* dx = din->data() + size_t(p) * hw;
    if (last_training_) {
      const float mean_dy = float(channel_sums_[2 * c] / m), mean_dy_xhat = float(channel_sums_[2 * c + 1] / m);
      for (int i = 0; i < hw; ++i) dx[i] = k * (dy[i] - mean_dy - (x[i] - mean) * inv_std * mean_dy_xhat);
    } else {
      for (int i = 0; i < hw; ++i) dx[i] = dy[i] * k;
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

// ---------------------------------------------------------------------------------------------
// Add

Shape Add::setup(Shape in) {
  if (in.c != shortcut_shape.c || in.h != shortcut_shape.h || in.w != shortcut_shape.w)
    throw base::Error("spec token ')': the branch's output (" + std::to_string(in.c) + "," + std::to_string(in.h) + "," +
                      std::to_string(in.w) + ") cannot be added to the shortcut (" + std::to_string(shortcut_shape.c) + "," +
                      std::to_string(shortcut_shape.h) + "," + std::to_string(shortcut_shape.w) +
                      "); expected equal shapes (res:pad( or res:proj( give a shortcut that changes shape)");
  check_sizes(in, 0);
  return in;
}

void Add::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  out.resize(in.shape());
  const float* a = in.data();
  const float* b = shortcut->data();
  float* y = out.data();
  const long n = long(in.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void Add::backward(const Tensor&, const Tensor&, const Tensor& dout, Tensor* din, bool) {
  if (din) *din = dout;  // dL/dbranch = dout (the network adds dout to the shortcut's gradient)
}

// ---------------------------------------------------------------------------------------------
// PadShortcut (option A)

PadShortcut::PadShortcut(int out_channels_, int stride_) : out_channels(out_channels_), stride(stride_) {}

Shape PadShortcut::setup(Shape in) {
  if (out_channels < in.c)
    throw base::Error("spec token 'res:pad(': the branch has " + std::to_string(out_channels) + " channels, fewer than the " +
                      std::to_string(in.c) + " of the unit's input; expected at least as many (zero padding only adds channels)");
  input_shape = Shape{1, in.c, in.h, in.w};
  Shape out{1, out_channels, (in.h - 1) / stride + 1, (in.w - 1) / stride + 1};
  check_sizes(out, 0);
  return output_shape = out;
}

void PadShortcut::forward(const Tensor& in, Tensor& out, bool, Rng&) {
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w(), OH = (H - 1) / stride + 1, OW = (W - 1) / stride + 1;
  const int front = (out_channels - C) / 2;
  out.resize(N, out_channels, OH, OW);
  out.zero();
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const float* x = in.data() + (size_t(n) * C + c) * H * W;                     // (H, W)
      float* y = out.data() + (size_t(n) * out_channels + c + front) * OH * OW;  // (OH, OW)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox) y[oy * OW + ox] = x[size_t(oy) * stride * W + size_t(ox) * stride];
    }
}

void PadShortcut::backward(const Tensor& in, const Tensor&, const Tensor& dout, Tensor* din, bool) {
  if (!din) return;
  const int N = in.n(), C = in.c(), H = in.h(), W = in.w(), OH = dout.h(), OW = dout.w();
  const int front = (out_channels - C) / 2;
  din->resize(in.shape());
  din->zero();
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      float* dx = din->data() + (size_t(n) * C + c) * H * W;
      const float* dy = dout.data() + (size_t(n) * out_channels + c + front) * OH * OW;
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox) dx[size_t(oy) * stride * W + size_t(ox) * stride] = dy[oy * OW + ox];
    }
}

}  // namespace nn
