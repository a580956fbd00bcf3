// tests/fuzz/fuzz_tensors.cpp — nn::read_safetensors and nn::read_npz (nn/tensor_file.h) on hostile
// files, then nn::load_named_tensors into a small net (names, shapes, extra tensors).
// Input: a mode byte, then the file.  Mode bit 0 set: a safetensors file; clear: an .npz.  Bit 1
// set: tensors the net does not use are skipped (--ignore-extra).
#include <cstddef>
#include <cstdint>
#include <string>

#include "nn/network.h"
#include "nn/tensor_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const bool safetensors = data[0] & 1, ignore_extra = data[0] & 2;
  const std::string path = fuzz::write(safetensors ? "m.safetensors" : "m.npz",
                                       std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  fuzz::expect_clean(
      [&] {
        const nn::TensorFile file = safetensors ? nn::read_safetensors(path) : nn::read_npz(path);
        for (const nn::NamedTensor& t : file.tensors) {
          size_t count = 1;
          for (int64_t d : t.shape) count *= size_t(d);
          if (t.unusable.empty() ? count != t.values.size() : !t.values.empty())
            fuzz::finding("tensor " + t.name + ": shape and values disagree");
        }
        nn::Network net("conv3x3:2 bn relu maxpool2 linear:3", 2, 4, 4);
        nn::load_named_tensors(net, file.tensors, ignore_extra, path);
      },
      {path});
  return 0;
}
