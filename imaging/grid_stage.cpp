// imaging/grid_stage.cpp — the grid stage (imaging/grid_stats.h) as a registered stage: density and
// information of every region of every block, from every image of the streamed pass → grid.json.
// It always runs: the report reads every layer's shape, grid and receptive fields, and the
// evaluation images, from grid.json (the images from the newest grid.json that has them: a training
// run writes them in its first analysed epoch only, AnalysisContext::write_images).
#include <algorithm>
#include <cmath>
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

// grid.json's "images": what the evaluation images look like, so that the report can draw regions
// on them (README "Reading the report"):
//   shape     [C, H, W] of the network input;
//   mean      the mean image of the evaluation set (test images 0 … N−1), C·H·W values in (C, H, W)
//             order, 0–255, rounded to 0.1;
//   examples  the first evaluation images, {index, label, pixels}: C·H·W integers 0–255, (C, H, W)
//             order; at most kMaxExamples, and only as many as keep the block under kMaxImageValues
//             numbers (a 224×224×3 input gets 1; an input of more than kMaxImageValues values gets
//             no example and no mean).
constexpr size_t kMaxExamples = 6;
constexpr size_t kMaxImageValues = 250000;

nlohmann::ordered_json images_json(const nn::LabeledImages& test, size_t images) {
  const size_t size = test.image_size();
  images = std::min(images, test.count);
  const size_t slots = size ? kMaxImageValues / size : 0;  // the mean takes one slot
  nlohmann::ordered_json out = {{"shape", {test.channels, test.height, test.width}}}, mean = nullptr,
                         examples = nlohmann::ordered_json::array();
  if (slots >= 1 && images > 0) {
    std::vector<double> sum(size, 0.0);
    for (size_t i = 0; i < images; ++i) {
      const uint8_t* px = test.image(i);
      for (size_t v = 0; v < size; ++v) sum[v] += px[v];
    }
    mean = nlohmann::ordered_json::array();
    for (double s : sum) mean.push_back(std::round(10.0 * s / double(images)) / 10.0);
    for (size_t i = 0; i < std::min({kMaxExamples, slots - 1, images}); ++i) {
      const uint8_t* px = test.image(i);
      examples.push_back({{"index", i}, {"label", test.labels[i]}, {"pixels", std::vector<int>(px, px + size)}});
    }
  }
  out["mean"] = std::move(mean);
  out["examples"] = std::move(examples);
  return out;
}

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
    if (spread(s)) accumulator_->hold();
    return input.images;
  }
  // Spread over ranks: this rank's batches of the pass; run() shares them (GridAccumulator::share).
  bool reads_own_batches() const override { return true; }
  void on_block(const EvalBatch& batch, const nn::BlockView& block) override { accumulator_->add(batch, block); }

  StageOutput run(const StageInput& input) override {
    if (spread(input.settings)) accumulator_->share(*input.settings.ranks, input.settings.batch);
    result_ = accumulator_->finish(input.test);
    accumulator_.reset();  // the φ table of every region and image
    const AnalysisSettings& s = input.settings;
    StageOutput out;
    out.images = input.images;
    out.document["settings"] = {
        {"grid", {s.grid.gh, s.grid.gw, s.grid.gc}}, {"lambda", s.lambda}, {"epsilon", s.epsilon}, {"bins", s.bins}};
    out.document["layers"] = grid_layers_json(result_);
    // Where each row block and column block of a layer lies on the input image: the pixels its
    // units read (NetView::input_span), half-open [first, last + 1), for the report's overlays.
    for (size_t b = 0; b < result_.layers.size(); ++b) {
      const run::RegionGrid& g = result_.layers[b].grid;
      nlohmann::ordered_json rows = nlohmann::ordered_json::array(), cols = nlohmann::ordered_json::array();
      for (int i = 0; i < g.gh; ++i) rows.push_back(input.view.input_span(int(b), true, g.rows(i).begin, g.rows(i).end));
      for (int j = 0; j < g.gw; ++j) cols.push_back(input.view.input_span(int(b), false, g.cols(j).begin, g.cols(j).end));
      out.document["layers"][result_.layers[b].name]["receptive_field"] = {{"rows", rows}, {"cols", cols}};
    }
    if (input.write_images) out.document["images"] = images_json(input.test, input.images);
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
  static bool spread(const AnalysisSettings& s) { return s.ranks && s.ranks->ranks() > 1; }
  std::optional<GridAccumulator> accumulator_;
  GridResult result_;
};

}  // namespace

NNFMRI_REGISTER_STAGE(GridStage, 10);

}  // namespace imaging
