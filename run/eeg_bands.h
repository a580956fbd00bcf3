// run/eeg_bands.h — the NN-EEG band names as eeg/epoch_NNN.json and analysis/epoch_N/eeg.json spell
// them, in order (README "NN-EEG"): the writer (imaging/eeg) and the reader (report/report_eeg) share them.
#pragma once
#include <array>

namespace run {

constexpr int kEegBands = 5;
constexpr std::array<const char*, kEegBands> kEegBandNames = {"delta", "theta", "alpha", "beta", "gamma"};

}  // namespace run
