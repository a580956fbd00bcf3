// tests/base/test_json.cpp — the one JSON reader refuses a key given twice in one object (nlohmann
// keeps the last one silently: a safetensors header with a tensor named twice, a zeta.json with a
// region twice), naming the key's JSON pointer; the same key in different objects is fine.
#include <gtest/gtest.h>

#include <string>

#include "base/json.h"
#include "tests/error_of.h"

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

}  // namespace
