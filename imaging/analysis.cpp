// imaging/analysis.cpp — the orchestrator: the chosen stages, one streamed pass, their files.
#include "imaging/analysis.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"
#include "base/memory.h"
#include "base/stopwatch.h"
#include "imaging/eval_stream.h"
#include "imaging/net_view.h"
#include "imaging/stage.h"
#include "run/json.h"
#include "run/manifest.h"

namespace imaging {

namespace {

// The stages that run, in their fixed order: those settings.stages names (every one when it is
// empty) and those that always run.
std::vector<std::unique_ptr<Stage>> chosen_stages(const AnalysisSettings& settings) {
  std::vector<std::unique_ptr<Stage>> stages;
  for (auto& stage : make_stages()) {
    const bool named = settings.stages.empty() ||
                       std::find(settings.stages.begin(), settings.stages.end(), stage->name()) != settings.stages.end();
    if (named || stage->always_runs()) stages.push_back(std::move(stage));
  }
  return stages;
}

// The header every stage's JSON starts with.
nlohmann::ordered_json json_header(const AnalysisContext& context, size_t images) {
  nlohmann::ordered_json header = {{"model", context.model}, {"epoch", context.epoch}};
  if (!context.checkpoint.is_null()) header["checkpoint"] = context.checkpoint;
  header["dataset"] = context.dataset;
  header["eval_samples"] = images;
  return header;
}

}  // namespace

bool runs_stage(const AnalysisSettings& settings, const std::string& name) {
  for (const auto& stage : chosen_stages(settings))
    if (stage->name() == name) return true;
  return false;
}

AnalysisSettings without_stage(const AnalysisSettings& settings, const std::string& name) {
  AnalysisSettings out = settings;
  out.stages.clear();
  for (const auto& stage : chosen_stages(settings))
    if (stage->name() != name) out.stages.push_back(stage->name());
  return out;
}

double AnalysisReport::seconds() const {
  double total = seconds_pass;
  for (const StageReport& s : stages) total += s.seconds;
  return total;
}

const StageReport* AnalysisReport::stage(const std::string& name) const {
  for (const StageReport& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

nlohmann::ordered_json describe(const AnalysisSettings& s) {
  nlohmann::ordered_json j = {{"grid", {s.grid.gh, s.grid.gw, s.grid.gc}}, {"lambda", s.lambda},
                              {"epsilon", s.epsilon}, {"bins", s.bins}, {"eval_samples", s.eval_samples},
                              {"stages", nlohmann::ordered_json::array()}};
  const std::vector<std::unique_ptr<Stage>> stages = chosen_stages(s);
  for (const auto& stage : stages) j["stages"].push_back(stage->name());
  for (const auto& stage : stages)
    if (nlohmann::ordered_json block = stage->describe(s); !block.is_null()) j[stage->name()] = std::move(block);
  return j;
}

void validate_analysis_settings(const AnalysisSettings& s) {
  if (s.grid.gh < 1 || s.grid.gw < 1 || s.grid.gc < 1)
    throw base::Error("--grid " + std::to_string(s.grid.gh) + "x" + std::to_string(s.grid.gw) + "x" +
                    std::to_string(s.grid.gc) + ": expected three positive integers, e.g. 8x8x4");
  if (!std::isfinite(s.lambda)) throw base::Error("--lambda " + std::to_string(s.lambda) + ": expected a finite number");
  if (!(std::isfinite(s.epsilon) && s.epsilon > 0))
    throw base::Error("--epsilon " + std::to_string(s.epsilon) + ": expected a finite number > 0");
  // bins and batch have no flag (the library's callers set them): the error names the setting.
  if (s.bins < 2 || s.bins > 1000)
    throw base::Error("analysis setting bins = " + std::to_string(s.bins) + ": expected 2 … 1000");
  if (s.eval_samples < kMinEvalSamples)
    throw base::Error("--eval-samples " + std::to_string(s.eval_samples) + ": expected at least " +
                    std::to_string(kMinEvalSamples) + " (the information bins need data)");
  if (s.batch < 1)
    throw base::Error("analysis setting batch = " + std::to_string(s.batch) + ": expected a positive batch size");
  const std::vector<std::string> known = stage_names();
  for (const std::string& name : s.stages)
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string expected;
      for (const std::string& k : known) expected += (expected.empty() ? "" : ", ") + k;
      throw base::Error("--stages: unknown stage '" + name + "' (expected " + expected + ")");
    }
  for (const auto& stage : chosen_stages(s)) stage->validate(s);
}

void check_grid_fits(const nn::Network& net, const run::GridSpec& grid) {
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    const nn::Block& b = net.blocks()[i];
    const nn::Shape& s = b.output_shape;
    const std::string problem = run::grid_limit_problem(s.h, s.w, s.c, block_grid(net, int(i), grid));
    if (!problem.empty())
      throw base::Error("--grid " + std::to_string(grid.gh) + "x" + std::to_string(grid.gw) + "x" + std::to_string(grid.gc) +
                        ": block " + b.name + ": " + problem);
  }
}

void check_stages_fit(const nn::Network& net, const AnalysisSettings& settings) {
  const std::vector<std::unique_ptr<Stage>> stages = chosen_stages(settings);
  std::vector<std::string> problems(stages.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    try {
      stages[i]->check_net(net);
    } catch (const base::Error& e) {
      problems[i] = e.what();
    }
  }
  // The first stage that cannot image the net, and the chosen ones that can (what to pass instead).
  std::string others;
  for (size_t i = 0; i < stages.size(); ++i)
    if (problems[i].empty()) others += (others.empty() ? "" : ",") + stages[i]->name();
  for (size_t i = 0; i < stages.size(); ++i)
    if (!problems[i].empty())
      throw base::Error("--stages: stage " + stages[i]->name() + " cannot image this net (" + problems[i] + "); " +
                        (others.empty() ? std::string("choose other stages with --stages")
                                        : "leave it out, e.g. --stages " + others));
}

void check_analysis_fits(const nn::Network& net, const AnalysisSettings& settings, const nn::LabeledImages& test) {
  validate_analysis_settings(settings);
  check_grid_fits(net, settings.grid);
  check_stages_fit(net, settings);
  // (before train's first step: after it, a run directory would be left behind)
  if (std::min(settings.eval_samples, test.count) < kMinEvalSamples)
    throw base::Error("--eval-samples: the test set has only " + std::to_string(test.count) +
                    " images; the analysis needs at least " + std::to_string(kMinEvalSamples));
  for (const auto& stage : chosen_stages(settings)) stage->check_data(net, settings, test);
}

AnalysisReport run_analysis(nn::Network& net, const nn::LabeledImages& test, const AnalysisSettings& settings,
                            const AnalysisContext& context, const std::string& out_dir, const ProgressCallback& progress) {
  check_analysis_fits(net, settings, test);
  const size_t images = std::min(settings.eval_samples, test.count);
  if (!out_dir.empty()) base::make_directories(out_dir);
  // The net's buffers keep the size of the largest batch it ran: in a training run the training
  // batch's activations and gradients (~66 MB for `reference` at batch 64), which the analysis does
  // not read.  Freed first, the pass and the stages allocate only what they use.
  net.release_buffers();
  base::return_free_memory();
  const NetView view(net);
  const StageInput input{net, view, test, images, settings, &progress, context.write_images};
  auto tell = [&](AnalysisProgress p) {
    if (progress) progress(p);
  };
  std::vector<std::unique_ptr<Stage>> stages = chosen_stages(settings);
  AnalysisReport report;
  report.stages.resize(stages.size());

  // The one streamed pass: every stage that reads activations gets the batches of its prefix.
  struct Reader {
    Stage* stage;
    size_t images;
    double* seconds;
  };
  std::vector<Reader> readers;
  size_t pass_images = 0;
  for (size_t i = 0; i < stages.size(); ++i) {
    report.stages[i].name = stages[i]->name();
    const base::Stopwatch clock;
    const size_t reads = stages[i]->begin(input);
    report.stages[i].seconds += clock.seconds();
    if (reads == 0) continue;
    readers.push_back({stages[i].get(), std::min(reads, images), &report.stages[i].seconds});
    pass_images = std::max(pass_images, readers.back().images);
  }
  if (pass_images > 0) {
    double in_stages = 0;
    const base::Stopwatch pass;
    tell({"evaluation pass", "", 0, -1});
    // Spread over ranks, a stage that reads only its own batches gets batch k when k ≡ rank (mod P);
    // a batch that no stage reads on this rank is not forwarded.
    const bool spread = settings.ranks && settings.ranks->ranks() > 1;
    auto reads = [&](const Reader& r, size_t offset) {
      return offset < r.images &&
             (!spread || !r.stage->reads_own_batches() || settings.ranks->owns_unit(offset / size_t(settings.batch)));
    };
    stream_eval(
        net, test, pass_images, settings.batch,
        [&](const EvalBatch& batch, const nn::BlockView& block) {
          for (const Reader& r : readers)
            if (reads(r, batch.offset)) {
              const base::Stopwatch clock;
              r.stage->on_block(batch, block);
              *r.seconds += clock.seconds();
              in_stages += clock.seconds();
            }
        },
        [&](const EvalBatch& batch, const nn::Tensor&) {
          for (const Reader& r : readers)
            if (reads(r, batch.offset)) {
              const base::Stopwatch clock;
              r.stage->on_batch_end(batch);
              *r.seconds += clock.seconds();
              in_stages += clock.seconds();
            }
          const double done = double(batch.offset + batch.count) / double(pass_images);
          tell({"evaluation pass", "", done, pass.seconds() * (1 - done) / std::max(done, 1e-9)});
        },
        [&](size_t offset) {
          for (const Reader& r : readers)
            if (reads(r, offset)) return true;
          return false;
        });
    report.seconds_pass = std::max(0.0, pass.seconds() - in_stages);
    net.release_buffers();  // sized for the pass's batches; the ζ stage forwards 8 images at a time
    base::return_free_memory();
    std::string readers_names;
    for (const Reader& r : readers) readers_names += (readers_names.empty() ? "" : ", ") + r.stage->name();
    report.summary += "evaluation pass: " + std::to_string(pass_images) + " images in batches of " +
                      std::to_string(settings.batch) + " for " + readers_names + ", " +
                      base::format("%.2f s", report.seconds_pass) + "\n";
  }

  // Each stage's document, file, summary and digest, in the fixed order.
  std::string digests;
  for (size_t i = 0; i < stages.size(); ++i) {
    StageReport& r = report.stages[i];
    const base::Stopwatch clock;
    tell({r.name, "", 0, -1});
    StageOutput output = stages[i]->run(input);
    r.images = output.images;
    r.document = json_header(context, output.images);
    for (auto& [key, value] : output.document.items()) r.document[key] = std::move(value);
    r.seconds += clock.seconds();
    base::return_free_memory();
    report.summary += r.name + " stage: " + std::to_string(r.images) + " images, " + base::format("%.2f s", r.seconds) + "\n" +
                      stages[i]->summary(r.document);
    const std::string digest = stages[i]->digest(r.document);
    if (!digest.empty()) digests += (digests.empty() ? "" : ", ") + digest;
  }
  report.digest = base::format("imaging %.1f s", report.seconds()) + (digests.empty() ? "" : ": " + digests);
  // The files are written once every stage has run, and a write that fails removes the ones written
  // before it: an analysis in out_dir is whole or absent, never a grid.json alone (a ζ stage that
  // failed, a full disk) that `report` would read as a grid-only analysis.
  if (!out_dir.empty()) {
    size_t written = 0;
    try {
      for (; written < stages.size(); ++written)
        run::write_json(out_dir + "/" + stages[written]->file(), report.stages[written].document, 1);
    } catch (...) {
      for (size_t i = 0; i < written; ++i) run::remove_file(out_dir + "/" + stages[i]->file());
      throw;
    }
  }
  return report;
}

}  // namespace imaging
