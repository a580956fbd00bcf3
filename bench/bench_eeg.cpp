// bench/bench_eeg.cpp — what NN-EEG costs (imaging/eeg.h):
//   eeg/step/plain, eeg/step/probe   one nn::Trainer step of `reference` at batch 64 on random
//                                    3×32×32 images, without and with the EEG probe (gradient norms,
//                                    update ratios, the region sums of every block, the row, events)
//   eeg/step/part/0, eeg/step/part/1  the probe's region sums alone; its gradient norms and update ratios alone
//   eeg/step/paired/1                two trainers side by side, one without and one with the probe,
//                                    stepped in turn (the order swapped every pair) and each step timed
//                                    by the process's CPU clock: counters plain_ms, probe_ms (means)
//                                    and overhead = median over pairs of probe/plain − 1. Both halves
//                                    of a pair meet the same load and the same moment of a shared
//                                    machine, which separate runs of the two do not.
//   eeg/step/paired/0                its null: the same with no probe on either side (overhead ≈ 0
//                                    up to the measurement's noise)
//   eeg/analyse_epoch/reference      the end-of-epoch analysis (Welch of all 1,377 channels over 2W
//                                    = 256 rows, states, the JSON) with a full ring
// The probe's share of a step is (probe − plain)/plain; bench/README.md has the figures.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <vector>

#include "imaging/eeg.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "nn/trainer.h"

namespace {

struct StepBench {
  std::vector<uint8_t> pixels, labels;
  nn::Network net{nn::Network::preset("reference"), 3, 32, 32};
  std::unique_ptr<nn::Trainer> trainer;
  nn::TrainPosition position;
  StepBench() {
    const size_t count = 64 * 40;
    nn::Rng rng(11);
    pixels.resize(count * 3 * 32 * 32);
    for (auto& p : pixels) p = uint8_t(rng.below(256));
    labels.resize(count);
    for (auto& y : labels) y = uint8_t(rng.below(10));
    net.input_mean = {120, 120, 120};
    net.input_std = {60, 60, 60};
    net.init(1, nn::OutputInit::zero);
    nn::TrainConfig cfg;
    cfg.epochs = 1000;
    nn::LabeledImages view{pixels.data(), labels.data(), count, 3, 32, 32, 10};
    trainer = std::make_unique<nn::Trainer>(net, cfg, view);
  }
  void step(const nn::StepProbe* probe) {
    if (position.step == trainer->steps_per_epoch()) position = nn::TrainPosition{position.epoch + 1};
    const long target = position.step + 1;
    trainer->train(position, probe, [&] { return position.step >= target; });
  }
};

void step_plain(benchmark::State& state) {
  StepBench b;
  for (auto _ : state) b.step(nullptr);
}

void step_probe(benchmark::State& state) {
  StepBench b;
  imaging::eeg::Recorder recorder(b.net, run::GridSpec{}, imaging::eeg::kDefaultWindow);
  long events = 0;
  const nn::StepProbe probe = recorder.probe([&](const imaging::eeg::Event&) { ++events; });
  for (auto _ : state) b.step(&probe);
  state.counters["channels"] = double(recorder.channels().size());
}

// Parts of the probe alone (range 0: the region sums; 1: gradient norms and update ratios).
void step_part(benchmark::State& state) {
  StepBench b;
  imaging::eeg::Recorder recorder(b.net, run::GridSpec{}, imaging::eeg::kDefaultWindow);
  nn::StepProbe probe = recorder.probe(nullptr);
  if (state.range(0) == 0) {
    probe.gradient_norms = probe.update_ratios = false;
    probe.after_step = [&](const nn::StepInfo& i) { recorder.record(i, nullptr); };
  } else {
    probe.forward = nullptr;
  }
  for (auto _ : state) b.step(&probe);
}

double process_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

void step_paired(benchmark::State& state) {
  StepBench plain, probed;
  imaging::eeg::Recorder recorder(probed.net, run::GridSpec{}, imaging::eeg::kDefaultWindow);
  const nn::StepProbe recorder_probe = recorder.probe([](const imaging::eeg::Event&) {});
  const nn::StepProbe* probe = state.range(0) == 1 ? &recorder_probe : nullptr;
  plain.step(nullptr);  // one untimed step each: first-touch page faults
  probed.step(probe);
  std::vector<double> ratios;
  double plain_sum = 0, probe_sum = 0;
  for (auto _ : state) {
    double t[2];
    for (int k = 0; k < 2; ++k) {
      const bool with_probe = (k == 1) != (ratios.size() % 2 == 1);  // swap the order every pair
      const double t0 = process_cpu_seconds();
      if (with_probe) probed.step(probe); else plain.step(nullptr);
      t[with_probe] = process_cpu_seconds() - t0;
    }
    plain_sum += t[0];
    probe_sum += t[1];
    ratios.push_back(t[1] / t[0]);
    state.SetIterationTime(t[0] + t[1]);
  }
  std::sort(ratios.begin(), ratios.end());
  const size_t n = ratios.size();
  state.counters["plain_ms"] = 1e3 * plain_sum / double(n);
  state.counters["probe_ms"] = 1e3 * probe_sum / double(n);
  state.counters["overhead"] = (n % 2 ? ratios[n / 2] : 0.5 * (ratios[n / 2 - 1] + ratios[n / 2])) - 1;
}

void analyse_epoch(benchmark::State& state) {
  nn::Network net(nn::Network::preset("reference"), 3, 32, 32);
  imaging::eeg::Recorder recorder(net, run::GridSpec{}, imaging::eeg::kDefaultWindow);
  nn::Rng rng(5);
  const size_t c = recorder.channels().size();
  std::vector<float> rows(256 * c);
  for (float& v : rows) v = float(1 + 0.1 * rng.normal());
  recorder.replay(rows, 1, 4, 176);  // epoch 4 = steps 176 … 256 (81 steps, as on the CIFAR subset)
  for (auto _ : state) benchmark::DoNotOptimize(recorder.analyse_epoch().size());
}

BENCHMARK(step_plain)->Name("eeg/step/plain")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(step_probe)->Name("eeg/step/probe")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(step_part)->Name("eeg/step/part")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(step_paired)->Name("eeg/step/paired")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(analyse_epoch)->Name("eeg/analyse_epoch/reference")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
