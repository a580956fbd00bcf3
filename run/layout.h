// run/layout.h — where everything of a run directory lives: the one place that spells a path.
//
//   RUN/config.json                       every setting of the run (apps: train)
//   RUN/metrics.jsonl                     one JSON object per epoch
//   RUN/model.ckpt                        the last epoch's checkpoint
//   RUN/checkpoints/epoch_NNN.ckpt        one per epoch
//   RUN/checkpoints/epoch_NNN.state       the resumable training state after epoch NNN (the latest only)
//   RUN/checkpoints/epoch_NNN.step_SSSSSS.state   … after step SSSSSS of epoch NNN (a run stopped by a signal)
//   RUN/run.json                          the manifest: what state the directory is in (run/manifest.h)
//   RUN/analysis/epoch_NNN/{grid,zeta,tract,summary}.json    imaging of epoch NNN
//   RUN/figures/epoch_NNN/…, RUN/figures/evolution/…, RUN/figures/training.EXT
//   RUN/eeg/channels.json, RUN/eeg/epoch_NNN.npy, RUN/eeg/epoch_NNN.json   NN-EEG (train --eeg)
//   RUN/summary.json, RUN/report.html
// Epoch directories are named epoch_NNN: the epoch in at least three digits (epoch_007, epoch_1234),
// so that a listing sorts them in order up to epoch 999.  An analyze output directory holds the
// files of one analysis/epoch_NNN directory.
#pragma once
#include <optional>
#include <string>

namespace run {

std::string epoch_name(int epoch);                                  // 7 → "epoch_007"
std::optional<int> parse_epoch_name(const std::string& name);       // "epoch_<1–6 digits>" → epoch

// The files of one analysed epoch, inside its directory.
constexpr const char* kGridFile = "grid.json";
constexpr const char* kZetaFile = "zeta.json";
constexpr const char* kTractFile = "tract.json";
constexpr const char* kEpochSummaryFile = "summary.json";
constexpr const char* kEegEpochFile = "eeg.json";  // NN-EEG beside the maps (report/report_eeg.h)

struct Layout {
  explicit Layout(std::string run_dir) : dir(std::move(run_dir)) {}
  std::string dir;

  std::string config() const { return dir + "/config.json"; }
  std::string metrics() const { return dir + "/metrics.jsonl"; }
  std::string model() const { return dir + "/model.ckpt"; }
  std::string checkpoints() const { return dir + "/checkpoints"; }
  std::string checkpoint(int epoch) const { return checkpoints() + "/" + epoch_name(epoch) + ".ckpt"; }
  // step 0: after the whole epoch; otherwise after that step of it.
  std::string state(int epoch, long step = 0) const;
  std::string manifest() const { return dir + "/run.json"; }
  std::string analyses() const { return dir + "/analysis"; }
  std::string analysis(int epoch) const { return analyses() + "/" + epoch_name(epoch); }
  std::string eeg() const { return dir + "/eeg"; }
  std::string eeg_channels() const { return eeg() + "/channels.json"; }
  std::string eeg_rows(int epoch) const { return eeg() + "/" + epoch_name(epoch) + ".npy"; }
  std::string eeg_epoch(int epoch) const { return eeg() + "/" + epoch_name(epoch) + ".json"; }
  std::string summary() const { return dir + "/summary.json"; }
  std::string report_page() const { return dir + "/report.html"; }
  // A path under dir relative to dir ("checkpoints/epoch_001.ckpt"), as run.json lists them.
  std::string relative(const std::string& path) const { return path.substr(dir.size() + 1); }
  // Relative to dir, as summary.json lists them.
  static std::string figures() { return "figures"; }
  static std::string epoch_figures(int epoch) { return figures() + "/" + epoch_name(epoch); }
  static std::string evolution_figures() { return figures() + "/evolution"; }
};

}  // namespace run
