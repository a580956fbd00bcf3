// tests/base/test_error.cpp — base/error.h's promise about the line itself: one line, at most
// kMaxErrorLine bytes, the flag at its start and what was expected at its end kept, cuts between
// UTF-8 sequences.
#include "base/error.h"

#include <gtest/gtest.h>

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

// DEL (0x7f) is a control character too: written \x7f like the bytes below 0x20 (kills a test of
// u >= 0x20 alone).
TEST(ErrorLine, DeleteIsEscapedLikeTheOtherControlBytes) {
  EXPECT_EQ(std::string(base::Error("a\x7f" "b\x1f").what()), "a\\x7fb\\x1f");
}

}  // namespace
