// nnfmri analyze CKPT --data D --out DIR — images a checkpoint: writes the same files as
// `train --analyze-every` does after an epoch.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "apps/commands.h"
#include "base/error.h"
#include "base/fileio.h"
#include "dist/world.h"
#include "imaging/stage.h"
#include "nn/checkpoint.h"
#include "run/manifest.h"

namespace app {

int cmd_analyze(int argc, char** argv) {
  Flags flags(kAnalyze, argc, argv);
  if (flags.help()) {
    agree_to_end_early("nnfmri analyze --help");  // under mpirun (commands.h)
    return std::fputs(flags.usage().c_str(), stdout), 0;
  }
  warn_if_oversubscribed("analyze", set_threads(flags));
  imaging::AnalysisSettings settings = analysis_settings(flags);
  nn::Checkpoint ck = nn::load_checkpoint(flags.operands()[0]);
  // the test half alone: the stages image the first test images (their samples) and nothing else
  datasets::DataSplit data = load_data(flags, false, "--data", true, ck.net->channels());
  check_net_fits(*ck.net, data.test, "the checkpoint's net");
  settings.zeta.value = imaging::resolve_value_classes(
      settings.zeta.value, ck.class_names.empty() ? data.test.class_names : ck.class_names);
  std::string model = ck.meta.value("model", std::string("custom"));
  imaging::AnalysisContext ctx{model, ck.epoch, describe_data(flags.text("--data"), data, HalvesRead::test)};
  ctx.checkpoint = {{"path", flags.operands()[0]}, {"sha256", ck.sha256}};
  // Under mpirun every rank agrees with rank 0 on what it images (the checkpoint's and the data's
  // bytes) and how (the settings): otherwise the shared units would not fit together.
  if (dist::world().ranks() > 1)
    agree_with_rank0(dist::world(), {{"version", kVersion},
                      {"checkpoint", ck.sha256},
                      {"data", data_identity(ctx.dataset, data)},
                      {"analysis", imaging::describe(settings)}});
  // Under mpirun the ranks share the work (README "Beyond one machine (MPI)"): the grid's batches,
  // tract's layer pairs, ζ's per-image walks and the lesion games' chunks of images; every rank then
  // holds every result, and only rank 0 writes --out: the others write nothing (no scratch files
  // to leave behind when the job is interrupted).
  nn::ShardGroup& world = dist::world();
  settings.ranks = &world;
  settings.zeta.ranks = &world;
  const bool writer = world.rank() == 0;
  const std::string out = writer ? flags.text("--out") : std::string();
  // A stage that cannot image the net fails here, before an earlier analysis in --out is removed.
  imaging::check_analysis_fits(*ck.net, settings, data.test.view());
  // An earlier analysis in --out goes first (every stage file, whichever stages run now): an analysis
  // that fails writes none of its files (imaging/analysis.h), and a run of fewer stages would otherwise
  // leave one analysis's grid.json beside another's zeta.json, which `report` would read as one.
  // One writer per --out: the directory's lock (as train's of its run directory), held to the end.
  std::optional<base::DirectoryLock> lock;
  if (writer) {
    base::require_directory_or_missing("--out", out, "a directory for the analysis files (created when missing)");
    refuse_output_in_data("--out", out, {&data.test}, "--data", "analyze writes nothing into its data");
    base::make_directories(out);
    lock.emplace(out, directory_in_use("--out", out));
    for (const auto& stage : imaging::make_stages()) run::remove_file(out + "/" + stage->file());
  }
  const bool terminal = writer && isatty(STDERR_FILENO);
  imaging::AnalysisReport rep = imaging::run_analysis(*ck.net, data.test.view(), settings, ctx, out,
                                                      [&](const imaging::AnalysisProgress& p) {
                                                        if (terminal) draw_imaging_progress("analyze", p);
                                                      });
  if (!writer) return 0;
  if (terminal) clear_progress_line();
  std::fputs(rep.summary.c_str(), stdout);
  return 0;
}

}  // namespace app
