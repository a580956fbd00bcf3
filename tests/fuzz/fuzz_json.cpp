// tests/fuzz/fuzz_json.cpp — base::parse_json and every base::Node accessor on hostile text: nesting,
// sizes, numbers beyond a double (1e999), invalid UTF-8, deep keys.  Every failure must be one line
// naming the document.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/json.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const std::string kName = "input.json";

// Every accessor on every node; a complaint must name the document.
void visit(const base::Node& node, int depth) {
  auto quietly = [](auto read) { fuzz::expect_clean(read, {kName}); };
  quietly([&] { node.number(); });
  quietly([&] { node.integer(-5, 4096); });
  quietly([&] { node.text(); });
  quietly([&] { node.boolean(); });
  quietly([&] { node.interval(); });
  quietly([&] { node.triple(4096); });
  quietly([&] { node.optional_number("zeta_score"); });
  quietly([&] { node["grid"]; });
  quietly([&] { node[size_t(2)]; });
  if (depth > base::kMaxJsonDepth + 1) fuzz::finding("a document deeper than the limit was parsed");
  if (node.json().is_object())
    for (const auto& [key, child] : node.members()) visit(child, depth + 1);
  if (node.json().is_array())
    for (size_t i = 0; i < node.array_size(); ++i) visit(node[i], depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  base::Json document;
  bool parsed = false;
  fuzz::expect_clean([&] { document = base::parse_json(text, kName), parsed = true; }, {kName});
  if (!parsed) return 0;
  try {
    base::require_finite(document, {kName});
  } catch (const base::Error& e) {
    fuzz::finding(std::string("parse_json let a non-finite number through: ") + e.what());
  }
  (void)base::json_text(document, -1);
  visit(base::Node(document, kName), 1);
  return 0;
}
