// nnfmri report RUN_DIR [--figures-only] [--format png|svg] [--scale N] — the scan report of a run: summary.json
// files, figures and the interactive report.html (report/report.h).
#include <cstdio>

#include "apps/commands.h"
#include "report/report.h"

namespace app {

int cmd_report(int argc, char** argv) {
  Flags flags(kReport, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  report::ReportOptions opts;
  opts.figures_only = flags.has("--figures-only");
  opts.format = flags.text("--format");
  opts.scale = int(flags.integer("--scale"));
  std::fputs(report::build_report(flags.operands()[0], opts).c_str(), stdout);
  return 0;
}

}  // namespace app
