// base/npz.h — write float32 arrays as a NumPy .npz file (an uncompressed zip of .npy files).
//
// Promise: the file loads with numpy.load(); each array keeps its name and shape; the write is
// atomic and streamed (each array from its buffer, no copy of the file in memory).  Used by `nnfmri
// export` to hand weights to PyTorch.
#pragma once
#include <string>
#include <vector>

namespace base {

struct NpyArray {
  std::string name;          // "conv1.weight"
  std::vector<int> shape;    // e.g. {32, 3, 3, 3}
  const float* data;         // product(shape) floats
};

// base::Error naming path, before anything is written, when the arrays do not fit a zip without zip64
// (npz_size_problem).
void write_npz(const std::string& path, const std::vector<NpyArray>& arrays);
// "" when write_npz can write arrays of these names and shapes (data unused): the whole file under
// 4 GiB, at most 65,535 arrays, each name under 64 KiB (the zip's 32- and 16-bit fields); else what is
// too large.  For a command to check its output before its work.
std::string npz_size_problem(const std::vector<NpyArray>& arrays);
// One array as a .npy file (v1.0, '<f4', C order), written atomically: numpy.load(path).
void write_npy(const std::string& path, const NpyArray& array);

// A 2-D float32 array read back from a .npy file this library wrote (v1.0, '<f4', C order).
struct Npy2D {
  int rows = 0, cols = 0;
  std::vector<float> data;  // rows · cols, row-major
};
// base::Error naming the file and what was expected when it is not such a file, is truncated, or
// holds more than max_values values (a file larger than such an array can be is refused before it is read).
Npy2D read_npy_2d(const std::string& path, size_t max_values);

}  // namespace base
