// tests/base/test_rng.cpp — base::Rng against its promise (base/rng.h, README "Region grid" for the
// shuffle of information_null_bits): below(n) = ⌊(r ≫ 32)·n / 2³²⌋ of the next splitmix64 output r, and
// shuffle is Fisher–Yates, i from n down to 2 swapping i−1 with below(i).
#include "base/rng.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

namespace {

TEST(Rng, BelowIsTheHighHalfOfTheNextOutputScaledToN) {
  base::Rng drawn(20261205), raw(20261205);
  for (uint32_t n : {1u, 2u, 3u, 10u, 1000u, 65537u, 4294967295u})
    for (int k = 0; k < 50; ++k) {
      const uint64_t r = raw.next();
      ASSERT_EQ(drawn.below(n), uint32_t(((r >> 32) * n) >> 32)) << "n " << n << ", draw " << k;
    }
}

// The definition step by step: n − 1 draws, below(n) first, each swapping v[i−1] with v[below(i)].
TEST(Rng, ShuffleIsFisherYatesFromTheLastPositionDown) {
  for (size_t n : {2, 3, 7, 100}) {
    std::vector<int> shuffled(n), expected(n);
    std::iota(shuffled.begin(), shuffled.end(), 0);
    std::iota(expected.begin(), expected.end(), 0);
    base::Rng rng(n), draws(n);
    rng.shuffle(shuffled.data(), n);
    for (size_t i = n; i > 1; --i) std::swap(expected[i - 1], expected[draws.below(uint32_t(i))]);
    EXPECT_EQ(shuffled, expected) << n << " items";
    EXPECT_EQ(rng.state(), draws.state()) << n << " items: " << n - 1 << " draws";
  }
}

// A uniform permutation: every one of the 3! orders of three items comes out about equally often, the
// unmoved order included (Sattolo's variant, drawing below(i − 1), reaches only the two cyclic ones).
TEST(Rng, ShuffleReachesEveryOrderOfThreeItemsEquallyOften) {
  std::map<std::array<int, 3>, int> seen;
  for (uint64_t seed = 0; seed < 6000; ++seed) {
    std::array<int, 3> v = {0, 1, 2};
    base::Rng::derive(seed, 0).shuffle(v.data(), v.size());
    ++seen[v];
  }
  EXPECT_EQ(seen.size(), 6u);
  for (const auto& [order, count] : seen)  // binomial(6000, 1/6): 1000 ± 29; 150 is 5 standard deviations
    EXPECT_NEAR(count, 1000, 150) << order[0] << order[1] << order[2];
}

}  // namespace
