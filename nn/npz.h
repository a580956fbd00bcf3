// nn/npz.h — write float32 arrays as a NumPy .npz file (an uncompressed zip of .npy files).
//
// Promise: the file loads with numpy.load(); each array keeps its name and shape; the write is
// atomic.  Used by `nnfmri export` to hand weights to PyTorch.
#pragma once
#include <string>
#include <vector>

namespace nn {

struct NpyArray {
  std::string name;          // "conv1.weight"
  std::vector<int> shape;    // e.g. {32, 3, 3, 3}
  const float* data;         // product(shape) floats
};

void write_npz(const std::string& path, const std::vector<NpyArray>& arrays);

}  // namespace nn
