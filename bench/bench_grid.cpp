// bench/bench_grid.cpp — the grid stage of the imaging analysis on the `reference` net.
//
// What is measured (random-initialised net, seed kGridBenchSeed; uniform random 8-bit 3×32×32 images):
//   grid/accumulate/<block>   LayerGridAccumulator::add of one batch of kGridBenchBatch real
//                             activations of that block (the per-region statistics, no forward)
//   grid/finish/<block>       LayerGridAccumulator::finish over kGridBenchImages images (means,
//                             equal-frequency bins, information and its label-shuffled null)
//   grid/stage/reference      run_grid_stage on kGridBenchImages images: forward + statistics
// Counters: units/s (activations visited per second, both passes counted once) and images/s, per
// wall-clock second (UseRealTime).  Threads: OMP_NUM_THREADS when set.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "imaging/eval_stream.h"
#include "imaging/grid_stats.h"
#include "nn/network.h"
#include "nn/rng.h"

namespace {

constexpr int kGridBenchBatch = 100;
constexpr size_t kGridBenchImages = 500;
constexpr uint64_t kGridBenchSeed = 5;

struct Fixture {
  std::vector<uint8_t> pixels, labels;
  nn::LabeledImages data;
  nn::Network net{nn::Network::preset("reference"), 3, 32, 32};
  std::vector<std::vector<float>> batch_activations;  // per block: (kGridBenchBatch, C, H, W)

  Fixture() : pixels(kGridBenchImages * 3 * 32 * 32), labels(kGridBenchImages) {
    nn::Rng rng(kGridBenchSeed);
    for (uint8_t& p : pixels) p = uint8_t(rng.below(256));
    for (uint8_t& y : labels) y = uint8_t(rng.below(10));
    data = nn::LabeledImages{pixels.data(), labels.data(), kGridBenchImages, 3, 32, 32, 10};
    net.init(kGridBenchSeed);
    batch_activations.resize(net.blocks().size());
    imaging::stream_eval(net, data, kGridBenchBatch, kGridBenchBatch,
                         [&](const imaging::EvalBatch&, const nn::BlockView& v) {
                           batch_activations[v.index].assign(v.a.data(), v.a.data() + v.a.size());
                         });
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_Accumulate(benchmark::State& state) {
  Fixture& f = fixture();
  const nn::Block& b = f.net.blocks()[state.range(0)];
  const nn::Shape& s = b.output_shape;
  imaging::LayerGridAccumulator layer(b.name, s.h, s.w, s.c, imaging::GridSettings{}, kGridBenchBatch);
  for (auto _ : state) layer.add(f.batch_activations[state.range(0)].data(), kGridBenchBatch, 0);
  const double units = double(kGridBenchBatch) * s.per_sample();
  state.counters["units/s"] = benchmark::Counter(units, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["images/s"] = benchmark::Counter(kGridBenchBatch, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(b.name);
}

void BM_Finish(benchmark::State& state) {
  Fixture& f = fixture();
  const nn::Block& b = f.net.blocks()[state.range(0)];
  const nn::Shape& s = b.output_shape;
  imaging::LayerGridAccumulator layer(b.name, s.h, s.w, s.c, imaging::GridSettings{}, kGridBenchImages);
  for (size_t offset = 0; offset < kGridBenchImages; offset += kGridBenchBatch)
    layer.add(f.batch_activations[state.range(0)].data(), kGridBenchBatch, offset);
  for (auto _ : state) benchmark::DoNotOptimize(layer.finish(f.labels.data(), 10));
  state.SetLabel(b.name);
}

void BM_Stage(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state)
    benchmark::DoNotOptimize(imaging::run_grid_stage(f.net, f.data, kGridBenchImages, kGridBenchBatch, {}));
  state.counters["images/s"] = benchmark::Counter(kGridBenchImages, benchmark::Counter::kIsIterationInvariantRate);
}

// Registered at static-initialisation time (benchmark_main owns main()); the fixture's forward
// runs lazily, in the first benchmark.
void register_all() {
  const nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  for (int b = 0; b < int(net.blocks().size()); ++b) {
    const std::string name = net.blocks()[b].name;
    benchmark::RegisterBenchmark(("grid/accumulate/" + name).c_str(), BM_Accumulate)->Arg(b)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("grid/finish/" + name).c_str(), BM_Finish)->Arg(b)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("grid/stage/reference", BM_Stage)->UseRealTime()->Unit(benchmark::kMillisecond);
}

const bool registered = (register_all(), true);

}  // namespace
