#include "report/colormap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace report {
namespace {

// viridis (matplotlib's default map; van der Walt & Smith, CC0) sampled at 10 equally spaced points.
constexpr uint32_t kViridis[] = {0x440154, 0x482878, 0x3E4A89, 0x31688E, 0x26828E,
                                 0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C, 0xFDE725};
// ColorBrewer RdBu, 11 classes, reversed so that negative is blue and positive is red.
constexpr uint32_t kRdBuReversed[] = {0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7,
                                      0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F};

Rgb unpack(uint32_t v) { return {uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

// Linear interpolation between equally spaced stops; t ∈ [0, 1] (NaN → 0).
template <size_t N>
Rgb interpolate(const uint32_t (&stops)[N], double t) {
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  const double x = t * double(N - 1);
  const size_t i = std::min(size_t(x), N - 2);
  const double f = x - double(i);
  const Rgb a = unpack(stops[i]), b = unpack(stops[i + 1]);
  auto mix = [f](uint8_t p, uint8_t q) { return uint8_t(std::lround(p + (q - p) * f)); };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

template <size_t N>
std::string stops_json(const uint32_t (&stops)[N]) {
  std::string out = "[";
  for (size_t i = 0; i < N; ++i) out += (i ? ",\"" : "\"") + hex(unpack(stops[i])) + "\"";
  return out + "]";
}

}  // namespace

Rgb sequential_color(double t) { return interpolate(kViridis, t); }
Rgb diverging_color(double t) { return interpolate(kRdBuReversed, (t + 1) / 2); }

std::string colormap_stops_json() {
  return "{\"sequential\":" + stops_json(kViridis) + ",\"diverging\":" + stops_json(kRdBuReversed) + "}";
}

std::string hex(Rgb c) {
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", c.r, c.g, c.b);
  return text;
}

}  // namespace report
