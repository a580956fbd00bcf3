// tests/command_data.h — for the tests that run a command itself (app::cmd_*): its argv from strings, and
// a small random CIFAR-10-format data directory (10 classes c0…c9, image i of class i % 10, pixels
// uniform in [lo, lo + span)), and an untrained checkpoint for it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/cifar10.h"
#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/rng.h"

inline int run_command(int (*command)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return command(int(argv.size()), argv.data());
}

inline datasets::DataSplit write_random_cifar10(const std::string& dir, size_t train, size_t test, uint64_t seed, int lo, int span) {
  datasets::DataSplit split;
  nn::Rng rng(seed);
  for (datasets::Dataset* d : {&split.train, &split.test}) {
    d->name = "cifar10", d->channels = 3, d->height = d->width = 32;
    for (int k = 0; k < 10; ++k) d->class_names.push_back("c" + std::to_string(k));
    const size_t n = d == &split.train ? train : test;
    for (size_t i = 0; i < n; ++i) d->labels.push_back(uint8_t(i % 10));
    for (size_t i = 0; i < n * d->image_size(); ++i) d->pixels.push_back(uint8_t(lo + int(rng.below(uint32_t(span)))));
  }
  datasets::write_cifar10(dir, split);
  return split;
}

// The checkpoint (epoch 1) of net `spec` on 3×32×32 images initialised with `init_seed` (nn::Network::init).
inline void write_initialised_checkpoint(const std::string& path, const std::string& spec, uint64_t init_seed,
                                         const std::vector<std::string>& class_names) {
  nn::Network net(spec, 3, 32, 32);
  net.init(init_seed);
  nn::save_checkpoint(path, net, 1, class_names);
}
