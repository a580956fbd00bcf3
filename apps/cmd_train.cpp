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

std::vector<FlagDef> train_flags() {
  std::vector<FlagDef> d = {
      {"--data", true, "SPEC  cifar10[:DIR] | fashion-mnist[:DIR] | mnist:DIR | planted[:SEED]"},
      {"--model", true, "NAME|SPEC  preset (reference, bn) or a spec such as \"conv3x3:16 relu maxpool2 linear:10\""},
      {"--epochs", true, "N  epochs (15)"},
      {"--batch", true, "N  batch size (64)"},
      {"--lr", true, "X  base learning rate (0.02)"},
      {"--optimizer", true, "sgd|adam  (sgd)"},
      {"--momentum", true, "X  SGD momentum (0.9)"},
      {"--nesterov", false, "  Nesterov momentum"},
      {"--weight-decay", true, "X  L2 weight decay (5e-4)"},
      {"--schedule", true, "constant|step|cosine|onecycle  (cosine)"},
      {"--step-size", true, "E  epochs per decay for --schedule step (5)"},
      {"--gamma", true, "X  decay factor for --schedule step (0.1)"},
      {"--warmup", true, "E  linear warm-up epochs for constant/step/cosine (0)"},
      {"--no-augment", false, "  no random crop / flip"},
      {"--seed", true, "N  the seed of every random choice (1)"},
      {"--threads", true, "N  threads for OpenMP and OpenBLAS (all cores)"},
      {"--out", true, "DIR  run directory (runs/<model>)"},
      {"--limit-train", true, "N  first N training images only"},
      {"--limit-test", true, "N  first N test images only"},
      {"--analyze-every", true, "N  image the net after every N-th epoch (0: never)"},
      {"--help", false, ""}};
  for (auto& f : analysis_flag_defs()) d.push_back(f);
  return d;
}

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
  Flags flags("train", argc, argv, train_flags());
  if (flags.has("--help")) {
    std::fputs(flags.usage().c_str(), stdout);
    return 0;
  }
  if (!flags.positional().empty()) throw base::Error("nnfmri train: unexpected argument '" + flags.positional()[0] + "'");
  const int threads = set_threads(flags.integer("--threads", 0, 1, 256));

  nn::TrainConfig cfg;
  cfg.epochs = int(flags.integer("--epochs", 15, 1, 100000));
  cfg.batch = int(flags.integer("--batch", 64, 1, 65536));
  cfg.seed = uint64_t(flags.integer("--seed", 1, 0, (1L << 62)));
  cfg.optim.kind = flags.str("--optimizer", "sgd");
  nn::validate(cfg.optim);
  cfg.optim.lr = float(flags.real("--lr", cfg.optim.kind == "adam" ? 1e-3 : 0.02, 1e-12, 1e6));
  cfg.optim.momentum = float(flags.real("--momentum", 0.9, 0, 0.9999));
  cfg.optim.nesterov = flags.has("--nesterov");
  cfg.optim.weight_decay = float(flags.real("--weight-decay", 5e-4, 0, 1));
  cfg.schedule.kind = flags.str("--schedule", "cosine");
  cfg.schedule.step_size = int(flags.integer("--step-size", 5, 1, 100000));
  cfg.schedule.gamma = float(flags.real("--gamma", 0.1, 0, 1));
  cfg.schedule.warmup = float(flags.real("--warmup", 0, 0, cfg.epochs));
  nn::validate(cfg.schedule);
  cfg.augment.enabled = !flags.has("--no-augment");
  const int analyze_every = int(flags.integer("--analyze-every", 0, 0, 100000));
  imaging::AnalysisSettings analysis = analysis_settings(flags);
  if (analyze_every > 0) imaging::validate_analysis_settings(analysis);

  const std::string model = flags.str("--model", "reference");
  std::string spec = nn::Network::preset(model);
  if (spec.empty()) {
    if (model.find(':') == std::string::npos && model.find(' ') == std::string::npos)
      throw base::Error("flag --model '" + model + "': expected a preset (reference, bn) or a spec such as \"conv3x3:16 relu maxpool2 linear:10\"");
    spec = model;
  }
  const std::string data_spec = flags.str("--data", "");
  datasets::DataSplit data = load_data(flags, true);
  nn::Network net(spec, data.train.channels, data.train.height, data.train.width);
  check_net_fits(net, data.train, "--model " + model);
  if (analyze_every > 0) imaging::check_grid_fits(net, analysis.grid);
  datasets::channel_mean_std(data.train, net.input_mean, net.input_std);
  for (float& sd : net.input_std)
    if (!(sd > 1e-6f)) sd = 1.f;  // a constant channel: centre it, do not divide by zero
  net.init(cfg.seed);

  const std::string out = flags.str("--out", "runs/" + (spec == model ? std::string("custom") : model));
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
    nn::StepCallback progress = nullptr;
    if (tty)
      progress = [&](long step, long steps, double loss, long images) {
        if (step % 4 == 0 || step == steps)
          draw_progress(epoch, cfg.epochs, step, steps, loss, images,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      };
    nn::EpochStats st = trainer.train_epoch(epoch, progress);
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
