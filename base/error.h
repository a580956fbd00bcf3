// base/error.h — the one error type of the project.
//
// Promise: every failure caused by user input (a file, a flag, a spec token,
// a shape) is thrown as base::Error whose message is one line that names the
// offending file/flag/value and what was expected.  apps/ catches it, prints
// "nnfmri: error: <message>" and exits with status 2.
#pragma once
#include <stdexcept>
#include <string>

namespace base {

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace base
