#include "run/grid_schema.h"

namespace run {

nlohmann::ordered_json region_json(const GridRegionStats& s) {
  return {{"density", s.density},
          {"variance", s.variance},
          {"activation_count", s.activation_count},
          {"mean_abs", s.mean_abs},
          {"active_fraction", s.active_fraction},
          {"information_bits", s.information_bits},
          {"information_null_bits", s.information_null_bits}};
}

GridRegionStats read_region(const base::Node& region) {
  GridRegionStats s;
  // bounded so that a layer's range (max − min, a figure's colour scale) stays finite; a variance (a mean
  // of squared deviations) and a mean of absolute values are never negative
  s.density = region["density"].number(-kMaxStatistic, kMaxStatistic);
  s.variance = region["variance"].number(0, kMaxStatistic);
  s.mean_abs = region["mean_abs"].number(0, kMaxStatistic);
  s.active_fraction = region["active_fraction"].number(0, 1);
  s.information_bits = region["information_bits"].number();
  s.information_null_bits = region.optional_number("information_null_bits").value_or(0);
  s.activation_count = int(region["activation_count"].integer(0, 1 << 30));
  return s;
}

}  // namespace run
