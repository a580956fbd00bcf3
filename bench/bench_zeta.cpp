// bench/bench_zeta.cpp — ζ-scores (imaging/zeta.h) on `reference` with an 8x8x4 grid and 256
// stratified test images.  Target: all 8 blocks with `shapley` < 60 s and < 100 MB peak RSS on
// 2 cores; `taylor` for all blocks < 1 s.  Uses the CIFAR-10 subset in shared/ when it is there
// (random pixels otherwise).  Weights: the checkpoint named by $NNFMRI_ZETA_CHECKPOINT, else a
// seeded He initialisation (timings hold; the ζ-scores themselves mean little untrained).
//   build/nnfmri_bench --benchmark_filter=Zeta
// Benchmarks and counters:
//   BM_ZetaAnalysis            the whole stage with the defaults: s_<block>, perms_<block> (per image),
//                              halfwidth_<block>/tol_<block>, total_s, peak_rss_mb
//   BM_ZetaRound/<block>       one antithetic round (2 permutations per image) of one block, incremental:
//                              us_per_step (one region added or removed, all later layers updated)
//   BM_ZetaDenseCoalition/<b>  the naive alternative: one coalition by forward_from on all 256 images;
//                              us_per_step is its time per image, to compare with the line above
//   BM_ZetaTaylorAll           taylor scores of all 8 blocks
//   BM_ZetaShapleyVsExact      pool3 on a 2x2x4 grid (16 regions), 64 images: exact vs sampled at the
//                              default tolerance over 10 seeds: spearman, coverage, perms
//   BM_ZetaPlanted/<evidence cells>/<mean ablation?>  small nets trained on 10-class planted data
//                              (3 data seeds), 5 evidence cells (the default) or 10 (one per class):
//                              recall/precision of conv1's critical regions (ζ ≥ 2 and significant),
//                              and the recall of the top-k regions (k = planted cells) ranked by φ
//                              and by the lesion score
// Times per step are shown by Google Benchmark as seconds: read "us_per_step=6.2s" as 6.2 µs.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "bench/bench_data.h"
#include "datasets/dataset.h"
#include "datasets/planted.h"
#include "report/report_summary.h"  // spearman_rank_correlation
#include "imaging/zeta.h"
#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "nn/trainer.h"
#include "tests/planted_net.h"

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

struct Fixture {
  datasets::Dataset test;
  std::unique_ptr<nn::Network> net;
  bool real_images = false, trained = false;
  std::vector<uint32_t> indices;  // the default stratified sample
};

// The test split of the CIFAR-10 subset (train dropped), or 256 random 3×32×32 images.
Fixture& fixture() {
  static Fixture f = [] {
    Fixture f;
    f.test = bench::test_images(1000, f.real_images);
    if (const char* path = std::getenv("NNFMRI_ZETA_CHECKPOINT")) {
      f.net = std::move(nn::load_checkpoint(path).net);
      f.trained = true;
    } else {
      f.net = std::make_unique<nn::Network>(nn::Network::preset("reference"), 3, 32, 32);
      f.net->init(1);
      datasets::channel_mean_std(f.test, f.net->input_mean, f.net->input_std);
    }
    imaging::ZetaSettings s;
    f.indices = imaging::stratified_sample(f.test.view(), f.test.size(), s.samples, s.seed);
    return f;
  }();
  return f;
}

void BM_ZetaAnalysis(benchmark::State& state) {
  Fixture& f = fixture();
  imaging::ZetaSettings s;
  nlohmann::ordered_json j;
  for (auto _ : state) j = imaging::zeta_analysis(*f.net, f.test.view(), f.test.size(), run::GridSpec{8, 8, 4}, s);
  double total = 0;
  for (auto& [name, L] : j["layers"].items()) {
    state.counters["s_" + name] = L["seconds"].get<double>();
    state.counters["perms_" + name] = L["permutations"].get<double>();
    state.counters["halfwidth_" + name] = L["max_ci_half_width"].get<double>();
    state.counters["tol_" + name] = L["tolerance"].get<double>();
    total += L["seconds"].get<double>();
    std::printf("zeta %-7s %6.2f s  %4ld permutations/image  stopped by %-16s  half-width %.4f (tolerance %.4f)  %zu critical\n",
                name.c_str(), L["seconds"].get<double>(), L["permutations"].get<long>(),
                L["stopped_by"].get<std::string>().c_str(), L["max_ci_half_width"].get<double>(),
                L["tolerance"].get<double>(), L["critical_regions"].size());
  }
  state.counters["total_s"] = total;
  state.counters["trained"] = f.trained;
  state.counters["peak_rss_mb"] = peak_rss_mb();
}
BENCHMARK(BM_ZetaAnalysis)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_ZetaRound(benchmark::State& state) {
  Fixture& f = fixture();
  const int block = int(state.range(0));
  imaging::ZetaSettings s;
  imaging::CoalitionValue game(*f.net, block, run::GridSpec{8, 8, 4}, f.test.view(), f.indices, s);
  for (auto _ : state) benchmark::DoNotOptimize(imaging::shapley_sampled(game, 0, 1e9, 4, 1));
  // shapley_sampled always runs two rounds: 2 rounds × 2 walks × n steps × N images
  const double steps = 4.0 * game.regions() * game.images() * double(state.iterations());
  state.counters["us_per_step"] = benchmark::Counter(steps / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(f.net->blocks()[block].name);
}
BENCHMARK(BM_ZetaRound)->DenseRange(0, 7)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

void BM_ZetaDenseCoalition(benchmark::State& state) {
  Fixture& f = fixture();
  const int block = int(state.range(0));
  imaging::ZetaSettings s;
  imaging::CoalitionValue game(*f.net, block, run::GridSpec{8, 8, 4}, f.test.view(), f.indices, s);
  std::vector<bool> half(game.regions());
  for (int g = 0; g < game.regions(); ++g) half[g] = g % 2;
  for (auto _ : state) benchmark::DoNotOptimize(game.value(half));
  const double per_image = double(game.images()) * double(state.iterations());
  state.counters["us_per_step"] = benchmark::Counter(per_image / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(f.net->blocks()[block].name);
}
BENCHMARK(BM_ZetaDenseCoalition)->DenseRange(0, 5)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_ZetaTaylorAll(benchmark::State& state) {
  Fixture& f = fixture();
  imaging::ZetaSettings s;
  std::vector<std::unique_ptr<imaging::CoalitionValue>> games;
  for (int b = 0; b < int(f.net->blocks().size()); ++b)
    games.push_back(std::make_unique<imaging::CoalitionValue>(*f.net, b, run::GridSpec{8, 8, 4}, f.test.view(), f.indices, s));
  for (auto _ : state)
    for (auto& g : games) benchmark::DoNotOptimize(imaging::taylor_scores(*g));
}
BENCHMARK(BM_ZetaTaylorAll)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_ZetaShapleyVsExact(benchmark::State& state) {
  Fixture& f = fixture();
  imaging::ZetaSettings s;
  const std::vector<uint32_t> indices = imaging::stratified_sample(f.test.view(), f.test.size(), 64, 1);
  imaging::CoalitionValue game(*f.net, f.net->find_block("pool3"), run::GridSpec{2, 2, 4}, f.test.view(), indices, s);
  imaging::ShapleyEstimate exact;
  for (auto _ : state) exact = imaging::shapley_exact(game);
  double rho = 0, perms = 0, seconds = 0;
  int covered = 0, total = 0;
  const int seeds = 10;
  for (int seed = 1; seed <= seeds; ++seed) {
    const imaging::ShapleyEstimate e = imaging::shapley_sampled(game, -1, s.budget_seconds, s.max_permutations, uint64_t(seed));
    rho += report::spearman_rank_correlation(e.phi, exact.phi).value_or(0) / seeds;
    perms += double(e.permutations) / seeds;
    seconds += e.seconds / seeds;
    for (int g = 0; g < game.regions(); ++g, ++total) covered += e.ci_low[g] <= exact.phi[g] && exact.phi[g] <= e.ci_high[g];
  }
  state.counters["exact_s"] = exact.seconds;
  state.counters["sampled_s"] = seconds;
  state.counters["spearman"] = rho;
  state.counters["coverage"] = double(covered) / total;
  state.counters["perms"] = perms;
}
BENCHMARK(BM_ZetaShapleyVsExact)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// Trains tests/planted_net.h's small net (conv3x3:8 relu maxpool2 conv3x3:16 relu maxpool2 linear:10,
// Adam, 8 epochs, no augmentation) on 10-class planted data with E evidence cells among 8×8 (arg 0) for data seeds 1-3, then scores
// conv1 on an 8x8x1 grid (one region per cell) with ablation zero (arg 1 = 0) or mean (1).
// Counters are means over the seeds.
void BM_ZetaPlanted(benchmark::State& state) {
  const int classes = 10, evidence_cells = int(state.range(0));  // classes: the planted default
  imaging::ZetaSettings s;
  s.samples = 120;
  s.ablation = state.range(1) ? "mean" : "zero";
  const int seeds = 3;
  double accuracy = 0, recall = 0, precision = 0, topk = 0, lesion_topk = 0, perms = 0;
  for (auto _ : state)
    for (int data_seed = 1; data_seed <= seeds; ++data_seed) {
      datasets::PlantedConfig cfg;
      cfg.seed = uint64_t(data_seed);
      cfg.evidence_cells = evidence_cells;
      cfg.train_count = 2000, cfg.test_count = 300;
      const datasets::PlantedSet planted = datasets::make_planted(cfg);
      nn::Network net = train_planted_net(planted);
      accuracy += nn::evaluate(net, planted.split.test.view()).accuracy / seeds;
      const auto indices = imaging::stratified_sample(planted.split.test.view(), 300, s.samples, s.seed);
      imaging::CoalitionValue game(net, 0, run::GridSpec{8, 8, 1}, planted.split.test.view(), indices, s);
      const imaging::ShapleyEstimate e = imaging::shapley_sampled(game, -1, s.budget_seconds, s.max_permutations, 1);
      const int n = game.regions();
      const std::set<int> truth = planted_regions(game, planted);
      const std::vector<int> critical = imaging::zeta_scores(e).critical;
      int hits = 0;
      for (int g : critical) hits += int(truth.count(g));
      // recall of the k = |truth| best regions by a score
      auto topk_recall = [&](const std::vector<double>& score) {
        std::vector<int> order(n);
        for (int g = 0; g < n; ++g) order[g] = g;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
        int found = 0;
        for (size_t k = 0; k < truth.size(); ++k) found += int(truth.count(order[k]));
        return double(found) / truth.size();
      };
      recall += double(hits) / truth.size() / seeds;
      precision += (critical.empty() ? 0 : double(hits) / critical.size()) / seeds;
      topk += topk_recall(e.phi) / seeds;
      lesion_topk += topk_recall(imaging::lesion_scores(game)) / seeds;
      perms += double(e.permutations) / seeds;
    }
  state.counters["accuracy"] = accuracy;
  state.counters["recall"] = recall;
  state.counters["precision"] = precision;
  state.counters["topk_recall"] = topk;
  state.counters["lesion_topk_recall"] = lesion_topk;
  state.counters["perms"] = perms;
  state.SetLabel(std::to_string(classes) + " classes in " + std::to_string(evidence_cells) + " cells, ablation " +
                 s.ablation);
}
BENCHMARK(BM_ZetaPlanted)
    ->ArgsProduct({{5, 10}, {0, 1}})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
