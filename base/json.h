// base/json.h — the one JSON reader of the project (run/json.h adds the writer; nn/checkpoint.cpp
// reads its header with it too).
//
// Promise: read_json(path) / parse_json(text, where) accept at most kMaxJsonBytes and kMaxJsonDepth
// levels of nesting (base/limits.h; checked before parsing, so a hostile file cannot exhaust memory or
// the stack of any recursive reader), at most kMaxJsonObjectKeys keys per object (checked as they are
// read, so a hostile file cannot make the ordered object's insertion run for hours) and only finite numbers (1e999 overflows a double: refused with
// its JSON pointer); a failure is one base::Error naming `where`.  Node wraps a parsed value with its
// file and JSON pointer, so every type or range complaint names both.
#pragma once
#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/limits.h"

namespace base {

using Json = nlohmann::ordered_json;

// document.dump(indent) with invalid UTF-8 replaced by U+FFFD (indent −1: one line).
std::string json_text(const Json& document, int indent);
// json_text(value, −1) for a message: at most max_bytes (≥ 4), a longer text cut at a character
// boundary and ended with "...".
std::string json_text_capped(const Json& value, size_t max_bytes);
// Throws base::Error "<file>: <pointer> is nan, expected a finite number" for the first non-finite number.
void require_finite(const Json& document, const std::string& file);

// Parses text; `where` names it in errors (a path, or "path:line" for a JSON Lines file).
Json parse_json(const std::string& text, const std::string& where);
Json read_json(const std::string& path);                          // the file must exist
std::optional<Json> read_optional_json(const std::string& path);  // nothing when it does not exist (unreadable: Error)

// RFC 6901 token: '~' → "~0", '/' → "~1".
std::string pointer_token(const std::string& key);

// The open upper end of Node::number's range: number(low, kUnbounded) accepts every finite value ≥ low
// (a JSON number is finite, so no value can reach it) and says "expected a number ≥ low" otherwise.
constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// A value inside a JSON document with where it is (file and JSON pointer).  Accessors check the
// type and range and throw base::Error "<file>: <pointer>: expected …, found …" otherwise.
class Node {
 public:
  Node(const Json& value, std::string file, std::string pointer = "")
      : value_(&value), file_(std::move(file)), pointer_(std::move(pointer)) {}

  [[noreturn]] void fail(const std::string& expected) const;
  [[noreturn]] void fail_missing(const std::string& key) const;
  [[noreturn]] void reject(const std::string& problem) const;  // "<file>: <pointer>: <problem>"

  bool has(const std::string& key) const { return value_->is_object() && value_->contains(key); }
  Node operator[](const std::string& key) const;
  Node operator[](size_t i) const;
  std::optional<Node> find(const std::string& key) const;  // nothing when absent; a value that is no object fails
  size_t array_size() const;
  std::vector<std::pair<std::string, Node>> members() const;
  double number() const;                     // finite
  double number(double low, double high) const;  // low … high; high kUnbounded: "a number ≥ low"
  long long integer(long long low, long long high) const;
  std::string text() const;
  bool boolean() const;
  std::array<double, 2> interval() const;   // [low, high], low ≤ high
  std::array<int, 3> triple(int high) const;  // three integers 1 … high
  // nothing when absent; otherwise number(low, high) of the member
  std::optional<double> optional_number(const std::string& key, double low = -kUnbounded,
                                        double high = kUnbounded) const;
  const Json& json() const { return *value_; }
  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }

 private:
  const Json* value_;
  std::string file_, pointer_;
};

}  // namespace base
