// report/report.h — `nnfmri report RUN_DIR`: the scan report of a run.
//
// Promise: build_report reads RUN_DIR (report/report_data.h: config.json, metrics.jsonl,
// analysis/epoch_N/{grid,zeta,tract}.json, any of them possibly missing; or the output directory
// of `nnfmri analyze`, whose one epoch's summary is then RUN_DIR/summary.json alone) and writes,
// each file atomically:
//   RUN_DIR/analysis/epoch_N/summary.json   per analysed epoch (report/report_summary.h)
//   RUN_DIR/figures/...                     PNG or SVG figures (report/figures.h)
//   RUN_DIR/summary.json                    the last analysed epoch + run-level facts
//   RUN_DIR/report.html                     unless figures_only: one self-contained page (no
//                                           network), an epoch slider driving 3-D voxel views of
//                                           every layer, pathways, training curves and settings.
// Returns the terminal summary (a few lines).  A malformed input file throws one base::Error naming
// the file and the JSON path.  The same inputs give the same bytes in every output.
// The page embeds its data as JSON in <script type="application/json"> with <, >, &, U+2028 and
// U+2029 written as \u escapes, numbers rounded to 4 significant digits, and renders data only
// through textContent, so no text from the run (class names, paths, the spec) can become markup.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace report {

struct ReportOptions {
  bool figures_only = false;   // --figures-only: no report.html (an earlier one is removed)
  std::string format = "png";  // --format png | svg
  int scale = 1;               // --scale: figure pixels per layout unit
};

std::string build_report(const std::string& run_dir, const ReportOptions& opts);

struct RunData;
// The data report.html inlines (script-safe JSON), for a run already read (report_data.h), without
// figures: what `nnfmri serve` sends the same page from its data endpoint.
std::string page_data_text(const RunData& run);

// JSON text made safe to sit inside <script type="application/json">: <, >, & and the line
// separators U+2028/U+2029 become \u003c, \u003e, \u0026, \u2028, \u2029 (valid JSON either way).
std::string script_safe_json(const std::string& json_text);

// Bytes as base64 (RFC 4648, with '=' padding): the page data's example images (analyze --errors),
// 4 characters per 3 bytes instead of a JSON number per byte.
std::string base64(const std::vector<uint8_t>& bytes);

}  // namespace report
