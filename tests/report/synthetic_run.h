// tests/report/synthetic_run.h — a small synthetic run directory (3 layers, 3 epochs of metrics, analyses
// of epochs 1 and 2) for the tests of report/ and serve/, written without training.
#pragma once
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace synthetic {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

struct LayerSpec {
  std::string name;
  int h, w, c, gh, gw, gc;
  int count() const { return gh * gw * gc; }
  std::string key(int r) const {
    return "grid_" + std::to_string(r / (gc * gw) + 1) + "_" + std::to_string((r / gc) % gw + 1) + "_" + std::to_string(r % gc + 1);
  }
};

// conv1 (4×4×4, grid 2×2×2) → pool1 (2×2×4, grid 2×2×2) → output (1×1×3, grid 1×1×3): L = 3.
inline const std::vector<LayerSpec> kLayers = {{"conv1", 4, 4, 4, 2, 2, 2}, {"pool1", 2, 2, 4, 2, 2, 2}, {"output", 1, 1, 3, 1, 1, 3}};

// ζ of layer l, region r at an epoch: a fixed pattern; epoch 2 reverses conv1's order.
// (count: the layer's regions, kLayers[l]'s by default)
inline double synthetic_zeta(int epoch, size_t l, int r, int count = -1) {
  if (count < 0) count = kLayers[l].count();
  // conv1 of kLayers has 8 regions; a layer of more repeats every 64 (|ζ| ≤ 64, as report reads it)
  if (l == 0) return epoch == 1 ? 0.5 * (r % 64) - 1.5 : 2.0 - 0.5 * (r % 64);
  return std::sin(1.0 + r + 3 * double(l)) * 2 + 0.1 * epoch + (r == count - 1 ? 1.5 : 0);
}

inline Json grid_json(int epoch, const std::vector<LayerSpec>& specs = kLayers) {
  Json layers = Json::object();
  for (size_t l = 0; l < specs.size(); ++l) {
    const LayerSpec& s = specs[l];
    Json regions = Json::object();
    for (int r = 0; r < s.count(); ++r)
      regions[s.key(r)] = {{"density", 0.1 * r + 0.01 * epoch - 0.3 * double(l)},
                           {"variance", 0.2 + 0.01 * r},
                           {"activation_count", s.h * s.w * s.c / s.count()},
                           {"mean_abs", 0.05 * r},
                           {"active_fraction", r == 0 ? 0.01 : 0.8},
                           {"information_bits", 0.2 + 0.05 * r},
                           {"information_null_bits", 0.05}};
    layers[s.name] = {{"shape", {s.h, s.w, s.c}}, {"grid", {s.gh, s.gw, s.gc}}, {"coverage", 0.875},
                      {"dead_regions", l == 0 ? Json::array({s.key(0)}) : Json::array()}, {"regions", regions}};
  }
  return {{"model", "tiny"}, {"epoch", epoch}, {"dataset", {{"name", "synthetic"}}}, {"eval_samples", 64},
          {"settings", {{"grid", {2, 2, 2}}, {"lambda", 0.1}, {"epsilon", 1e-6}, {"bins", 8}}}, {"layers", layers}};
}

inline Json zeta_json(int epoch, const std::vector<LayerSpec>& specs = kLayers) {
  Json layers = Json::object();
  for (size_t l = 0; l < specs.size(); ++l) {
    const LayerSpec& s = specs[l];
    Json regions = Json::object(), critical = Json::array();
    int best = 0;
    for (int r = 0; r < s.count(); ++r) {
      const double z = synthetic_zeta(epoch, l, r, s.count());
      if (z > synthetic_zeta(epoch, l, best, s.count())) best = r;
      regions[s.key(r)] = {{"zeta_score", z}, {"confidence_interval", {z - 0.5, z + 0.5}}, {"significance", z >= 2},
                           {"shapley", 0.01 * z}, {"shapley_ci", {0.01 * z - 0.005, 0.01 * z + 0.005}},
                           {"p_value", z >= 2 ? 0.001 : 0.5}, {"lesion", 0.02 * z}, {"taylor", 0.03 * z}};
      if (z >= 2) critical.push_back(s.key(r));
    }
    layers[s.name] = {{"method", "shapley"}, {"value_function", "logprob"}, {"ablation", "zero"}, {"eval_samples", 32},
                      {"regions", regions}, {"critical_regions", critical},
                      {"critical_share", double(critical.size()) / s.count()}};
  }
  return {{"model", "tiny"}, {"epoch", epoch}, {"settings", {{"method", "shapley"}}}, {"layers", layers}};
}

// Strengths chosen so that the per-unit normalisation reorders the pairs: conv1→pool1 has the
// larger raw C (16 receiving units) but pool1→output the larger C per receiving unit (3 units).
inline Json tract_json() {
  const LayerSpec &a = kLayers[0], &b = kLayers[1], &c = kLayers[2];
  Json flows01 = Json::array(), flows12 = Json::array();
  for (int r = 0; r < a.count(); ++r) flows01.push_back({a.key(r), b.key(r), 1.0 + r});
  for (int r = 0; r < b.count(); ++r) flows12.push_back({b.key(r), c.key(r % c.count()), 0.5 + r});
  Json pairs = {{"layer_0_to_1", {{"from", "conv1"}, {"to", "pool1"}, {"connection_strength", 32.0},
                                  {"critical_pathways", {"grid_2_2_2 → grid_2_2_2"}}, {"pathway_efficiency", 0.4},
                                  {"connected_pairs", 8}, {"flows", flows01}}},
                {"layer_1_to_2", {{"from", "pool1"}, {"to", "output"}, {"connection_strength", 30.0},
                                  {"critical_pathways", {"grid_2_2_2 → grid_1_1_2"}}, {"pathway_efficiency", 0.7},
                                  {"connected_pairs", 24}, {"flows", flows12}}}};
  Json chain = {{"regions", {{{"layer", "conv1"}, {"region", "grid_2_2_2"}}, {{"layer", "pool1"}, {"region", "grid_2_2_2"}},
                             {{"layer", "output"}, {"region", "grid_1_1_2"}}}},
                {"score", -1.25}};
  return {{"eval_samples", 64}, {"settings", {{"grid", {2, 2, 2}}}}, {"pairs", pairs},
          {"network", {{"path_strength", 62.0}, {"chains", {chain}}}}};
}

inline void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// config.json, metrics.jsonl (3 epochs) and analysis for epochs 1 and 2.
inline void write_run(const fs::path& dir, const std::string& class_name = "cat") {
  Json config = {{"version", "0.1.0"}, {"model", "tiny"}, {"spec", "conv3x3:4 relu maxpool2 linear:3"},
                 {"data", {{"spec", "synthetic"}, {"name", "synthetic"}, {"files", {{{"path", "/data/x.bin"}, {"sha256", "ab12"}}}},
                           {"train_images", 100}, {"test_images", 50}, {"classes", {class_name, "dog", "bird"}}}},
                 {"epochs", 3}, {"batch", 16}, {"seed", 1}, {"threads", 2}, {"optimizer", {{"kind", "sgd"}}},
                 {"schedule", {{"kind", "cosine"}}}, {"analyze_every", 1}};
  write(dir / "config.json", config.dump(2));
  std::string metrics;
  for (int e = 1; e <= 3; ++e)
    metrics += Json({{"epoch", e}, {"train_loss", 2.0 / e}, {"train_acc", 0.2 * e}, {"test_loss", 2.1 / e}, {"test_acc", 0.15 * e},
                     {"learning_rate", 0.01}, {"seconds", 1.5}, {"train_seconds", 1.2}, {"train_images_per_s", 80.0}})
                   .dump() + "\n";
  write(dir / "metrics.jsonl", metrics);
  for (int e = 1; e <= 2; ++e) {
    const fs::path a = dir / "analysis" / ("epoch_00" + std::to_string(e));
    write(a / "grid.json", grid_json(e).dump(1));
    write(a / "zeta.json", zeta_json(e).dump(1));
    write(a / "tract.json", tract_json().dump(1));
  }
}

}  // namespace synthetic
