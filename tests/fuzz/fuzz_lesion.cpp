// tests/fuzz/fuzz_lesion.cpp — imaging::parse_region_lesion (`eval --lesion BLOCK:PATTERN[,PATTERN...]`;
// its patterns go through mark_regions, as `train --inject lesion`'s do) on hostile text.
// Input: the lesion text, optionally followed by a NUL byte and the --grid value ("4x4x2" when absent).
// The net is "conv3x3:4 relu maxpool2 conv3x3:6 relu linear:3" on 3x8x8 images (blocks conv1, pool1,
// conv2, output).  A refusal must be one line naming --lesion or --grid; a lesion that parses must
// choose exactly the regions of its block whose key some pattern matches, by the oracle below, ascending,
// each once, and every pattern must match at least one of them.  The oracle, a glob matcher of its own
// (dynamic programming over pattern × text), also judges imaging::glob_match on the two parts of the
// input taken as a pattern and a text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/text.h"
#include "imaging/region_lesion.h"
#include "nn/network.h"
#include "run/region_grid.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

// Whether `pattern` ('*' any run of characters, every other character itself) matches all of `text`:
// m[i][j] = the first i pattern characters match the first j text characters.
bool glob_oracle(const std::string& pattern, const std::string& text) {
  std::vector<std::vector<char>> m(pattern.size() + 1, std::vector<char>(text.size() + 1, 0));
  m[0][0] = 1;
  for (size_t i = 1; i <= pattern.size(); ++i)
    for (size_t j = 0; j <= text.size(); ++j)
      m[i][j] = pattern[i - 1] == '*' ? char(m[i - 1][j] || (j > 0 && m[i][j - 1]))
                                      : char(j > 0 && m[i - 1][j - 1] && pattern[i - 1] == text[j - 1]);
  return m[pattern.size()][text.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = fuzz::split(std::string(reinterpret_cast<const char*>(data), size), std::string(1, '\0'));
  if (parts.size() > 2 || parts[0].size() > 4096) return 0;
  static const nn::Network net("conv3x3:4 relu maxpool2 conv3x3:6 relu linear:3", 3, 8, 8);
  const std::string text = parts[0], grid_text = parts.size() > 1 ? parts[1] : "4x4x2";
  if (text.size() <= 256 && grid_text.size() <= 256 && imaging::glob_match(text, grid_text) != glob_oracle(text, grid_text))
    fuzz::finding("glob_match('" + text + "', '" + grid_text + "') differs from the oracle");
  fuzz::expect_clean(
      [&] {
        const run::GridSpec grid = run::parse_grid_spec(grid_text, "--grid");
        const imaging::RegionLesion lesion = imaging::parse_region_lesion(text, net, grid, "--lesion");
        const std::vector<std::string> patterns = base::split(text.substr(text.find(':') + 1), ',');
        std::vector<int> expected;
        std::vector<bool> pattern_used(patterns.size(), false);
        for (int r = 0; r < lesion.grid.count(); ++r) {
          bool any = false;
          for (size_t p = 0; p < patterns.size(); ++p)
            if (glob_oracle(patterns[p], lesion.grid.key(r))) any = true, pattern_used[p] = true;
          if (any) expected.push_back(r);
        }
        if (lesion.regions != expected) fuzz::finding("'" + text + "' chose other regions than its patterns match");
        for (size_t p = 0; p < patterns.size(); ++p)
          if (!pattern_used[p]) fuzz::finding("'" + text + "' parsed though pattern '" + patterns[p] + "' matches no region");
      },
      {"--lesion", "--grid"});
  return 0;
}
