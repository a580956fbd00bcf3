// base/error.h — the one error type of the project.
//
// Promise: every failure caused by user input (a file, a flag, a spec token,
// a shape) is thrown as base::Error whose message is one line that names the
// offending file/flag/value and what was expected.  apps/ catches it, prints
// "nnfmri: error: <message>" and exits with status 2.  The message is kept to
// one line whatever it quotes: control characters (a newline inside a --model
// value, a key or a class name) are written as \n, \r, \t or \xNN.  And to
// kMaxErrorLine bytes: a longer line (a 100 KB flag value quoted whole) keeps
// its first kErrorHead and last kErrorTail bytes, where the flag and what was
// expected are, with " … [N bytes left out] … " between; the cuts fall between
// UTF-8 sequences.  utf8_prefix(text, n) is the one way to shorten a quoted
// name or value: its first n bytes or fewer, never ending inside a UTF-8
// character.
#pragma once
#include <cstdio>
#include <stdexcept>
#include <string>

namespace base {

// Appends byte b as \xNN (two lower-case hex digits): how an error line shows a byte it cannot print.
inline void append_byte_escape(std::string& out, unsigned char b) {
  char escaped[5];
  std::snprintf(escaped, sizeof escaped, "\\x%02x", b);
  out += escaped;
}

inline std::string one_line(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
    } else {
      append_byte_escape(out, u);
    }
  }
  return out;
}

// Whether text[i] continues a UTF-8 sequence (10xxxxxx), so a cut before it would split a character.
inline bool utf8_continuation(const std::string& text, size_t i) {
  return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
}

// text's first max_bytes bytes, or fewer so that the cut does not fall inside a UTF-8 character.
inline std::string utf8_prefix(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && utf8_continuation(text, cut)) --cut;
  return text.substr(0, cut);
}

constexpr size_t kMaxErrorLine = 4096, kErrorHead = 2048, kErrorTail = 1536;

// `line` (one_line's output) cut to kMaxErrorLine bytes as the header says.  A cut moves off a UTF-8
// continuation byte (10xxxxxx): the head's end back, the tail's start forward.
inline std::string capped_line(const std::string& line) {
  if (line.size() <= kMaxErrorLine) return line;
  const std::string head = utf8_prefix(line, kErrorHead);
  size_t tail = line.size() - kErrorTail;
  while (tail < line.size() && utf8_continuation(line, tail)) ++tail;
  return head + " … [" + std::to_string(tail - head.size()) + " bytes left out] … " + line.substr(tail);
}

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(capped_line(one_line(message))) {}
};

}  // namespace base
