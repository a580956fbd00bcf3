// tests/base/test_text.cpp — base/text.h's UTF-8 rule at its edges: well-formed UTF-8 only, no overlong
// form, no surrogate, no code point past U+10FFFF (the names read from files and folders go into JSON).
#include "base/text.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace {

// Each rule's last accepted sequence and its first refused one.  (Literals are split where a hex
// escape is followed by a letter, which C++ would read as one more hex digit.)
TEST(Text, IsUtf8AcceptsEachRulesEdgeAndRefusesJustPastIt) {
  // Two bytes: C0 80 and C1 BF are U+0000 and U+007F written overlong; C2 80 is U+0080.
  EXPECT_FALSE(base::is_utf8("\xC0\x80"));
  EXPECT_FALSE(base::is_utf8("\xC1\xBF"));
  EXPECT_TRUE(base::is_utf8("\xC2\x80"));
  EXPECT_TRUE(base::is_utf8("\xDF\xBF"));
  // Three bytes: E0 9F BF is U+07FF overlong; E0 A0 80 is U+0800.
  EXPECT_FALSE(base::is_utf8("\xE0\x9F\xBF"));
  EXPECT_TRUE(base::is_utf8("\xE0\xA0\x80"));
  // Surrogates U+D800 … U+DFFF (ED A0 80 … ED BF BF) are refused; U+D7FF and U+E000 around them are not.
  EXPECT_FALSE(base::is_utf8("\xED\xA0\x80"));
  EXPECT_FALSE(base::is_utf8("\xED\xBF\xBF"));
  EXPECT_TRUE(base::is_utf8("\xED\x9F\xBF"));
  EXPECT_TRUE(base::is_utf8("\xEE\x80\x80"));
  // Four bytes: F0 8F BF BF is U+FFFF overlong; F0 90 80 80 is U+10000; F4 8F BF BF is U+10FFFF, the
  // last code point; F4 90 80 80 (U+110000) and any F5 are past it.
  EXPECT_FALSE(base::is_utf8("\xF0\x8F\xBF\xBF"));
  EXPECT_TRUE(base::is_utf8("\xF0\x90\x80\x80"));
  EXPECT_TRUE(base::is_utf8("\xF4\x8F\xBF\xBF"));
  EXPECT_FALSE(base::is_utf8("\xF4\x90\x80\x80"));
  EXPECT_FALSE(base::is_utf8("\xF5\x80\x80\x80"));
  // A sequence cut short, or with a byte that is no continuation byte.
  EXPECT_FALSE(base::is_utf8("\xE2\x82"));
  EXPECT_FALSE(base::is_utf8("\xE2\x82" "A"));
  // utf8_escaped keeps what is_utf8 accepts and writes every byte of a refused sequence as \xNN.
  EXPECT_EQ(base::utf8_escaped("a\xC0\x80" "b\xED\xA0\x80" "c\xC2\x80"),
            "a\\xc0\\x80b\\xed\\xa0\\x80c\xC2\x80");
}

// utf8_code_point decodes each length's sequence, the last of each length included (the bits of a
// lead byte that are not its length marker, then 6 bits per continuation byte).
TEST(Text, CodePointOfEachSequenceLength) {
  const std::pair<std::string, char32_t> cases[] = {
      {"A", 0x41},     {"\x7F", 0x7F},   {"\u00e9", 0xE9},    {"\xDF\xBF", 0x7FF},     {"\u20ac", 0x20AC},
      {"\xEF\xBF\xBF", 0xFFFF}, {"\U0001F600", 0x1F600}, {"\xF4\x8F\xBF\xBF", 0x10FFFF}};
  for (const auto& [text, expected] : cases) {
    const size_t length = base::utf8_sequence_length("x" + text, 1);
    ASSERT_EQ(length, text.size()) << std::hex << expected;
    EXPECT_EQ(base::utf8_code_point("x" + text, 1, length), expected) << std::hex << expected;
  }
}

}  // namespace
