// apps/training_run.h — one training run and the run directory it writes.
//
// Promise: run_training builds the net from the settings (spec, input normalisation from the
// training split, He initialisation from the seed), writes RUN/config.json, then for every epoch
// trains it (nn::Trainer), evaluates it on the test split, writes checkpoints/epoch_NNN.ckpt and
// model.ckpt, images it when the epoch is a multiple of analyze_every (analysis/epoch_NNN/), and
// rewrites metrics.jsonl with the epoch's line.  Every path comes from run::Layout, every JSON
// goes through run/json.h, every file is written atomically.  It prints nothing: whoever calls it
// hears of the run's progress through TrainingCallbacks.  Same settings, seed and threads ⇒ the
// same bytes in every file but the timing fields of metrics.jsonl and the analysis files.
#pragma once
#include <functional>
#include <string>

#include "datasets/dataset.h"
#include "imaging/analysis.h"
#include "nn/trainer.h"

namespace app {

struct TrainingSettings {
  std::string model;      // --model as given: a preset name or a spec
  std::string spec;       // the spec the net is built from
  std::string data_spec;  // --data as given
  std::string out;        // the run directory
  int threads = 1;        // in force (recorded in config.json)
  nn::TrainConfig train;
  int analyze_every = 0;  // 0: never
  imaging::AnalysisSettings analysis;
};

struct TrainingCallbacks {
  // After config.json is written, before the first step.
  std::function<void(const nn::Network&)> on_start;
  // Installed in the trainer only when it has something to do (zero cost otherwise): progress bars,
  // the temporal imaging.
  nn::StepProbe step_probe;
  // After the epoch's checkpoints are written (test figures filled in), before its analysis.
  std::function<void(const nn::EpochStats&)> on_epoch;
  // After an epoch's analysis files are written.
  std::function<void(const imaging::AnalysisReport&)> on_analysis;
};

// Throws base::Error naming the flag of a setting that cannot work, before any data is read.
void validate(const TrainingSettings& settings);

void run_training(const TrainingSettings& settings, const datasets::DataSplit& data, const TrainingCallbacks& callbacks);

}  // namespace app
