#include "run/region_grid.h"

#include <algorithm>
#include <cstdlib>

#include "base/error.h"
#include "base/text.h"

namespace run {

GridSpec parse_grid_spec(const std::string& text, const std::string& flag) {
  GridSpec g;
  const std::vector<std::string> parts = base::split(text, 'x');
  if (parts.size() != 3 || !base::parse_count(parts[0], base::kMaxGridAxis, g.gh) ||
      !base::parse_count(parts[1], base::kMaxGridAxis, g.gw) || !base::parse_count(parts[2], base::kMaxGridAxis, g.gc))
    throw base::Error(flag + " '" + text + "': expected GHxGWxGC with three integers from 1 to " +
                      std::to_string(base::kMaxGridAxis) + ", e.g. 8x8x4");
  return g;
}

std::string grid_limit_problem(int64_t h, int64_t w, int64_t c, const GridSpec& spec) {
  const std::string shape = std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c);
  const std::string grid = std::to_string(spec.gh) + "x" + std::to_string(spec.gw) + "x" + std::to_string(spec.gc);
  if (h < 1 || w < 1 || c < 1 || h > base::kMaxLayerUnits || w > base::kMaxLayerUnits || c > base::kMaxLayerUnits ||
      h * w * c > base::kMaxLayerUnits)
    return "layer shape " + shape + ": expected positive sides and at most " + std::to_string(base::kMaxLayerUnits) + " units";
  if (spec.gh < 1 || spec.gw < 1 || spec.gc < 1 || spec.gh > base::kMaxGridAxis || spec.gw > base::kMaxGridAxis ||
      spec.gc > base::kMaxGridAxis)
    return "grid " + grid + ": expected 1 to " + std::to_string(base::kMaxGridAxis) + " cells per axis";
  const int64_t regions = std::min<int64_t>(spec.gh, h) * std::min<int64_t>(spec.gw, w) * std::min<int64_t>(spec.gc, c);
  if (regions > base::kMaxGridRegions)
    return "grid " + grid + " on a " + shape + " layer: " + std::to_string(regions) + " regions, expected at most " +
           std::to_string(base::kMaxGridRegions) + " per layer";
  return "";
}

RegionGrid::RegionGrid(int h, int w, int c, const GridSpec& spec, bool lookup_tables)
    : height(h), width(w), channels(c) {
  if (const std::string problem = grid_limit_problem(h, w, c, spec); !problem.empty()) throw base::Error(problem);
  gh = std::min(spec.gh, h), gw = std::min(spec.gw, w), gc = std::min(spec.gc, c);
  if (!lookup_tables) return;
  row_region.resize(h);
  col_region.resize(w);
  chan_region.resize(c);
  for (int i = 0; i < gh; ++i)
    for (int y = rows(i).begin; y < rows(i).end; ++y) row_region[y] = i;
  for (int j = 0; j < gw; ++j)
    for (int x = cols(j).begin; x < cols(j).end; ++x) col_region[x] = j;
  for (int k = 0; k < gc; ++k)
    for (int ch = chans(k).begin; ch < chans(k).end; ++ch) chan_region[ch] = k;
}

std::string RegionGrid::key(int r) const {
  int i, j, k;
  coords(r, i, j, k);
  return "grid_" + std::to_string(i + 1) + "_" + std::to_string(j + 1) + "_" + std::to_string(k + 1);
}

int RegionGrid::units(int r) const {
  int i, j, k;
  coords(r, i, j, k);
  return rows(i).size() * cols(j).size() * chans(k).size();
}

std::vector<double> project_to_pixels(const std::vector<double>& value, const RegionGrid& grid,
                                      const std::vector<std::array<int, 2>>& row_spans,
                                      const std::vector<std::array<int, 2>>& col_spans, int height, int width) {
  if (int(value.size()) != grid.count() || int(row_spans.size()) != grid.gh || int(col_spans.size()) != grid.gw)
    throw base::Error("pixel projection: " + std::to_string(value.size()) + " values, " + std::to_string(row_spans.size()) +
                      " row spans and " + std::to_string(col_spans.size()) + " column spans for a " +
                      std::to_string(grid.gh) + "x" + std::to_string(grid.gw) + "x" + std::to_string(grid.gc) + " grid");
  auto check = [](const std::array<int, 2>& s, int size) {
    if (s[0] < 0 || s[1] > size || s[0] >= s[1])
      throw base::Error("pixel projection: receptive field [" + std::to_string(s[0]) + ", " + std::to_string(s[1]) +
                        ") outside the image's " + std::to_string(size) + " pixels");
  };
  std::vector<double> map(size_t(height) * size_t(width), 0.0);
  for (int r = 0; r < grid.count(); ++r) {
    int i, j, k;
    grid.coords(r, i, j, k);
    const std::array<int, 2>& rows = row_spans[size_t(i)];
    const std::array<int, 2>& cols = col_spans[size_t(j)];
    check(rows, height);
    check(cols, width);
    const double share = value[size_t(r)] / (double(rows[1] - rows[0]) * double(cols[1] - cols[0]));
    for (int y = rows[0]; y < rows[1]; ++y)
      for (int x = cols[0]; x < cols[1]; ++x) map[size_t(y) * size_t(width) + size_t(x)] += share;
  }
  return map;
}

}  // namespace run
