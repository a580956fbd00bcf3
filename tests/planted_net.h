// tests/planted_net.h — the small net and recipe that learn the planted set in about half a second,
// and the planted cells as regions of a conv1 grid: shared by the planted tests and bench_zeta.
#pragma once
#include <set>
#include <string>

#include "datasets/planted.h"
#include "imaging/zeta.h"
#include "nn/network.h"
#include "nn/trainer.h"

// conv3x3:8 relu maxpool2 conv3x3:16 relu maxpool2 linear:K, Adam 0.003 for 8 epochs, batch 32, no
// augmentation (crops and flips would move the evidence off its cells): 0.99-1.00 test accuracy on
// the default planted set (data seeds 1-3).
inline nn::Network train_planted_net(const datasets::PlantedSet& planted) {
  const datasets::PlantedConfig& c = planted.config;
  nn::Network net("conv3x3:8 relu maxpool2 conv3x3:16 relu maxpool2 linear:" + std::to_string(c.num_classes),
                  c.channels, c.height, c.width);
  net.init(1);
  net.input_mean.assign(size_t(c.channels), 0.5f);
  net.input_std.assign(size_t(c.channels), 0.25f);
  nn::TrainConfig tc;
  tc.epochs = 8;
  tc.batch = 32;
  tc.optim.kind = "adam";
  tc.optim.lr = 0.003f;
  tc.optim.weight_decay = 0;
  tc.augment.enabled = false;
  nn::Trainer trainer(net, tc, planted.split.train.view());
  for (int e = 1; e <= tc.epochs; ++e) trainer.train_epoch(e);
  return net;
}

// The regions (channel block 0) of game's grid that hold a planted cell: one region per cell when
// the grid is the planted cell grid with one channel block.
inline std::set<int> planted_regions(const imaging::CoalitionValue& game, const datasets::PlantedSet& planted) {
  std::set<int> regions;
  for (const auto& cells : planted.class_cells)
    for (const auto& [row, col] : cells) regions.insert(game.grid().index(row, col, 0));
  return regions;
}
