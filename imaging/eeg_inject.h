// imaging/eeg_inject.h — fault injection for validating NN-EEG: `train --inject KIND@STEP[:DURATION[:PARAM]]`
// (several faults separated by commas).  STEP is the global step (1-based over the run) the fault
// starts at; it lasts DURATION steps (default 1): steps STEP … STEP + DURATION − 1.
//   lr       the step's learning rate × PARAM (default 10)
//   labels   the batch's labels permuted by a seeded shuffle (Rng::derive(seed, 0x1ABE1, step))
//   lesion   PARAM = BLOCK/grid_i_j_k: the region's outputs set to 0 in the training forward (its
//            units then get no gradient through a relu; the evaluation forwards are untouched)
//   noise    N(0, PARAM²) added to every normalised input value (default PARAM 1; Rng::derive(seed, 0x0015E, step))
//   bias     PARAM = BLOCK=X: X added to every output of the block in the training forward
//   dead     PARAM = BLOCK: every output of the block set to 0 in the training forward (a dead block:
//            nothing reaches the blocks after it, and no gradient reaches it or the blocks before)
// Errors (base::Error naming --inject and the entry): an unknown kind, a malformed entry, a step
// outside 1 … the run's steps, an unknown block or region, a PARAM out of range.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/network.h"
#include "nn/trainer.h"
#include "run/region_grid.h"

namespace imaging::eeg {

struct Injection {
  std::string kind;   // lr, labels, lesion, noise, bias, dead
  long step = 1, duration = 1;
  std::string param;  // as given ("" for the default)
  std::string text;   // the entry as given, which resolve()'s error lines quote
  // resolved by resolve():
  double value = 0;   // lr factor, noise sigma, bias shift
  int block = -1;
  std::vector<int> regions;  // lesion: the regions its pattern names, ascending
  bool active(long global_step) const { return global_step >= step && global_step < step + duration; }
};

const std::vector<std::string>& injection_kinds();
// Syntax only: "lr@100:5:10,lesion@200:50:conv1/grid_1_1_1" (a lesion's pattern as eval --lesion's:
// conv1/grid_3_4_* lesions every channel group of cell (3, 4), one pattern per fault).
std::vector<Injection> parse_injections(const std::string& text);
// Checks steps against the run's total steps and names against the net; fills value, block, regions.
void resolve(std::vector<Injection>& injections, const nn::Network& net, const run::GridSpec& grid, long total_steps);
nlohmann::ordered_json injections_json(const std::vector<Injection>& injections);
// The trainer's intervention for these (resolved) faults.
nn::StepIntervention make_intervention(const std::vector<Injection>& injections, const nn::Network& net,
                                       const run::GridSpec& grid, uint64_t seed);

}  // namespace imaging::eeg
