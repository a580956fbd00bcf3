// imaging/zeta.cpp — the ζ stage: settings, every block's game and estimates, zeta.json.
#include "imaging/zeta.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "imaging/error_maps.h"
#include "imaging/net_view.h"
#include "imaging/region_lesion.h"
#include "base/stopwatch.h"
#include "base/text.h"
#include "nn/rng.h"

namespace imaging {

namespace {
base::Error bad_value(const std::string& text, const std::string& what) {
  return base::Error("--zeta-value '" + text + "': " + what);
}
bool whole_number(const std::string& t) {
  return !t.empty() && t.size() <= 3 && t.find_first_not_of("0123456789") == std::string::npos;
}
}  // namespace

ValueFunction parse_value_function(const std::string& text) {
  ValueFunction v;
  if (text == "logprob") return v;
  if (text == "accuracy" || text == "margin") {
    v.kind = text == "accuracy" ? ValueFunction::Kind::accuracy : ValueFunction::Kind::margin;
    return v;
  }
  const std::vector<std::string> parts = base::split(text, ':');
  if (parts.size() != 3 || parts[0] != "confusion")
    throw bad_value(text, "expected logprob, accuracy, margin or confusion:A:B");
  if (parts[1].empty() || parts[2].empty()) throw bad_value(text, "expected class names or indices for A and B");
  v.kind = ValueFunction::Kind::confusion;
  if (parts[1] == parts[2] || (whole_number(parts[1]) && whole_number(parts[2]) && std::stoi(parts[1]) == std::stoi(parts[2])))
    throw bad_value(text, "A and B are the same class; expected two different classes");
  if (whole_number(parts[1]) && whole_number(parts[2])) {  // names stay -1 until resolve_value_classes
    v.a = std::stoi(parts[1]);
    v.b = std::stoi(parts[2]);
  }
  return v;
}

std::string resolve_value_classes(const std::string& value, const std::vector<std::string>& class_names) {
  if (parse_value_function(value).kind != ValueFunction::Kind::confusion) return value;
  const std::vector<std::string> parts = base::split(value, ':');
  std::string names;
  for (const std::string& n : class_names) names += (names.empty() ? "" : ", ") + n;
  auto index = [&](const std::string& name) {
    for (size_t k = 0; k < class_names.size(); ++k)
      if (class_names[k] == name) return std::to_string(k);
    if (whole_number(name) && std::stoul(name) < class_names.size()) return name;
    throw bad_value(value, "no class '" + name + "' (the classes: " + names + ")");
  };
  const std::string resolved = "confusion:" + index(parts[1]) + ":" + index(parts[2]);
  parse_value_function(resolved);  // A = B
  return resolved;
}

void validate(const ZetaSettings& s) {
  if (s.method != "exact" && s.method != "shapley" && s.method != "lesion" && s.method != "taylor")
    throw base::Error("--zeta-method '" + s.method + "': expected exact, shapley, lesion or taylor");
  parse_value_function(s.value);
  if (s.ablation != "zero" && s.ablation != "mean")
    throw base::Error("--zeta-ablation '" + s.ablation + "': expected zero or mean");
  if (s.samples < 1) throw base::Error("--zeta-samples 0: expected a positive number of test images");
  if (!std::isfinite(s.tolerance))
    throw base::Error("--zeta-tol: expected a finite half-width (or < 0 for 0.05·max|φ|)");
  if (!(s.budget_seconds > 0) || !std::isfinite(s.budget_seconds))
    throw base::Error("--zeta-budget " + std::to_string(s.budget_seconds) + ": expected a positive number of seconds");
  validate_ci_kind(s.ci);
  if (s.errors && s.method != "shapley" && s.method != "exact")
    throw base::Error("--errors with --zeta-method " + s.method +
                      ": expected shapley or exact (the maps are averages of each image's Shapley values)");
  if (s.max_permutations < kMinPermutationsPerImage)
    throw base::Error("--zeta-max-permutations " + std::to_string(s.max_permutations) + ": expected at least " +
                      std::to_string(kMinPermutationsPerImage) + " (two antithetic rounds, the fewest an interval needs)");
}

namespace {

void require_finite(double v, const std::string& what, const std::string& block) {
  if (!std::isfinite(v))
    throw base::Error("ζ stage, block " + block + ": " + what + " is not finite (the lesioned net overflowed?)");
}

nlohmann::ordered_json layer_json(const CoalitionValue& game, const ZetaSettings& s, const ShapleyEstimate& est,
                                  const std::vector<double>& lesion, const std::vector<double>& taylor,
                                  const std::vector<uint32_t>& indices, double seconds) {
  const run::RegionGrid& grid = game.grid();
  const std::string name = game.net().blocks()[size_t(game.block())].name;
  const int n = game.regions();
  const std::vector<double>& phi = est.phi;
  const ZetaScores z = zeta_scores(est, s.ci);
  const double mean = z.mean, sd = z.sd;
  const std::vector<double>& zeta = z.zeta;
  double sum = 0, widest = 0;
  for (int g = 0; g < n; ++g) {
    sum += phi[g];
    widest = std::max(widest, 0.5 * (est.ci_high[g] - est.ci_low[g]));
  }
  const bool is_shapley = s.method == "exact" || s.method == "shapley";

  nlohmann::ordered_json j;
  j["method"] = s.method;
  j["value_function"] = s.value;
  j["ablation"] = s.ablation;
  j["grid"] = {grid.gh, grid.gw, grid.gc};  // [GH, GW, GC] after clamping, as grid.json and tract.json write grids
  j["region_count"] = n;
  j["eval_samples"] = indices.size();
  j["eval_indices"] = indices;
  j["permutations"] = est.permutations;  // per image
  j["permutations_total"] = est.permutations_total;
  j["rounds"] = est.rounds;
  j["seconds"] = seconds;
  j["stopped_by"] = est.stopped_by;
  j["tolerance"] = est.tolerance;
  j["max_ci_half_width"] = widest;
  j["v_all"] = game.v_all(indices.size());
  j["v_none"] = game.v_none(indices.size());
  j["sum_phi"] = sum;
  nlohmann::ordered_json regions = nlohmann::ordered_json::object();
  for (int g = 0; g < n; ++g) {
    nlohmann::ordered_json r;
    // ζ's interval is the interval of φ behind significance (z.ci), mapped like ζ.
    const double lo = sd > 0 ? (z.ci_low[g] - mean) / sd : 0, hi = sd > 0 ? (z.ci_high[g] - mean) / sd : 0;
    const bool significant = z.significant[g];
    r["zeta_score"] = zeta[g];
    r["robust_score"] = z.robust[g];
    r["confidence_interval"] = {lo, hi};
    r["significance"] = significant;
    if (is_shapley) {
      r["shapley"] = phi[g];
      r["shapley_ci"] = {est.ci_low[g], est.ci_high[g]};
      r["p_value_sample"] = est.p_value[g];
      if (est.population.p_value.size() == phi.size()) {  // none with fewer than 2 images
        r["shapley_ci_population"] = {est.population.ci_low[g], est.population.ci_high[g]};
        r["p_value_population"] = est.population.p_value[g];
        for (double v : {est.population.ci_low[g], est.population.ci_high[g], est.population.p_value[g]})
          require_finite(v, grid.key(g) + " population interval", name);
      }
    }
    r["p_value"] = z.p_value[g];
    r["p_adjusted"] = z.p_adjusted[g];
    r["lesion"] = lesion[g];
    r["taylor"] = taylor[g];
    for (double v : {zeta[g], z.robust[g], lo, hi, phi[g], est.ci_low[g], est.ci_high[g], lesion[g], taylor[g]})
      require_finite(v, grid.key(g) + " score", name);
    regions[grid.key(g)] = std::move(r);
  }
  for (double v : {seconds, game.v_all(indices.size()), game.v_none(indices.size()), sum, widest, est.tolerance}) require_finite(v, "a summary", name);
  j["regions"] = std::move(regions);
  auto keys = [&](const std::vector<int>& list) {
    nlohmann::ordered_json k = nlohmann::ordered_json::array();
    for (int g : list) k.push_back(grid.key(g));
    return k;
  };
  j["ci"] = z.ci;  // the interval behind significance (sample for lesion and taylor)
  j["critical_rule"] = kCriticalRule;
  j["critical_regions"] = keys(z.critical);
  j["critical_share"] = double(z.critical.size()) / n;
  j["critical_regions_zeta"] = keys(z.critical_zeta);  // the method's rule: ζ ≥ 2 and significant
  j["critical_share_zeta"] = double(z.critical_zeta.size()) / n;
  return j;
}

// What a block's game leaves for the block before it (README, "One game, two blocks").
struct LaterGame {
  int block = -1;
  std::vector<float> baseline;      // (units) its baseline
  std::vector<int> region_of_unit;  // (units) the region of each of its units
  int regions = 0;
  ShapleyEstimate estimate;
};

// The game of block b is the game of block b + 1 (`later`) with its regions renamed when b's first
// replayed block is a max pool that reads only b and produces b + 1's output, each pool window lies
// inside one region of b, windows of region g land in exactly one region map[g] of b + 1 and every
// region of b + 1 is reached from exactly one region of b (a bijection), and the maximum of b's
// baseline over each window equals b + 1's baseline there.  Then for every coalition S every pool
// window is either intact (its maximum is b + 1's activation) or wholly lesioned (its maximum is
// b + 1's baseline), so v_b(S) = v_{b+1}(map(S)) for every image and every S, exactly: one game.
// Returns map (region of b → region of b + 1), or empty when any condition fails.
std::vector<int> same_game_as_later(const CoalitionValue& game, const LaterGame& later) {
  const auto& replay = game.replay_blocks();
  const int n = game.regions();
  if (later.block != game.block() + 1 || game.crossed() || replay.empty() || later.regions != n) return {};
  const CoalitionValue::ReplayBlock& pool = replay[0];
  if (pool.op != BlockOp::max_pool || pool.input_state != 0 || pool.shortcut_state >= 0) return {};
  for (size_t k = 1; k < replay.size(); ++k)
    if (replay[k].input_state == 0 || replay[k].shortcut_state == 0) return {};
  const size_t out_units = size_t(pool.out_h) * pool.out_w * pool.out_c;
  if (out_units != later.baseline.size() || pool.out_c != pool.in_c) return {};
  std::vector<int> region_of_unit(game.block_units(), -1);
  for (int g = 0; g < n; ++g)
    for (int u : game.units(g)) region_of_unit[size_t(u)] = g;
  std::vector<int> map(n, -1), inverse(n, -1);
  const int C = pool.in_c;
  for (int q = 0; q < pool.out_h * pool.out_w; ++q)
    for (int c = 0; c < C; ++c) {
      const size_t e = size_t(q) * C + size_t(c);
      const int to = later.region_of_unit[e];
      if (pool.window_begin[q] == pool.window_begin[q + 1] || to < 0) return {};
      int from = -2;
      float best = 0;
      for (int k = pool.window_begin[q]; k < pool.window_begin[q + 1]; ++k) {
        const size_t u = size_t(pool.window[k]) * C + size_t(c);
        const int g = region_of_unit[u];
        if (g < 0 || (from != -2 && g != from)) return {};
        best = from == -2 ? game.baseline()[u] : std::max(best, game.baseline()[u]);
        from = g;
      }
      if (best != later.baseline[e]) return {};
      if ((map[from] >= 0 && map[from] != to) || (inverse[to] >= 0 && inverse[to] != from)) return {};
      map[from] = to;
      inverse[to] = from;
    }
  for (int g = 0; g < n; ++g)
    if (map[g] < 0) return {};
  return map;
}

// later's estimate with region g of this block reading region map[g] of the later one.
ShapleyEstimate renamed(const ShapleyEstimate& e, const std::vector<int>& map) {
  const int n = int(map.size());
  ShapleyEstimate r = e;
  auto pick = [&](const std::vector<double>& from, std::vector<double>& to) {
    if (from.size() != size_t(n)) return;
    for (int g = 0; g < n; ++g) to[size_t(g)] = from[size_t(map[size_t(g)])];
  };
  pick(e.phi, r.phi);
  pick(e.ci_low, r.ci_low);
  pick(e.ci_high, r.ci_high);
  pick(e.p_value, r.p_value);
  pick(e.lesion, r.lesion);
  pick(e.population.ci_low, r.population.ci_low);
  pick(e.population.ci_high, r.population.ci_high);
  pick(e.population.p_value, r.population.p_value);
  for (size_t x = 0; x * size_t(n) < e.per_image.size(); ++x)
    for (int g = 0; g < n; ++g) r.per_image[x * n + size_t(g)] = e.per_image[x * n + size_t(map[size_t(g)])];
  r.seconds = 0;
  return r;
}

}  // namespace

std::vector<uint32_t> check_zeta_fits(const nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                      const run::GridSpec& grid, const ZetaSettings& s) {
  validate(s);
  const ValueFunction value = parse_value_function(s.value);
  if (value.kind == ValueFunction::Kind::confusion && (value.a < 0 || value.b < 0))
    throw bad_value(s.value, "class names must be resolved to indices first (imaging::resolve_value_classes)");
  if (value.kind == ValueFunction::Kind::confusion && std::max(value.a, value.b) >= net.num_outputs())
    throw bad_value(s.value, "class index " + std::to_string(std::max(value.a, value.b)) + " but the net has " +
                                 std::to_string(net.num_outputs()) + " classes");
  pool = std::min(pool, test.count);
  // confusion:A:B is a game on images of class A only.
  std::vector<uint32_t> indices = stratified_sample(test, pool, s.samples, s.seed, value.a);
  if (indices.empty())
    throw value.kind == ValueFunction::Kind::confusion
        ? bad_value(s.value, "no image of class " + std::to_string(value.a) + " among the first " + std::to_string(pool) +
                                 " evaluation images (--eval-samples): confusion:A:B is measured on the images of class A")
        : base::Error("--zeta-samples: no test images among the first " + std::to_string(pool) + " to evaluate on");
  const auto& blocks = net.blocks();
  if (s.method == "exact")
    for (size_t i = 0; i < blocks.size(); ++i) {
      const nn::Block& b = blocks[i];
      const run::RegionGrid g(b.output_shape.h, b.output_shape.w, b.output_shape.c, block_grid(net, int(i), grid));
      if (g.count() > kMaxExactRegions)
        throw base::Error("--zeta-method exact: block " + b.name + " has " + std::to_string(g.count()) +
                        " regions, more than the " + std::to_string(kMaxExactRegions) +
                        " that can be enumerated; use a coarser --grid or --zeta-method shapley");
    }
  return indices;
}

nlohmann::ordered_json zeta_analysis(nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                     const run::GridSpec& grid, const ZetaSettings& s,
                                     const std::function<void(const std::string& block, size_t done)>& on_block) {
  const std::vector<uint32_t> indices = check_zeta_fits(net, test, pool, grid, s);
  const auto& blocks = net.blocks();

  nlohmann::ordered_json out;
  out["eval_samples"] = indices.size();  // the sample the games are played on (a block's own may be cut by budget)
  nlohmann::ordered_json& settings = out["settings"];
  settings["method"] = s.method;
  settings["value_function"] = s.value;
  settings["ablation"] = s.ablation;
  settings["grid"] = {grid.gh, grid.gw, grid.gc};
  settings["samples"] = s.samples;
  settings["pool"] = pool;
  settings["tolerance"] = s.tolerance;
  settings["budget_seconds"] = s.budget_seconds;
  settings["seed"] = s.seed;
  settings["max_permutations"] = s.max_permutations;
  settings["ci"] = s.ci;
  settings["critical_rule"] = kCriticalRule;
  settings["taylor_value_function"] = "logprob";  // accuracy has no useful gradient
  settings["threads"] = omp_get_max_threads();
  settings["errors"] = s.errors;
  LesionEvaluation verdicts;  // --errors: the intact net on the sample, in eval_indices order
  if (s.errors) {
    verdicts = evaluate_lesioned(net, test, kGameChunk, nullptr, &indices);
    nlohmann::ordered_json& e = out["errors"];
    e["eval_indices"] = indices;
    e["labels"] = verdicts.labels;
    e["predicted"] = verdicts.predicted;
    e["probability_true"] = verdicts.probability_true;
    e["probability_predicted"] = verdicts.probability_predicted;
    e["accuracy"] = verdicts.accuracy;
    // The gallery's images, pixels included (0..255, (C, H, W)), for the report's overlays.
    std::vector<std::string> kinds;
    const std::vector<size_t> slots = gallery_slots(verdicts, net.num_outputs(), &kinds);
    nlohmann::ordered_json gallery = nlohmann::ordered_json::array();
    for (size_t i = 0; i < slots.size(); ++i) {
      const size_t x = slots[i], index = indices[x];
      const uint8_t* px = test.image(index);
      gallery.push_back({{"slot", x}, {"index", index}, {"kind", kinds[i]}, {"label", verdicts.labels[x]},
                         {"predicted", verdicts.predicted[x]}, {"probability_true", verdicts.probability_true[x]},
                         {"pixels", std::vector<int>(px, px + test.image_size())}});
    }
    e["gallery"] = std::move(gallery);
    e["shape"] = {test.channels, test.height, test.width};
  }
  nlohmann::ordered_json& layers = out["layers"];
  layers = nlohmann::ordered_json::object();
  // Blocks run from the output back to the input: the late blocks are cheap and usually stop by
  // tolerance, and the time they leave unused is shared equally among the blocks still to run, so
  // the early, expensive blocks get more permutations while the total stays within blocks × budget
  // plus, per block, one step of shapley_sampled or one chunk's Taylor pass (and the setup of a block
  // whose budget is smaller than that: it always runs).
  std::vector<nlohmann::ordered_json> results(blocks.size());
  nn::ShardGroup* ranks = s.ranks && s.ranks->ranks() > 1 ? s.ranks : nullptr;
  double carried = 0;
  LaterGame later;  // the block after b's game, for same_game_as_later
  for (size_t b = blocks.size(); b-- > 0;) {
    if (on_block) on_block(blocks[b].name, blocks.size() - 1 - b);
    const base::Stopwatch clock;
    const double share = carried / double(b + 1);
    carried -= share;
    const double budget = s.budget_seconds + share;
    // A block whose game is the later block's needs only its Taylor terms: its game keeps no
    // activations (they are recomputed chunk by chunk), known before its sample's forwards when
    // the baseline is zero; with `mean` the baseline comes from the activations, so they are kept.
    auto keep_activations = [&](const CoalitionValue& g) {
      return s.method != "shapley" || s.ablation != "zero" || same_game_as_later(g, later).empty();
    };
    CoalitionValue game(net, int(b), grid, test, indices, s, keep_activations);
    const double setup_seconds = clock.seconds();
    // shapley takes each image's lesions in the image's first step and each chunk's Taylor terms
    // before that chunk's first steps, so that its budget cuts every score at the same image.
    std::vector<double> lesion, taylor, taylor_per_image;
    double lesion_seconds = 0, taylor_seconds = 0;
    ShapleyEstimate est;
    const std::vector<int> same =
        s.method == "shapley" ? same_game_as_later(game, later) : std::vector<int>();
    if (!same.empty()) {
      // One game, two blocks: block b + 1's estimate, renamed; only the Taylor terms are b's own.
      est = renamed(later.estimate, same);
      const base::Stopwatch taylor_clock;
      taylor_per_image = taylor_terms(game);
      taylor_seconds = taylor_clock.seconds();
      lesion = est.lesion;
    } else if (s.method == "shapley") {
      taylor_per_image.assign(game.images() * size_t(game.regions()), 0.0);
      const uint64_t layer_seed = nn::Rng::derive(s.seed, 0x2E7A, b).next();
      est = shapley_sampled(game, s.tolerance, std::max(0.0, budget - clock.seconds()), s.max_permutations, layer_seed,
                            [&](size_t first, int count) {
                              if (!owns_chunk(ranks, first)) return;  // another rank's chunk: shared below
                              const base::Stopwatch taylor_clock;
                              taylor_chunk_terms(game, first, count, taylor_per_image);
                              taylor_seconds += taylor_clock.seconds();
                            },
                            s.ranks);
      est.seconds -= taylor_seconds;  // timing.shapley: the estimator's own time
      // Spread over ranks, each chunk's Taylor terms came from its owner (chunk k ≡ rank mod P);
      // the chunks no rank reached (a budget stop) are zero on every rank.
      share_chunks(ranks, taylor_per_image, game.images(), size_t(game.regions()));
      lesion = est.lesion;
    } else {
      taylor_per_image = taylor_terms(game);
      taylor_seconds = clock.seconds() - setup_seconds;
      lesion = lesion_scores(game);
      lesion_seconds = clock.seconds() - setup_seconds - taylor_seconds;
    }
    taylor = taylor_over(taylor_per_image, game.images(), game.regions(),
                         s.method == "shapley" ? est.images : game.images());
    if (s.method == "exact") {
      est = shapley_exact(game, std::max(0.0, budget - clock.seconds()));
    } else if (s.method != "shapley") {
      est = deterministic_estimate(s.method == "lesion" ? lesion : taylor);
      est.images = game.images();
    }
    const double seconds = clock.seconds();
    carried += std::max(0.0, budget - seconds);
    const std::vector<uint32_t> covered(indices.begin(), indices.begin() + long(est.images));
    results[b] = layer_json(game, s, est, lesion, taylor, covered, seconds);
    if (s.errors) results[b]["errors"] = error_maps_json(est, game.grid(), verdicts, net.num_outputs());
    results[b]["budget_seconds"] = budget;
    if (!same.empty()) results[b]["same_game_as"] = blocks[b + 1].name;
    results[b]["timing"] = {{"setup", setup_seconds}, {"lesion", lesion_seconds}, {"taylor", taylor_seconds},
                            {"shapley", est.seconds}};
    if (s.method == "shapley") {
      later.block = int(b);
      later.baseline = game.baseline();
      later.region_of_unit.assign(game.block_units(), -1);
      for (int g = 0; g < game.regions(); ++g)
        for (int u : game.units(g)) later.region_of_unit[size_t(u)] = g;
      later.regions = game.regions();
      later.estimate = std::move(est);
    }
  }
  for (size_t b = 0; b < blocks.size(); ++b)
    if (!results[b].is_null()) layers[blocks[b].name] = std::move(results[b]);
  return out;
}

}  // namespace imaging
