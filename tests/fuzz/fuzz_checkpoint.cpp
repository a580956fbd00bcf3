// tests/fuzz/fuzz_checkpoint.cpp — nn::load_checkpoint and `nnfmri info` on hostile checkpoints.
// Input: a mode byte and a file or a header and tensors to frame (fuzz::framed_input); mutations
// reach the header checks, the spec parser and the tensor reads.
// A checkpoint that loads is then described (describe_network) and shown by app::cmd_info, the real
// `info` command (its output goes to /dev/null).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "apps/commands.h"
#include "nn/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silence_stdout();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz::reset();
  const std::string path = fuzz::write("model.ckpt", fuzz::framed_input(data, size, "NNFMRIck"));
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
