// tests/fuzz/fuzz_flags.cpp — the flag table and its parser (app::Flags) and the settings built from
// flags (app::training_settings, app::analysis_settings: --grid, --stages, --zeta-*, the training
// flags), then app::validate (optimiser, schedule, imaging settings).
// Input: the arguments of `nnfmri train`, separated by NUL bytes.  Every refusal must be one line
// naming a flag.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/training_run.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args = fuzz::split(std::string(reinterpret_cast<const char*>(data), size), std::string(1, '\0'));
  if (args.size() > 64) return 0;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(&a[0]);
  fuzz::expect_clean(
      [&] {
        const app::Flags flags(app::kTrain, int(argv.size()), argv.data());
        (void)flags.usage();
        if (flags.help()) return;
        const app::TrainingSettings settings = app::training_settings(flags, 1);
        app::validate(settings, 1);
      },
      {"--", "flag"});
  return 0;
}
