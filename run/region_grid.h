// run/region_grid.h — the 3-D grid of regions that cuts a layer's activation volume.
//
// G^(l) = partition(A^(l), g_h × g_w × g_c)   (nn-fmri-method.md, "Spatial Grid Partitioning")
// A layer of H×W×C is cut into contiguous blocks: region (i, j, k), 1-based, covers rows
// ⌊(i−1)H/GH⌋ … ⌊iH/GH⌋−1, columns ⌊(j−1)W/GW⌋ … ⌊jW/GW⌋−1 and channels ⌊(k−1)C/GC⌋ … ⌊kC/GC⌋−1.
// A grid finer than the layer is clamped to the layer's size (GH' = min(GH, H), ...), so a fully
// connected layer of C units (1×1×C) is a 1×1×min(GC, C) grid.  Keys are "grid_i_j_k".
// Regions are numbered r = ((i−1)·GW' + (j−1))·GC' + (k−1), 0-based, in that order everywhere.
// Limits (base/limits.h): at most kMaxGridAxis (4096) cells per axis of a --grid, and at most
// kMaxGridRegions (4096) regions per layer after clamping; the layer at most kMaxLayerUnits units.
// A larger grid or layer throws base::Error before anything is allocated.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/limits.h"

namespace run {

struct GridSpec {
  int gh = 8, gw = 8, gc = 4;
};

// "8x8x4" → GridSpec; throws base::Error naming the flag value and the expected form (1 … kMaxGridAxis per axis).
GridSpec parse_grid_spec(const std::string& text, const std::string& flag = "--grid");

// "" when a layer of H×W×C cut by `spec` is within the limits, else what is wrong, as a phrase:
// "1x1x8192 grid: 8192 regions, expected at most 4096 per layer".
std::string grid_limit_problem(int64_t height, int64_t width, int64_t channels, const GridSpec& spec);

struct Range {
  int begin, end;  // [begin, end)
  int size() const { return end - begin; }
};

class RegionGrid {
 public:
  RegionGrid() = default;
  // The layer's per-sample shape: H rows, W columns, C channels.  Throws base::Error when
  // grid_limit_problem() is not empty.  Without lookup_tables, row_region/col_region/chan_region stay
  // empty (region_of cannot be used): what a reader of the JSON files needs, at a constant cost.
  RegionGrid(int height, int width, int channels, const GridSpec& spec, bool lookup_tables = true);

  int height = 0, width = 0, channels = 0;  // the layer
  int gh = 0, gw = 0, gc = 0;               // the grid after clamping
  int count() const { return gh * gw * gc; }

  // ⌊i0·H/GH⌋ in 64 bits: i0·H exceeds an int for large layers (4095 · 2^22).
  Range rows(int i0) const { return {cut(i0, height, gh), cut(i0 + 1, height, gh)}; }  // i0 = i − 1
  Range cols(int j0) const { return {cut(j0, width, gw), cut(j0 + 1, width, gw)}; }
  Range chans(int k0) const { return {cut(k0, channels, gc), cut(k0 + 1, channels, gc)}; }
  int index(int i0, int j0, int k0) const { return (i0 * gw + j0) * gc + k0; }
  void coords(int r, int& i0, int& j0, int& k0) const {
    k0 = r % gc;
    j0 = (r / gc) % gw;
    i0 = r / (gc * gw);
  }
  std::string key(int r) const;  // "grid_i_j_k", 1-based
  int units(int r) const;        // |N_g|
  // Per-axis lookup tables: row → i0, column → j0, channel → k0.
  std::vector<int> row_region, col_region, chan_region;
  // region of unit (c, h, w)
  int region_of(int c, int h, int w) const { return index(row_region[h], col_region[w], chan_region[c]); }

 private:
  static int cut(int block, int size, int blocks) { return int(int64_t(block) * size / blocks); }
};

// A map over a block's regions projected onto the input pixels (the error analysis's per-image maps,
// README "Error analysis"): each region's value spread evenly over its receptive field,
//   M(p) = Σ_{g : p ∈ RF(g)} value_g / |RF(g)|,
// RF(g) = the input rows row_spans[i] × columns col_spans[j] of g's cell (i, j) (NetView::input_span,
// half-open; grid.json's receptive_field), the same for every channel group of the cell.  Mass is kept:
// Σ_p M(p) = Σ_g value_g.  Returns (height, width) row-major; throws base::Error when the spans do not
// match the grid or leave the image.
std::vector<double> project_to_pixels(const std::vector<double>& value, const RegionGrid& grid,
                                      const std::vector<std::array<int, 2>>& row_spans,
                                      const std::vector<std::array<int, 2>>& col_spans, int height, int width);

}  // namespace run
