// report/figures.h — the report's static figures, as PNG or SVG (report/canvas.h), under RUN_DIR/figures/.
//
// Promise: write_figures(run, stability, format) writes, with EXT = format:
//   figures/epoch_NNN/LAYER_density.EXT   per analysed epoch with grid.json: each layer's density map
//   figures/epoch_NNN/LAYER_zeta.EXT      per analysed epoch with zeta.json: each layer's ζ map
//   figures/epoch_NNN/pathways.EXT        per analysed epoch with tract.json: the strongest chains
//   figures/evolution/LAYER_density.EXT   one row per analysed epoch (and LAYER_zeta.EXT)
//   figures/training.EXT                  loss, accuracy and ζ stability on one epoch axis
// A map draws channel block k as a tile of GH×GW cells (row i top to bottom, column j left to right).
// Colour scales are fixed per layer over all epochs, so maps of different epochs compare directly:
// density on viridis over [min, max] of the layer's densities, ζ on RdBu over [−m, m] with m the
// layer's largest |ζ|.  Critical regions (zeta.json's critical_regions: ζ ≥ 2 and significant) are
// framed black and white; dead regions (active_fraction < 5 %) are crossed in grey.  Every figure
// has a title, axis or tile labels and a legend.  LAYER is the layer name with characters outside
// [A-Za-z0-9_.-] replaced by '_'.  Returns the paths written, relative to the run directory, in
// writing order.  The same run and format give the same bytes.
#pragma once
#include <string>
#include <vector>

#include "report/report_data.h"
#include "report/report_summary.h"

namespace report {

std::vector<std::string> write_figures(const RunData& run, const std::vector<StabilityStep>& stability,
                                       const std::string& format);

std::string file_safe(const std::string& name);

}  // namespace report
