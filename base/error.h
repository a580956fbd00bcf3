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
// UTF-8 sequences.
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

constexpr size_t kMaxErrorLine = 4096, kErrorHead = 2048, kErrorTail = 1536;

// `line` (one_line's output) cut to kMaxErrorLine bytes as the header says.  A cut moves off a UTF-8
// continuation byte (10xxxxxx): the head's end back, the tail's start forward.
inline std::string capped_line(const std::string& line) {
  if (line.size() <= kMaxErrorLine) return line;
  auto continuation = [&](size_t i) { return (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80; };
  size_t head = kErrorHead, tail = line.size() - kErrorTail;
  while (head > 0 && continuation(head)) --head;
  while (tail < line.size() && continuation(tail)) ++tail;
  return line.substr(0, head) + " … [" + std::to_string(tail - head) + " bytes left out] … " + line.substr(tail);
}

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(capped_line(one_line(message))) {}
};

}  // namespace base
