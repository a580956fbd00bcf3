// report/report_data.h — a run directory read into memory for the report.
//
// Promise: load_run(dir) reads dir/config.json, dir/metrics.jsonl and every dir/analysis/epoch_N/
// {grid,zeta,tract}.json (N any number of digits; epochs in numeric order) up to the epoch dir/run.json
// commits (RunSelection) — or, for the output
// directory of `nnfmri analyze` (dir/{grid,zeta,tract}.json and none of config.json, metrics.jsonl,
// analysis/), that one epoch, numbered as its files' header says.  Any of these may be
// missing — the run keeps a note saying which ("epoch 3: no zeta.json") and the report shows what
// is there — but a file that exists and is malformed throws ONE base::Error naming the file and the
// JSON pointer of the first wrong value (metrics.jsonl: the line number).  A run with none of the
// three kinds of input, or a directory that does not exist, is an error too.
//
// Every epoch holds every layer of the run, in the run's layer order (the order of grid.json, then
// layers only zeta.json or tract.json name, first appearance over the epochs); LayerImage::has_grid /
// has_zeta say what that epoch measured.  A layer's region grid comes from the newest grid.json that
// has it, or — with no grid.json at all — from the largest grid_i_j_k indices its keys use.
// Region vectors are in run::RegionGrid's order r = ((i−1)·GW + (j−1))·GC + (k−1).
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run/grid_schema.h"
#include "run/region_grid.h"

namespace report {

struct MetricsRow {
  int epoch = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  std::optional<double> learning_rate, seconds, train_images_per_s, analysis_seconds;
};


struct ZetaRegion {  // zeta.json
  double zeta = 0, ci_low = 0, ci_high = 0;
  bool significant = false;
  // shapley_low/high: φ's interval of the kind LayerImage::zeta_ci names (the one behind p_value).
  std::optional<double> shapley, shapley_low, shapley_high, p_value, robust_score, lesion, taylor;
};

// One imaged layer at one epoch.
struct LayerImage {
  std::string name;
  run::RegionGrid grid;            // when !shape_known, height/width/channels are the grid's own gh/gw/gc
  bool shape_known = false;   // the layer's H×W×C is known (from some grid.json)
  bool has_grid = false, has_zeta = false;
  std::vector<run::GridRegionStats> stats;  // (grid.count()) when has_grid
  double coverage = 0;
  std::vector<int> dead;          // region indices
  std::vector<ZetaRegion> zeta;   // (grid.count()) when has_zeta
  std::vector<int> critical;      // region indices, ζ descending (zeta.json's critical_regions)
  double critical_share = 0;
  std::string zeta_method;
  // zeta.json's "ci" ("sample" or "population": the interval behind significance), "eval_samples" (the
  // images φ averages over) and "stopped_by" (tolerance, budget, max_permutations, …); ""/0 when absent.
  std::string zeta_ci, zeta_stopped_by;
  long zeta_images = 0;
  // zeta.json's same_game_as: the later block whose lesion game this block plays, so its φ, intervals
  // and critical regions are that block's renamed (README "One game, two blocks"); empty: its own.
  std::string same_game_as;
  // grid.json's receptive_field: per row block / column block the input pixels [first, last + 1)
  // its units read; empty when the file has none.
  std::vector<std::array<int, 2>> rf_rows, rf_cols;
  // zeta.json errors (analyze --errors): per gallery image of EpochData::gallery, its row of per-image
  // φ_g(x) (grid.count() values), empty when the layer's estimate does not cover that image.
  std::vector<std::vector<double>> gallery_phi;
  // how many images of the sample the layer's per_image rows cover (the first K; fewer than the sample
  // after a --zeta-budget cut)
  size_t gallery_covered = 0;
  // zeta.json errors.per_class and errors.confusions: φ over the images of a class (predicted −1) or of
  // one confusion cell true → predicted.
  struct SubsetMap {
    int true_class = 0, predicted = -1;
    long images = 0;
    std::vector<double> phi;  // (grid.count())
  };
  std::vector<SubsetMap> class_maps, confusion_maps;
};

// One image of zeta.json's errors.gallery (analyze --errors; README, Error analysis).
struct GalleryImage {
  size_t slot = 0;             // position in the ζ sample
  std::string kind;            // "confident" | "mistake" | "cell" (a confusion cell's example)
  int label = 0, predicted = 0;
  double probability_true = 0;
  std::vector<uint8_t> pixels;  // (C, H, W) 0..255
};

struct RegionFlow {
  int from = 0, to = 0;  // region indices in the pair's from / to layer
  double value = 0;      // C_{A→B}
};

struct PairTract {  // tract.json pairs/<key>
  std::string key;
  int from = 0, to = 0;  // indices into RunData::layers
  bool shortcut = false;  // "kind": "shortcut" (a residual unit's skip edge); absent or "branch": false
  double connection_strength = 0, pathway_efficiency = 0;
  int connected_pairs = 0;
  std::vector<RegionFlow> flows;  // as listed (tract.json may list only the top ones)
};

struct RegionChain {  // tract.json network/chains[]
  std::vector<int> layers, regions;  // layer indices into RunData::layers, region indices in those layers
  double score = 0;
};

struct EpochData {
  int epoch = 0;
  std::string dir;  // the analysis/epoch_N directory
  bool has_grid = false, has_zeta = false, has_tract = false;
  std::vector<LayerImage> layers;  // (RunData::layers.size())
  std::vector<PairTract> pairs;
  std::vector<RegionChain> chains;
  double path_strength = 0;
  nlohmann::ordered_json grid_settings, zeta_settings, tract_settings;  // null when absent
  // analyze's files: the checkpoint imaged, {"path", "sha256"} (grid/zeta/tract.json name the same one);
  // null in a training run's epochs and in files written before analyze recorded it
  nlohmann::ordered_json checkpoint;
  int eval_samples = 0;  // grid.json's (else zeta's / tract's), 0 when unknown
  // zeta.json's errors.gallery and its image shape [C, H, W]; empty without --errors.
  std::vector<GalleryImage> gallery;
  int gallery_channels = 0, gallery_height = 0, gallery_width = 0;
  // zeta.json's errors.labels / errors.predicted: the intact net on the ζ sample; empty without --errors.
  std::vector<int> sample_labels, sample_predicted;
};

struct RunData {
  std::string dir;
  nlohmann::ordered_json config;  // null without config.json
  std::vector<MetricsRow> metrics;  // epoch ascending, one row per epoch (the last line wins)
  std::vector<std::string> layers;  // the run's layer order
  std::vector<EpochData> epochs;    // analysed epochs, ascending
  std::vector<std::string> notes;   // what is missing, one sentence each
  std::vector<std::string> class_names;  // config.data.classes (an analyze directory: dataset.classes); empty when unknown
  // The stages config.json's analysis.stages names (empty when unknown: every stage expected), and its
  // zeta_every (train --zeta-every; 1 without it): an analysed epoch that lacks a stage the run did not
  // ask for at that epoch gets no "missing" note.
  std::vector<std::string> configured_stages;
  int zeta_every = 1;
  bool expects_stage(const std::string& stage, int epoch) const;
  int class_count() const { return int(class_names.size()); }
  // An `analyze` output directory (grid/zeta/tract.json directly in dir): one epoch whose dir is
  // dir itself, no config or metrics; its files' common header gives the model and the data.
  bool single_analysis = false;
  // run.json's "files" when load_run read the run up to what run.json commits (RunSelection), else
  // nullopt: the other files of the run (eeg/) are read only where it lists them.
  std::optional<std::vector<std::string>> committed_files;
  nlohmann::ordered_json analysis_header;  // {"model", "dataset"} of such a directory, else null
  // The newest grid.json's "images" (imaging/grid_stage.cpp), checked: shape [C, H, W], mean (C·H·W
  // values 0–255 or null), examples [{index, label, pixels: C·H·W integers 0–255}]; null when no
  // epoch has one.
  nlohmann::ordered_json images;

  // The run directory's own name ("main" for runs/main, runs/main/ or runs/main/.; for "." the current
  // directory's): what the page and the figures call the run.
  std::string name() const;
  std::string model() const;    // config.model, else the analyze directory's model, else "unknown"
  std::string dataset() const;  // config.data.name (or .spec), else the analyze directory's, else "unknown"
  const MetricsRow* metrics_of(int epoch) const;  // nullptr when metrics.jsonl has no such line
};

// Which epochs load_run reads.  A run directory is read up to the epoch its run.json commits
// (run/manifest.h: completed_epoch): analysis/epoch_N with N ≤ it and the metrics rows of those
// epochs; later files, written before the manifest says so (an epoch a kill cut short during its
// imaging, or one `train` is still imaging), are not read.  A directory with run.json is always read
// as a run directory; one without it (a run of an older nnfmri, an analyze output) is read whole.
//  - uncommitted: read the epochs run.json does not commit yet too.  Only for the run's own writer,
//    which knows an epoch's files are complete before it commits them (`train`'s per-epoch digest).
//  - latest_with_zeta > 0: only the last that many analysed epochs whose directory holds zeta.json
//    (the training digest's ζ stability needs two, not the whole run).
struct RunSelection {
  bool uncommitted = false;
  size_t latest_with_zeta = 0;
};
RunData load_run(const std::string& dir, const RunSelection& selection = {});

// "grid_i_j_k" → 0-based (i0, j0, k0); false when the key is not of that form.
bool parse_region_key(const std::string& key, int& i0, int& j0, int& k0);

}  // namespace report
