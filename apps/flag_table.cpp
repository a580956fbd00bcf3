// apps/flag_table.cpp — every flag of `nnfmri`, defined once (see apps/flags.h).
//
// Defaults are read from the library's own settings structs (nn::TrainConfig,
// imaging::AnalysisSettings), so a default exists in exactly one place and the CLI cannot drift
// from it; the ranges and allowed values the library needs come from its constants and name lists.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "apps/commands.h"
#include "apps/flags.h"
#include "base/format.h"
#include "datasets/corrupt.h"
#include "imaging/analysis.h"
#include "imaging/monitor.h"
#include "imaging/eeg.h"
#include "imaging/stage.h"
#include "nn/trainer.h"
#include "report/canvas.h"  // kMaxFigureScale

namespace app {

namespace {

using base::shortest;  // the shortest text that reads back as the same float (base/format.h)

const double kHuge = double(1L << 30);  // a count no one means: the upper end of "any positive count"

FlagDef switch_flag(std::string name, std::string help, unsigned commands) {
  return {std::move(name), FlagKind::Switch, "", std::move(help), commands, "", "", 0, 0, false, {}, 0, "", false};
}
FlagDef text_flag(std::string name, std::string metavar, std::string help, unsigned commands, std::string fallback = "") {
  return {std::move(name), FlagKind::Text, std::move(metavar), std::move(help), commands, std::move(fallback), "",
          0, 0, false, {}, 0, "", false};
}
FlagDef integer_flag(std::string name, std::string metavar, std::string help, unsigned commands, long fallback,
                     double min, double max) {
  return {std::move(name), FlagKind::Integer, std::move(metavar), std::move(help), commands, std::to_string(fallback), "",
          min, max, false, {}, 0, "", false};
}
FlagDef real_flag(std::string name, std::string metavar, std::string help, unsigned commands, std::string fallback,
                  double min, double max) {
  return {std::move(name), FlagKind::Real, std::move(metavar), std::move(help), commands, std::move(fallback), "",
          min, max, false, {}, 0, "", false};
}
FlagDef choice_flag(std::string name, std::vector<std::string> choices, std::string help, unsigned commands,
                    std::string fallback, FlagKind kind = FlagKind::Choice) {
  std::string metavar;
  for (const auto& c : choices) metavar += (metavar.empty() ? "" : kind == FlagKind::List ? "," : "|") + c;
  return {std::move(name), kind, metavar, std::move(help), commands, std::move(fallback), "",
          0, 0, false, std::move(choices), 0, "", false};
}
FlagDef required(FlagDef d, unsigned commands, std::string unless = "") {
  d.required = commands;
  d.unless = std::move(unless);
  return d;
}
FlagDef nonempty(FlagDef d) {
  d.nonempty = true;
  return d;
}
FlagDef shown(FlagDef d, std::string shown_default) {  // how --help shows the default
  d.shown_default = std::move(shown_default);
  return d;
}
FlagDef computed(FlagDef d, std::string shown_default) {  // the command computes the default (has() first)
  d.default_value.clear();
  d.shown_default = std::move(shown_default);
  return d;
}
FlagDef comma_list(FlagDef d) {  // a Text flag of comma-separated values: refused given twice
  d.comma_list = true;
  return d;
}
FlagDef open_below(FlagDef d) {
  d.open_min = true;
  return d;
}
FlagDef open_above(FlagDef d) {
  d.open_max = true;
  return d;
}
FlagDef imaging_flag(FlagDef d) {  // sets the analyses: refused by train without --analyze-every (FlagDef::imaging)
  d.imaging = true;
  return d;
}

std::vector<FlagDef> make_table() {
  const nn::TrainConfig train;
  const imaging::AnalysisSettings analysis;
  const imaging::ZetaSettings& zeta = analysis.zeta;
  const imaging::TractSettings& tract = analysis.tract;
  const imaging::MonitorSettings monitor;
  const unsigned kData = kTrain | kEval | kAnalyze | kCorrupt | kProfile, kThreads = kTrain | kEval | kAnalyze | kProfile | kMonitor,
               kImaging = kTrain | kAnalyze;
  const unsigned kReadOptions = kData | kMonitor;  // how images:DIR is read, for --data and monitor's --input
  const std::string grid = std::to_string(analysis.grid.gh) + "x" + std::to_string(analysis.grid.gw) + "x" +
                           std::to_string(analysis.grid.gc);
  const std::vector<std::string> stage_names = imaging::stage_names();  // the registered stages (imaging/stage.h)
  std::string stages;
  for (const std::string& name : stage_names) stages += (stages.empty() ? "" : ",") + name;
  return {
      // Data and run directory
      required(text_flag("--data", "SPEC", "data set: cifar10[:DIR] | fashion-mnist[:DIR] | mnist:DIR | planted[:SEED[,cells=N][,moving][,unequal=X][,distractor[=D]][,background=DIR]] | images:DIR", kData),
               kData, "--resume"),
      text_flag("--resize", "HxW", "images:DIR: resize every image to H x W (else all must share the first one's size)", kReadOptions),
      open_below(open_above(real_flag("--split", "X", "images:DIR of class folders without train/ and test/: the test share of each class", kReadOptions, "0.2", 0, 1))),
      integer_flag("--split-seed", "N", "images:DIR: seed of that split", kReadOptions, 1, 0, double(1L << 62)),
      shown(integer_flag("--limit-train", "N", "use the first N training images only", kTrain | kCorrupt | kProfile, 0, 0, double(1L << 40)), "0: all"),
      shown(integer_flag("--limit-test", "N", "use the first N test images only", kTrain | kEval | kCorrupt | kMonitor, 0, 0, double(1L << 40)),
            "0: all"),
      nonempty(computed(text_flag("--out", "DIR", "run directory; must be new or empty unless --overwrite", kTrain),
                        "runs/<model>")),
      switch_flag("--overwrite", "replace the run in --out (its config, metrics, checkpoints, analyses, report)", kTrain),
      nonempty(text_flag("--resume", "RUN_DIR",
                         "continue the interrupted run in RUN_DIR from its last committed step, with its own settings",
                         kTrain)),
      nonempty(required(text_flag("--out", "DIR", "where the analysis files go", kAnalyze), kAnalyze)),
      computed(integer_flag("--threads", "N", "threads for OpenMP and OpenBLAS, at most " + std::to_string(kMaxThreads),
                            kThreads, 0, 1, double(1 << 20)),
               "all cores"),
      // Model and training
      text_flag("--model", "NAME|SPEC", "a preset (reference, bn, resnet20, resnet56) or a spec such as \"conv3x3:16 relu maxpool2 linear:10\"",
                kTrain, "reference"),
      integer_flag("--epochs", "N", "epochs", kTrain, train.epochs, 1, 100000),
      integer_flag("--batch", "N", "batch size", kTrain, train.batch, 1, 65536),
      integer_flag("--shards", "S",
                   "data-parallel shards of every batch, each its own forward/backward (batch-norm statistics per "
                   "shard), combined in shard order; at most --batch; under mpirun each rank takes shards round-robin "
                   "and the weights do not depend on the rank count (README Beyond one machine)",
                   kTrain, train.shards, 1, 4096),
      computed(real_flag("--lr", "X", "base learning rate", kTrain, "", 1e-12, 1e6),
            shortest(nn::default_learning_rate("sgd"), true) + " (sgd), " + shortest(nn::default_learning_rate("adam"), true) +
                " (adam)"),
      choice_flag("--optimizer", nn::optimizer_kinds(), "SGD with momentum, or Adam", kTrain, train.optim.kind),
      real_flag("--momentum", "X", "SGD momentum", kTrain, shortest(train.optim.momentum, true), 0, 0.9999),
      switch_flag("--nesterov", "Nesterov momentum", kTrain),
      real_flag("--weight-decay", "X", "L2 weight decay on every learnable tensor", kTrain,
                shortest(train.optim.weight_decay, true), 0, 1),
      choice_flag("--schedule", nn::schedule_kinds(), "learning-rate schedule, applied per iteration", kTrain,
                  train.schedule.kind),
      integer_flag("--step-size", "E", "epochs per decay for --schedule step", kTrain, train.schedule.step_size, 1, 100000),
      real_flag("--gamma", "X", "decay factor for --schedule step", kTrain, shortest(train.schedule.gamma, true), 0, 1),
      real_flag("--warmup", "E", "linear warm-up epochs for constant/step/cosine, at most --epochs", kTrain,
                shortest(train.schedule.warmup, true), 0, 100000),
      choice_flag("--output-init", {"zero", "he"},
                  "the output layer's initial weights: zero (logits start at 0, README Training) or He-normal",
                  kTrain, train.output_init),
      switch_flag("--no-augment", "no random crop / flip", kTrain),
      integer_flag("--seed", "N", "the seed of every random choice", kTrain, long(train.seed), 0, double(1L << 62)),
      shown(integer_flag("--analyze-every", "N", "image the net after every N-th epoch", kTrain, 0, 0, 100000), "0: never"),
      shown(integer_flag("--zeta-every", "N",
                         "the zeta stage in every N-th epoch only (a multiple of --analyze-every); the other analysed "
                         "epochs image grid and tract (README, Imaging: --zeta-every)",
                         kTrain, 1, 1, 100000),
            "1: every analysed epoch"),
      switch_flag("--eeg", "record NN-EEG: per-step channels, spectra, states and events in RUN/eeg/ (README NN-EEG)",
                  kTrain),
      integer_flag("--eeg-window", "W", "NN-EEG Welch segment and state window in steps (even; at most the run's steps)",
                   kTrain, imaging::eeg::kDefaultWindow, 4, imaging::eeg::kMaxWindow),
      comma_list(text_flag("--inject", "KIND@STEP[:DURATION[:PARAM]],...",
                           "deliberate faults for validating NN-EEG: lr, labels, lesion, noise, bias, dead (README NN-EEG)",
                           kTrain)),
      switch_flag("--verbose", "print every imaging stage's lines before an analysed epoch's line (else one line per epoch)", kTrain),
      // Imaging (train --analyze-every and analyze): imaging_flag marks the flags that set the analyses
      imaging_flag(text_flag("--grid", "GHxGWxGC", "region grid per layer", kImaging | kProfile | kEval, grid)),
      imaging_flag(real_flag("--lambda", "X", "weight of the log-variance term of the density", kImaging | kProfile,
                             shortest(analysis.lambda, false), -imaging::kMaxLambda, imaging::kMaxLambda)),
      imaging_flag(open_below(real_flag("--epsilon", "X", "variance floor inside the log", kImaging | kProfile,
                                        shortest(analysis.epsilon, false), 0, imaging::kMaxEpsilon))),
      imaging_flag(integer_flag("--eval-samples", "N", "first N test images imaged", kImaging, long(analysis.eval_samples),
                                double(imaging::kMinEvalSamples), kHuge)),
      imaging_flag(choice_flag("--stages", stage_names, "imaging stages (grid always runs)", kImaging, stages, FlagKind::List)),
      imaging_flag(choice_flag("--zeta-method", {"shapley", "exact", "lesion", "taylor"}, "impact estimator", kImaging, zeta.method)),
      imaging_flag(text_flag("--zeta-value", "logprob|accuracy|margin|confusion:A:B",
                             "value of a coalition (A, B class names or indices; README, Error analysis)", kImaging, zeta.value)),
      imaging_flag(choice_flag("--zeta-ablation", {"zero", "mean"}, "what a lesioned region is set to", kImaging, zeta.ablation)),
      imaging_flag(integer_flag("--zeta-samples", "N", "class-balanced images for the lesion game", kImaging, long(zeta.samples), 1, kHuge)),
      imaging_flag(shown(real_flag("--zeta-tol", "X", "95% CI half-width target of the sampled Shapley values (< 0: automatic)", kImaging,
                                   shortest(zeta.tolerance, false), -1, 1e9),
                         "0.05 max|phi|")),
      imaging_flag(open_below(real_flag("--zeta-budget", "SECONDS",
                                        "time for each layer's zeta work; unused time passes to the next layers", kImaging,
                                        shortest(zeta.budget_seconds, false), 0, 1e7))),
      imaging_flag(integer_flag("--zeta-seed", "N", "seed of the sample and the permutations", kImaging, long(zeta.seed), 0,
                                double(1L << 62))),
      imaging_flag(integer_flag("--zeta-max-permutations", "N",
                                "cap on permutations per image: with a large --zeta-budget, a reproducible stop", kImaging,
                                zeta.max_permutations, imaging::kMinPermutationsPerImage, kHuge)),
      imaging_flag(choice_flag("--zeta-ci", {"sample", "population"},
                               "interval behind significance: permutation noise on the sampled images only, or also the "
                               "image-to-image variation of phi (README, Two intervals)", kImaging, zeta.ci)),
      switch_flag("--errors", "also write error-analysis maps into zeta.json: per class, correct vs misclassified, "
                  "per confusion, per image (README, Error analysis)", kAnalyze),
      imaging_flag(integer_flag("--tract-samples", "N", "first N images for tractography", kImaging, long(tract.samples), 1, kHuge)),
      imaging_flag(shown(integer_flag("--tract-top", "N", "list only the N strongest flows per layer pair", kImaging, tract.top, 0, kHuge),
                         "0: all")),
      // Command-specific
      integer_flag("--batch", "N", "evaluation batch", kEval | kProfile | kMonitor, 256, 1, 65536),
      nonempty(text_flag("--dump", "OUT.npz", "also write `input` (normalised), `logits` and `labels` (float32 class indices) of the evaluated images",
                         kEval)),
      comma_list(nonempty(text_flag("--lesion", "BLOCK:PATTERN[,PATTERN...]",
                                    "lesion these regions of a block (keys grid_i_j_k of --grid, * a wildcard) and print "
                                    "accuracy and the confusion matrix before and after (README, Error analysis)", kEval))),
      choice_flag("--lesion-ablation", {"zero", "mean"},
                  "what a lesioned unit is set to: 0, or its mean over the evaluated images", kEval, "zero"),
      nonempty(text_flag("--lesion-json", "FILE",
                         "also write the lesion's effect (accuracy, per class, confusion matrices before/after) as JSON "
                         "(README, Error analysis)", kEval)),
      nonempty(text_flag("--npz", "OUT.npz", "weights named as a PyTorch state_dict (+ OUT.model.json)", kExport)),
      nonempty(text_flag("--safetensors", "OUT.safetensors", "weights as F32 safetensors, the architecture in its metadata", kExport)),
      nonempty(required(text_flag("--out", "CKPT", "the checkpoint to write", kImport), kImport)),
      text_flag("--model", "SPEC", "the architecture (a preset or a spec); default: what the file says", kImport),
      text_flag("--input", "CxHxW", "input shape; default: what the file says, else 3x32x32", kImport),
      comma_list(text_flag("--norm", "MEAN:STD",
                           "input normalisation per channel, x = (pixel/255 - mean) / std; default: what the file says, else 0:1",
                           kImport)),
      comma_list(text_flag("--classes", "NAME,...", "class names; default: what the file says, else 0 ... K-1", kImport)),
      switch_flag("--ignore-extra", "skip tensors the spec does not use (else an error)", kImport),
      required(choice_flag("--kind", datasets::corruption_names(), "the corruption (README, Monitoring)", kCorrupt, ""), kCorrupt),
      integer_flag("--severity", "N", "severity of the corruption (CIFAR-10-C's parameters)", kCorrupt, 3, 1,
                   datasets::kMaxSeverity),
      integer_flag("--seed", "N", "seed of the noise and of the squares' positions", kCorrupt, 1, 0, double(1L << 62)),
      nonempty(required(text_flag("--out", "DIR", "where the corrupted CIFAR-10 files and corruption.json go", kCorrupt),
                        kCorrupt)),
      nonempty(required(text_flag("--out", "FILE", "the profile to write", kProfile), kProfile)),
      integer_flag("--quantiles", "Q", "sketch points per region (quantiles at j/(Q-1))", kProfile, monitor.quantiles, 5, 1001),
      integer_flag("--knn-k", "K", "k of the KNN score", kProfile, monitor.knn_k, 1, 1 << 20),
      integer_flag("--knn-images", "N", "fit images whose normalised features are kept for KNN", kProfile,
                   monitor.knn_images, 1, 1 << 20),
      integer_flag("--spatial-bank", "B", "fit images whose region maps are kept for the spatial_knn score (0: no spatial_knn)",
                   kProfile, monitor.spatial_bank, 0, 1 << 20),
      text_flag("--zeta", "FILE", "zeta.json of this checkpoint: weights of the spatial_zeta score (README \"Monitoring\")",
                kProfile),
      nonempty(required(text_flag("--profile", "FILE", "the profile made by `nnfmri profile` for this checkpoint", kMonitor),
                        kMonitor)),
      nonempty(required(text_flag("--input", "SPEC", "the images to monitor: the test images of a --data SPEC (cifar10:DIR, images:DIR, ...), or every image, unlabelled, of an images:DIR of images alone (no class folders)",
                                  kMonitor), kMonitor)),
      integer_flag("--window", "N", "images per drift test", kMonitor, 100, 2, 1 << 20),
      open_below(open_above(real_flag("--alpha", "X", "alarm when a region's Benjamini-Hochberg adjusted p is below X",
                                      kMonitor, "0.01", 0, 1))),
      nonempty(required(text_flag("--out", "DIR", "where monitor.jsonl and monitor.html go", kMonitor), kMonitor)),
      switch_flag("--figures-only", "write summaries and figures, not report.html", kReport),
      choice_flag("--format", {"png", "svg"}, "figure format", kReport | kCompare, "png"),
      integer_flag("--scale", "N", "figure pixels per layout unit: 2 doubles every PNG's width and height (SVG: its size)", kReport | kCompare,
                   1, 1, report::kMaxFigureScale),
      nonempty(required(text_flag("--out", "DIR", "where compare.json and the comparison's figures go (created when missing)", kCompare),
                        kCompare)),
      computed(integer_flag("--epoch", "N", "the analysed epoch compared (an analyze directory: its one epoch, whatever N)", kCompare, 0, 1,
                            1e9),
               "the newest every run has zeta.json for"),
      nonempty(text_flag("--host", "ADDRESS", "address to listen on; one beyond loopback opens the runs to the network (said loudly)",
                         kServe, "127.0.0.1")),
      integer_flag("--port", "P", "TCP port (0: a free one, printed)", kServe, 6006, 0, 65535),
      integer_flag("--threads", "N", "HTTP worker threads", kServe, 8, 1, 64),
      switch_flag("--help", "this list", kEveryCommand),
  };
}

}  // namespace

const std::vector<FlagDef>& flag_table() {
  static const std::vector<FlagDef> table = make_table();
  return table;
}

const std::vector<CommandDef>& command_table() {
  static const std::vector<CommandDef> commands = {
      {kTrain, "train", "", "train a network, write a run directory (config, metrics, checkpoints, analyses)", cmd_train},
      {kEval, "eval", "CKPT", "evaluate a checkpoint on a data set", cmd_eval},
      {kInfo, "info", "CKPT", "describe a checkpoint", cmd_info},
      {kExport, "export", "CKPT", "write a checkpoint's weights as .npz + .model.json or as safetensors (for PyTorch)", cmd_export},
      {kImport, "import", "FILE", "make a checkpoint from a safetensors file (PyTorch) or an exported .npz + .model.json", cmd_import},
      {kAnalyze, "analyze", "CKPT", "image a checkpoint: region grid statistics, zeta-scores, tractography", cmd_analyze},
      {kCorrupt, "corrupt", "", "write a CIFAR-10-C style corrupted copy of a data set (noise, blur, contrast, occlusion)", cmd_corrupt},
      {kProfile, "profile", "CKPT", "fit the monitor's profile of clean data (region statistics, Mahalanobis, KNN)", cmd_profile},
      {kMonitor, "monitor", "CKPT", "score a stream of images against a profile: per-image scores, window drift, monitor.html", cmd_monitor},
      {kReport, "report", "RUN_DIR", "summaries, figures and an interactive report.html of a run directory or of analyze's --out", cmd_report},
      {kCompare, "compare", "A B [C D E]", "figures and numbers comparing runs A and B (up to five): zeta maps, A - X differences, curves",
       cmd_compare},
      {kServe, "serve", "ROOT", "a local dashboard of the run directories under ROOT that follows them while they train", cmd_serve},
  };
  return commands;
}

}  // namespace app
