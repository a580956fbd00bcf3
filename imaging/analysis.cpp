#include "imaging/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "imaging/grid_stats.h"
#include "base/error.h"
#include "base/fileio.h"
#include "run/json.h"
#include "run/layout.h"

namespace imaging {

namespace {

template <class Stage>
double timed(Stage&& stage) {
  const auto start = std::chrono::steady_clock::now();
  stage();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void write_json(const std::string& out_dir, const std::string& name, const nlohmann::ordered_json& document) {
  run::write_json(out_dir + "/" + name, document, 1);
}

// The header every stage's JSON starts with.
nlohmann::ordered_json json_header(const AnalysisContext& context, size_t images) {
  return {{"model", context.model}, {"epoch", context.epoch}, {"dataset", context.dataset}, {"eval_samples", images}};
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// One line per layer: coverage and the three regions with the most information (ties: region order).
std::string grid_summary(const GridResult& result) {
  std::string text;
  for (const LayerGridStats& layer : result.layers) {
    std::vector<int> order(layer.regions.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return layer.regions[a].information_bits > layer.regions[b].information_bits;
    });
    double null_max = 0;
    for (const RegionStats& s : layer.regions) null_max = std::max(null_max, s.information_null_bits);
    text += "  " + layer.name + ": coverage " + format("%.2f", layer.coverage) + ", most informative";
    for (size_t t = 0; t < std::min<size_t>(3, order.size()); ++t)
      text += (t ? ", " : " ") + layer.grid.key(order[t]) + format(" %.3f bits", layer.regions[order[t]].information_bits);
    text += format(" (null up to %.3f)\n", null_max);
  }
  return text;
}

std::string zeta_summary(const nlohmann::ordered_json& zeta) {
  std::string text;
  for (const auto& [name, layer] : zeta["layers"].items()) {
    text += "  " + name + ": " + layer["method"].get<std::string>() + ", " +
            std::to_string(layer["permutations"].get<long>()) + " permutations, stopped by " +
            layer["stopped_by"].get<std::string>() + format(", critical share %.2f", layer["critical_share"].get<double>());
    const auto& critical = layer["critical_regions"];
    if (!critical.empty()) {
      const std::string top = critical[0].get<std::string>();
      text += ", top " + top + format(" (zeta %.2f)", layer["regions"][top]["zeta_score"].get<double>());
    }
    text += format(", %.2f s\n", layer["seconds"].get<double>());
  }
  return text;
}

std::string tract_summary(const nlohmann::ordered_json& tract) {
  std::string text;
  for (const auto& [key, pair] : tract["pairs"].items())
    text += "  " + pair["from"].get<std::string>() + " -> " + pair["to"].get<std::string>() +
            format(": strength %.4g", pair["connection_strength"].get<double>()) +
            format(", efficiency %.3f\n", pair["pathway_efficiency"].get<double>());
  const auto& network = tract["network"];
  text += format("  path strength %.4g", network["path_strength"].get<double>());
  if (!network["chains"].empty()) {
    text += ", strongest chain:";
    for (const auto& r : network["chains"][0]["regions"])
      text += " " + r["layer"].get<std::string>() + ":" + r["region"].get<std::string>();
  }
  return text + "\n";
}

}  // namespace

nlohmann::ordered_json describe(const AnalysisSettings& s) {
  nlohmann::ordered_json j = {{"grid", {s.grid.gh, s.grid.gw, s.grid.gc}}, {"lambda", s.lambda},
                              {"epsilon", s.epsilon}, {"bins", s.bins}, {"eval_samples", s.eval_samples},
                              {"stages", nlohmann::ordered_json::array()}};
  j["stages"].push_back("grid");
  if (s.run_zeta) {
    j["stages"].push_back("zeta");
    j["zeta"] = {{"method", s.zeta.method}, {"value", s.zeta.value}, {"ablation", s.zeta.ablation},
                 {"samples", s.zeta.samples}, {"tolerance", s.zeta.tolerance}, {"budget_seconds", s.zeta.budget_seconds},
                 {"seed", s.zeta.seed}, {"max_permutations", s.zeta.max_permutations}};
  }
  if (s.run_tract) {
    j["stages"].push_back("tract");
    j["tract"] = {{"samples", s.tract.samples}, {"top", s.tract.top}, {"chains", s.tract.chains}};
  }
  return j;
}

void validate_analysis_settings(const AnalysisSettings& s) {
  if (s.grid.gh < 1 || s.grid.gw < 1 || s.grid.gc < 1)
    throw base::Error("--grid " + std::to_string(s.grid.gh) + "x" + std::to_string(s.grid.gw) + "x" +
                    std::to_string(s.grid.gc) + ": expected three positive integers, e.g. 8x8x4");
  if (!std::isfinite(s.lambda)) throw base::Error("--lambda " + std::to_string(s.lambda) + ": expected a finite number");
  if (!(std::isfinite(s.epsilon) && s.epsilon > 0))
    throw base::Error("--epsilon " + std::to_string(s.epsilon) + ": expected a finite number > 0");
  if (s.bins < 2 || s.bins > 1000) throw base::Error("analysis setting bins " + std::to_string(s.bins) + ": expected 2 … 1000");
  if (s.eval_samples < kMinEvalSamples)
    throw base::Error("--eval-samples " + std::to_string(s.eval_samples) + ": expected at least " +
                    std::to_string(kMinEvalSamples) + " (the information bins need data)");
  if (s.batch < 1) throw base::Error("analysis setting batch " + std::to_string(s.batch) + ": expected a positive batch size");
  if (s.run_zeta) validate(s.zeta);
  if (s.run_tract) validate(s.tract);
}

void check_grid_fits(const nn::Network& net, const run::GridSpec& grid) {
  for (const nn::Block& b : net.blocks()) {
    const nn::Shape& s = b.output_shape;
    const std::string problem = run::grid_limit_problem(s.h, s.w, s.c, grid);
    if (!problem.empty())
      throw base::Error("--grid " + std::to_string(grid.gh) + "x" + std::to_string(grid.gw) + "x" + std::to_string(grid.gc) +
                        ": block " + b.name + ": " + problem);
  }
}

AnalysisReport run_analysis(nn::Network& net, const nn::LabeledImages& test, const AnalysisSettings& settings,
                            const AnalysisContext& context, const std::string& out_dir) {
  validate_analysis_settings(settings);
  check_grid_fits(net, settings.grid);
  const size_t images = std::min(settings.eval_samples, test.count);
  if (images < kMinEvalSamples)
    throw base::Error("--eval-samples: the test set has only " + std::to_string(test.count) +
                    " images; the analysis needs at least " + std::to_string(kMinEvalSamples));
  base::make_directories(out_dir);
  AnalysisReport report;

  // Stage 1 — grid: density, variance and information of every region → grid.json.
  const GridSettings grid_settings{settings.grid, settings.lambda, settings.epsilon, settings.bins};
  std::string grid_text;
  report.seconds_grid = timed([&] {
    const GridResult result = run_grid_stage(net, test, images, settings.batch, grid_settings);
    report.grid = json_header(context, images);
    report.grid["settings"] = {{"grid", {settings.grid.gh, settings.grid.gw, settings.grid.gc}},
                               {"lambda", settings.lambda},
                               {"epsilon", settings.epsilon},
                               {"bins", settings.bins}};
    report.grid["layers"] = grid_layers_json(result);
    write_json(out_dir, run::kGridFile, report.grid);
    grid_text = grid_summary(result);
  });
  report.summary += "grid stage: " + std::to_string(images) + " images, " + format("%.2f s\n", report.seconds_grid) + grid_text;

  // Stage 2 — zeta: every region's causal impact (Shapley values of the lesion game) → zeta.json.
  // Its sample is drawn from the same evaluation images.
  if (settings.run_zeta) {
    std::string text;
    report.seconds_zeta = timed([&] {
      nlohmann::ordered_json body = zeta_analysis(net, test, images, settings.grid, settings.zeta);
      report.zeta = json_header(context, std::min(settings.zeta.samples, images));
      for (const auto& [key, value] : body.items()) report.zeta[key] = value;
      write_json(out_dir, run::kZetaFile, report.zeta);
      text = zeta_summary(report.zeta);
    });
    report.summary += "zeta stage: " + std::to_string(std::min(settings.zeta.samples, images)) + " images, " +
                      format("%.2f s\n", report.seconds_zeta) + text;
  }

  // Stage 3 — tract: region-to-region flows between consecutive blocks → tract.json.
  if (settings.run_tract) {
    std::string text;
    TractSettings tract = settings.tract;
    tract.samples = std::min(tract.samples, images);
    report.seconds_tract = timed([&] {
      nlohmann::ordered_json body = tract_analysis(net, test, settings.grid, tract);
      report.tract = json_header(context, tract.samples);
      for (const auto& [key, value] : body.items()) report.tract[key] = value;
      write_json(out_dir, run::kTractFile, report.tract);
      text = tract_summary(report.tract);
    });
    report.summary += "tract stage: " + std::to_string(tract.samples) + " images, " +
                      format("%.2f s\n", report.seconds_tract) + text;
  }
  return report;
}

}  // namespace imaging
