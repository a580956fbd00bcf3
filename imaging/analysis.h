// imaging/analysis.h — the orchestrator behind `nnfmri analyze CKPT` and `nnfmri train --analyze-every N`.
//
// Promise: run_analysis validates the settings (base::Error naming the flag or setting), creates
// out_dir and runs the registered imaging stages (imaging/stage.h) that --stages chooses, in their
// fixed order (grid, zeta, tract; grid always runs):
//   grid  (imaging/grid_stats.h) → grid.json
//   zeta  (imaging/zeta.h)       → zeta.json
//   tract (imaging/tract.h)      → tract.json
// The evaluation set is the first eval_samples test images, clamped to the test size (the count
// actually used is what the JSON records).  ONE streamed pass pushes it through the net in batches
// of `batch` images, and every stage that reads activations (grid: every image; tract: the first
// --tract-samples) takes them from that pass; zeta draws its own sample from the same images and
// runs its own forwards (its lesions replace activations).  Each stage is timed; each JSON starts
// with the same header (model, epoch, dataset, eval_samples), holds only finite numbers (a
// non-finite one throws base::Error naming the file and the JSON path) and is written atomically
// by run::write_json — every file after the last stage has run, and a failed write removes the
// files written before it, so out_dir holds this analysis whole or none of it.  Nothing here runs
// unless the CLI calls it.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/tract.h"
#include "imaging/zeta_settings.h"
#include "nn/data.h"
#include "nn/network.h"
#include "run/region_grid.h"

namespace imaging {

constexpr size_t kMinEvalSamples = 8;  // the equal-frequency bins need data

struct AnalysisSettings {
  run::GridSpec grid;                   // --grid
  double lambda = 0.1, epsilon = 1e-6;  // --lambda, --epsilon
  int bins = 8;                         // equal-frequency bins of the information estimate (no flag)
  size_t eval_samples = 1000;           // --eval-samples
  // Images per forward of the streamed pass (no flag).  The net's activation buffers keep the size of
  // the largest batch for the rest of the analysis, where the ζ stage adds its own (bench/README.md).
  int batch = 25;
  std::vector<std::string> stages;      // --stages (imaging::parse_stages); empty: every registered stage
  ZetaSettings zeta;                    // --zeta-*
  TractSettings tract;                  // --tract-*
  // The ranks of an MPI job that share the work (analyze under mpirun, README "Beyond one machine
  // (MPI)"); null or one rank: this process does everything.  The grid stage takes the pass's batches
  // k ≡ rank (mod P), tract the layer pairs e ≡ rank (mod P); ζ reads zeta.ranks (set alike).
  nn::ShardGroup* ranks = nullptr;
};

struct AnalysisContext {  // written into each JSON
  std::string model;
  int epoch = 0;
  nlohmann::ordered_json dataset;
  // grid.json's "images" block (the mean and example evaluation images), which depends only on the
  // test set and eval_samples: a training run writes it in its first analysed epoch only (README
  // "Reading the report"); `analyze` always.
  bool write_images = true;
  // `analyze`: the checkpoint imaged, {"path" (as given), "sha256"}, written after "epoch" so that an
  // analyze directory says what it imaged; null in a training run (its checkpoints/ names them).
  nlohmann::ordered_json checkpoint = nullptr;
};

struct StageReport {
  std::string name;                 // grid, zeta, tract
  size_t images = 0;                // its eval_samples
  double seconds = 0;               // its own work (its part of the streamed pass included, the forwards not)
  nlohmann::ordered_json document;  // the content of its file
};

struct AnalysisReport {
  double seconds_pass = 0;          // the streamed pass's batches and forwards
  std::vector<StageReport> stages;  // in the order they ran
  double seconds() const;           // all of it
  const StageReport* stage(const std::string& name) const;  // null if it did not run
  std::string summary;              // per stage: its images, seconds and lines (coverage, ζ, flows, ...)
  // One line's worth, no newline: "imaging 12.3 s: " and the stages' digests joined by ", "
  // ("coverage 0.91, critical 12 of 1060 regions, top conv1 grid_3_4_1 zeta 3.12").
  std::string digest;
};

// Whether the analysis of `settings` runs the stage called `name` (named by settings.stages, every
// stage when that is empty, or one that always runs).
bool runs_stage(const AnalysisSettings& settings, const std::string& name);
// `settings` with the stage called `name` left out of the stages it runs (one that always runs stays):
// the analysed epochs of `train --zeta-every N` that are not multiples of N.
AnalysisSettings without_stage(const AnalysisSettings& settings, const std::string& name);

// Throws base::Error naming the flag (or the setting, when no flag sets it) of the first bad setting.
// The CLI may call it before training so that `train --analyze-every` fails at once rather than
// after the first epoch.
void validate_analysis_settings(const AnalysisSettings& settings);

// Throws base::Error naming --grid and the first block of `net` whose grid is over the limits of
// run/region_grid.h (--grid 4096x4096x4096 gives reference's conv1 32768 regions; at most 4096).
// run_analysis checks it first; `train --analyze-every` calls it before the first epoch, so a bad grid
// fails in a second rather than after an epoch of training.
void check_grid_fits(const nn::Network& net, const run::GridSpec& grid);
// Throws base::Error when a stage of settings.stages cannot image `net` (Stage::check_net), naming
// --stages and the stage: checked with check_grid_fits, before the first epoch.
void check_stages_fit(const nn::Network& net, const AnalysisSettings& settings);
// Everything an analysis checks before any work: the settings (validate_analysis_settings),
// check_grid_fits, check_stages_fit, at least kMinEvalSamples images in `test`, and each chosen stage's
// Stage::check_data on the evaluation images `test`.  run_analysis calls it first; `analyze` before an earlier analysis in --out is removed, and
// `train --analyze-every` before the first epoch.
void check_analysis_fits(const nn::Network& net, const AnalysisSettings& settings, const nn::LabeledImages& test);

// The settings as written into config.json and each JSON's "settings".
nlohmann::ordered_json describe(const AnalysisSettings& settings);

// What run_analysis is doing, for a progress display (a terminal's bar): the stage ("evaluation
// pass", "grid", "zeta", "tract"), what in it ("conv1", "" for nothing finer), the share of that stage
// done (0 … 1) and the seconds it expects the stage still needs (< 0: unknown).  The ζ stage expects
// blocks × --zeta-budget in all (imaging/zeta.h: a block returns within its budget plus one step).
struct AnalysisProgress {
  std::string stage, step;
  double fraction = 0, remaining_seconds = -1;
};
using ProgressCallback = std::function<void(const AnalysisProgress&)>;

// `progress` (may be empty) is called from the calling thread, never inside a parallel region.
// An empty `out_dir` writes nothing (the report holds every document): the ranks of an MPI job
// other than 0.
AnalysisReport run_analysis(nn::Network& net, const nn::LabeledImages& test, const AnalysisSettings& settings,
                            const AnalysisContext& context, const std::string& out_dir,
                            const ProgressCallback& progress = {});

}  // namespace imaging
