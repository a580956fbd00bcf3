#include "apps/training_run.h"

#include <chrono>

#include <cblas.h>

#include "apps/commands.h"
#include "base/fileio.h"
#include "nn/checkpoint.h"
#include "run/json.h"
#include "run/layout.h"

namespace app {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool probe_has_work(const nn::StepProbe& p) {
  return p.forward || p.after_step || p.gradient_norms || p.update_ratios;
}

run::Json config_json(const TrainingSettings& s, const nn::Network& net, const run::Json& data_json) {
  const nn::TrainConfig& cfg = s.train;
  return {{"version", kVersion},
          {"command", "train"},
          {"model", s.model},
          {"spec", s.spec},
          {"parameters", net.parameter_count()},
          {"data", data_json},
          {"normalization", {{"mean", net.input_mean}, {"std", net.input_std}}},
          {"epochs", cfg.epochs},
          {"batch", cfg.batch},
          {"seed", cfg.seed},
          {"threads", s.threads},
          {"blas", {{"config", openblas_get_config()}, {"core", openblas_get_corename()}}},
          {"optimizer",
           {{"kind", cfg.optim.kind}, {"lr", cfg.optim.lr}, {"momentum", cfg.optim.momentum},
            {"nesterov", cfg.optim.nesterov}, {"weight_decay", cfg.optim.weight_decay}}},
          {"schedule",
           {{"kind", cfg.schedule.kind}, {"step_size", cfg.schedule.step_size}, {"gamma", cfg.schedule.gamma},
            {"warmup_epochs", cfg.schedule.warmup}}},
          {"augment",
           {{"enabled", cfg.augment.enabled}, {"crop_padding", cfg.augment.crop_padding}, {"flip", cfg.augment.flip}}},
          {"analyze_every", s.analyze_every},
          {"analysis", imaging::describe(s.analysis)}};
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

void validate(const TrainingSettings& s) {
  nn::validate(s.train.optim);
  nn::validate(s.train.schedule);
  if (s.analyze_every > 0) imaging::validate_analysis_settings(s.analysis);
}

void run_training(const TrainingSettings& s, const datasets::DataSplit& data, const TrainingCallbacks& callbacks) {
  validate(s);
  nn::Network net(s.spec, data.train.channels, data.train.height, data.train.width);
  check_net_fits(net, data.train, "--model " + s.model);
  if (s.analyze_every > 0) imaging::check_grid_fits(net, s.analysis.grid);
  datasets::channel_mean_std(data.train, net.input_mean, net.input_std);
  for (float& sd : net.input_std)
    if (!(sd > 1e-6f)) sd = 1.f;  // a constant channel: centre it, do not divide by zero
  net.init(s.train.seed);

  const run::Layout layout(s.out);
  base::make_directories(layout.checkpoints());
  const run::Json data_json = describe_data(s.data_spec, data);
  run::write_json(layout.config(), config_json(s, net, data_json), 2);
  if (callbacks.on_start) callbacks.on_start(net);

  nn::Trainer trainer(net, s.train, data.train.view());
  const nn::StepProbe* probe = probe_has_work(callbacks.step_probe) ? &callbacks.step_probe : nullptr;
  const nlohmann::json meta = {{"data", data_json}, {"spec", s.spec}, {"model", s.model}};
  std::string metrics;
  for (int epoch = 1; epoch <= s.train.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    nn::EpochStats st = trainer.train_epoch(epoch, probe);
    const nn::Evaluation test = nn::evaluate(net, data.test.view());
    st.test_loss = test.loss;
    st.test_acc = test.accuracy;
    st.seconds = seconds_since(start);
    nn::save_checkpoint(layout.checkpoint(epoch), net, epoch, data.train.class_names, meta);
    nn::save_checkpoint(layout.model(), net, epoch, data.train.class_names, meta);
    if (callbacks.on_epoch) callbacks.on_epoch(st);
    run::Json line = metrics_line(st);
    if (s.analyze_every > 0 && epoch % s.analyze_every == 0) {
      const imaging::AnalysisContext context{s.model, epoch, data_json};
      const imaging::AnalysisReport report =
          imaging::run_analysis(net, data.test.view(), s.analysis, context, layout.analysis(epoch));
      if (callbacks.on_analysis) callbacks.on_analysis(report);
      line["analysis_seconds"] = report.seconds();
    }
    run::require_finite(line, layout.metrics());
    metrics += run::json_text(line, -1) + "\n";
    base::write_file_atomic(layout.metrics(), metrics);
  }
}

}  // namespace app
