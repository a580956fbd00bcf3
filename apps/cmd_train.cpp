// nnfmri train — flags → TrainingSettings → run_training (apps/training_run.h), which writes the
// run directory; this file only reads the flags and prints the run's progress.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <cblas.h>

#include "apps/commands.h"
#include "apps/training_run.h"
#include "base/error.h"
#include "dist/world.h"
#include "base/format.h"
#include "report/report_data.h"
#include "report/report_summary.h"
#include "run/manifest.h"

namespace app {

namespace {

// A progress line on a terminal, redrawn in place: images/s, ETA, running loss.  `seconds` and
// `images` are counted from the end of the epoch's first step.
void draw_progress(int epochs, const nn::StepInfo& step, double seconds, long images) {
  const int width = 24;
  int filled = int(width * step.step / step.steps_per_epoch);
  double rate = images / std::max(seconds, 1e-9);
  double eta = (step.steps_per_epoch - step.step) * (seconds / std::max(step.step - 1, 1L));
  std::fprintf(stderr, "\repoch %d/%d [%s%s] %ld/%ld  loss %.4f  %.0f img/s  ETA %.0fs   ", step.epoch, epochs,
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), step.step,
               step.steps_per_epoch, step.running_loss, rate, eta);
  if (step.step == step.steps_per_epoch) std::fprintf(stderr, "\r%*s\r", 100, "");
}

// The report's ζ stability (report/report_summary.h: the Spearman rank correlation of each layer's
// region ζ with the previous analysed epoch's, averaged over the layers) of `epoch`, read back from
// the run directory as the report reads it (the last two epochs with ζ only, so that an epoch's
// digest does not re-read the whole run); "n/a" on the first analysed epoch, or when no layer
// has a correlation (or a previous analysis cannot be read: the report will say why).
std::string zeta_stability_text(const std::string& run_dir, int epoch) {
  try {
    for (const report::StabilityStep& step : report::zeta_stability(report::load_run(run_dir, {true, 2})))
      if (step.to_epoch == epoch && step.mean) return base::format("%.2f", *step.mean);
  } catch (const base::Error&) {
  }
  return "n/a";
}

}  // namespace

TrainingSettings training_settings(const Flags& flags, int threads, bool recorded) {
  TrainingSettings s;
  s.threads = threads;
  nn::TrainConfig& cfg = s.train;
  cfg.epochs = int(flags.integer("--epochs"));
  cfg.batch = int(flags.integer("--batch"));
  cfg.shards = int(flags.integer("--shards"));
  cfg.seed = uint64_t(flags.integer("--seed"));
  cfg.optim.kind = flags.text("--optimizer");
  cfg.optim.lr = flags.has("--lr") ? float(flags.real("--lr")) : nn::default_learning_rate(cfg.optim.kind);
  cfg.optim.momentum = float(flags.real("--momentum"));
  cfg.optim.nesterov = flags.has("--nesterov");
  cfg.optim.weight_decay = float(flags.real("--weight-decay"));
  cfg.schedule.kind = flags.text("--schedule");
  cfg.schedule.step_size = int(flags.integer("--step-size"));
  cfg.schedule.gamma = float(flags.real("--gamma"));
  cfg.schedule.warmup = float(flags.real("--warmup"));
  // A flag of another optimiser or schedule than the one trained would be ignored without a word.
  struct Applies { const char* flag; const char* to; bool used; };
  for (const Applies& a : {Applies{"--momentum", "--optimizer sgd", cfg.optim.kind == "sgd"},
                           Applies{"--step-size", "--schedule step", cfg.schedule.kind == "step"},
                           Applies{"--gamma", "--schedule step", cfg.schedule.kind == "step"}})
    if (flags.has(a.flag) && !a.used)
      throw base::Error(std::string("flag ") + a.flag + ": applies to " + a.to + " only, not to --optimizer " + cfg.optim.kind +
                        " --schedule " + cfg.schedule.kind);
  // --warmup scales constant/step/cosine; onecycle rises from lr/25 on its own (nn/optim.h).  A run recorded
  // with both (run.json files written before 2026-12-03, which took them without a word) still resumes: the
  // --warmup is ignored there.
  if (flags.has("--warmup") && cfg.schedule.kind == "onecycle" && !recorded)
    throw base::Error("flag --warmup: applies to --schedule constant, step or cosine only, not to --schedule onecycle "
                      "(its rise from lr/25 over the first 30% of the steps is its warm-up)");
  if (cfg.schedule.warmup > cfg.epochs)
    throw base::Error("flag --warmup '" + flags.text("--warmup") + "': expected at most --epochs (" +
                      std::to_string(cfg.epochs) + ")");
  cfg.output_init = flags.text("--output-init");
  cfg.augment.enabled = !flags.has("--no-augment");
  s.analyze_every = int(flags.integer("--analyze-every"));
  s.zeta_every = int(flags.integer("--zeta-every"));
  if (flags.has("--eeg")) {
    s.eeg_window = int(flags.integer("--eeg-window"));
    if (s.eeg_window % 2 != 0)
      throw base::Error("flag --eeg-window " + std::to_string(s.eeg_window) + ": expected an even number of steps");
  } else if (flags.has("--eeg-window")) {
    throw base::Error("flag --eeg-window: only with --eeg");
  }
  if (flags.has("--inject")) s.injections = imaging::eeg::parse_injections(flags.text("--inject"));
  s.analysis = analysis_settings(flags);
  // The imaging flags (FlagDef::imaging in the flag table) set the analyses of --analyze-every N (and
  // --grid also NN-EEG's regions): without any, one given is refused rather than ignored (a resumed
  // run's recorded flags excepted: see commands.h).
  if (s.analyze_every == 0 && !recorded)
    for (const FlagDef& d : flag_table())
      if (d.imaging && flags.has(d.name) && !(d.name == "--grid" && (flags.has("--eeg") || flags.has("--inject"))))
        throw base::Error("flag " + d.name + ": applies to the imaging of --analyze-every N only" +
                          (d.name == "--grid" ? " (or the regions of --eeg / --inject)" : "") +
                          ", and this train images no epoch (--analyze-every 0)");
  // (train's own, so not an imaging flag of the table, which marks those of train and analyze)
  if (s.analyze_every == 0 && !recorded && flags.has("--zeta-every"))
    throw base::Error("flag --zeta-every: applies to the imaging of --analyze-every N only, and this train images no "
                      "epoch (--analyze-every 0)");

  s.model = flags.text("--model");
  s.spec = nn::Network::preset(s.model);
  if (s.spec.empty()) {
    if (s.model.find(':') == std::string::npos && s.model.find(' ') == std::string::npos)
      throw base::Error("flag --model '" + s.model +
                        "': expected a preset (reference, bn, resnet20, resnet56) or a spec such as \"conv3x3:16 relu maxpool2 linear:10\"");
    s.spec = s.model;
  }
  s.data_spec = flags.text("--data");
  s.out = flags.has("--out") ? flags.text("--out") : "runs/" + (s.spec == s.model ? std::string("custom") : s.model);
  return s;
}

namespace {

// SIGINT/SIGTERM: the first asks the run to stop after the current step (it then writes a
// resumable state and exits 128 + signal); a second exits at once, with one line saying so, and
// 128 + that second signal.  Every file is written atomically and run.json last, so the directory
// stays resumable either way once run.json is written.
// The handlers may run at once on two threads (a process-directed signal goes to any thread, and
// OpenMP's are many): the exchange gives exactly one of them the first signal.  The first's note is
// written before the second's line: the second waits (at most a second) until note_written says so.
// On one thread they cannot nest: each handler blocks both signals (sa_mask), so the second runs after
// the first has returned.  (Without that wait a second signal on another thread could write its line
// between the first's exchange and its note, leaving "stopping after the current step" last.)
std::atomic<int> stop_signal{0}, note_written{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");
// The first signal's note is printed by a process alone, not by the ranks of an MPI job: the SIGTERM
// with which Open MPI ends the job (a rank's error and MPI_Abort, or rank 0's exit 128 + signal) would
// print a note of a stop nobody asked for beside the error line.  Rank 0 names the signal at the end.
volatile std::sig_atomic_t announce_stop = 1;
// Whether the run directory holds this run's run.json (set once it does: a resumed run's from the
// start), the first signal's note and the second signal's line for each signal (SIGINT, SIGTERM)
// before and after that, built before the handlers are installed (a handler may only write() them);
// each begins with a newline only on a terminal (ending the progress line), not in a log file.
// The strings live on the heap and are never freed: exit() after the first signal runs the destructors
// of globals, and a second signal may arrive while it does; were they freed, its handler would read freed
// memory (under ASan the report then deadlocks with LeakSanitizer's exit-time check, and the suite's
// two-signal test hangs).
volatile std::sig_atomic_t run_resumable = 0;
std::string* const stopping_note = new std::string;
std::string (*const stopped_at_once)[2] = new std::string[2][2];

extern "C" void on_stop_signal(int sig) {
  if (stop_signal.exchange(sig) != 0) {
    if (announce_stop) {
      for (int i = 0; i < 1000 && note_written.load() == 0; ++i) poll(nullptr, 0, 1);  // 1 ms (async-signal-safe)
      const std::string& line = stopped_at_once[sig == SIGTERM][run_resumable ? 1 : 0];
      const ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
      (void)ignored;
    }
    _exit(128 + sig);
  }
  if (announce_stop) {
    const ssize_t ignored = write(STDERR_FILENO, stopping_note->data(), stopping_note->size());
    (void)ignored;
  }
  note_written.store(1);
}

void install_stop_handlers(bool announce, const std::string& dir, bool resumable) {
  announce_stop = announce ? 1 : 0;
  run_resumable = resumable ? 1 : 0;
  const std::string start = isatty(STDERR_FILENO) ? "\n" : "";
  *stopping_note = start + "nnfmri train: stopping after the current step (a second signal stops at once)\n";
  for (const int sig : {SIGINT, SIGTERM}) {
    const std::string stopped = start + "nnfmri train: stopped at once by a second signal (" +
                                (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ")";
    stopped_at_once[sig == SIGTERM][0] = stopped + " before its first step; nothing to resume: run the command again (with --overwrite if " + dir + " is not empty)\n";
    stopped_at_once[sig == SIGTERM][1] = stopped + "; resume with: nnfmri train --resume " + dir +
                                         " (from the last epoch or step its run.json names)\n";
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Flags parsed from stored arguments (a resumed run's run.json).
std::unique_ptr<Flags> parse_arguments(Command command, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return std::make_unique<Flags>(command, int(argv.size()), argv.data());
}

// The flags as given, but those that say where and how to start rather than what to train (a run
// resumes wherever its directory is) and --verbose (the console only): recorded in run.json.
std::vector<std::string> run_arguments(const Flags& flags) {
  std::vector<std::string> kept;
  for (const std::string& a : flags.given()) {
    const std::string name = a.substr(0, a.find('='));
    if (name != "--out" && name != "--overwrite" && name != "--threads" && name != "--resume" && name != "--verbose")
      kept.push_back(a);
  }
  return kept;
}

}  // namespace

int cmd_train(int argc, char** argv) {
  const Flags flags(kTrain, argc, argv);
  if (flags.help()) {
    agree_to_end_early("nnfmri train --help");  // under mpirun (commands.h)
    return std::fputs(flags.usage().c_str(), stdout), 0;
  }
  // A resumed run takes every setting from its run.json: the flags that made it are parsed again.
  std::unique_ptr<Flags> recorded;
  int threads = 0;
  if (flags.has("--resume")) {
    for (const std::string& a : flags.given())
      if (a.rfind("--resume=", 0) != 0 && a != "--verbose")
        throw base::Error("flag " + a.substr(0, a.find('=')) +
                          ": not taken with --resume (a resumed run keeps the settings and threads in its run.json)");
    const run::Layout layout(flags.text("--resume"));
    check_run_directory(layout.dir, RunStart::resume);
    const std::optional<run::Manifest> manifest = run::read_manifest(layout);
    if (!manifest)
      throw base::Error("flag --resume " + layout.dir + ": " + layout.manifest() +
                        " is missing, so it is not a run nnfmri can resume (train writes run.json as soon as it "
                        "has prepared the directory, before the first step: a run stopped before that has nothing "
                        "to resume; start it again with its flags and --overwrite)");
    in_file_of(recorded_settings_in(layout.dir), [&] { recorded = parse_arguments(kTrain, manifest->arguments); });
    threads = set_threads(*recorded, manifest->threads);
  } else {
    threads = set_threads(flags);
  }
  const Flags& run_flags = recorded ? *recorded : flags;
  // A resumed run's error below the flag layer says where its setting came from: `where` in front.
  const auto from_run = [&](const std::string& where, const std::function<void()>& step) {
    if (recorded) in_file_of(where, step);
    else step();
  };
  // a recorded setting parsed here (--grid, --inject, --model …) is named where it is, as the flag layer's are
  TrainingSettings settings;
  from_run(recorded ? recorded_settings_in(flags.text("--resume")) : "",
           [&] { settings = training_settings(run_flags, threads, recorded != nullptr); });
  settings.arguments = run_arguments(run_flags);
  if (recorded) {
    settings.out = flags.text("--resume");
    settings.start = RunStart::resume;
  } else if (flags.has("--overwrite")) {
    settings.start = RunStart::overwrite;
  }
  validate(settings, dist::world().ranks());  // before the data is read
  // a resumed run's data is its run.json's --data: the line names --resume, the flag given
  datasets::DataSplit data;
  from_run("flag --resume " + settings.out + ": the run's", [&] { data = load_data(run_flags, true); });
  // A new run is never written into its data (a resumed one is where it was).
  if (!recorded) refuse_output_in_data("--out", settings.out, {&data.train, &data.test}, "--data", "train writes no run into its data");
  settings.analysis.zeta.value = imaging::resolve_value_classes(settings.analysis.zeta.value, data.train.class_names);

  TrainingCallbacks callbacks;
  callbacks.on_start = [&](const nn::Network& net, const nn::TrainPosition& from) {
    run_resumable = 1;  // run.json is written (or, resumed, was already)
    const char* wait = std::getenv("OMP_WAIT_POLICY");  // as libgomp read it (apps/main.cpp sets it)
    std::printf("nnfmri train: %s (%zu parameters) on %s: %zu train / %zu test images, epochs %d, batch %d, threads %d "
                "(OpenMP wait policy %s), OpenBLAS %s kernels\n",
                settings.model.c_str(), net.parameter_count(), data.train.name.c_str(), data.train.size(),
                data.test.size(), settings.train.epochs, settings.train.batch, settings.threads,
                wait && *wait ? wait : "libgomp's default", openblas_get_corename());
    if (recorded)
      std::printf("run directory: %s (resumed at epoch %d, step %ld)\n", settings.out.c_str(), from.epoch, from.step);
    else
      std::printf("run directory: %s\n", settings.out.c_str());
    std::fflush(stdout);
  };
  if (isatty(STDERR_FILENO)) {
    auto first_step_end = std::chrono::steady_clock::now();
    long first_images = 0;
    int epoch = 0;
    callbacks.step_probe.after_step = [&, first_step_end, first_images, epoch](const nn::StepInfo& step) mutable {
      if (step.epoch != epoch) {  // the epoch's first step here (a resumed epoch starts inside)
        epoch = step.epoch;
        first_step_end = std::chrono::steady_clock::now();
        first_images = step.epoch_images;
      }
      if (step.step % 4 == 0 || step.step == step.steps_per_epoch)
        draw_progress(settings.train.epochs, step,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - first_step_end).count(),
                      step.epoch_images - first_images);
    };
  }
  // One line per epoch; an analysed epoch's line waits for its imaging and ends with its digest
  // (with --verbose, every stage's lines come first).  On a terminal a note says imaging is under way.
  const bool verbose = flags.has("--verbose"), terminal = isatty(STDERR_FILENO);
  std::string pending;  // the epoch line waiting for its digest
  int pending_epoch = 0;
  callbacks.on_epoch = [&](const nn::EpochStats& st) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "epoch %3d/%d  train loss %.4f acc %.4f  test loss %.4f acc %.4f  lr %.5f  %.1fs (%.0f img/s)", st.epoch,
                  settings.train.epochs, st.train_loss, st.train_acc, st.test_loss, st.test_acc, st.learning_rate,
                  st.seconds, st.train_images_per_s);
    if (settings.analyze_every > 0 && st.epoch % settings.analyze_every == 0) {
      pending = line;
      pending_epoch = st.epoch;
      if (terminal) draw_imaging_progress("epoch " + std::to_string(st.epoch), {"", "", 0, -1});
      return;
    }
    std::printf("%s\n", line);
    std::fflush(stdout);
  };
  callbacks.on_analysis = [&](const imaging::AnalysisReport& report) {
    if (terminal) clear_progress_line();
    if (verbose) std::fputs(report.summary.c_str(), stdout);
    // ζ stability after an epoch with ζ; an epoch that --zeta-every leaves without it names the next one
    // that has it (if the run reaches it).
    std::string stability;
    const int next_zeta = (pending_epoch / settings.zeta_every + 1) * settings.zeta_every;
    if (report.stage("zeta"))
      stability = ", zeta stability " + zeta_stability_text(settings.out, pending_epoch);
    else if (settings.zeta_every > 1 && next_zeta <= settings.train.epochs)
      stability = ", zeta at epoch " + std::to_string(next_zeta);
    std::printf("%s  | %s%s\n", pending.c_str(), report.digest.c_str(), stability.c_str());
    pending.clear();
    std::fflush(stdout);
  };
  if (terminal)
    callbacks.on_imaging_progress = [](int epoch, const imaging::AnalysisProgress& p) {
      draw_imaging_progress("epoch " + std::to_string(epoch), p);
    };
  // NN-EEG events, one line each as they happen (the progress bar, if any, is on stderr).
  callbacks.on_eeg_event = [terminal](const imaging::eeg::Event& e) {
    if (terminal) std::fprintf(stderr, "\r%*s\r", 100, "");
    std::printf("eeg: %s\n", e.line().c_str());
    std::fflush(stdout);
  };
  callbacks.stop_requested = [] { return stop_signal.load() != 0; };
  callbacks.group = &dist::world();
  const bool writer = dist::world().rank() == 0;  // the other ranks of an MPI job print nothing
  warn_if_oversubscribed("train", threads);
  install_stop_handlers(dist::world().ranks() == 1, settings.out, recorded != nullptr);
  TrainingOutcome outcome;
  try {
    outcome = run_training(settings, data, callbacks);
  } catch (...) {  // the epoch's figures are still worth a line when its imaging failed
    if (!pending.empty()) std::printf("%s\n", pending.c_str());
    std::fflush(stdout);
    throw;
  }
  if (!outcome.complete) {
    // Every rank stopped after the same step (the stop flag's reduction); the signal too is agreed
    // (the largest any rank got), so that every rank names it and exits 128 + it, whichever got it.
    const int sig = dist::world().max_of(stop_signal.load());
    if (!writer) return 128 + sig;
    if (isatty(STDERR_FILENO)) std::fputc('\n', stderr);
    std::fprintf(stderr, "nnfmri train: stopped by %s at epoch %d, step %ld of %ld; resume with: nnfmri train --resume %s\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", outcome.epoch, outcome.step, outcome.steps_per_epoch,
                 settings.out.c_str());
    return 128 + sig;
  }
  if (writer && dist::world().ranks() > 1)
    std::printf("mpi: %d ranks; rank 0 spent %.2f s combining shard partials (sending, adding in shard order, "
                "broadcasting, waiting for the other ranks)\n",
                dist::world().ranks(), dist::world().combine_seconds());
  if (writer) std::printf("done: %s/model.ckpt, %s/metrics.jsonl\n", settings.out.c_str(), settings.out.c_str());
  return 0;
}

}  // namespace app
