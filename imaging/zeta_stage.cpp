// imaging/zeta_stage.cpp — the ζ stage (imaging/zeta.h) as a registered stage: every region's causal
// impact, on a class-balanced sample of the evaluation images with its own forwards (lesions
// replace activations, so it reads nothing from the streamed pass) → zeta.json.
#include <algorithm>
#include <string>

#include "base/format.h"
#include "base/memory.h"
#include "base/stopwatch.h"
#include "imaging/stage.h"
#include "imaging/zeta.h"
#include "run/layout.h"

namespace imaging {

namespace {

class ZetaStage : public Stage {
 public:
  std::string name() const override { return "zeta"; }
  std::string file() const override { return run::kZetaFile; }
  void validate(const AnalysisSettings& s) const override { imaging::validate(s.zeta); }
  void check_data(const nn::Network& net, const AnalysisSettings& s, const nn::LabeledImages& test) const override {
    check_zeta_fits(net, test, s.eval_samples, s.grid, s.zeta);
  }
  nlohmann::ordered_json describe(const AnalysisSettings& s) const override {
    nlohmann::ordered_json j = {{"method", s.zeta.method}, {"value", s.zeta.value}, {"ablation", s.zeta.ablation},
                                {"samples", s.zeta.samples}, {"tolerance", s.zeta.tolerance},
                                {"budget_seconds", s.zeta.budget_seconds}, {"seed", s.zeta.seed},
                                {"max_permutations", s.zeta.max_permutations}, {"ci", s.zeta.ci}};
    if (s.zeta.errors) j["errors"] = true;  // analyze --errors only: train's config.json has no key
    return j;
  }
  size_t begin(const StageInput&) override { return 0; }

  StageOutput run(const StageInput& input) override {
    StageOutput out;
    const base::Stopwatch clock;
    const size_t blocks = input.net.blocks().size();
    // Called before each block's game is built, after the previous block's is gone: that game's
    // buffers (its sample's activations: 33.5 MB for conv1 of `reference` at 256 images) are given
    // back rather than kept in the heap under the next block's.
    auto on_block = [&](const std::string& block, size_t done) {
      base::return_free_memory();
      if (input.progress && *input.progress)
        (*input.progress)({"zeta", block, double(done) / double(blocks),
                           std::max(0.0, double(blocks) * input.settings.zeta.budget_seconds - clock.seconds())});
    };
    out.document = zeta_analysis(input.net, input.test, input.images, input.settings.grid, input.settings.zeta, on_block);
    // The images the games are played on: min(--zeta-samples, pool), or with confusion:A:B only class
    // A's among the pool, as zeta_analysis counts its sample.
    out.images = out.document["eval_samples"].get<size_t>();
    return out;
  }

  std::string summary(const nlohmann::ordered_json& zeta) const override {
    std::string text;
    for (const auto& [name, layer] : zeta["layers"].items()) {
      text += "  " + name + ": " + layer["method"].get<std::string>() + ", " +
              std::to_string(layer["permutations"].get<long>()) + " permutations, stopped by " +
              layer["stopped_by"].get<std::string>() + base::format(", critical share %.2f", layer["critical_share"].get<double>());
      const auto& critical = layer["critical_regions"];
      if (!critical.empty()) {
        const std::string top = critical[0].get<std::string>();
        text += ", top " + top + base::format(" (zeta %.2f)", layer["regions"][top]["zeta_score"].get<double>());
      }
      text += base::format(", %.2f s\n", layer["seconds"].get<double>());
    }
    return text;
  }

  // "critical 12 of 1060 regions, top conv1 grid_3_4_1 zeta 3.12": the critical regions of every
  // layer over all their regions, and the one of highest ζ (first in layer order on a tie) over the
  // layers that play their own game (a layer with same_game_as repeats that layer's ζ; the report's
  // top regions rank each game once too).  When the
  // budget cut some layer's sample short (a slow or busy machine), ", zeta from 2 of 256 images in 5
  // blocks (--zeta-budget ran out)": the fewest images any layer covers and how many layers were cut.
  std::string digest(const nlohmann::ordered_json& zeta) const override {
    size_t critical = 0, regions = 0, cut = 0;
    const size_t sample = zeta.value("eval_samples", size_t(0));
    size_t fewest = sample;
    std::string top_layer, top_region;
    double top_zeta = 0;
    for (const auto& [name, layer] : zeta["layers"].items()) {
      const size_t covered = layer.value("eval_samples", sample);
      if (covered < sample) ++cut, fewest = std::min(fewest, covered);
      regions += layer["regions"].size();
      critical += layer["critical_regions"].size();
      if (layer["critical_regions"].empty() || layer.contains("same_game_as")) continue;
      const std::string key = layer["critical_regions"][0].get<std::string>();  // sorted by ζ
      const double z = layer["regions"][key]["zeta_score"].get<double>();
      if (top_layer.empty() || z > top_zeta) top_layer = name, top_region = key, top_zeta = z;
    }
    std::string text = "critical " + std::to_string(critical) + " of " + std::to_string(regions) + " regions";
    if (!top_layer.empty()) text += ", top " + top_layer + " " + top_region + base::format(" zeta %.2f", top_zeta);
    if (cut > 0)
      text += ", zeta from " + std::to_string(fewest) + " of " + std::to_string(sample) + " images in " + std::to_string(cut) +
              (cut == 1 ? " block" : " blocks") + " (--zeta-budget ran out)";
    return text;
  }
};

}  // namespace

NNFMRI_REGISTER_STAGE(ZetaStage, 20);

}  // namespace imaging
