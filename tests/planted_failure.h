// tests/planted_failure.h — the planted failure of README "Error analysis" (issue #16): a shortcut patch
// that co-occurs with class A in training and appears on class B's test images.  Shared by the unit
// test (tests/imaging/test_error_maps.cpp) and the bench study (bench/study/error_study.cpp).
//
// Definition.  On a planted set (datasets/planted.h), the patch cell is the first cell in row-major
// order, outside row 0 and column 0, that is no class's evidence cell.  The patch is pattern 7 inside
// that cell, added at +strength·signal on every channel (clamped to 255).  It is stamped on a share
// `share` of class A's non-null training images (each drawn independently, nn::Rng(77)) and on every
// test image of class B (B's own evidence stays).  A net trained on it learns "patch ⇒ A", so some
// class-B test images are predicted A: the B→A confusion the error maps must localise.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "datasets/planted.h"
#include "imaging/region_lesion.h"
#include "nn/rng.h"

struct PlantedFailure {
  datasets::PlantedSet planted;
  int a = 0, b = 0;                     // the shortcut's class A and the class B that gets the patch at test time
  int patch_row = -1, patch_col = -1;   // the patch's cell (0-based)
  size_t stamped = 0, of_a = 0;         // class-A training images stamped, of the non-null ones
  int patch_region(int cell_cols) const { return patch_row * cell_cols + patch_col; }  // with one channel group
};

inline PlantedFailure make_planted_failure(const datasets::PlantedConfig& cfg, int a, int b, double strength,
                                           double share = 0.9) {
  PlantedFailure f;
  f.planted = datasets::make_planted(cfg);
  f.a = a;
  f.b = b;
  std::vector<std::vector<bool>> evidence(size_t(cfg.cell_rows), std::vector<bool>(size_t(cfg.cell_cols), false));
  for (const auto& cells : f.planted.class_cells)
    for (const auto& [r, c] : cells) evidence[size_t(r)][size_t(c)] = true;
  for (int r = 1; r < cfg.cell_rows && f.patch_row < 0; ++r)
    for (int c = 1; c < cfg.cell_cols && f.patch_row < 0; ++c)
      if (!evidence[size_t(r)][size_t(c)]) f.patch_row = r, f.patch_col = c;
  const datasets::CellBox box = datasets::cell_box(cfg, f.patch_row, f.patch_col);
  auto stamp = [&](datasets::Dataset& d, size_t i) {
    for (int ch = 0; ch < d.channels; ++ch)
      for (int y = box.y0; y < box.y1; ++y)
        for (int x = box.x0; x < box.x1; ++x)
          if (datasets::pattern_on(7, y - box.y0, x - box.x0, box.y1 - box.y0, box.x1 - box.x0)) {
            uint8_t& p = d.pixels[i * d.image_size() + (size_t(ch) * d.height + size_t(y)) * d.width + size_t(x)];
            p = uint8_t(std::min(255.0, p + strength * cfg.signal));
          }
  };
  nn::Rng rng(77);
  datasets::DataSplit& split = f.planted.split;
  for (size_t i = 0; i < split.train.size(); ++i)
    if (split.train.labels[i] == a && !f.planted.train_is_null[i]) {
      ++f.of_a;
      if (rng.uniform() < share) stamp(split.train, i), ++f.stamped;
    }
  for (size_t i = 0; i < split.test.size(); ++i)
    if (split.test.labels[i] == b) stamp(split.test, i);
  return f;
}

// Images of true class `from` predicted `to` in an evaluation's confusion matrix.
inline long confusion_count(const imaging::LesionEvaluation& ev, int classes, int from, int to) {
  return ev.confusion[size_t(from) * size_t(classes) + size_t(to)];
}

// Accuracy over the images of every class but `skip` (the classes a lesion must not harm).
inline double accuracy_without(const imaging::LesionEvaluation& ev, int classes, int skip) {
  long hit = 0, total = 0;
  for (int y = 0; y < classes; ++y) {
    if (y == skip) continue;
    for (int p = 0; p < classes; ++p) total += ev.confusion[size_t(y) * size_t(classes) + size_t(p)];
    hit += ev.confusion[size_t(y) * size_t(classes) + size_t(y)];
  }
  return total ? double(hit) / double(total) : 0.0;
}
