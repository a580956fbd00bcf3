// report/colormap.h — the two perceptual colour scales of the figures and the report page.
//
// Promise: sequential(t) maps t ∈ [0, 1] (clamped) to viridis (low = dark violet, high = yellow),
// for magnitudes such as density; diverging(t) maps t ∈ [−1, 1] (clamped) to ColorBrewer RdBu
// reversed (−1 = dark blue, 0 = near white, +1 = dark red), for signed scores such as ζ.  Both are
// piecewise-linear interpolations of a fixed table of stops, so the same t gives the same bytes
// everywhere.  The page's JavaScript receives the same stop tables (colormap_stops_json) so the
// figures and the interactive views agree colour for colour.
#pragma once
#include <cstdint>
#include <string>

namespace report {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

Rgb sequential_color(double t);  // viridis, t ∈ [0, 1]
Rgb diverging_color(double t);   // RdBu reversed, t ∈ [−1, 1]

// {"sequential": ["#440154", ...], "diverging": [...]} — the stop tables, in order from low to high.
std::string colormap_stops_json();

std::string hex(Rgb c);  // "#rrggbb"

}  // namespace report
