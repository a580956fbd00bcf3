// report/compare.h — `nnfmri compare A B [C D E] --out DIR`: runs side by side, as figures a paper can
// print and numbers a script can read (README "Comparing runs").
//
// Promise: build_comparison reads every run (report_data.h's load_run: a run directory or the output
// directory of `nnfmri analyze`), chooses one analysed epoch per run, renders everything in memory and
// only then writes, each file atomically, into DIR (created when missing):
//   DIR/compare.json     the runs (letter A, B, …), the epoch of each, the settings they differ in, and per
//                        layer of A and compared run X its regions, how many are apart and the mean and
//                        largest |A − X| (or why the layer is not compared)
//   DIR/LAYER_zeta.EXT   per layer of A with ζ at A's epoch: every run's ζ map on one scale (left
//                        column) and A − X beside X's (right column) on one scale, apart regions framed
//   DIR/training.EXT     every run's loss, accuracy, learning rate and mean ζ stability on one epoch
//                        axis, each run in its own line pattern (when any run has metrics.jsonl)
// The epoch: --epoch N, which every run directory must have analysed with zeta.json, else the newest
// epoch that all of them have so; an analyze directory is one checkpoint and gives its one epoch.
// A layer of A is compared with X's layer of the same name when both have ζ on the same grid.
// Figures an earlier comparison in DIR listed (its compare.json) that this one does not draw are
// removed; DIR holding anything else than an earlier comparison is refused, as is DIR inside a run.
// The same inputs give the same bytes.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace report {

struct LayerImage;

// A − X of one layer (README "Comparing runs"): values[r] = ζ_A(r) − ζ_X(r); max and mean_abs of
// |values|; apart: the regions whose two 95% ζ intervals do not overlap (lo_A > hi_X or lo_X > hi_A),
// ascending.  nullopt when either layer has no ζ or their grids differ.  report.js's zetaDifference keeps
// the same rule.
struct ZetaDifference {
  std::vector<double> values;
  double max = 0, mean_abs = 0;
  std::vector<int> apart;
};
std::optional<ZetaDifference> zeta_difference(const LayerImage& a, const LayerImage& x);

// A compared run X's layer of the name of A's layer, at X's compared epoch: x (null when X has no layer
// of that name), and A − X; or, when d is nullopt, why the layer is not compared ("no layer of that
// name", "no ζ of that layer at epoch N", "grid GHxGWxGC, A's GHxGWxGC").  build_comparison pairs the
// layers once: compare.json, the terminal lines and the figures read the same pairs.
struct LayerMatch {
  const LayerImage* x = nullptr;
  std::optional<ZetaDifference> d;
  std::string why;
};

struct CompareOptions {
  std::string out;              // --out DIR
  std::optional<int> epoch;     // --epoch N
  std::string format = "png";   // --format png | svg
  int scale = 1;                // --scale
};

// 2 … kMaxComparedRuns run directories, A first.  Returns the terminal summary.  Bad input (a run
// that cannot be read, an epoch a run lacks, DIR inside a run or holding other files) throws one
// base::Error naming it, before anything is written.
constexpr size_t kMaxComparedRuns = 5;
std::string build_comparison(const std::vector<std::string>& run_dirs, const CompareOptions& opts);

}  // namespace report
