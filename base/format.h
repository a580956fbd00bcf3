// base/format.h — one number as printf text, for the summaries printed by the stages and the report's
// figures and messages.
//
// Promise: format(pattern, v) is what std::printf(pattern, v) prints, for a pattern with exactly
// one floating-point conversion ("%.3g", "ζ %.4g", "%.2f MB"); text beyond 63 bytes is cut.
// shortest(v, as_float) is the shortest text that reads back as the same float (or double), an
// integer below 1e15 in full (20, not 2e+01), a non-finite value as nan, inf or -inf (never -nan);
// decimal(f) is the double that text reads as, so that a float setting shows as it was typed.
// counted(n, "step") is "1 step", "2 steps", "0 steps" (the noun takes an s unless n is 1).
#pragma once
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace base {

inline std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// The shortest text that reads back as the same float (or double): 5e-4f → "0.0005", 20 → "20".
// %g with fewer digits than an integer has writes it in exponent form (20 as "2e+01"): an integer
// below 1e15 is written in full instead.
inline std::string shortest(double value, bool as_float) {
  if (std::isnan(value)) return "nan";  // printf writes a NaN with its sign bit set as -nan
  char s[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(s, sizeof s, "%.*g", digits, value);
    if (as_float ? std::strtof(s, nullptr) == float(value) : std::strtod(s, nullptr) == value) break;
  }
  const double read = std::strtod(s, nullptr);  // what the text says: 3e+10 for the float 3e10f
  if (std::strchr(s, 'e') && std::fabs(read) >= 1 && std::fabs(read) < 1e15 && read == std::trunc(read))
    std::snprintf(s, sizeof s, "%.0f", read);
  return s;
}

// A float as the double of its shortest text: 0.02f → 0.02 (JSON "0.02"), not 0.019999999552965164.
// Reads back as the same float.  std::to_chars in scientific form writes the shortest digits that
// read back as the float, the closest to it among those: the digits of shortest(value, true), without
// its trial loop (tests/base/test_format.cpp compares the two).  (Its plain form would write a large
// float's integer digits in full: 2171854782464, not 2.1718548e+12.)
inline double decimal(float value) {
  char s[64];
  const std::to_chars_result end = std::to_chars(s, s + sizeof s - 1, value, std::chars_format::scientific);
  *end.ptr = '\0';
  return std::strtod(s, nullptr);
}

inline std::string counted(long n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace base
