#include "apps/training_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <cblas.h>

#include "apps/commands.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"
#include "base/memory.h"
#include "imaging/stage.h"
#include "nn/checkpoint.h"
#include "base/npz.h"
#include "run/json.h"
#include "run/layout.h"
#include "run/manifest.h"

namespace app {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool probe_has_work(const nn::StepProbe& p) {
  return p.forward || p.after_step || p.gradient_norms || p.update_ratios;
}

// Float settings and statistics as the double of their shortest text (base::decimal): config.json
// shows "lr": 0.02, not 0.019999999552965164, and reads back as the same floats.
std::vector<double> decimals(const std::vector<float>& values) {
  std::vector<double> out;
  for (float v : values) out.push_back(base::decimal(v));
  return out;
}

run::Json config_json(const TrainingSettings& s, const nn::Network& net, const run::Json& data_json) {
  const nn::TrainConfig& cfg = s.train;
  return {{"version", kVersion},
          {"command", "train"},
          {"model", s.model},
          {"spec", s.spec},
          {"parameters", net.parameter_count()},
          {"data", data_json},
          {"normalization", {{"mean", decimals(net.input_mean)}, {"std", decimals(net.input_std)}}},
          {"epochs", cfg.epochs},
          {"batch", cfg.batch},
          {"seed", cfg.seed},
          {"output_init", cfg.output_init},
          {"threads", s.threads},
          {"blas", {{"config", openblas_get_config()}, {"core", openblas_get_corename()}}},
          {"optimizer",
           {{"kind", cfg.optim.kind}, {"lr", base::decimal(cfg.optim.lr)}, {"momentum", base::decimal(cfg.optim.momentum)},
            {"nesterov", cfg.optim.nesterov}, {"weight_decay", base::decimal(cfg.optim.weight_decay)}}},
          {"schedule",
           {{"kind", cfg.schedule.kind}, {"step_size", cfg.schedule.step_size}, {"gamma", base::decimal(cfg.schedule.gamma)},
            {"warmup_epochs", base::decimal(cfg.schedule.warmup)}}},
          {"augment",
           {{"enabled", cfg.augment.enabled}, {"crop_padding", cfg.augment.crop_padding}, {"flip", cfg.augment.flip}}},
          {"analyze_every", s.analyze_every},
          {"analysis", imaging::describe(s.analysis)}};
}

// Only a run with --zeta-every > 1 has the key (config.json of every other run is unchanged).
void add_zeta_every_config(run::Json& config, const TrainingSettings& s) {
  if (s.zeta_every > 1) config["zeta_every"] = s.zeta_every;
}

// Only a run with --shards > 1 has the key (config.json of every other run is unchanged).
void add_shards_config(run::Json& config, const TrainingSettings& s) {
  if (s.train.shards > 1) config["shards"] = s.train.shards;
}

// Only a run with --eeg or --inject has these keys: config.json of every other run is unchanged.
void add_eeg_config(run::Json& config, const TrainingSettings& s) {
  if (s.eeg_window > 0)
    config["eeg"] = {{"window", s.eeg_window},
                     {"history", imaging::eeg::kHistory},
                     {"refresh", imaging::eeg::kRefresh},
                     {"threshold", imaging::eeg::kThreshold}};
  if (!s.injections.empty()) config["inject"] = imaging::eeg::injections_json(s.injections);
}

// metrics.jsonl's line of an epoch.
run::Json metrics_line(const nn::EpochStats& st) {
  return {{"epoch", st.epoch},
          {"train_loss", st.train_loss},
          {"train_acc", st.train_acc},
          {"test_loss", st.test_loss},
          {"test_acc", st.test_acc},
          {"learning_rate", st.learning_rate},
          {"seconds", st.seconds},
          {"train_seconds", st.train_seconds},
          {"train_images_per_s", st.train_images_per_s}};
}

}  // namespace

void check_run_directory(const std::string& dir, RunStart start) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(dir, ec);
  const bool exists = std::filesystem::exists(status), directory = std::filesystem::is_directory(status);
  if (start == RunStart::resume && !directory)
    throw base::Error("flag --resume " + dir + ": " + (exists ? "not a directory" : "does not exist") +
                      ", expected a run directory (the --out of nnfmri train)");
  if (start != RunStart::resume) base::require_directory_or_missing("--out", dir, "a new, empty or run directory");
}

void validate(const TrainingSettings& s, int ranks) {
  check_run_directory(s.out, s.start);
  if (ranks > 1 && s.start == RunStart::resume)
    throw base::Error("--resume " + s.out + ": not with " + std::to_string(ranks) +
                      " ranks; resume with one process (the same --shards gives the same weights)");
  nn::validate(s.train.optim);
  nn::validate(s.train.schedule);
  if (s.train.output_init != "zero" && s.train.output_init != "he")
    throw base::Error("--output-init '" + s.train.output_init + "': expected zero or he");
  if (s.analyze_every > 0) imaging::validate_analysis_settings(s.analysis);
  // --zeta-every thins the zeta stage among the analysed epochs: it must name analysed epochs, and a
  // zeta stage (the flag without --analyze-every is refused with the other imaging flags).
  if (s.zeta_every > 1 && s.analyze_every > 0) {
    if (s.zeta_every % s.analyze_every != 0)
      throw base::Error("flag --zeta-every " + std::to_string(s.zeta_every) + ": expected a multiple of --analyze-every (" +
                        std::to_string(s.analyze_every) + ")");
    if (!imaging::runs_stage(s.analysis, "zeta"))
      throw base::Error("flag --zeta-every " + std::to_string(s.zeta_every) +
                        ": the zeta stage is not among --stages (add it, or leave --zeta-every out)");
  }
  // (before the shards' checks: on several ranks the trainer's "give more --shards" led to this
  // refusal of --shards > 1, and back)
  if (ranks > 1 && s.eeg_window > 0)
    throw base::Error("--eeg: not with " + std::to_string(ranks) + " MPI ranks (NN-EEG records the forward of whole "
                      "batches in one process; run train --eeg without mpirun)");
  if (s.train.shards > 1 && s.eeg_window > 0)
    throw base::Error("--eeg: not available with --shards " + std::to_string(s.train.shards) +
                      " (NN-EEG records the forward of whole batches; use --shards 1)");
}

namespace {

// The run directory: preparing it, restoring it for a resume, and committing epochs to it.
class RunDirectory {
 public:
  RunDirectory(const TrainingSettings& s, const TrainingCallbacks& callbacks) : s_(s), layout_(s.out), cb_(callbacks) {}

  const run::Layout& layout() const { return layout_; }

  // A fresh or overwritten run: refuses a directory holding anything but a run being overwritten,
  // then writes config.json and the first manifest.
  // A failure before run.json is written (a full disk at config.json or run.json) removes what this
  // start made — config.json, and the folders it created while they are empty — so that the same
  // command runs again as it would have the first time: a directory left with config.json and
  // checkpoints/ would be refused by --resume (no run.json) and by a rerun as "another run",
  // --overwrite alone clearing it.
  void create(const run::Json& config) {
    base::NewDirectories new_dir(layout_.dir);
    lock();
    const std::vector<std::string> names = run::directory_entries(layout_.dir);
    if (!names.empty()) {
      const bool is_run = base::file_exists(layout_.config()) || base::file_exists(layout_.manifest()) ||
                          base::file_exists(layout_.checkpoints());
      if (!is_run)
        throw base::Error("--out " + layout_.dir + ": not empty and not a run directory (it holds '" + names[0] +
                          "'); choose a new or empty directory");
      if (s_.start != RunStart::overwrite && !base::file_exists(layout_.manifest()))
        throw base::Error("--out " + layout_.dir + ": holds the start of a run that has no run.json (" + start_files() +
                          "), nothing to resume; give --overwrite to replace it");
      if (s_.start != RunStart::overwrite)
        throw base::Error("--out " + layout_.dir + ": holds another run (" + describe_run() + "); give --resume " +
                          layout_.dir + " to continue it or --overwrite to replace it");
      run::clear_run(layout_);
    }
    base::NewDirectories new_checkpoints(layout_.checkpoints());
    try {
      run::write_json(layout_.config(), config, 2);
      manifest_.epochs = s_.train.epochs;
      manifest_.threads = s_.threads;
      manifest_.arguments = s_.arguments;
      manifest_.files = {layout_.relative(layout_.config())};
      run::write_manifest(layout_, manifest_);
    } catch (...) {
      run::remove_file(layout_.config());
      throw;
    }
    new_checkpoints.keep();
    new_dir.keep();
  }

  // A resumed run: checks run.json, that the settings and data rebuild config.json byte for byte, and
  // what it keeps (the committed metrics lines, the last committed checkpoint, the state, loaded);
  // only then removes what an interruption left beyond the manifest's state.  Returns the metrics
  // lines of the committed epochs and sets `position` where training continues.
  std::string restore(const run::Json& config, nn::Network& net, nn::Trainer& trainer, nn::TrainPosition& position) {
    lock();
    const std::optional<run::Manifest> m = run::read_manifest(layout_);
    if (!m)
      throw base::Error(layout_.manifest() + ": missing, so " + layout_.dir +
                        " is not a run nnfmri can resume (start it again with --overwrite)");
    manifest_ = *m;
    // The settings and data first: when they changed (a batch file removed, another --batch), that is
    // what the refusal names, not the state's step that no longer fits the epoch's steps.  A complete
    // run is said to be complete whatever the flags.
    if (manifest_.status != "complete") check_config(config);
    check_manifest(trainer.steps_per_epoch());
    if (manifest_.status == "complete") {
      // A kill between the last commit and the removal of the previous state leaves that state behind:
      // removed here, since a complete run is never resumed.
      const int removed = remove_leftovers();
      throw base::Error("flag --resume " + layout_.dir + ": the run is complete (" + std::to_string(manifest_.completed_epoch) + " of " +
                        std::to_string(manifest_.epochs) + " epochs); there is nothing to resume" +
                        (removed ? " (removed " + std::to_string(removed) + " file(s) a kill had left beyond run.json)" : ""));
    }
    // What the resume keeps is read and checked before anything is removed or written: the committed
    // epochs' metrics lines, the last committed checkpoint (model.ckpt is rewritten from it) and the state.
    std::string text, metrics, model;
    if (manifest_.completed_epoch > 0) {
      text = base::read_file(layout_.metrics());
      metrics = committed_metrics(text);
      model = committed_checkpoint(net);
    }
    position = nn::TrainPosition{};
    if (!manifest_.state_file.empty()) {
      position = nn::load_training_state(layout_.dir + "/" + manifest_.state_file, net, trainer.optimizer(), s_.train.seed);
      if (position.epoch != manifest_.state_epoch || position.step != manifest_.state_step)
        throw base::Error(layout_.dir + "/" + manifest_.state_file + ": stands at epoch " +
                          std::to_string(position.epoch) + " step " + std::to_string(position.step) + ", " +
                          layout_.manifest() + " says epoch " + std::to_string(manifest_.state_epoch) + " step " +
                          std::to_string(manifest_.state_step));
      if (position.step == trainer.steps_per_epoch()) position = nn::TrainPosition{position.epoch + 1};
    }
    // The directories the next epoch writes in, writable now rather than after the epoch's training.
    for (const std::string& dir : {layout_.dir, layout_.checkpoints(), layout_.analyses(), layout_.eeg()})
      if (dir == layout_.dir || base::file_exists(dir)) base::check_writable(dir);
    remove_leftovers();
    // metrics.jsonl and model.ckpt as they were when the manifest was written.
    if (manifest_.completed_epoch > 0) {
      if (metrics != text) base::write_file_atomic(layout_.metrics(), metrics);
      if (!base::file_exists(layout_.model()) || base::read_file(layout_.model()) != model)
        base::write_file_atomic(layout_.model(), model);
    } else {
      run::remove_file(layout_.metrics());
      run::remove_file(layout_.model());
    }
    manifest_.status = "running";
    return metrics;
  }

  // Epoch `position.epoch` is on disk (its checkpoint, state, analysis, metrics and model.ckpt):
  // the manifest says so, then the previous state file goes.
  void commit_epoch(const nn::TrainPosition& position, const std::vector<std::string>& written) {
    const std::string previous_state = manifest_.state_file;
    manifest_.completed_epoch = position.epoch;
    manifest_.status = position.epoch == manifest_.epochs ? "complete" : "running";
    set_state(layout_.state(position.epoch), position);
    for (const std::string& path : written) add_file(layout_.relative(path));
    std::sort(manifest_.files.begin(), manifest_.files.end());
    run::write_manifest(layout_, manifest_);
    point(RunPoint::manifest_written, position.epoch);
    remove_state(previous_state);
  }

  // Stopped after a step inside an epoch: its resumable state, then the manifest.
  // `written`: other files of the partial epoch (its EEG rows so far).
  void commit_interruption(nn::Network& net, nn::Trainer& trainer, const nn::TrainPosition& position,
                           const std::vector<std::string>& written) {
    const std::string previous_state = manifest_.state_file;
    const std::string state = layout_.state(position.epoch, position.step);
    nn::save_training_state(state, net, trainer.optimizer(), position, s_.train.seed);
    manifest_.status = "interrupted";
    set_state(state, position);
    for (const std::string& path : written) add_file(layout_.relative(path));
    std::sort(manifest_.files.begin(), manifest_.files.end());
    run::write_manifest(layout_, manifest_);
    remove_state(previous_state);
  }

  void interrupted_at_epoch_end() {
    manifest_.status = "interrupted";
    run::write_manifest(layout_, manifest_);
  }

  // Removes what an interruption left beyond the manifest: the *.tmp.<pid> files of train's own
  // writes, checkpoints/ and eeg/ files it does not list, analysis/ of epochs after the committed one.
  // Returns how many entries.  The temporaries of report's files (figures/, summary.json,
  // report.html, analysis/epoch_NNN/summary.json and eeg.json) stay: report takes no lock and may be
  // writing them now (removing them made that report fail with "rename failed").
  int remove_leftovers() const {
    int removed = 0;
    for (const std::string& path : {layout_.config(), layout_.metrics(), layout_.model(), layout_.manifest(),
                                    layout_.dir + "/" + base::kWriteCheckName, layout_.analyses() + "/" + base::kWriteCheckName})
      removed += base::remove_stale_temporaries(path);
    for (const std::string& dir : {layout_.checkpoints(), layout_.eeg()})
      for (const std::string& name : run::directory_entries(dir)) {
        const std::string path = dir + "/" + name;
        if (!listed(layout_.relative(path))) run::remove_path(path), ++removed;
      }
    for (const std::string& name : run::directory_entries(layout_.analyses())) {
      const std::optional<int> epoch = run::parse_epoch_name(name);
      if (epoch && *epoch > manifest_.completed_epoch) run::remove_path(layout_.analyses() + "/" + name), ++removed;
    }
    return removed;
  }

  void point(RunPoint p, int epoch) const {
    if (cb_.at_point) cb_.at_point(p, epoch);
  }

 private:
  // One trainer per run directory: the directory's lock (base::DirectoryLock), taken before anything
  // in it is read for the run, removed or written, and held until the run ends.
  void lock() {
    lock_.emplace(layout_.dir, directory_in_use(s_.start == RunStart::resume ? "--resume" : "--out", layout_.dir));
  }
  bool listed(const std::string& relative) const {
    return std::find(manifest_.files.begin(), manifest_.files.end(), relative) != manifest_.files.end();
  }
  void add_file(const std::string& relative) {
    if (!listed(relative)) manifest_.files.push_back(relative);
  }
  void set_state(const std::string& path, const nn::TrainPosition& position) {
    const auto listed_state = std::find(manifest_.files.begin(), manifest_.files.end(), manifest_.state_file);
    if (listed_state != manifest_.files.end()) manifest_.files.erase(listed_state);
    manifest_.state_file = layout_.relative(path);
    manifest_.state_epoch = position.epoch;
    manifest_.state_step = position.step;
    add_file(manifest_.state_file);
  }
  void remove_state(const std::string& relative) {
    if (!relative.empty() && relative != manifest_.state_file) run::remove_path(layout_.dir + "/" + relative);
  }
  std::string describe_run() const {
    try {
      if (std::optional<run::Manifest> m = run::read_manifest(layout_))
        return std::to_string(m->completed_epoch) + " of " + std::to_string(m->epochs) + " epochs done";
    } catch (const base::Error&) {
    }
    return "its run.json cannot be read";
  }
  // What a start stopped before run.json left (a kill, or an older nnfmri on a full disk).
  std::string start_files() const {
    std::string files;
    for (const std::string& name : {std::string("config.json"), std::string("checkpoints/")})
      if (base::file_exists(layout_.dir + "/" + name)) files += (files.empty() ? "" : ", ") + name;
    return files;
  }
  // run.json must say what the writer would have written for this run, before anything is removed on
  // its word: the epochs of its arguments, "complete" exactly at the last epoch, and a state that
  // continues completed_epoch k (the end of epoch k, or a step within epoch k+1; none only before
  // epoch 1 is committed).
  void check_manifest(long steps) const {
    const run::Manifest& m = manifest_;
    auto refuse = [&](const std::string& pointer, const std::string& problem) {
      throw base::Error(layout_.manifest() + ": " + pointer + ": " + problem);
    };
    const std::string k = std::to_string(m.completed_epoch), next = std::to_string(m.completed_epoch + 1);
    if (m.epochs != s_.train.epochs)
      refuse("/epochs", std::to_string(m.epochs) + ", but its arguments make --epochs " +
                            std::to_string(s_.train.epochs));
    if ((m.status == "complete") != (m.completed_epoch == m.epochs))
      refuse("/status", "\"" + m.status + "\" with completed_epoch " + k + " of " + std::to_string(m.epochs) +
                            " epochs, expected " + (m.status == "complete" ? "running or interrupted" : "complete"));
    if (m.state_file.empty()) {
      if (m.completed_epoch > 0) refuse("/state", "null, expected the state of epoch " + k + " (completed_epoch)");
    } else if (m.state_epoch == m.completed_epoch) {
      if (m.state_step != steps)
        refuse("/state/step", std::to_string(m.state_step) + ", expected " + std::to_string(steps) +
                                  " (the end of epoch " + k + ", completed_epoch)");
    } else if (m.state_epoch == m.completed_epoch + 1) {
      if (m.state_step >= steps)
        refuse("/state/step", std::to_string(m.state_step) + ", expected 1 to " + std::to_string(steps - 1) +
                                  " (a step within epoch " + next + ", after completed_epoch " + k + ")");
    } else {
      refuse("/state/epoch", std::to_string(m.state_epoch) + ", expected " + k + " (completed_epoch) or " + next +
                                 " (within the next epoch)");
    }
    // The state by the one name the run gives it (never a path elsewhere), and listed among its files.
    if (m.state_file.empty()) return;
    const std::string name =
        layout_.relative(layout_.state(m.state_epoch, m.state_epoch == m.completed_epoch ? 0 : m.state_step));
    if (m.state_file != name)
      refuse("/state/file", "'" + m.state_file + "', expected '" + name + "' (the state of epoch " +
                                std::to_string(m.state_epoch) + ", step " + std::to_string(m.state_step) + ")");
    if (!listed(name)) refuse("/files", "does not list the state file '" + name + "'");
  }
  // The first completed_epoch lines of metrics.jsonl's `text`, each the line of epochs 1, 2, … in order.
  std::string committed_metrics(const std::string& text) const {
    size_t end = 0;
    for (int epoch = 1; epoch <= manifest_.completed_epoch; ++epoch, ++end) {
      const size_t start = end;
      end = text.find('\n', start);
      if (end == std::string::npos)
        throw base::Error(layout_.metrics() + ": has fewer than the " + std::to_string(manifest_.completed_epoch) +
                          " lines " + layout_.manifest() + " says it has");
      const std::string where = layout_.metrics() + ":" + std::to_string(epoch);
      const run::Json line = run::parse_json(text.substr(start, end - start), where);
      const run::Node row(line, where);
      if (row["epoch"].integer(1, 1000000) != epoch)
        row["epoch"].reject(std::to_string(row["epoch"].integer(1, 1000000)) + ", expected " + std::to_string(epoch) +
                            " (the committed epochs 1 to " + std::to_string(manifest_.completed_epoch) + " in order)");
      for (const char* figure : {"train_loss", "train_acc", "test_loss", "test_acc"}) row[figure].number();
    }
    return text.substr(0, end);
  }
  // The bytes of the last committed checkpoint, once loaded (framing, CRC, every tensor) and found to be
  // that epoch of this run's net, trained with this run's seed (a checkpoint without one, written
  // before 2026-12-03, is taken as it is).
  std::string committed_checkpoint(const nn::Network& net) const {
    const std::string path = layout_.checkpoint(manifest_.completed_epoch);
    const nn::Checkpoint ck = nn::load_checkpoint(path);
    if (ck.meta.contains("seed") && ck.meta["seed"] != s_.train.seed)
      throw base::Error(path + ": trained with seed " + ck.meta["seed"].dump() + ", not this run's seed " +
                        std::to_string(s_.train.seed) + " (another run's checkpoint; resuming would not continue this run)");
    if (ck.epoch != manifest_.completed_epoch || ck.net->spec() != net.spec() || ck.net->input_mean != net.input_mean ||
        ck.net->input_std != net.input_std)
      throw base::Error(path + ": holds epoch " + std::to_string(ck.epoch) + " of the net '" + ck.net->spec() +
                        "', expected epoch " + std::to_string(manifest_.completed_epoch) + " of this run's net '" +
                        net.spec() + "' with its input normalisation");
    return base::read_file(path, base::kMaxCheckpointBytes);
  }
  // config.json must be what these settings and this data write (spec, data files and their
  // SHA-256, every setting, threads, BLAS kernels): otherwise the rest of the run would not be the
  // run it continues.
  // The one field exempt is data.absolute_spec, where the data lay when the run started: a run and its
  // data moved together (or resumed from another folder through a relative --data) still resume; the
  // stored file keeps the first value.
  void check_config(const run::Json& fresh) const {
    const std::string text = base::read_file(layout_.config());
    const run::Json stored = run::parse_json(text, layout_.config());
    run::Json config = fresh;
    if (config.contains("data") && config["data"].contains("absolute_spec") && stored.contains("data") &&
        stored["data"].is_object() && stored["data"].contains("absolute_spec"))
      config["data"]["absolute_spec"] = stored["data"]["absolute_spec"];
    if (text == run::json_text(config, 2) + "\n") return;
    std::string differs = "its text";
    for (auto it = config.begin(); it != config.end(); ++it)
      if (!stored.contains(it.key()) || stored[it.key()] != it.value()) {
        differs = "\"" + it.key() + "\"";
        break;
      }
    throw base::Error(layout_.config() + ": " + differs +
                      " differs from what the resumed run would write (the data files, the settings, the thread "
                      "count or the BLAS kernels changed); resuming would not continue the same run");
  }

  const TrainingSettings& s_;
  const run::Layout layout_;
  const TrainingCallbacks& cb_;
  std::optional<base::DirectoryLock> lock_;
  run::Manifest manifest_;
};

// A non-finite training or test figure: divergence, named by epoch and step.
void check_finite(const nn::EpochStats& st, long steps_per_epoch) {
  const std::pair<const char*, double> figures[] = {{"train loss", st.train_loss},
                                                    {"train accuracy", st.train_acc},
                                                    {"test loss", st.test_loss},
                                                    {"test accuracy", st.test_acc}};
  for (const auto& [name, value] : figures)
    if (!std::isfinite(value))
      throw base::Error("training diverged: the " + std::string(name) + " is " +
                        base::shortest(value, false) +
                        " after epoch " + std::to_string(st.epoch) + ", step " + std::to_string(steps_per_epoch) +
                        " (its last); the run directory keeps epoch " + std::to_string(st.epoch - 1) +
                        " (try a lower --lr)");
}

// The NN-EEG side of a run (train --eeg): the recorder, its files in RUN/eeg/, and the probe that
// combines it with the caller's.
class EegRun {
 public:
  EegRun(const TrainingSettings& s, const nn::Network& net, const run::Layout& layout, long steps_per_epoch,
         size_t train_images)
      : layout_(layout),
        steps_(steps_per_epoch),
        recorder_(net, s.analysis.grid, s.eeg_window, steps_per_epoch, train_images % size_t(s.train.batch) != 0,
                  // η(t) of the trainer's own schedule (no injected fault): the change rule scores
                  // update_ratio / η (README "NN-EEG", "Schedule-driven channels")
                  [schedule = nn::Schedule(s.train.schedule, s.train.optim.lr, steps_per_epoch,
                                           steps_per_epoch * s.train.epochs)](long step) {
                    return schedule.rate(step - 1);
                  }) {
    const long total = long(s.train.epochs) * steps_per_epoch;
    if (s.eeg_window > total)
      throw base::Error("flag --eeg-window " + std::to_string(s.eeg_window) + ": longer than the run's " +
                        base::counted(total, "step") + " (" + base::counted(s.train.epochs, "epoch") + " of " +
                        base::counted(steps_per_epoch, "step") + ")");
  }

  // channels.json, and for a resumed run the rows before `from`, replayed.
  void begin(const nn::TrainPosition& from) {
    base::make_directories(layout_.eeg());
    run::Json names = run::Json::array();
    for (const imaging::eeg::ChannelInfo& ch : recorder_.channels())
      names.push_back({{"name", ch.name()}, {"block", ch.block}, {"region", ch.region}, {"channel", ch.channel}});
    run::write_json(layout_.eeg_channels(),
                    {{"format", "nnfmri eeg channels"}, {"version", 1}, {"rows", "one per SGD step, float32"},
                     {"columns", recorder_.channels().size()}, {"channels", names}},
                    1);
    const long epoch_first = long(from.epoch - 1) * steps_ + 1;
    const long first = std::max(1L, epoch_first - long(recorder_.kept_rows()) - imaging::eeg::kHistory -
                                        2 * imaging::eeg::kRefresh);
    std::vector<float> rows;
    const size_t columns = recorder_.channels().size();
    for (int e = int((first - 1) / steps_) + 1; e <= from.epoch; ++e) {
      const long expected = e < from.epoch ? steps_ : from.step;
      if (expected == 0) continue;
      const base::Npy2D file = base::read_npy_2d(layout_.eeg_rows(e), size_t(steps_) * columns);
      // the stopped epoch's file may hold more rows (a kill after its end, before its commit): the
      // first `expected` are the same rows
      if (file.rows < expected || (e < from.epoch && file.rows != expected) || size_t(file.cols) != columns)
        throw base::Error(layout_.eeg_rows(e) + ": holds " + std::to_string(file.rows) + "x" + std::to_string(file.cols) +
                          " values, expected " + std::to_string(expected) + "x" + std::to_string(columns) +
                          " (steps x channels)");
      const long file_first = long(e - 1) * steps_ + 1, skip = std::max(0L, first - file_first);
      rows.insert(rows.end(), file.data.begin() + long(size_t(skip) * columns),
                  file.data.begin() + long(size_t(expected) * columns));
    }
    recorder_.replay(rows, first, from.epoch, epoch_first);
  }

  nn::StepProbe probe(const nn::StepProbe& caller, std::function<void(const imaging::eeg::Event&)> on_event) {
    nn::StepProbe mine = recorder_.probe(std::move(on_event));
    if (caller.forward) {
      mine.forward = [a = mine.forward, b = caller.forward](const nn::BlockView& v) { a(v), b(v); };
      mine.reads.z = mine.reads.z || caller.reads.z;
    }
    if (caller.after_step)
      mine.after_step = [a = mine.after_step, b = caller.after_step](const nn::StepInfo& i) { a(i), b(i); };
    return mine;
  }

  // The finished epoch's rows and analysis; the recorder moves on to the next epoch.
  std::vector<std::string> write_epoch(int epoch) {
    std::vector<std::string> written = write_rows(epoch);
    run::write_json(layout_.eeg_epoch(epoch), recorder_.analyse_epoch(), 1);
    written.push_back(layout_.eeg_epoch(epoch));
    recorder_.start_epoch(epoch + 1, long(epoch) * steps_ + 1);
    return written;
  }

  // The rows of an epoch stopped inside (read back by begin() on resume).
  std::vector<std::string> write_rows(int epoch) const {
    const int columns = int(recorder_.channels().size());
    const base::NpyArray array{"", {int(recorder_.epoch_rows().size() / size_t(columns)), columns},
                             recorder_.epoch_rows().data()};
    base::write_npy(layout_.eeg_rows(epoch), array);
    return {layout_.eeg_channels(), layout_.eeg_rows(epoch)};
  }

 private:
  const run::Layout& layout_;
  long steps_;
  imaging::eeg::Recorder recorder_;
};

// A rank other than 0 of an MPI job: its shards of every step and nothing else (no files, no
// evaluation, no callbacks but the stop request; the caller has installed the --inject faults);
// asks `any` where rank 0 does, so every rank stops after the same step.
TrainingOutcome train_as_worker(const TrainingSettings& s, nn::Trainer& trainer, nn::ShardGroup& group,
                                const TrainingCallbacks& callbacks) {
  const long steps = trainer.steps_per_epoch();
  auto stop_requested = [&] { return callbacks.stop_requested && callbacks.stop_requested(); };
  for (nn::TrainPosition position; position.epoch <= s.train.epochs; position = nn::TrainPosition{position.epoch + 1}) {
    if (!trainer.train(position, nullptr, stop_requested)) return {false, position.epoch, position.step, steps};
    if (position.epoch < s.train.epochs && group.any(stop_requested())) return {false, position.epoch, steps, steps};
  }
  return {true, s.train.epochs, steps, steps};
}

}  // namespace

std::string recorded_settings_in(const std::string& run_dir) { return run::Layout(run_dir).manifest() + ": /arguments:"; }

TrainingOutcome run_training(const TrainingSettings& s, const datasets::DataSplit& data,
                             const TrainingCallbacks& callbacks) {
  nn::ShardGroup alone;
  nn::ShardGroup& group = callbacks.group ? *callbacks.group : alone;
  validate(s, group.ranks());
  // a spec that does not build is --model's (import names it so too): "flag --model: spec token 'res(': …",
  // a resumed run's in its run.json, as apps/cmd_train.cpp names the other recorded settings
  std::unique_ptr<nn::Network> built;
  in_file_of((s.start == RunStart::resume ? recorded_settings_in(s.out) + " " : "") + "flag --model:",
             [&] { built = std::make_unique<nn::Network>(s.spec, data.train.channels, data.train.height, data.train.width); });
  nn::Network& net = *built;
  check_net_fits(net, data.train, "--model " + s.model);
  check_batch_fits(net, s.train.batch, data.train.size(), true);
  if (s.analyze_every > 0) imaging::check_analysis_fits(net, s.analysis, data.test.view());
  // NN-EEG's regions and --inject's lesions are cells of the same --grid: named as --analyze-every's are
  if (s.eeg_window > 0 || !s.injections.empty()) imaging::check_grid_fits(net, s.analysis.grid);
  datasets::channel_mean_std(data.train, net.input_mean, net.input_std);
  for (float& sd : net.input_std)
    if (!(sd > 1e-6f)) sd = 1.f;  // a constant channel: centre it, do not divide by zero
  net.init(s.train.seed, s.train.output_init == "he" ? nn::OutputInit::he : nn::OutputInit::zero);
  nn::Trainer trainer(net, s.train, data.train.view(), &group);
  const long steps = trainer.steps_per_epoch();
  const run::Json data_json = describe_data(s.data_spec, data);
  run::Json config = config_json(s, net, data_json);
  add_shards_config(config, s);
  add_zeta_every_config(config, s);
  add_eeg_config(config, s);
  if (group.ranks() > 1) {
    // Every rank agrees with rank 0 on config.json as rank 0 writes it (data by content, not path;
    // threads and BLAS kernels may differ per rank) and the steps per epoch: ranks that read other
    // data or flags would train other weights, or wait forever for a step the others never take.
    run::Json fingerprint = config;
    fingerprint.erase("threads");
    fingerprint.erase("blas");
    fingerprint["data"] = data_identity(data_json, data);
    fingerprint["steps_per_epoch"] = steps;
    agree_with_rank0(group, fingerprint);
  }
  // The faults of --inject act on every rank's step (the batch, the block edits of its shards, the
  // learning rate of its optimiser step): the same on every rank, so the weights stay the plain run's.
  std::vector<imaging::eeg::Injection> injections = s.injections;
  imaging::eeg::resolve(injections, net, s.analysis.grid, long(s.train.epochs) * steps);
  const nn::StepIntervention intervention =
      imaging::eeg::make_intervention(injections, net, s.analysis.grid, s.train.seed);
  if (!injections.empty()) trainer.set_intervention(&intervention);
  if (group.rank() != 0) return train_as_worker(s, trainer, group, callbacks);

  RunDirectory directory(s, callbacks);
  const run::Layout& layout = directory.layout();
  std::unique_ptr<EegRun> eeg;
  if (s.eeg_window > 0) eeg = std::make_unique<EegRun>(s, net, layout, steps, data.train.size());
  nn::TrainPosition position;
  std::string metrics;
  if (s.start == RunStart::resume)
    metrics = directory.restore(config, net, trainer, position);
  else
    directory.create(config);
  if (callbacks.on_start) callbacks.on_start(net, position);

  nn::StepProbe eeg_probe;
  if (eeg) {
    eeg->begin(position);
    eeg_probe = eeg->probe(callbacks.step_probe, callbacks.on_eeg_event);
  }
  const nn::StepProbe* probe = eeg ? &eeg_probe : probe_has_work(callbacks.step_probe) ? &callbacks.step_probe : nullptr;
  // The analysed epochs that --zeta-every leaves without the zeta stage run the others.
  const imaging::AnalysisSettings without_zeta = imaging::without_stage(s.analysis, "zeta");
  const nlohmann::json meta = {{"data", data_json}, {"spec", s.spec}, {"model", s.model}, {"seed", s.train.seed}};
  auto stop_requested = [&] { return callbacks.stop_requested && callbacks.stop_requested(); };
  for (; position.epoch <= s.train.epochs; position = nn::TrainPosition{position.epoch + 1}) {
    const int epoch = position.epoch;
    // The heap's free pages go back before the epoch's training (glibc's malloc_trim): what the last
    // epoch's end left free in the heap — its analysis's small blocks, the metrics, model.ckpt and
    // manifest writes — would otherwise stay resident under this epoch's training buffers (README
    // "Performance (issue 13)"; bench/README.md, mem13e).  No arithmetic changes.
    base::return_free_memory();
    const auto start = std::chrono::steady_clock::now();
    if (!trainer.train(position, probe, stop_requested)) {
      directory.commit_interruption(net, trainer, position, eeg ? eeg->write_rows(epoch) : std::vector<std::string>());
      return {false, epoch, position.step, steps};
    }
    nn::EpochStats st = trainer.stats(position);
    const nn::Evaluation test = nn::evaluate(net, data.test.view());
    st.test_loss = test.loss;
    st.test_acc = test.accuracy;
    st.seconds = seconds_since(start);
    check_finite(st, steps);
    std::vector<std::string> written = {layout.checkpoint(epoch), layout.metrics(), layout.model()};
    nn::save_checkpoint(layout.checkpoint(epoch), net, epoch, data.train.class_names, meta);
    directory.point(RunPoint::checkpoint_written, epoch);
    nn::save_training_state(layout.state(epoch), net, trainer.optimizer(), position, s.train.seed);
    directory.point(RunPoint::state_written, epoch);
    if (eeg)
      for (const std::string& file : eeg->write_epoch(epoch)) written.push_back(file);
    if (callbacks.on_epoch) callbacks.on_epoch(st);
    run::Json line = metrics_line(st);
    if (s.analyze_every > 0 && epoch % s.analyze_every == 0) {
      // grid.json's "images" block in the run's first analysed epoch only (by its number, so that a
      // resumed run writes the same files as an uninterrupted one)
      const imaging::AnalysisContext context{s.model, epoch, data_json, epoch == s.analyze_every};
      const imaging::AnalysisReport report =
          imaging::run_analysis(net, data.test.view(), epoch % s.zeta_every == 0 ? s.analysis : without_zeta, context,
                                layout.analysis(epoch),
                                [&](const imaging::AnalysisProgress& p) {
                                  if (callbacks.on_imaging_progress) callbacks.on_imaging_progress(epoch, p);
                                });
      // The stage files it wrote, not whatever the folder holds: a file another process put there (a
      // report of the run this one --overwrote, writing analysis/epoch_N/summary.json late) would
      // otherwise be listed in run.json as this epoch's, and served as committed.
      for (const auto& stage : imaging::make_stages())
        if (report.stage(stage->name())) written.push_back(layout.analysis(epoch) + "/" + stage->file());
      directory.point(RunPoint::analysis_written, epoch);
      if (callbacks.on_analysis) callbacks.on_analysis(report);
      line["analysis_seconds"] = report.seconds();
    }
    run::require_finite(line, layout.metrics());
    metrics += run::json_text(line, -1) + "\n";
    base::write_file_atomic(layout.metrics(), metrics);
    directory.point(RunPoint::metrics_written, epoch);
    nn::save_checkpoint(layout.model(), net, epoch, data.train.class_names, meta);
    directory.point(RunPoint::model_written, epoch);
    directory.commit_epoch(position, written);
    if (epoch < s.train.epochs && group.any(stop_requested())) {
      directory.interrupted_at_epoch_end();
      return {false, epoch, steps, steps};
    }
  }
  return {true, s.train.epochs, steps, steps};
}

}  // namespace app
