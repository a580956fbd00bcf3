// nn/winograd.cpp — see winograd.h.
#include "nn/winograd.h"

#include "base/aligned.h"

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
// bench/README.md.)  GEMMs run on column blocks of at most kGemmColumns columns (tiles ×
// lanes): with 36 planes a 256-column block of a 32-channel map is 1.2 MB of V and twice that of M,
// and 128 columns measured faster on the reference conv2 (bench/README.md).
constexpr int kImagesPerChunk = 8;  // = kLanes (below): a chunk is one vector of lanes
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
static_assert(kImagesPerChunk == kLanes, "the transforms address a chunk's lanes as one vector");
template <class V>
inline V loadv(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V>
inline void storev(float* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}
inline f8 load8(const float* p) { return loadv<f8>(p); }
inline void store8(float* p, const f8& v) { storev(p, v); }

// The data transforms run on packs of T tiles' lanes at once, one vector of 8·T floats with tile i of
// the pack in lanes 8i .. 8i+7: two tiles with AVX-512 (one 16-float instruction for both), else one.
// The arithmetic per lane is the same whichever pack or position a tile has, so results do not depend
// on T.  In V and M (column = tile·8 + lane) a pack's columns are adjacent: one load or store; in the
// padded input, its gradient and the NCHW maps each tile of the pack has its own addresses.
template <int T>
struct Pack;
template <>
struct Pack<1> {
  using V = f8;
  static V load(const float* const a[1], size_t offset) { return load8(a[0] + offset); }
  static f8 part(const V& v, int) { return v; }
  static V join(const f8 parts[1]) { return parts[0]; }
};
#if defined(__AVX512F__)
typedef float f16 __attribute__((vector_size(64)));
template <>
struct Pack<2> {
  using V = f16;
  static V load(const float* const a[2], size_t offset) {
    const f8 parts[2] = {load8(a[0] + offset), load8(a[1] + offset)};
    return join(parts);
  }
  static f8 part(const V& v, int i) {
    return i == 0 ? __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
                  : __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  }
  static V join(const f8 parts[2]) {
    return __builtin_shufflevector(parts[0], parts[1], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  }
};
constexpr int kPack = 2;
#else
constexpr int kPack = 1;
#endif

// The three maps and their adjoints (Lavin & Gray's F(4×4, 3×3), interpolation points 0, ±1, ±2, ∞),
// each applied to rows then columns:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// Each works on a vector of lanes at once (of images for the data, of (oc, c) pairs for the weights),
// reading its six (or three, four) inputs at stride `is` and writing at stride `os`.
template <class V>
inline void apply_bt(const V* d, int is, V* v, int os) {  // v = Bᵀ d
  const V a = d[4 * is] - 4.f * d[2 * is], b = d[3 * is] - 4.f * d[is];
  const V c = d[4 * is] - d[2 * is], e = 2.f * (d[3 * is] - d[is]);
  v[0] = 4.f * d[0] - 5.f * d[2 * is] + d[4 * is];
  v[os] = a + b, v[2 * os] = a - b, v[3 * os] = c + e, v[4 * os] = c - e;
  v[5 * os] = 4.f * d[is] - 5.f * d[3 * is] + d[5 * is];
}
template <class V>
inline void apply_bt_store(const V* d, int is, float* v, size_t os) {  // v = Bᵀ d, stored at stride os
  V out[6];  // from registers to memory (no array of the whole tile in between)
  apply_bt(d, is, out, 1);
  for (int i = 0; i < 6; ++i) storev(v + i * os, out[i]);
}
template <class V>
inline void apply_b(const V* w, int is, V* d, int os) {  // d = B w, the adjoint of apply_bt
  const V w0 = w[0], w1 = w[is], w2 = w[2 * is], w3 = w[3 * is], w4 = w[4 * is], w5 = w[5 * is];
  d[0] = 4.f * w0;
  d[os] = 4.f * (w2 - w1 + w5) + 2.f * (w4 - w3);
  d[2 * os] = -5.f * w0 - 4.f * (w1 + w2) - (w3 + w4);
  d[3 * os] = (w1 - w2) + 2.f * (w3 - w4) - 5.f * w5;
  d[4 * os] = w0 + w1 + w2 + w3 + w4;
  d[5 * os] = w5;
}
template <class V>
inline void apply_at(const V* m, int is, V* y, int os) {  // y = Aᵀ m
  const V p = m[is] + m[2 * is], q = m[is] - m[2 * is], r = m[3 * is] + m[4 * is], s = m[3 * is] - m[4 * is];
  y[0] = m[0] + p + r;
  y[os] = q + 2.f * s;
  y[2 * os] = p + 4.f * r;
  y[3 * os] = q + 8.f * s + m[5 * is];
}
template <class V>
inline void apply_a(const V* g, int is, V* m, int os) {  // m = A g, the adjoint of apply_at
  const V g0 = g[0], g1 = g[is], g2 = g[2 * is], g3 = g[3 * is];
  const V even = g0 + g2, odd = g1 + g3, even4 = g0 + 4.f * g2, odd8 = 2.f * g1 + 8.f * g3;
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
// around it and zeros past the last tile, PH × PW).  A chunk of `count` ≤ 8 images is laid out with
// the image innermost, in L = 8 lanes (when count < 8 the extra lanes hold zeros and are never stored):
//   Xp (C, PH, PW, L)   the padded input (dXp: its gradient)
//   V (36, C, P)        for one column block of tiles: P = (its tiles)·L, column p = tile·L + lane
//   M (36, OC, P)       U·V
// so every transform is 8-wide arithmetic on 8 images at once.  The output side needs no layout of
// its own: the output transform writes y and its adjoint reads dy (NCHW) directly.
struct Tiling {
  int H, W, TH, TW, PH, PW;
  Tiling(int h, int w)
      : H(h), W(w), TH((h + kOut - 1) / kOut), TW((w + kOut - 1) / kOut), PH(kOut * TH + 2), PW(kOut * TW + 2) {}
  int tiles() const { return TH * TW; }
};

// Tiles per column block: a block's GEMMs have kGemmColumns columns (the last block fewer), and its
// transformed arrays stay in cache between the transforms and the GEMMs.
constexpr int kTilesPerBlock = std::max(1, kGemmColumns / kLanes);

// Work arrays of one thread, kept between calls (grown, never shrunk) so that a step does not pay
// for allocating and zeroing megabytes.
struct Work {
  base::AlignedVector<float> padded, dpadded, tiles, product;
  base::AlignedVector<float> dU;  // backward: this thread's part of the weight gradient, (36, OC, C) with skews
};
Work& thread_work() {
  static thread_local Work work;
  return work;
}
float* at_least(base::AlignedVector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// One chunk of a thread's images, [first, first+count), in 8 lanes, and its work arrays (sized for C
// input and OC output channels): padded = Xp, tiles = V or dV and product = M or dM of one column
// block (block_tiles tiles), dpadded = dXp when `with_dx`.
struct Chunk {
  int first, count, block_tiles;
  float *padded, *dpadded, *tiles, *product;
  Chunk(Work& w, const Tiling& t, int C, int OC, int first_, int count_, bool with_dx)
      : first(first_), count(count_), block_tiles(std::min(t.tiles(), kTilesPerBlock)),
        padded(at_least(w.padded, size_t(C) * t.PH * t.PW * kLanes)),
        dpadded(with_dx ? at_least(w.dpadded, size_t(C) * t.PH * t.PW * kLanes) : nullptr),
        tiles(at_least(w.tiles, kPlanes * plane_stride(size_t(C) * block_tiles * kLanes))),
        product(at_least(w.product, kPlanes * plane_stride(size_t(OC) * block_tiles * kLanes))) {}
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

// Zeros in dst (C, PH, PW, L) wherever to_lanes does not write: everything when some lanes are unused,
// else only the frame of padding around each map.
void zero_unwritten(const Tiling& t, int C, const Chunk& k, float* dst) {
  const size_t row = size_t(t.PW) * kLanes, map = size_t(t.PH) * row;
  if (k.count < kLanes) {
    std::memset(dst, 0, sizeof(float) * C * map);
    return;
  }
  for (int c = 0; c < C; ++c) {
    float* p = dst + c * map;
    std::memset(p, 0, sizeof(float) * row);
    for (int y = 1; y <= t.H; ++y) {
      std::memset(p + y * row, 0, sizeof(float) * kLanes);
      std::memset(p + y * row + size_t(1 + t.W) * kLanes, 0, sizeof(float) * size_t(t.PW - 1 - t.W) * kLanes);
    }
    std::memset(p + size_t(1 + t.H) * row, 0, sizeof(float) * size_t(t.PH - 1 - t.H) * row);
  }
}

// Between NCHW and the padded lane layout: dst (C, PH, PW, L) ← the chunk's images of x (N, C, H, W),
// each map at row and column 1, zeros elsewhere and in the unused lanes ...  Eight images × eight
// columns at a time are one register transpose; the rest (a partial group of images, the last W mod 8
// columns) element by element.
void to_lanes(const Tiling& t, const float* x, int C, const Chunk& k, float* dst) {
  const size_t plane = size_t(t.H) * t.W;
  zero_unwritten(t, C, k, dst);
  const int full = kTranspose8 ? k.count / kLanes * kLanes : 0, wide = kTranspose8 ? t.W / kLanes * kLanes : 0;
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < t.H; ++y) {
      float* d = dst + ((size_t(c) * t.PH + y + 1) * t.PW + 1) * kLanes;
#if defined(__AVX__)
      for (int g = 0; g < full; g += kLanes)
        for (int xx = 0; xx < wide; xx += kLanes) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i)
            r[i] = _mm256_loadu_ps(x + (size_t(k.first + g + i) * C + c) * plane + size_t(y) * t.W + xx);
          transpose8(r);
          for (int j = 0; j < 8; ++j) _mm256_storeu_ps(d + size_t(xx + j) * kLanes + g, r[j]);
        }
#endif
      for (int i = 0; i < k.count; ++i) {
        const float* src = x + (size_t(k.first + i) * C + c) * plane + size_t(y) * t.W;
        for (int xx = i < full ? wide : 0; xx < t.W; ++xx) d[size_t(xx) * kLanes + i] = src[xx];
      }
    }
}

// ... and back: the chunk's images of x (N, C, H, W) ← src's maps (the padding is dropped).
void from_lanes(const Tiling& t, const float* src, int C, const Chunk& k, float* x) {
  const size_t plane = size_t(t.H) * t.W;
  const int full = kTranspose8 ? k.count / kLanes * kLanes : 0, wide = kTranspose8 ? t.W / kLanes * kLanes : 0;
  for (int c = 0; c < C; ++c)
    for (int yy = 0; yy < t.H; ++yy) {
      const float* q = src + ((size_t(c) * t.PH + yy + 1) * t.PW + 1) * kLanes;
#if defined(__AVX__)
      for (int g = 0; g < full; g += kLanes)
        for (int xx = 0; xx < wide; xx += kLanes) {
          __m256 r[8];
          for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(q + size_t(xx + j) * kLanes + g);
          transpose8(r);
          for (int i = 0; i < 8; ++i)
            _mm256_storeu_ps(x + (size_t(k.first + g + i) * C + c) * plane + size_t(yy) * t.W + xx, r[i]);
        }
#endif
      for (int i = 0; i < k.count; ++i) {
        float* dst = x + (size_t(k.first + i) * C + c) * plane + size_t(yy) * t.W;
        for (int xx = i < full ? wide : 0; xx < t.W; ++xx) dst[xx] = q[size_t(xx) * kLanes + i];
      }
    }
}

// The four values of a tile row for eight images: a[j] holds column j, one lane per image; image i's
// four values go to dst + i·image_stride (and back: gather).  A 4 × 8 transpose in registers, pure data
// movement.
#if defined(__AVX__)
inline void scatter_row4(const f8 a[4], float* dst, size_t image_stride) {
  const __m256 a0 = __m256(a[0]), a1 = __m256(a[1]), a2 = __m256(a[2]), a3 = __m256(a[3]);
  const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
  const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
  const __m256 u[4] = {_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                       _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
  for (int i = 0; i < 4; ++i) {  // u[i] holds images i and i + 4
    _mm_storeu_ps(dst + size_t(i) * image_stride, _mm256_castps256_ps128(u[i]));
    _mm_storeu_ps(dst + size_t(i + 4) * image_stride, _mm256_extractf128_ps(u[i], 1));
  }
}
inline void gather_row4(const float* src, size_t image_stride, f8 a[4]) {
  __m256 u[4];
  for (int i = 0; i < 4; ++i)
    u[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(src + size_t(i) * image_stride)),
                                _mm_loadu_ps(src + size_t(i + 4) * image_stride), 1);
  const __m256 t0 = _mm256_unpacklo_ps(u[0], u[1]), t1 = _mm256_unpackhi_ps(u[0], u[1]);
  const __m256 t2 = _mm256_unpacklo_ps(u[2], u[3]), t3 = _mm256_unpackhi_ps(u[2], u[3]);
  a[0] = f8(_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)));
  a[1] = f8(_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)));
  a[2] = f8(_mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)));
  a[3] = f8(_mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)));
}
#endif

// The padded patch of tile `tile` in channel c of a lane array (C, PH, PW, kLanes): its top-left value.
inline size_t patch_at(const Tiling& t, int c, int tile) {
  return ((size_t(c) * t.PH + kOut * (tile / t.TW)) * t.PW + kOut * (tile % t.TW)) * kLanes;
}

// V (36, C, P) = Bᵀ d B for the patch d of every tile in [t0, t1): column p = (tile − t0)·8 + lane,
// P = (t1 − t0)·8.  Tiles go in packs of kPack, the last ones one by one.
template <int T>
inline void input_pack(const Tiling& t, const float* Xp, int c, int tile, float* v, size_t xs) {
  using V = typename Pack<T>::V;
  const size_t row = size_t(t.PW) * kLanes;
  const float* d[T];
  for (int i = 0; i < T; ++i) d[i] = Xp + patch_at(t, c, tile + i);
  V p[kPlanes], h[kPlanes];  // the patch, h = d B (each patch row), then v = Bᵀ h
  for (int r = 0; r < kPatch; ++r)
    for (int j = 0; j < kPatch; ++j) p[kPatch * r + j] = Pack<T>::load(d, r * row + size_t(j) * kLanes);
  for (int r = 0; r < kPatch; ++r) apply_bt(p + kPatch * r, 1, h + kPatch * r, 1);
  for (int j = 0; j < kPatch; ++j) apply_bt_store(h + j, kPatch, v + j * xs, kPatch * xs);
}
void transform_inputs(const Tiling& t, const float* Xp, int C, int t0, int t1, float* V) {
  const size_t P = size_t(t1 - t0) * kLanes, xs = plane_stride(size_t(C) * P);
  for (int c = 0; c < C; ++c) {
    float* v = V + size_t(c) * P;  // v + (tile − t0)·8: the tile's columns
    int tile = t0;
    for (; tile + kPack <= t1; tile += kPack) input_pack<kPack>(t, Xp, c, tile, v + size_t(tile - t0) * kLanes, xs);
    for (; tile < t1; ++tile) input_pack<1>(t, Xp, c, tile, v + size_t(tile - t0) * kLanes, xs);
  }
}

// dXp (C, PH, PW, kLanes) += Σ over the tiles in [t0, t1) of B dV Bᵀ added into each tile's patch, dV
// laid out as transform_inputs' V: the adjoint of transform_inputs.  The caller zeroes dXp first.
// Patches overlap; each value receives its tiles' terms in tile order, packs or not.
template <int T>
inline void input_grad_pack(const Tiling& t, const float* v, size_t xs, int c, int tile, float* dXp) {
  using V = typename Pack<T>::V;
  const size_t row = size_t(t.PW) * kLanes;
  V w[kPlanes], h[kPlanes];  // h = B w (columns), then the patch's gradient h Bᵀ (rows)
  for (int xi = 0; xi < kPlanes; ++xi) w[xi] = loadv<V>(v + xi * xs);
  for (int j = 0; j < kPatch; ++j) apply_b(w + j, kPatch, h + j, kPatch);
  for (int r = 0; r < kPatch; ++r) apply_b(h + kPatch * r, 1, w + kPatch * r, 1);
  for (int i = 0; i < T; ++i) {
    float* d = dXp + patch_at(t, c, tile + i);
    for (int r = 0; r < kPatch; ++r)
      for (int j = 0; j < kPatch; ++j) {
        float* q = d + r * row + size_t(j) * kLanes;
        store8(q, load8(q) + Pack<T>::part(w[kPatch * r + j], i));
      }
  }
}
void transform_input_grads(const Tiling& t, const float* dV, int C, int t0, int t1, float* dXp) {
  const size_t P = size_t(t1 - t0) * kLanes, xs = plane_stride(size_t(C) * P);
  for (int c = 0; c < C; ++c) {
    const float* v = dV + size_t(c) * P;
    int tile = t0;
    for (; tile + kPack <= t1; tile += kPack) input_grad_pack<kPack>(t, v + size_t(tile - t0) * kLanes, xs, c, tile, dXp);
    for (; tile < t1; ++tile) input_grad_pack<1>(t, v + size_t(tile - t0) * kLanes, xs, c, tile, dXp);
  }
}

// One tile of the chunk's images of y (N, OC, H, W) ← o (its 4 × 4 outputs, one lane per image), and
// back (dY, zeros past the map's edge and in unused lanes).  A tile of eight images whose outputs all
// lie inside the map goes by scatter_row4 / gather_row4; others (a partial group of images, a tile
// past the map's edge) element by element.
inline bool whole_tile(const Tiling& t, const Chunk& k, int tile) {
  return k.count == kLanes && kOut * (tile / t.TW + 1) <= t.H && kOut * (tile % t.TW + 1) <= t.W;
}
inline size_t tile_origin(const Tiling& t, const Chunk& k, int OC, int oc, int tile) {  // image k.first's
  return (size_t(k.first) * OC + oc) * t.H * t.W + size_t(kOut * (tile / t.TW)) * t.W + kOut * (tile % t.TW);
}
void store_tile(const Tiling& t, const Chunk& k, int OC, int oc, int tile, const f8 o[kOut * kOut], float* y) {
  float* dst = y + tile_origin(t, k, OC, oc, tile);
  const size_t image = size_t(OC) * t.H * t.W;
#if defined(__AVX__)
  if (whole_tile(t, k, tile)) {
    for (int r = 0; r < kOut; ++r) scatter_row4(o + kOut * r, dst + size_t(r) * t.W, image);
    return;
  }
#endif
  float v[kOut * kOut][kLanes];
  for (int i = 0; i < kOut * kOut; ++i) store8(v[i], o[i]);
  const int ty = tile / t.TW, tx = tile % t.TW;
  for (int i = 0; i < k.count; ++i)
    for (int r = 0; r < kOut && kOut * ty + r < t.H; ++r)
      for (int j = 0; j < kOut && kOut * tx + j < t.W; ++j) dst[size_t(i) * image + size_t(r) * t.W + j] = v[kOut * r + j][i];
}
void load_tile(const Tiling& t, const Chunk& k, int OC, int oc, int tile, const float* dy, f8 o[kOut * kOut]) {
  const float* src = dy + tile_origin(t, k, OC, oc, tile);
  const size_t image = size_t(OC) * t.H * t.W;
#if defined(__AVX__)
  if (whole_tile(t, k, tile)) {
    for (int r = 0; r < kOut; ++r) gather_row4(src + size_t(r) * t.W, image, o + kOut * r);
    return;
  }
#endif
  float v[kOut * kOut][kLanes] = {};
  const int ty = tile / t.TW, tx = tile % t.TW;
  for (int i = 0; i < k.count; ++i)
    for (int r = 0; r < kOut && kOut * ty + r < t.H; ++r)
      for (int j = 0; j < kOut && kOut * tx + j < t.W; ++j) v[kOut * r + j][i] = src[size_t(i) * image + size_t(r) * t.W + j];
  for (int i = 0; i < kOut * kOut; ++i) o[i] = load8(v[i]);
}

// The chunk's images of y (N, OC, H, W) = Aᵀ m A + bias (per plane, when not null) for the tiles in
// [t0, t1), M (36, OC, P) laid out as transform_inputs' V.
template <int T>
inline void output_pack(const Tiling& t, const Chunk& k, const float* m, size_t xs, int OC, int oc, int tile, const f8& b,
                        float* y) {
  using V = typename Pack<T>::V;
  V w[kPlanes], q[kOut * kPatch], o[kOut * kOut];  // q = Aᵀ m (columns), then o = q A (rows)
  for (int xi = 0; xi < kPlanes; ++xi) w[xi] = loadv<V>(m + xi * xs);
  for (int j = 0; j < kPatch; ++j) apply_at(w + j, kPatch, q + j, kPatch);
  for (int r = 0; r < kOut; ++r) apply_at(q + kPatch * r, 1, o + kOut * r, 1);
  for (int i = 0; i < T; ++i) {
    f8 oi[kOut * kOut];
    for (int n = 0; n < kOut * kOut; ++n) oi[n] = Pack<T>::part(o[n], i) + b;
    store_tile(t, k, OC, oc, tile + i, oi, y);
  }
}
void transform_outputs(const Tiling& t, const float* M, int OC, const Chunk& k, int t0, int t1, const float* bias,
                       float* y) {
  const size_t P = size_t(t1 - t0) * kLanes, xs = plane_stride(size_t(OC) * P);
  for (int oc = 0; oc < OC; ++oc) {
    const f8 b = f8{} + (bias ? bias[oc] : 0.f);
    const float* m = M + size_t(oc) * P;
    int tile = t0;
    for (; tile + kPack <= t1; tile += kPack) output_pack<kPack>(t, k, m + size_t(tile - t0) * kLanes, xs, OC, oc, tile, b, y);
    for (; tile < t1; ++tile) output_pack<1>(t, k, m + size_t(tile - t0) * kLanes, xs, OC, oc, tile, b, y);
  }
}

// dM (36, OC, P) = A dY Aᵀ per tile in [t0, t1), dY read from the chunk's images of dy (N, OC, H, W):
// the adjoint of transform_outputs (without the bias).
template <int T>
inline void output_grad_pack(const Tiling& t, const Chunk& k, const float* dy, int OC, int oc, int tile, float* m,
                             size_t xs) {
  using V = typename Pack<T>::V;
  f8 yi[T][kOut * kOut];
  for (int i = 0; i < T; ++i) load_tile(t, k, OC, oc, tile + i, dy, yi[i]);
  V y[kOut * kOut], a[kPatch * kOut], w[kPlanes];  // a = A y (columns), then w = a Aᵀ (rows)
  for (int n = 0; n < kOut * kOut; ++n) {
    f8 parts[T];
    for (int i = 0; i < T; ++i) parts[i] = yi[i][n];
    y[n] = Pack<T>::join(parts);
  }
  for (int j = 0; j < kOut; ++j) apply_a(y + j, kOut, a + j, kOut);
  for (int r = 0; r < kPatch; ++r) apply_a(a + kOut * r, 1, w + kPatch * r, 1);
  for (int xi = 0; xi < kPlanes; ++xi) storev(m + xi * xs, w[xi]);
}
void transform_output_grads(const Tiling& t, const float* dy, int OC, const Chunk& k, int t0, int t1, float* dM) {
  const size_t P = size_t(t1 - t0) * kLanes, xs = plane_stride(size_t(OC) * P);
  for (int oc = 0; oc < OC; ++oc) {
    float* m = dM + size_t(oc) * P;
    int tile = t0;
    for (; tile + kPack <= t1; tile += kPack) output_grad_pack<kPack>(t, k, dy, OC, oc, tile, m + size_t(tile - t0) * kLanes, xs);
    for (; tile < t1; ++tile) output_grad_pack<1>(t, k, dy, OC, oc, tile, m + size_t(tile - t0) * kLanes, xs);
  }
}

// out[ξ] (rows, n) = a[ξ] (rows, inner) · b[ξ] (inner, n) for the 36 ξ; a is U (36, OC, C), so
// `rows · inner` is OC·C either way; b is (36, inner, n), out is (36, rows, n); n ≤ kGemmColumns (one
// column block of tiles, see forward).  Each
// plane of out is zeroed with a memset right before its GEMM, which accumulates into it (β = 1):
// OpenBLAS's β = 0 path zeroes C with scalar stores before accumulating, the same bits (0 + Σ) at
// several times the cost for these small-K GEMMs (bench/README.md, "Zeroing before the GEMMs").  One
// plane at a time (not the 36 planes at once, up to 2 MB, more than L2) so that the GEMM finds its
// zeroed C still in cache; the skew between planes is never read and is not zeroed.
void gemm_planes(int rows, int inner, int n, const float* a, bool transpose_a, const float* b, float* out) {
  for (int xi = 0; xi < kPlanes; ++xi) {
    float* c = out + xi * plane_stride(size_t(rows) * n);
    std::memset(c, 0, sizeof(float) * size_t(rows) * n);
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, CblasNoTrans, rows, n, inner, 1.f,
                a + xi * plane_stride(size_t(rows) * inner), transpose_a ? rows : inner,
                b + xi * plane_stride(size_t(inner) * n), n, 1.f, c, n);
  }
}

// Calls f(chunk) for the chunks of this thread's images: one contiguous range of the N images per
// thread (the same split in forward and backward), cut into chunks of kImagesPerChunk.
template <class F>
void for_my_chunks(int N, const Tiling& t, int C, int OC, bool with_dx, F f) {
  const int nt = omp_get_num_threads(), id = omp_get_thread_num();
  const int first = int(int64_t(N) * id / nt), end = int(int64_t(N) * (id + 1) / nt);
  Work& w = thread_work();
  for (int b = first; b < end; b += kImagesPerChunk) f(Chunk(w, t, C, OC, b, std::min(kImagesPerChunk, end - b), with_dx));
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
  for_my_chunks(N, t, C, OC, false, [&](const Chunk& k) {
    to_lanes(t, x, C, k, k.padded);
    // One column block of tiles at a time, so that its V and M stay in cache between the transforms
    // and the GEMMs.
    for (int t0 = 0; t0 < t.tiles(); t0 += k.block_tiles) {
      const int t1 = std::min(t.tiles(), t0 + k.block_tiles), n = (t1 - t0) * kLanes;
      transform_inputs(t, k.padded, C, t0, t1, k.tiles);
      gemm_planes(OC, C, n, U, false, k.tiles, k.product);  // M[ξ] (OC, n) = U[ξ] (OC, C) · V[ξ] (C, n)
      transform_outputs(t, k.product, OC, k, t0, t1, bias, y);
    }
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
    base::AlignedVector<float>& dU = thread_work().dU;
    if (dweight) {
      dU.assign(nU, 0.f);
      partial[size_t(omp_get_thread_num())] = dU.data();
    }
    // One column block of tiles at a time, as forward: dM, then V and the weight gradient's GEMMs,
    // then dV and its adjoint added into dXp.
    for_my_chunks(N, t, C, OC, dx != nullptr, [&](const Chunk& k) {
      if (dweight) to_lanes(t, x, C, k, k.padded);
      if (dx) std::memset(k.dpadded, 0, sizeof(float) * size_t(C) * t.PH * t.PW * kLanes);
      for (int t0 = 0; t0 < t.tiles(); t0 += k.block_tiles) {
        const int t1 = std::min(t.tiles(), t0 + k.block_tiles), n = (t1 - t0) * kLanes;
        transform_output_grads(t, dy, OC, k, t0, t1, k.product);
        if (dweight) {  // dU[ξ] (OC, C) += dM[ξ] (OC, n) · V[ξ]ᵀ (n, C)
          transform_inputs(t, k.padded, C, t0, t1, k.tiles);
          for (int xi = 0; xi < kPlanes; ++xi)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, n, 1.f, k.product + xi * plane_stride(size_t(OC) * n),
                        n, k.tiles + xi * plane_stride(size_t(C) * n), n, 1.f, dU.data() + xi * plane_stride(nOC_C), C);
        }
        if (dx) {  // dV[ξ] (C, n) = U[ξ]ᵀ (C, OC) · dM[ξ] (OC, n), into V's storage, then to dx
          gemm_planes(C, OC, n, U, true, k.product, k.tiles);
          transform_input_grads(t, k.tiles, C, t0, t1, k.dpadded);
        }
      }
      if (dx) from_lanes(t, k.dpadded, C, k, dx);
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
