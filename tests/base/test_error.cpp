// tests/base/test_error.cpp — base/error.h's promise about the line itself: one line, at most
// kMaxErrorLine bytes, the flag at its start and what was expected at its end kept, cuts between
// UTF-8 sequences.
#include "base/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/text.h"

namespace {

TEST(ErrorLine, ALineWithinTheCapIsKeptWholeAndControlBytesAreEscaped) {
  const std::string exact = "flag --grid '" + std::string(base::kMaxErrorLine - 13, 'x');
  ASSERT_EQ(exact.size(), base::kMaxErrorLine);
  EXPECT_EQ(std::string(base::Error(exact).what()), exact);
  EXPECT_EQ(std::string(base::Error("a\nb\x01").what()), "a\\nb\\x01");
}

TEST(ErrorLine, AHundredKilobyteValueKeepsTheFlagAndTheExpectationAndSaysWhatItLeftOut) {
  const std::string head = "flag --grid '", tail = "': expected GHxGWxGC with three integers";
  const std::string value(100000, '7');
  const std::string line = base::Error(head + value + tail).what();
  EXPECT_LE(line.size(), base::kMaxErrorLine);
  EXPECT_EQ(line.substr(0, head.size() + 5), head + "77777");
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail);
  // head.size() + value.size() + tail.size() bytes in, kErrorHead + kErrorTail kept (no multi-byte
  // sequence here, so the cuts do not move)
  const size_t left_out = head.size() + value.size() + tail.size() - base::kErrorHead - base::kErrorTail;
  EXPECT_NE(line.find(" … [" + std::to_string(left_out) + " bytes left out] … "), std::string::npos) << line.substr(2000, 100);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

// "é" is two bytes and "€" three: with both repeated, kErrorHead and the tail's start fall inside a
// sequence for some offset; whatever the offset, what is kept is well-formed UTF-8.
TEST(ErrorLine, TheCutsFallBetweenUtf8Sequences) {
  for (size_t offset = 0; offset < 6; ++offset) {
    std::string message(offset, 'a');
    while (message.size() < 3 * base::kMaxErrorLine) message += "é€";
    ASSERT_TRUE(base::is_utf8(message));
    const std::string line = base::Error(message).what();
    EXPECT_LE(line.size(), base::kMaxErrorLine);
    EXPECT_TRUE(base::is_utf8(line)) << "offset " << offset;
    EXPECT_GE(line.find(" … ["), base::kErrorHead - 2) << "offset " << offset;  // moved back at most one sequence
  }
}

// utf8_prefix, the one way a quoted name is shortened: at most n bytes, never ending inside a character,
// and as long as that allows (one byte short of "€" keeps what comes before it whole).
TEST(ErrorLine, Utf8PrefixCutsBeforeACharacterItWouldSplit) {
  EXPECT_EQ(base::utf8_prefix("ab", 5), "ab");
  EXPECT_EQ(base::utf8_prefix("abc", 2), "ab");
  EXPECT_EQ(base::utf8_prefix("a\u20acb", 1), "a");   // "a€b": 1 byte is "a"
  EXPECT_EQ(base::utf8_prefix("a\u20acb", 2), "a");   // inside "€": back to "a"
  EXPECT_EQ(base::utf8_prefix("a\u20acb", 3), "a");
  EXPECT_EQ(base::utf8_prefix("a\u20acb", 4), "a\u20ac");
  EXPECT_EQ(base::utf8_prefix("\u00e9\u00e9", 3), "\u00e9");
  EXPECT_EQ(base::utf8_prefix("\u00e9", 1), "");
  for (size_t n = 0; n < 12; ++n) {
    const std::string cut = base::utf8_prefix("x\u00e9\u20ac\U0001F600y", n);
    EXPECT_TRUE(base::is_utf8(cut)) << n;
    EXPECT_LE(cut.size(), n);
    EXPECT_GE(cut.size() + 3, std::min<size_t>(n, 11)) << n;  // back at most one sequence's continuation bytes
  }
}

// DEL (0x7f) is a control character too: written \x7f like the bytes below 0x20 (kills a test of
// u >= 0x20 alone).
TEST(ErrorLine, DeleteIsEscapedLikeTheOtherControlBytes) {
  EXPECT_EQ(std::string(base::Error("a\x7f" "b\x1f").what()), "a\\x7fb\\x1f");
}

}  // namespace
