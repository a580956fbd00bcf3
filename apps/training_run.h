// apps/training_run.h — one training run and the run directory it writes.
//
// Promise: run_training builds the net from the settings (spec, input normalisation from the
// training split, He initialisation from the seed), writes RUN/config.json, then for every epoch
// trains it (nn::Trainer), evaluates it on the test split, writes checkpoints/epoch_NNN.ckpt and
// the resumable checkpoints/epoch_NNN.state, images it when the epoch is a multiple of
// analyze_every (analysis/epoch_NNN/), rewrites metrics.jsonl and model.ckpt, and last rewrites the
// manifest run.json (run/manifest.h): a kill at any point leaves a directory at epoch k or k+1.
// Every path comes from run::Layout, every JSON goes through run/json.h, every file is written
// atomically.  It prints nothing: the caller hears of the run's progress through TrainingCallbacks.
//
// Same settings, seed and threads ⇒ the same bytes in every file but the timing fields of
// metrics.jsonl and the analysis files — also when the run was stopped (a signal, a kill) and
// resumed (RunStart::resume) any number of times.
//
// Errors (base::Error, one line): a directory another trainer holds (the run holds the directory's
// lock, base::DirectoryLock, from before it touches it to its end), a non-empty --out that is not
// this run's (unless overwrite or resume), a resume whose settings or data differ from config.json,
// and divergence: a non-finite
// train or test loss or accuracy stops the run naming the epoch and step; the directory keeps the
// last good epoch (model.ckpt, metrics.jsonl, run.json never see the bad one).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "imaging/analysis.h"
#include "imaging/eeg.h"
#include "imaging/eeg_inject.h"
#include "nn/trainer.h"

namespace app {

enum class RunStart {
  fresh,      // the directory must be new or empty
  overwrite,  // a directory holding a run: its files (run/manifest.h run_entries) are removed first
  resume,     // continue the run in the directory from the state its run.json names
};

struct TrainingSettings {
  std::string model;      // --model as given: a preset name or a spec
  std::string spec;       // the spec the net is built from
  std::string data_spec;  // --data as given
  std::string out;        // the run directory
  int threads = 1;        // in force (recorded in config.json and run.json)
  nn::TrainConfig train;
  int analyze_every = 0;  // 0: never
  int zeta_every = 1;     // --zeta-every: the zeta stage in the analysed epochs that are multiples of it
  imaging::AnalysisSettings analysis;
  int eeg_window = 0;     // --eeg-window with --eeg: the NN-EEG window W in steps; 0: no EEG
  std::vector<imaging::eeg::Injection> injections;  // --inject (syntax checked; resolved against the net)
  RunStart start = RunStart::fresh;
  std::vector<std::string> arguments;  // the flags that rebuild these settings, recorded in run.json
};

// The points of an epoch's commit, in order; a test hook may throw at any of them to act out a kill.
enum class RunPoint {
  checkpoint_written,  // checkpoints/epoch_NNN.ckpt
  state_written,       // checkpoints/epoch_NNN.state
  analysis_written,    // analysis/epoch_NNN/ (analysed epochs only)
  metrics_written,     // metrics.jsonl
  model_written,       // model.ckpt
  manifest_written,    // run.json: the epoch is committed (the previous state file is removed next)
};

struct TrainingCallbacks {
  // Before the first step, with where training starts (epoch 1 step 0, or the resumed position).
  std::function<void(const nn::Network&, const nn::TrainPosition&)> on_start;
  // Installed in the trainer only when it has something to do (zero cost otherwise): progress bars,
  // the temporal imaging.
  nn::StepProbe step_probe;
  // After the epoch's checkpoints are written (test figures filled in), before its analysis.
  std::function<void(const nn::EpochStats&)> on_epoch;
  // Every NN-EEG event as it is detected (train --eeg).
  std::function<void(const imaging::eeg::Event&)> on_eeg_event;
  // After an epoch's analysis files are written.
  std::function<void(const imaging::AnalysisReport&)> on_analysis;
  // While an epoch is imaged (may be empty): run_analysis's progress, with the epoch.
  std::function<void(int epoch, const imaging::AnalysisProgress&)> on_imaging_progress;
  // Asked after every step and after every committed epoch: true stops the run there with a
  // resumable state (a signal).
  std::function<bool()> stop_requested;
  // The ranks of an MPI job that share each batch's shards (README "Beyond one machine (MPI)"); null:
  // this process alone.  Only rank 0 writes the run directory and calls the other callbacks.
  nn::ShardGroup* group = nullptr;
  // Tests only: called at every point of an epoch's commit.
  std::function<void(RunPoint, int epoch)> at_point;
};

struct TrainingOutcome {
  bool complete = false;  // false: stopped by stop_requested
  int epoch = 0;          // where it stopped: after `step` steps of `epoch`
  long step = 0, steps_per_epoch = 0;
};

// Throws base::Error naming the flag when `dir` cannot be the run directory of `start`: --resume of
// anything but an existing directory, --out on something other than a directory.
void check_run_directory(const std::string& dir, RunStart start);

// Throws base::Error naming the flag of a setting that cannot work on `ranks` MPI ranks (a resume runs in
// one process), before any data is read.
void validate(const TrainingSettings& settings, int ranks);

// "RUN/run.json: /arguments:": where a resumed run's settings are, put in front of an error about one of
// them (with in_file_of, apps/commands.h) by `train --resume` and by run_training.
std::string recorded_settings_in(const std::string& run_dir);

TrainingOutcome run_training(const TrainingSettings& settings, const datasets::DataSplit& data,
                             const TrainingCallbacks& callbacks);

}  // namespace app
