// tests/fuzz/fuzz_cifar10.cpp — datasets::load_cifar10 on hostile files, and the monitor's streamed
// reader of the same files (datasets::TestStream, `monitor --input cifar10:DIR`).
// Input: the bytes of data_batch_1.bin (test_batch.bin gets the same), optionally followed by
// "META|" and the text of batches.meta.txt.
// A file that loads must stream, in batches of 7, to the same images and labels, with the same header.
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/cifar10.h"
#include "datasets/dataset.h"
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
        datasets::TestStream stream("cifar10:" + fuzz::scratch(), {}, 0);
        if (stream.size() != split.test.size() || stream.header().class_names != split.test.class_names)
          fuzz::finding("the stream's header disagrees with the loaded test half");
        datasets::Dataset batch;
        std::vector<uint8_t> pixels;
        std::vector<uint8_t> labels;
        while (const size_t n = stream.next(7, batch)) {
          if (batch.size() != n) fuzz::finding("a streamed batch holds another count than it says");
          pixels.insert(pixels.end(), batch.pixels.begin(), batch.pixels.end());
          labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
        }
        if (pixels != split.test.pixels || labels != split.test.labels)
          fuzz::finding("the streamed test half differs from the loaded one");
      },
      {fuzz::scratch()});
  return 0;
}
