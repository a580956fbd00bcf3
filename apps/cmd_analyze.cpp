// nnfmri analyze CKPT --data D --out DIR — images a checkpoint: writes the same files as
// `train --analyze-every` does after an epoch.
#include <cstdio>

#include "apps/commands.h"
#include "nn/checkpoint.h"
#include "base/error.h"

namespace app {

int cmd_analyze(int argc, char** argv) {
  std::vector<FlagDef> defs = {{"--data", true, "SPEC  data set whose test split is imaged"},
                               {"--out", true, "DIR  where the analysis files go (required)"},
                               {"--threads", true, "N  threads (all cores)"},
                               {"--help", false, ""}};
  for (auto& f : analysis_flag_defs()) defs.push_back(f);
  Flags flags("analyze", argc, argv, defs);
  if (flags.has("--help")) return std::fputs(flags.usage().c_str(), stdout), 0;
  if (flags.positional().size() != 1)
    throw base::Error("nnfmri analyze: expected exactly one checkpoint path (nnfmri analyze CKPT --data D --out DIR)");
  if (!flags.has("--out")) throw base::Error("nnfmri analyze: flag --out DIR is required");
  set_threads(flags.integer("--threads", 0, 1, 256));
  imaging::AnalysisSettings settings = analysis_settings(flags);
  nn::Checkpoint ck = nn::load_checkpoint(flags.positional()[0]);
  datasets::DataSplit data = load_data(flags, false);
  check_net_fits(*ck.net, data.test, "the checkpoint's net");
  std::string model = ck.meta.value("model", std::string("custom"));
  imaging::AnalysisContext ctx{model, ck.epoch, describe_data(flags.str("--data", ""), data)};
  data.train = datasets::Dataset{};  // described above; only the test split is imaged (peak memory)
  imaging::AnalysisReport rep = imaging::run_analysis(*ck.net, data.test.view(), settings, ctx, flags.str("--out", ""));
  std::fputs(rep.summary.c_str(), stdout);
  return 0;
}

}  // namespace app
