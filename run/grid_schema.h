// run/grid_schema.h — one region of grid.json: the struct the grid stage fills and writes and the
// report reads back, so writer and reader cannot drift apart.
//
// Promise: grid.json's layers.<block>.regions.<grid_i_j_k> is
//   {"density", "variance", "activation_count", "mean_abs", "active_fraction", "information_bits",
//    "information_null_bits"}
// in that order (region_json).  read_region reads it back; a missing key or a value of the wrong type
// or range is one base::Error naming the file and the JSON pointer (information_null_bits may be
// absent: grid.json files written before 2026-11-25 have none, read as 0).
#pragma once
#include <nlohmann/json.hpp>

#include "base/json.h"

namespace run {

// The definitions are imaging/grid_stats.h's.
struct GridRegionStats {
  double density = 0;                // mean over images of φ_g(x)
  double variance = 0;               // mean over images of v_g(x)
  double mean_abs = 0;               // mean over images of m_g(x)
  double active_fraction = 0;        // share of (unit, image) pairs with |a| > 1e-6
  double information_bits = 0;       // H(Y) − H(Y | Q(φ_g)) in bits
  double information_null_bits = 0;  // the same with the labels shuffled (the estimator's floor)
  int activation_count = 0;          // |N_g|, the units in the region
};

// read_region's bound on |density|, |variance| and mean_abs (active_fraction: 0 … 1).
constexpr double kMaxStatistic = 1e100;
nlohmann::ordered_json region_json(const GridRegionStats& s);
GridRegionStats read_region(const base::Node& region);

}  // namespace run
