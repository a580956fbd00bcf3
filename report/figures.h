// report/figures.h — the report's static figures, as PNG or SVG (report/canvas.h), under RUN_DIR/figures/.
//
// Promise: render_figures(run, stability, format) draws, in memory (nothing is written before the whole
// report is known to be good), and write_figures(run_dir, figures) then writes, with EXT = format:
//   figures/epoch_NNN/LAYER_density.EXT   per analysed epoch with grid.json: each layer's density map
//   figures/epoch_NNN/LAYER_zeta.EXT      per analysed epoch with zeta.json: each layer's ζ map
//   figures/epoch_NNN/pathways.EXT        per analysed epoch with tract.json: the strongest chains
//                                         (a residual unit's shortcut edges dashed: pathway_steps)
//   figures/epoch_NNN/confusion.EXT       zeta.json from analyze --errors: the confusion matrix on the ζ sample
//   figures/epoch_NNN/LAYER_gallery.EXT   zeta.json from analyze --errors and grid.json's receptive fields: the
//                                         gallery's images with each one's φ_g(x) projected on its pixels
//   figures/evolution/LAYER_density.EXT   one row per analysed epoch (and LAYER_zeta.EXT)
//   figures/training.EXT                  loss, accuracy, learning rate and ζ stability on one epoch axis
// A map draws channel block k as a tile of GH×GW cells (row i top to bottom, column j left to right).
// Colour scales are fixed per layer over all epochs, so maps of different epochs compare directly:
// density on viridis over [min, max] of the layer's densities, ζ on RdBu over [−m, m] with m the
// layer's largest |ζ|.  Critical regions (zeta.json's critical_regions: robust score ≥ 3.5 and significant) are
// framed black and white; dead regions (active_fraction < 5 %) are crossed in grey.  Every figure
// has a title, axis or tile labels and a legend.  LAYER is the layer name with characters outside
// [A-Za-z0-9_.-] replaced by '_' (a name longer than 120 characters: its first 111 and a hash; a
// name whose LAYER an earlier layer already has: that and a hash, file_stems).
// A layer with more than 64 channel blocks gets unlabelled tiles wrapped to fit; a figure that is still
// over the size limits of report/canvas.h is not drawn and `skipped` says so (the rest is).  The limits
// are pixels: an SVG is checked at its layout size (scale 1), and a PNG over them at `scale` is drawn
// at the largest scale that fits, which `rescaled` says.  Paths are
// relative to the run directory, in drawing order.  The same run and format give the same bytes.
#pragma once
#include <string>
#include <vector>

#include "report/colormap.h"
#include "report/compare.h"
#include "report/report_data.h"
#include "report/report_summary.h"

namespace report {

struct Figure {
  std::string path;   // relative to the run directory
  std::string bytes;  // PNG or SVG
};

struct Figures {
  std::vector<Figure> files;
  std::vector<std::string> skipped;  // "figures/epoch_001/fc1_density.png not drawn: 690x50834 pixels, expected …"
  std::vector<std::string> rescaled;  // "figures/training.png drawn at --scale 6: at 8 it would be 7296x7456 pixels, …"
};

// scale: pixels per layout unit (report/canvas.h), 1 … kMaxFigureScale.
Figures render_figures(const RunData& run, const std::vector<StabilityStep>& stability, const std::string& format,
                       int scale = 1);
void write_figures(const std::string& run_dir, const Figures& figures);  // each file atomically
// Removes the .png and .svg files in dir/folder and its subfolders (a run's figures/, nnfmri's own) that
// `figures` does not hold (its paths relative to dir): what an earlier report drew and this one does not.
void remove_figures_not_in(const std::string& dir, const std::string& folder, const Figures& figures);

// `nnfmri compare` (report/compare.h): the runs, A first, each with the index into its epochs of the
// epoch compared and its zeta_stability.  Draws, paths relative to the comparison's directory:
//   LAYER_zeta.EXT  per layer of A with ζ at its epoch: each run's ζ map (one scale) and A − X beside
//                   each compared run X's (one scale), the regions whose 95% intervals are apart framed
//   training.EXT    when a run has metrics: every run's curves and mean ζ stability, A solid, B … E in
//                   the patterns of report.js's RUN_DASHES
// LAYER is A's file stem of the layer (file_stems).  The same runs and format give the same bytes.
struct ComparedRun {
  const RunData* run = nullptr;
  size_t epoch_index = 0;
  std::vector<StabilityStep> stability;
  std::vector<LayerMatch> layers;  // per layer of A, for a compared run (empty for A): compare.h's LayerMatch
};
Figures render_comparison(const std::vector<ComparedRun>& runs, const std::string& format, int scale = 1);
char compared_letter(size_t i);  // 0 → 'A', 1 → 'B', …

// The lines of the pathways figure of epoch e: each pair's flows_per_pair strongest flows (chain −1,
// opacity 0.2 … 0.7 by the flow's share of the pair's strongest), then every step of every chain
// (chain = its index in e.chains).  Layers are indices into RunData::layers.  A step is `shortcut`
// when its pair is a residual unit's skip edge (PairTract::shortcut): the figure dashes it.
struct PathwayStep {
  long chain = -1;
  int from_layer = 0, from_region = 0, to_layer = 0, to_region = 0;
  bool shortcut = false;
  double opacity = 1;
};
std::vector<PathwayStep> pathway_steps(const EpochData& e, size_t flows_per_pair);

// The line of layer l in a chart of every layer (training.png's ζ stability panel; report.js's
// layerStyle keeps the same rule): colour l mod 10 of Tableau 10, pattern ⌊l/10⌋ mod 4 of solid, dashed,
// dotted, dash-dot, so 40 layers (resnet20 images 30) have 40 different lines; the 41st repeats the
// first.  By colour alone layers 1 and 11 would be one line.
struct LineStyle {
  Rgb color;
  std::vector<double> pattern;  // on/off lengths (Canvas::patterned_polyline); empty: solid
};
LineStyle layer_style(size_t l);
constexpr size_t kDistinctLayerStyles = 40;

constexpr size_t kMaxFileStem = 120;
std::string file_safe(const std::string& name);
// The figure file stem of each layer, in order: file_safe(name), or, when an earlier layer already has
// that stem ("c/1" and "c:1" are both c_1), the stem and a hash of the name, so no layer's figure
// overwrites another's.
std::vector<std::string> file_stems(const std::vector<std::string>& layers);

}  // namespace report
