// tests/fuzz/fuzz_profile.cpp — imaging::load_profile (the monitor's profile, README "Monitoring") on
// hostile files.
// Input: a mode byte and a file or a header and tensors to frame (fuzz::framed_input, magic
// "NNFMRIpf"); mutations reach the header checks and the tensor reads.
// A profile that loads is then checked against a small net (check_profile_fits), as `monitor` does.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "imaging/monitor.h"
#include "nn/network.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const std::string path = fuzz::write("model.profile", fuzz::framed_input(data, size, "NNFMRIpf"));
  fuzz::expect_clean(
      [&] {
        const imaging::Profile profile = imaging::load_profile(path);
        const nn::Network net("linear:2 relu linear:3", 1, 1, 3);
        imaging::check_profile_fits(profile, path, net, "model.ckpt", profile.checkpoint_sha256);
      },
      {path});
  return 0;
}
