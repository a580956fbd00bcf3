// base/error.h — the one error type of the project.
//
// Promise: every failure caused by user input (a file, a flag, a spec token,
// a shape) is thrown as base::Error whose message is one line that names the
// offending file/flag/value and what was expected.  apps/ catches it, prints
// "nnfmri: error: <message>" and exits with status 2.  The message is kept to
// one line whatever it quotes: control characters (a newline inside a --model
// value, a key or a class name) are written as \n, \r, \t or \xNN.
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

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(one_line(message)) {}
};

}  // namespace base
