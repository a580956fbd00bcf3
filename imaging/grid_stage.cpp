// imaging/grid_stage.cpp — the grid stage (imaging/grid_stats.h) as a registered stage: density and
// information of every region of every block, from every image of the streamed pass → grid.json.
// It always runs: the report reads every layer's shape and grid from grid.json.
#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "imaging/grid_stats.h"
#include "base/format.h"
#include "imaging/stage.h"
#include "run/layout.h"

namespace imaging {

namespace {

class GridStage : public Stage {
 public:
  std::string name() const override { return "grid"; }
  std::string file() const override { return run::kGridFile; }
  bool always_runs() const override { return true; }
  void validate(const AnalysisSettings&) const override {}  // grid, lambda, epsilon, bins: the analysis's own
  nlohmann::ordered_json describe(const AnalysisSettings&) const override { return nullptr; }  // likewise

  size_t begin(const StageInput& input) override {
    const AnalysisSettings& s = input.settings;
    accumulator_.emplace(input.net, GridSettings{s.grid, s.lambda, s.epsilon, s.bins}, input.images);
    return input.images;
  }
  void on_block(const EvalBatch& batch, const nn::BlockView& block) override { accumulator_->add(batch, block); }

  StageOutput run(const StageInput& input) override {
    result_ = accumulator_->finish(input.test);
    accumulator_.reset();  // the φ table of every region and image
    const AnalysisSettings& s = input.settings;
    StageOutput out;
    out.images = input.images;
    out.document["settings"] = {
        {"grid", {s.grid.gh, s.grid.gw, s.grid.gc}}, {"lambda", s.lambda}, {"epsilon", s.epsilon}, {"bins", s.bins}};
    out.document["layers"] = grid_layers_json(result_);
    return out;
  }

  // One line per layer: coverage and the three regions with the most information (ties: region order).
  std::string summary(const nlohmann::ordered_json&) const override {
    std::string text;
    for (const LayerGridStats& layer : result_.layers) {
      std::vector<int> order(layer.regions.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return layer.regions[a].information_bits > layer.regions[b].information_bits;
      });
      double null_max = 0;
      for (const RegionStats& s : layer.regions) null_max = std::max(null_max, s.information_null_bits);
      text += "  " + layer.name + ": coverage " + base::format("%.2f", layer.coverage) + ", most informative";
      for (size_t t = 0; t < std::min<size_t>(3, order.size()); ++t)
        text += (t ? ", " : " ") + layer.grid.key(order[t]) + base::format(" %.3f bits", layer.regions[order[t]].information_bits);
      text += base::format(" (null up to %.3f)\n", null_max);
    }
    return text;
  }

  // "coverage 0.91": the share of all regions of all imaged layers with active_fraction ≥ 0.05
  // (each layer's coverage weighted by its region count).
  std::string digest(const nlohmann::ordered_json&) const override {
    double active = 0, regions = 0;
    for (const LayerGridStats& layer : result_.layers) {
      active += layer.coverage * double(layer.regions.size());
      regions += double(layer.regions.size());
    }
    return regions > 0 ? base::format("coverage %.2f", active / regions) : "";
  }

 private:
  std::optional<GridAccumulator> accumulator_;
  GridResult result_;
};

}  // namespace

NNFMRI_REGISTER_STAGE(GridStage, 10);

}  // namespace imaging
