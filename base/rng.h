// base/rng.h — the one random number generator of the project (in base/ so that report/, which
// includes nothing of nn/, draws its bootstrap resamples from the same generator; nn/rng.h keeps
// the name nn::Rng).
//
// Promise: a seeded splitmix64 stream; same seed ⇒ same sequence on every
// platform and compiler (no std::*_distribution, whose output is
// implementation-defined).  Streams for independent consumers are derived
// with Rng::derive(seed, a, b), so per-sample choices (augmentation) do not
// depend on which thread makes them.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace base {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}  // Rng(r.state()) continues r's stream exactly
  static Rng derive(uint64_t seed, uint64_t a, uint64_t b = 0) {
    Rng r(seed ^ (0x9E3779B97F4A7C15ull * (a + 1)));
    r.state_ ^= r.next() + 0xD1B54A32D192ED03ull * (b + 1);
    r.next();
    return r;
  }
  uint64_t state() const { return state_; }  // saved with a resumable training state
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0,1)
  uint32_t below(uint32_t n) { return uint32_t((next() >> 32) * n >> 32); }           // [0,n)
  double normal() {  // Box–Muller, one value per call (no cached state: simpler to reason about)
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Fisher–Yates: a uniform permutation of v[0..n), drawing below(n), below(n−1), ..., below(2).
  template <class T>
  void shuffle(T* v, size_t n) {
    for (size_t i = n; i > 1; --i) std::swap(v[i - 1], v[below(uint32_t(i))]);
  }

 private:
  uint64_t state_;
};

}  // namespace base
