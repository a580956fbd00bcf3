// imaging/stage.cpp — the registry of imaging stages (imaging/stage.h).
#include "imaging/stage.h"

#include <algorithm>
#include <utility>

#include "base/error.h"

namespace imaging {

namespace {
// (position, factory) of every registered stage.  A function-local static: registrations run
// during static initialisation, in an order across files that C++ does not fix.
std::vector<std::pair<int, StageFactory>>& registry() {
  static std::vector<std::pair<int, StageFactory>> entries;
  return entries;
}
}  // namespace

StageRegistration::StageRegistration(int position, StageFactory make) {
  auto& entries = registry();
  entries.emplace_back(position, make);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::vector<std::unique_ptr<Stage>> make_stages() {
  std::vector<std::unique_ptr<Stage>> stages;
  for (const auto& [position, make] : registry()) stages.push_back(make());
  return stages;
}

std::vector<std::string> stage_names() {
  std::vector<std::string> names;
  for (const auto& stage : make_stages()) names.push_back(stage->name());
  return names;
}

}  // namespace imaging
