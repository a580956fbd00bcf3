// tests/base/test_json.cpp — the one JSON reader refuses a key given twice in one object (nlohmann
// keeps the last one silently: a safetensors header with a tensor named twice, a zeta.json with a
// region twice), naming the key's JSON pointer; the same key in different objects is fine.  Also its
// depth check, and the writer's promises (run/json.h): U+FFFD for bad UTF-8, no NaN written.
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/json.h"
#include "base/limits.h"
#include "base/text.h"
#include "run/json.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

TEST(Json, AKeyTwiceInOneObjectIsOneErrorNamingItsPointer) {
  EXPECT_EQ(error_of([] { base::parse_json(R"({"a": 1, "b": 2, "a": 3})", "x.json"); }),
            "x.json: /a: the key appears twice in its object, expected each key once");
  EXPECT_EQ(error_of([] { base::parse_json(R"({"t": [{"k": 1}, {"k": 2, "k": 3}]})", "h"); }),
            "h: /t/1/k: the key appears twice in its object, expected each key once");
  EXPECT_EQ(error_of([] { base::parse_json(R"({"o": {"p": {}, "q": [1, {"r": 0}], "p": 1}})", "h"); }),
            "h: /o/p: the key appears twice in its object, expected each key once");
}

TEST(Json, TheSameKeyInDifferentObjectsIsFine) {
  const base::Json j = base::parse_json(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}], "k": 5})", "h");
  EXPECT_EQ(j["c"][1]["k"], 4);
  EXPECT_EQ(j["k"], 5);
  EXPECT_EQ(j.size(), 4u);
}

// An object of n keys costs the ordered object n²/2 comparisons to build: more than kMaxJsonObjectKeys
// keys in one object is refused (naming the object), exactly that many is read.
TEST(Json, AnObjectOfTooManyKeysIsRefusedNamingIt) {
  const auto object_of = [](size_t keys) {
    std::string text = "{";
    for (size_t k = 0; k < keys; ++k) text += (k ? ",\"" : "\"") + std::to_string(k) + "\":0";
    return text + "}";
  };
  const size_t limit = base::kMaxJsonObjectKeys;
  EXPECT_EQ(base::parse_json("{\"a\": [1, " + object_of(limit) + "]}", "h")["a"][1].size(), limit);
  EXPECT_EQ(error_of([&] { base::parse_json("{\"a\": [1, " + object_of(limit + 1) + "]}", "h"); }),
            "h: /a/1: more than " + std::to_string(limit) + " keys in one object, expected an nnfmri JSON file");
  EXPECT_EQ(error_of([&] { base::parse_json(object_of(limit + 1), "top.json"); }),
            "top.json: /: more than " + std::to_string(limit) + " keys in one object, expected an nnfmri JSON file");
}

// An optional key (Node::find) of a value that is no object is an error naming the value, not "absent":
// zeta.json's `"errors": "x"` was read as a file without error maps.
TEST(Json, FindOnAValueThatIsNoObjectIsAnError) {
  const base::Json j = base::parse_json(R"({"errors": "x", "list": [1], "none": null, "o": {"k": 1}})", "z.json");
  const base::Node root(j, "z.json");
  EXPECT_FALSE(root.find("missing").has_value());
  EXPECT_EQ(root.find("o")->find("k")->number(), 1);
  EXPECT_EQ(error_of([&] { root["errors"].find("labels"); }), "z.json: /errors: expected an object, found the string \"x\"");
  EXPECT_EQ(error_of([&] { root["list"].find("k"); }), "z.json: /list: expected an object, found an array of 1");
  EXPECT_EQ(error_of([&] { root["none"].optional_number("k"); }), "z.json: /none: expected an object, found null");
}

// The depth check counts [ and { outside strings: an escaped quote (\") does not end its string, so the
// brackets after it, still inside the string, are text (a depth scan that ignored the backslash saw 100
// levels and refused a one-level document).
TEST(Json, BracketsAfterAnEscapedQuoteInAStringAreNoNesting) {
  const std::string text = std::string(R"({"s": "\" )") + std::string(100, '[') + "\"}";
  EXPECT_EQ(base::parse_json(text, "h")["s"], "\" " + std::string(100, '['));
}

// kMaxJsonDepth levels are read, one more is refused; sibling objects and arrays are no nesting (kills
// `>=` for `>` in the depth check, and a scan that does not close an object at `}`).
TEST(Json, TheDepthLimitCountsNestingOnlyAndIncludesItself) {
  const int limit = base::kMaxJsonDepth;
  const std::string deepest = std::string(size_t(limit), '[') + std::string(size_t(limit), ']');
  EXPECT_EQ(base::parse_json(deepest, "h").size(), 1u);
  EXPECT_EQ(error_of([&] { base::parse_json("[" + deepest + "]", "h"); }),
            "h: nested deeper than " + std::to_string(limit) + " levels, expected an nnfmri JSON file");
  std::string siblings = "[";
  for (int i = 0; i < 2 * limit; ++i) siblings += i ? ",{\"a\":[]}" : "{\"a\":[]}";
  EXPECT_EQ(base::parse_json(siblings + "]", "h").size(), size_t(2 * limit));
}

// The first repeated key is the one named, however many follow (kills the pointer built again at
// every repeat).
TEST(Json, TheFirstRepeatedKeyIsNamed) {
  EXPECT_EQ(error_of([] { base::parse_json(R"({"a": 1, "b": {"c": 1, "c": 2}, "a": 3})", "x.json"); }),
            "x.json: /b/c: the key appears twice in its object, expected each key once");
}

// A number beyond a double is named by its JSON pointer, array indices counted (kills failing_pointer
// not moving on to the next element).
TEST(Json, AnOverflowingNumberIsNamedByItsPointer) {
  EXPECT_EQ(error_of([] { base::parse_json(R"({"a": [1, {"b": 2}, [3], 1e999]})", "x.json"); }),
            "x.json: /a/3: number overflow parsing '1e999', expected a finite number");
}

// read_optional_json: only a path where nothing is is "nothing"; one that cannot be looked at (a link
// that loops: ELOOP) is an error naming it (kills every failing stat taken for absent).
class JsonRead : public TempDirTest {};

TEST_F(JsonRead, AnOptionalFileThatCannotBeLookedAtIsAnError) {
  EXPECT_FALSE(base::read_optional_json(path("none.json")).has_value());
  EXPECT_FALSE(base::read_optional_json(path("none/x.json")).has_value());
  std::filesystem::create_symlink(path("loop.json"), path("loop.json"));
  EXPECT_EQ(error_of([&] { base::read_optional_json(path("loop.json")); }),
            path("loop.json") + ": cannot open (" + std::strerror(ELOOP) + ")");
}

// The accessors' ranges include their ends, an integer is no fraction, an interval may be one point,
// an index one past the end is an error (kills `<=` for `<`, is_number for is_number_integer, `>=`
// for `>`, `>` for `>=`).
TEST(Json, AccessorRangesIncludeTheirEnds) {
  const base::Json j = base::parse_json(R"({"low": 0.5, "half": 1.5, "n": 3, "point": [2, 2], "t": [1, 4, 4]})", "c.json");
  const base::Node root(j, "c.json");
  EXPECT_EQ(root["low"].number(0.5, 1), 0.5);
  // no upper end: the largest finite double is in range, and the line says "≥ low"
  EXPECT_EQ(root["low"].number(0.5, base::kUnbounded), 0.5);
  const base::Json huge = base::parse_json("1.7976931348623157e308", "h.json");
  EXPECT_EQ(base::Node(huge, "h.json").number(0, base::kUnbounded), 1.7976931348623157e308);
  EXPECT_EQ(error_of([&] { root["low"].number(1, base::kUnbounded); }),
            "c.json: /low: expected a number ≥ 1, found the number 0.5");
  EXPECT_EQ(error_of([&] { root["low"].number(1, 2); }), "c.json: /low: expected a number from 1 to 2, found the number 0.5");
  EXPECT_EQ(root["n"].integer(3, 3), 3);
  EXPECT_EQ(error_of([&] { root["half"].integer(0, 10); }), "c.json: /half: expected an integer from 0 to 10, found the number 1.5");
  EXPECT_EQ(root["point"].interval(), (std::array<double, 2>{2, 2}));
  EXPECT_EQ(root["t"].triple(4), (std::array<int, 3>{1, 4, 4}));
  EXPECT_EQ(error_of([&] { root["point"][2]; }), "c.json: /point: expected an array of at least 3, found an array of 2");
  // an optional member: absent is nothing whatever the range; present is held to it
  EXPECT_EQ(root.optional_number("none", 0, 1), std::nullopt);
  EXPECT_EQ(root.optional_number("low", 0.5, 1), 0.5);
  EXPECT_EQ(root.optional_number("low"), 0.5);
  EXPECT_EQ(error_of([&] { root.optional_number("half", 0, 1); }), "c.json: /half: expected a number from 0 to 1, found the number 1.5");
}

// RFC 6901: '~' is "~0" and '/' is "~1", in every pointer an error line names (kills the two swapped,
// and a key written raw in require_finite's and fail_missing's pointers).
TEST(Json, PointersEscapeTildeAndSlash) {
  EXPECT_EQ(base::pointer_token("a~b/c"), "a~0b~1c");
  const base::Json doc = {{"a/b", {{"c~d", std::nan("")}}}};
  EXPECT_EQ(error_of([&] { base::require_finite(doc, "f"); }), "f: /a~1b/c~0d is nan, expected a finite number");
  const base::Json j = base::parse_json(R"({"o": {}})", "f");
  EXPECT_EQ(error_of([&] { base::Node(j, "f")["o"]["x/y"]; }), "f: /o/x~1y: missing (expected in the object at /o)");
}

// An error line quotes a long string value cut at 37 characters and "..." (kills a cut without it), and
// a null value is there, not absent (kills find taking null for a missing key).
TEST(Json, AFoundValueIsDescribedShortAndNullIsNoMissingKey) {
  const base::Json j = base::parse_json(R"({"s": ")" + std::string(50, 'x') + R"(", "k": null})", "f");
  const base::Node root(j, "f");
  EXPECT_EQ(error_of([&] { root["s"].number(); }), "f: /s: expected a number, found the string \"" + std::string(36, 'x') + "...");
  EXPECT_EQ(error_of([&] { root.optional_number("k"); }), "f: /k: expected a number, found null");
}

// run/json.h's promise: a string that is not valid UTF-8 is written with U+FFFD (EF BF BD) for each bad
// byte, not dropped (which would make "a\xffb" and "ab" one name) and not an exception.
TEST(Json, InvalidUtf8IsWrittenAsReplacementCharacters) {
  EXPECT_EQ(base::json_text(base::Json("a\xff" "b"), -1), "\"a\xEF\xBF\xBD" "b\"");
}

// run::write_json's promise: a NaN or an infinity is an error naming the file and the value's pointer, and
// nothing is written (nlohmann alone dumps it as null, which reads back as "missing").
class JsonWrite : public TempDirTest {};

TEST_F(JsonWrite, ANonFiniteNumberIsAnErrorNamingItsPointerAndNothingIsWritten) {
  const std::string file = path("m.json");
  const base::Json doc = {{"ok", 1.5}, {"a", {2.0, std::nan("")}}};
  EXPECT_EQ(error_of([&] { run::write_json(file, doc, 2); }), file + ": /a/1 is nan, expected a finite number");
  EXPECT_TRUE(files().empty());
  run::write_json(file, {{"a", {2.0, 3.0}}}, -1);
  EXPECT_EQ(base::read_json(file)["a"][1], 3.0);
}

// json_text_capped, a value quoted in a message: whole when it fits, else at most max_bytes ending in
// "...", never inside a character; bad UTF-8 in a string is U+FFFD, not an exception (a string read
// from a file quoted whole).
TEST(Json, CappedTextFitsItsBytesAndCutsAtACharacter) {
  EXPECT_EQ(base::json_text_capped(base::Json{{"a", 1}}, 7), "{\"a\":1}");
  std::string e_acute;
  for (int i = 0; i < 30; ++i) e_acute += "\u00e9";
  const std::string whole = base::json_text(base::Json(e_acute), -1);  // 62 bytes
  for (size_t max_bytes = 4; max_bytes < whole.size(); ++max_bytes) {
    const std::string text = base::json_text_capped(base::Json(e_acute), max_bytes);
    ASSERT_LE(text.size(), max_bytes);
    ASSERT_GE(text.size(), max_bytes - 1);  // a 2-byte character cut costs at most one byte
    ASSERT_EQ(text.substr(text.size() - 3), "...");
    ASSERT_EQ(whole.rfind(text.substr(0, text.size() - 3), 0), 0u) << text;
    ASSERT_TRUE(base::is_utf8(text)) << text;
  }
  EXPECT_EQ(base::json_text_capped(base::Json(std::string("a\xff")), 40), "\"a\ufffd\"");
}

}  // namespace
