// tests/fuzz/fuzz_state.cpp — nn::load_training_state (what `train --resume` reads, README "Never
// losing a run") on hostile training states.
// Input: a mode byte and a file or a header and tensors to frame (fuzz::framed_input, magic "NNFMRIst");
// the mode byte's lowest bit chooses the run's optimiser: 0 SGD with momentum (one buffer per
// parameter), 1 Adam (two moments per parameter).  The run's net is "conv3x3:2 bn relu maxpool2
// linear:3" on 1x4x4 images and its seed 7, so a state must name that spec, that seed (or none) and
// those tensors.  A state that loads must give a position in the loader's ranges (epoch ≥ 1, counts
// ≥ 0, correct ≤ images, loss sum ≥ 0), and then take one optimiser step.
#include <cstddef>
#include <cstdint>
#include <string>

#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/optim.h"
#include "nn/trainer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const std::string path = fuzz::write("epoch_001.state", fuzz::framed_input(data, size, "NNFMRIst"));
  nn::Network net("conv3x3:2 bn relu maxpool2 linear:3", 1, 4, 4);
  net.init(7);
  nn::OptimConfig config;
  config.kind = (data[0] & 1) ? "adam" : "sgd";
  nn::Optimizer optimizer(net, config);
  fuzz::expect_clean(
      [&] {
        const nn::TrainPosition p = nn::load_training_state(path, net, optimizer, 7);
        if (p.epoch < 1 || p.step < 0 || p.images < 0 || p.correct < 0 || p.correct > p.images || !(p.loss_sum >= 0))
          fuzz::finding("a loaded state's position is outside the loader's ranges");
        if (optimizer.steps() < 0) fuzz::finding("a loaded state's optimiser step count is negative");
        optimizer.step(0.01);
      },
      {path});
  return 0;
}
