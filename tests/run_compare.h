// tests/run_compare.h — two run directories compared file by file: every byte equal, except the
// timing fields of metrics.jsonl and of the analysis JSON files (they differ between any two runs).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "base/fileio.h"
#include "run/json.h"

// A JSON document without the fields that time something (they differ between any two runs).
inline run::Json without_timing(run::Json j) {
  if (j.is_object()) {
    for (const char* key : {"seconds", "train_seconds", "train_images_per_s", "analysis_seconds", "timing"}) j.erase(key);
    if (j.contains("critical_share")) j.erase("budget_seconds");  // a zeta layer's time left over
    for (auto& [key, value] : j.items()) value = without_timing(value);
  } else if (j.is_array()) {
    for (auto& value : j) value = without_timing(value);
  }
  return j;
}

// Every file under `dir`, relative, sorted.
inline std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(std::filesystem::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

// Whether a run's file `name` (relative) holds timing fields: a JSON Lines file or an analysis JSON.
inline bool has_timing_fields(const std::string& name) {
  const bool jsonl = name.size() > 6 && name.substr(name.size() - 6) == ".jsonl";
  return jsonl || name.rfind("analysis/", 0) == 0;
}

// The documents of such a file without their timing fields: a JSON Lines file line by line, a JSON
// file whole.
inline std::vector<std::string> untimed_documents(const std::string& name, const std::string& text) {
  const bool jsonl = name.size() > 6 && name.substr(name.size() - 6) == ".jsonl";
  if (!jsonl) return {without_timing(run::parse_json(text, name)).dump()};
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    out.push_back(without_timing(run::parse_json(text.substr(start, end - start), name)).dump());
  return out;
}

// Two run directories hold the same files with the same bytes, timing fields apart.
inline void expect_same_run(const std::string& a, const std::string& b) {
  const std::vector<std::string> names = files_under(a);
  ASSERT_EQ(names, files_under(b));
  for (const std::string& name : names) {
    const std::string x = base::read_file(a + "/" + name), y = base::read_file(b + "/" + name);
    if (!has_timing_fields(name)) {
      EXPECT_TRUE(x == y) << name << " differs";
      continue;
    }
    EXPECT_EQ(untimed_documents(name, x), untimed_documents(name, y)) << name << " differs beyond its timing fields";
  }
}

