// nn/data.h — the view of a labelled image set that the trainer reads.
//
// Promise: a non-owning view; pixels are 8-bit, (count, C, H, W) row-major, and
// every label is < num_classes.  datasets/ produces these; nn/ never loads files.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nn {

struct LabeledImages {
  const uint8_t* pixels = nullptr;  // (count, C, H, W)
  const uint8_t* labels = nullptr;  // (count)
  size_t count = 0;
  int channels = 0, height = 0, width = 0;
  int num_classes = 0;
  size_t image_size() const { return size_t(channels) * height * width; }
  const uint8_t* image(size_t i) const { return pixels + i * image_size(); }
};

}  // namespace nn
