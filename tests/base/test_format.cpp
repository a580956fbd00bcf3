// tests/base/test_format.cpp — base::decimal (std::to_chars) against the trial loop of base::shortest.
#include "base/format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "nn/rng.h"

namespace {

float float_of_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

TEST(Format, DecimalIsTheDoubleOfTheShortestText) {
  EXPECT_EQ(base::decimal(0.02f), 0.02);
  EXPECT_EQ(base::decimal(5e-4f), 0.0005);
  EXPECT_EQ(base::decimal(1.f / 3.f), 0.33333334);
  EXPECT_EQ(base::decimal(0.f), 0.0);
  EXPECT_EQ(base::decimal(-2.5e-38f), -2.5e-38);
  EXPECT_EQ(base::decimal(std::numeric_limits<float>::max()), 3.4028235e38);
  EXPECT_EQ(base::decimal(std::numeric_limits<float>::denorm_min()), 1e-45);
  // Random bit patterns over every exponent: the same double as the trial loop of shortest(), and
  // the same float when read back.
  nn::Rng rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float f = float_of_bits(uint32_t(rng.next() >> 32));
    if (!std::isfinite(f)) continue;
    const double d = base::decimal(f);
    ASSERT_EQ(d, std::strtod(base::shortest(f, true).c_str(), nullptr)) << base::shortest(f, true);
    ASSERT_EQ(float(d), f);
  }
}

// %g with one digit wrote 20 as "2e+01" (`corrupt --kind occlusion --severity 5` printed c = 2e+01).
TEST(Format, ShortestWritesAnIntegerInFull) {
  EXPECT_EQ(base::shortest(20, false), "20");
  EXPECT_EQ(base::shortest(12000, false), "12000");
  EXPECT_EQ(base::shortest(-300, true), "-300");
  EXPECT_EQ(base::shortest(3e10f, true), "30000000000");
  EXPECT_EQ(base::shortest(0.0005, false), "0.0005");
  EXPECT_EQ(base::shortest(25.5, false), "25.5");
  EXPECT_EQ(base::shortest(1e20, false), "1e+20");
  EXPECT_EQ(base::shortest(std::nan(""), false), "nan");
  EXPECT_EQ(base::shortest(-std::nan(""), true), "nan");  // printf writes this one as -nan
  EXPECT_EQ(base::shortest(-INFINITY, false), "-inf");
  EXPECT_EQ(base::shortest(INFINITY, true), "inf");
  EXPECT_EQ(base::shortest(1.5e-7, false), "1.5e-07");
}

}  // namespace

TEST(Format, CountedTakesThePluralUnlessOne) {
  EXPECT_EQ(base::counted(1, "step"), "1 step");
  EXPECT_EQ(base::counted(0, "epoch"), "0 epochs");
  EXPECT_EQ(base::counted(48, "step"), "48 steps");
  EXPECT_EQ(base::counted(-1, "step"), "-1 steps");
}

// An integer is written in full below 1e15 only: 1e15 itself keeps its exponent form (kills `<=` for
// `<`).
TEST(Format, ShortestWritesIntegersInFullBelow1e15Only) {
  EXPECT_EQ(base::shortest(999999999999999.0, false), "999999999999999");
  EXPECT_EQ(base::shortest(1e15, false), "1e+15");
  EXPECT_EQ(base::shortest(-1e15, false), "-1e+15");
}

// format() keeps up to 63 bytes of text and cuts the rest (kills a smaller buffer).
TEST(Format, FormatKeepsSixtyThreeBytes) {
  EXPECT_EQ(base::format("%.50f", 1.0), "1." + std::string(50, '0'));
  const char* volatile long_pattern = "%.70f";  // not a literal: the compiler would warn of the cut it tests
  EXPECT_EQ(base::format(long_pattern, 1.0), "1." + std::string(61, '0'));
}

