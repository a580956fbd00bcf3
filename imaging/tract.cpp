#include "imaging/tract.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "base/error.h"

namespace imaging {

namespace {

// Floats in a pair's workspace for one chunk of images (4 MB): bounds its memory whatever the
// batch and the map size (a linear pair has one per output channel region being processed).
constexpr size_t kWorkspaceFloats = size_t(1) << 20;

inline float relu(float v) { return v > 0.f ? v : 0.f; }

}  // namespace

void validate(const TractSettings& s) {
  if (s.samples < 1) throw base::Error("--tract-samples 0: expected a positive number of test images");
  if (s.top < 0)
    throw base::Error("--tract-top " + std::to_string(s.top) + ": expected 0 (every pair) or a positive count");
  // chains and batch have no flag (the library's callers set them): the error names the setting.
  if (s.chains < 0 || s.chains > 1000)
    throw base::Error("tract setting chains = " + std::to_string(s.chains) + ": expected a count from 0 to 1000");
  if (s.batch < 1 || s.batch > 4096)
    throw base::Error("tract setting batch = " + std::to_string(s.batch) + ": expected a batch size from 1 to 4096");
}

double FlowMatrix::total() const {
  double t = 0;
  for (double v : c) t += v;
  return t;
}

// ---------------------------------------------------------------------------------------------
// PairFlows

PairFlows::PairFlows(const NetView& view, int to_block, const run::GridSpec& grid)
    : PairFlows(view,
                NetView::Edge{to_block >= 0 && to_block < view.size() ? view.single_input(to_block, "tractography") : -1,
                              to_block},
                grid) {}

PairFlows::PairFlows(const NetView& view, const NetView::Edge& edge, const run::GridSpec& grid) {
  using Axis = NetView::Axis;
  const int to_block = edge.to;
  if (to_block < 0 || to_block >= view.size() || edge.from < 0)
    throw base::Error("tractography: block index " + std::to_string(to_block) + " has no preceding block");
  const ImagedBlock& dst = view.block(to_block);
  const bool residual = dst.op == BlockOp::residual_add;
  if (std::find(dst.inputs.begin(), dst.inputs.end(), edge.from) == dst.inputs.end())
    throw base::Error("tractography: block " + dst.name + " does not read block " + std::to_string(edge.from));
  shortcut_ = residual && edge.from == dst.inputs[1];
  const nn::Shape in = shortcut_ ? dst.shortcut_input : dst.input, out = dst.output;
  from_ = run::RegionGrid(in.h, in.w, in.c, block_grid(view.net(), edge.from, grid));
  to_ = run::RegionGrid(out.h, out.w, out.c, block_grid(view.net(), to_block, grid));
  op_ = dst.op;
  activation_ = dst.activation;
  bool dense_channels = true;  // conv/linear: every input channel feeds every output unit
  switch (op_) {
    // weight_abs_ (T, Ci, Co) = |scale_oc · W[oc][ic][t]|: each tap's (Co, Ci) matrix stored (Ci, Co), so
    // sum_conv_workspace runs its Co independent sums side by side along the rows
    case BlockOp::convolution:
      weight_abs_ = view.folded_weights(to_block, {Axis::tap, Axis::in, Axis::out});
      break;
    case BlockOp::dense:  // weight_abs_ (OUT, IN) = |W|
      weight_abs_ = view.folded_weights(to_block, {Axis::out, Axis::in, Axis::tap});
      region_units_.resize(from_.count());
      for (int c = 0; c < in.c; ++c)
        for (int y = 0; y < in.h; ++y)
          for (int x = 0; x < in.w; ++x) region_units_[from_.region_of(c, y, x)].push_back((c * in.h + y) * in.w + x);
      break;
    case BlockOp::max_pool:
      max_pool_ = &view.max_pool(to_block);
      window_weight_ = 1.f / float(dst.window.taps());
      dense_channels = false;
      break;
    case BlockOp::average_pool:
      window_weight_ = 1.f / float(dst.window.taps());
      dense_channels = false;
      break;
    case BlockOp::residual_add:
      if (shortcut_ && dst.shortcut == Shortcut::projection) {  // a 1×1 convolution: (T = 1, Ci, Co)
        op_ = BlockOp::convolution;
        weight_abs_ = view.shortcut_weights(to_block);
        break;
      }
      // the branch, the identity and option A: a 1×1 window of weight 1, channel c → c + shift
      op_ = BlockOp::average_pool;
      window_weight_ = 1.f;
      channel_shift_ = shortcut_ && dst.shortcut == Shortcut::pad ? dst.pad_front : 0;
      dense_channels = false;
      break;
  }
  for (float& w : weight_abs_) w = std::fabs(w);

  // Tap tables: tap t = ky·KW + kx of output position p = oy·Wo + ox (imaging/net_view.h).
  const ReceptiveField field = shortcut_ ? view.shortcut_field(to_block) : view.receptive_field(to_block);
  taps_ = field.taps;
  positions_ = field.positions;
  tap_offset_ = field.input_of;
  tap_block_.assign(size_t(taps_) * positions_, -1);
  out_block_.resize(positions_);
  block_positions_.assign(size_t(to_.gh) * to_.gw, {});
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox) {
      const int p = oy * out.w + ox;
      out_block_[p] = to_.row_region[oy] * to_.gw + to_.col_region[ox];
      block_positions_[out_block_[p]].push_back(p);
    }
  for (size_t e = 0; e < tap_offset_.size(); ++e)
    if (tap_offset_[e] >= 0) tap_block_[e] = from_.row_region[tap_offset_[e] / in.w] * from_.gw + from_.col_region[tap_offset_[e] % in.w];

  if (op_ == BlockOp::convolution) {
    // tap_groups_[sB]: the links of output block sB grouped by (tap, input block), in that order
    tap_groups_.resize(block_positions_.size());
    for (size_t sb = 0; sb < block_positions_.size(); ++sb)
      for (int t = 0; t < taps_; ++t)
        for (int p : block_positions_[sb]) {
          const int sa = tap_block_[size_t(t) * positions_ + p];
          if (sa < 0) continue;
          auto& groups = tap_groups_[sb];
          auto it = std::find_if(groups.begin(), groups.end(),
                                 [&](const TapGroup& g) { return g.tap == t && g.in_block == sa; });
          if (it == groups.end()) it = groups.insert(groups.end(), TapGroup{t, sa, {}});
          it->positions.push_back(p);
        }
  }

  // Structural connectivity = (spatial blocks linked by some tap) × (channel regions linked).
  const int spatial_in = from_.gh * from_.gw, spatial_out = to_.gh * to_.gw;
  std::vector<uint8_t> spatial(size_t(spatial_in) * spatial_out, 0);
  for (size_t e = 0; e < tap_block_.size(); ++e)
    if (tap_block_[e] >= 0) spatial[size_t(tap_block_[e]) * spatial_out + out_block_[e % positions_]] = 1;
  std::vector<uint8_t> channel(size_t(from_.gc) * to_.gc, dense_channels ? 1 : 0);
  if (!dense_channels)
    for (int c = 0; c < in.c; ++c)
      if (c + channel_shift_ < out.c) channel[size_t(from_.chan_region[c]) * to_.gc + to_.chan_region[c + channel_shift_]] = 1;
  const int nB = to_.count();
  connected_.assign(size_t(from_.count()) * nB, 0);
  for (int sa = 0; sa < spatial_in; ++sa)
    for (int sb = 0; sb < spatial_out; ++sb)
      if (spatial[size_t(sa) * spatial_out + sb])
        for (int ka = 0; ka < from_.gc; ++ka)
          for (int kb = 0; kb < to_.gc; ++kb)
            if (channel[size_t(ka) * to_.gc + kb]) connected_[size_t(sa * from_.gc + ka) * nB + sb * to_.gc + kb] = 1;
  sum_.assign(connected_.size(), 0.0);
}

void PairFlows::accumulate(const nn::Tensor& a, const nn::Tensor& z, const int* argmax) {
  if (finished_) throw std::logic_error("PairFlows::accumulate after finish()");
  if (a.c() != from_.channels || a.h() != from_.height || a.w() != from_.width || z.c() != to_.channels ||
      z.h() != to_.height || z.w() != to_.width || a.n() != z.n())
    throw base::Error("tractography: activations " + a.shape().str() + " → " + z.shape().str() +
                    " do not match the layer pair this PairFlows was built for");
  const auto start = std::chrono::steady_clock::now();
  switch (op_) {
    case BlockOp::convolution: accumulate_conv(a, z); break;
    case BlockOp::dense: accumulate_linear(a, z); break;
    case BlockOp::max_pool:
    case BlockOp::average_pool: accumulate_pool(a.n(), a.data(), z.data(), argmax, nullptr); break;
    case BlockOp::residual_add: break;  // not reached: the constructor maps each edge onto one of the above
  }
  images_ += size_t(a.n());
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Convolution.  Group the (output position p, tap t) links by (t, input block sA, output block
// sB): within a group every link lands in the same spatial pair, so with r = ReLU(a), s = σ'(z)
//   C_{(sA,kA)→(sB,kB)} += Σ_t Σ_{oc∈kB} Σ_{ic∈kA} |W_eff[oc,ic,t]| · G[oc][ic]
//   G[oc][ic] = Σ_x Σ_{p∈group} s[oc,p] · r[ic,q(p,t)]
// G is a sum of GEMMs (Co, images) · (images, Ci), one per position of the group, reading s and r
// in place from channels-last copies of a chunk of images — the weight-gradient form of a convolution with s for the
// output gradient: over all groups, the multiply-adds of one convolution per image.  Each output
// block sB (a set of columns of sum_) is owned by one thread, whose BLAS calls run single-threaded.
void PairFlows::accumulate_conv(const nn::Tensor& a, const nn::Tensor& z) {
  // Sub-chunks of min(N, 4 MB of workspace) images, as push_conv cuts them (accumulate counts the images).
  size_conv_workspace(a.n());
  stage_conv(a.data(), z.data(), a.n());
  if (pending_ > 0) sum_conv_workspace(pending_), pending_ = 0;
}

void PairFlows::size_conv_workspace(int call_images) {
  const int Ci = from_.channels, Co = to_.channels, P = positions_, plane_in = from_.height * from_.width;
  const size_t per_image = size_t(P) * Co + size_t(plane_in) * Ci;
  slots_ = int(std::max<size_t>(1, std::min<size_t>(size_t(std::max(call_images, 1)), kWorkspaceFloats / per_image)));
  s_last_.resize(size_t(slots_) * P * Co);         // (slots, P, Co)
  r_last_.resize(size_t(slots_) * plane_in * Ci);  // (slots, Hi·Wi, Ci)
}

void PairFlows::push_conv(const float* a, const float* z, int count, int call_images) {
  if (finished_) throw std::logic_error("PairFlows::push_conv after finish()");
  if (op_ != BlockOp::convolution) throw std::logic_error("PairFlows::push_conv: not a convolution pair");
  const auto start = std::chrono::steady_clock::now();
  if (call_images_ == 0 && pending_ == 0) size_conv_workspace(call_images);  // a new call
  stage_conv(a, z, count);
  call_images_ += size_t(count);
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void PairFlows::close_conv() {
  const auto start = std::chrono::steady_clock::now();
  if (pending_ > 0) sum_conv_workspace(pending_), pending_ = 0;
  images_ += call_images_;
  call_images_ = 0;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Images into the workspace's free slots, channels-last: σ'(z) (z null: 1) and ReLU(a); a full
// workspace is summed at once.
void PairFlows::stage_conv(const float* a, const float* z, int count) {
  const int Ci = from_.channels, Co = to_.channels, P = positions_, plane_in = from_.height * from_.width;
  for (int n0 = 0; n0 < count;) {
    const int take = std::min(count - n0, slots_ - pending_);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < take; ++i) {
      const int slot = pending_ + i;
      for (int oc = 0; oc < Co; ++oc) {
        const float* zp = z ? z + (size_t(n0 + i) * Co + oc) * P : nullptr;
        float* dst = s_last_.data() + size_t(slot) * P * Co + oc;
        for (int p = 0; p < P; ++p) dst[size_t(p) * Co] = zp ? activation_slope(activation_, zp[p]) : 1.f;
      }
      for (int ic = 0; ic < Ci; ++ic) {
        const float* ap = a + (size_t(n0 + i) * Ci + ic) * plane_in;
        float* dst = r_last_.data() + size_t(slot) * plane_in * Ci + ic;
        for (int q = 0; q < plane_in; ++q) dst[size_t(q) * Ci] = relu(ap[q]);
      }
    }
    pending_ += take;
    n0 += take;
    if (pending_ == slots_) sum_conv_workspace(pending_), pending_ = 0;
  }
}

void PairFlows::sum_conv_workspace(int count) {
  const int Ci = from_.channels, Co = to_.channels, P = positions_;
  const int plane_in = from_.height * from_.width, gcA = from_.gc, gcB = to_.gc, nB = to_.count();
#pragma omp parallel
  {
    std::vector<float> g(size_t(Ci) * Co), part(static_cast<size_t>(Co)), prod(part.size());  // g (Ci, Co); part: one sum per output channel
#pragma omp for schedule(static)
    for (int sb = 0; sb < int(tap_groups_.size()); ++sb)
      for (const TapGroup& group : tap_groups_[sb]) {
        const int* offset = tap_offset_.data() + size_t(group.tap) * P;
        for (size_t u = 0; u < group.positions.size(); ++u) {
          const int p = group.positions[u], q = offset[p];
          // g (Ci, Co) (+)= r[:, q, :]ᵀ (Ci, count) · s[:, p, :] (count, Co)
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Ci, Co, count, 1.f, r_last_.data() + size_t(q) * Ci,
                      plane_in * Ci, s_last_.data() + size_t(p) * Co, P * Co, u == 0 ? 0.f : 1.f, g.data(), Co);
        }
        const float* w = weight_abs_.data() + size_t(group.tap) * Ci * Co;  // (Ci, Co) of this tap
        // Σ_{o∈kB} Σ_{c∈kA} w·g: each o's float sum over c in c order, the o sums added in o order
        // in double. The sums of all o advance together along a row of g, the same additions in the
        // same order: one o's sum at a time is a chain of dependent adds that costs more than the GEMMs
        // once channels reach 128 (bench/README, "Wider nets").
        for (int kb = 0; kb < gcB; ++kb)
          for (int ka = 0; ka < gcA; ++ka) {
            const run::Range oc = to_.chans(kb), ic = from_.chans(ka);
            std::fill(part.begin() + oc.begin, part.begin() + oc.end, 0.f);
            for (int c = ic.begin; c < ic.end; ++c) {
              const float* wc = w + size_t(c) * Co;
              const float* gc = g.data() + size_t(c) * Co;
              for (int o = oc.begin; o < oc.end; ++o) prod[o] = wc[o] * gc[o];
              for (int o = oc.begin; o < oc.end; ++o) part[o] += prod[o];
            }
            double acc = 0;
            for (int o = oc.begin; o < oc.end; ++o) acc += part[o];
            sum_[size_t(group.in_block * gcA + ka) * nB + sb * gcB + kb] += acc;
          }
      }
  }
}

// Linear (the output grid is 1×1×gc, so B = kB), per output channel region and chunk of images:
//   C_{A→kB} += Σ_{u∈A} m_{kB}[u] · r[u],   m_{kB}[u] = Σ_{o∈kB} s[o] · |W[o,u]|
// Each kB (a column of sum_) is owned by one thread, whose BLAS call then runs single-threaded.
void PairFlows::accumulate_linear(const nn::Tensor& a, const nn::Tensor& z) {
  const int N = a.n(), in = from_.channels * from_.height * from_.width, out = to_.channels;
  const int nA = from_.count(), nB = to_.count();
  const int chunk = int(std::max<size_t>(1, std::min<size_t>(N, kWorkspaceFloats / size_t(in))));
#pragma omp parallel for schedule(static)
  for (int kb = 0; kb < to_.gc; ++kb) {
    const run::Range o = to_.chans(kb);
    std::vector<float> s(size_t(chunk) * o.size()), m(size_t(chunk) * in);  // (count, |kB|), (count, IN)
    for (int n0 = 0; n0 < N; n0 += chunk) {
      const int count = std::min(chunk, N - n0);
      for (int i = 0; i < count; ++i)
        for (int j = 0; j < o.size(); ++j)
          s[size_t(i) * o.size() + j] = activation_slope(activation_, z.data()[size_t(n0 + i) * out + o.begin + j]);
      // m (count, IN) = s (count, |kB|) · |W|[o ∈ kB] (|kB|, IN)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, in, o.size(), 1.f, s.data(), o.size(),
                  weight_abs_.data() + size_t(o.begin) * in, in, 0.f, m.data(), in);
      for (int A = 0; A < nA; ++A) {
        double acc = 0;
        for (int i = 0; i < count; ++i) {
          const float* mr = m.data() + size_t(i) * in;
          const float* ar = a.data() + size_t(n0 + i) * in;
          float part = 0.f;
          for (int u : region_units_[A]) part += mr[u] * relu(ar[u]);
          acc += part;
        }
        sum_[size_t(A) * nB + kb] += acc;
      }
    }
  }
}

void PairFlows::accumulate_picked(int images, const float* picked, const int* argmax, const float* z) {
  if (finished_) throw std::logic_error("PairFlows::accumulate_picked after finish()");
  if (!max_pool_ || !picked || !argmax || (reads_z() && !z))
    throw std::logic_error("PairFlows::accumulate_picked: a max-pool pair, with its picked values and choices");
  const auto start = std::chrono::steady_clock::now();
  accumulate_pool(images, nullptr, reads_z() ? z : nullptr, argmax, picked);
  images_ += size_t(images);
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Pooling and the residual add's 1×1 links, channel by channel (W_ij links input channel
// c − shift only to output channel c; shift = 0 but for option A's shortcut):
//   max:      C_{A→B} += Σ_{j∈B, argmax(j)∈A} s_j · r_{argmax(j)}
//   average:  C_{A→B} += Σ_{j∈B} Σ_{t: q(j,t)∈A} s_j · r_{q(j,t)} / (KH·KW)   (the add: KH·KW = 1)
// (picked: r_{argmax(j)} given per output unit j, read in place of a.)
void PairFlows::accumulate_pool(int N, const float* a, const float* z, const int* argmax, const float* picked) {
  const int Ci = from_.channels, Co = to_.channels, P = positions_, T = taps_, W = from_.width;
  const int plane_in = from_.height * W, gcA = from_.gc, nB = to_.count();
  if (max_pool_ && !argmax) {
    if (max_pool_->argmax().size() != size_t(N) * Co * P)
      throw base::Error("tractography: the max-pool argmax is not from this batch (accumulate inside the block's probe)");
    argmax = max_pool_->argmax().data();
  }
  // each output region B (a column of sum_) is owned by one thread
#pragma omp parallel for schedule(static)
  for (int B = 0; B < nB; ++B) {
    int i0, j0, kb;
    to_.coords(B, i0, j0, kb);
    const run::Range channels = to_.chans(kb);
    for (int c = channels.begin; c < channels.end; ++c) {
      const int ic = c - channel_shift_;
      if (ic < 0 || ic >= Ci) continue;  // option A's zero channels
      const int ka = from_.chan_region[ic];
      for (int p : block_positions_[size_t(i0) * to_.gw + j0])
        for (int i = 0; i < N; ++i) {
          const size_t plane = size_t(i) * Co + c;
          const float s = z ? activation_slope(activation_, z[plane * P + p]) : 1.f;
          if (s == 0.f) continue;
          if (argmax) {
            const int off = argmax[plane * P + p];
            const float v = picked ? picked[plane * P + p] : a[(size_t(i) * Ci + ic) * plane_in + off];
            sum_[size_t(from_.region_of(ic, off / W, off % W)) * nB + B] += double(s * relu(v));
            continue;
          }
          const float* r = a + (size_t(i) * Ci + ic) * plane_in;
          for (int t = 0; t < T; ++t) {
            const size_t e = size_t(t) * P + p;
            const int A = tap_block_[e] * gcA + ka;
            sum_[size_t(A) * nB + B] += double(window_weight_ * s * relu(r[tap_offset_[e]]));
          }
        }
    }
  }
}

FlowMatrix PairFlows::mean() const {
  FlowMatrix f;
  f.from = from_.count();
  f.to = to_.count();
  f.c.resize(sum_.size());
  for (size_t e = 0; e < sum_.size(); ++e) f.c[e] = images_ ? sum_[e] / double(images_) : 0.0;
  return f;
}

// 1 − H(p)/log(n), p = C/ΣC over the n connected pairs; n = 1 → 1, ΣC = 0 → 0.
double pathway_efficiency(const FlowMatrix& flows, const std::vector<uint8_t>& connected) {
  size_t n = 0;
  double total = 0;
  for (size_t e = 0; e < connected.size(); ++e)
    if (connected[e]) ++n, total += flows.c[e];
  if (!(total > 0)) return 0.0;
  if (n == 1) return 1.0;
  double entropy = 0;
  for (size_t e = 0; e < connected.size(); ++e)
    if (connected[e] && flows.c[e] > 0) {
      const double p = flows.c[e] / total;
      entropy -= p * std::log(p);
    }
  return std::clamp(1.0 - entropy / std::log(double(n)), 0.0, 1.0);
}

// k-best dynamic programme over the blocks in order (every edge runs from a lower block to a higher
// one).  kept[b][v] holds the (up to) k best partial chains that end at region v of block b, best
// first, each as (score, predecessor block, its region, its rank in kept[block][region]):
//   kept[b][B] = top_k over edges e = (f → b), A, r of kept[f][A][r].score + log(C_e[A→B] / ΣC_e)
// Every chain in the global top k ends with a prefix in the top k of each node it passes, so
// keeping k per node is exact.  A block with no incoming edge starts chains (score 0).
std::vector<Chain> best_chains(const std::vector<FlowMatrix>& flows, const std::vector<NetView::Edge>& edges,
                               int nodes, int k) {
  if (flows.size() != edges.size()) throw std::logic_error("best_chains: one flow matrix per edge");
  if (edges.empty() || nodes <= 0 || k <= 0) return {};
  struct Entry {
    double score;
    int block, prev, rank;
  };
  auto better = [](const Entry& x, const Entry& y) {
    if (x.score != y.score) return x.score > y.score;
    if (x.block != y.block) return x.block < y.block;
    if (x.prev != y.prev) return x.prev < y.prev;
    return x.rank < y.rank;
  };
  auto keep_best = [&](std::vector<Entry>& entries) {
    const size_t keep = std::min(entries.size(), size_t(k));
    std::partial_sort(entries.begin(), entries.begin() + long(keep), entries.end(), better);
    entries.resize(keep);
  };
  // regions per block, from the edges' matrices (they must agree)
  std::vector<int> regions(size_t(nodes), -1);
  std::vector<std::vector<size_t>> into(static_cast<size_t>(nodes));
  auto set_regions = [&](int b, int count, size_t e) {
    if (b < 0 || b >= nodes) throw std::logic_error("best_chains: an edge leaves the graph");
    if (regions[size_t(b)] >= 0 && regions[size_t(b)] != count)
      throw base::Error("best_chains: flow matrix " + std::to_string(e) + " gives block " + std::to_string(b) + " " +
                        std::to_string(count) + " regions but another gives it " + std::to_string(regions[size_t(b)]));
    regions[size_t(b)] = count;
  };
  for (size_t e = 0; e < edges.size(); ++e) {
    if (edges[e].from >= edges[e].to) throw std::logic_error("best_chains: an edge runs backwards");
    set_regions(edges[e].from, flows[e].from, e);
    set_regions(edges[e].to, flows[e].to, e);
    into[size_t(edges[e].to)].push_back(e);
  }
  std::vector<std::vector<std::vector<Entry>>> kept(static_cast<size_t>(nodes));
  std::vector<Entry> candidates;
  for (int b = 0; b < nodes; ++b) {
    if (regions[size_t(b)] < 0) continue;  // on no edge
    if (into[size_t(b)].empty()) {
      kept[size_t(b)].assign(size_t(regions[size_t(b)]), std::vector<Entry>{Entry{0.0, -1, -1, -1}});
      continue;
    }
    kept[size_t(b)].assign(size_t(regions[size_t(b)]), {});
    for (int v = 0; v < regions[size_t(b)]; ++v) {
      candidates.clear();
      for (size_t e : into[size_t(b)]) {
        const FlowMatrix& f = flows[e];
        const double total = f.total();
        if (!(total > 0)) continue;
        const auto& before = kept[size_t(edges[e].from)];
        for (int a = 0; a < f.from; ++a) {
          const double c = f.at(a, v);
          if (!(c > 0)) continue;
          const double step = std::log(c / total);
          for (size_t r = 0; r < before[size_t(a)].size(); ++r)
            candidates.push_back({before[size_t(a)][r].score + step, edges[e].from, a, int(r)});
        }
      }
      keep_best(candidates);
      kept[size_t(b)][size_t(v)] = candidates;
    }
  }
  const auto& last = kept[size_t(nodes) - 1];
  std::vector<Entry> ends;  // (score, last block, last region, rank there)
  for (size_t v = 0; v < last.size(); ++v)
    for (size_t r = 0; r < last[v].size(); ++r)
      if (last[v][r].block >= 0) ends.push_back({last[v][r].score, nodes - 1, int(v), int(r)});
  keep_best(ends);
  std::vector<Chain> chains;
  for (const Entry& end : ends) {
    Chain chain;
    chain.score = end.score;
    for (int block = end.block, node = end.prev, rank = end.rank; block >= 0;) {
      chain.blocks.push_back(block);
      chain.regions.push_back(node);
      const Entry& e = kept[size_t(block)][size_t(node)][size_t(rank)];
      block = e.block, node = e.prev, rank = e.rank;
    }
    std::reverse(chain.blocks.begin(), chain.blocks.end());
    std::reverse(chain.regions.begin(), chain.regions.end());
    chains.push_back(std::move(chain));
  }
  return chains;
}

std::vector<Chain> best_chains(const std::vector<FlowMatrix>& flows, int k) {
  std::vector<NetView::Edge> edges;
  for (size_t l = 0; l < flows.size(); ++l) {
    if (l > 0 && flows[l].from != flows[l - 1].to)
      throw base::Error("best_chains: flow matrix " + std::to_string(l) + " starts from " + std::to_string(flows[l].from) +
                        " regions but the layer before has " + std::to_string(flows[l - 1].to));
    if (!(flows[l].total() > 0)) return {};
    edges.push_back({int(l), int(l) + 1});
  }
  return best_chains(flows, edges, int(flows.size()) + 1, k);
}

namespace {
// Empties v and gives its memory back (v = {} would keep the capacity).
template <class T, class A>
void release(std::vector<T, A>& v) {
  std::vector<T, A>().swap(v);
}
}  // namespace

std::vector<double> PairFlows::packed() const {
  std::vector<double> v(sum_);
  v.push_back(double(images_));
  return v;
}

void PairFlows::unpack(const std::vector<double>& values) {
  if (values.size() != sum_.size() + 1)
    throw std::logic_error("PairFlows::unpack: " + std::to_string(values.size()) + " values for " +
                           std::to_string(sum_.size()) + " flows");
  std::copy(values.begin(), values.end() - 1, sum_.begin());
  images_ = size_t(values.back());
}

void PairFlows::finish() {
  finished_ = true;
  release(tap_offset_), release(tap_block_), release(out_block_);
  release(block_positions_), release(region_units_), release(tap_groups_);
  release(weight_abs_), release(s_last_), release(r_last_);
}

// ---------------------------------------------------------------------------------------------
// FlowAccumulator

namespace {
// dst images [to, to + count) = src images [from, from + count), per_image values each.
template <class T>
void copy_images(const T* src, size_t per_image, int from, int count, T* dst, int to) {
  std::copy(src + size_t(from) * per_image, src + size_t(from + count) * per_image, dst + size_t(to) * per_image);
}
}  // namespace

namespace {
// The first dense block (view.size() when there is none): from it on the flows' blocks are replayed.
int first_dense_block(const NetView& view) {
  for (int b = 0; b < view.size(); ++b)
    if (view.block(b).op == BlockOp::dense) return b;
  return view.size();
}
}  // namespace

void check_tract_net(const NetView& view) {
  const int dense_from = first_dense_block(view);
  for (const NetView::Edge& e : view.edges())  // a replayed shortcut would read a source that is not replayed
    if (e.from < dense_from && e.to >= dense_from && view.block(e.to).op == BlockOp::residual_add)
      throw base::Error("tractography: the shortcut into " + view.block(e.to).name + " passes the dense block " +
                        view.block(dense_from).name + " (a linear inside a residual branch); tractography does not image that net");
}

FlowAccumulator::FlowAccumulator(nn::Network& net, const NetView& view, const run::GridSpec& grid,
                                 const TractSettings& s, size_t samples)
    : net_(net), view_(view), samples_(samples), chunk_(size_t(s.batch)), pairs_into_(size_t(view.size())),
      shortcuts_from_(size_t(view.size())) {
  validate(s);
  for (const NetView::Edge& e : view.edges()) {
    pairs_into_[size_t(e.to)].push_back(int(pairs_.size()));
    pairs_.emplace_back(view, e, grid);
    if (pairs_.back().shortcut()) shortcuts_from_[size_t(e.from)].push_back(int(pairs_.size()) - 1);
  }
  source_.resize(pairs_.size());
  dense_from_ = first_dense_block(view);
  check_tract_net(view);
  chunks_.resize(pairs_.size());
}

void FlowAccumulator::save_sources(const nn::BlockView& block) {
  for (int pair : shortcuts_from_[size_t(block.index)]) source_[size_t(pair)] = block.a;
}

const nn::Tensor& FlowAccumulator::source_of(int pair, const nn::BlockView& block) const {
  return pairs_[size_t(pair)].shortcut() ? source_[size_t(pair)] : block.input;
}

void FlowAccumulator::on_block(const EvalBatch& batch, const nn::BlockView& block) {
  if (batch.offset >= samples_) return;
  const int take = int(std::min<size_t>(size_t(batch.count), samples_ - batch.offset));
  if (block.index == 0)  // the batch's first block: is it exactly the next chunk, as measure_flows forwards it?
    direct_ = received_ % chunk_ == 0 && size_t(batch.count) == std::min(chunk_, samples_ - batch.offset);
  save_sources(block);
  const std::vector<int>& pairs = pairs_into_[size_t(block.index)];
  if (direct_) {
    for (int pair : pairs)
      if (mine(pair)) pairs_[size_t(pair)].accumulate(source_of(pair, block), block.z);
    return;
  }
  if (block.index == dense_from_)
    replay_input_.insert(replay_input_.end(), block.input.data(),
                         block.input.data() + block.input.shape().per_sample() * size_t(take));
  if (block.index >= dense_from_) return;
  // Fill the pair's chunk; a full chunk (or the last images) is accumulated at once, so the rest of
  // the batch starts the next one in the same buffers.
  for (int pair : pairs)
    for (int first = 0; first < take && mine(pair);) {
      const int count = std::min(take - first, int(chunk_) - chunks_[size_t(pair)].filled);
      add_to_chunk(pair, block, batch.offset, first, count);
      first += count;
    }
}

void FlowAccumulator::add_to_chunk(int pair, const nn::BlockView& block, size_t offset, int first, int count) {
  Chunk& c = chunks_[size_t(pair)];
  const ImagedBlock& k = view_.block(block.index);
  const run::RegionGrid& g = pairs_[size_t(pair)].from_grid();
  const nn::Tensor& source = source_of(pair, block);
  const int chunk = int(chunk_);
  PairFlows& flows = pairs_[size_t(pair)];
  if (flows.max_pool()) {  // only the selected inputs' values and offsets (and z if σ' reads it)
    const size_t out = k.output.per_sample(), plane_out = size_t(k.output.h) * k.output.w;
    const size_t plane_in = size_t(g.height) * g.width;
    if (c.picked.empty()) {  // the first images: the buffers of one whole chunk
      c.picked.resize(size_t(chunk) * out);
      c.argmax.resize(size_t(chunk) * out);
      if (flows.reads_z()) c.picked_z.resize(size_t(chunk) * out);
    }
    const int* argmax = view_.max_pool(block.index).argmax().data();
    copy_images(argmax, out, first, count, c.argmax.data(), c.filled);
    if (flows.reads_z()) copy_images(block.z.data(), out, first, count, c.picked_z.data(), c.filled);
    for (int i = 0; i < count; ++i)
      for (int ch = 0; ch < k.output.c; ++ch) {  // a max pool's output channel ch reads input channel ch
        const float* in_plane = source.data() + (size_t(first + i) * g.channels + ch) * plane_in;
        const size_t at = (size_t(c.filled + i) * k.output.c + ch) * plane_out;
        for (size_t p = 0; p < plane_out; ++p) c.picked[at + p] = in_plane[c.argmax[at + p]];
      }
    c.filled += count;
    const bool last = offset + size_t(first + count) == samples_;
    if (c.filled < chunk && !last) return;
    flows.accumulate_picked(c.filled, c.picked.data(), c.argmax.data(), flows.reads_z() ? c.picked_z.data() : nullptr);
    c.filled = 0;
    if (last) c = Chunk{};  // done: free the buffers
    return;
  }
  if (flows.convolution()) {  // straight into the pair's own workspace: no copy of the images
    const size_t in = source.shape().per_sample(), out = k.output.per_sample();
    const float* z = k.activation != Activation::identity ? block.z.data() + size_t(first) * out : nullptr;
    flows.push_conv(source.data() + size_t(first) * in, z, count, chunk);
    c.filled += count;
    const bool last = offset + size_t(first + count) == samples_;
    if (c.filled < chunk && !last) return;
    flows.close_conv();
    c.filled = 0;
    return;
  }
  if (c.a.size() == 0) {  // the first images: the buffers of one whole chunk
    c.a.resize(chunk, g.channels, g.height, g.width);
    c.z.resize(chunk, k.output.c, k.output.h, k.output.w);
    c.z.zero();  // without an activation σ' = 1 and z is never read: it stays zero
    if (k.op == BlockOp::max_pool) c.argmax.resize(c.z.size());
  }
  const size_t in = source.shape().per_sample(), out = k.output.per_sample();
  copy_images(source.data(), in, first, count, c.a.data(), c.filled);
  if (k.activation != Activation::identity) copy_images(block.z.data(), out, first, count, c.z.data(), c.filled);
  if (k.op == BlockOp::max_pool)
    copy_images(view_.max_pool(block.index).argmax().data(), out, first, count, c.argmax.data(), c.filled);
  c.filled += count;
  const bool last = offset + size_t(first + count) == samples_;
  if (c.filled < chunk && !last) return;
  c.a.resize(c.filled, g.channels, g.height, g.width);  // shrinking keeps the data
  c.z.resize(c.filled, k.output.c, k.output.h, k.output.w);
  pairs_[size_t(pair)].accumulate(c.a, c.z, c.argmax.empty() ? nullptr : c.argmax.data());
  c.filled = 0;
  c.a.resize(chunk, g.channels, g.height, g.width);
  c.z.resize(chunk, k.output.c, k.output.h, k.output.w);
  if (last) c = Chunk{};  // done: free the buffers
}

void FlowAccumulator::on_batch_end(const EvalBatch& batch) {
  if (batch.offset >= samples_) return;
  const size_t take = std::min<size_t>(size_t(batch.count), samples_ - batch.offset);
  received_ += take;
  if (!direct_ && dense_from_ < view_.size()) {
    replay_buffered_ += take;
    while (replay_buffered_ >= chunk_ || (received_ == samples_ && replay_buffered_ > 0))
      replay(int(std::min(chunk_, replay_buffered_)));
  }
  if (received_ == samples_) {  // the last image is in: keep only the flows
    release(replay_input_);
    replay_chunk_ = nn::Tensor();
    for (PairFlows& pair : pairs_) pair.finish();
    for (nn::Tensor& t : source_) t = nn::Tensor();
  }
}

void FlowAccumulator::replay(int images) {
  // The dense blocks and everything after them, forwarded again at the chunk's size.
  const nn::Shape in = view_.block(dense_from_).input;
  replay_chunk_.resize(images, in.c, in.h, in.w);
  std::copy(replay_input_.begin(), replay_input_.begin() + long(replay_chunk_.size()), replay_chunk_.data());
  replay_input_.erase(replay_input_.begin(), replay_input_.begin() + long(replay_chunk_.size()));
  replay_buffered_ -= size_t(images);
  const nn::Probe probe = [&](const nn::BlockView& block) {
    save_sources(block);
    for (int pair : pairs_into_[size_t(block.index)])
      if (mine(pair)) pairs_[size_t(pair)].accumulate(source_of(pair, block), block.z);
  };
  if (dense_from_ == 0)
    net_.forward(replay_chunk_, false, &probe);
  else
    net_.forward_from(dense_from_ - 1, replay_chunk_, &probe);
}

void FlowAccumulator::share() {
  if (!ranks_ || ranks_->ranks() == 1) return;
  std::vector<std::vector<double>> units(pairs_.size());
  for (size_t e = 0; e < pairs_.size(); ++e) units[e] = pairs_[e].packed();  // the others' are overwritten
  ranks_->share_units(units);
  for (size_t e = 0; e < pairs_.size(); ++e)
    if (!mine(int(e))) pairs_[e].unpack(units[e]);
}

std::vector<PairFlows> measure_flows(nn::Network& net, const nn::LabeledImages& test, const run::GridSpec& grid,
                                     const TractSettings& s, size_t stream_batch) {
  validate(s);
  if (test.count == 0) throw base::Error("tractography: the test set is empty (expected at least one image)");
  const NetView view(net);
  const size_t samples = std::min(s.samples, test.count);
  FlowAccumulator flows(net, view, grid, s, samples);
  stream_eval(
      net, test, samples, stream_batch ? int(stream_batch) : s.batch,
      [&](const EvalBatch& batch, const nn::BlockView& block) { flows.on_block(batch, block); },
      [&](const EvalBatch& batch, const nn::Tensor&) { flows.on_batch_end(batch); });
  return std::move(flows.pairs());
}

nlohmann::ordered_json tract_document(const NetView& view, const std::vector<PairFlows>& pairs,
                                      const run::GridSpec& grid, const TractSettings& s) {
  using nlohmann::ordered_json;
  ordered_json out;
  out["eval_samples"] = pairs.empty() ? size_t(0) : pairs[0].images();
  out["settings"] = {
      {"grid", {grid.gh, grid.gw, grid.gc}}, {"top", s.top}, {"chains", s.chains}, {"samples", s.samples}};
  ordered_json pairs_json = ordered_json::object();
  std::vector<FlowMatrix> means;
  double path_strength = 0;
  for (size_t l = 0; l < pairs.size(); ++l) {
    const PairFlows& pair = pairs[l];
    FlowMatrix f = pair.mean();
    const NetView::Edge edge = view.edges()[l];
    const std::string from = view.block(edge.from).name, to = view.block(edge.to).name;
    for (double v : f.c)
      if (!std::isfinite(v))
        throw base::Error("tractography: a non-finite flow from " + from + " to " + to +
                        " (the net's activations are not finite)");
    // connected pairs by C descending (ties: lower A, then lower B)
    std::vector<size_t> order;
    for (size_t e = 0; e < f.c.size(); ++e)
      if (pair.connected()[e]) order.push_back(e);
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return f.c[x] != f.c[y] ? f.c[x] > f.c[y] : x < y; });
    auto name = [&](size_t e, int side) {
      return side == 0 ? pair.from_grid().key(int(e / size_t(f.to))) : pair.to_grid().key(int(e % size_t(f.to)));
    };
    ordered_json critical = ordered_json::array();
    for (size_t r = 0; r < order.size() && r < 5 && f.c[order[r]] > 0; ++r)
      critical.push_back(name(order[r], 0) + " → " + name(order[r], 1));
    const size_t listed = s.top > 0 ? std::min(order.size(), size_t(s.top)) : order.size();
    ordered_json flows = ordered_json::array();
    for (size_t r = 0; r < listed; ++r) flows.push_back({name(order[r], 0), name(order[r], 1), f.c[order[r]]});
    const double strength = f.total();
    path_strength += strength;
    ordered_json p;
    p["from"] = from;
    p["to"] = to;
    if (view.net().is_residual()) p["kind"] = pair.shortcut() ? "shortcut" : "branch";
    p["connection_strength"] = strength;
    p["critical_pathways"] = critical;
    p["pathway_efficiency"] = pathway_efficiency(f, pair.connected());
    p["connected_pairs"] = order.size();
    p["flows"] = flows;
    p["flows_total"] = order.size();
    p["flows_omitted"] = order.size() - listed;
    pairs_json["layer_" + std::to_string(edge.from) + "_to_" + std::to_string(edge.to)] = p;
    means.push_back(std::move(f));
  }
  out["pairs"] = pairs_json;
  // Chains follow the edges of the block graph (a chain net: every block feeds the next).
  std::vector<const run::RegionGrid*> grid_of(size_t(view.size()), nullptr);
  for (size_t e = 0; e < pairs.size(); ++e) {
    grid_of[size_t(view.edges()[e].from)] = &pairs[e].from_grid();
    grid_of[size_t(view.edges()[e].to)] = &pairs[e].to_grid();
  }
  ordered_json chains = ordered_json::array();
  for (const Chain& chain : best_chains(means, view.edges(), view.size(), s.chains)) {
    ordered_json regions = ordered_json::array();
    for (size_t l = 0; l < chain.blocks.size(); ++l)
      regions.push_back({{"layer", view.block(chain.blocks[l]).name},
                         {"region", grid_of[size_t(chain.blocks[l])]->key(chain.regions[l])}});
    chains.push_back({{"regions", regions}, {"score", chain.score}});
  }
  out["network"] = {{"path_strength", path_strength}, {"chains", chains}};
  return out;
}

nlohmann::ordered_json tract_analysis(nn::Network& net, const nn::LabeledImages& test, const run::GridSpec& grid,
                                      const TractSettings& s, size_t stream_batch) {
  return tract_document(NetView(net), measure_flows(net, test, grid, s, stream_batch), grid, s);
}

}  // namespace imaging
