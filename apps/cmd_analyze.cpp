// nnfmri analyze CKPT --data D --out DIR — images a checkpoint: writes the same files as
// `train --analyze-every` does after an epoch.
#include <unistd.h>

#include <cstdio>

#include "apps/commands.h"
#include "nn/checkpoint.h"

namespace app {

int cmd_analyze(int argc, char** argv) {
  Flags flags(kAnalyze, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  set_threads(flags);
  imaging::AnalysisSettings settings = analysis_settings(flags);
  nn::Checkpoint ck = nn::load_checkpoint(flags.operands()[0]);
  datasets::DataSplit data = load_data(flags, false);
  check_net_fits(*ck.net, data.test, "the checkpoint's net");
  settings.zeta.value = imaging::resolve_value_classes(
      settings.zeta.value, ck.class_names.empty() ? data.test.class_names : ck.class_names);
  std::string model = ck.meta.value("model", std::string("custom"));
  imaging::AnalysisContext ctx{model, ck.epoch, describe_data(flags.text("--data"), data)};
  data.train = datasets::Dataset{};  // described above; only the test split is imaged (peak memory)
  const bool terminal = isatty(STDERR_FILENO);
  imaging::AnalysisReport rep = imaging::run_analysis(*ck.net, data.test.view(), settings, ctx, flags.text("--out"),
                                                      [&](const imaging::AnalysisProgress& p) {
                                                        if (terminal) draw_imaging_progress("analyze", p);
                                                      });
  if (terminal) clear_progress_line();
  std::fputs(rep.summary.c_str(), stdout);
  return 0;
}

}  // namespace app
