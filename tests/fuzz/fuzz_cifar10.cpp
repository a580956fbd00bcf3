// tests/fuzz/fuzz_cifar10.cpp — datasets::load_cifar10 on hostile files.
// Input: the bytes of data_batch_1.bin (test_batch.bin gets the same), optionally followed by
// "META|" and the text of batches.meta.txt.
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/cifar10.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::reset();
  const std::vector<std::string> parts = fuzz::split(std::string(reinterpret_cast<const char*>(data), size), "META|");
  fuzz::write("data_batch_1.bin", parts[0]);
  fuzz::write("test_batch.bin", parts[0]);
  if (parts.size() > 1) fuzz::write("batches.meta.txt", parts[1]);
  fuzz::expect_clean(
      [] {
        const datasets::DataSplit split = datasets::load_cifar10(fuzz::scratch());
        if (split.train.pixels.size() != split.train.labels.size() * datasets::kCifarImageBytes)
          fuzz::finding("pixels and labels disagree");
      },
      {fuzz::scratch()});
  return 0;
}
