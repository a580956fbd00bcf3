// apps/commands.h — the subcommands of `nnfmri`, and what they share.
//
// apps/ only parses flags and wires nn/, datasets/ and imaging/ together.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/flags.h"
#include "apps/training_run.h"
#include "datasets/dataset.h"
#include "imaging/analysis.h"
#include "nn/network.h"

namespace app {

int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_analyze(int argc, char** argv);
int cmd_report(int argc, char** argv);

extern const char* const kVersion;

// --threads N (all cores when not given) for OpenMP and OpenBLAS alike (one owner of threads);
// returns the count in force.
int set_threads(const Flags& flags);
// The dataset named by --data, limited by --limit-train / --limit-test where the command takes them.
datasets::DataSplit load_data(const Flags& flags, bool need_train);
// {"spec", "name", "files": [{"path", "sha256"}], "train_images", "test_images", "classes"}
nlohmann::ordered_json describe_data(const std::string& spec, const datasets::DataSplit& data);
// Throws base::Error unless the net takes the data's images and has an output per class.
void check_net_fits(const nn::Network& net, const datasets::Dataset& d, const std::string& what);

// The settings of `train` from its flags (the spec of --model resolved, --out defaulted).
TrainingSettings training_settings(const Flags& flags, int threads);

// The imaging flags shared by `train --analyze-every` and `analyze`.
imaging::AnalysisSettings analysis_settings(const Flags& flags);

}  // namespace app
