// tests/fuzz/fuzz_checkpoint.cpp — nn::load_checkpoint and `nnfmri info` on hostile checkpoints.
// Input: a mode byte, then
//   'R': the file as it is (magic, version, lengths and CRC are fuzzed too; most mutations stop at the CRC);
//   else: the header JSON, "|DATA|", the tensor bytes: the harness frames them (magic, version,
//         header length, CRC), so mutations reach the header checks, the spec parser and the tensor reads.
// A checkpoint that loads is then described (describe_network) and shown by app::cmd_info, the real
// `info` command (its output goes to /dev/null).
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "apps/commands.h"
#include "nn/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::string framed(const std::string& header, const std::string& tensors) {
  std::string out("NNFMRIck", 8);
  const uint32_t version = 1;
  const uint64_t length = header.size();
  out.append(reinterpret_cast<const char*>(&version), 4);
  out.append(reinterpret_cast<const char*>(&length), 8);
  out += header + tensors;
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silence_stdout();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string file = rest;
  if (data[0] != 'R') {
    std::vector<std::string> parts = fuzz::split(rest, "|DATA|");
    parts.resize(2);
    file = framed(parts[0], parts[1]);
  }
  const std::string path = fuzz::write("model.ckpt", file);
  fuzz::expect_clean(
      [&] {
        const nn::Checkpoint ck = nn::load_checkpoint(path);
        (void)nn::describe_network(*ck.net);
        std::string argument = path;
        char* argv[] = {&argument[0]};
        app::cmd_info(1, argv);
      },
      {path});
  return 0;
}
