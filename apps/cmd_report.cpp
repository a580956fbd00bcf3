// nnfmri report RUN_DIR [--figures-only] [--format png|svg] [--scale N] — the scan report of a run: summary.json
// files, figures and the interactive report.html (report/report.h).
// nnfmri compare A B [C D E] --out DIR [--epoch N] [--format png|svg] [--scale N] — runs side by side:
// compare.json and figures (report/compare.h).
#include <cstdio>

#include "apps/commands.h"
#include "report/compare.h"
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

int cmd_compare(int argc, char** argv) {
  Flags flags(kCompare, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  report::CompareOptions opts;
  opts.out = flags.text("--out");
  if (flags.has("--epoch")) opts.epoch = int(flags.integer("--epoch"));
  opts.format = flags.text("--format");
  opts.scale = int(flags.integer("--scale"));
  std::fputs(report::build_comparison(flags.operands(), opts).c_str(), stdout);
  return 0;
}

}  // namespace app
