// imaging/lesion_walker.cpp — the incremental forward behind every lesion-game estimator.
//
// State k = 0 is the lesioned block (H·W·C, channels-last), state k ≥ 1 the output of replayed
// block k−1 (with its pre-activation z).  A step changes some units of state 0; each replayed block
// then turns the changes (position, channel, δ) of its input into the changes of its output:
//   Conv    z[q,:] += δ·W'[c,tap,:] for every output position q whose window holds the input
//           position (the block's fan-out table), then a = relu(z) is re-read at those positions;
//   Dense   z[:] += δ·W'[p·C + c, :], then a = relu(z) everywhere;
//   AvgPool z[q,c] += δ/(KH·KW) for every window q holding the input, then a = z;
//   MaxPool a[q,c] = max over window q of the (already updated) input, re-read;
//   Add     (a residual unit) z[q,c] += δ for a change of its branch's state, and for a change of
//           its shortcut's state at an input position the shortcut keeps: identity/option A
//           z[q, c + front] += δ, option B z[q,:] += δ·W'[c,:]; then a = relu(z) re-read there.
// In a residual net a block reads the state of any earlier block (ReplayBlock::input_state,
// shortcut_state), so a change travels down the branch and the shortcut into the same add.
// Inside a residual branch an add's shortcut reads an external state (a block before the lesioned
// one): the walker changes it only in start_empty, from the game's first image to this image.
// A conv takes the changes in runs of one input position (and a dense block all of them) per output
// row (add_rows), in change order, so the bits are those of one change at a time.
// Only outputs whose value really changed are passed on, so a region's effect travels through
// its receptive field and the relus/maxima it flips, not through the whole net.  Positions and
// channels travel separately so that the inner loops need no integer division.
#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
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
  for (int i = 0; i < k; ++i) {
    const float* __restrict w = base + offset[i];
    const float d = delta[i];
#pragma omp simd
    for (int j = o; j < OC; ++j) z[j] = __builtin_fmaf(d, w[j], z[j]);
  }
}

CoalitionWalker::CoalitionWalker(const CoalitionValue& game, const WalkerKernels& kernels) : game_(game), kernels_(kernels) {
  const auto& blocks = game.replay_blocks();
  z_ = game.empty_z();
  a_ = game.empty_a();
  // One slot more than the state's entries: emit writes an entry before it knows whether it counts
  // (branch-free), and a max pool emits a window once per change that reaches it, so an emit can
  // come after every entry has moved.
  changes_.resize(a_.size());
  for (size_t k = 0; k < a_.size(); ++k) {
    changes_[k].position.resize(a_[k].size() + 1);
    changes_[k].channel.resize(a_[k].size() + 1);
    changes_[k].delta.resize(a_[k].size() + 1);
  }
  touched_.resize(blocks.size());
  for (size_t s = 0; s < blocks.size(); ++s) {
    const auto& st = blocks[s];
    // Convolutions re-read whole positions, average pools and adds single entries, a dense block
    // everything, a max pool what each change reaches (no list).
    size_t entries = 0;
    switch (st.op) {
      case BlockOp::convolution: entries = size_t(st.out_h) * st.out_w; break;
      case BlockOp::dense:
      case BlockOp::max_pool: entries = 0; break;
      case BlockOp::average_pool:
      case BlockOp::residual_add: entries = size_t(st.out_h) * st.out_w * st.out_c; break;
    }
    touched_[s].mark.assign(entries, 0);
    touched_[s].position.resize(entries);
    touched_[s].channel.resize(entries);
  }
  logits_.resize(1, int(a_[size_t(game.logits_state())].size()), 1, 1);
  size_t widest = 0;
  for (const auto& st : blocks) widest = std::max(widest, size_t(st.out_c));
  moved_.resize(widest);
  size_t largest_state = 0;
  for (const auto& state : a_) largest_state = std::max(largest_state, state.size());
  offsets_.resize(largest_state);
  flags_.assign(widest + 8, 0);
  window_max_.resize(blocks.size());
  window_stamp_.resize(blocks.size());
  for (size_t s = 0; s < blocks.size(); ++s)
    if (blocks[s].op == BlockOp::max_pool) {
      const size_t positions = size_t(blocks[s].out_h) * blocks[s].out_w;
      window_max_[s].resize(positions * size_t(blocks[s].in_c));
      window_stamp_[s].assign(positions, 0);
    }
}

namespace {
void copy_states(const std::vector<std::vector<float>>& z, const std::vector<std::vector<float>>& a,
                 std::vector<std::vector<float>>& z_to, std::vector<std::vector<float>>& a_to) {
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
  const std::vector<float>& logits = a_[size_t(game_.logits_state())];
  std::memcpy(logits_.data(), logits.data(), logits.size() * sizeof(float));
  double v;
  image_values(logits_, &game_.labels()[image_], game_.value_function(), &v);
  return v;
}

void CoalitionWalker::propagate() {
  const auto& blocks = game_.replay_blocks();
  // A new step: every max pool's kept window maxima are stale (stamps differ from stamp_).
  if (++stamp_ == 0) {
    for (auto& stamps : window_stamp_) std::fill(stamps.begin(), stamps.end(), 0u);
    stamp_ = 1;
  }
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
    // Records output entry (q, o) when its value moved; branch-free, as about half the re-read
    // entries do not move.
    auto emit = [&](int q, int o, float now) {
      const int e = q * OC + o;
      remember(a + e, 1);
      out.position[out.count] = q;
      out.channel[out.count] = o;
      out.delta[out.count] = now - a[e];
      out.count += now != a[e];
      a[e] = now;
    };
    // Re-reads the OC outputs at position q, a = act(z): one vector pass computes the moves and
    // flags, then only the flagged entries (often a few percent) are listed, 8 flags per word.
    auto emit_row = [&](int q) {
      const float* __restrict zq = z + size_t(q) * OC;
      float* __restrict aq = a + size_t(q) * OC;
      float* __restrict moved = moved_.data();
      uint8_t* __restrict flag = flags_.data();
      const bool relu = st.activation == Activation::relu;  // σ = imaging::activate, inlined for the vector loop
      remember(aq, OC);
#pragma omp simd
      for (int o = 0; o < OC; ++o) {
        const float now = relu && zq[o] < 0.f ? 0.f : zq[o];
        moved[o] = now - aq[o];
        flag[o] = now != aq[o];
        aq[o] = now;
      }
      for (int w = 0; w < OC; w += 8) {
        uint64_t word;
        std::memcpy(&word, flag + w, sizeof word);
        if (OC - w < 8) word &= (uint64_t(1) << (8 * (OC - w))) - 1;
        for (; word; word &= word - 1) {  // each flag is 0 or 1: clearing the lowest bit clears its byte
          const int o = w + __builtin_ctzll(word) / 8;
          out.position[out.count] = q;
          out.channel[out.count] = o;
          out.delta[out.count] = moved[o];
          ++out.count;
        }
      }
    };
    Touched& t = touched_[s];
    // Lists output entry `entry` (position q, channel c) once; `saved` (OC floats for a conv row,
    // one for an average pool, none for a max pool, which keeps no z) goes to the journal.
    auto touch = [&](int entry, int q, int c, float* saved, int count) {
      if (!t.mark[entry]) {
        t.mark[entry] = 1;
        if (count) remember(saved, count);
        t.position[t.count] = q;
        t.channel[t.count] = c;
        ++t.count;
      }
    };
    t.count = 0;
    switch (st.op) {
      case BlockOp::convolution: {
        const int taps = st.kh * st.kw;
        // Changes come in runs of one input position (a row's channels): each output row the position
        // reaches takes the whole run at once (add_rows), which adds to each z[q, o] in change order
        // as one change at a time would.
        int* offset = offsets_.data();
        for (int i = 0; i < in.count;) {
          const int p = in.position[i];
          int end = i;
          for (; end < in.count && in.position[end] == p; ++end) offset[end - i] = in.channel[end] * taps * OC;
          for (int f = st.fan_begin[p]; f < st.fan_begin[p + 1]; ++f) {
            const int q = st.fan_position[f];
            float* zq = z + size_t(q) * OC;
            touch(q, q, 0, zq, OC);
            add_rows(zq, OC, st.weight.data() + size_t(st.fan_tap[f]) * OC, offset, &in.delta[i], end - i);
          }
          i = end;
        }
        for (int j = 0; j < t.count; ++j) {
          const int q = t.position[j];
          t.mark[q] = 0;
          emit_row(q);
        }
        break;
      }
      case BlockOp::dense: {
        remember(z, OC);
        int* offset = offsets_.data();
        for (int i = 0; i < in.count; ++i) offset[i] = (in.position[i] * C + in.channel[i]) * OC;
        add_rows(z, OC, st.weight.data(), offset, in.delta.data(), in.count);
        emit_row(0);
        break;
      }
      case BlockOp::average_pool: {
        const float inv_area = 1.f / float(st.kh * st.kw);
        for (int i = 0; i < in.count; ++i) {
          const int p = in.position[i], c = in.channel[i];
          for (int f = st.fan_begin[p]; f < st.fan_begin[p + 1]; ++f) {
            const int q = st.fan_position[f], e = q * OC + c;
            touch(e, q, c, z + e, 1);
            z[e] += in.delta[i] * inv_area;
          }
        }
        for (int j = 0; j < t.count; ++j) {
          const int q = t.position[j], c = t.channel[j];
          t.mark[q * OC + c] = 0;
          emit(q, c, z[q * OC + c]);
        }
        break;
      }
      case BlockOp::max_pool: {
        // The input state is final before this block runs, so window q's maximum can be read at the
        // first change that reaches it; a later change in the same window reads the same maximum,
        // which then equals a[q, c] and emits nothing.  So the changes come out in first-touch order,
        // as with a touched list and a second pass, with no list, no marks and no branch on them.
        // Changes come in runs of one input position (a row's channels, as emit_row lists them): a
        // run of at least C/32 changes reads the maxima of all C channels of each window it reaches
        // in one vector pass (kept for the rest of the step: the input no longer changes), then
        // emits its changes from them in the same order.  Each maximum is the same comparisons in
        // the same order (best < x ? x : best over the window's positions, std::max's rule) either
        // way, so the bits and the changes' order are those of one change at a time.
        float* window_max = window_max_[s].data();
        uint32_t* stamp = window_stamp_[s].data();
        for (int i = 0; i < in.count;) {
          const int p = in.position[i];
          int end = i + 1;
          while (end < in.count && in.position[end] == p) ++end;
          const int fan_first = st.fan_begin[p], fan_end = st.fan_begin[p + 1];
          if (kernels_.window_maxima && (end - i) * 32 >= C) {
            for (int f = fan_first; f < fan_end; ++f) {
              const int q = st.fan_position[f];
              if (stamp[q] != stamp_) {
                stamp[q] = stamp_;
                const int* window = st.window.data() + st.window_begin[q];
                const int area = st.window_begin[q + 1] - st.window_begin[q];
                float* __restrict best = window_max + size_t(q) * C;
                std::memcpy(best, input + size_t(window[0]) * C, size_t(C) * sizeof(float));
                for (int k = 1; k < area; ++k) {
                  const float* __restrict x = input + size_t(window[k]) * C;
#pragma omp simd
                  for (int c = 0; c < C; ++c) best[c] = best[c] < x[c] ? x[c] : best[c];
                }
              }
            }
            for (int j = i; j < end; ++j) {
              const int c = in.channel[j];
              for (int f = fan_first; f < fan_end; ++f) {
                const int q = st.fan_position[f];
                emit(q, c, window_max[size_t(q) * C + c]);
              }
            }
          } else {
            for (int j = i; j < end; ++j) {
              const int c = in.channel[j];
              for (int f = fan_first; f < fan_end; ++f) {
                const int q = st.fan_position[f];
                const int* window = st.window.data() + st.window_begin[q];
                const int area = st.window_begin[q + 1] - st.window_begin[q];
                float best = input[window[0] * C + c];
                for (int k = 1; k < area; ++k) best = std::max(best, input[window[k] * C + c]);
                emit(q, c, best);
              }
            }
          }
          i = end;
        }
        break;
      }
      case BlockOp::residual_add: {
        auto add_at = [&](int q, int o, float d) {
          const int e = q * OC + o;
          touch(e, q, o, z + e, 1);
          z[e] += d;
        };
        for (int i = 0; i < in.count; ++i) add_at(in.position[i], in.channel[i], in.delta[i]);
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
        for (int j = 0; j < t.count; ++j) {
          const int q = t.position[j], c = t.channel[j];
          t.mark[q * OC + c] = 0;
          emit(q, c, activate(st.activation, z[q * OC + c]));
        }
        break;
      }
    }
  }
}

}  // namespace imaging
