// nn/winograd.cpp — see winograd.h.
#include "nn/winograd.h"

#include <cblas.h>
#include <omp.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <vector>

namespace nn::winograd {
namespace {

// Images per chunk (at most): the transforms run over the images of a chunk as the innermost (vector)
// index, 8 lanes at a time.  GEMMs run on column blocks of at most
// kGemmColumns tiles, where OpenBLAS's small-matrix kernels are fastest (bench/README.md).
constexpr int kImagesPerChunk = 16;
constexpr int kGemmColumns = 256;
// The 16 planes of a transformed array are written together, one stream each; planes a power of two
// apart would all map to the same L1 sets and evict each other, so each plane is followed by a skew.
constexpr size_t kSkew = 16;
inline size_t plane_stride(size_t n) { return n + kSkew; }

// The three maps and their adjoints, each applied to rows then columns.  Bᵀ = [1 0 −1 0;
// 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 −1].

// u = G g Gᵀ (g 3×3, u 4×4).
inline void weight_transform(const float g[9], float u[16]) {
  float t[12];  // G g: 4×3
  for (int j = 0; j < 3; ++j) {
    t[0 + j] = g[0 + j];
    t[3 + j] = 0.5f * (g[0 + j] + g[3 + j] + g[6 + j]);
    t[6 + j] = 0.5f * (g[0 + j] - g[3 + j] + g[6 + j]);
    t[9 + j] = g[6 + j];
  }
  for (int i = 0; i < 4; ++i) {
    const float* r = t + 3 * i;
    u[4 * i + 0] = r[0];
    u[4 * i + 1] = 0.5f * (r[0] + r[1] + r[2]);
    u[4 * i + 2] = 0.5f * (r[0] - r[1] + r[2]);
    u[4 * i + 3] = r[2];
  }
}

// g = Gᵀ u G: the adjoint of weight_transform.
inline void weight_transform_adjoint(const float u[16], float g[9]) {
  float t[12];  // Gᵀ u: 3×4
  for (int j = 0; j < 4; ++j) {
    t[0 + j] = u[0 + j] + 0.5f * (u[4 + j] + u[8 + j]);
    t[4 + j] = 0.5f * (u[4 + j] - u[8 + j]);
    t[8 + j] = 0.5f * (u[4 + j] + u[8 + j]) + u[12 + j];
  }
  for (int i = 0; i < 3; ++i) {
    const float* r = t + 4 * i;
    g[3 * i + 0] = r[0] + 0.5f * (r[1] + r[2]);
    g[3 * i + 1] = 0.5f * (r[1] - r[2]);
    g[3 * i + 2] = 0.5f * (r[1] + r[2]) + r[3];
  }
}

// Eight floats as one value (GCC/Clang vector extension): the transforms are written on these, one
// lane per image, so each tile's arithmetic is a handful of 8-wide instructions.  (Built without AVX,
// e.g. OPT=-O2, GCC warns that returning one by value has another ABI: irrelevant for these
// internal helpers, so the warning is off here.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float f8 __attribute__((vector_size(32)));
constexpr int kLanes = 8;
inline f8 load8(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, const f8& v) { std::memcpy(p, &v, sizeof v); }

// The tiling of one (H, W) map: TH × TW tiles of 2×2 outputs; tile (ty, tx) reads the 4×4 patch of
// padded rows 2ty .. 2ty+3 and padded columns 2tx .. 2tx+3 (padded = the map with one pixel of zeros
// around it, PH × PW).  A chunk of `count` images is laid out with the image innermost, in L lanes
// (count rounded up to a multiple of 8; the extra lanes hold zeros and are never stored):
//   Xp (C, PH, PW, L)   the padded input         V (16, C, P)   P = T·L, column p = tile·L + lane
//   M (16, OC, P)       U·V                      Yt (OC, 2TH, 2TW, L)  the output tiles
// so every transform is 8-wide arithmetic on 8 images at once.
struct Tiling {
  int H, W, TH, TW, PH, PW;
  Tiling(int h, int w) : H(h), W(w), TH((h + 1) / 2), TW((w + 1) / 2), PH(2 * TH + 2), PW(2 * TW + 2) {}
  int tiles() const { return TH * TW; }
};

// Work arrays of one thread, kept between calls (grown, never shrunk) so that a step does not pay
// for allocating and zeroing megabytes.
struct Work {
  std::vector<float> padded, tiles, product, out;
  std::vector<float> dU;  // backward: this thread's part of the weight gradient, (16, OC, C) with skews
};
Work& thread_work() {
  static thread_local Work work;
  return work;
}
float* at_least(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}
inline int lanes(int count) { return (count + kLanes - 1) / kLanes * kLanes; }

// One chunk of a thread's images, [first, first+count), in L lanes, and its work arrays (sized for C
// input and OC output channels): padded = Xp or dXp, tiles = V or dV, product = M or dM, out = Yt or Gt.
struct Chunk {
  int first, count, L;
  size_t P;
  float *padded, *tiles, *product, *out;
  Chunk(Work& w, const Tiling& t, int C, int OC, int first_, int count_)
      : first(first_), count(count_), L(lanes(count_)), P(size_t(t.tiles()) * L),
        padded(at_least(w.padded, size_t(C) * t.PH * t.PW * L)),
        tiles(at_least(w.tiles, 16 * plane_stride(C * P))),
        product(at_least(w.product, 16 * plane_stride(OC * P))),
        out(at_least(w.out, size_t(OC) * 4 * P)) {}
};

// An 8 × 8 block transposed in registers: r[j][i] ← r[i][j] (r[i] one row of 8 floats).  Pure data
// movement, so the lane layouts below get the same bits as an element-by-element copy.
#if defined(__AVX__)
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    u[4 * k + 0] = _mm256_shuffle_ps(t[4 * k + 0], t[4 * k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k + 0], t[4 * k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
  }
}
constexpr bool kTranspose8 = true;
#else
constexpr bool kTranspose8 = false;
#endif

// Zeros in dst (planes, rows, cols, L) wherever to_lanes does not write: everything when some lanes
// are unused, else only the frame around each map's H × W window at (at, at).
void zero_unwritten(const Tiling& t, int planes, const Chunk& k, int rows, int cols, int at, float* dst) {
  if (k.count < k.L) {
    std::memset(dst, 0, sizeof(float) * size_t(planes) * rows * cols * k.L);
    return;
  }
  const size_t row = size_t(cols) * k.L;
  for (int c = 0; c < planes; ++c) {
    float* p = dst + size_t(c) * rows * row;
    std::memset(p, 0, sizeof(float) * size_t(at) * row);
    for (int y = at; y < at + t.H; ++y) {
      std::memset(p + y * row, 0, sizeof(float) * size_t(at) * k.L);
      std::memset(p + y * row + size_t(at + t.W) * k.L, 0, sizeof(float) * size_t(cols - at - t.W) * k.L);
    }
    std::memset(p + size_t(at + t.H) * row, 0, sizeof(float) * size_t(rows - at - t.H) * row);
  }
}

// Between NCHW and the lane layouts: dst (planes, rows, cols, L) ← the chunk's images of x
// (N, planes, H, W), each map placed at row and column `at` (1: the padded input, 0: output tiles),
// zeros elsewhere and in the unused lanes ...  Eight images × eight columns at a time are one
// register transpose; the rest (a partial group of images, the last W mod 8 columns) element by element.
void to_lanes(const Tiling& t, const float* x, int planes, const Chunk& k, int rows, int cols, int at, float* dst) {
  const size_t plane = size_t(t.H) * t.W;
  zero_unwritten(t, planes, k, rows, cols, at, dst);
  const int full = kTranspose8 ? k.count / kLanes * kLanes : 0, wide = kTranspose8 ? t.W / kLanes * kLanes : 0;
  for (int c = 0; c < planes; ++c)
    for (int y = 0; y < t.H; ++y) {
      float* d = dst + ((size_t(c) * rows + y + at) * cols + at) * k.L;
#if defined(__AVX__)
      for (int g = 0; g < full; g += kLanes)
        for (int xx = 0; xx < wide; xx += kLanes) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i)
            r[i] = _mm256_loadu_ps(x + (size_t(k.first + g + i) * planes + c) * plane + size_t(y) * t.W + xx);
          transpose8(r);
          for (int j = 0; j < 8; ++j) _mm256_storeu_ps(d + size_t(xx + j) * k.L + g, r[j]);
        }
#endif
      for (int i = 0; i < k.count; ++i) {
        const float* src = x + (size_t(k.first + i) * planes + c) * plane + size_t(y) * t.W;
        for (int xx = i < full ? wide : 0; xx < t.W; ++xx) d[size_t(xx) * k.L + i] = src[xx];
      }
    }
}

// ... and back: the chunk's images of y (N, planes, H, W) ← src's H × W window at (at, at), + bias
// per plane when bias is not null.
void from_lanes(const Tiling& t, const float* src, int planes, const Chunk& k, int rows, int cols, int at,
                const float* bias, float* y) {
  const size_t plane = size_t(t.H) * t.W;
  const int full = kTranspose8 ? k.count / kLanes * kLanes : 0, wide = kTranspose8 ? t.W / kLanes * kLanes : 0;
  for (int c = 0; c < planes; ++c) {
    const float b = bias ? bias[c] : 0.f;
    for (int yy = 0; yy < t.H; ++yy) {
      const float* q = src + ((size_t(c) * rows + yy + at) * cols + at) * k.L;
#if defined(__AVX__)
      const __m256 bv = _mm256_set1_ps(b);
      for (int g = 0; g < full; g += kLanes)
        for (int xx = 0; xx < wide; xx += kLanes) {
          __m256 r[8];
          for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(q + size_t(xx + j) * k.L + g);
          transpose8(r);
          for (int i = 0; i < 8; ++i)
            _mm256_storeu_ps(y + (size_t(k.first + g + i) * planes + c) * plane + size_t(yy) * t.W + xx,
                             _mm256_add_ps(r[i], bv));
        }
#endif
      for (int i = 0; i < k.count; ++i) {
        float* dst = y + (size_t(k.first + i) * planes + c) * plane + size_t(yy) * t.W;
        for (int xx = i < full ? wide : 0; xx < t.W; ++xx) dst[xx] = q[size_t(xx) * k.L + i] + b;
      }
    }
  }
}

// V (16, C, P) = Bᵀ d B for the patch d of every tile in [t0, t1): column p = (tile − t0)·L + lane,
// P = (t1 − t0)·L.  Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
void transform_inputs(const Tiling& t, const float* Xp, int C, int L, int t0, int t1, float* V) {
  const size_t P = size_t(t1 - t0) * L, xs = plane_stride(size_t(C) * P), row = size_t(t.PW) * L;
  for (int c = 0; c < C; ++c)
    for (int tile = t0; tile < t1; ++tile) {
      const int ty = tile / t.TW, tx = tile % t.TW;
      for (int g = 0; g < L; g += kLanes) {
        const float* d = Xp + ((size_t(c) * t.PH + 2 * ty) * t.PW + 2 * tx) * L + g;
        float* v = V + size_t(c) * P + size_t(tile - t0) * L + g;
        f8 h[4][4];  // h = d B (each patch row), then v = Bᵀ h
        for (int r = 0; r < 4; ++r) {
          const float* q = d + r * row;
          const f8 d0 = load8(q), d1 = load8(q + L), d2 = load8(q + 2 * L), d3 = load8(q + 3 * L);
          h[r][0] = d0 - d2, h[r][1] = d1 + d2, h[r][2] = d2 - d1, h[r][3] = d1 - d3;
        }
        for (int j = 0; j < 4; ++j) {
          store8(v + (0 + j) * xs, h[0][j] - h[2][j]);
          store8(v + (4 + j) * xs, h[1][j] + h[2][j]);
          store8(v + (8 + j) * xs, h[2][j] - h[1][j]);
          store8(v + (12 + j) * xs, h[1][j] - h[3][j]);
        }
      }
    }
}

// dXp (C, PH, PW, L) += Σ over the tiles in [t0, t1) of B dV Bᵀ added into each tile's patch, dV
// laid out as transform_inputs' V: the adjoint of transform_inputs.  The caller zeroes dXp first.
void transform_input_grads(const Tiling& t, const float* dV, int C, int L, int t0, int t1, float* dXp) {
  const size_t P = size_t(t1 - t0) * L, xs = plane_stride(size_t(C) * P), row = size_t(t.PW) * L;
  for (int c = 0; c < C; ++c)
    for (int tile = t0; tile < t1; ++tile) {
      const int ty = tile / t.TW, tx = tile % t.TW;
      for (int g = 0; g < L; g += kLanes) {
        float* d = dXp + ((size_t(c) * t.PH + 2 * ty) * t.PW + 2 * tx) * L + g;
        const float* v = dV + size_t(c) * P + size_t(tile - t0) * L + g;
        f8 h[4][4];  // h = B v (rows), then d = h Bᵀ;  B = (Bᵀ)ᵀ
        for (int j = 0; j < 4; ++j) {
          const f8 v0 = load8(v + (0 + j) * xs), v1 = load8(v + (4 + j) * xs), v2 = load8(v + (8 + j) * xs),
                   v3 = load8(v + (12 + j) * xs);
          h[0][j] = v0, h[1][j] = v1 - v2 + v3, h[2][j] = v1 + v2 - v0, h[3][j] = -v3;
        }
        for (int r = 0; r < 4; ++r) {
          float* q = d + r * row;
          store8(q, load8(q) + h[r][0]);
          store8(q + L, load8(q + L) + (h[r][1] - h[r][2] + h[r][3]));
          store8(q + 2 * L, load8(q + 2 * L) + (h[r][1] + h[r][2] - h[r][0]));
          store8(q + 3 * L, load8(q + 3 * L) - h[r][3]);
        }
      }
    }
}

// Yt (OC, 2TH, 2TW, L) = Aᵀ m A for the tiles in [t0, t1), M (16, OC, P) laid out as transform_inputs'
// V.  Aᵀ = [1 1 1 0; 0 1 −1 −1].
void transform_outputs(const Tiling& t, const float* M, int OC, int L, int t0, int t1, float* Yt) {
  const size_t P = size_t(t1 - t0) * L, xs = plane_stride(size_t(OC) * P), row = size_t(2 * t.TW) * L;
  for (int oc = 0; oc < OC; ++oc)
    for (int tile = t0; tile < t1; ++tile) {
      const int ty = tile / t.TW, tx = tile % t.TW;
      for (int g = 0; g < L; g += kLanes) {
        const float* m = M + size_t(oc) * P + size_t(tile - t0) * L + g;
        float* y = Yt + ((size_t(oc) * 2 * t.TH + 2 * ty) * 2 * t.TW + 2 * tx) * L + g;
        f8 q[2][4];  // q = Aᵀ m (rows), then y = q A
        for (int j = 0; j < 4; ++j) {
          const f8 m0 = load8(m + (0 + j) * xs), m1 = load8(m + (4 + j) * xs), m2 = load8(m + (8 + j) * xs),
                   m3 = load8(m + (12 + j) * xs);
          q[0][j] = m0 + m1 + m2;
          q[1][j] = m1 - m2 - m3;
        }
        for (int r = 0; r < 2; ++r) {
          store8(y + r * row, q[r][0] + q[r][1] + q[r][2]);
          store8(y + r * row + L, q[r][1] - q[r][2] - q[r][3]);
        }
      }
    }
}

// dM (16, OC, P) = A dY Aᵀ per tile, from Gt (OC, 2TH, 2TW, L) = dY in lanes, zero past the edge:
// the adjoint of transform_outputs.
void transform_output_grads(const Tiling& t, const float* Gt, int OC, int L, float* dM) {
  const size_t P = size_t(t.tiles()) * L, xs = plane_stride(size_t(OC) * P), row = size_t(2 * t.TW) * L;
  for (int oc = 0; oc < OC; ++oc)
    for (int ty = 0; ty < t.TH; ++ty)
      for (int tx = 0; tx < t.TW; ++tx)
        for (int g = 0; g < L; g += kLanes) {
          const float* q = Gt + ((size_t(oc) * 2 * t.TH + 2 * ty) * 2 * t.TW + 2 * tx) * L + g;
          float* m = dM + size_t(oc) * P + (size_t(ty) * t.TW + tx) * L + g;
          const f8 y00 = load8(q), y01 = load8(q + L), y10 = load8(q + row), y11 = load8(q + row + L);
          // a = A y (4×2), then m = a Aᵀ;  A = (Aᵀ)ᵀ
          const f8 a[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}};
          for (int r = 0; r < 4; ++r) {
            store8(m + (4 * r + 0) * xs, a[r][0]);
            store8(m + (4 * r + 1) * xs, a[r][0] + a[r][1]);
            store8(m + (4 * r + 2) * xs, a[r][0] - a[r][1]);
            store8(m + (4 * r + 3) * xs, -a[r][1]);
          }
        }
}

// out[ξ] (rows, n) = a[ξ] (rows, inner) · b[ξ] (inner, n) for the 16 ξ; a is U (16, OC, C), so
// `rows · inner` is OC·C either way; b's planes hold `ldb` ≥ n columns (b may point into a wider
// array), out is (16, rows, n); n ≤ kGemmColumns (one column block of tiles, see forward).  Each
// plane of out is zeroed with a memset right before its GEMM, which accumulates into it (β = 1):
// OpenBLAS's β = 0 path zeroes C with scalar stores before accumulating, the same bits (0 + Σ) at
// several times the cost for these small-K GEMMs (bench/README.md, "Zeroing before the GEMMs").  One
// plane at a time (not the 16 planes at once, up to 1 MB, more than L2) so that the GEMM finds its
// zeroed C still in cache; the skew between planes is never read and is not zeroed.
void gemm16(int rows, int inner, int n, const float* a, bool transpose_a, const float* b, size_t ldb, float* out) {
  for (int xi = 0; xi < 16; ++xi) {
    float* c = out + xi * plane_stride(size_t(rows) * n);
    std::memset(c, 0, sizeof(float) * size_t(rows) * n);
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, CblasNoTrans, rows, n, inner, 1.f,
                a + xi * plane_stride(size_t(rows) * inner), transpose_a ? rows : inner,
                b + xi * plane_stride(size_t(inner) * ldb), int(ldb), 1.f, c, n);
  }
}

// Tiles per column block: a block's GEMMs have kGemmColumns columns (the last block fewer), and its
// transformed arrays stay in cache between the transforms and the GEMMs.
int tiles_per_block(int L) { return std::max(1, kGemmColumns / L); }

// 16 images (two vectors of lanes) for maps of up to 32 tiles, else 8: about 256-512 GEMM columns
// for the reference net (conv2: 64 tiles × 8; conv3: 16 × 16).  More images per chunk push conv2's
// transformed arrays out of L2; 4 images waste half the lanes (bench/README.md).
int images_per_chunk(const Tiling& t) { return t.tiles() <= 32 ? kImagesPerChunk : kLanes; }

// Calls f(chunk) for the chunks of this thread's images: one contiguous range of the N images per
// thread (the same split in forward and backward), cut into chunks of images_per_chunk(t).
template <class F>
void for_my_chunks(int N, const Tiling& t, int C, int OC, F f) {
  const int nt = omp_get_num_threads(), id = omp_get_thread_num();
  const int first = int(int64_t(N) * id / nt), end = int(int64_t(N) * (id + 1) / nt);
  const int chunk = images_per_chunk(t);
  Work& w = thread_work();
  for (int b = first; b < end; b += chunk) f(Chunk(w, t, C, OC, b, std::min(chunk, end - b)));
}

}  // namespace

bool fits(int kh, int kw, int stride, int pad) { return kh == 3 && kw == 3 && stride == 1 && pad == 1; }

bool suits(int kh, int kw, int stride, int pad, int in_channels, int out_channels) {
  return fits(kh, kw, stride, pad) && in_channels >= 16 && out_channels >= 16;
}

size_t transformed_size(int OC, int C) { return 16 * plane_stride(size_t(OC) * C); }

void transform_weights(const float* weight, int OC, int C, float* U) {
  const int64_t n = int64_t(OC) * C;
  const size_t xs = plane_stride(size_t(n));
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k) {
    float u[16];
    weight_transform(weight + 9 * k, u);
    for (int xi = 0; xi < 16; ++xi) U[xi * xs + size_t(k)] = u[xi];
  }
}

void forward(const float* x, int N, int C, int H, int W, const float* U, int OC, const float* bias, float* y) {
  const Tiling t(H, W);
#pragma omp parallel
  for_my_chunks(N, t, C, OC, [&](const Chunk& k) {
    to_lanes(t, x, C, k, t.PH, t.PW, 1, k.padded);
    // One column block of tiles at a time, so that its V and M stay in cache between the transforms
    // and the GEMMs.
    const int step = tiles_per_block(k.L);
    for (int t0 = 0; t0 < t.tiles(); t0 += step) {
      const int t1 = std::min(t.tiles(), t0 + step), n = (t1 - t0) * k.L;
      transform_inputs(t, k.padded, C, k.L, t0, t1, k.tiles);
      gemm16(OC, C, n, U, false, k.tiles, n, k.product);  // M[ξ] (OC, n) = U[ξ] (OC, C) · V[ξ] (C, n)
      transform_outputs(t, k.product, OC, k.L, t0, t1, k.out);
    }
    from_lanes(t, k.out, OC, k, 2 * t.TH, 2 * t.TW, 0, bias, y);
  });
}

void backward(const float* x, const float* dy, int N, int C, int H, int W, const float* U, int OC, float* dx,
              float* dweight) {
  const Tiling t(H, W);
  const size_t nOC_C = size_t(OC) * C, nU = transformed_size(OC, C), xs = plane_stride(nOC_C);
  std::vector<float*> partial;  // per thread: its dU (16, OC, C), in its thread-local Work
#pragma omp parallel
  {
#pragma omp single
    partial.resize(size_t(omp_get_num_threads()));
    std::vector<float>& dU = thread_work().dU;
    if (dweight) {
      dU.assign(nU, 0.f);
      partial[size_t(omp_get_thread_num())] = dU.data();
    }
    for_my_chunks(N, t, C, OC, [&](const Chunk& k) {
      const int P = int(k.P);
      to_lanes(t, dy, OC, k, 2 * t.TH, 2 * t.TW, 0, k.out);
      transform_output_grads(t, k.out, OC, k.L, k.product);
      if (dweight) {  // dU[ξ] (OC, C) += dM[ξ] (OC, P) · V[ξ]ᵀ (P, C)
        to_lanes(t, x, C, k, t.PH, t.PW, 1, k.padded);
        transform_inputs(t, k.padded, C, k.L, 0, t.tiles(), k.tiles);
        for (int xi = 0; xi < 16; ++xi)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, P, 1.f, k.product + xi * plane_stride(OC * k.P),
                      P, k.tiles + xi * plane_stride(C * k.P), P, 1.f, dU.data() + xi * plane_stride(nOC_C), C);
      }
      if (dx) {  // dV[ξ] (C, n) = U[ξ]ᵀ (C, OC) · dM[ξ] (OC, n) by column blocks, into V's storage, then to dx
        std::memset(k.padded, 0, sizeof(float) * size_t(C) * t.PH * t.PW * k.L);
        const int step = tiles_per_block(k.L);
        for (int t0 = 0; t0 < t.tiles(); t0 += step) {
          const int t1 = std::min(t.tiles(), t0 + step), n = (t1 - t0) * k.L;
          gemm16(C, OC, n, U, true, k.product + size_t(t0) * k.L, k.P, k.tiles);
          transform_input_grads(t, k.tiles, C, k.L, t0, t1, k.padded);
        }
        from_lanes(t, k.padded, C, k, t.PH, t.PW, 1, nullptr, dx);
      }
    });
    if (dweight) {
      // The threads' parts summed in thread order (0 + part 0 + part 1 + …, each value on its own) into
      // part 0, then dweight += Gᵀ dU G: both loops shared out among the threads, each value's
      // arithmetic and order the same whichever thread does it.  The sums run along contiguous
      // memory (8 values per instruction); the adjoint gathers each (oc, c)'s 16 values.  The parts
      // stay in the threads' Work (no allocation per call: glibc would map and unmap them, above its
      // 128 KB mmap threshold).
#pragma omp barrier
      float* total = partial[0];
      const int64_t nt = int64_t(partial.size());
#pragma omp for schedule(static)
      for (int64_t k = 0; k < int64_t(nU); ++k) {
        float sum = 0.f + total[k];
        for (int64_t i = 1; i < nt; ++i) sum += partial[size_t(i)][k];
        total[k] = sum;
      }
#pragma omp for schedule(static)
      for (int64_t kk = 0; kk < int64_t(nOC_C); ++kk) {
        const size_t k = size_t(kk);
        float u[16], g[9];
        for (int xi = 0; xi < 16; ++xi) u[xi] = total[xi * xs + k];
        weight_transform_adjoint(u, g);
        for (int j = 0; j < 9; ++j) dweight[9 * k + j] += g[j];
      }
    }
  }
}

}  // namespace nn::winograd
