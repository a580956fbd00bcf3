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
// index, one vector of 8 lanes.  (16 images on maps of up to 32 tiles paid under F(2×2, 3×3); under
// F(4×4) 8 measured 15–20% faster on 16×16 maps and 2–8% on 8×8 ones, with half the work arrays:
// bench/README.md, 2026-12-02.)  GEMMs run on column blocks of at most kGemmColumns columns (tiles ×
// lanes): with 36 planes a 256-column block of a 32-channel map is 1.2 MB of V and twice that of M,
// and 128 columns measured faster on the reference conv2 (bench/README.md).
constexpr int kImagesPerChunk = 8;
constexpr int kGemmColumns = 128;
// F(4×4, 3×3): each tile is 4×4 outputs computed from a 6×6 input patch, so a transformed array has
// kPlanes = 36 planes, one per position ξ of the 6×6 transformed tile.
constexpr int kOut = 4, kPatch = 6, kPlanes = kPatch * kPatch;
// The planes of a transformed array are written together, one stream each; planes a power of two
// apart would all map to the same L1 sets and evict each other, so each plane is followed by a skew.
constexpr size_t kSkew = 16;
inline size_t plane_stride(size_t n) { return n + kSkew; }

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

// The three maps and their adjoints (Lavin & Gray's F(4×4, 3×3), interpolation points 0, ±1, ±2, ∞),
// each applied to rows then columns:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// Each works on eight lanes at once (of images for the data, of (oc, c) pairs for the weights), reading
// its six (or three, four) inputs at stride `is` and writing at stride `os`.
inline void apply_bt(const f8* d, int is, f8* v, int os) {  // v = Bᵀ d
  const f8 a = d[4 * is] - 4.f * d[2 * is], b = d[3 * is] - 4.f * d[is];
  const f8 c = d[4 * is] - d[2 * is], e = 2.f * (d[3 * is] - d[is]);
  v[0] = 4.f * d[0] - 5.f * d[2 * is] + d[4 * is];
  v[os] = a + b, v[2 * os] = a - b, v[3 * os] = c + e, v[4 * os] = c - e;
  v[5 * os] = 4.f * d[is] - 5.f * d[3 * is] + d[5 * is];
}
inline void apply_b(const f8* w, int is, f8* d, int os) {  // d = B w, the adjoint of apply_bt
  const f8 w0 = w[0], w1 = w[is], w2 = w[2 * is], w3 = w[3 * is], w4 = w[4 * is], w5 = w[5 * is];
  d[0] = 4.f * w0;
  d[os] = 4.f * (w2 - w1 + w5) + 2.f * (w4 - w3);
  d[2 * os] = -5.f * w0 - 4.f * (w1 + w2) - (w3 + w4);
  d[3 * os] = (w1 - w2) + 2.f * (w3 - w4) - 5.f * w5;
  d[4 * os] = w0 + w1 + w2 + w3 + w4;
  d[5 * os] = w5;
}
inline void apply_at(const f8* m, int is, f8* y, int os) {  // y = Aᵀ m
  const f8 p = m[is] + m[2 * is], q = m[is] - m[2 * is], r = m[3 * is] + m[4 * is], s = m[3 * is] - m[4 * is];
  y[0] = m[0] + p + r;
  y[os] = q + 2.f * s;
  y[2 * os] = p + 4.f * r;
  y[3 * os] = q + 8.f * s + m[5 * is];
}
inline void apply_a(const f8* g, int is, f8* m, int os) {  // m = A g, the adjoint of apply_at
  const f8 g0 = g[0], g1 = g[is], g2 = g[2 * is], g3 = g[3 * is];
  const f8 even = g0 + g2, odd = g1 + g3, even4 = g0 + 4.f * g2, odd8 = 2.f * g1 + 8.f * g3;
  m[0] = g0;
  m[os] = even + odd, m[2 * os] = even - odd, m[3 * os] = even4 + odd8, m[4 * os] = even4 - odd8;
  m[5 * os] = g3;
}
// G's fractions as products (a division is ~10× a multiplication's cost, and U is rebuilt on every
// forward and backward); ⅙, 1/12, 1/24 are the floats nearest them.
constexpr float kSixth = 1.f / 6.f, kTwelfth = 1.f / 12.f, kTwentyFourth = 1.f / 24.f;
inline void apply_g(const f8* g, int is, f8* u, int os) {  // u = G g
  const f8 g0 = g[0], g1 = g[is], g2 = g[2 * is];
  const f8 a = g0 * kTwentyFourth + g2 * kSixth, b = g1 * kTwelfth;
  u[0] = g0 * 0.25f;
  u[os] = -(g0 + g1 + g2) * kSixth;
  u[2 * os] = -(g0 - g1 + g2) * kSixth;
  u[3 * os] = a + b;
  u[4 * os] = a - b;
  u[5 * os] = g2;
}
inline void apply_gt(const f8* u, int is, f8* g, int os) {  // g = Gᵀ u, the adjoint of apply_g
  const f8 u0 = u[0], u1 = u[is], u2 = u[2 * is], u3 = u[3 * is], u4 = u[4 * is], u5 = u[5 * is];
  g[0] = u0 * 0.25f - (u1 + u2) * kSixth + (u3 + u4) * kTwentyFourth;
  g[os] = (u2 - u1) * kSixth + (u3 - u4) * kTwelfth;
  g[2 * os] = (u3 + u4 - u1 - u2) * kSixth + u5;
}

// u = G g Gᵀ (g 3×3, u 6×6), for eight (oc, c) pairs at once.
inline void weight_transform(const f8 g[9], f8 u[kPlanes]) {
  f8 t[kPatch * 3];  // G g: 6×3
  for (int j = 0; j < 3; ++j) apply_g(g + j, 3, t + j, 3);
  for (int i = 0; i < kPatch; ++i) apply_g(t + 3 * i, 1, u + kPatch * i, 1);
}

// g = Gᵀ u G: the adjoint of weight_transform.
inline void weight_transform_adjoint(const f8 u[kPlanes], f8 g[9]) {
  f8 t[3 * kPatch];  // Gᵀ u: 3×6
  for (int j = 0; j < kPatch; ++j) apply_gt(u + j, kPatch, t + j, kPatch);
  for (int i = 0; i < 3; ++i) apply_gt(t + kPatch * i, 1, g + 3 * i, 1);
}


// The tiling of one (H, W) map: TH × TW tiles of 4×4 outputs; tile (ty, tx) reads the 6×6 patch of
// padded rows 4ty .. 4ty+5 and padded columns 4tx .. 4tx+5 (padded = the map with one pixel of zeros
// around it and zeros past the last tile, PH × PW).  A chunk of `count` images is laid out with the
// image innermost, in L lanes (count rounded up to a multiple of 8; the extra lanes hold zeros and
// are never stored; with kImagesPerChunk = 8, L is 8, and the loops over lane groups run once: they stay
// general so that the chunk size remains one constant to measure):
//   Xp (C, PH, PW, L)   the padded input         V (36, C, P)   P = T·L, column p = tile·L + lane
//   M (36, OC, P)       U·V                      Yt (OC, 4TH, 4TW, L)  the output tiles
// so every transform is 8-wide arithmetic on 8 images at once.
struct Tiling {
  int H, W, TH, TW, PH, PW;
  Tiling(int h, int w)
      : H(h), W(w), TH((h + kOut - 1) / kOut), TW((w + kOut - 1) / kOut), PH(kOut * TH + 2), PW(kOut * TW + 2) {}
  int tiles() const { return TH * TW; }
};

// Work arrays of one thread, kept between calls (grown, never shrunk) so that a step does not pay
// for allocating and zeroing megabytes.
struct Work {
  std::vector<float> padded, tiles, product, out;
  std::vector<float> dU;  // backward: this thread's part of the weight gradient, (36, OC, C) with skews
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
        tiles(at_least(w.tiles, kPlanes * plane_stride(C * P))),
        product(at_least(w.product, kPlanes * plane_stride(OC * P))),
        out(at_least(w.out, size_t(OC) * kOut * kOut * P)) {}
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

// V (36, C, P) = Bᵀ d B for the patch d of every tile in [t0, t1): column p = (tile − t0)·L + lane,
// P = (t1 − t0)·L.
void transform_inputs(const Tiling& t, const float* Xp, int C, int L, int t0, int t1, float* V) {
  const size_t P = size_t(t1 - t0) * L, xs = plane_stride(size_t(C) * P), row = size_t(t.PW) * L;
  for (int c = 0; c < C; ++c)
    for (int tile = t0; tile < t1; ++tile) {
      const int ty = tile / t.TW, tx = tile % t.TW;
      for (int g = 0; g < L; g += kLanes) {
        const float* d = Xp + ((size_t(c) * t.PH + kOut * ty) * t.PW + kOut * tx) * L + g;
        float* v = V + size_t(c) * P + size_t(tile - t0) * L + g;
        f8 p[kPlanes], h[kPlanes];  // the patch, h = d B (each patch row), then v = Bᵀ h
        for (int r = 0; r < kPatch; ++r)
          for (int j = 0; j < kPatch; ++j) p[kPatch * r + j] = load8(d + r * row + size_t(j) * L);
        for (int r = 0; r < kPatch; ++r) apply_bt(p + kPatch * r, 1, h + kPatch * r, 1);
        for (int j = 0; j < kPatch; ++j) apply_bt(h + j, kPatch, p + j, kPatch);
        for (int xi = 0; xi < kPlanes; ++xi) store8(v + xi * xs, p[xi]);
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
        float* d = dXp + ((size_t(c) * t.PH + kOut * ty) * t.PW + kOut * tx) * L + g;
        const float* v = dV + size_t(c) * P + size_t(tile - t0) * L + g;
        f8 w[kPlanes], h[kPlanes];  // h = B w (columns), then the patch's gradient h Bᵀ (rows)
        for (int xi = 0; xi < kPlanes; ++xi) w[xi] = load8(v + xi * xs);
        for (int j = 0; j < kPatch; ++j) apply_b(w + j, kPatch, h + j, kPatch);
        for (int r = 0; r < kPatch; ++r) apply_b(h + kPatch * r, 1, w + kPatch * r, 1);
        for (int r = 0; r < kPatch; ++r)
          for (int j = 0; j < kPatch; ++j) {
            float* q = d + r * row + size_t(j) * L;
            store8(q, load8(q) + w[kPatch * r + j]);
          }
      }
    }
}

// Yt (OC, 4TH, 4TW, L) = Aᵀ m A for the tiles in [t0, t1), M (36, OC, P) laid out as transform_inputs'
// V.
void transform_outputs(const Tiling& t, const float* M, int OC, int L, int t0, int t1, float* Yt) {
  const size_t P = size_t(t1 - t0) * L, xs = plane_stride(size_t(OC) * P), row = size_t(kOut * t.TW) * L;
  for (int oc = 0; oc < OC; ++oc)
    for (int tile = t0; tile < t1; ++tile) {
      const int ty = tile / t.TW, tx = tile % t.TW;
      for (int g = 0; g < L; g += kLanes) {
        const float* m = M + size_t(oc) * P + size_t(tile - t0) * L + g;
        float* y = Yt + ((size_t(oc) * kOut * t.TH + kOut * ty) * kOut * t.TW + kOut * tx) * L + g;
        f8 w[kPlanes], q[kOut * kPatch], o[kOut * kOut];  // q = Aᵀ m (columns), then o = q A (rows)
        for (int xi = 0; xi < kPlanes; ++xi) w[xi] = load8(m + xi * xs);
        for (int j = 0; j < kPatch; ++j) apply_at(w + j, kPatch, q + j, kPatch);
        for (int r = 0; r < kOut; ++r) apply_at(q + kPatch * r, 1, o + kOut * r, 1);
        for (int r = 0; r < kOut; ++r)
          for (int j = 0; j < kOut; ++j) store8(y + r * row + size_t(j) * L, o[kOut * r + j]);
      }
    }
}

// dM (36, OC, P) = A dY Aᵀ per tile, from Gt (OC, 4TH, 4TW, L) = dY in lanes, zero past the edge:
// the adjoint of transform_outputs.
void transform_output_grads(const Tiling& t, const float* Gt, int OC, int L, float* dM) {
  const size_t P = size_t(t.tiles()) * L, xs = plane_stride(size_t(OC) * P), row = size_t(kOut * t.TW) * L;
  for (int oc = 0; oc < OC; ++oc)
    for (int ty = 0; ty < t.TH; ++ty)
      for (int tx = 0; tx < t.TW; ++tx)
        for (int g = 0; g < L; g += kLanes) {
          const float* q = Gt + ((size_t(oc) * kOut * t.TH + kOut * ty) * kOut * t.TW + kOut * tx) * L + g;
          float* m = dM + size_t(oc) * P + (size_t(ty) * t.TW + tx) * L + g;
          f8 y[kOut * kOut], a[kPatch * kOut], w[kPlanes];  // a = A y (columns), then w = a Aᵀ (rows)
          for (int r = 0; r < kOut; ++r)
            for (int j = 0; j < kOut; ++j) y[kOut * r + j] = load8(q + r * row + size_t(j) * L);
          for (int j = 0; j < kOut; ++j) apply_a(y + j, kOut, a + j, kOut);
          for (int r = 0; r < kPatch; ++r) apply_a(a + kOut * r, 1, w + kPatch * r, 1);
          for (int xi = 0; xi < kPlanes; ++xi) store8(m + xi * xs, w[xi]);
        }
}

// out[ξ] (rows, n) = a[ξ] (rows, inner) · b[ξ] (inner, n) for the 36 ξ; a is U (36, OC, C), so
// `rows · inner` is OC·C either way; b's planes hold `ldb` ≥ n columns (b may point into a wider
// array), out is (36, rows, n); n ≤ kGemmColumns (one column block of tiles, see forward).  Each
// plane of out is zeroed with a memset right before its GEMM, which accumulates into it (β = 1):
// OpenBLAS's β = 0 path zeroes C with scalar stores before accumulating, the same bits (0 + Σ) at
// several times the cost for these small-K GEMMs (bench/README.md, "Zeroing before the GEMMs").  One
// plane at a time (not the 36 planes at once, up to 2 MB, more than L2) so that the GEMM finds its
// zeroed C still in cache; the skew between planes is never read and is not zeroed.
void gemm_planes(int rows, int inner, int n, const float* a, bool transpose_a, const float* b, size_t ldb, float* out) {
  for (int xi = 0; xi < kPlanes; ++xi) {
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

// Calls f(chunk) for the chunks of this thread's images: one contiguous range of the N images per
// thread (the same split in forward and backward), cut into chunks of kImagesPerChunk.
template <class F>
void for_my_chunks(int N, const Tiling& t, int C, int OC, F f) {
  const int nt = omp_get_num_threads(), id = omp_get_thread_num();
  const int first = int(int64_t(N) * id / nt), end = int(int64_t(N) * (id + 1) / nt);
  Work& w = thread_work();
  for (int b = first; b < end; b += kImagesPerChunk) f(Chunk(w, t, C, OC, b, std::min(kImagesPerChunk, end - b)));
}

}  // namespace

bool fits(int kh, int kw, int stride, int pad) { return kh == 3 && kw == 3 && stride == 1 && pad == 1; }

bool suits(int kh, int kw, int stride, int pad, int in_channels, int out_channels) {
  return fits(kh, kw, stride, pad) && in_channels >= 16 && out_channels >= 16;
}

size_t transformed_size(int OC, int C) { return kPlanes * plane_stride(size_t(OC) * C); }

// Eight (oc, c) pairs at a time, one per lane (the last group's unused lanes hold zeros and are not
// stored): each pair's arithmetic is the same whichever lane it has.
void transform_weights(const float* weight, int OC, int C, float* U) {
  const int64_t n = int64_t(OC) * C;
  const size_t xs = plane_stride(size_t(n));
#pragma omp parallel for schedule(static)
  for (int64_t k0 = 0; k0 < n; k0 += kLanes) {
    const int count = int(std::min<int64_t>(kLanes, n - k0));
    float lanes[9][kLanes] = {};
    for (int i = 0; i < count; ++i)
      for (int j = 0; j < 9; ++j) lanes[j][i] = weight[9 * (k0 + i) + j];
    f8 g[9], u[kPlanes];
    for (int j = 0; j < 9; ++j) g[j] = load8(lanes[j]);
    weight_transform(g, u);
    for (int xi = 0; xi < kPlanes; ++xi) {
      float* dst = U + xi * xs + size_t(k0);
      if (count == kLanes) {
        store8(dst, u[xi]);
      } else {
        float v[kLanes];
        store8(v, u[xi]);
        std::copy(v, v + count, dst);
      }
    }
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
      gemm_planes(OC, C, n, U, false, k.tiles, n, k.product);  // M[ξ] (OC, n) = U[ξ] (OC, C) · V[ξ] (C, n)
      transform_outputs(t, k.product, OC, k.L, t0, t1, k.out);
    }
    from_lanes(t, k.out, OC, k, kOut * t.TH, kOut * t.TW, 0, bias, y);
  });
}

void backward(const float* x, const float* dy, int N, int C, int H, int W, const float* U, int OC, float* dx,
              float* dweight) {
  const Tiling t(H, W);
  const size_t nOC_C = size_t(OC) * C, nU = transformed_size(OC, C), xs = plane_stride(nOC_C);
  std::vector<float*> partial;  // per thread: its dU (36, OC, C), in its thread-local Work
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
      to_lanes(t, dy, OC, k, kOut * t.TH, kOut * t.TW, 0, k.out);
      transform_output_grads(t, k.out, OC, k.L, k.product);
      if (dweight) {  // dU[ξ] (OC, C) += dM[ξ] (OC, P) · V[ξ]ᵀ (P, C)
        to_lanes(t, x, C, k, t.PH, t.PW, 1, k.padded);
        transform_inputs(t, k.padded, C, k.L, 0, t.tiles(), k.tiles);
        for (int xi = 0; xi < kPlanes; ++xi)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, P, 1.f, k.product + xi * plane_stride(OC * k.P),
                      P, k.tiles + xi * plane_stride(C * k.P), P, 1.f, dU.data() + xi * plane_stride(nOC_C), C);
      }
      if (dx) {  // dV[ξ] (C, n) = U[ξ]ᵀ (C, OC) · dM[ξ] (OC, n) by column blocks, into V's storage, then to dx
        std::memset(k.padded, 0, sizeof(float) * size_t(C) * t.PH * t.PW * k.L);
        const int step = tiles_per_block(k.L);
        for (int t0 = 0; t0 < t.tiles(); t0 += step) {
          const int t1 = std::min(t.tiles(), t0 + step), n = (t1 - t0) * k.L;
          gemm_planes(C, OC, n, U, true, k.product + size_t(t0) * k.L, k.P, k.tiles);
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
      for (int64_t kk = 0; kk < int64_t(nOC_C); kk += kLanes) {  // eight pairs a time, as transform_weights
        const size_t k0 = size_t(kk);
        const int count = int(std::min<size_t>(kLanes, nOC_C - k0));
        f8 u[kPlanes], g[9];
        for (int xi = 0; xi < kPlanes; ++xi) {
          const float* src = total + xi * xs + k0;
          if (count == kLanes) {
            u[xi] = load8(src);
          } else {
            float v[kLanes] = {};
            std::copy(src, src + count, v);
            u[xi] = load8(v);
          }
        }
        weight_transform_adjoint(u, g);
        float lanes[9][kLanes];
        for (int j = 0; j < 9; ++j) store8(lanes[j], g[j]);
        for (int i = 0; i < count; ++i)
          for (int j = 0; j < 9; ++j) dweight[9 * (k0 + i) + j] += lanes[j][i];
      }
    }
  }
}

}  // namespace nn::winograd
