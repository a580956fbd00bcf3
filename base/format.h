// base/format.h — one number as printf text, for the summaries printed by the stages and the report's
// figures and messages.
//
// Promise: format(pattern, v) is what std::printf(pattern, v) prints, for a pattern with exactly
// one floating-point conversion ("%.3g", "ζ %.4g", "%.2f MB"); text beyond 63 bytes is cut.
#pragma once
#include <cstdio>
#include <string>

namespace base {

inline std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

}  // namespace base
