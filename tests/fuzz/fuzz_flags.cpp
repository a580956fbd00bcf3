// tests/fuzz/fuzz_flags.cpp — the flag parser (app::Flags) and the imaging settings built from flags
// (app::analysis_settings, --grid, --stages, --zeta-*, imaging::validate_analysis_settings).
// Input: the arguments, separated by NUL bytes.  Every refusal must be one line naming a flag.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args = fuzz::split(std::string(reinterpret_cast<const char*>(data), size), std::string(1, '\0'));
  if (args.size() > 64) return 0;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(&a[0]);
  std::vector<app::FlagDef> defs = app::analysis_flag_defs();
  defs.push_back({"--epochs", true, "N"});
  defs.push_back({"--lr", true, "X"});
  defs.push_back({"--nesterov", false, ""});
  fuzz::expect_clean(
      [&] {
        const app::Flags flags("train", int(argv.size()), argv.data(), defs);
        (void)flags.usage();
        (void)flags.integer("--epochs", 15, 1, 100000);
        (void)flags.real("--lr", 0.02, 1e-12, 1e6);
        const imaging::AnalysisSettings settings = app::analysis_settings(flags);
        imaging::validate_analysis_settings(settings);
      },
      {"--", "flag"});
  return 0;
}
