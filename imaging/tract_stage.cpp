// imaging/tract_stage.cpp — tractography (imaging/tract.h) as a registered stage: the flows between
// the regions of every pair of linked blocks, from the first --tract-samples images of the streamed
// pass → tract.json.
#include <algorithm>
#include <optional>
#include <string>

#include "base/format.h"
#include "imaging/stage.h"
#include "imaging/tract.h"
#include "run/layout.h"

namespace imaging {

namespace {

class TractStage : public Stage {
 public:
  std::string name() const override { return "tract"; }
  std::string file() const override { return run::kTractFile; }
  void validate(const AnalysisSettings& s) const override { imaging::validate(s.tract); }
  void check_net(const nn::Network& net) const override { check_tract_net(NetView(net)); }
  nlohmann::ordered_json describe(const AnalysisSettings& s) const override {
    return {{"samples", s.tract.samples}, {"top", s.tract.top}, {"chains", s.tract.chains}};
  }

  size_t begin(const StageInput& input) override {
    // settings.samples in tract.json is the number asked for (as in zeta.json); eval_samples the number used.
    settings_ = input.settings.tract;
    images_ = std::min(settings_.samples, input.images);
    flows_.emplace(input.net, input.view, input.settings.grid, settings_, images_);
    if (input.settings.ranks) flows_->spread_over(*input.settings.ranks);  // pair e on rank e mod P
    return images_;
  }
  void on_block(const EvalBatch& batch, const nn::BlockView& block) override { flows_->on_block(batch, block); }
  void on_batch_end(const EvalBatch& batch) override { flows_->on_batch_end(batch); }

  StageOutput run(const StageInput& input) override {
    StageOutput out;
    out.images = images_;
    flows_->share();
    out.document = tract_document(input.view, flows_->pairs(), input.settings.grid, settings_);
    return out;
  }

  // Per pair its raw connection_strength C (summed over every receiving unit: the report divides it
  // by the receiving layer's units for its "strength per receiving unit"), and the efficiency.
  std::string summary(const nlohmann::ordered_json& tract) const override {
    std::string text;
    for (const auto& [key, pair] : tract["pairs"].items())
      text += "  " + pair["from"].get<std::string>() + " -> " + pair["to"].get<std::string>() +
              base::format(": connection_strength %.4g", pair["connection_strength"].get<double>()) +
              base::format(", efficiency %.3f\n", pair["pathway_efficiency"].get<double>());
    const auto& network = tract["network"];
    text += base::format("  path_strength %.4g", network["path_strength"].get<double>());
    if (!network["chains"].empty()) {
      text += ", strongest chain:";
      for (const auto& r : network["chains"][0]["regions"])
        text += " " + r["layer"].get<std::string>() + ":" + r["region"].get<std::string>();
    }
    return text + "\n";
  }
  // Nothing: a flow's size means little without the receiving layer's size (the report's strength).
  std::string digest(const nlohmann::ordered_json&) const override { return ""; }

 private:
  TractSettings settings_;
  size_t images_ = 0;
  std::optional<FlowAccumulator> flows_;
};

}  // namespace

NNFMRI_REGISTER_STAGE(TractStage, 30);

}  // namespace imaging
