// tests/planted_split.h — the planted set cut to its first `train` training and `test` test images,
// built once per size for the whole test binary (generating the set is the slow part).
#pragma once
#include <cstddef>
#include <map>
#include <utility>

#include "datasets/dataset.h"

inline const datasets::DataSplit& planted_split(size_t train, size_t test) {
  static std::map<std::pair<size_t, size_t>, datasets::DataSplit> cuts;
  auto it = cuts.find({train, test});
  if (it == cuts.end()) {
    datasets::DataSplit s = datasets::load_dataset("planted");
    s.train.truncate(train);
    s.test.truncate(test);
    it = cuts.emplace(std::make_pair(train, test), std::move(s)).first;
  }
  return it->second;
}
