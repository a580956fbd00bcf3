// tests/fuzz/fuzz_idx.cpp — datasets::load_idx_dir on hostile IDX and gzip files.
// Input: a mode byte, then the images file, "IDX|", the labels file (the t10k files get the same).
// Mode bit 0 set: the harness gzips both parts, so mutations reach the IDX parser behind zlib;
// clear: the parts are written as they are, so the gzip framing itself is fuzzed (the seeds hold
// real .gz files, with trailing bytes, concatenated members, truncations).
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/idx.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::string gzip(const std::string& bytes) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, uLong(bytes.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = uInt(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = uInt(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const bool compress = data[0] & 1;
  std::vector<std::string> parts = fuzz::split(std::string(reinterpret_cast<const char*>(data + 1), size - 1), "IDX|");
  parts.resize(2);
  for (std::string& p : parts)
    if (compress) p = gzip(p);
  for (const char* split : {"train", "t10k"}) {
    fuzz::write(std::string(split) + "-images-idx3-ubyte.gz", parts[0]);
    fuzz::write(std::string(split) + "-labels-idx1-ubyte.gz", parts[1]);
  }
  fuzz::expect_clean(
      [] {
        const datasets::DataSplit split = datasets::load_idx_dir(fuzz::scratch(), "mnist");
        if (split.train.pixels.size() != split.train.labels.size() * 28 * 28) fuzz::finding("pixels and labels disagree");
      },
      {fuzz::scratch()});
  return 0;
}
