// imaging/zeta.cpp — the ζ stage: settings, every block's game and estimates, zeta.json.
#include "imaging/zeta.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "imaging/net_view.h"
#include "base/stopwatch.h"
#include "nn/rng.h"

namespace imaging {

void validate(const ZetaSettings& s) {
  if (s.method != "exact" && s.method != "shapley" && s.method != "lesion" && s.method != "taylor")
    throw base::Error("--zeta-method '" + s.method + "': expected exact, shapley, lesion or taylor");
  if (s.value != "logprob" && s.value != "accuracy")
    throw base::Error("--zeta-value '" + s.value + "': expected logprob or accuracy");
  if (s.ablation != "zero" && s.ablation != "mean")
    throw base::Error("--zeta-ablation '" + s.ablation + "': expected zero or mean");
  if (s.samples < 1) throw base::Error("--zeta-samples 0: expected a positive number of test images");
  if (!std::isfinite(s.tolerance))
    throw base::Error("--zeta-tol: expected a finite half-width (or < 0 for 0.05·max|φ|)");
  if (!(s.budget_seconds > 0) || !std::isfinite(s.budget_seconds))
    throw base::Error("--zeta-budget " + std::to_string(s.budget_seconds) + ": expected a positive number of seconds");
  validate_ci_kind(s.ci);
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
      r["shapley_ci_population"] = {est.population.ci_low[g], est.population.ci_high[g]};
      r["p_value_sample"] = est.p_value[g];
      r["p_value_population"] = est.population.p_value[g];
      for (double v : {est.population.ci_low[g], est.population.ci_high[g], est.population.p_value[g]})
        require_finite(v, grid.key(g) + " population interval", name);
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

}  // namespace

nlohmann::ordered_json zeta_analysis(nn::Network& net, const nn::LabeledImages& test, size_t pool,
                                     const run::GridSpec& grid, const ZetaSettings& s,
                                     const std::function<void(const std::string& block, size_t done)>& on_block) {
  validate(s);
  const std::vector<uint32_t> indices = stratified_sample(test, pool, s.samples, s.seed);
  if (indices.empty())
    throw base::Error("--zeta-samples: no test images among the first " + std::to_string(pool) + " to evaluate on");
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

  nlohmann::ordered_json out;
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
  nlohmann::ordered_json& layers = out["layers"];
  layers = nlohmann::ordered_json::object();
  // Blocks run from the output back to the input: the late blocks are cheap and usually stop by
  // tolerance, and the time they leave unused is shared equally among the blocks still to run, so
  // the early, expensive blocks get more permutations while the total stays within blocks × budget
  // plus, per block, one step of shapley_sampled or one chunk's Taylor pass (and the setup of a block
  // whose budget is smaller than that: it always runs).
  std::vector<nlohmann::ordered_json> results(blocks.size());
  double carried = 0;
  // A block inside a residual branch has no lesion game here (CoalitionValue refuses it): it is left
  // out of `layers` and listed under `skipped`.
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  for (size_t b = blocks.size(); b-- > 0;) {
    if (on_block) on_block(blocks[b].name, blocks.size() - 1 - b);
    if (net.crossed_by_shortcut(int(b))) {
      skipped.push_back(blocks[b].name);
      continue;
    }
    const base::Stopwatch clock;
    const double share = carried / double(b + 1);
    carried -= share;
    const double budget = s.budget_seconds + share;
    CoalitionValue game(net, int(b), grid, test, indices, s);
    const double setup_seconds = clock.seconds();
    // shapley takes each image's lesions in the image's first step and each chunk's Taylor terms
    // before that chunk's first steps, so that its budget cuts every score at the same image.
    std::vector<double> lesion, taylor, taylor_per_image;
    double lesion_seconds = 0, taylor_seconds = 0;
    ShapleyEstimate est;
    if (s.method == "shapley") {
      taylor_per_image.assign(game.images() * size_t(game.regions()), 0.0);
      const uint64_t layer_seed = nn::Rng::derive(s.seed, 0x2E7A, b).next();
      est = shapley_sampled(game, s.tolerance, std::max(0.0, budget - clock.seconds()), s.max_permutations, layer_seed,
                            [&](size_t first, int count) {
                              const base::Stopwatch taylor_clock;
                              taylor_chunk_terms(game, first, count, taylor_per_image);
                              taylor_seconds += taylor_clock.seconds();
                            });
      est.seconds -= taylor_seconds;  // timing.shapley: the estimator's own time
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
    results[b]["budget_seconds"] = budget;
    results[b]["timing"] = {{"setup", setup_seconds}, {"lesion", lesion_seconds}, {"taylor", taylor_seconds},
                            {"shapley", est.seconds}};
  }
  for (size_t b = 0; b < blocks.size(); ++b)
    if (!results[b].is_null()) layers[blocks[b].name] = std::move(results[b]);
  if (!skipped.empty()) out["skipped"] = {{"blocks", skipped}, {"reason", "inside a residual branch (a shortcut passes it)"}};
  return out;
}

}  // namespace imaging
