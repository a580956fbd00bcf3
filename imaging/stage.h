// imaging/stage.h — an imaging stage, and the registry the orchestrator (imaging/analysis.h) runs.
//
// Promise: a stage is a class implementing Stage, registered from its own .cpp file by one line,
//   NNFMRI_REGISTER_STAGE(GridStage, 10);
// (Caffe's REGISTER_LAYER_CLASS idea), so a new stage is new files plus that line.  The number is
// the stage's place in the fixed order in which stages run and report (grid 10, zeta 20, tract 30).
// For every analysed epoch the orchestrator makes a fresh instance of each stage that runs (the
// ones --stages names, and those that always_runs()), and calls, in that order of stages:
//   1. validate(settings)        its settings; an error names the flag or the setting
//   2. begin(input)              prepares; returns how many evaluation images (a prefix: images
//                                0 … n−1) it reads from the one streamed pass, 0 for none (a
//                                stage that runs its own forwards)
//   3. on_block, on_batch_end    during the pass, for every batch that starts inside its prefix
//                                (the batch may reach past it: the stage takes what it needs)
//   4. run(input)                after the pass: its document (everything after the common header
//                                model, epoch, dataset, eval_samples) and how many images it covers
//   5. summary(document)         its lines of the printed summary (analyze; train --verbose)
//   6. digest(document)          its part of the one-line digest `train` prints per analysed
//                                epoch: a few words ("coverage 0.91"), "" for none
// The orchestrator writes each document with run::write_json as the stage's file().
// The net is shared: a stage may run the net in on_batch_end or run() (the net's activations are
// then those of its own forward), so a stage reads the pass's activations in on_block only.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/analysis.h"
#include "imaging/eval_stream.h"
#include "imaging/net_view.h"
#include "nn/data.h"
#include "nn/network.h"

namespace imaging {

// What every stage reads.
struct StageInput {
  nn::Network& net;
  const NetView& view;
  const nn::LabeledImages& test;
  size_t images;  // the evaluation set: test images 0 … images−1
  const AnalysisSettings& settings;
  const ProgressCallback* progress = nullptr;  // run_analysis's (may be null or empty): a stage may report its steps
  bool write_images = true;  // AnalysisContext::write_images: the grid stage writes grid.json's "images" block
};

struct StageOutput {
  nlohmann::ordered_json document;  // its keys follow the common header (a key already there is replaced in place)
  size_t images = 0;                // the images the document describes: its "eval_samples"
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string name() const = 0;  // as --stages names it
  virtual std::string file() const = 0;  // its JSON in the epoch directory (run/layout.h)
  virtual bool always_runs() const { return false; }  // runs whatever --stages says
  virtual void validate(const AnalysisSettings& settings) const = 0;
  // Throws base::Error when the stage cannot image `net` (tract: a residual net); checked before any work.
  virtual void check_net(const nn::Network& /*net*/) const {}
  // Throws base::Error (naming the flag) when the stage's settings cannot run on `net` and the
  // evaluation images `test` (zeta: check_zeta_fits); checked before any work, after check_net.
  virtual void check_data(const nn::Network& /*net*/, const AnalysisSettings& /*settings*/,
                          const nn::LabeledImages& /*test*/) const {}
  // Its block of config.json's "analysis" settings, under its name; null for none.
  virtual nlohmann::ordered_json describe(const AnalysisSettings& settings) const = 0;
  virtual size_t begin(const StageInput& input) = 0;
  // Spread over ranks (settings.ranks with P > 1): true when the stage reads only the pass's batches
  // this rank owns (batch k = images k·batch …, owned by rank k mod P) and shares them itself in
  // run(); false (the default) when it needs every batch of its prefix on every rank.
  virtual bool reads_own_batches() const { return false; }
  virtual void on_block(const EvalBatch& /*batch*/, const nn::BlockView& /*block*/) {}
  virtual void on_batch_end(const EvalBatch& /*batch*/) {}
  virtual StageOutput run(const StageInput& input) = 0;
  virtual std::string summary(const nlohmann::ordered_json& document) const = 0;
  virtual std::string digest(const nlohmann::ordered_json& document) const = 0;
};

using StageFactory = std::unique_ptr<Stage> (*)();

// Adds a stage to the registry (at static initialisation, through NNFMRI_REGISTER_STAGE).
struct StageRegistration {
  StageRegistration(int position, StageFactory make);
};

#define NNFMRI_REGISTER_STAGE(Class, position)                                       \
  static const ::imaging::StageRegistration nnfmri_stage_registration_##Class(      \
      position, []() -> std::unique_ptr<::imaging::Stage> { return std::make_unique<Class>(); })

// A fresh instance of every registered stage, in their fixed order.
std::vector<std::unique_ptr<Stage>> make_stages();
// The registered stages' names in that order ("grid", "zeta", "tract"): what --stages accepts.
std::vector<std::string> stage_names();

}  // namespace imaging
