#include "report/report_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/format.h"
#include "run/json.h"
#include "run/layout.h"
#include "run/manifest.h"
#include "base/fileio.h"
#include "base/limits.h"
#include "base/sha256.h"

namespace report {
namespace {

using run::Json;
using run::Node;
using run::parse_json;
using run::read_optional_json;
namespace fs = std::filesystem;

std::vector<MetricsRow> read_metrics(const std::string& path) {
  std::map<int, MetricsRow> by_epoch;
  std::istringstream lines(base::read_file(path));
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    const Json row = parse_json(line, where);
    const Node n(row, where, "");
    MetricsRow m;
    m.epoch = n["epoch"].integer(0, 1000000);
    // Losses (cross-entropy), a learning rate, times and rates are never negative.
    m.train_loss = n["train_loss"].number(0, base::kUnbounded);
    m.train_acc = n["train_acc"].number(0, 1);
    m.test_loss = n["test_loss"].number(0, base::kUnbounded);
    m.test_acc = n["test_acc"].number(0, 1);
    m.learning_rate = n.optional_number("learning_rate", 0, base::kUnbounded);
    m.seconds = n.optional_number("seconds", 0, base::kUnbounded);
    m.train_images_per_s = n.optional_number("train_images_per_s", 0, base::kUnbounded);
    m.analysis_seconds = n.optional_number("analysis_seconds", 0, base::kUnbounded);
    by_epoch[m.epoch] = m;
  }
  std::vector<MetricsRow> out;
  for (const auto& [epoch, row] : by_epoch) out.push_back(row);
  return out;
}

constexpr double kMaxZeta = 64;  // √base::kMaxGridRegions
static_assert(kMaxZeta * kMaxZeta == base::kMaxGridRegions);

// A run's class names (config.json's or an analysis's data.classes): at most base::kMaxClasses, as every
// data set nnfmri reads has, so the confusion matrix (classes² cells) stays small.
std::vector<std::string> read_class_names(const Node& classes) {
  if (classes.array_size() > size_t(base::kMaxClasses))
    classes.fail("at most " + std::to_string(base::kMaxClasses) + " class names (a label is one byte)");
  std::vector<std::string> names;
  for (size_t c = 0; c < classes.array_size(); ++c) names.push_back(classes[c].text());
  return names;
}

struct RawEpoch {
  int epoch = 0;
  std::string dir, grid_path, zeta_path, tract_path;
  std::optional<Json> grid, zeta, tract;
  Json checkpoint;  // check_one_checkpoint's

  // The files read, grid.json's first, then zeta.json's and tract.json's.
  std::vector<Node> files() const {
    std::vector<Node> out;
    for (const auto& [doc, path] : {std::pair{&grid, &grid_path}, {&zeta, &zeta_path}, {&tract, &tract_path}})
      if (*doc) out.emplace_back(**doc, *path, "");
    return out;
  }
};

// The epoch directory's grid.json, zeta.json and tract.json, those that exist.
void read_epoch_files(RawEpoch& e) {
  e.grid_path = e.dir + "/" + run::kGridFile;
  e.zeta_path = e.dir + "/" + run::kZetaFile;
  e.tract_path = e.dir + "/" + run::kTractFile;
  e.grid = read_optional_json(e.grid_path);
  e.zeta = read_optional_json(e.zeta_path);
  e.tract = read_optional_json(e.tract_path);
}

// The files of one analysed epoch describe one checkpoint.  A file's "checkpoint", where it names one,
// is {"path": a string, "sha256": 64 lower-case hex digits}.  The files that state an epoch, a model or a
// checkpoint state the first's (grid.json, then zeta.json, then tract.json), except that in a run's
// analysis/epoch_NNN (`epoch_from_directory`) every stated epoch is NNN: a file left there by `analyze --out
// RUN/analysis/epoch_001` of another checkpoint, even while the run trains, is never drawn as epoch NNN.
// Anything else is one line naming the file and key that differ and what was expected.  Returns the
// checkpoint as the first file naming one states it, nothing when none does (a training run's files).
std::optional<Node> check_one_checkpoint(const RawEpoch& e, bool epoch_from_directory) {
  const std::vector<Node> files = e.files();
  for (const Node& file : files)
    if (const std::optional<Node> c = file.find("checkpoint")) {
      (void)(*c)["path"].text();  // a string (else one line)
      if (const std::string problem = base::sha256_text_problem((*c)["sha256"].text()); !problem.empty())
        (*c)["sha256"].reject(problem);
    }
  std::optional<Node> checkpoint;
  for (const std::string key : {"epoch", "model", "checkpoint"}) {
    std::optional<Node> first;
    for (const Node& file : files) {
      const std::optional<Node> value = file.find(key);
      if (!value) continue;
      if (key == "epoch" && epoch_from_directory) {
        if (value->integer(0, 1000000) != e.epoch)
          value->reject(base::json_text_capped(value->json(), 300) + ", expected " + std::to_string(e.epoch) +
                        " (the epoch of its directory's name)");
      } else if (!first) {
        first = value;
      } else if (value->json() != first->json()) {
        value->reject(base::json_text_capped(value->json(), 300) + ", expected " +
                      base::json_text_capped(first->json(), 300) + " as " + first->file() +
                      " says (the files of one analysed checkpoint)");
      }
    }
    if (key == "checkpoint") checkpoint = first;
  }
  return checkpoint;
}

// A run's analysis/epoch_NNN holding files that name a checkpoint (an `analyze --out` there; a training
// run's own files name none) images that run's epoch NNN: the digest is that of checkpoints/epoch_NNN.ckpt,
// else one line naming the file and both digests (another net's imaging is never drawn beside the run's
// metrics as its epoch NNN).  A run without that checkpoint file cannot confirm it: a note says so.
void check_run_checkpoint(int epoch, const Node& checkpoint, const std::string& run_checkpoint,
                          std::vector<std::string>& notes) {
  const Node sha = checkpoint["sha256"];
  const std::string named = sha.text();
  if (!base::file_exists(run_checkpoint)) {
    notes.push_back("epoch " + std::to_string(epoch) + ": its analysis names checkpoint " + named.substr(0, 12) +
                    "…, and the run has no checkpoints/" + fs::path(run_checkpoint).filename().string() +
                    " to confirm it is this run's");
    return;
  }
  if (const std::string own = base::sha256_file(run_checkpoint, base::kMaxCheckpointBytes); own != named)
    sha.reject("'" + named + "', expected '" + own + "', the SHA-256 of " + run_checkpoint +
               " (an analysis in a run's epoch directory images that epoch's checkpoint)");
}

// grid.json's "images", checked before the page inlines it: every size is checked against the shape before
// anything is read, so a hostile file costs no more than its own bytes.
Json read_images(const Node& root) {
  const std::array<int, 3> shape = root["shape"].triple(4096);
  const long long size = 1LL * shape[0] * shape[1] * shape[2];
  if (size > 1LL << 22) root["shape"].reject("an image of " + std::to_string(size) + " values, expected at most 4194304");
  auto pixels = [&](const Node& values, bool integers) {
    if (values.array_size() != size_t(size))
      values.fail("an array of " + std::to_string(size) + " pixel values (the shape's C·H·W)");
    for (size_t v = 0; v < size_t(size); ++v) {
      const Node value = values[v];
      if (integers) value.integer(0, 255);
      else if (double x = value.number(); x < 0 || x > 255) value.fail("a pixel value 0 … 255");
    }
  };
  if (!root["mean"].json().is_null()) pixels(root["mean"], false);
  const Node examples = root["examples"];
  if (examples.array_size() > 16) examples.fail("at most 16 example images");
  for (size_t i = 0; i < examples.array_size(); ++i) {
    examples[i]["index"].integer(0, 1LL << 40);
    examples[i]["label"].integer(0, 255);
    pixels(examples[i]["pixels"], true);
  }
  return {{"shape", shape}, {"mean", root["mean"].json()}, {"examples", examples.json()}};
}

// analysis/epoch_<digits> directories up to last_epoch, as `selection` picks them (RunSelection),
// numerically ascending.
// last_epoch < 0: all of them.  A directory named epoch_… that is no epoch name (epoch_2000000,
// epoch_3b) is not read, and `notes` says so (it was skipped without a word).
std::vector<RawEpoch> read_epochs(const std::string& run_dir, int last_epoch, const RunSelection& selection,
                                  std::vector<std::string>& notes) {
  const size_t latest_with_zeta = selection.latest_with_zeta;
  std::vector<RawEpoch> epochs;
  const fs::path analysis = run::Layout(run_dir).analyses();
  std::error_code ec;
  if (!fs::is_directory(analysis, ec)) return epochs;
  for (const fs::directory_entry& entry : fs::directory_iterator(analysis, ec)) {
    const std::string name = entry.path().filename().string();
    const std::optional<int> epoch = run::parse_epoch_name(name);
    if (!epoch && name.rfind("epoch_", 0) == 0 && entry.is_directory(ec))
      notes.push_back("analysis/" + base::one_line(name) + ": not read (an analysed epoch's directory is epoch_N, N of 1 to 6 digits)");
    if (!epoch || (last_epoch >= 0 && *epoch > last_epoch) || !entry.is_directory(ec)) continue;
    RawEpoch e;
    e.epoch = *epoch;
    e.dir = entry.path().string();
    epochs.push_back(std::move(e));
  }
  if (ec) throw base::Error(analysis.string() + ": cannot list the directory (" + ec.message() + ")");
  std::sort(epochs.begin(), epochs.end(), [](const RawEpoch& a, const RawEpoch& b) { return a.epoch < b.epoch; });
  for (size_t i = 1; i < epochs.size(); ++i)
    if (epochs[i].epoch == epochs[i - 1].epoch)
      throw base::Error(epochs[i].dir + ": epoch " + std::to_string(epochs[i].epoch) + " has two directories (" +
                      epochs[i - 1].dir + ")");
  if (latest_with_zeta > 0) {
    std::vector<RawEpoch> kept;
    for (auto e = epochs.rbegin(); e != epochs.rend() && kept.size() < latest_with_zeta; ++e)
      if (base::file_exists(e->dir + "/" + run::kZetaFile)) kept.insert(kept.begin(), std::move(*e));
    epochs = std::move(kept);
  }
  for (RawEpoch& e : epochs) {
    read_epoch_files(e);
    if (const std::optional<Node> checkpoint = check_one_checkpoint(e, true)) {
      e.checkpoint = checkpoint->json();
      check_run_checkpoint(e.epoch, *checkpoint, run::Layout(run_dir).checkpoint(e.epoch), notes);
    }
  }
  return epochs;
}

// DIR as `nnfmri analyze --out DIR` leaves it: the files of one analysed epoch directly in DIR, and
// no config.json, metrics.jsonl or analysis/.  The epoch is the one the files' common header names
// (grid.json's, else zeta.json's, else tract.json's); std::nullopt when DIR is not such a directory.
std::optional<RawEpoch> read_analyze_output(const std::string& dir) {
  const run::Layout layout(dir);
  std::error_code ec;
  if (base::file_exists(layout.config()) || base::file_exists(layout.metrics()) || fs::exists(layout.analyses(), ec))
    return std::nullopt;
  RawEpoch e;
  e.dir = dir;
  read_epoch_files(e);
  const std::optional<Json>& first = e.grid ? e.grid : e.zeta ? e.zeta : e.tract;
  if (!first) return std::nullopt;
  const std::string& path = e.grid ? e.grid_path : e.zeta ? e.zeta_path : e.tract_path;
  const Node head(*first, path, "");
  e.epoch = int(head["epoch"].integer(0, 1000000));
  if (const std::optional<Node> checkpoint = check_one_checkpoint(e, false)) e.checkpoint = checkpoint->json();
  return e;
}

struct Geometry {
  int height = 0, width = 0, channels = 0, gh = 0, gw = 0, gc = 0;
  bool shape_known = false;
  // Without lookup tables: a reader needs only the cuts, and a table per (epoch, layer) of a hostile
  // shape such as [4194304, 1, 1] would cost 16 MB each.
  run::RegionGrid grid() const {
    return shape_known ? run::RegionGrid(height, width, channels, {gh, gw, gc}, false)
                       : run::RegionGrid(gh, gw, gc, {gh, gw, gc}, false);
  }
};

// A grid.json layer's shape and clamped grid, within the limits of run/region_grid.h.
Geometry grid_geometry(const Node& layer) {
  Geometry g;
  const Node shape_node = layer["shape"];
  const std::array<int, 3> shape = shape_node.triple(int(base::kMaxLayerUnits));
  const Node grid = layer["grid"];
  const std::array<int, 3> cells = grid.triple(base::kMaxGridAxis);
  for (int d = 0; d < 3; ++d)
    if (cells[d] > shape[d]) grid.fail("a grid no finer than the layer's shape [" + std::to_string(shape[0]) + "," +
                                       std::to_string(shape[1]) + "," + std::to_string(shape[2]) + "]");
  const std::string problem = run::grid_limit_problem(shape[0], shape[1], shape[2], {cells[0], cells[1], cells[2]});
  if (!problem.empty()) (problem.rfind("layer", 0) == 0 ? shape_node : grid).reject(problem);
  g.height = shape[0], g.width = shape[1], g.channels = shape[2];
  g.gh = cells[0], g.gw = cells[1], g.gc = cells[2];
  g.shape_known = true;
  return g;
}

class RunReader {
 public:
  explicit RunReader(RunData& run) : run_(run) {}

  void read(std::vector<RawEpoch>& raw) {
    // Layer order and geometry first, so that every epoch's regions are indexed the same way.
    for (const RawEpoch& e : raw)
      if (e.grid) {
        const Node root(*e.grid, e.grid_path, "");
        for (const auto& [name, layer] : root["layers"].members()) {
          add_layer(name);
          newest_[name] = grid_geometry(layer);
        }
      }
    for (const RawEpoch& e : raw)
      if (e.zeta)
        for (const auto& [name, layer] : Node(*e.zeta, e.zeta_path, "")["layers"].members()) {
          add_layer(name);
          if (auto grid = layer.find("grid")) cover(name, *grid);
          if (auto regions = layer.find("regions"))
            for (const auto& [key, region] : regions->members()) widen(name, key, region);
        }
    for (const RawEpoch& e : raw)
      if (e.tract) scan_tract_keys(Node(*e.tract, e.tract_path, ""));
    for (RawEpoch& e : raw) run_.epochs.push_back(read_epoch(e));
  }

 private:
  void add_layer(const std::string& name) {
    if (std::find(run_.layers.begin(), run_.layers.end(), name) == run_.layers.end()) run_.layers.push_back(name);
  }
  int layer_index(const std::string& name) const {
    return int(std::find(run_.layers.begin(), run_.layers.end(), name) - run_.layers.begin());
  }

  // Grows the inferred grid of a layer with no grid.json to cover `key`, within the grid limits.
  void widen(const std::string& layer, const std::string& key, const Node& where) {
    int i0, j0, k0;
    if (!parse_region_key(key, i0, j0, k0)) where.fail("a region named grid_i_j_k (1-based integers)");
    if (std::max({i0, j0, k0}) >= base::kMaxGridAxis)
      where.reject("region " + key + ": expected indices from 1 to " + std::to_string(base::kMaxGridAxis));
    Geometry& g = inferred_[layer];
    const int gh = std::max(g.gh, i0 + 1), gw = std::max(g.gw, j0 + 1), gc = std::max(g.gc, k0 + 1);
    if (int64_t(gh) * gw * gc > base::kMaxGridRegions)
      where.reject("region " + key + " makes " + layer + "'s grid " + std::to_string(gh) + "x" + std::to_string(gw) + "x" +
                   std::to_string(gc) + ", expected at most " + std::to_string(base::kMaxGridRegions) + " regions");
    g.gh = gh, g.gw = gw, g.gc = gc;
  }

  // Grows the inferred grid of a layer with no grid.json to a zeta.json layer's grid: [GH, GW, GC]
  // (the one grid encoding of every file); zeta.json files written before 2026-11-30 hold the
  // string "GHxGWxGC" there, which is accepted and left to the region keys.
  void cover(const std::string& layer, const Node& grid) {
    if (grid.json().is_string()) return;
    if (!grid.json().is_array()) grid.fail("the layer's grid [GH, GW, GC]");
    const std::array<int, 3> cells = grid.triple(base::kMaxGridAxis);
    Geometry& g = inferred_[layer];
    const int gh = std::max(g.gh, cells[0]), gw = std::max(g.gw, cells[1]), gc = std::max(g.gc, cells[2]);
    if (int64_t(gh) * gw * gc > base::kMaxGridRegions)
      grid.reject("makes " + layer + "'s grid " + std::to_string(gh) + "x" + std::to_string(gw) + "x" + std::to_string(gc) +
                  ", expected at most " + std::to_string(base::kMaxGridRegions) + " regions");
    g.gh = gh, g.gw = gw, g.gc = gc;
  }

  void scan_tract_keys(const Node& root) {
    if (auto pairs = root.find("pairs"))
      for (const auto& [key, pair] : pairs->members()) {
        const std::string from = pair["from"].text(), to = pair["to"].text();
        add_layer(from);
        add_layer(to);
        if (auto flows = pair.find("flows"))
          for (size_t f = 0; f < flows->array_size(); ++f) {
            const Node flow = (*flows)[f];
            if (flow.array_size() != 3) flow.fail("[from_region, to_region, value]");
            widen(from, flow[0].text(), flow[0]);
            widen(to, flow[1].text(), flow[1]);
          }
      }
    if (auto network = root.find("network"))
      if (auto chains = network->find("chains"))
        for (size_t c = 0; c < chains->array_size(); ++c) {
          const Node regions = (*chains)[c]["regions"];
          for (size_t r = 0; r < regions.array_size(); ++r) {
            const std::string layer = regions[r]["layer"].text();
            add_layer(layer);
            widen(layer, regions[r]["region"].text(), regions[r]["region"]);
          }
        }
  }

  Geometry run_geometry(const std::string& layer) const {
    if (auto it = newest_.find(layer); it != newest_.end()) return it->second;
    if (auto it = inferred_.find(layer); it != inferred_.end()) return it->second;
    return Geometry{1, 1, 1, 1, 1, 1, false};
  }

  // The region index of `key` in `layer`, or an error naming where the key was found.
  static int region_index(const LayerImage& layer, const std::string& key, const Node& where) {
    int i0, j0, k0;
    const run::RegionGrid& g = layer.grid;
    if (!parse_region_key(key, i0, j0, k0) || i0 >= g.gh || j0 >= g.gw || k0 >= g.gc)
      where.fail("a region of " + layer.name + "'s " + std::to_string(g.gh) + "x" + std::to_string(g.gw) + "x" +
                 std::to_string(g.gc) + " grid (grid_1_1_1 ... grid_" + std::to_string(g.gh) + "_" +
                 std::to_string(g.gw) + "_" + std::to_string(g.gc) + ")");
    return g.index(i0, j0, k0);
  }

  // A list of region keys of the layer, each at most once: their region indices.
  static std::vector<int> region_list(const LayerImage& layer, const Node& list) {
    std::vector<int> out;
    std::vector<char> seen(size_t(layer.grid.count()), 0);
    for (size_t i = 0; i < list.array_size(); ++i) {
      const std::string key = list[i].text();
      const int r = region_index(layer, key, list[i]);
      if (seen[size_t(r)]++) list[i].reject("region " + key + " listed twice, expected each region once");
      out.push_back(r);
    }
    return out;
  }

  // Every region of the grid exactly once, as an object keyed grid_i_j_k.
  template <typename Read>
  static void read_regions(LayerImage& layer, const Node& regions, Read read) {
    std::vector<char> seen(size_t(layer.grid.count()), 0);
    size_t found = 0;
    for (const auto& [key, region] : regions.members()) {
      const int r = region_index(layer, key, region);
      seen[size_t(r)] = 1;
      read(r, region);
      ++found;
    }
    if (found != seen.size() || std::count(seen.begin(), seen.end(), 1) != long(seen.size()))
      regions.fail(std::to_string(seen.size()) + " regions (every cell of the " + std::to_string(layer.grid.gh) + "x" +
                   std::to_string(layer.grid.gw) + "x" + std::to_string(layer.grid.gc) + " grid)");
  }

  void read_grid(EpochData& epoch, const Node& root) {
    epoch.has_grid = true;
    if (auto images = root.find("images")) run_.images = read_images(*images);  // epochs ascend: the newest wins
    if (auto settings = root.find("settings")) epoch.grid_settings = settings->json();
    if (auto samples = root.find("eval_samples")) epoch.eval_samples = samples->integer(0, 1 << 30);
    for (const auto& [name, node] : root["layers"].members()) {
      LayerImage& layer = epoch.layers[size_t(layer_index(name))];
      const Geometry g = grid_geometry(node);
      layer.grid = g.grid();
      layer.shape_known = true;
      layer.has_grid = true;
      layer.coverage = node["coverage"].number(0, 1);
      layer.stats.assign(size_t(layer.grid.count()), run::GridRegionStats{});
      read_regions(layer, node["regions"], [&](int r, const Node& region) { layer.stats[size_t(r)] = run::read_region(region); });
      if (auto dead = node.find("dead_regions")) layer.dead = region_list(layer, *dead);
      if (auto rf = node.find("receptive_field")) {
        const auto spans = [](const Node& list, int count, std::vector<std::array<int, 2>>& out) {
          if (list.array_size() != size_t(count)) list.fail("an array of " + std::to_string(count) + " [first, end] pixel ranges (one per grid block)");
          for (size_t i = 0; i < size_t(count); ++i) {
            if (list[i].array_size() != 2) list[i].fail("a pixel range [first, end]");
            const int first = int(list[i][0].integer(0, 1 << 20)), end = int(list[i][1].integer(0, 1 << 20));
            if (end <= first) list[i].fail("a pixel range [first, end] with first < end");
            out.push_back({first, end});
          }
        };
        spans((*rf)["rows"], layer.grid.gh, layer.rf_rows);
        spans((*rf)["cols"], layer.grid.gw, layer.rf_cols);
      }
    }
  }

  void read_zeta(EpochData& epoch, const Node& root) {
    epoch.has_zeta = true;
    if (auto settings = root.find("settings")) epoch.zeta_settings = settings->json();
    if (auto errors = root.find("errors")) read_gallery(epoch, *errors);
    for (const auto& [name, node] : root["layers"].members()) {
      LayerImage& layer = epoch.layers[size_t(layer_index(name))];
      layer.has_zeta = true;
      if (auto method = node.find("method")) layer.zeta_method = method->text();
      if (auto ci = node.find("ci")) layer.zeta_ci = ci->text();
      if (auto stop = node.find("stopped_by")) layer.zeta_stopped_by = stop->text();
      if (auto images = node.find("eval_samples")) layer.zeta_images = images->integer(0, 1 << 30);
      if (auto same = node.find("same_game_as")) {
        layer.same_game_as = same->text();
        if (!root["layers"].find(layer.same_game_as) || layer.same_game_as == name)
          same->reject("expected another layer of this zeta.json, found \"" + layer.same_game_as + "\"");
      }
      if (!epoch.eval_samples)
        if (auto samples = node.find("eval_samples")) epoch.eval_samples = samples->integer(0, 1 << 30);
      layer.zeta.assign(size_t(layer.grid.count()), ZetaRegion{});
      read_regions(layer, node["regions"], [&](int r, const Node& region) {
        ZetaRegion& z = layer.zeta[size_t(r)];
        // ζ is a standard score over the layer's n regions (sample sd): |ζ| ≤ (n − 1)/√n < √n ≤ 64, as
        // a layer has at most 4,096 regions (a ζ of 1e308 made compare's A − B infinite)
        z.zeta = region["zeta_score"].number(-kMaxZeta, kMaxZeta);
        const std::array<double, 2> ci = region["confidence_interval"].interval();
        z.ci_low = ci[0], z.ci_high = ci[1];
        z.significant = region["significance"].boolean();
        z.shapley = region.optional_number("shapley");
        // φ's interval of the kind that gives p_value and significance (the layer's "ci")
        if (auto ci_phi = region.find(layer.zeta_ci == "population" ? "shapley_ci_population" : "shapley_ci")) {
          const std::array<double, 2> interval = ci_phi->interval();
          z.shapley_low = interval[0], z.shapley_high = interval[1];
        }
        z.p_value = region.optional_number("p_value", 0, 1);  // a probability
        z.robust_score = region.optional_number("robust_score");
        z.lesion = region.optional_number("lesion");
        z.taylor = region.optional_number("taylor");
      });
      // The critical regions as the ζ stage decided them (imaging/zeta_scores.h): read, never re-derived,
      // but held to the file's own numbers: every rule requires significance, and critical_share is
      // the listed regions' share of the layer (the page shows both, summary.json cites the share).
      const Node critical = node["critical_regions"];
      layer.critical = region_list(layer, critical);
      for (size_t i = 0; i < layer.critical.size(); ++i)
        if (!layer.zeta[size_t(layer.critical[i])].significant)
          critical[i].reject("region " + critical[i].text() +
                             " has significance false, expected only significant regions (every critical rule requires it)");
      const Node share = node["critical_share"];
      layer.critical_share = share.number(0, 1);
      const double listed = double(layer.critical.size()) / double(layer.grid.count());
      if (std::fabs(layer.critical_share - listed) > 1e-9)
        share.reject("is " + base::shortest(layer.critical_share, false) + ", expected " + base::shortest(listed, false) +
                     " (the " + std::to_string(layer.critical.size()) + " regions listed in critical_regions over the layer's " +
                     std::to_string(layer.grid.count()) + ")");
      if (auto errors = node.find("errors")) {
        read_gallery_phi(epoch, layer, *errors);
        read_subset_maps(epoch, layer, *errors);
      }
    }
    check_games_end(root["layers"]);
  }

  // Followed, same_game_as ends at a layer that plays its own game (the ζ stage names the later block
  // whose estimate a block's renames): a cycle would leave no layer's ζ ranked (the summary's top regions
  // were empty, exit 0).  Each layer is walked once (`ends`): linear in the layers, however long a chain.
  static void check_games_end(const Node& layers) {
    std::map<std::string, std::string> next_of;  // a layer → the layer named by its same_game_as
    for (const auto& [name, node] : layers.members())
      if (auto same = node.find("same_game_as")) next_of[name] = same->text();
    std::set<std::string> ends;
    for (const auto& [name, first] : next_of) {
      std::set<std::string> path = {name};
      for (auto at = next_of.find(first); at != next_of.end() && !ends.count(at->first); at = next_of.find(at->second))
        if (!path.insert(at->first).second)
          layers[name]["same_game_as"].reject("\"" + first + "\": same_game_as followed from it runs in a cycle, expected "
                                              "a chain that ends at a layer playing its own game");
      ends.insert(path.begin(), path.end());
    }
  }

  // zeta.json's errors (analyze --errors; optional: files without it are read as before).
  void read_gallery(EpochData& epoch, const Node& errors) {
    // a class index names one of the run's classes (when it says them), else at most 255
    const long long last_class = run_.class_names.empty() ? 255 : (long long)(run_.class_names.size()) - 1;
    if (auto labels = errors.find("labels")) {
      const Node predicted = errors["predicted"];
      if (predicted.array_size() != labels->array_size()) predicted.reject("expected one prediction per label");
      for (size_t i = 0; i < labels->array_size(); ++i) {
        epoch.sample_labels.push_back(int((*labels)[i].integer(0, last_class)));
        epoch.sample_predicted.push_back(int(predicted[i].integer(0, last_class)));
      }
    }
    const std::optional<Node> gallery = errors.find("gallery");
    if (!gallery) return;
    const std::array<int, 3> shape = errors["shape"].triple(65536);
    epoch.gallery_channels = shape[0], epoch.gallery_height = shape[1], epoch.gallery_width = shape[2];
    const size_t size = size_t(shape[0]) * size_t(shape[1]) * size_t(shape[2]);
    if (size > (size_t(1) << 22)) errors["shape"].reject("an image of more than 2^22 values");
    for (size_t i = 0; i < gallery->array_size(); ++i) {
      const Node g = (*gallery)[i];
      GalleryImage image;
      // a slot is an index into the sample's labels, when the file has them
      const long long last_slot = epoch.sample_labels.empty() ? (1LL << 30) : (long long)(epoch.sample_labels.size()) - 1;
      image.slot = size_t(g["slot"].integer(0, last_slot));
      image.kind = g["kind"].text();
      image.label = int(g["label"].integer(0, last_class));
      image.predicted = int(g["predicted"].integer(0, last_class));
      image.probability_true = g["probability_true"].number(0, 1);
      // the gallery holds images of the sample: their verdicts are the sample's, and a kind says which
      if (!epoch.sample_labels.empty()) {
        if (image.label != epoch.sample_labels[image.slot])
          g["label"].reject(std::to_string(image.label) + ", expected " + std::to_string(epoch.sample_labels[image.slot]) +
                            " (/errors/labels/" + std::to_string(image.slot) + ", the label of its slot)");
        if (image.predicted != epoch.sample_predicted[image.slot])
          g["predicted"].reject(std::to_string(image.predicted) + ", expected " + std::to_string(epoch.sample_predicted[image.slot]) +
                                " (/errors/predicted/" + std::to_string(image.slot) + ", the prediction of its slot)");
      }
      const bool correct = image.label == image.predicted;
      if (image.kind != "confident" && image.kind != "mistake" && image.kind != "cell")
        g["kind"].reject("\"" + image.kind + "\", expected confident, mistake or cell");
      if ((image.kind == "confident") != correct)
        g["kind"].reject(image.kind + " for an image " + (correct ? "predicted as its label" : "predicted as another class") +
                         ", expected " + (correct ? "confident" : "mistake or cell"));
      const Node pixels = g["pixels"];
      if (pixels.array_size() != size) pixels.reject("expected " + std::to_string(size) + " pixel values");
      image.pixels.resize(size);
      for (size_t v = 0; v < size; ++v) image.pixels[v] = uint8_t(pixels[v].integer(0, 255));
      epoch.gallery.push_back(std::move(image));
    }
  }

  void read_subset_maps(const EpochData& epoch, LayerImage& layer, const Node& errors) {
    // class indices as in read_gallery: one of the run's classes (when it names them), else at most 255
    const long long last_class = run_.class_names.empty() ? 255 : (long long)(run_.class_names.size()) - 1;
    // With the sample's labels and the layer's `images` K, each map's `images` is the number of the first
    // K images in its class or cell, and every class and every mistake cell with an image has its map
    // (imaging/error_maps.cpp writes them so): the counts the page prints are the file's own.
    std::vector<long> counts;  // (true, predicted or the true class itself for a class) → images
    const size_t width = size_t(last_class + 1);
    if (auto images = errors.find("images"); images && !epoch.sample_labels.empty()) {
      const size_t covered = size_t(images->integer(0, (long long)(epoch.sample_labels.size())));
      counts.assign(width * width, 0);
      for (size_t x = 0; x < covered; ++x) {
        const size_t y = size_t(epoch.sample_labels[x]), p = size_t(epoch.sample_predicted[x]);
        ++counts[y * width + y];
        if (p != y) ++counts[y * width + p];
      }
    }
    auto read = [&](const Node& list, bool confusion, std::vector<LayerImage::SubsetMap>& out) {
      std::vector<bool> seen(size_t(last_class + 1) * size_t(last_class + 1), false);  // (true, predicted or 0)
      for (size_t i = 0; i < list.array_size(); ++i) {
        const Node m = list[i];
        LayerImage::SubsetMap map;
        map.true_class = int(m[confusion ? "true" : "class"].integer(0, last_class));
        if (confusion) map.predicted = int(m["predicted"].integer(0, last_class));
        if (confusion && map.predicted == map.true_class)
          m["predicted"].reject(std::to_string(map.predicted) + ", the true class: expected a mistake (true ≠ predicted)");
        const size_t at = size_t(map.true_class) * size_t(last_class + 1) + size_t(std::max(0, map.predicted));
        if (seen[at])
          m.reject(confusion ? "the cell " + std::to_string(map.true_class) + " → " + std::to_string(map.predicted) +
                                     " listed twice, expected each cell once"
                               : "class " + std::to_string(map.true_class) + " listed twice, expected each class once");
        seen[at] = true;
        map.images = long(m["images"].integer(0, 1LL << 40));
        const size_t cell = size_t(map.true_class) * width + size_t(confusion ? map.predicted : map.true_class);
        if (!counts.empty() && map.images != counts[cell])
          m["images"].reject(std::to_string(map.images) + ", expected " + std::to_string(counts[cell]) + " (the layer's images " +
                             (confusion ? "of true class " + std::to_string(map.true_class) + " predicted as " + std::to_string(map.predicted)
                                        : "of class " + std::to_string(map.true_class)) +
                             " by /errors/labels and /errors/predicted)");
        const Node phi = m["phi"];
        if (phi.array_size() != size_t(layer.grid.count()))
          phi.reject("expected " + std::to_string(layer.grid.count()) + " values, one per region");
        for (size_t g = 0; g < phi.array_size(); ++g) map.phi.push_back(phi[g].number());
        out.push_back(std::move(map));
      }
      for (size_t y = 0; y < counts.size() / width; ++y)
        for (size_t p = 0; p < width; ++p)
          if ((confusion ? p != y : p == y) && counts[y * width + p] > 0 &&
              !seen[y * width + (confusion ? p : 0)])
            list.reject("no map of " + (confusion ? "the cell " + std::to_string(y) + " → " + std::to_string(p)
                                                  : "class " + std::to_string(y)) +
                        ", expected one for each with images (" + std::to_string(counts[y * width + p]) + " of the layer's)");
    };
    if (auto list = errors.find("per_class")) read(*list, false, layer.class_maps);
    if (auto list = errors.find("confusions")) read(*list, true, layer.confusion_maps);
  }

  void read_gallery_phi(const EpochData& epoch, LayerImage& layer, const Node& errors) {
    // per_image holds one row per image the layer's estimate covers (`images`: the first of the sample)
    if (auto images = errors.find("images")) {
      const long long last = epoch.sample_labels.empty() ? (1LL << 30) : (long long)(epoch.sample_labels.size());
      const size_t covered = size_t(images->integer(0, last));
      if (auto rows = errors.find("per_image"); rows && rows->array_size() != covered)
        rows->reject(std::to_string(rows->array_size()) + " rows, expected " + std::to_string(covered) +
                     " (the layer's images: one row per image its estimate covers)");
    }
    if (epoch.gallery.empty()) return;
    const Node rows = errors["per_image"];
    layer.gallery_covered = rows.array_size();
    for (const GalleryImage& image : epoch.gallery) {
      std::vector<double> phi;
      if (image.slot < rows.array_size()) {
        const Node row = rows[image.slot];
        if (row.array_size() != size_t(layer.grid.count()))
          row.reject("expected " + std::to_string(layer.grid.count()) + " values, one per region");
        for (size_t g = 0; g < row.array_size(); ++g) phi.push_back(row[g].number());
      }
      layer.gallery_phi.push_back(std::move(phi));
    }
  }

  void read_tract(EpochData& epoch, const Node& root) {
    epoch.has_tract = true;
    if (auto settings = root.find("settings")) epoch.tract_settings = settings->json();
    if (!epoch.eval_samples)
      if (auto samples = root.find("eval_samples")) epoch.eval_samples = samples->integer(0, 1 << 30);
    if (auto pairs = root.find("pairs"))
      for (const auto& [key, node] : pairs->members()) {
        PairTract p;
        p.key = key;
        p.from = layer_index(node["from"].text());
        p.to = layer_index(node["to"].text());
        if (auto kind = node.find("kind")) p.shortcut = kind->text() == "shortcut";
        // Σ C_{A→B}, each a mean of products of |W|, ReLU(a) and σ' ≥ 0: never negative
        p.connection_strength = node["connection_strength"].number(0, run::kMaxStatistic);
        p.pathway_efficiency = node.optional_number("pathway_efficiency").value_or(0);
        if (auto connected = node.find("connected_pairs")) p.connected_pairs = connected->integer(0, 1 << 30);
        if (auto flows = node.find("flows"))
          for (size_t f = 0; f < flows->array_size(); ++f) {
            const Node flow = (*flows)[f];
            p.flows.push_back({region_index(epoch.layers[size_t(p.from)], flow[0].text(), flow[0]),
                               region_index(epoch.layers[size_t(p.to)], flow[1].text(), flow[1]), flow[2].number(0, run::kMaxStatistic)});
          }
        epoch.pairs.push_back(std::move(p));
      }
    if (auto network = root.find("network")) {
      epoch.path_strength = network->optional_number("path_strength").value_or(0);
      if (auto chains = network->find("chains"))
        for (size_t c = 0; c < chains->array_size(); ++c) {
          const Node node = (*chains)[c];
          RegionChain chain;
          const Node regions = node["regions"];
          for (size_t r = 0; r < regions.array_size(); ++r) {
            const int l = layer_index(regions[r]["layer"].text());
            chain.layers.push_back(l);
            chain.regions.push_back(region_index(epoch.layers[size_t(l)], regions[r]["region"].text(), regions[r]["region"]));
          }
          chain.score = node["score"].number();
          epoch.chains.push_back(std::move(chain));
        }
    } else {
      for (const PairTract& p : epoch.pairs) epoch.path_strength += p.connection_strength;
    }
  }

  EpochData read_epoch(const RawEpoch& raw) {
    EpochData epoch;
    epoch.epoch = raw.epoch;
    epoch.dir = raw.dir;
    for (const std::string& name : run_.layers) {
      LayerImage layer;
      layer.name = name;
      const Geometry g = run_geometry(name);
      layer.grid = g.grid();
      layer.shape_known = g.shape_known;
      epoch.layers.push_back(std::move(layer));
    }
    // grid.json first: it fixes this epoch's grids, which zeta.json and tract.json keys index.
    if (raw.grid) read_grid(epoch, Node(*raw.grid, raw.grid_path, ""));
    if (raw.zeta) read_zeta(epoch, Node(*raw.zeta, raw.zeta_path, ""));
    if (raw.tract) read_tract(epoch, Node(*raw.tract, raw.tract_path, ""));
    epoch.checkpoint = raw.checkpoint;
    const std::string label = "epoch " + std::to_string(raw.epoch) + ": ";
    if (!raw.grid && !raw.zeta && !raw.tract)
      run_.notes.push_back(label + "analysis directory has no grid.json, zeta.json or tract.json");
    else {
      if (!raw.grid && run_.expects_stage("grid", raw.epoch))
        run_.notes.push_back(label + "no grid.json (density and information not shown)");
      if (!raw.zeta && run_.expects_stage("zeta", raw.epoch))
        run_.notes.push_back(label + "no zeta.json (ζ-scores not shown)");
      if (!raw.tract && run_.expects_stage("tract", raw.epoch))
        run_.notes.push_back(label + "no tract.json (pathways not shown)");
    }
    return epoch;
  }

  RunData& run_;
  std::map<std::string, Geometry> newest_;    // from the newest grid.json naming the layer
  std::map<std::string, Geometry> inferred_;  // from region keys, for layers no grid.json names
};

}  // namespace

bool RunData::expects_stage(const std::string& stage, int epoch) const {
  if (!configured_stages.empty() && std::find(configured_stages.begin(), configured_stages.end(), stage) == configured_stages.end())
    return false;
  return stage != "zeta" || epoch % zeta_every == 0;
}

bool parse_region_key(const std::string& key, int& i0, int& j0, int& k0) {
  if (key.rfind("grid_", 0) != 0) return false;
  int* parts[3] = {&i0, &j0, &k0};
  size_t pos = 5;
  for (int d = 0; d < 3; ++d) {
    const size_t end = d < 2 ? key.find('_', pos) : key.size();
    if (end == std::string::npos || end == pos || end - pos > 6) return false;
    const std::string digits = key.substr(pos, end - pos);
    if (digits.find_first_not_of("0123456789") != std::string::npos) return false;
    if (digits[0] == '0') return false;  // grid_01_1_1 is no key the grid writes (it would alias grid_1_1_1)
    *parts[d] = std::stoi(digits) - 1;
    if (*parts[d] < 0) return false;
    pos = end + 1;
  }
  return true;
}

std::string RunData::name() const {
  std::error_code ec;
  fs::path path = fs::absolute(dir, ec).lexically_normal();  // "runs/main/." → "/…/runs/main/"
  if (!path.has_filename()) path = path.parent_path();
  const std::string name = path.filename().string();
  return name.empty() ? dir : name;
}

std::string RunData::model() const {
  for (const Json* source : {&config, &analysis_header})
    if (source->is_object() && source->contains("model") && (*source)["model"].is_string()) return (*source)["model"];
  return "unknown";
}

std::string RunData::dataset() const {
  for (const auto& [source, key] : {std::pair<const Json*, const char*>{&config, "data"}, {&analysis_header, "dataset"}})
    if (source->is_object() && source->contains(key) && (*source)[key].is_object()) {
      const Json& data = (*source)[key];
      if (data.contains("name") && data["name"].is_string()) return data["name"];
      if (data.contains("spec") && data["spec"].is_string()) return data["spec"];
    }
  return "unknown";
}

const MetricsRow* RunData::metrics_of(int epoch) const {
  for (const MetricsRow& m : metrics)
    if (m.epoch == epoch) return &m;
  return nullptr;
}

RunData load_run(const std::string& dir, const RunSelection& selection) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw base::Error(dir + ": " + base::not_a_directory(dir) + " (expected a run directory written by nnfmri train or nnfmri analyze's --out)");
  const run::Layout layout(dir);
  const std::optional<run::Manifest> manifest = run::read_manifest(layout);
  const int last_epoch = manifest && !selection.uncommitted ? manifest->completed_epoch : -1;
  RunData run;
  run.dir = dir;
  std::optional<RawEpoch> analysis;
  if (!manifest) analysis = read_analyze_output(dir);
  if (analysis) {
    // One analysed epoch: its model, data and classes come from the files' common header.
    const Json& header = analysis->grid ? *analysis->grid : analysis->zeta ? *analysis->zeta : *analysis->tract;
    const std::string& path = analysis->grid ? analysis->grid_path : analysis->zeta ? analysis->zeta_path : analysis->tract_path;
    const Node root(header, path, "");
    if (!header.is_object()) root.fail("an object");
    run.analysis_header = Json::object();
    if (auto model = root.find("model")) run.analysis_header["model"] = model->text();
    if (auto data = root.find("dataset")) {
      run.analysis_header["dataset"] = data->json();
      if (auto classes = data->find("classes")) run.class_names = read_class_names(*classes);
    }
    run.single_analysis = true;
    run.notes.push_back("an analyze output directory: one analysed epoch, no run settings or training curves");
    std::vector<RawEpoch> raw;
    raw.push_back(std::move(*analysis));
    RunReader(run).read(raw);
    return run;
  }
  if (last_epoch >= 0) run.committed_files = manifest->files;
  const std::string config_path = layout.config(), metrics_path = layout.metrics();
  if (base::file_exists(config_path)) {
    run.config = parse_json(base::read_file(config_path), config_path);
    const Node config(run.config, config_path, "");
    if (!run.config.is_object()) config.fail("an object");
    if (auto data = config.find("data"))
      if (auto classes = data->find("classes")) run.class_names = read_class_names(*classes);
    if (auto analysis = config.find("analysis"))
      if (auto stages = analysis->find("stages"))
        for (size_t i = 0; i < stages->array_size(); ++i) run.configured_stages.push_back((*stages)[i].text());
    if (auto every = config.find("zeta_every")) run.zeta_every = int(every->integer(1, 100000));
  } else {
    run.notes.push_back("no config.json (run settings not shown)");
  }
  if (base::file_exists(metrics_path)) run.metrics = read_metrics(metrics_path);
  else run.notes.push_back("no metrics.jsonl (training curves not shown)");
  if (last_epoch >= 0)
    run.metrics.erase(std::remove_if(run.metrics.begin(), run.metrics.end(), [&](const MetricsRow& m) { return m.epoch > last_epoch; }),
                      run.metrics.end());
  std::vector<RawEpoch> raw = read_epochs(dir, last_epoch, selection, run.notes);
  if (raw.empty())
    run.notes.push_back(last_epoch == 0 ? "run.json commits no epoch yet (completed_epoch 0): no analysis/epoch_N directory is read"
                                        : "no analysis/epoch_N directories (train with --analyze-every N to image the network)");
  if (run.config.is_null() && run.metrics.empty() && raw.empty())
    throw base::Error(dir + ": no config.json, metrics.jsonl, analysis/epoch_N/ or grid.json, zeta.json, tract.json "
                      "(expected a run directory written by nnfmri train or an output directory of nnfmri analyze)");
  RunReader(run).read(raw);
  return run;
}

}  // namespace report
