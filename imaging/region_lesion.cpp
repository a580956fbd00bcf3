// imaging/region_lesion.cpp — region lesions in ordinary forwards (imaging/region_lesion.h).
#include "imaging/region_lesion.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "base/text.h"
#include "imaging/net_view.h"
#include "nn/loss.h"
#include "nn/trainer.h"

namespace imaging {

// Iterative glob with one backtrack point (the last `*` seen): linear in practice, no recursion.
bool glob_match(const std::string& pattern, const std::string& text) {
  size_t p = 0, t = 0, star = std::string::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {
// Whether the glob `pattern` matches some string grid_i_j_k (i, j, k runs of digits): the glob run on
// the key form's automaton (states 0-4 read "grid_", 5/7/9 a first digit of i/j/k, 6/8/10 more digits
// or the next '_'; 10 accepts), a set of (pattern position, state) pairs.  Tells a pattern that is not
// a region key form (grid_1, grid_1_1_1_1) from one that matches no region of this block (grid_9_*_*).
bool is_region_key_form(const std::string& pattern) {
  auto step = [](int state, char c) {
    const bool digit = c >= '0' && c <= '9';
    if (state < 5) return c == "grid_"[state] ? state + 1 : -1;
    if (state == 5 || state == 7 || state == 9) return digit ? state + 1 : -1;
    if (digit) return state;
    return c == '_' && state < 10 ? state + 1 : -1;
  };
  const int kStates = 11;
  const std::string alphabet = "grid_0";  // '0' stands for every digit: the automaton treats them alike
  std::vector<bool> at(size_t(kStates) * (pattern.size() + 1), false);
  at[0] = true;
  for (size_t p = 0; p <= pattern.size(); ++p) {
    // a '*' at p: the states reachable reading any run of characters, then the pattern goes on
    if (p < pattern.size() && pattern[p] == '*')
      for (bool grew = true; grew;) {
        grew = false;
        for (int q = 0; q < kStates; ++q)
          if (at[p * kStates + size_t(q)])
            for (char c : alphabet)
              if (const int next = step(q, c); next >= 0 && !at[p * kStates + size_t(next)])
                at[p * kStates + size_t(next)] = grew = true;
      }
    if (p == pattern.size()) break;
    for (int q = 0; q < kStates; ++q) {
      if (!at[p * kStates + size_t(q)]) continue;
      const int next = pattern[p] == '*' ? q : step(q, pattern[p]);
      if (next >= 0) at[(p + 1) * kStates + size_t(next)] = true;
    }
  }
  return at[pattern.size() * kStates + 10];
}
}  // namespace

void mark_regions(const run::RegionGrid& g, const std::string& block, const std::string& pattern, const std::string& prefix,
                  std::vector<bool>& chosen) {
  if (!is_region_key_form(pattern))
    throw base::Error(prefix + "pattern '" + pattern + "' is not a region key grid_i_j_k (with * as a wildcard): expected a key " +
                      "such as grid_3_4_1, a wildcard such as grid_3_*_* or grid_*_1_*, or * for the whole block");
  bool any = false;
  for (int r = 0; r < g.count(); ++r)
    if (glob_match(pattern, g.key(r))) chosen[size_t(r)] = any = true;
  if (!any)
    throw base::Error(prefix + "pattern '" + pattern + "' matches no region of block " + block + " (its grid is " +
                      std::to_string(g.gh) + "x" + std::to_string(g.gw) + "x" + std::to_string(g.gc) + ": grid_1_1_1 … " +
                      g.key(g.count() - 1) + ")");
}

RegionLesion parse_region_lesion(const std::string& text, const nn::Network& net, const run::GridSpec& grid,
                                 const std::string& flag) {
  auto bad = [&](const std::string& what) { return base::Error(flag + " '" + text + "': " + what); };
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw bad("expected BLOCK:PATTERN[,PATTERN...], e.g. conv2:grid_3_4_*");
  const std::string block = text.substr(0, colon);
  RegionLesion l;
  l.block = net.find_block(block);
  if (l.block < 0) {
    std::string names;
    for (const nn::Block& b : net.blocks()) names += (names.empty() ? "" : ", ") + b.name;
    throw bad("no block '" + block + "' in the net (its blocks: " + names + ")");
  }
  const nn::Shape& s = net.blocks()[size_t(l.block)].output_shape;
  l.grid = run::RegionGrid(s.h, s.w, s.c, block_grid(net, l.block, grid));
  std::vector<bool> chosen(size_t(l.grid.count()), false);
  for (const std::string& pattern : base::split(text.substr(colon + 1), ',')) {
    // 'conv1:grid_1_1_1,pool1:grid_1_1_1': a second block's name, which no region key holds
    if (pattern.find(':') != std::string::npos)
      throw bad("pattern '" + pattern + "' holds a ':': one " + flag + " lesions one block (BLOCK:PATTERN[,PATTERN...], here " +
                block + "'s regions only, e.g. " + block + ":grid_3_4_*,grid_3_5_*); lesion another block in another run");
    mark_regions(l.grid, block, pattern, flag + " '" + text + "': ", chosen);
  }
  for (int r = 0; r < l.grid.count(); ++r)
    if (chosen[size_t(r)]) l.regions.push_back(r);
  return l;
}

void lesion_regions(const run::RegionGrid& g, const std::vector<int>& regions, const float* baseline, nn::Tensor& a) {
  const int H = a.h(), W = a.w(), C = a.c();
  for (int region : regions) {
    int i0, j0, k0;
    g.coords(region, i0, j0, k0);
    const run::Range rows = g.rows(i0), cols = g.cols(j0), chans = g.chans(k0);
    for (int n = 0; n < a.n(); ++n)
      for (int c = chans.begin; c < chans.end; ++c)
        for (int h = rows.begin; h < rows.end; ++h)
          for (int w = cols.begin; w < cols.end; ++w) {
            const size_t u = (size_t(c) * H + h) * W + w;
            a.data()[size_t(n) * C * H * W + u] = baseline ? baseline[u] : 0.f;
          }
  }
}

namespace {
// Runs every batch of data through the net (with the optional edit and probe); `each` sees the
// batch's first index, its labels and its logits.
template <typename Each>
void for_each_batch(nn::Network& net, const nn::LabeledImages& data, int batch, const nn::BlockEdit* edit,
                    const nn::Probe* probe, const std::vector<uint32_t>* indices, Each each) {
  if (batch < 1) throw base::Error("evaluation batch " + std::to_string(batch) + ": expected ≥ 1");
  std::vector<uint32_t> idx;
  if (indices) {
    idx = *indices;
  } else {
    idx.resize(data.count);
    std::iota(idx.begin(), idx.end(), 0u);
  }
  nn::Tensor x;
  std::vector<uint8_t> y;
  for (size_t start = 0; start < idx.size(); start += size_t(batch)) {
    const int count = int(std::min<size_t>(size_t(batch), idx.size() - start));
    nn::make_batch(net, data, idx.data() + start, count, nullptr, 0, 0, 0, x, y);
    each(start, y, net.forward(x, false, probe, edit));
  }
}
}  // namespace

LesionEvaluation evaluate_lesioned(nn::Network& net, const nn::LabeledImages& data, int batch,
                                   const RegionLesion* lesion, const std::vector<uint32_t>* indices) {
  const int K = net.num_outputs();
  LesionEvaluation ev;
  ev.count = indices ? indices->size() : data.count;
  ev.confusion.assign(size_t(K) * K, 0);
  ev.labels.resize(ev.count);
  ev.predicted.resize(ev.count);
  ev.probability_true.resize(ev.count);
  ev.probability_predicted.resize(ev.count);
  nn::BlockEdit edit;
  if (lesion)
    edit = [lesion](int block, nn::Tensor& a) {
      if (block == lesion->block)
        lesion_regions(lesion->grid, lesion->regions, lesion->baseline.empty() ? nullptr : lesion->baseline.data(), a);
    };
  long hits = 0;
  for_each_batch(net, data, batch, lesion ? &edit : nullptr, nullptr, indices,
                 [&](size_t start, const std::vector<uint8_t>& y, const nn::Tensor& logits) {
                   for (int i = 0; i < logits.n(); ++i) {
                     const float* z = logits.sample(i);
                     const int p = nn::predicted_class(z, K), label = y[size_t(i)];
                     double sum = 0;  // softmax with the maximum subtracted
                     for (int k = 0; k < K; ++k) sum += std::exp(double(z[k]) - double(z[p]));
                     const size_t at = start + size_t(i);
                     ev.labels[at] = uint8_t(label);
                     ev.predicted[at] = uint8_t(p);
                     ev.probability_predicted[at] = 1.0 / sum;
                     ev.probability_true[at] = std::exp(double(z[label]) - double(z[p])) / sum;
                     ++ev.confusion[size_t(label) * K + size_t(p)];
                     hits += p == label;
                   }
                 });
  ev.accuracy = ev.count ? double(hits) / double(ev.count) : 0;
  return ev;
}

std::vector<float> block_mean(nn::Network& net, const nn::LabeledImages& data, int batch, int block) {
  std::vector<double> sum(net.blocks()[size_t(block)].output_shape.per_sample(), 0.0);
  const nn::Probe probe = [&](const nn::BlockView& v) {
    if (v.index != block) return;
    const size_t U = v.a.shape().per_sample();
    for (int n = 0; n < v.a.n(); ++n)
      for (size_t u = 0; u < U; ++u) sum[u] += v.a.sample(n)[u];
  };
  for_each_batch(net, data, batch, nullptr, &probe, nullptr, [](size_t, const std::vector<uint8_t>&, const nn::Tensor&) {});
  std::vector<float> mean(sum.size());
  for (size_t u = 0; u < sum.size(); ++u) mean[u] = data.count ? float(sum[u] / double(data.count)) : 0.f;
  return mean;
}

}  // namespace imaging
