// bench/bench_layers.cpp — forward/backward of every layer of the `reference` net, and one training step.
//
// What is measured (batch 64, 3×32×32 inputs drawn from N(0,1); each layer's input is the real
// activation the previous layer produced from them, so ReLU sparsity and pool patterns are realistic):
//   layer/<name>/forward     Layer::forward in training mode
//   layer/<name>/backward    Layer::backward with parameter gradients, and the input gradient except
//                            for the first layer (the training step does not compute dL/d(data))
//   fused/<relu>+<pool>/forward, …/backward   a relu and the max pool after it, fused as the net runs them
//   step/reference           forward + softmax cross-entropy + zero_grad + backward + SGD step, the
//                            backward as the trainer runs it (pooled gradient buffers)
//   step/resnet20, step/bn   the same step of those presets at batch 128 (resnet20) and 64 (bn)
//   resnet20/<kind>/forward, …/backward   every layer of `resnet20` (batch 128) of one kind (conv2d
//                            by Winograd, conv2d by im2col, batchnorm2d, relu, add, pad_shortcut, gap,
//                            linear) run one after the other on the activations of a real forward, as
//                            the network runs them: the step's breakdown by layer kind
// Counters: GFLOP/s from the shapes (below; for Winograd convs an effective rate: direct-convolution
// FLOPs per second), images/s for the step; relu/pool also report bytes/s,
// the honest measure for memory-bound layers.  Rates are per wall-clock second (UseRealTime): the
// work runs on several threads, and the CPU time Google Benchmark reports is the main thread's only.
// Threads: OpenMP and OpenBLAS use OMP_NUM_THREADS when it is set (all cores otherwise).
#include <omp.h>

#include <cblas.h>
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/loss.h"
#include "nn/network.h"
#include "nn/optim.h"
#include "nn/rng.h"

namespace {

constexpr int kLayerBenchBatch = 64;
constexpr uint64_t kLayerBenchSeed = 7;

void fill_normal(nn::Tensor& t, nn::Rng& rng) {
  for (size_t i = 0; i < t.size(); ++i) t[i] = float(rng.normal());
}

// Floating-point operations of one forward pass of layer `l` from `in` (N, C, H, W) to `out`:
//   conv2d  2·N·OC·OH·OW·C·KH·KW      linear  2·N·OUT·IN
//   relu    N·C·H·W (one comparison)  pool    N·C·OH·OW·K² (comparisons or additions)
// A conv/linear backward is twice its forward (weight gradient + input gradient), once without the
// input gradient; relu/pool backward are counted as one operation per input element.
bool has_weights(const nn::Layer& l) { return l.kind() == "conv2d" || l.kind() == "linear"; }

double forward_flops(const nn::Layer& l, const nn::Shape& in, const nn::Shape& out) {
  if (auto* c = dynamic_cast<const nn::Conv2d*>(&l))
    return 2.0 * out.n * c->out_channels * out.h * out.w * double(in.c) * c->kh * c->kw;
  if (auto* f = dynamic_cast<const nn::Linear*>(&l)) return 2.0 * out.n * f->out_features * double(f->in_features);
  if (auto* p = dynamic_cast<const nn::Pool2d*>(&l)) return double(out.size()) * p->k * p->k;
  return double(in.size());
}

double backward_flops(const nn::Layer& l, const nn::Shape& in, const nn::Shape& out, bool input_grad) {
  if (has_weights(l)) return forward_flops(l, in, out) * (input_grad ? 2 : 1);
  return double(in.size());
}

// Bytes a memory-bound layer moves: reads its input (forward) or dout (backward), writes the other side.
double moved_bytes(const nn::Shape& in, const nn::Shape& out) { return double(in.size() + out.size()) * sizeof(float); }

// Honour OMP_NUM_THREADS for both OpenMP and OpenBLAS (the OpenMP build reads it too, but an explicit
// call makes the two agree even if only one of them was told).
int bench_threads() {
  int threads = omp_get_num_procs();
  if (const char* env = std::getenv("OMP_NUM_THREADS"))
    if (std::atoi(env) > 0) threads = std::atoi(env);
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  return threads;
}

// The reference net and, for each of its layers, the input it sees, the output it makes and a
// random upstream gradient: built once, shared by every layer benchmark.
struct LayerWorkload {
  nn::Network net{nn::Network::preset("reference"), 3, 32, 32};
  std::vector<nn::Tensor> inputs, outputs, output_grads, input_grads;  // per layer
  nn::Rng rng{kLayerBenchSeed};

  LayerWorkload() {
    net.init(kLayerBenchSeed);
    const size_t L = net.num_layers();
    inputs.resize(L);
    outputs.resize(L);
    output_grads.resize(L);
    input_grads.resize(L);
    inputs[0].resize(kLayerBenchBatch, 3, 32, 32);  // (N, 3, 32, 32)
    fill_normal(inputs[0], rng);
    for (size_t i = 0; i < L; ++i) {
      if (i > 0) inputs[i] = outputs[i - 1];
      net.layer(i).forward(inputs[i], outputs[i], true, rng);
      output_grads[i].resize(outputs[i].shape());
      fill_normal(output_grads[i], rng);
    }
  }
  static LayerWorkload& get() {
    static LayerWorkload w;
    return w;
  }
};

void layer_forward(benchmark::State& state, size_t i) {
  LayerWorkload& w = LayerWorkload::get();
  nn::Layer& layer = w.net.layer(i);
  for (auto _ : state) {
    layer.forward(w.inputs[i], w.outputs[i], true, w.rng);
    benchmark::DoNotOptimize(w.outputs[i].data());
    benchmark::ClobberMemory();
  }
  const nn::Shape &in = w.inputs[i].shape(), &out = w.outputs[i].shape();
  state.counters["GFLOP/s"] =
      benchmark::Counter(forward_flops(layer, in, out) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (!has_weights(layer)) state.SetBytesProcessed(int64_t(state.iterations() * moved_bytes(in, out)));
}

void layer_backward(benchmark::State& state, size_t i) {
  LayerWorkload& w = LayerWorkload::get();
  nn::Layer& layer = w.net.layer(i);
  layer.forward(w.inputs[i], w.outputs[i], true, w.rng);  // pool argmax etc. belong to this input
  const bool input_grad = i > 0;
  for (auto _ : state) {
    layer.backward(w.inputs[i], w.outputs[i], w.output_grads[i], input_grad ? &w.input_grads[i] : nullptr, true);
    benchmark::DoNotOptimize(w.input_grads[i].data());
    benchmark::ClobberMemory();
  }
  for (nn::Param* p : layer.params()) p->grad.zero();  // grads only accumulated; keep them bounded
  const nn::Shape &in = w.inputs[i].shape(), &out = w.outputs[i].shape();
  state.counters["GFLOP/s"] = benchmark::Counter(backward_flops(layer, in, out, input_grad) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  if (!has_weights(layer)) state.SetBytesProcessed(int64_t(state.iterations() * moved_bytes(in, out)));
}

// The relu at layer i and the pool at i + 1 fused (Pool2d::forward_after_relu / backward_into_relu), as
// the network runs them: compare with layer/<relu>/… plus layer/<pool>/… of the same pair.
void relu_pool_forward(benchmark::State& state, size_t i) {
  LayerWorkload& w = LayerWorkload::get();
  auto& pool = static_cast<nn::Pool2d&>(w.net.layer(i + 1));
  for (auto _ : state) {
    pool.forward_after_relu(w.inputs[i], w.outputs[i], w.outputs[i + 1]);
    benchmark::DoNotOptimize(w.outputs[i + 1].data());
    benchmark::ClobberMemory();
  }
  const nn::Shape &in = w.inputs[i].shape(), &mid = w.outputs[i].shape(), &out = w.outputs[i + 1].shape();
  state.SetBytesProcessed(int64_t(state.iterations() * (moved_bytes(in, mid) + moved_bytes(mid, out))));
}

void relu_pool_backward(benchmark::State& state, size_t i) {
  LayerWorkload& w = LayerWorkload::get();
  auto& pool = static_cast<nn::Pool2d&>(w.net.layer(i + 1));
  pool.forward_after_relu(w.inputs[i], w.outputs[i], w.outputs[i + 1]);  // the argmax of this input
  for (auto _ : state) {
    pool.backward_into_relu(w.outputs[i], w.output_grads[i + 1], w.input_grads[i + 1], &w.input_grads[i]);
    benchmark::DoNotOptimize(w.input_grads[i].data());
    benchmark::ClobberMemory();
  }
  const nn::Shape &in = w.inputs[i].shape(), &mid = w.outputs[i].shape(), &out = w.outputs[i + 1].shape();
  state.SetBytesProcessed(int64_t(state.iterations() * (moved_bytes(in, mid) + moved_bytes(mid, out))));
}

// One SGD step per iteration of `net` on a fixed random batch of `batch` images, with nnfmri's
// default optimiser; counts images/s.
void time_training_steps(benchmark::State& state, nn::Network& net, int batch) {
  net.init(kLayerBenchSeed);
  nn::Optimizer sgd(net, nn::OptimConfig{});
  nn::Rng rng(kLayerBenchSeed + 1);
  nn::Tensor x(batch, 3, 32, 32), dlogits;  // (N, 3, 32, 32), (N, 10, 1, 1)
  fill_normal(x, rng);
  std::vector<uint8_t> labels(static_cast<size_t>(batch));
  for (auto& y : labels) y = uint8_t(rng.below(10));
  // One step untimed first: a fresh network's first step touches every buffer for the first time
  // (resnet20 at batch 128: ~170k page faults, ~0.4 s of system time), which a training run pays once.
  // Google Benchmark calls this function again for each run and repetition, so without it a run of
  // few iterations timed mostly those faults.
  const auto step = [&] {
    const nn::Tensor& logits = net.forward(x, true);
    double loss = nn::softmax_cross_entropy(logits, labels.data(), &dlogits);
    net.zero_grad();
    net.backward(dlogits, true, -1, /*keep_output_grads=*/false);  // as nn::Trainer runs it (pooled gradients)
    sgd.step(nn::OptimConfig{}.lr);
    return loss;
  };
  step();
  for (auto _ : state) {
    double loss = step();
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  state.counters["images/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
}

// One SGD step of the reference net, with its GFLOP/s.
void reference_training_step(benchmark::State& state) {
  nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  time_training_steps(state, net, kLayerBenchBatch);
  // The shapes of every layer at this batch are those of the layer workload (the same net).
  const LayerWorkload& w = LayerWorkload::get();
  double flops = 0;
  for (size_t i = 0; i < net.num_layers(); ++i) {
    const nn::Shape &in = w.inputs[i].shape(), &out = w.outputs[i].shape();
    flops += forward_flops(net.layer(i), in, out) + backward_flops(net.layer(i), in, out, i > 0);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The `resnet20` workload: one training forward of the network at batch 128 on N(0,1) inputs, then
// every layer's input, shortcut input, output and a random upstream gradient copied out, so that a
// layer kind's benchmark can rerun all its layers on the activations the net really gives them.
constexpr int kResnetBenchBatch = 128;
struct ResnetWorkload {
  nn::Network net{nn::Network::preset("resnet20"), 3, 32, 32};
  std::vector<nn::Tensor> outputs, output_grads, input_grads;  // per layer
  nn::Tensor x;
  nn::Rng rng{kLayerBenchSeed};

  ResnetWorkload() {
    net.init(kLayerBenchSeed);
    const size_t L = net.num_layers();
    outputs.resize(L);
    output_grads.resize(L);
    input_grads.resize(L);
    x.resize(kResnetBenchBatch, 3, 32, 32);  // (N, 3, 32, 32)
    fill_normal(x, rng);
    for (size_t i = 0; i < L; ++i) {
      run_forward(i);
      output_grads[i].resize(outputs[i].shape());
      fill_normal(output_grads[i], rng);
    }
  }
  const nn::Tensor& input_of(size_t i) const { return net.layer_source(i) < 0 ? x : outputs[size_t(net.layer_source(i))]; }
  void run_forward(size_t i) {
    if (net.layer(i).layer_kind() == nn::LayerKind::add)
      static_cast<nn::Add&>(net.layer(i)).shortcut = &outputs[size_t(net.shortcut_source(i))];
    net.layer(i).forward(input_of(i), outputs[i], true, rng);
  }
  // The layers of one kind label ("conv2d.winograd", "conv2d.im2col" or the layer kind's name).
  std::vector<size_t> layers_of(const std::string& label) {
    std::vector<size_t> out;
    for (size_t i = 0; i < net.num_layers(); ++i)
      if (kind_label(net.layer(i)) == label) out.push_back(i);
    return out;
  }
  static std::string kind_label(nn::Layer& l) {
    if (auto* c = dynamic_cast<nn::Conv2d*>(&l)) return c->uses_winograd() ? "conv2d.winograd" : "conv2d.im2col";
    return l.kind();
  }
  static ResnetWorkload& get() {
    static ResnetWorkload w;
    return w;
  }
};

void resnet_kind_forward(benchmark::State& state, std::string label) {
  ResnetWorkload& w = ResnetWorkload::get();
  const std::vector<size_t> layers = w.layers_of(label);
  for (auto _ : state) {
    for (size_t i : layers) w.run_forward(i);
    benchmark::ClobberMemory();
  }
  state.counters["layers"] = double(layers.size());
}

void resnet_kind_backward(benchmark::State& state, std::string label) {
  ResnetWorkload& w = ResnetWorkload::get();
  const std::vector<size_t> layers = w.layers_of(label);
  for (size_t i : layers) w.run_forward(i);  // the state (bn statistics) of these inputs
  for (auto _ : state) {
    for (size_t i : layers) {
      nn::Layer& l = w.net.layer(i);
      if (l.layer_kind() == nn::LayerKind::add)
        static_cast<nn::Add&>(l).shortcut = &w.outputs[size_t(w.net.shortcut_source(i))];
      l.backward(w.input_of(i), w.outputs[i], w.output_grads[i], i > 0 ? &w.input_grads[i] : nullptr, true);
    }
    benchmark::ClobberMemory();
  }
  for (size_t i : layers)
    for (nn::Param* p : w.net.layer(i).params()) p->grad.zero();
  state.counters["layers"] = double(layers.size());
}

// One SGD step of a preset on a fixed random batch.
void preset_training_step(benchmark::State& state, std::string preset, int batch) {
  nn::Network net(nn::Network::preset(preset), 3, 32, 32);
  time_training_steps(state, net, batch);
}

// Registered at static-initialisation time (benchmark_main owns main()): one forward and one
// backward benchmark per layer, named by the layer's name in the net (conv1, conv1.relu, pool1, ...).
int register_layer_benchmarks() {
  int threads = bench_threads();
  benchmark::AddCustomContext("nnfmri_threads", std::to_string(threads));
  // OpenBLAS's kernels, chosen when it loads (OPENBLAS_CORETYPE, which `make bench` exports as nnfmri
  // would choose it): run by hand on a CPU that Debian's OpenBLAS does not recognise, the benchmark gets
  // generic kernels (Prescott on an Intel host, 2× slower: bench/README.md), and this line shows it.
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  for (size_t i = 0; i < net.num_layers(); ++i) {
    std::string name = "layer/" + net.layer_name(i) + "/";
    benchmark::RegisterBenchmark((name + "forward").c_str(), layer_forward, i)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((name + "backward").c_str(), layer_backward, i)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  for (size_t i = 0; i + 1 < net.num_layers(); ++i) {
    if (net.layer(i).layer_kind() != nn::LayerKind::relu || net.layer(i + 1).layer_kind() != nn::LayerKind::maxpool) continue;
    const std::string name = "fused/" + net.layer_name(i) + "+" + net.layer_name(i + 1) + "/";
    benchmark::RegisterBenchmark((name + "forward").c_str(), relu_pool_forward, i)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark((name + "backward").c_str(), relu_pool_backward, i)->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
  benchmark::RegisterBenchmark("step/reference", reference_training_step)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("step/resnet20", preset_training_step, std::string("resnet20"), kResnetBenchBatch)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("step/bn", preset_training_step, std::string("bn"), kLayerBenchBatch)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (const char* label : {"conv2d.winograd", "conv2d.im2col", "batchnorm2d", "relu", "add", "pad_shortcut", "gap", "linear"}) {
    const std::string name = std::string("resnet20/") + label + "/";
    benchmark::RegisterBenchmark((name + "forward").c_str(), resnet_kind_forward, std::string(label))
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((name + "backward").c_str(), resnet_kind_backward, std::string(label))
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  return int(net.num_layers());
}

const int registered_layer_benchmarks = register_layer_benchmarks();

}  // namespace
