// tests/random_images.h — a labelled image set owned by a test: random 8-bit pixels (one nn::Rng
// draw per value, in (N, C, H, W) order) and labels i mod classes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nn/data.h"
#include "nn/rng.h"

struct RandomImages {
  std::vector<uint8_t> pixels, labels;
  nn::LabeledImages view;
  RandomImages(size_t count, int C, int H, int W, int classes, uint64_t seed) {
    nn::Rng rng(seed);
    pixels.resize(count * size_t(C) * size_t(H) * size_t(W));
    for (auto& p : pixels) p = uint8_t(rng.below(256));
    labels.resize(count);
    for (size_t i = 0; i < count; ++i) labels[i] = uint8_t(i % size_t(classes));
    view.pixels = pixels.data();
    view.labels = labels.data();
    view.count = count;
    view.channels = C, view.height = H, view.width = W;
    view.num_classes = classes;
  }
};
