// nnfmri report RUN_DIR [--figures-only] [--format png|svg] — the scan report of a run: summary.json
// files, figures and the interactive report.html (report/report.h).
#include <cstdio>

#include "apps/commands.h"
#include "report/report.h"
#include "base/error.h"

namespace app {

int cmd_report(int argc, char** argv) {
  const std::vector<FlagDef> defs = {{"--figures-only", false, "   write summaries and figures, not report.html"},
                                     {"--format", true, "png|svg  figure format (png)"},
                                     {"--help", false, ""}};
  Flags flags("report", argc, argv, defs);
  if (flags.has("--help")) return std::fputs(flags.usage().c_str(), stdout), 0;
  if (flags.positional().size() != 1)
    throw base::Error("nnfmri report: expected exactly one run directory (nnfmri report RUN_DIR [--figures-only] [--format png|svg])");
  report::ReportOptions opts;
  opts.figures_only = flags.has("--figures-only");
  opts.format = flags.str("--format", "png");
  std::fputs(report::build_report(flags.positional()[0], opts).c_str(), stdout);
  return 0;
}

}  // namespace app
