#include "report/report_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "base/format.h"

namespace report {
namespace {

using Json = nlohmann::ordered_json;
const char* const kArrow = "\u2192";

const char* const kRoles[] = {"feature_extraction", "pattern_recognition", "decision"};

// Ranks 1 … n, ties sharing the average of the ranks they span.
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (double(i) + double(j)) / 2 + 1;
    for (size_t t = i; t <= j; ++t) ranks[order[t]] = rank;
    i = j + 1;
  }
  return ranks;
}

Json grid_triple(const run::RegionGrid& grid, int r) {
  int i0, j0, k0;
  grid.coords(r, i0, j0, k0);
  return Json::array({i0 + 1, j0 + 1, k0 + 1});
}

Json region_entry(const RunData& run, const EpochData& epoch, int l, int r) {
  const LayerImage& layer = epoch.layers[size_t(l)];
  Json e;
  e["layer"] = layer.name;
  e["region"] = layer.grid.key(r);
  e["grid"] = grid_triple(layer.grid, r);
  if (layer.has_zeta) {
    const ZetaRegion& z = layer.zeta[size_t(r)];
    e["zeta"] = significant(z.zeta);
    e["zeta_ci"] = {significant(z.ci_low), significant(z.ci_high)};
    e["significant"] = z.significant;
    e["critical"] = std::find(layer.critical.begin(), layer.critical.end(), r) != layer.critical.end();
  }
  if (layer.has_grid) {
    const run::GridRegionStats& s = layer.stats[size_t(r)];
    e["density"] = significant(s.density);
    e["information_bits"] = significant(s.information_bits);
    e["information_above_null"] = significant(s.information_bits - s.information_null_bits);  // bits
    if (auto sel = region_selectivity(s, run.class_count())) e["selectivity"] = significant(*sel);
  }
  e["role"] = region_role(l, int(run.layers.size()));
  return e;
}

// Regions of every layer ranked by ζ (when the epoch has ζ) or by information above the null
// floor (grid only), descending; ties keep layer then region order.  Ranked by ζ, a layer that plays
// another layer's game (its same_game_as) is not ranked: its φ and ζ are that game's, renamed, so each
// of its regions would repeat one of the other layer's; that layer's entries name it instead
// ("same_game_layers").
Json top_regions(const RunData& run, const EpochData& epoch, std::string& ranked_by) {
  struct Candidate {
    int layer, region;
    double key;
  };
  std::vector<Candidate> candidates;
  ranked_by = epoch.has_zeta ? "zeta" : epoch.has_grid ? "information_above_null" : "none";
  for (int l = 0; l < int(epoch.layers.size()); ++l) {
    const LayerImage& layer = epoch.layers[size_t(l)];
    for (int r = 0; r < layer.grid.count(); ++r) {
      if (epoch.has_zeta && layer.has_zeta) {
        if (layer.same_game_as.empty()) candidates.push_back({l, r, layer.zeta[size_t(r)].zeta});
      } else if (!epoch.has_zeta && layer.has_grid) {
        candidates.push_back({l, r, layer.stats[size_t(r)].information_bits - layer.stats[size_t(r)].information_null_bits});
      }
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) { return a.key > b.key; });
  Json out = Json::array();
  for (size_t c = 0; c < candidates.size() && c < size_t(kTopRegions); ++c) {
    Json entry = region_entry(run, epoch, candidates[c].layer, candidates[c].region);
    if (epoch.has_zeta) {
      Json same = Json::array();
      for (const LayerImage& other : epoch.layers)
        if (other.has_zeta && other.same_game_as == epoch.layers[size_t(candidates[c].layer)].name) same.push_back(other.name);
      if (!same.empty()) entry["same_game_layers"] = same;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Json pathways(const EpochData& epoch) {
  std::vector<size_t> order(epoch.pairs.size());
  std::iota(order.begin(), order.end(), size_t(0));
  // by strength per receiving unit; pairs whose receiving layer has no known shape after them, by raw C
  auto rank_key = [&](size_t p) {
    const std::optional<double> s = pair_strength(epoch.pairs[p], epoch);
    return std::make_pair(s.has_value(), s.value_or(epoch.pairs[p].connection_strength));
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rank_key(a) > rank_key(b); });
  Json out = Json::array();
  for (size_t p : order) {
    const PairTract& pair = epoch.pairs[p];
    const LayerImage &from = epoch.layers[size_t(pair.from)], &to = epoch.layers[size_t(pair.to)];
    Json e;
    e["path"] = from.name + kArrow + to.name;
    if (auto s = pair_strength(pair, epoch)) e["strength"] = significant(*s);
    e["connection_strength"] = significant(pair.connection_strength);
    e["pathway_efficiency"] = significant(pair.pathway_efficiency);
    if (!pair.flows.empty()) {
      const RegionFlow& best = *std::max_element(pair.flows.begin(), pair.flows.end(),
                                           [](const RegionFlow& a, const RegionFlow& b) { return a.value < b.value; });
      e["strongest_flow"] = from.grid.key(best.from) + " " + kArrow + " " + to.grid.key(best.to);
    }
    out.push_back(e);
  }
  return out;
}

Json chains(const EpochData& epoch) {
  std::vector<size_t> order(epoch.chains.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return epoch.chains[a].score > epoch.chains[b].score; });
  Json out = Json::array();
  for (size_t c = 0; c < order.size() && c < size_t(kTopChains); ++c) {
    const RegionChain& chain = epoch.chains[order[c]];
    std::string path;
    for (size_t s = 0; s < chain.layers.size(); ++s) {
      const LayerImage& layer = epoch.layers[size_t(chain.layers[s])];
      path += (s ? std::string(" ") + kArrow + " " : "") + layer.name + ":" + layer.grid.key(chain.regions[s]);
    }
    out.push_back({{"path", path}, {"score", significant(chain.score)}});
  }
  return out;
}

Json metrics_json(const MetricsRow& m) {
  return {{"epoch", m.epoch},
          {"train_loss", significant(m.train_loss)},
          {"train_acc", significant(m.train_acc)},
          {"test_loss", significant(m.test_loss)},
          {"test_acc", significant(m.test_acc)}};
}

Json stability_json(const RunData& run, const StabilityStep& step) {
  Json layers = Json::object();
  for (size_t l = 0; l < run.layers.size(); ++l)
    if (step.layers[l]) layers[run.layers[l]] = significant(*step.layers[l]);
  Json e = {{"from_epoch", step.from_epoch}, {"to_epoch", step.to_epoch}};
  if (step.mean) e["mean"] = significant(*step.mean);
  e["layers"] = layers;
  return e;
}

std::string join_first(const std::vector<std::string>& items, size_t count, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < count; ++i) out += (i ? separator : "") + items[i];
  if (items.size() > count) out += separator + "and " + std::to_string(items.size() - count) + " more";
  return out;
}

}  // namespace

std::string region_role(int layer_index, int layer_count) {
  if (layer_count < 1) return kRoles[0];
  return kRoles[std::clamp(3 * layer_index / layer_count, 0, 2)];
}

std::optional<double> region_selectivity(const run::GridRegionStats& region, int class_count) {
  if (class_count < 2) return std::nullopt;
  return std::clamp((region.information_bits - region.information_null_bits) / std::log2(double(class_count)), 0.0, 1.0);
}

// ρ = Σ (R_a − R̄)(R_b − R̄) / √(Σ (R_a − R̄)² · Σ (R_b − R̄)²), R = average ranks.
std::optional<double> spearman_rank_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 3) return std::nullopt;
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double mean = (double(a.size()) + 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa <= 0 || sbb <= 0) return std::nullopt;
  return sab / std::sqrt(saa * sbb);
}

std::optional<double> pair_strength(const PairTract& pair, const EpochData& epoch) {
  const LayerImage& to = epoch.layers[size_t(pair.to)];
  if (!to.shape_known) return std::nullopt;
  return pair.connection_strength / (double(to.grid.height) * to.grid.width * to.grid.channels);
}

std::vector<StabilityStep> zeta_stability(const RunData& run) {
  std::vector<const EpochData*> with_zeta;
  for (const EpochData& e : run.epochs)
    if (e.has_zeta) with_zeta.push_back(&e);
  std::vector<StabilityStep> steps;
  for (size_t s = 1; s < with_zeta.size(); ++s) {
    const EpochData &a = *with_zeta[s - 1], &b = *with_zeta[s];
    StabilityStep step;
    step.from_epoch = a.epoch, step.to_epoch = b.epoch;
    double sum = 0;
    int count = 0;
    for (size_t l = 0; l < run.layers.size(); ++l) {
      const LayerImage &la = a.layers[l], &lb = b.layers[l];
      std::optional<double> rho;
      if (la.has_zeta && lb.has_zeta && la.grid.gh == lb.grid.gh && la.grid.gw == lb.grid.gw && la.grid.gc == lb.grid.gc) {
        std::vector<double> za, zb;
        for (const ZetaRegion& z : la.zeta) za.push_back(z.zeta);
        for (const ZetaRegion& z : lb.zeta) zb.push_back(z.zeta);
        rho = spearman_rank_correlation(za, zb);
      }
      if (rho) sum += *rho, ++count;
      step.layers.push_back(rho);
    }
    if (count) step.mean = sum / count;
    steps.push_back(std::move(step));
  }
  return steps;
}

double significant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  char text[48];
  std::snprintf(text, sizeof text, "%.*e", digits - 1, v);
  const double rounded = std::strtod(text, nullptr);
  return std::isfinite(rounded) ? rounded : v;  // 1.7976931e308 rounds up to infinity
}

Json epoch_summary(const RunData& run, size_t e, const std::vector<StabilityStep>& stability) {
  const EpochData& epoch = run.epochs[e];
  Json s;
  s["model"] = run.model();
  s["dataset"] = run.dataset();
  s["epoch"] = epoch.epoch;
  if (const MetricsRow* m = run.metrics_of(epoch.epoch)) {
    s["test_acc"] = significant(m->test_acc);
    s["train_acc"] = significant(m->train_acc);
    s["test_loss"] = significant(m->test_loss);
  }
  if (epoch.eval_samples) s["eval_samples"] = epoch.eval_samples;
  std::string ranked_by;
  s["top_regions"] = top_regions(run, epoch, ranked_by);
  s["top_regions_ranked_by"] = ranked_by;
  s["critical_pathways"] = pathways(epoch);
  s["critical_chains"] = chains(epoch);
  Json coverage = Json::object(), share = Json::object();
  for (const LayerImage& layer : epoch.layers) {
    if (layer.has_grid) coverage[layer.name] = significant(layer.coverage);
    if (layer.has_zeta) share[layer.name] = significant(layer.critical_share);
  }
  s["coverage"] = coverage;
  s["critical_share"] = share;
  if (epoch.has_tract) s["path_strength"] = significant(epoch.path_strength);
  for (const StabilityStep& step : stability)
    if (step.to_epoch == epoch.epoch) s["zeta_stability"] = stability_json(run, step);
  Json missing = Json::array();
  // the files the run asked for at this epoch and lacks (not those --stages or --zeta-every left out)
  if (!epoch.has_grid && run.expects_stage("grid", epoch.epoch)) missing.push_back("grid.json");
  if (!epoch.has_zeta && run.expects_stage("zeta", epoch.epoch)) missing.push_back("zeta.json");
  if (!epoch.has_tract && run.expects_stage("tract", epoch.epoch)) missing.push_back("tract.json");
  s["missing"] = missing;
  return s;
}

Json run_summary(const RunData& run, const std::vector<StabilityStep>& stability, const std::vector<std::string>& figures,
                 const std::string& report_page) {
  Json s;
  if (!run.epochs.empty()) {
    s = epoch_summary(run, run.epochs.size() - 1, stability);
  } else {
    s["model"] = run.model();
    s["dataset"] = run.dataset();
    if (!run.metrics.empty()) {
      s["epoch"] = run.metrics.back().epoch;
      s["test_acc"] = significant(run.metrics.back().test_acc);
    }
  }
  s["epochs_trained"] = run.metrics.size();
  Json analysed = Json::array();
  for (const EpochData& e : run.epochs) analysed.push_back(e.epoch);
  s["analysed_epochs"] = analysed;
  if (!run.metrics.empty()) {
    s["final"] = metrics_json(run.metrics.back());
    const MetricsRow* best = &run.metrics.front();
    for (const MetricsRow& m : run.metrics)
      if (m.test_acc > best->test_acc) best = &m;
    s["best_test_acc"] = {{"epoch", best->epoch}, {"test_acc", significant(best->test_acc)}};
  }
  Json steps = Json::array();
  for (const StabilityStep& step : stability) steps.push_back(stability_json(run, step));
  s["zeta_stability_by_epoch"] = steps;
  s["definitions"] = {
      {"role", "band = floor(3*l/L) of the layer's 0-based index l among the L imaged layers: 0 feature_extraction, "
               "1 pattern_recognition, 2 decision"},
      {"selectivity", "clamp((information_bits - information_null_bits) / log2(classes), 0, 1)"},
      {"strength", "connection_strength / (H*W*C of the receiving layer): mean absolute input drive per receiving unit"},
      {"zeta_stability", "Spearman rank correlation of a layer's region zeta between consecutive analysed epochs"}};
  s["notes"] = run.notes;
  s["figures"] = figures;
  if (!report_page.empty()) s["report"] = report_page;
  return s;
}

std::string summary_text(const RunData& run, const Json& s) {
  std::string text = "report: " + run.model() + " on " + run.dataset() + ", " +
                     (run.single_analysis ? std::string("an analyze output directory (no training)")
                                          : base::counted(long(run.metrics.size()), "epoch") + " trained, " +
                                                std::to_string(run.epochs.size()) + " analysed");
  if (s.contains("epoch") && !run.epochs.empty()) text += "; epoch " + std::to_string(s["epoch"].get<int>());
  if (s.contains("test_acc")) text += base::format(", test accuracy %.4g", s["test_acc"].get<double>());
  text += "\n";
  if (s.contains("top_regions") && !s["top_regions"].empty()) {
    std::vector<std::string> items;
    for (const Json& r : s["top_regions"]) {
      std::string item = r["layer"].get<std::string>() + " " + r["region"].get<std::string>();
      if (r.contains("zeta"))
        item += base::format(" \u03b6 %.4g", r["zeta"].get<double>()) + base::format(" [%.4g,", r["zeta_ci"][0].get<double>()) +
                base::format(" %.4g]", r["zeta_ci"][1].get<double>());
      else if (r.contains("information_above_null"))
        item += base::format(" %.4g bits above the null", r["information_above_null"].get<double>());
      std::string also;
      if (r.contains("same_game_layers"))
        for (const Json& other : r["same_game_layers"]) also += "; " + other.get<std::string>() + "'s \u03b6 too, the same game";
      items.push_back(item + " (" + r["role"].get<std::string>() + also + ")");
    }
    text += "  top regions by " + s["top_regions_ranked_by"].get<std::string>() + ": " + join_first(items, 3, "; ") + "\n";
  }
  if (s.contains("critical_pathways") && !s["critical_pathways"].empty()) {
    // one measure per number: the mean drive per receiving unit, else (no shape known) the raw C, marked
    std::vector<std::string> items;
    bool per_unit = false, raw = false;
    for (const Json& p : s["critical_pathways"]) (p.contains("strength") ? per_unit : raw) = true;
    for (const Json& p : s["critical_pathways"])
      items.push_back(p["path"].get<std::string>() + (p.contains("strength") ? base::format(" %.4g", p["strength"].get<double>())
                                                      : base::format(per_unit ? " C %.4g" : " %.4g", p["connection_strength"].get<double>())));
    text += std::string("  strongest pathways (") +
            (!per_unit ? "connection strength"
             : raw     ? "mean drive per receiving unit; C: connection strength, receiving layer's shape unknown"
                       : "mean drive per receiving unit") +
            "): " + join_first(items, 3, ", ") + "\n";
  }
  for (const char* key : {"coverage", "critical_share"})
    if (s.contains(key) && !s[key].empty()) {
      std::vector<std::string> items;
      for (auto it = s[key].begin(); it != s[key].end(); ++it) items.push_back(it.key() + base::format(" %.4g", it.value().get<double>()));
      text += std::string("  ") + (key[1] == 'o' ? "coverage" : "critical share") + ": " + join_first(items, 8, ", ") + "\n";
    }
  if (s.contains("zeta_stability") && s["zeta_stability"].contains("mean"))
    text += "  \u03b6 stability (Spearman, epoch " + std::to_string(s["zeta_stability"]["from_epoch"].get<int>()) + kArrow +
            std::to_string(s["zeta_stability"]["to_epoch"].get<int>()) +
            base::format("): mean %.4g over layers\n", s["zeta_stability"]["mean"].get<double>());
  if (!run.notes.empty())
    text += std::string(run.single_analysis ? "  notes: " : "  missing: ") + join_first(run.notes, 3, "; ") + "\n";
  return text;
}

}  // namespace report
