// base/stopwatch.h — wall time since a start, in seconds (std::chrono::steady_clock).
#pragma once
#include <chrono>

namespace base {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace base
