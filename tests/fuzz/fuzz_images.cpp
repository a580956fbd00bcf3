// tests/fuzz/fuzz_images.cpp — datasets::load_image_folder (`--data images:DIR`) on hostile image
// files: stb_image's decoders behind nnfmri's header checks, size rules, channel conversion, resize.
// Input: a mode byte, then up to four files separated by "IMG|", written as DIR/a/0, DIR/b/0,
// DIR/a/1, DIR/b/1.  Mode bit 0: the files are .jpg, else .png; bit 1: --resize 8x8; bit 2: the
// files go to DIR/train/ and DIR/test/ instead of the seeded split.
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/image_folder.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const uint8_t mode = data[0];
  std::vector<std::string> files = fuzz::split(std::string(reinterpret_cast<const char*>(data + 1), size - 1), "IMG|");
  if (files.size() > 4) files.resize(4);
  const std::string ext = mode & 1 ? ".jpg" : ".png";
  const std::string dir = fuzz::scratch() + "/d";
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string cls = i % 2 ? "b" : "a";
    const std::string where = mode & 4 ? (i < 2 ? "train/" : "test/") + cls + "/0" : cls + "/" + std::to_string(i / 2);
    fuzz::write("d/" + where + ext, files[i]);
  }
  datasets::ImageFolderOptions options;
  options.split = 0.5;
  if (mode & 2) options.resize_h = options.resize_w = 8;
  fuzz::expect_clean(
      [&] {
        const datasets::DataSplit s = datasets::load_image_folder(dir, options);
        for (const datasets::Dataset* d : {&s.train, &s.test})
          if (d->pixels.size() != d->labels.size() * d->image_size()) fuzz::finding("pixels and labels disagree");
      },
      {dir});
  return 0;
}
