// bench/study/scatter_order_ab.cpp — the ζ walker's conv scatter in two loop orders, on a step shaped
// like conv3 of `reference` in pool1's game (h3's counts, bench/README.md 2026-12-05: ~7 runs of one
// input position, ~24 of 64 channels each, 9 taps, 128 output channels; weights (64, 9, 128) on cache
// lines):
//   runs     today's order (imaging/lesion_walker.cpp): for each run, for each output row it reaches,
//            one add_rows over the run's channels;
//   blocks   channel blocks of G: for each block, for each run, the run's channels inside the block,
//            for each output row: add_rows.  A weight row W[c, tap] is read once per block pass for all
//            the runs holding c (kept in L1 between them), at the price of G/k times more calls, each
//            loading and storing its output row.  It adds to z[q, o] in another order (other bits).
//
//   scatter_order_ab [G] [CHANNELS_PER_RUN] [ROUNDS]      (G 8, CHANNELS_PER_RUN 24, ROUNDS 11)
//
// Prints the median CPU time of the calling thread per step (µs) for each order, alternated in one
// process, and the steps' channel reuse (how many runs hold a channel that any run holds).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "base/aligned.h"
#include "bench/study/ab_timing.h"
#include "imaging/lesion_game.h"

namespace {
constexpr int C = 64, taps = 9, OC = 128, H = 8, W = 8;
struct Run {
  int p;
  std::vector<int> channel;  // ascending, as the walker's runs
  std::vector<float> delta;
};
// The output positions a 3×3, pad-1 conv reaches from input position p, with the tap each is reached by.
void fan(int p, std::vector<std::pair<int, int>>& out) {
  out.clear();
  const int y = p / W, x = p % W;
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const int qy = y - dy, qx = x - dx;
      if (qy >= 0 && qy < H && qx >= 0 && qx < W) out.push_back({qy * W + qx, (dy + 1) * 3 + dx + 1});
    }
}
}  // namespace

int main(int argc, char** argv) {
  const int G = argc > 1 ? std::atoi(argv[1]) : 8;
  const int per = argc > 2 ? std::atoi(argv[2]) : 24;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 11;
  if (argc > 4 || G < 1 || G > C || per < 1 || per > C || rounds < 1 || rounds > 1000) {
    std::fprintf(stderr, "usage: scatter_order_ab [G] [CHANNELS_PER_RUN] [ROUNDS] (1 ≤ G, CHANNELS_PER_RUN ≤ 64, 1 ≤ ROUNDS ≤ 1000)\n");
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 0.1f);
  base::AlignedVector<float> weight(size_t(C) * taps * OC), z(size_t(H) * W * OC, 0.f);
  for (float& w : weight) w = normal(rng);
  // Steps: 7 runs at distinct positions of a random 3×3 patch (a pool1 region's reach into pool2).
  const int steps = 2000;
  std::vector<std::vector<Run>> work(steps);
  double holders = 0, held = 0;
  for (auto& step : work) {
    const int y0 = int(rng() % (H - 2)), x0 = int(rng() % (W - 2));
    std::vector<int> patch;
    for (int dy = 0; dy < 3; ++dy)
      for (int dx = 0; dx < 3; ++dx) patch.push_back((y0 + dy) * W + x0 + dx);
    std::shuffle(patch.begin(), patch.end(), rng);
    patch.resize(7);
    std::vector<int> count(C, 0);
    for (int p : patch) {
      Run r{p, {}, {}};
      std::vector<int> all(C);
      for (int c = 0; c < C; ++c) all[size_t(c)] = c;
      std::shuffle(all.begin(), all.end(), rng);
      all.resize(size_t(per));
      std::sort(all.begin(), all.end());
      for (int c : all) r.channel.push_back(c), r.delta.push_back(normal(rng)), ++count[size_t(c)];
      step.push_back(r);
    }
    for (int k : count) holders += k, held += k > 0;
  }
  std::vector<int> offset(C);
  std::vector<std::pair<int, int>> fans;
  auto by_runs = [&](const std::vector<Run>& step) {
    for (const Run& r : step) {
      for (size_t i = 0; i < r.channel.size(); ++i) offset[i] = r.channel[i] * taps * OC;
      fan(r.p, fans);
      for (auto [q, t] : fans)
        imaging::add_rows(z.data() + size_t(q) * OC, OC, weight.data() + size_t(t) * OC, offset.data(), r.delta.data(), int(r.channel.size()));
    }
  };
  std::vector<size_t> cursor;
  auto by_blocks = [&](const std::vector<Run>& step) {
    cursor.assign(step.size(), 0);
    for (int c0 = 0; c0 < C; c0 += G)
      for (size_t ri = 0; ri < step.size(); ++ri) {
        const Run& r = step[ri];
        const size_t begin = cursor[ri];
        size_t end = begin;
        for (; end < r.channel.size() && r.channel[end] < c0 + G; ++end) offset[end - begin] = r.channel[end] * taps * OC;
        if (end == begin) continue;
        cursor[ri] = end;
        fan(r.p, fans);
        for (auto [q, t] : fans)
          imaging::add_rows(z.data() + size_t(q) * OC, OC, weight.data() + size_t(t) * OC, offset.data(), r.delta.data() + begin,
                            int(end - begin));
      }
  };
  std::vector<double> runs_t, blocks_t;
  for (int round = 0; round < rounds; ++round) {
    double t0 = thread_cpu_seconds();
    for (const auto& step : work) by_runs(step);
    runs_t.push_back((thread_cpu_seconds() - t0) / steps);
    t0 = thread_cpu_seconds();
    for (const auto& step : work) by_blocks(step);
    blocks_t.push_back((thread_cpu_seconds() - t0) / steps);
  }
  std::printf("G %d, %d channels per run, %.2f runs per channel held: runs %.2f µs/step, blocks %.2f µs/step (z[0] %g)\n", G, per,
              holders / held, median_us(runs_t), median_us(blocks_t), double(z[0]));
  return 0;
}
