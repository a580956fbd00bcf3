#include "run/region_grid.h"

#include <algorithm>
#include <cstdlib>

#include "base/error.h"

namespace run {

GridSpec parse_grid_spec(const std::string& text, const std::string& flag) {
  GridSpec g;
  int* dims[3] = {&g.gh, &g.gw, &g.gc};
  size_t pos = 0;
  for (int d = 0; d < 3; ++d) {
    size_t end = text.find('x', pos);
    std::string part = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    bool ok = !part.empty() && part.size() <= 4 && part.find_first_not_of("0123456789") == std::string::npos;
    if (ok) *dims[d] = std::atoi(part.c_str());
    if (!ok || *dims[d] < 1 || (d < 2 && end == std::string::npos) || (d == 2 && end != std::string::npos))
      throw base::Error(flag + " '" + text + "': expected GHxGWxGC with three positive integers, e.g. 8x8x4");
    pos = end + 1;
  }
  return g;
}

RegionGrid::RegionGrid(int h, int w, int c, const GridSpec& spec)
    : height(h), width(w), channels(c), gh(std::min(spec.gh, h)), gw(std::min(spec.gw, w)), gc(std::min(spec.gc, c)) {
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

}  // namespace run
