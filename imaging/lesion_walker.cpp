// imaging/lesion_walker.cpp — the incremental forward behind every lesion-game estimator.
//
// State k = 0 is the lesioned block (H·W·C, channels-last), state k ≥ 1 the output of replayed
// block k−1 (with its pre-activation z).  A step changes some units of state 0; each replayed block
// then turns the changes (position, channel, δ) of its input into the changes of its output:
//   Conv    z[q,:] += δ·W'[c,tap,:] for every output position q whose window holds the input
//           position (the block's fan-out table), then a = relu(z) is re-read at those positions;
//   Dense   z[:] += δ·W'[p·C + c, :], then a = relu(z) everywhere;
//   AvgPool z[q,c] += δ/(KH·KW) for every window q holding the input, then a = z re-read there;
//   MaxPool a[q,:] = max over window q of the (already updated) input, re-read for every window
//           a change reaches;
//   Add     (a residual unit) z[q,c] += δ for a change of its branch's state, and for a change of
//           its shortcut's state at an input position the shortcut keeps: identity/option A
//           z[q, c + front] += δ, option B z[q,:] += δ·W'[c,:]; then a = relu(z) re-read there.
// In a residual net a block reads the state of any earlier block (ReplayBlock::input_state,
// shortcut_state), so a change travels down the branch and the shortcut into the same add.
// Inside a residual branch an add's shortcut reads an external state (a block before the lesioned
// one): the walker changes it only in start_empty, from the game's first image to this image.
// A conv takes the changes in runs of one input position (and a dense block all of them) per output
// row (add_rows), in change order, so the bits are those of one change at a time.  Every block lists
// an output position's moved channels in channel order, so its changes reach the next block in runs
// of one position.
// Only outputs whose value really changed are passed on, so a region's effect travels through
// its receptive field and the relus/maxima it flips, not through the whole net.  Positions and
// channels travel separately so that the inner loops need no integer division.
#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "imaging/lesion_game.h"

namespace imaging {

namespace {

// z[o] += d_i·row_i[o] for i = 0 … k−1 in that order, row_i = base + offset[i], o < OC: the sum of k
// scaled weight rows into one output row.  With AVX-512 (blocks of up to 128 floats in 8 zmm
// registers) or AVX2 + FMA (blocks of up to 64 floats in 8 ymm registers) the output row is held in
// registers across the k rows instead of being loaded and stored once per row.  Every way, each
// element takes the same fused multiply-adds in the same order, z ← fma(d_i, w_i[o], z) for i
// ascending, so the bits are those of one axpy per row.
#ifdef __AVX512F__
template <int V>
inline void add_rows_block(float* __restrict z, const float* base, const int* offset, const float* delta, int k) {
  __m512 acc[V];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) acc[v] = _mm512_loadu_ps(z + 16 * v);
  for (int i = 0; i < k; ++i) {
    const float* w = base + offset[i];
    const __m512 d = _mm512_set1_ps(delta[i]);
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[v] = _mm512_fmadd_ps(d, _mm512_loadu_ps(w + 16 * v), acc[v]);
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) _mm512_storeu_ps(z + 16 * v, acc[v]);
}
// The row's last OC mod 16 floats in one register under the mask live (a masked load reads no float
// past the row), with the same fused multiply-adds in the same order.
inline void add_rows_tail(float* __restrict z, __mmask16 live, const float* base, const int* offset, const float* delta, int k) {
  __m512 acc = _mm512_maskz_loadu_ps(live, z);
  for (int i = 0; i < k; ++i)
    acc = _mm512_fmadd_ps(_mm512_set1_ps(delta[i]), _mm512_maskz_loadu_ps(live, base + offset[i]), acc);
  _mm512_mask_storeu_ps(z, live, acc);
}
#elif defined(__AVX2__) && defined(__FMA__)
template <int V>
inline void add_rows_block(float* __restrict z, const float* base, const int* offset, const float* delta, int k) {
  __m256 acc[V];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) acc[v] = _mm256_loadu_ps(z + 8 * v);
  for (int i = 0; i < k; ++i) {
    const float* w = base + offset[i];
    const __m256 d = _mm256_set1_ps(delta[i]);
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(d, _mm256_loadu_ps(w + 8 * v), acc[v]);
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) _mm256_storeu_ps(z + 8 * v, acc[v]);
}
// The row's last OC mod 8 floats in one register under the lane mask live (a lane's sign bit; a masked
// load reads no float past the row), with the same fused multiply-adds in the same order.
inline void add_rows_tail(float* __restrict z, __m256i live, const float* base, const int* offset, const float* delta, int k) {
  __m256 acc = _mm256_maskload_ps(z, live);
  for (int i = 0; i < k; ++i) acc = _mm256_fmadd_ps(_mm256_set1_ps(delta[i]), _mm256_maskload_ps(base + offset[i], live), acc);
  _mm256_maskstore_ps(z, live, acc);
}
#endif

#if defined(__AVX2__) && !defined(__AVX512F__)
// lane[m] lists the set bits of the 8-bit mask m in ascending order (then zeros): the permutation
// that packs a vector's moved lanes to its front (emit_row's AVX2 path).
struct PackMoved {
  alignas(32) int32_t lane[256][8];
};
constexpr PackMoved pack_moved_table() {
  PackMoved t{};
  for (int m = 0; m < 256; ++m) {
    int k = 0;
    for (int b = 0; b < 8; ++b)
      if ((m >> b) & 1) t.lane[m][k++] = b;
  }
  return t;
}
constexpr PackMoved kPackMoved = pack_moved_table();
#endif

}  // namespace

void add_rows(float* __restrict z, int OC, const float* base, const int* offset, const float* delta, int k) {
  int o = 0;
#ifdef __AVX512F__
  for (; OC - o >= 128; o += 128) add_rows_block<8>(z + o, base + o, offset, delta, k);
  if (OC - o >= 64) add_rows_block<4>(z + o, base + o, offset, delta, k), o += 64;
  if (OC - o >= 32) add_rows_block<2>(z + o, base + o, offset, delta, k), o += 32;
  if (OC - o >= 16) add_rows_block<1>(z + o, base + o, offset, delta, k), o += 16;
#elif defined(__AVX2__) && defined(__FMA__)
  for (; OC - o >= 64; o += 64) add_rows_block<8>(z + o, base + o, offset, delta, k);
  if (OC - o >= 32) add_rows_block<4>(z + o, base + o, offset, delta, k), o += 32;
  if (OC - o >= 16) add_rows_block<2>(z + o, base + o, offset, delta, k), o += 16;
  if (OC - o >= 8) add_rows_block<1>(z + o, base + o, offset, delta, k), o += 8;
#endif
#ifdef __AVX512F__
  if (o < OC) add_rows_tail(z + o, __mmask16((1u << (OC - o)) - 1), base + o, offset, delta, k);
#elif defined(__AVX2__) && defined(__FMA__)
  if (o < OC) add_rows_tail(z + o, _mm256_cmpgt_epi32(_mm256_set1_epi32(OC - o), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), base + o, offset, delta, k);
#else
  for (int i = 0; i < k; ++i) {
    const float* __restrict w = base + offset[i];
    const float d = delta[i];
#pragma omp simd
    for (int j = o; j < OC; ++j) z[j] = __builtin_fmaf(d, w[j], z[j]);
  }
#endif
}

CoalitionWalker::CoalitionWalker(const CoalitionValue& game) : game_(game) {
  const auto& blocks = game.replay_blocks();
  z_ = game.empty_z();
  a_ = game.empty_a();
  // 16 slots more than the state's entries: emit_row writes an entry before it knows whether it
  // counts (branch-free), a whole vector of 16 at a time, so a write can come after every entry moved.
  changes_.resize(a_.size());
  for (size_t k = 0; k < a_.size(); ++k) {
    changes_[k].position.resize(a_[k].size() + 16);
    changes_[k].channel.resize(a_[k].size() + 16);
    changes_[k].delta.resize(a_[k].size() + 16);
  }
  touched_.resize(blocks.size());
  for (size_t s = 0; s < blocks.size(); ++s) {
    const auto& st = blocks[s];
    // Every block but a dense one (which re-reads its one row) lists the output positions a step
    // reaches, to re-read them as rows.
    const size_t positions = st.op == BlockOp::dense ? 0 : size_t(st.out_h) * st.out_w;
    touched_[s].mark.assign(positions, 0);
    touched_[s].position.resize(positions);
  }
  logits_.resize(1, int(a_[size_t(game.logits_state())].size()), 1, 1);
  size_t widest = 0;
  for (const auto& st : blocks) widest = std::max(widest, size_t(st.out_c));
  window_max_.resize(widest);
  size_t largest_state = 0;
  for (const auto& state : a_) largest_state = std::max(largest_state, state.size());
  offsets_.resize(largest_state);
}

namespace {
using States = std::vector<base::AlignedVector<float>>;
void copy_states(const States& z, const States& a, States& z_to, States& a_to) {
  for (size_t k = 0; k < a.size(); ++k) {
    if (!z[k].empty()) std::memcpy(z_to[k].data(), z[k].data(), z[k].size() * sizeof(float));
    std::memcpy(a_to[k].data(), a[k].data(), a[k].size() * sizeof(float));
  }
}
}  // namespace

void CoalitionWalker::start_empty(size_t image) {
  image_ = image;
  const bool journal = journal_on_;
  set_journal(journal);  // a new start: nothing to undo
  if (game_.crossed() && cached_image_ == image) {
    copy_states(cached_z_, cached_a_, z_, a_);
    return;
  }
  copy_states(game_.empty_z(), game_.empty_a(), z_, a_);
  if (!game_.crossed()) return;
  // Inside a residual branch: the state holds the first image's external inputs; replace them by
  // this image's and push the differences through (not journaled: this is the walk's start).
  journal_on_ = false;
  changes_[0].count = 0;
  for (const CoalitionValue::External& e : game_.externals()) {
    Changes& ch = changes_[size_t(e.state)];
    float* a = a_[size_t(e.state)].data();
    const float* target = e.activation(image);
    ch.count = 0;
    for (size_t u = 0; u < e.units; ++u)
      if (target[u] != a[u]) {
        ch.position[ch.count] = int(u) / e.channels;
        ch.channel[ch.count] = int(u) % e.channels;
        ch.delta[ch.count] = target[u] - a[u];
        a[u] = target[u];
        ++ch.count;
      }
  }
  propagate();
  for (const CoalitionValue::External& e : game_.externals()) changes_[size_t(e.state)].count = 0;
  journal_on_ = journal;
  cached_z_ = z_;
  cached_a_ = a_;
  cached_image_ = image;
}

void CoalitionWalker::set_journal(bool on) {
  journal_on_ = on;
  journal_where_.clear();
  journal_count_.clear();
  journal_saved_.clear();
}

void CoalitionWalker::undo(const Mark& m) {
  size_t end = journal_saved_.size();
  for (size_t i = journal_where_.size(); i-- > m.entries;) {  // newest first: the oldest value wins
    end -= size_t(journal_count_[i]);
    std::memcpy(journal_where_[i], journal_saved_.data() + end, size_t(journal_count_[i]) * sizeof(float));
  }
  journal_where_.resize(m.entries);
  journal_count_.resize(m.entries);
  journal_saved_.resize(m.floats);
}

void CoalitionWalker::start_full(size_t image) {
  start_empty(image);
  // Every unit at once: one pass whose cost is that of a dense forward.
  std::vector<int> all(a_[0].size());
  for (size_t u = 0; u < all.size(); ++u) all[u] = int(u);
  set_units(all, game_.activation(image));
}

void CoalitionWalker::set_units(const std::vector<int>& units, const float* target) {
  Changes& ch = changes_[0];
  const int C = game_.grid().channels;
  float* a0 = a_[0].data();
  ch.count = 0;
  for (int u : units)
    if (target[u] != a0[u]) {
      remember(a0 + u, 1);
      ch.position[ch.count] = u / C;
      ch.channel[ch.count] = u % C;
      ch.delta[ch.count] = target[u] - a0[u];
      a0[u] = target[u];
      ++ch.count;
    }
  propagate();
}

double CoalitionWalker::add(int region) {
  set_units(game_.units(region), game_.activation(image_));
  return value();
}

double CoalitionWalker::remove(int region) {
  set_units(game_.units(region), game_.baseline().data());
  return value();
}

double CoalitionWalker::value() const {
  const base::AlignedVector<float>& logits = a_[size_t(game_.logits_state())];
  std::memcpy(logits_.data(), logits.data(), logits.size() * sizeof(float));
  double v;
  image_values(logits_, &game_.labels()[image_], game_.value_function(), &v);
  return v;
}

void CoalitionWalker::propagate() {
  const auto& blocks = game_.replay_blocks();
  for (size_t s = 0; s < blocks.size(); ++s) {
    const CoalitionValue::ReplayBlock& st = blocks[s];
    const Changes& in = changes_[size_t(st.input_state)];
    const int shortcut_changes = st.shortcut_state >= 0 ? changes_[size_t(st.shortcut_state)].count : 0;
    Changes& out = changes_[s + 1];
    out.count = 0;
    if (in.count == 0 && shortcut_changes == 0) continue;
    const float* input = a_[size_t(st.input_state)].data();
    float* z = z_[s + 1].data();
    float* a = a_[s + 1].data();
    const int C = st.in_c, OC = st.out_c;
    // The block's output changes and touched entries are counted in locals and listed through
    // plain pointers (stored to Changes/Touched once, after the switch): a store through a list's
    // int pointer could otherwise be the count itself, and the journal's calls clobber memory, so the
    // compiler would reload the count and the lists' addresses at every entry.
    const bool journal = journal_on_;
    int* __restrict out_position = out.position.data();
    int* __restrict out_channel = out.channel.data();
    float* __restrict out_delta = out.delta.data();
    int out_count = 0;
    // The input's lists and the block's fan-out table are read through locals as well: touch's byte
    // stores (t_mark) may alias anything, so read through the vectors every count and data pointer
    // would be loaded again after each store (the loop counters spilled to the stack with them).
    const int in_count = in.count;
    const int* __restrict in_position = in.position.data();
    const int* __restrict in_channel = in.channel.data();
    const float* __restrict in_delta = in.delta.data();
    const int* __restrict fan_begin = st.fan_begin.data();
    const int* __restrict fan_position = st.fan_position.data();
    // Sets the OC outputs at position q to act(zq[0 .. OC)) (relu or identity, imaging::activate
    // inlined for the vector loop) and lists the entries that moved, in channel order, branch-free:
    // per vector of channels a mask of the moved lanes, whose channels and moves are packed to the
    // front of a vector (AVX-512: a compress; AVX2: a permutation from kPackMoved) and stored whole at
    // the list's end (the lists have 16 entries of slack).  The lanes past the last whole vector
    // (AVX2) or every lane (no AVX2) go one at a time.  Every way lists the same entries with the same
    // moves (now − a, and now ≠ a, which a NaN satisfies).
    auto emit_row = [&](int q, const float* __restrict zq, bool relu) {
      float* __restrict aq = a + size_t(q) * OC;
      if (journal) remember(aq, OC);
      int o = 0;
#ifdef __AVX512F__
      const __m512 zero = _mm512_setzero_ps();
      const __m512i position = _mm512_set1_epi32(q);
      __m512i channel = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
      for (; o < OC; o += 16, channel = _mm512_add_epi32(channel, _mm512_set1_epi32(16))) {
        const __mmask16 live = OC - o >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (OC - o)) - 1);
        __m512 now = _mm512_maskz_loadu_ps(live, zq + o);
        if (relu) now = _mm512_mask_mov_ps(now, _mm512_cmp_ps_mask(now, zero, _CMP_LT_OQ), zero);
        const __m512 before = _mm512_maskz_loadu_ps(live, aq + o);
        const __mmask16 moved = _mm512_mask_cmp_ps_mask(live, now, before, _CMP_NEQ_UQ);
        _mm512_mask_storeu_ps(aq + o, live, now);
        _mm512_storeu_ps(out_delta + out_count, _mm512_maskz_compress_ps(moved, _mm512_sub_ps(now, before)));
        _mm512_storeu_si512(out_channel + out_count, _mm512_maskz_compress_epi32(moved, channel));
        _mm512_storeu_si512(out_position + out_count, position);
        out_count += __builtin_popcount(unsigned(moved));
      }
#elif defined(__AVX2__)
      const __m256 zero = _mm256_setzero_ps();
      const __m256i position = _mm256_set1_epi32(q);
      for (; OC - o >= 8; o += 8) {
        __m256 now = _mm256_loadu_ps(zq + o);
        if (relu) now = _mm256_blendv_ps(now, zero, _mm256_cmp_ps(now, zero, _CMP_LT_OQ));
        const __m256 before = _mm256_loadu_ps(aq + o);
        const int moved = _mm256_movemask_ps(_mm256_cmp_ps(now, before, _CMP_NEQ_UQ));
        _mm256_storeu_ps(aq + o, now);
        const __m256i lanes = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPackMoved.lane[moved]));
        _mm256_storeu_ps(out_delta + out_count, _mm256_permutevar8x32_ps(_mm256_sub_ps(now, before), lanes));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_channel + out_count), _mm256_add_epi32(lanes, _mm256_set1_epi32(o)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_position + out_count), position);
        out_count += __builtin_popcount(unsigned(moved));
      }
#endif
      for (; o < OC; ++o) {
        const float now = relu && zq[o] < 0.f ? 0.f : zq[o];
        out_position[out_count] = q;
        out_channel[out_count] = o;
        out_delta[out_count] = now - aq[o];
        out_count += now != aq[o];
        aq[o] = now;
      }
    };
    Touched& t = touched_[s];
    uint8_t* __restrict t_mark = t.mark.data();
    int* __restrict t_position = t.position.data();
    int t_count = 0;
    // Lists output position q once; its z row (OC floats; none for a max pool, which keeps no z)
    // goes to the journal.
    auto touch = [&](int q, float* z_row) {
      if (!t_mark[q]) {
        t_mark[q] = 1;
        if (journal && z_row) remember(z_row, OC);
        t_position[t_count] = q;
        ++t_count;
      }
    };
    // A conv's, an average pool's or an add's touched positions: a = act(z) re-read row by row, in
    // first-touch order.
    auto reread_touched_rows = [&]() {
      for (int j = 0; j < t_count; ++j) {
        const int q = t_position[j];
        t_mark[q] = 0;
        emit_row(q, z + size_t(q) * OC, st.activation == Activation::relu);
      }
    };
    switch (st.op) {
      case BlockOp::convolution: {
        const int taps = st.kh * st.kw;
        // Changes come in runs of one input position (a row's channels): each output row the position
        // reaches takes the whole run at once (add_rows), which adds to each z[q, o] in change order
        // as one change at a time would.
        int* offset = offsets_.data();
        const int* __restrict fan_tap = st.fan_tap.data();
        const float* weight = st.weight.data();
        for (int i = 0; i < in_count;) {
          const int p = in_position[i];
          int end = i;
          for (; end < in_count && in_position[end] == p; ++end) offset[end - i] = in_channel[end] * taps * OC;
          for (int f = fan_begin[p]; f < fan_begin[p + 1]; ++f) {
            const int q = fan_position[f];
            float* zq = z + size_t(q) * OC;
            touch(q, zq);
            add_rows(zq, OC, weight + size_t(fan_tap[f]) * OC, offset, in_delta + i, end - i);
          }
          i = end;
        }
        reread_touched_rows();
        break;
      }
      case BlockOp::dense: {
        if (journal) remember(z, OC);
        int* offset = offsets_.data();
        for (int i = 0; i < in_count; ++i) offset[i] = (in_position[i] * C + in_channel[i]) * OC;
        add_rows(z, OC, st.weight.data(), offset, in_delta, in_count);
        emit_row(0, z, st.activation == Activation::relu);
        break;
      }
      case BlockOp::average_pool: {
        const float inv_area = 1.f / float(st.kh * st.kw);
        for (int i = 0; i < in_count; ++i) {
          const int p = in_position[i], c = in_channel[i];
          for (int f = fan_begin[p]; f < fan_begin[p + 1]; ++f) {
            const int q = fan_position[f];
            touch(q, z + size_t(q) * OC);
            z[q * OC + c] += in_delta[i] * inv_area;
          }
        }
        reread_touched_rows();
        break;
      }
      case BlockOp::max_pool: {
        // The windows the changes reach are listed in first-touch order; then, the input being
        // final, each listed window's maxima over all C channels are read in one vector pass (best <
        // x ? x : best over the window's positions, std::max's rule) and its moved channels emitted
        // in channel order: one run of changes per output position for the next block.
        for (int i = 0; i < in_count; ++i) {
          const int p = in_position[i];
          if (i > 0 && in_position[i - 1] == p) continue;  // the rest of a run reaches the same windows
          for (int f = fan_begin[p]; f < fan_begin[p + 1]; ++f) touch(fan_position[f], nullptr);
        }
        float* __restrict best = window_max_.data();
        for (int j = 0; j < t_count; ++j) {
          const int q = t_position[j];
          t_mark[q] = 0;
          const int* window = st.window.data() + st.window_begin[q];
          const int area = st.window_begin[q + 1] - st.window_begin[q];
          std::memcpy(best, input + size_t(window[0]) * C, size_t(C) * sizeof(float));
          for (int k = 1; k < area; ++k) {
            const float* __restrict x = input + size_t(window[k]) * C;
#pragma omp simd
            for (int c = 0; c < C; ++c) best[c] = best[c] < x[c] ? x[c] : best[c];
          }
          emit_row(q, best, false);
        }
        break;
      }
      case BlockOp::residual_add: {
        // Each change is added where it lands, in the changes' order; the positions reached are
        // listed and re-read as rows, their moved channels in channel order.
        auto add_at = [&](int q, int o, float d) {
          touch(q, z + size_t(q) * OC);
          z[q * OC + o] += d;
        };
        for (int i = 0; i < in_count; ++i) add_at(in_position[i], in_channel[i], in_delta[i]);
        const Changes& sc = changes_[size_t(std::max(0, st.shortcut_state))];
        for (int i = 0; i < shortcut_changes; ++i) {
          const int q = st.shortcut_position[size_t(sc.position[i])];
          if (q < 0) continue;  // a position option A / B's stride skips
          if (st.shortcut != Shortcut::projection) {
            add_at(q, sc.channel[i] + st.pad_front, sc.delta[i]);
            continue;
          }
          const float* w = st.weight.data() + size_t(sc.channel[i]) * OC;
          for (int o = 0; o < OC; ++o) add_at(q, o, sc.delta[i] * w[o]);
        }
        reread_touched_rows();
        break;
      }
    }
    out.count = out_count;
  }
}

}  // namespace imaging
