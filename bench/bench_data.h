// bench/bench_data.h — the images the imaging benchmarks run on.
//
// Promise: the test split of the CIFAR-10 subset (../shared/datasets/cifar10-subset, as seen from the
// repository root or from /work) when it is there — `real` is then true — otherwise `count` random
// 3×32×32 images with labels i % 10, so the benchmarks also run on a machine without the data.
#pragma once
#include <cstdio>
#include <string>

#include "datasets/dataset.h"
#include "nn/rng.h"

namespace bench {

inline datasets::Dataset test_images(size_t count, bool& real) {
  for (const char* dir : {"../shared/datasets/cifar10-subset", "/work/shared/datasets/cifar10-subset"}) {
    if (std::FILE* probe = std::fopen((std::string(dir) + "/test_batch.bin").c_str(), "rb")) {
      std::fclose(probe);
      real = true;
      return datasets::load_dataset(std::string("cifar10:") + dir).test;
    }
  }
  real = false;
  datasets::Dataset d;
  d.name = "random";
  d.channels = 3, d.height = 32, d.width = 32;
  d.class_names.assign(10, "class");
  nn::Rng rng(7);
  d.pixels.resize(count * d.image_size());
  for (auto& p : d.pixels) p = uint8_t(rng.below(256));
  d.labels.resize(count);
  for (size_t i = 0; i < count; ++i) d.labels[i] = uint8_t(i % 10);
  return d;
}

}  // namespace bench
