// imaging/analysis.h — the orchestrator behind `nnfmri analyze CKPT` and `nnfmri train --analyze-every N`.
//
// Promise: run_analysis validates the settings (base::Error naming the flag), creates out_dir and runs
// the imaging stages in a fixed sequence, each timed, each writing its own JSON atomically:
//   1. grid  (imaging/grid_stats.h) → grid.json
//   2. zeta  (imaging/zeta.h)       → zeta.json   (unless run_zeta is false)
//   3. tract (imaging/tract.h)      → tract.json  (unless run_tract is false)  Every JSON starts with the same header (model, epoch, dataset,
// eval_samples) and holds only finite numbers: a non-finite one throws base::Error naming the file and
// the JSON path.  The evaluation set is the first eval_samples test images, clamped to the test size
// (the count actually used is what the JSON records).  Nothing here runs unless the CLI calls it.
#pragma once
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "run/region_grid.h"
#include "imaging/tract.h"
#include "imaging/zeta.h"
#include "nn/data.h"
#include "nn/network.h"

namespace imaging {

constexpr size_t kMinEvalSamples = 8;  // the equal-frequency bins need data

struct AnalysisSettings {
  run::GridSpec grid;                        // --grid
  double lambda = 0.1, epsilon = 1e-6;  // --lambda, --epsilon
  int bins = 8;                         // equal-frequency bins of the information estimate (no flag)
  size_t eval_samples = 1000;           // --eval-samples
  // Images per evaluation batch.  The net's activation buffers keep the size of the largest batch for
  // the rest of the analysis, where the ζ stage adds its own, so the batch bounds the analysis's
  // memory; larger batches are not faster (figures: bench/README.md, "Measured figures once in comments").
  int batch = 25;
  bool run_zeta = true, run_tract = true;  // --stages
  ZetaSettings zeta;                       // --zeta-*
  TractSettings tract;                     // --tract-*
};

struct AnalysisContext {  // written into each JSON
  std::string model;
  int epoch = 0;
  nlohmann::ordered_json dataset;
};

struct AnalysisReport {
  double seconds_grid = 0, seconds_zeta = 0, seconds_tract = 0;
  double seconds() const { return seconds_grid + seconds_zeta + seconds_tract; }
  nlohmann::ordered_json grid, zeta, tract;  // the contents of grid.json, zeta.json, tract.json
  std::string summary;          // coverage per layer, three most informative regions per layer, seconds
};

// Throws base::Error naming the flag of the first bad setting.  The CLI may call it before training
// so that `train --analyze-every` fails at once rather than after the first epoch.
void validate_analysis_settings(const AnalysisSettings& settings);

// Throws base::Error naming --grid and the first block of `net` whose grid is over the limits of
// run/region_grid.h (--grid 4096x4096x4096 gives reference's conv1 32768 regions; at most 4096).
// run_analysis checks it first; `train --analyze-every` calls it before the first epoch, so a bad grid
// fails in a second rather than after an epoch of training.
void check_grid_fits(const nn::Network& net, const run::GridSpec& grid);

// The settings as written into config.json and each JSON's "settings".
nlohmann::ordered_json describe(const AnalysisSettings& settings);

AnalysisReport run_analysis(nn::Network& net, const nn::LabeledImages& test, const AnalysisSettings& settings,
                            const AnalysisContext& context, const std::string& out_dir);

}  // namespace imaging
