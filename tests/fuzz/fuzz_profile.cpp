// tests/fuzz/fuzz_profile.cpp — imaging::load_profile (the monitor's profile, README "Monitoring") on
// hostile files.
// Input: a mode byte, then
//   'R': the file as it is (magic, version, lengths and CRC are fuzzed too; most mutations stop at the CRC);
//   else: the header JSON, "|DATA|", the tensor bytes: the harness frames them (magic "NNFMRIpf",
//         version, header length, CRC), so mutations reach the header checks and the tensor reads.
// A profile that loads is then checked against a small net (check_profile_fits), as `monitor` does.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "imaging/monitor.h"
#include "nn/network.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::string framed(const std::string& header, const std::string& tensors) {
  std::string out("NNFMRIpf", 8);
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
  const std::string path = fuzz::write("model.profile", file);
  fuzz::expect_clean(
      [&] {
        const imaging::Profile profile = imaging::load_profile(path);
        const nn::Network net("linear:2 relu linear:3", 1, 1, 3);
        imaging::check_profile_fits(profile, path, net, "model.ckpt", profile.checkpoint_sha256);
      },
      {path});
  return 0;
}
