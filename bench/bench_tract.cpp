// bench/bench_tract.cpp — connection tractography of every consecutive block pair of `reference`
// with the defaults (8x8x4 grid, 256 test images, batch 64).  Target: < 5 s, < 100 MB peak RSS
// on 2 cores.  Uses the CIFAR-10 subset in shared/ when it is there (random pixels otherwise);
// the weights are a seeded He initialisation (timing does not depend on training).
//   build/nnfmri_bench --benchmark_filter=Tract
// Counters: images, peak_rss_mb (the process's peak, data set included), and with
// BM_TractPairs the seconds spent in each pair's flow computation (s_<from>_<to>).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <memory>

#include "bench/bench_data.h"
#include "datasets/dataset.h"
#include "imaging/tract.h"
#include "nn/network.h"
#include "nn/rng.h"

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct Fixture {
  datasets::Dataset test;
  std::unique_ptr<nn::Network> net;
  bool real_images = false;
};

// The test split of the CIFAR-10 subset (train dropped), or 256 random 3×32×32 images.
Fixture& fixture() {
  static Fixture f = [] {
    Fixture f;
    f.test = bench::test_images(256, f.real_images);
    f.net = std::make_unique<nn::Network>(nn::Network::preset("reference"), 3, 32, 32);
    f.net->init(1);
    datasets::channel_mean_std(f.test, f.net->input_mean, f.net->input_std);
    return f;
  }();
  return f;
}

void BM_TractAnalysis(benchmark::State& state) {
  Fixture& f = fixture();
  imaging::TractSettings s;
  size_t samples = 0;
  for (auto _ : state) {
    nlohmann::ordered_json j = imaging::tract_analysis(*f.net, f.test.view(), run::GridSpec{8, 8, 4}, s);
    samples = j["eval_samples"].get<size_t>();
    benchmark::DoNotOptimize(j);
  }
  state.counters["images"] = double(samples);
  state.counters["real_images"] = f.real_images;
  state.counters["peak_rss_mb"] = peak_rss_mb();
}
BENCHMARK(BM_TractAnalysis)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// The streaming part alone (forward + flows), with the time of each pair.
void BM_TractPairs(benchmark::State& state) {
  Fixture& f = fixture();
  imaging::TractSettings s;
  std::vector<imaging::PairFlows> pairs;
  for (auto _ : state) pairs = imaging::measure_flows(*f.net, f.test.view(), run::GridSpec{8, 8, 4}, s);
  const auto& blocks = f.net->blocks();
  for (size_t l = 0; l < pairs.size(); ++l)
    state.counters["s_" + blocks[l].name + "_" + blocks[l + 1].name] = pairs[l].seconds();
  state.counters["peak_rss_mb"] = peak_rss_mb();
}
BENCHMARK(BM_TractPairs)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
