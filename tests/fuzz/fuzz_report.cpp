// tests/fuzz/fuzz_report.cpp — the run-directory reader and the whole report (report::build_report:
// load_run, summaries, figures, page) on hostile run directories.
//
// Input: sections "@@<k>\n<file text>", k naming the file of the run directory (kFiles: '0' … '9', and ':'
// for run.json, the manifest whose list and completed epoch say what the report reads).  The harness
// writes them into a scratch run directory and builds the report (SVG figures, PNG for one input in
// four, so that the raster canvas is fuzzed too).  Every refusal must be one line naming a file of
// the run directory.
//
// Structure-aware: LLVMFuzzerCustomMutator parses a section as JSON (a metrics.jsonl section line by
// line) and changes one value the way a hostile or broken file would: region keys (grid_50000_1_1,
// grid_1300_1300_1300, grid_0_1_1), grid and shape triples, numbers (4096, 4097, 2^31−1, 1e308,
// the largest double, 1e999 written into the text), nesting (a value wrapped 70 levels deep), long
// strings, deleted or duplicated members; a third of the time it leaves the mutation to libFuzzer.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const char* const kFiles[] = {"config.json",
                              "metrics.jsonl",
                              "analysis/epoch_001/grid.json",
                              "analysis/epoch_001/zeta.json",
                              "analysis/epoch_001/tract.json",
                              "analysis/epoch_002/grid.json",
                              "analysis/epoch_002/zeta.json",
                              "analysis/epoch_002/tract.json",
                              "analysis/epoch_1000/zeta.json",
                              "analysis/epoch_002/summary.json",
                              "run.json"};
constexpr int kFileCount = int(sizeof kFiles / sizeof kFiles[0]);

struct Section {
  int file;
  std::string text;
};

std::vector<Section> sections_of(const std::string& input) {
  std::vector<Section> out;
  for (const std::string& part : fuzz::split(input, "@@")) {
    if (part.size() < 2 || part[0] < '0' || part[0] >= '0' + kFileCount || part[1] != '\n') continue;
    out.push_back({part[0] - '0', part.substr(2)});
  }
  return out;
}

std::string joined(const std::vector<Section>& sections) {
  std::string out;
  for (const Section& s : sections) out += "@@" + std::string(1, char('0' + s.file)) + "\n" + s.text;
  return out;
}

// ---- the structure-aware mutation -------------------------------------------------------------

using Json = nlohmann::ordered_json;
const char* kOverflow = "\"__OVERFLOW__\"";  // replaced by 1e999 in the text after dumping

void all_values(Json& v, std::vector<Json*>& out) {
  out.push_back(&v);
  if (v.is_object() || v.is_array())
    for (Json& child : v) all_values(child, out);
}

Json interesting_number(std::mt19937& rng) {
  static const double kNumbers[] = {0, -1, 1, 2, 3, 4095, 4096, 4097, 50000, 1300, 65536, 4194304, 4194305,
                                    2147483647.0, -2147483648.0, 1e20, 1e308, -1e308, 1.7976931348623157e308,
                                    5e-324, 0.5, 3.5, 1e-300};
  const double v = kNumbers[rng() % (sizeof kNumbers / sizeof kNumbers[0])];
  if (std::abs(v) < 1e15 && v == std::floor(v)) return Json(int64_t(v));
  return Json(v);
}

std::string interesting_key(std::mt19937& rng) {
  static const char* kKeys[] = {"grid_1_1_1", "grid_2_2_2", "grid_4096_1_1", "grid_4097_1_1", "grid_50000_1_1",
                                "grid_1300_1300_1300", "grid_0_1_1", "grid_1_1", "grid_1_1_1_1", "grid_999999_1_1",
                                "grid_64_64_1", "layers", "regions", "a/b~c", ""};
  return kKeys[rng() % (sizeof kKeys / sizeof kKeys[0])];
}

void mutate_value(Json& root, std::mt19937& rng) {
  std::vector<Json*> values;
  all_values(root, values);
  Json& v = *values[rng() % values.size()];
  switch (rng() % 9) {
    case 0: v = interesting_number(rng); break;
    case 1: v = kOverflow; break;
    case 2: v = Json::array({interesting_number(rng), interesting_number(rng), interesting_number(rng)}); break;
    case 3: {  // nesting
      Json nested = v;
      for (int i = 0; i < 70; ++i) nested = Json::array({nested});
      v = nested;
      break;
    }
    case 4: v = std::string(rng() % 2 ? 300 : 3, char('a' + rng() % 26)); break;
    case 5:  // rename a member to an interesting key
      if (v.is_object() && !v.empty()) {
        auto it = v.begin();
        std::advance(it, rng() % v.size());
        Json moved = it.value();
        const std::string old_key = it.key();
        v.erase(old_key);
        v[interesting_key(rng)] = moved;
      }
      break;
    case 6:  // delete a member or an element
      if (v.is_object() && !v.empty()) {
        auto it = v.begin();
        std::advance(it, rng() % v.size());
        v.erase(it.key());
      } else if (v.is_array() && !v.empty()) {
        v.erase(v.begin() + long(rng() % v.size()));
      }
      break;
    case 7:  // duplicate an element or member
      if (v.is_array() && !v.empty()) v.push_back(v[rng() % v.size()]);
      else if (v.is_object() && !v.empty()) v[interesting_key(rng)] = v.begin().value();
      break;
    default: v = rng() % 2 ? Json(nullptr) : Json(rng() % 2 == 0); break;
  }
}

// The mutated JSON text, or "" when `text` is not JSON.
std::string mutate_json_text(const std::string& text, std::mt19937& rng) {
  Json root = Json::parse(text, nullptr, false);
  if (root.is_discarded()) return "";
  mutate_value(root, rng);
  std::string out = root.dump(-1, ' ', false, Json::error_handler_t::replace);
  for (size_t at; (at = out.find(kOverflow)) != std::string::npos;) out.replace(at, std::strlen(kOverflow), rng() % 2 ? "1e999" : "-1e999");
  return out;
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::mt19937 rng(seed);
  std::vector<Section> sections = sections_of(std::string(reinterpret_cast<const char*>(data), size));
  if (rng() % 3 == 0 || sections.empty()) return LLVMFuzzerMutate(data, size, max_size);
  if (rng() % 8 == 0) {  // move a section to another file
    sections[rng() % sections.size()].file = int(rng() % kFileCount);
  } else {
    Section& s = sections[rng() % sections.size()];
    if (s.file == 1) {  // metrics.jsonl: one line
      std::vector<std::string> lines = fuzz::split(s.text, "\n");
      std::string& line = lines[rng() % lines.size()];
      const std::string mutated = mutate_json_text(line, rng);
      if (mutated.empty()) return LLVMFuzzerMutate(data, size, max_size);
      line = mutated;
      s.text.clear();
      for (size_t i = 0; i < lines.size(); ++i) s.text += (i ? "\n" : "") + lines[i];
    } else {
      const std::string mutated = mutate_json_text(s.text, rng);
      if (mutated.empty()) return LLVMFuzzerMutate(data, size, max_size);
      s.text = mutated;
    }
  }
  const std::string out = joined(sections);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::reset();
  const std::string run_dir = fuzz::scratch() + "/run";
  fuzz::fs::create_directories(run_dir);
  for (const Section& s : sections_of(std::string(reinterpret_cast<const char*>(data), size)))
    if (s.file < kFileCount) fuzz::write(std::string("run/") + kFiles[s.file], s.text);
  report::ReportOptions options;
  options.format = size % 4 == 0 ? "png" : "svg";
  options.figures_only = size % 3 == 0;
  fuzz::expect_clean([&] { report::build_report(run_dir, options); }, {run_dir});
  return 0;
}
