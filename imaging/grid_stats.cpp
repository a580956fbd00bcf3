#include "imaging/grid_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <utility>
#if defined(__SSE__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "base/error.h"
#include "imaging/net_view.h"
#include "nn/rng.h"

namespace imaging {

namespace {

// Below this many (unit or φ) values a loop runs on one thread: a parallel region costs more.
constexpr size_t kParallelWork = size_t(1) << 16;

struct ImageRegionStats {
  double mean_abs, variance;
  uint32_t active;
};

// even_region_stats<W, GW> is image_region_stats's computation (below) for an even grid of GW column
// cells of W columns each (width = W·GW: 32/8 = 4, 16/8 = 2, 8/8 = 1 and 4/4 = 1 under the default grid
// 8x8x4), W and GW known at compile time, GW a multiple of 4: region band by band, (k0, i0), the GW
// cells of the band side by side in vector lanes (4 cells a vector), each cell's sums kept in registers
// over its channels c and rows h in that order and, within a row, its W units from the left — the same
// units in the same (c, h, w) order from 0 as the general sweep, the same operations (a squared
// deviation added with one rounding, fused, on a target with FMA — where the compiler fuses the sweep's
// d·d + s — else two), so the same doubles to the bit (tests/imaging/test_grid_stats.cpp compares both
// kernels against a per-region loop).  The squared deviations read the band again while it is in
// cache.  No lookup table, no copied row, no heap buffer: the general sweep's gathers and per-row
// set-up dominated on these short rows (8 to 32 units).  A band's rows lie in C/gc channel planes, one
// short stretch in each, which the hardware prefetcher follows poorly: the next band's rows are
// prefetched (a hint: the same reads) while this band is summed, and each row's cells are regrouped
// into lanes with register shuffles (row_lanes) instead of one load per float.
// (Built without AVX, GCC warns that returning a Doubles4 by value has another ABI: irrelevant for these
// internal helpers, so the warning is off here, as in nn/winograd.cpp.  Its note on *passing* one by
// value ignores the pragma, so add_square takes references: the same instructions either way.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
using Doubles4 = double __attribute__((vector_size(32)));  // 4 cells' running sums
using Floats4 = float __attribute__((vector_size(16)));    // 4 cells' unit t of one row
using Counts4 = int64_t __attribute__((vector_size(32)));  // 4 cells' active counts (−1 per active unit)
using Bits4 = uint64_t __attribute__((vector_size(32)));   // the bits of a Doubles4

// s + d·d lane by lane, fused where the target has FMA: spelt out, since the compiler does not fuse it
// in every instantiation (even_region_stats<1, 4> was left unfused and differed from the sweep).
inline Doubles4 add_square(const Doubles4& s, const Doubles4& d) {
#ifdef __FMA__
  return Doubles4(_mm256_fmadd_pd(__m256d(d), __m256d(d), __m256d(s)));
#else
  return s + d * d;
#endif
}

// f[q][t] = unit t of cells 4q … 4q+3 of a row of GW cells of W columns: the row's floats regrouped
// in registers (W = 4, 8: a 4×4 transpose per 4 columns of 4 cells; W = 2: two shuffles; W = 1: one
// load) rather than read one float at a time.  The same floats either way.
template <int W, int GW>
inline void row_lanes(const float* row, Floats4 (&f)[GW / 4][W]) {
  for (int q = 0; q < GW / 4; ++q) {
    const float* cells = row + 4 * q * W;
#if defined(__SSE__)
    if constexpr (W % 4 == 0) {
      for (int t = 0; t < W; t += 4) {
        __m128 r0 = _mm_loadu_ps(cells + t), r1 = _mm_loadu_ps(cells + W + t), r2 = _mm_loadu_ps(cells + 2 * W + t),
               r3 = _mm_loadu_ps(cells + 3 * W + t);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        f[q][t] = Floats4(r0), f[q][t + 1] = Floats4(r1), f[q][t + 2] = Floats4(r2), f[q][t + 3] = Floats4(r3);
      }
      continue;
    } else if constexpr (W == 2) {
      const __m128 a = _mm_loadu_ps(cells), b = _mm_loadu_ps(cells + 4);  // cells 4q, 4q+1 | 4q+2, 4q+3
      f[q][0] = Floats4(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
      f[q][1] = Floats4(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
      continue;
    } else if constexpr (W == 1) {
      f[q][0] = Floats4(_mm_loadu_ps(cells));
      continue;
    }
#endif
    for (int t = 0; t < W; ++t) f[q][t] = Floats4{cells[t], cells[W + t], cells[2 * W + t], cells[3 * W + t]};
  }
}

template <int W, int GW>
void even_region_stats(const run::RegionGrid& grid, const float* sample, ImageRegionStats* stats) {
  static_assert(GW % 4 == 0, "4 cells a vector");
  constexpr int kWidth = W * GW, kVectors = GW / 4;
  const size_t plane = size_t(grid.height) * kWidth;  // one channel
  const Doubles4 threshold = {kActiveThreshold, kActiveThreshold, kActiveThreshold, kActiveThreshold};
  constexpr uint64_t kNoSign = ~(uint64_t(1) << 63);
  const Bits4 no_sign = {kNoSign, kNoSign, kNoSign, kNoSign};
  Floats4 f[kVectors][W];  // f[q][t]: unit t of cells 4q … 4q+3 of the current row (row_lanes)
  for (int k0 = 0; k0 < grid.gc; ++k0) {
    const run::Range chans = grid.chans(k0);
    for (int i0 = 0; i0 < grid.gh; ++i0) {
      const run::Range rows = grid.rows(i0);
      {  // prefetch the next band's rows, 64 bytes at a time
        const int nk = i0 + 1 < grid.gh ? k0 : k0 + 1, ni = i0 + 1 < grid.gh ? i0 + 1 : 0;
        if (nk < grid.gc) {
          const run::Range pc = grid.chans(nk), pr = grid.rows(ni);
          for (int c = pc.begin; c < pc.end; ++c)
            for (int h = pr.begin; h < pr.end; ++h) {
              const char* row = reinterpret_cast<const char*>(sample + size_t(c) * plane + size_t(h) * kWidth);
              for (int b = 0; b < int(kWidth * sizeof(float)); b += 64) __builtin_prefetch(row + b);
            }
        }
      }
      Doubles4 sum_abs[kVectors] = {}, sum[kVectors] = {}, squares[kVectors] = {}, mean[kVectors];
      Counts4 active[kVectors] = {};
      for (int c = chans.begin; c < chans.end; ++c)
        for (int h = rows.begin; h < rows.end; ++h) {
          row_lanes<W, GW>(sample + size_t(c) * plane + size_t(h) * kWidth, f);
          for (int t = 0; t < W; ++t)
            for (int q = 0; q < kVectors; ++q) {
              const Doubles4 v = __builtin_convertvector(f[q][t], Doubles4), magnitude = Doubles4(Bits4(v) & no_sign);  // std::fabs, NaN too
              sum_abs[q] += magnitude;
              sum[q] += v;
              active[q] += magnitude > threshold;  // −1 where active
            }
        }
      const double units = double(rows.size()) * W * chans.size();  // as the sweep's units: exact integers
      for (int q = 0; q < kVectors; ++q) mean[q] = sum[q] / units;
      for (int c = chans.begin; c < chans.end; ++c)
        for (int h = rows.begin; h < rows.end; ++h) {
          row_lanes<W, GW>(sample + size_t(c) * plane + size_t(h) * kWidth, f);
          for (int t = 0; t < W; ++t)
            for (int q = 0; q < kVectors; ++q) {
              const Doubles4 d = __builtin_convertvector(f[q][t], Doubles4) - mean[q];
              squares[q] = add_square(squares[q], d);
            }
        }
      for (int q = 0; q < kVectors; ++q)
        for (int l = 0; l < 4; ++l)
          stats[grid.index(i0, 4 * q + l, k0)] = {sum_abs[q][l] / units, squares[q][l] / units, uint32_t(-active[q][l])};
    }
  }
}

// even_region_stats<W, GW>(grid, ...) for an even grid with W in {1, 2, 4, 8} and GW in {4, 8}; false
// (nothing written) for any other grid, which the general sweep takes.
bool even_region_stats_for(const run::RegionGrid& grid, const float* sample, ImageRegionStats* stats) {
  const int gw = grid.gw, w = grid.width / gw;
  if (w * gw != grid.width) return false;
  const auto with_gw = [&](auto width) {
    constexpr int kW = decltype(width)::value;
    switch (gw) {
      case 4: even_region_stats<kW, 4>(grid, sample, stats); return true;
      case 8: even_region_stats<kW, 8>(grid, sample, stats); return true;
      default: return false;
    }
  };
  switch (w) {
    case 1: return with_gw(std::integral_constant<int, 1>());
    case 2: return with_gw(std::integral_constant<int, 2>());
    case 4: return with_gw(std::integral_constant<int, 4>());
    case 8: return with_gw(std::integral_constant<int, 8>());
    default: return false;
  }
}

// For one image x and every region g of the grid, in two passes over its units:
//   m_g(x) = (1/|N_g|) Σ_{u∈g} |a_u(x)|,   μ_g(x) = (1/|N_g|) Σ_{u∈g} a_u(x),
//   v_g(x) = (1/|N_g|) Σ_{u∈g} (a_u(x) − μ_g(x))²,   active = #{u ∈ g : |a_u(x)| > kActiveThreshold}.
// Each pass is one sweep over the sample (C, H, W) in memory order.  Along a row of a channel the gw
// column cells are summed side by side (lanes j, vectorised): step t adds unit t of every cell, read
// at column at[t][j] = begin_j + t.  A cell narrower than the widest adds nothing at the steps past
// its width: its lane reads a 0 placed after a copy of the row (+0 leaves a sum as it was and counts
// no active unit) and its squared deviation is multiplied by 0.  The units of region g are still added
// in (c, h, w) order, one after the other, from 0: every sum is the same double, to the bit, as a loop
// over g's units alone.  stats: (grid.count()), written.
// An even grid with 4 or 8 column cells of 1, 2, 4 or 8 columns is taken by even_region_stats (above).
void image_region_stats(const run::RegionGrid& grid, const float* sample, ImageRegionStats* stats) {
  if (even_region_stats_for(grid, sample, stats)) return;
  const int gw = grid.gw, lanes_per_row = grid.gh * gw;  // accumulators: slot (k0·gh + i0)·gw + j0
  const size_t slots = size_t(grid.count());
  int widest = 0;
  for (int j0 = 0; j0 < gw; ++j0) widest = std::max(widest, grid.cols(j0).size());
  const bool uneven = widest * gw != grid.width;  // some cell is narrower: rows are read from `line`
  std::vector<int> at(size_t(widest) * gw);       // (widest, gw) the column read at step t by lane j
  std::vector<double> keep(at.size());            // (widest, gw) 1 when t < the width of cell j, else 0
  for (int j0 = 0; j0 < gw; ++j0) {
    const run::Range span = grid.cols(j0);
    for (int t = 0; t < widest; ++t) {
      keep[size_t(t) * gw + j0] = t < span.size() ? 1.0 : 0.0;
      at[size_t(t) * gw + j0] = t < span.size() ? span.begin + t : grid.width;  // the 0 after the copied row
    }
  }
  std::vector<float> line(uneven ? size_t(grid.width) + 1 : 0, 0.f);
  std::vector<double> sum_abs(slots, 0.0), sum(slots, 0.0), mean(slots), squares(slots, 0.0), units(slots);
  std::vector<uint32_t> active(slots, 0);
  // add_row(row, first) for every (channel, row) of the sample; first = the slot of its lane 0
  const auto sweep = [&](auto&& add_row) {
    for (int k0 = 0; k0 < grid.gc; ++k0) {
      const run::Range chans = grid.chans(k0);
      for (int c = chans.begin; c < chans.end; ++c)
        for (int i0 = 0; i0 < grid.gh; ++i0) {
          const run::Range rows = grid.rows(i0);
          const size_t first = size_t(k0) * lanes_per_row + size_t(i0) * gw;
          for (int h = rows.begin; h < rows.end; ++h) {
            const float* row = sample + (size_t(c) * grid.height + h) * grid.width;
            if (uneven) {  // line[width] stays 0
              std::copy(row, row + grid.width, line.begin());
              row = line.data();
            }
            add_row(row, first);
          }
        }
    }
  };
  sweep([&](const float* __restrict row, size_t first) {
    double* __restrict a_abs = sum_abs.data() + first;
    double* __restrict a_sum = sum.data() + first;
    uint32_t* __restrict a_active = active.data() + first;
    for (int t = 0; t < widest; ++t) {
      const int* __restrict column = at.data() + size_t(t) * gw;
      for (int j = 0; j < gw; ++j) {
        const double v = row[column[j]];
        a_abs[j] += std::fabs(v);
        a_sum[j] += v;
        a_active[j] += std::fabs(v) > kActiveThreshold;
      }
    }
  });
  for (int k0 = 0; k0 < grid.gc; ++k0)
    for (int i0 = 0; i0 < grid.gh; ++i0)
      for (int j0 = 0; j0 < gw; ++j0) {
        const size_t slot = size_t(k0) * lanes_per_row + size_t(i0) * gw + j0;
        units[slot] = double(grid.rows(i0).size()) * grid.cols(j0).size() * grid.chans(k0).size();
        mean[slot] = sum[slot] / units[slot];
      }
  sweep([&](const float* __restrict row, size_t first) {
    double* __restrict a_squares = squares.data() + first;
    const double* __restrict m = mean.data() + first;
    for (int t = 0; t < widest; ++t) {
      const int* __restrict column = at.data() + size_t(t) * gw;
      const double* __restrict k = keep.data() + size_t(t) * gw;
      for (int j = 0; j < gw; ++j) {
        const double d = (row[column[j]] - m[j]) * k[j];  // ×1 is exact; ×0: the step past a cell adds 0
        a_squares[j] += d * d;
      }
    }
  });
  for (int k0 = 0; k0 < grid.gc; ++k0)
    for (int i0 = 0; i0 < grid.gh; ++i0)
      for (int j0 = 0; j0 < gw; ++j0) {
        const size_t slot = size_t(k0) * lanes_per_row + size_t(i0) * gw + j0;
        stats[grid.index(i0, j0, k0)] = {sum_abs[slot] / units[slot], squares[slot] / units[slot], active[slot]};
      }
}

// φ_g(x) = m_g(x) + λ·ln(v_g(x) + ε)
double phi_of(const ImageRegionStats& s, double lambda, double epsilon) {
  return s.mean_abs + lambda * std::log(s.variance + epsilon);
}

// Plug-in entropy in bits of a histogram with `total` entries: −Σ (c/total) log2(c/total).
double entropy_bits(const uint64_t* counts, int size, uint64_t total) {
  double h = 0;
  for (int i = 0; i < size; ++i)
    if (counts[i]) {
      const double p = double(counts[i]) / double(total);
      h -= p * std::log2(p);
    }
  return h;
}

}  // namespace

std::vector<int> equal_frequency_bins(const double* values, size_t n, int bins) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<int> bin(n);
  size_t rank = 0;  // the smallest rank among the values equal to the current one
  for (size_t position = 0; position < n; ++position) {
    if (position > 0 && values[order[position]] != values[order[position - 1]]) rank = position;
    bin[order[position]] = int(uint64_t(bins) * rank / n);
  }
  return bin;
}

double information_bits(const int* bins, const uint8_t* labels, size_t n, int num_bins, int num_classes) {
  if (n == 0) return 0;
  std::vector<uint64_t> joint(size_t(num_bins) * num_classes, 0), per_class(num_classes, 0), per_bin(num_bins, 0);
  for (size_t i = 0; i < n; ++i) {
    ++joint[size_t(bins[i]) * num_classes + labels[i]];
    ++per_class[labels[i]];
    ++per_bin[bins[i]];
  }
  double conditional = 0;
  for (int b = 0; b < num_bins; ++b)
    if (per_bin[b])
      conditional += double(per_bin[b]) / double(n) * entropy_bits(&joint[size_t(b) * num_classes], num_classes, per_bin[b]);
  return std::max(0.0, entropy_bits(per_class.data(), num_classes, n) - conditional);
}

std::vector<uint8_t> shuffled_labels(const uint8_t* labels, size_t n, uint64_t seed) {
  std::vector<uint8_t> out(labels, labels + n);
  nn::Rng rng(seed);
  rng.shuffle(out.data(), n);
  return out;
}

void image_phi(const run::RegionGrid& grid, const float* sample, double lambda, double epsilon, double* phi) {
  std::vector<ImageRegionStats> stats(static_cast<size_t>(grid.count()));
  image_region_stats(grid, sample, stats.data());
  for (int r = 0; r < grid.count(); ++r) phi[r] = phi_of(stats[size_t(r)], lambda, epsilon);
}

LayerGridAccumulator::LayerGridAccumulator(std::string name, int height, int width, int channels,
                                           const GridSettings& settings, size_t images)
    : name_(std::move(name)),
      grid_(height, width, channels, settings.grid),
      settings_(settings),
      images_(images),
      phi_(size_t(grid_.count()) * images, 0.0),
      sum_mean_abs_(grid_.count(), 0.0),
      sum_variance_(grid_.count(), 0.0),
      active_pairs_(grid_.count(), 0) {}

void LayerGridAccumulator::add(const float* activations, int count, size_t offset) {
  if (offset + size_t(count) > images_) throw std::logic_error("LayerGridAccumulator::add: images beyond the evaluation set");
  const int regions = grid_.count();
  const size_t sample_size = size_t(grid_.channels) * grid_.height * grid_.width;
  Batch& batch = pending_[offset];
  batch.count = count;
  batch.mean_abs.resize(size_t(count) * regions);
  batch.variance.resize(size_t(count) * regions);
  batch.active.resize(size_t(count) * regions);
  // Images are independent: each writes only its own slots, so threads never share a sum.
#pragma omp parallel for schedule(static) if (size_t(count) * sample_size >= kParallelWork)
  for (int i = 0; i < count; ++i) {
    std::vector<ImageRegionStats> stats(static_cast<size_t>(regions));
    image_region_stats(grid_, activations + size_t(i) * sample_size, stats.data());
    for (int r = 0; r < regions; ++r) {
      const ImageRegionStats& s = stats[size_t(r)];
      const size_t slot = size_t(i) * regions + r;
      batch.mean_abs[slot] = s.mean_abs;
      batch.variance[slot] = s.variance;
      batch.active[slot] = s.active;
      phi_[size_t(r) * images_ + offset + i] = phi_of(s, settings_.lambda, settings_.epsilon);
    }
  }
  if (!hold_) merge_ready();
}

void LayerGridAccumulator::merge_ready() {
  const int regions = grid_.count();
  // Merged in image order, one thread: the sums do not depend on the batch size, the thread count
  // or the order in which batches arrived.
  for (auto next = pending_.find(added_); next != pending_.end(); next = pending_.find(added_)) {
    const size_t offset = next->first;
    const Batch& batch = next->second;
    for (int i = 0; i < batch.count; ++i)
      for (int r = 0; r < regions; ++r) {
        const size_t slot = size_t(i) * regions + r;
        if (!std::isfinite(phi_[size_t(r) * images_ + offset + i]))
          throw base::Error("grid stage: layer " + name_ + " region " + grid_.key(r) + ": φ is not finite on image " +
                          std::to_string(offset + i) + " (non-finite activations: has the net diverged?)");
        sum_mean_abs_[r] += batch.mean_abs[slot];
        sum_variance_[r] += batch.variance[slot];
        active_pairs_[r] += batch.active[slot];
      }
    added_ += size_t(batch.count);
    pending_.erase(next);
  }
}

std::vector<double> LayerGridAccumulator::packed(size_t offset, int count) const {
  const auto it = pending_.find(offset);
  if (it == pending_.end() || it->second.count != count)
    throw std::logic_error("LayerGridAccumulator::packed: batch at image " + std::to_string(offset) + " not held");
  const Batch& b = it->second;
  const int regions = grid_.count();
  std::vector<double> v;
  v.reserve(size_t(4) * count * regions);
  for (int i = 0; i < count; ++i)
    for (int r = 0; r < regions; ++r) v.push_back(phi_[size_t(r) * images_ + offset + i]);
  v.insert(v.end(), b.mean_abs.begin(), b.mean_abs.end());
  v.insert(v.end(), b.variance.begin(), b.variance.end());
  for (uint32_t a : b.active) v.push_back(double(a));
  return v;
}

void LayerGridAccumulator::unpack(size_t offset, int count, const std::vector<double>& v) {
  const int regions = grid_.count();
  const size_t n = size_t(count) * regions;
  if (v.size() != 4 * n || offset + size_t(count) > images_)
    throw std::logic_error("LayerGridAccumulator::unpack: " + std::to_string(v.size()) + " values for a batch of " +
                           std::to_string(count) + " images");
  for (int i = 0; i < count; ++i)
    for (int r = 0; r < regions; ++r) phi_[size_t(r) * images_ + offset + i] = v[size_t(i) * regions + r];
  Batch& b = pending_[offset];
  b.count = count;
  b.mean_abs.assign(v.begin() + long(n), v.begin() + long(2 * n));
  b.variance.assign(v.begin() + long(2 * n), v.begin() + long(3 * n));
  b.active.resize(n);
  for (size_t k = 0; k < n; ++k) b.active[k] = uint32_t(v[3 * n + k]);
}

void LayerGridAccumulator::release() {
  hold_ = false;
  merge_ready();
}

LayerGridStats LayerGridAccumulator::finish(const uint8_t* labels, int num_classes) const {
  if (added_ != images_) throw std::logic_error("LayerGridAccumulator::finish: not every image was added");
  const int regions = grid_.count();
  const double n = double(images_);
  const std::vector<uint8_t> null_labels = shuffled_labels(labels, images_, kNullShuffleSeed);
  LayerGridStats out;
  out.name = name_;
  out.grid = grid_;
  out.regions.resize(regions);
#pragma omp parallel for schedule(static) if (size_t(regions) * images_ >= kParallelWork)
  for (int r = 0; r < regions; ++r) {
    const double* phi = &phi_[size_t(r) * images_];
    RegionStats& s = out.regions[r];
    s.activation_count = grid_.units(r);
    double sum_phi = 0;
    for (size_t x = 0; x < images_; ++x) sum_phi += phi[x];
    s.density = sum_phi / n;
    s.variance = sum_variance_[r] / n;
    s.mean_abs = sum_mean_abs_[r] / n;
    s.active_fraction = double(active_pairs_[r]) / (double(s.activation_count) * n);
    const std::vector<int> bins = equal_frequency_bins(phi, images_, settings_.bins);
    s.information_bits = information_bits(bins.data(), labels, images_, settings_.bins, num_classes);
    s.information_null_bits = information_bits(bins.data(), null_labels.data(), images_, settings_.bins, num_classes);
  }
  int live = 0;
  for (int r = 0; r < regions; ++r) {
    if (out.regions[r].active_fraction >= kDeadFraction)
      ++live;
    else
      out.dead_regions.push_back(r);
  }
  out.coverage = regions ? double(live) / regions : 0;
  return out;
}

GridAccumulator::GridAccumulator(const nn::Network& net, const GridSettings& settings, size_t images)
    : settings_(settings), images_(images) {
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    const nn::Block& b = net.blocks()[i];
    GridSettings block_settings = settings;
    block_settings.grid = block_grid(net, int(i), settings.grid);
    layers_.emplace_back(b.name, b.output_shape.h, b.output_shape.w, b.output_shape.c, block_settings, images);
  }
}

void GridAccumulator::add(const EvalBatch& batch, const nn::BlockView& block) {
  if (batch.offset >= images_) return;
  const int count = int(std::min<size_t>(size_t(batch.count), images_ - batch.offset));
  layers_[size_t(block.index)].add(block.a.data(), count, batch.offset);
}

void GridAccumulator::hold() {
  for (LayerGridAccumulator& layer : layers_) layer.hold();
}

void GridAccumulator::share(nn::ShardGroup& ranks, int batch) {
  if (batch < 1) throw std::logic_error("GridAccumulator::share: batch < 1");
  const size_t units = (images_ + size_t(batch) - 1) / size_t(batch);
  std::vector<std::vector<double>> values(units);
  for (size_t k = 0; k < units; ++k) {
    const size_t offset = k * size_t(batch);
    const int count = int(std::min<size_t>(size_t(batch), images_ - offset));
    if (ranks.owns_unit(k)) {
      for (const LayerGridAccumulator& layer : layers_) {
        const std::vector<double> v = layer.packed(offset, count);
        values[k].insert(values[k].end(), v.begin(), v.end());
      }
    } else {
      size_t length = 0;
      for (const LayerGridAccumulator& layer : layers_) length += size_t(4) * count * size_t(layer.grid().count());
      values[k].assign(length, 0.0);
    }
  }
  ranks.share_units(values);
  for (size_t k = 0; k < units; ++k) {
    const size_t offset = k * size_t(batch);
    const int count = int(std::min<size_t>(size_t(batch), images_ - offset));
    if (ranks.owns_unit(k)) continue;
    size_t at = 0;
    for (LayerGridAccumulator& layer : layers_) {
      const size_t n = size_t(4) * count * size_t(layer.grid().count());
      layer.unpack(offset, count, std::vector<double>(values[k].begin() + long(at), values[k].begin() + long(at + n)));
      at += n;
    }
  }
  for (LayerGridAccumulator& layer : layers_) layer.release();
}

GridResult GridAccumulator::finish(const nn::LabeledImages& data) const {
  // Labels beyond num_classes cannot occur (nn/data.h promise); the histogram is sized for both anyway.
  int num_classes = data.num_classes;
  for (size_t i = 0; i < images_; ++i) num_classes = std::max(num_classes, int(data.labels[i]) + 1);
  GridResult result;
  result.images = images_;
  result.settings = settings_;
  for (const LayerGridAccumulator& layer : layers_) result.layers.push_back(layer.finish(data.labels, num_classes));
  return result;
}

GridResult run_grid_stage(nn::Network& net, const nn::LabeledImages& data, size_t images, int batch,
                          const GridSettings& settings) {
  GridAccumulator grid(net, settings, images);
  stream_eval(net, data, images, batch, [&](const EvalBatch& part, const nn::BlockView& view) { grid.add(part, view); });
  return grid.finish(data);
}

nlohmann::ordered_json grid_layers_json(const GridResult& result) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::object();
  for (const LayerGridStats& layer : result.layers) {
    const run::RegionGrid& g = layer.grid;
    nlohmann::ordered_json regions = nlohmann::ordered_json::object(), dead = nlohmann::ordered_json::array();
    for (int r : layer.dead_regions) dead.push_back(g.key(r));
    for (int r = 0; r < g.count(); ++r) {
      regions[g.key(r)] = run::region_json(layer.regions[r]);
    }
    layers[layer.name] = {{"shape", {g.height, g.width, g.channels}},
                          {"grid", {g.gh, g.gw, g.gc}},
                          {"coverage", layer.coverage},
                          {"dead_regions", dead},
                          {"regions", regions}};
  }
  return layers;
}

}  // namespace imaging
