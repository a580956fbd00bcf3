// nn/tensor_file.h — weights in and out of the files PyTorch users have: safetensors (read F32, F16,
// BF16; write F32) and the .npz that `export` writes, and the one mapping between a Network's
// parameters and PyTorch's names and layouts.
//
// Promise:
//  - Names are nnfmri's (`conv1.weight`, `bn1.running_var`, `fc1.bias`, `output.weight`: the layer
//    names of `nnfmri info`), shapes PyTorch's: convolution weights [out, in, kh, kw], linear weights
//    [out, in] (the input flattened in (C, H, W) order, as torch.flatten does), every other tensor 1-D.
//    nnfmri stores them in that very element order, so a tensor is copied as it is.
//  - read_safetensors checks everything before it allocates or converts: the file is a regular file
//    of at most kMaxTensorFileBytes; the header length is at most kMaxSafetensorsHeader and within the
//    file; the header is JSON read by base/json.h (size, depth, finite numbers, each name once); each
//    tensor has a dtype of the format (F32, F16 and BF16 are converted exactly to float32; any other
//    makes the tensor unusable, except for `*.num_batches_tracked`, which is checked and dropped), a
//    shape of at most 8 dimensions and 2^31 elements, and data_offsets that tile the data area exactly
//    (sorted, no gap, no overlap, ending at the file's end, as the format's specification requires); a
//    non-finite value makes its tensor unusable; a file of no tensors (counters aside) is refused.  A violation is one base::Error naming the file, the
//    tensor and what was expected; an unusable tensor is an error only when the net needs it (or
//    extras are not ignored: load_named_tensors).
//  - read_npz reads the stored (uncompressed) .npz that base::write_npz writes and numpy.savez writes
//    (to a file or, with data descriptors, to a stream): from its zip end record and central directory,
//    so a file cut short or followed by other bytes is refused; little-endian float32 arrays in C
//    order; anything else is refused naming the member.
//  - load_named_tensors copies, for every parameter and buffer of `net`, the tensor of its name after
//    checking its shape (a missing tensor or another shape: an error naming the tensor and both
//    shapes) and that a batch norm's running_var is ≥ 0.  `num_batches_tracked` tensors are ignored; any other tensor the net does not use is an
//    error unless ignore_extra.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/limits.h"
#include "nn/network.h"

namespace nn {

constexpr size_t kMaxSafetensorsHeader = size_t(100) << 20;  // 100 MiB, the safetensors library's own bound
// Twice the largest network's float32 values (base/limits.h), headers and framing included.
constexpr size_t kMaxTensorFileBytes = 8 + kMaxSafetensorsHeader + 2 * 4 * size_t(base::kMaxParameters);

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // product(shape) values, row-major; none when unusable
  // Why the values cannot be used ("" when they can): a dtype that holds no weights, a non-finite
  // element.  The one error line load_named_tensors gives if the net needs the tensor; a tensor the net
  // does not use is skipped with --ignore-extra whatever it holds.
  std::string unusable;
};

struct TensorFile {
  std::vector<NamedTensor> tensors;            // in the file's order
  std::map<std::string, std::string> metadata;  // safetensors "__metadata__" (strings only)
  // The values the file holds: the elements of every tensor kept, unusable ones included (a float64
  // tensor holds its elements, so a net needing it is refused naming its dtype, not for its size), an
  // .npz member's at most one per byte of its data (only a float32 member's data size is checked).
  // The bound nn::file_net_limit takes for a net built to receive them.
  int64_t values = 0;
  std::string sha256;  // of the file as it was opened and read (base::sha256_file of its FileReader)
};

TensorFile read_safetensors(const std::string& path);
// A tensor of a Network (or any float array) under its name and shape, not owned.
struct TensorRef {
  std::string name;
  std::vector<int64_t> shape;
  float* values;  // product(shape) values
};
// F32 tensors and string metadata, the data area 8-byte aligned; atomic.
void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata);

TensorFile read_npz(const std::string& path);
// The description `export --npz` writes beside an .npz and `import` reads: NAME.npz → NAME.model.json,
// any other name (weights, .npz alone) → itself + ".model.json".
std::string npz_description_path(const std::string& npz);

// Every parameter and buffer of `net` under its name and PyTorch shape (pointing into the net; null for
// a planned net, nn::Network::planned).
std::vector<TensorRef> torch_tensors(Network& net);
// Every tensor of `wanted` is in `tensors` by name with its shape, else the first that is not is named
// (in wanted's order) with both shapes: "<file>: tensor conv1.weight is [4, 3, 3, 3], the spec needs
// [64, 3, 3, 3]", "<file>: no tensor conv1.bias [64], which the spec needs"; a name listed twice is
// refused.  What load_named_tensors checks first, and what a loader checks before it allocates the net
// a file names (`import`, nn::FramedFile::check_listed).  `file` names the source in errors.
void check_named_shapes(const std::vector<TensorRef>& wanted, const std::vector<NamedTensor>& tensors, const std::string& file);
// The tensors of `planned` (nn::Network::planned, or any net) by their PyTorch names and shapes.
void check_named_shapes(Network& planned, const std::vector<NamedTensor>& tensors, const std::string& file);
// `file` names the source in errors.
void load_named_tensors(Network& net, const std::vector<NamedTensor>& tensors, bool ignore_extra, const std::string& file);

std::string shape_text(const std::vector<int64_t>& shape);  // "[32, 3, 3, 3]"

}  // namespace nn
