#include "report/report.h"

#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

#include "report/canvas.h"
#include "report/colormap.h"
#include "report/figures.h"
#include "base/format.h"
#include "report/page.h"
#include "report/report_data.h"
#include "report/report_eeg.h"
#include "report/report_summary.h"
#include "base/error.h"
#include "base/fileio.h"
#include "run/json.h"
#include "run/manifest.h"
#include "run/layout.h"

namespace report {


namespace {

using run::Json;

constexpr int kFlowsPerRegion = 3;  // strongest in- and out-flows embedded per region
constexpr int kFlowsPerPair = 12;   // strongest flows embedded per layer pair
constexpr int kErrorRegions = 5;    // regions listed per class and per confusion cell (analyze --errors)


template <typename T, typename Get>
Json column(const std::vector<T>& items, Get get) {
  Json out = Json::array();
  for (const T& item : items) out.push_back(significant(get(item)));
  return out;
}

template <typename Get>
Json optional_column(const std::vector<ZetaRegion>& zeta, Get get) {
  if (zeta.empty() || !get(zeta[0])) return nullptr;
  Json out = Json::array();
  for (const ZetaRegion& z : zeta) out.push_back(get(z) ? Json(significant(*get(z))) : Json(nullptr));
  return out;
}

Json grid_json(const run::RegionGrid& g) { return Json::array({g.gh, g.gw, g.gc}); }

// The confusion view's example images (analyze --errors): the gallery's mistakes, kinds "mistake" and
// "cell", which hold every confusion cell's kCellExamples worst (imaging/error_maps.h), as positions
// in EpochData::gallery.
std::vector<size_t> confusion_examples(const EpochData& e) {
  std::vector<size_t> out;
  for (size_t i = 0; i < e.gallery.size(); ++i)
    if (e.gallery[i].label != e.gallery[i].predicted) out.push_back(i);
  return out;
}

// Per region of a layer, the strongest listed flows of one pair as a flat [region, value, ...].
Json strongest_flows(const PairTract* pair, int regions, bool incoming) {
  if (!pair) return nullptr;
  std::vector<std::vector<RegionFlow>> by_region(static_cast<size_t>(regions));
  for (const RegionFlow& f : pair->flows) by_region[size_t(incoming ? f.to : f.from)].push_back(f);
  Json out = Json::array();
  for (std::vector<RegionFlow>& flows : by_region) {
    std::stable_sort(flows.begin(), flows.end(), [](const RegionFlow& a, const RegionFlow& b) { return a.value > b.value; });
    Json list = Json::array();
    for (size_t i = 0; i < flows.size() && i < size_t(kFlowsPerRegion); ++i) {
      list.push_back(incoming ? flows[i].from : flows[i].to);
      list.push_back(significant(flows[i].value));
    }
    out.push_back(list);
  }
  return out;
}

Json layer_epoch_json(const EpochData& e, size_t l, int class_count) {
  const LayerImage& layer = e.layers[l];
  Json j;
  j["grid"] = grid_json(layer.grid);
  j["shape"] = layer.shape_known ? Json::array({layer.grid.height, layer.grid.width, layer.grid.channels}) : Json(nullptr);
  j["g"] = nullptr;
  if (layer.has_grid) {
    const std::vector<run::GridRegionStats>& s = layer.stats;
    Json units = Json::array();
    for (const run::GridRegionStats& r : s) units.push_back(r.activation_count);
    // the summary's selectivity (report_summary.h), for every region; null when H(Y) is unknown
    Json selectivity = nullptr;
    if (class_count >= 2) selectivity = column(s, [&](const run::GridRegionStats& r) { return *region_selectivity(r, class_count); });
    j["g"] = {{"density", column(s, [](const run::GridRegionStats& r) { return r.density; })},
              {"variance", column(s, [](const run::GridRegionStats& r) { return r.variance; })},
              {"mean_abs", column(s, [](const run::GridRegionStats& r) { return r.mean_abs; })},
              {"active", column(s, [](const run::GridRegionStats& r) { return r.active_fraction; })},
              {"info", column(s, [](const run::GridRegionStats& r) { return r.information_bits; })},
              {"info_null", column(s, [](const run::GridRegionStats& r) { return r.information_null_bits; })},
              {"selectivity", selectivity},
              {"units", units},
              {"coverage", significant(layer.coverage)},
              {"dead", layer.dead}};
  }
  j["z"] = nullptr;
  if (layer.has_zeta) {
    const std::vector<ZetaRegion>& z = layer.zeta;
    Json sig = Json::array();
    for (const ZetaRegion& r : z) sig.push_back(r.significant ? 1 : 0);
    j["z"] = {{"zeta", column(z, [](const ZetaRegion& r) { return r.zeta; })},
              {"lo", column(z, [](const ZetaRegion& r) { return r.ci_low; })},
              {"hi", column(z, [](const ZetaRegion& r) { return r.ci_high; })},
              {"sig", sig},
              {"shapley", optional_column(z, [](const ZetaRegion& r) { return r.shapley; })},
              {"shapley_lo", optional_column(z, [](const ZetaRegion& r) { return r.shapley_low; })},
              {"shapley_hi", optional_column(z, [](const ZetaRegion& r) { return r.shapley_high; })},
              {"p", optional_column(z, [](const ZetaRegion& r) { return r.p_value; })},
              {"robust", optional_column(z, [](const ZetaRegion& r) { return r.robust_score; })},
              {"lesion", optional_column(z, [](const ZetaRegion& r) { return r.lesion; })},
              {"taylor", optional_column(z, [](const ZetaRegion& r) { return r.taylor; })},
              {"critical", layer.critical},
              {"critical_share", significant(layer.critical_share)},
              {"method", layer.zeta_method},
              {"ci", layer.zeta_ci.empty() ? Json(nullptr) : Json(layer.zeta_ci)},
              {"images", layer.zeta_images},
              {"stopped_by", layer.zeta_stopped_by.empty() ? Json(nullptr) : Json(layer.zeta_stopped_by)},
              {"same_game_as", layer.same_game_as.empty() ? Json(nullptr) : Json(layer.same_game_as)}};
  }
  const PairTract *in = nullptr, *out = nullptr;
  for (const PairTract& p : e.pairs) {
    if (p.to == int(l) && !in) in = &p;
    if (p.from == int(l) && !out) out = &p;
  }
  // analyze --errors: per class the regions with the largest φ over its images, per confusion cell
  // true → predicted the regions with the most negative φ over its images (with the default value,
  // log p(true class), those lower the true class on exactly those mistakes); kErrorRegions of each,
  // and of a cell only regions with φ < 0 (one with φ ≥ 0 does not work against the true class there).
  if (!layer.class_maps.empty() || !layer.confusion_maps.empty()) {
    auto top = [&](const LayerImage::SubsetMap& m, bool lowest) {
      std::vector<int> order(m.phi.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return lowest ? m.phi[size_t(a)] < m.phi[size_t(b)] : m.phi[size_t(a)] > m.phi[size_t(b)];
      });
      size_t keep = std::min(order.size(), size_t(kErrorRegions));
      if (lowest)
        while (keep > 0 && !(m.phi[size_t(order[keep - 1])] < 0)) --keep;
      order.resize(keep);
      Json phi = Json::array();
      for (int g : order) phi.push_back(significant(m.phi[size_t(g)]));
      return Json{{"regions", order}, {"phi", phi}};
    };
    Json classes = Json::array(), cells = Json::array();
    for (const LayerImage::SubsetMap& m : layer.class_maps) {
      Json c = {{"class", m.true_class}, {"images", m.images}};
      c.update(top(m, false));
      c["map"] = column(m.phi, [](double v) { return v; });  // every region: the page's class colouring
      classes.push_back(c);
    }
    for (const LayerImage::SubsetMap& m : layer.confusion_maps) {
      Json c = {{"true", m.true_class}, {"predicted", m.predicted}, {"images", m.images}};
      c.update(top(m, true));
      cells.push_back(c);
    }
    j["errors"] = {{"classes", classes}, {"confusions", cells}};
    // Per confusion example (epoch errors.examples) its φ_g(x) summed over the channel groups of each
    // cell (i, j), row-major GH·GW values (null when the layer's estimate does not cover the image): all
    // that the projection onto the pixels needs, since a cell's groups share one receptive field
    // (run::project_to_pixels; the page's projectCells spreads each sum evenly over it).
    if (layer.gallery_phi.size() == e.gallery.size()) {
      Json sums = Json::array();
      for (size_t i : confusion_examples(e)) {
        const std::vector<double>& phi = layer.gallery_phi[i];
        if (phi.empty()) { sums.push_back(nullptr); continue; }
        std::vector<double> cell(size_t(layer.grid.gh) * size_t(layer.grid.gw), 0.0);
        for (int r = 0; r < layer.grid.count(); ++r) {
          int gi, gj, gk;
          layer.grid.coords(r, gi, gj, gk);
          cell[size_t(gi) * size_t(layer.grid.gw) + size_t(gj)] += phi[size_t(r)];
        }
        sums.push_back(column(cell, [](double v) { return v; }));
      }
      j["errors"]["example_cells"] = sums;
    }
  }
  j["in_from"] = in ? Json(in->from) : Json(nullptr);
  j["in"] = strongest_flows(in, layer.grid.count(), true);
  j["out_to"] = out ? Json(out->to) : Json(nullptr);
  j["out"] = strongest_flows(out, layer.grid.count(), false);
  return j;
}

Json epoch_json(const EpochData& e, int class_count, const Json& summary) {
  Json j;
  j["epoch"] = e.epoch;
  j["has"] = {{"grid", e.has_grid}, {"zeta", e.has_zeta}, {"tract", e.has_tract}};
  j["eval_samples"] = e.eval_samples;
  if (!e.checkpoint.is_null()) j["checkpoint"] = e.checkpoint;  // an analyze directory's {path, sha256}
  Json layers = Json::array();
  for (size_t l = 0; l < e.layers.size(); ++l) layers.push_back(layer_epoch_json(e, l, class_count));
  j["layers"] = layers;
  Json pairs = Json::array();
  for (const PairTract& p : e.pairs) {
    std::vector<RegionFlow> flows = p.flows;
    std::stable_sort(flows.begin(), flows.end(), [](const RegionFlow& a, const RegionFlow& b) { return a.value > b.value; });
    Json top = Json::array();
    for (size_t f = 0; f < flows.size() && f < size_t(kFlowsPerPair); ++f)
      top.push_back({flows[f].from, flows[f].to, significant(flows[f].value)});
    const std::optional<double> strength = pair_strength(p, e);
    pairs.push_back({{"key", p.key},
                     {"from", p.from},
                     {"to", p.to},
                     {"shortcut", p.shortcut},
                     {"strength", strength ? Json(significant(*strength)) : Json(nullptr)},
                     {"connection_strength", significant(p.connection_strength)},
                     {"efficiency", significant(p.pathway_efficiency)},
                     {"connected", p.connected_pairs},
                     {"top", top}});
  }
  j["pairs"] = pairs;
  Json chains = Json::array();
  for (const RegionChain& c : e.chains) chains.push_back({{"layers", c.layers}, {"regions", c.regions}, {"score", significant(c.score)}});
  j["chains"] = chains;
  j["path_strength"] = significant(e.path_strength);
  if (!e.sample_labels.empty()) {
    j["errors"] = {{"labels", e.sample_labels}, {"predicted", e.sample_predicted}};
    // The confusion view's examples (at most kCellExamples per cell, imaging/error_maps.h), pixels (C, H, W)
    // 0..255 as base64 (one byte each).
    Json examples = Json::array();
    for (size_t i : confusion_examples(e)) {
      const GalleryImage& g = e.gallery[i];
      examples.push_back({{"slot", g.slot}, {"label", g.label}, {"predicted", g.predicted},
                          {"p_true", significant(g.probability_true)}, {"pixels", base64(g.pixels)}});
    }
    j["errors"]["examples"] = examples;
    j["errors"]["shape"] = Json::array({e.gallery_channels, e.gallery_height, e.gallery_width});
  }
  j["summary"] = summary;
  return j;
}

// The λ, ε and value function the page's glossary states: as the newest analysed epoch's grid.json and
// zeta.json settings record them (what was computed; an analyze directory has no config.json), else as
// config.json's "analysis" asked for them; a quantity neither says is left out (the page's defaults).
Json glossary_settings(const RunData& run) {
  Json out = Json::object();
  const auto take = [&](const char* key, const Json& from, const char* field) {
    if (!out.contains(key) && from.is_object() && from.contains(field) && (from[field].is_number() || from[field].is_string()))
      out[key] = from[field];
  };
  for (auto e = run.epochs.rbegin(); e != run.epochs.rend(); ++e) {
    take("lambda", e->grid_settings, "lambda");
    take("epsilon", e->grid_settings, "epsilon");
    take("value_function", e->zeta_settings, "value_function");
  }
  if (run.config.is_object() && run.config.contains("analysis") && run.config["analysis"].is_object()) {
    const Json& a = run.config["analysis"];
    take("lambda", a, "lambda");
    take("epsilon", a, "epsilon");
    if (a.contains("zeta")) take("value_function", a["zeta"], "value");
  }
  return out;
}

Json page_data(const RunData& run, const std::vector<StabilityStep>& stability, const std::vector<Json>& summaries,
               const Json& run_summary_json, const Json& eeg) {
  Json d;
  d["meta"] = {{"model", run.model()},
               {"dataset", run.dataset()},
               {"run", run.name()},
               {"classes", run.class_names},
               {"analysis_dir", run.single_analysis},  // an analyze output directory: one epoch, no training
               {"glossary", glossary_settings(run)}};
  // An analyze output directory has no config.json: its data spec (as typed and with its folder
  // absolute) comes from its files' header, for the page's commands.
  if (run.single_analysis && run.analysis_header.contains("dataset") && run.analysis_header["dataset"].is_object()) {
    const Json& dataset = run.analysis_header["dataset"];
    Json data = Json::object();
    for (const char* key : {"spec", "absolute_spec"})
      if (dataset.contains(key) && dataset[key].is_string()) data[key] = dataset[key];
    if (!data.empty()) d["meta"]["data"] = data;
  }
  d["config"] = run.config;
  d["colormaps"] = Json::parse(colormap_stops_json());
  Json layers = Json::array();
  for (size_t l = 0; l < run.layers.size(); ++l) {
    Json layer = {{"name", run.layers[l]}, {"role", region_role(int(l), int(run.layers.size()))}};
    // The newest receptive_field of the layer (geometry: it changes only with the grid).
    for (auto e = run.epochs.rbegin(); e != run.epochs.rend(); ++e)
      if (!e->layers[l].rf_rows.empty()) {
        layer["rf"] = {{"rows", e->layers[l].rf_rows}, {"cols", e->layers[l].rf_cols}, {"grid", {e->layers[l].grid.gh, e->layers[l].grid.gw}}};
        break;
      }
    layers.push_back(layer);
  }
  d["layers"] = layers;
  Json metrics = {{"epoch", Json::array()}, {"train_loss", Json::array()}, {"train_acc", Json::array()},
                  {"test_loss", Json::array()}, {"test_acc", Json::array()}, {"learning_rate", Json::array()}};
  for (const MetricsRow& m : run.metrics) {
    metrics["epoch"].push_back(m.epoch);
    metrics["train_loss"].push_back(significant(m.train_loss));
    metrics["train_acc"].push_back(significant(m.train_acc));
    metrics["test_loss"].push_back(significant(m.test_loss));
    metrics["test_acc"].push_back(significant(m.test_acc));
    metrics["learning_rate"].push_back(m.learning_rate ? Json(significant(*m.learning_rate)) : Json(nullptr));
  }
  d["metrics"] = metrics;
  Json steps = Json::array();
  for (const StabilityStep& s : stability) {
    Json per_layer = Json::array();
    for (const std::optional<double>& v : s.layers) per_layer.push_back(v ? Json(significant(*v)) : Json(nullptr));
    steps.push_back({{"from", s.from_epoch}, {"to", s.to_epoch}, {"mean", s.mean ? Json(significant(*s.mean)) : Json(nullptr)},
                     {"layers", per_layer}});
  }
  d["stability"] = steps;
  Json epochs = Json::array();
  for (size_t e = 0; e < run.epochs.size(); ++e) epochs.push_back(epoch_json(run.epochs[e], run.class_count(), summaries[e]));
  d["epochs"] = epochs;
  d["images"] = run.images;
  d["notes"] = run.notes;
  d["definitions"] = run_summary_json["definitions"];
  d["eeg"] = eeg;
  return d;
}

// What the page and the summaries are made of: the ζ stability steps, one summary per analysed
// epoch (its figures among `figures`), the run's summary.  Shared by build_report and serve.
struct Scan {
  std::vector<StabilityStep> stability;
  std::vector<Json> summaries;
  Json summary;
  std::vector<Json> eeg_docs;  // per analysed epoch its eeg.json (null without NN-EEG data)
  Json eeg;                    // the page's NN-EEG view
};

Scan scan_run(const RunData& run, std::vector<StabilityStep> stability, const std::vector<std::string>& figures,
              const std::string& page) {
  Scan out;
  out.stability = std::move(stability);
  for (size_t e = 0; e < run.epochs.size(); ++e) {
    Json s = epoch_summary(run, e, out.stability);
    const std::string folder = run::Layout::epoch_figures(run.epochs[e].epoch) + "/";
    Json own = Json::array();
    for (const std::string& f : figures)
      if (f.rfind(folder, 0) == 0) own.push_back(f);
    s["figures"] = own;
    run::require_finite(s, run.epochs[e].dir + "/" + run::kEpochSummaryFile);
    out.summaries.push_back(std::move(s));
  }
  out.summary = run_summary(run, out.stability, figures, page);
  const std::vector<EegEpoch> eeg = load_eeg(run.dir, run.committed_files ? &*run.committed_files : nullptr);
  out.eeg_docs = eeg_epoch_documents(run, eeg);
  for (size_t e = 0; e < out.eeg_docs.size(); ++e)
    if (!out.eeg_docs[e].is_null()) run::require_finite(out.eeg_docs[e], run.epochs[e].dir + "/" + run::kEegEpochFile);
  out.eeg = eeg_page_data(run, eeg, out.eeg_docs);
  return out;
}

std::string page_data_of(const RunData& run, const Scan& scan) {
  return script_safe_json(run::json_text(page_data(run, scan.stability, scan.summaries, scan.summary, scan.eeg), -1));
}

}  // namespace

std::string page_data_text(const RunData& run) { return page_data_of(run, scan_run(run, zeta_stability(run), {}, "")); }

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = uint32_t(bytes[i]) << 16 | (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t(bytes[i + 2]) : 0);
    out += digits[n >> 18 & 63];
    out += digits[n >> 12 & 63];
    out += i + 1 < bytes.size() ? digits[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? digits[n & 63] : '=';
  }
  return out;
}

std::string script_safe_json(const std::string& json_text) {
  std::string out;
  out.reserve(json_text.size() + json_text.size() / 16);
  for (size_t i = 0; i < json_text.size(); ++i) {
    const char c = json_text[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < json_text.size() && json_text[i + 1] == '\x80' &&
             (json_text[i + 2] == '\xA8' || json_text[i + 2] == '\xA9')) {
      out += json_text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else out += c;
  }
  return out;
}

std::string build_report(const std::string& run_dir_argument, const ReportOptions& opts) {
  if (opts.format != "png" && opts.format != "svg") throw base::Error("--format '" + opts.format + "': expected png or svg");
  if (opts.scale < 1 || opts.scale > kMaxFigureScale)
    throw base::Error("--scale " + std::to_string(opts.scale) + ": expected 1 to " + std::to_string(kMaxFigureScale));
  require_figure_font();
  std::string run_dir = run_dir_argument;
  while (run_dir.size() > 1 && run_dir.back() == '/') run_dir.pop_back();
  const run::Layout layout(run_dir);
  // Everything is read, checked and built in memory first; files are written only when all of it
  // succeeded, so a bad input leaves no new summary or figure behind.
  // A run's manifest says which epochs are complete (`train` writes run.json last): load_run does not
  // read the files of an epoch that was cut short (a kill during its imaging), so it gets no summary.
  RunData run = load_run(run_dir);
  std::vector<StabilityStep> stability = zeta_stability(run);
  const Figures rendered = render_figures(run, stability, opts.format, opts.scale);
  for (const std::string& skipped : rendered.skipped) run.notes.push_back(skipped);
  for (const std::string& rescaled : rendered.rescaled) run.notes.push_back(rescaled);
  std::vector<std::string> figures;
  for (const Figure& f : rendered.files) figures.push_back(f.path);

  const std::string page = opts.figures_only ? "" : "report.html";  // relative to the run, as summary.json lists it
  const Scan scan = scan_run(run, std::move(stability), figures, page);
  const std::vector<Json>& summaries = scan.summaries;
  const Json& summary = scan.summary;
  run::require_finite(summary, layout.summary());
  std::string html;
  if (!opts.figures_only) html = page_html(page_data_of(run, scan));

  // The earlier summary and page go before the first new file, and come back last: a failure on the
  // way leaves new figures without a summary or page, never an old page over new files.
  // With --figures-only an earlier page goes for good: its numbers are not this report's.
  const bool stale_page = opts.figures_only && base::file_exists(layout.report_page());
  run::remove_file(layout.summary());
  run::remove_file(layout.report_page());
  // Figures an earlier report drew that this one does not (the other --format, an epoch no longer read,
  // a figure now skipped) go too: figures/ then holds exactly what summary.json lists.
  remove_figures_not_in(run_dir, run::Layout::figures(), rendered);
  write_figures(run_dir, rendered);
  // An analyze directory's one epoch lives in the run directory itself: its summary is the run's.
  if (!run.single_analysis)
    for (size_t e = 0; e < run.epochs.size(); ++e)
      run::write_json(run.epochs[e].dir + "/" + run::kEpochSummaryFile, summaries[e], 2);
  for (size_t e = 0; e < scan.eeg_docs.size(); ++e)
    if (!scan.eeg_docs[e].is_null()) run::write_json(run.epochs[e].dir + "/" + run::kEegEpochFile, scan.eeg_docs[e], 1);
  run::write_json(layout.summary(), summary, 2);
  // the figures' lines follow the summary, each on its own line: not among its notes too
  run.notes.resize(run.notes.size() - rendered.skipped.size() - rendered.rescaled.size());
  std::string text = summary_text(run, summary);
  for (const std::string& skipped : rendered.skipped) text += "  " + skipped + "\n";
  for (const std::string& rescaled : rendered.rescaled) text += "  " + rescaled + "\n";
  std::string wrote = run_dir + "/summary.json, " +
                      (run.single_analysis ? std::string() : "the summaries of " + base::counted(long(run.epochs.size()), "epoch") + ", ") +
                      base::counted(long(figures.size()), "figure") + " (" + opts.format + ") in " + run_dir + "/figures/";
  if (!opts.figures_only) {
    base::write_file_atomic(layout.report_page(), html);
    wrote += ", " + run_dir + "/" + page + " (" + base::format("%.2f MB", double(html.size()) / 1e6) + ")";
  }
  if (stale_page) wrote += "; removed the earlier " + run_dir + "/report.html (--figures-only writes no page)";
  return text + "  wrote " + wrote + "\n";
}

}  // namespace report
