// base/limits.h — the documented size limits shared by the readers and the builders (README, "Robustness").
//
// Promise: every size that comes from a file, a flag or a spec is checked against these limits BEFORE
// anything is allocated for it, and a value over a limit is one base::Error naming the file, flag or
// token, the value and the limit.  Limits that belong to one reader alone live beside it
// (datasets/cifar10.h, report/canvas.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace base {

// JSON (base/json.h): every JSON file nnfmri reads, and a checkpoint's header.
constexpr size_t kMaxJsonBytes = size_t(1) << 30;  // 1 GiB: far above any file nnfmri writes
constexpr int kMaxJsonDepth = 64;                  // nnfmri's own files nest at most 6 levels
// Keys of one object: the ordered object (base::Json) finds each key by a linear search, so reading n
// keys costs n²/2 comparisons (100,000 keys: 23 s).  nnfmri's largest objects are a layer's regions
// (at most kMaxGridRegions = 4,096); a safetensors header has one key per tensor.
constexpr size_t kMaxJsonObjectKeys = 16384;

// Whole-file reads (base::read_file) unless the reader gives its own bound.
constexpr size_t kMaxReadBytes = size_t(1) << 30;

// Networks (nn/network.h): an input side (C, H or W), the units of one layer's output per image
// (the input's C·H·W too), and the float32 values a network stores (learnable tensors and buffers
// such as batch-norm statistics), all layers together: 2^26 values are 256 MiB of weights.
constexpr int kMaxInputSide = 65536;
constexpr int64_t kMaxLayerUnits = int64_t(1) << 22;
constexpr int64_t kMaxParameters = int64_t(1) << 26;
// A checkpoint file (nn/checkpoint.h), the bound of every reader of one: magic, version and header
// length (20 bytes), a header, every stored value as float32, the CRC.
constexpr size_t kMaxCheckpointBytes = 20 + kMaxJsonBytes + 4 * size_t(kMaxParameters) + 4;
// A convolution's im2col matrix for one image, (C·KH·KW) × (OH·OW) floats, one per thread.
constexpr int64_t kMaxConvColumns = int64_t(1) << 26;

// Region grids (run/region_grid.h): cells per axis, and regions per layer after clamping to the layer.
constexpr int kMaxGridAxis = 4096;
constexpr int kMaxGridRegions = 4096;

// Classes of a data set (datasets/): a label is one byte.  Also the most class names a run's files may
// list (report/: a confusion matrix is classes² cells).
constexpr int kMaxClasses = 256;

}  // namespace base
