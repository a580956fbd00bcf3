// base/text.h — splitting a flag's or a token's text, and reading a count from it.
//
// Promise: split(text, sep) returns the pieces between separators, empty ones included ("a,,b" →
// {"a", "", "b"}; "" → {""}).  parse_count(text, max, out) accepts only decimal digits (no sign, no
// space) whose value is 1 … max, and sets `out`; otherwise it returns false and leaves `out` alone.
// is_utf8(text) is true when text is well-formed UTF-8 (no overlong form, surrogate or code point past
// U+10FFFF); utf8_code_point(text, i, length) reads one such sequence; utf8_escaped(text) is text with
// every byte that is not part of such a sequence written as \xNN, for an error line that quotes a name
// read from a file or a folder.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "base/error.h"  // append_byte_escape

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

// The length of the well-formed UTF-8 sequence starting at text[i], 0 when there is none.
inline size_t utf8_sequence_length(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  if (b < 0x80) return 1;
  size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  else if (b == 0xE0) n = 3, low = 0xA0;
  else if (b >= 0xE1 && b <= 0xEC) n = 3;
  else if (b == 0xED) n = 3, high = 0x9F;  // no surrogates
  else if (b >= 0xEE && b <= 0xEF) n = 3;
  else if (b == 0xF0) n = 4, low = 0x90;
  else if (b >= 0xF1 && b <= 0xF3) n = 4;
  else if (b == 0xF4) n = 4, high = 0x8F;  // at most U+10FFFF
  else return 0;
  if (i + n > text.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

// The code point of the well-formed sequence of `length` bytes at text[i] (utf8_sequence_length's).
inline char32_t utf8_code_point(const std::string& text, size_t i, size_t length) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  char32_t cp = length == 1 ? lead : lead & (0x3F >> (length - 1));
  for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  return cp;
}

inline bool is_utf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

inline std::string utf8_escaped(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);
    if (n > 0) {
      out.append(text, i, n);
      i += n;
    } else {
      append_byte_escape(out, static_cast<unsigned char>(text[i++]));
    }
  }
  return out;
}

}  // namespace base
