// nnfmri train — trains a network and writes a run directory:
//   config.json                 every setting, the spec, data files with SHA-256, version
//   metrics.jsonl               one JSON object per epoch
//   checkpoints/epoch_NNN.ckpt  after every epoch (atomic), model.ckpt = the last one
//   analysis/epoch_NNN/         imaging after every N-th epoch (--analyze-every N)
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <cblas.h>

#include "apps/commands.h"
#include "nn/checkpoint.h"
#include "base/error.h"
#include "base/fileio.h"
#include "nn/trainer.h"
#include "run/json.h"
#include "run/layout.h"

namespace app {

namespace {

// A progress line on a terminal, redrawn in place: images/s, ETA, running loss.
void draw_progress(int epoch, int epochs, long step, long steps, double loss, long images, double seconds) {
  const int width = 24;
  int filled = int(width * step / steps);
  double rate = images / std::max(seconds, 1e-9);
  double eta = (steps - step) * (seconds / step);
  std::fprintf(stderr, "\repoch %d/%d [%s%s] %ld/%ld  loss %.4f  %.0f img/s  ETA %.0fs   ", epoch, epochs,
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), step, steps, loss, rate, eta);
  if (step == steps) std::fprintf(stderr, "\r%*s\r", 100, "");
}

}  // namespace

int cmd_train(int argc, char** argv) {
  Flags flags(kTrain, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const int threads = set_threads(flags);

  nn::TrainConfig cfg;
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
  const int analyze_every = int(flags.integer("--analyze-every"));
  imaging::AnalysisSettings analysis = analysis_settings(flags);
  if (analyze_every > 0) imaging::validate_analysis_settings(analysis);

  const std::string model = flags.text("--model");
  std::string spec = nn::Network::preset(model);
  if (spec.empty()) {
    if (model.find(':') == std::string::npos && model.find(' ') == std::string::npos)
      throw base::Error("flag --model '" + model + "': expected a preset (reference, bn) or a spec such as \"conv3x3:16 relu maxpool2 linear:10\"");
    spec = model;
  }
  const std::string data_spec = flags.text("--data");
  datasets::DataSplit data = load_data(flags, true);
  nn::Network net(spec, data.train.channels, data.train.height, data.train.width);
  check_net_fits(net, data.train, "--model " + model);
  datasets::channel_mean_std(data.train, net.input_mean, net.input_std);
  for (float& sd : net.input_std)
    if (!(sd > 1e-6f)) sd = 1.f;  // a constant channel: centre it, do not divide by zero
  net.init(cfg.seed);

  const std::string out = flags.has("--out") ? flags.text("--out") : "runs/" + (spec == model ? std::string("custom") : model);
  const run::Layout layout(out);
  base::make_directories(layout.checkpoints());
  nlohmann::ordered_json data_json = describe_data(data_spec, data);
  nlohmann::ordered_json config = {
      {"version", kVersion},
      {"command", "train"},
      {"model", model},
      {"spec", spec},
      {"parameters", net.parameter_count()},
      {"data", data_json},
      {"normalization", {{"mean", net.input_mean}, {"std", net.input_std}}},
      {"epochs", cfg.epochs},
      {"batch", cfg.batch},
      {"seed", cfg.seed},
      {"threads", threads},
      {"blas", {{"config", openblas_get_config()}, {"core", openblas_get_corename()}}},
      {"optimizer",
       {{"kind", cfg.optim.kind}, {"lr", cfg.optim.lr}, {"momentum", cfg.optim.momentum},
        {"nesterov", cfg.optim.nesterov}, {"weight_decay", cfg.optim.weight_decay}}},
      {"schedule",
       {{"kind", cfg.schedule.kind}, {"step_size", cfg.schedule.step_size}, {"gamma", cfg.schedule.gamma},
        {"warmup_epochs", cfg.schedule.warmup}}},
      {"augment",
       {{"enabled", cfg.augment.enabled}, {"crop_padding", cfg.augment.crop_padding}, {"flip", cfg.augment.flip}}},
      {"analyze_every", analyze_every},
      {"analysis", imaging::describe(analysis)}};
  run::write_json(layout.config(), config, 2);

  std::printf("nnfmri train: %s (%zu parameters) on %s: %zu train / %zu test images, %d epochs, batch %d, %d threads, "
              "OpenBLAS %s kernels\n",
              model.c_str(), net.parameter_count(), data.train.name.c_str(), data.train.size(), data.test.size(),
              cfg.epochs, cfg.batch, threads, openblas_get_corename());
  std::printf("run directory: %s\n", out.c_str());
  std::fflush(stdout);

  nn::Trainer trainer(net, cfg, data.train.view());
  const bool tty = isatty(STDERR_FILENO);
  std::string metrics;
  nlohmann::json meta = {{"data", data_json}, {"spec", spec}, {"model", model}};
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    auto start = std::chrono::steady_clock::now();
    nn::StepProbe progress;
    progress.after_step = [&](const nn::StepInfo& step) {
      if (step.step % 4 == 0 || step.step == step.steps_per_epoch)
        draw_progress(epoch, cfg.epochs, step.step, step.steps_per_epoch, step.running_loss, step.epoch_images,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
    nn::EpochStats st = trainer.train_epoch(epoch, tty ? &progress : nullptr);
    nn::Evaluation test = nn::evaluate(net, data.test.view());
    st.test_loss = test.loss;
    st.test_acc = test.accuracy;
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nn::save_checkpoint(layout.checkpoint(epoch), net, epoch, data.train.class_names, meta);
    nn::save_checkpoint(layout.model(), net, epoch, data.train.class_names, meta);
    std::printf("epoch %3d/%d  train loss %.4f acc %.4f  test loss %.4f acc %.4f  lr %.5f  %.1fs (%.0f img/s)\n", epoch,
                cfg.epochs, st.train_loss, st.train_acc, st.test_loss, st.test_acc, st.learning_rate, st.seconds,
                st.train_images_per_s);
    std::fflush(stdout);
    nlohmann::ordered_json line = {{"epoch", epoch},
                                   {"train_loss", st.train_loss},
                                   {"train_acc", st.train_acc},
                                   {"test_loss", st.test_loss},
                                   {"test_acc", st.test_acc},
                                   {"learning_rate", st.learning_rate},
                                   {"seconds", st.seconds},
                                   {"train_seconds", st.train_seconds},
                                   {"train_images_per_s", st.train_images_per_s}};
    if (analyze_every > 0 && epoch % analyze_every == 0) {
      imaging::AnalysisContext ctx{model, epoch, data_json};
      imaging::AnalysisReport rep =
          imaging::run_analysis(net, data.test.view(), analysis, ctx, layout.analysis(epoch));
      std::fputs(rep.summary.c_str(), stdout);
      std::fflush(stdout);
      line["analysis_seconds"] = rep.seconds();
    }
    run::require_finite(line, layout.metrics());
    metrics += run::json_text(line, -1) + "\n";
    base::write_file_atomic(layout.metrics(), metrics);
  }
  std::printf("done: %s/model.ckpt, %s/metrics.jsonl\n", out.c_str(), out.c_str());
  return 0;
}

}  // namespace app
