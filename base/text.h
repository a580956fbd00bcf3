// base/text.h — splitting a flag's or a token's text, and reading a count from it.
//
// Promise: split(text, sep) returns the pieces between separators, empty ones included ("a,,b" →
// {"a", "", "b"}; "" → {""}).  parse_count(text, max, out) accepts only decimal digits (no sign, no
// space) whose value is 1 … max, and sets `out`; otherwise it returns false and leaves `out` alone.
#pragma once
#include <string>
#include <vector>

namespace base {

inline std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

inline bool parse_count(const std::string& text, long max, int& out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  const long value = std::stol(text);
  if (value < 1 || value > max) return false;
  out = int(value);
  return true;
}

}  // namespace base
