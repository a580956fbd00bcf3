// nnfmri train — flags → TrainingSettings → run_training (apps/training_run.h), which writes the
// run directory; this file only reads the flags and prints the run's progress.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <cblas.h>

#include "apps/commands.h"
#include "apps/training_run.h"
#include "base/error.h"

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

}  // namespace

TrainingSettings training_settings(const Flags& flags, int threads) {
  TrainingSettings s;
  s.threads = threads;
  nn::TrainConfig& cfg = s.train;
  cfg.epochs = int(flags.integer("--epochs"));
  cfg.batch = int(flags.integer("--batch"));
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
  if (cfg.schedule.warmup > cfg.epochs)
    throw base::Error("flag --warmup '" + flags.text("--warmup") + "': expected at most --epochs (" +
                      std::to_string(cfg.epochs) + ")");
  cfg.augment.enabled = !flags.has("--no-augment");
  s.analyze_every = int(flags.integer("--analyze-every"));
  s.analysis = analysis_settings(flags);

  s.model = flags.text("--model");
  s.spec = nn::Network::preset(s.model);
  if (s.spec.empty()) {
    if (s.model.find(':') == std::string::npos && s.model.find(' ') == std::string::npos)
      throw base::Error("flag --model '" + s.model +
                        "': expected a preset (reference, bn) or a spec such as \"conv3x3:16 relu maxpool2 linear:10\"");
    s.spec = s.model;
  }
  s.data_spec = flags.text("--data");
  s.out = flags.has("--out") ? flags.text("--out") : "runs/" + (s.spec == s.model ? std::string("custom") : s.model);
  return s;
}

int cmd_train(int argc, char** argv) {
  Flags flags(kTrain, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const TrainingSettings settings = training_settings(flags, set_threads(flags));
  validate(settings);  // before the data is read
  const datasets::DataSplit data = load_data(flags, true);

  TrainingCallbacks callbacks;
  callbacks.on_start = [&](const nn::Network& net) {
    std::printf("nnfmri train: %s (%zu parameters) on %s: %zu train / %zu test images, %d epochs, batch %d, %d threads, "
                "OpenBLAS %s kernels\n",
                settings.model.c_str(), net.parameter_count(), data.train.name.c_str(), data.train.size(),
                data.test.size(), settings.train.epochs, settings.train.batch, settings.threads, openblas_get_corename());
    std::printf("run directory: %s\n", settings.out.c_str());
    std::fflush(stdout);
  };
  if (isatty(STDERR_FILENO)) {
    auto first_step_end = std::chrono::steady_clock::now();
    long first_step_images = 0;
    callbacks.step_probe.after_step = [&, first_step_end, first_step_images](const nn::StepInfo& step) mutable {
      if (step.step == 1) {
        first_step_end = std::chrono::steady_clock::now();
        first_step_images = step.epoch_images;
      }
      if (step.step % 4 == 0 || step.step == step.steps_per_epoch)
        draw_progress(settings.train.epochs, step,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - first_step_end).count(),
                      step.epoch_images - first_step_images);
    };
  }
  callbacks.on_epoch = [&](const nn::EpochStats& st) {
    std::printf("epoch %3d/%d  train loss %.4f acc %.4f  test loss %.4f acc %.4f  lr %.5f  %.1fs (%.0f img/s)\n",
                st.epoch, settings.train.epochs, st.train_loss, st.train_acc, st.test_loss, st.test_acc,
                st.learning_rate, st.seconds, st.train_images_per_s);
    std::fflush(stdout);
  };
  callbacks.on_analysis = [](const imaging::AnalysisReport& report) {
    std::fputs(report.summary.c_str(), stdout);
    std::fflush(stdout);
  };
  run_training(settings, data, callbacks);
  std::printf("done: %s/model.ckpt, %s/metrics.jsonl\n", settings.out.c_str(), settings.out.c_str());
  return 0;
}

}  // namespace app
