#include "report/compare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"
#include "report/canvas.h"
#include "report/figures.h"
#include "report/report_data.h"
#include "report/report_summary.h"
#include "run/json.h"
#include "run/manifest.h"

namespace report {

namespace fs = std::filesystem;
using run::Json;

std::optional<ZetaDifference> zeta_difference(const LayerImage& a, const LayerImage& x) {
  if (!a.has_zeta || !x.has_zeta || a.grid.gh != x.grid.gh || a.grid.gw != x.grid.gw || a.grid.gc != x.grid.gc ||
      a.zeta.size() != x.zeta.size())
    return std::nullopt;
  ZetaDifference d;
  double sum = 0;
  for (size_t r = 0; r < a.zeta.size(); ++r) {
    const double v = a.zeta[r].zeta - x.zeta[r].zeta;
    d.values.push_back(v);
    d.max = std::max(d.max, std::abs(v));
    sum += std::abs(v);
    if (a.zeta[r].ci_low > x.zeta[r].ci_high || x.zeta[r].ci_low > a.zeta[r].ci_high) d.apart.push_back(int(r));
  }
  d.mean_abs = d.values.empty() ? 0 : sum / double(d.values.size());
  return d;
}

namespace {

constexpr const char* kCompareFile = "compare.json";

std::string joined(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out.empty() ? "none" : out;
}

// config.json as the page's Run settings list reads it (report.js's settingsRows, without the values'
// glosses): one row per leaf, keys joined by '.', an array of plain values as one row "a, b".
void settings_rows(const std::string& prefix, const Json& v, std::vector<std::pair<std::string, std::string>>& rows) {
  const bool plain_array = v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& x) { return !x.is_structured(); });
  if (!v.is_structured() || plain_array) {
    const auto text = [](const Json& x) { return x.is_string() ? x.get<std::string>() : x.dump(); };
    std::string value;
    if (plain_array)
      for (const Json& x : v) value += (value.empty() ? "" : ", ") + text(x);
    else value = text(v);
    rows.push_back({prefix, value});
    return;
  }
  if (v.is_array())
    for (size_t i = 0; i < v.size(); ++i) settings_rows(prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), v[i], rows);
  else
    for (const auto& [k, x] : v.items()) settings_rows(prefix.empty() ? k : prefix + "." + k, x, rows);
}

// The settings the runs differ in (report.js's settingsDifference): per key in order of first appearance,
// every run's value ("–" when it lacks the key), for keys whose values are not all the same or that a run
// lacks.  A run's settings: its config.json and the settings its compared epoch's grid.json, zeta.json
// and tract.json record (what was computed: the ζ seed, budget, sample), as keys grid.…, zeta.…, tract.…,
// and the checkpoint an analyze directory imaged, checkpoint.path and checkpoint.sha256.
// An analyze directory has no config.json: it shows "–" for the config keys, which it does not make
// differ (each of them would, and the list would bury what the analyses differ in).
Json settings_differ(const std::vector<ComparedRun>& runs) {
  std::vector<std::vector<std::pair<std::string, std::string>>> rows(runs.size());
  std::vector<std::string> keys;
  std::set<std::string> seen, config_keys;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunData& run = *runs[i].run;
    const EpochData& e = run.epochs[runs[i].epoch_index];
    settings_rows("", run.config.is_null() ? Json::object() : run.config, rows[i]);
    for (const auto& row : rows[i]) config_keys.insert(row.first);
    for (const auto& [name, settings] : {std::pair<const char*, const Json*>{"checkpoint", &e.checkpoint}, {"grid", &e.grid_settings},
                                         {"zeta", &e.zeta_settings}, {"tract", &e.tract_settings}})
      if (!settings->is_null()) settings_rows(name, *settings, rows[i]);
    for (const auto& [k, v] : rows[i])
      if (seen.insert(k).second) keys.push_back(k);
  }
  // Each run's value by key (a key twice: its first row, as the page's find does), looked up once per
  // key and run: a search of the rows per key was quadratic in config.json's entries (bench/README.md).
  std::vector<std::map<std::string, std::string>> value_of(runs.size());
  for (size_t i = 0; i < runs.size(); ++i)
    for (const auto& [k, v] : rows[i]) value_of[i].emplace(k, v);
  Json out = Json::array();
  for (const std::string& k : keys) {
    Json values = Json::array();
    std::optional<std::string> first;
    bool differ = false;
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto at = value_of[i].find(k);
      values.push_back(at == value_of[i].end() ? "–" : at->second);
      if (at == value_of[i].end()) {
        differ = differ || !(config_keys.count(k) && runs[i].run->config.is_null());
        continue;
      }
      differ = differ || (first && *first != at->second);
      if (!first) first = at->second;
    }
    if (differ) out.push_back({{"key", k}, {"values", values}});
  }
  return out;
}

std::string grid_text(const run::RegionGrid& g) {
  return std::to_string(g.gh) + "x" + std::to_string(g.gw) + "x" + std::to_string(g.gc);
}

// Per layer of A: X's layer of the same name at X's compared epoch and A − X, or why not (compare.h's
// LayerMatch).
std::vector<LayerMatch> match_layers(const ComparedRun& a, const ComparedRun& x) {
  const EpochData& ea = a.run->epochs[a.epoch_index];
  const EpochData& ex = x.run->epochs[x.epoch_index];
  std::vector<LayerMatch> out(a.run->layers.size());
  for (size_t l = 0; l < out.size(); ++l) {
    LayerMatch& m = out[l];
    const auto at = std::find(x.run->layers.begin(), x.run->layers.end(), a.run->layers[l]);
    if (at == x.run->layers.end()) {
      m.why = "no layer of that name";
      continue;
    }
    m.x = &ex.layers[size_t(at - x.run->layers.begin())];
    m.d = zeta_difference(ea.layers[l], *m.x);
    if (!m.d)
      m.why = !m.x->has_zeta ? "no ζ of that layer at epoch " + std::to_string(ex.epoch)
                             : "grid " + grid_text(m.x->grid) + ", A's " + grid_text(ea.layers[l].grid);
  }
  return out;
}

// The index into run.epochs of the epoch compared (README "Comparing runs").
size_t chosen_epoch(const RunData& run, const std::string& tag, int epoch) {
  for (size_t e = 0; e < run.epochs.size(); ++e)
    if (run.epochs[e].epoch == epoch && run.epochs[e].has_zeta) return e;
  std::vector<int> with;
  for (const EpochData& e : run.epochs)
    if (e.has_zeta) with.push_back(e.epoch);
  throw base::Error("compare: " + tag + " has no analysed epoch " + std::to_string(epoch) + " with zeta.json (its epochs with zeta.json: " +
                    joined(with) + ")");
}

// DIR is not a run compared nor inside one (its files would become the run's), and holds nothing or an
// earlier comparison (compare.json): anything else there is refused rather than mixed with this one.
// --out: outside every compared run, and new, empty or an earlier comparison's.  Returns the figures
// that earlier comparison drew (its compare.json's "figures": plain .png or .svg names in DIR), the only
// files besides compare.json this one may remove: a file of the user's in DIR is never touched.
std::set<std::string> check_output(const std::string& out, const std::vector<std::string>& dirs) {
  base::require_directory_or_missing("--out", out, "a directory for the comparison (created when missing)");
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(fs::absolute(out, ec), ec);
  for (const std::string& dir : dirs)
    for (fs::path at = target;; at = at.parent_path()) {
      if (fs::equivalent(at, dir, ec))
        throw base::Error("flag --out " + out + ": " + (at == target ? "is" : "inside") + " the run " + dir +
                          ", expected a directory outside the runs compared (compare writes nothing into them)");
      if (at == at.parent_path()) break;
    }
  std::set<std::string> earlier;
  if (!fs::is_directory(out, ec) || fs::is_empty(out, ec)) return earlier;
  const std::string json_path = (fs::path(out) / kCompareFile).string();
  if (!fs::exists(json_path, ec))
    throw base::Error("flag --out " + out + ": holds files but no " + kCompareFile +
                      ", expected a new or empty directory or an earlier comparison's");
  const Json doc = base::read_json(json_path);
  const run::Node figures = run::Node(doc, json_path)["figures"];
  for (size_t i = 0; i < figures.array_size(); ++i) {
    const std::string name = figures[i].text();
    const std::string ext = fs::path(name).extension().string();
    if ((ext != ".png" && ext != ".svg") || name.find('/') != std::string::npos || name.front() == '.')
      figures[i].fail("a figure's file name as compare writes it (NAME.png or NAME.svg, no folder)");
    earlier.insert(name);
  }
  return earlier;
}

}  // namespace

std::string build_comparison(const std::vector<std::string>& run_dirs, const CompareOptions& opts) {
  if (opts.format != "png" && opts.format != "svg") throw base::Error("--format '" + opts.format + "': expected png or svg");
  if (opts.scale < 1 || opts.scale > kMaxFigureScale)
    throw base::Error("--scale " + std::to_string(opts.scale) + ": expected 1 to " + std::to_string(kMaxFigureScale));
  if (run_dirs.size() < 2 || run_dirs.size() > kMaxComparedRuns)
    throw base::Error("compare: " + std::to_string(run_dirs.size()) + " runs, expected 2 to " + std::to_string(kMaxComparedRuns));
  require_figure_font();
  std::vector<std::string> dirs;
  for (std::string d : run_dirs) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    dirs.push_back(d);
  }
  const std::set<std::string> earlier_figures = check_output(opts.out, dirs);
  std::vector<RunData> runs;
  for (const std::string& d : dirs) runs.push_back(load_run(d));
  const auto tag = [&](size_t i) { return std::string(1, compared_letter(i)) + " (" + dirs[i] + ")"; };

  // The epoch: an analyze directory's one; else --epoch, or the newest every run directory has with ζ.
  bool any_run = false;
  for (const RunData& r : runs) any_run = any_run || !r.single_analysis;
  if (opts.epoch && !any_run) throw base::Error("flag --epoch: every run compared is an analyze directory, each one epoch (leave --epoch out)");
  int epoch = opts.epoch.value_or(0);
  if (!opts.epoch && any_run) {
    std::set<int> common;
    bool first = true;
    for (const RunData& r : runs) {
      if (r.single_analysis) continue;
      std::set<int> with;
      for (const EpochData& e : r.epochs)
        if (e.has_zeta && (first || common.count(e.epoch))) with.insert(e.epoch);
      common = with, first = false;
    }
    if (common.empty()) {
      std::string each;
      for (size_t i = 0; i < runs.size(); ++i) {
        std::vector<int> with;
        for (const EpochData& e : runs[i].epochs)
          if (e.has_zeta) with.push_back(e.epoch);
        each += (each.empty() ? "" : "; ") + tag(i) + " has " + joined(with);
      }
      throw base::Error("compare: no analysed epoch with zeta.json is common to every run (" + each + "), expected one (--epoch N chooses it)");
    }
    epoch = *common.rbegin();
  }
  std::vector<ComparedRun> compared(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    compared[i].run = &runs[i];
    if (runs[i].single_analysis) {
      if (runs[i].epochs.empty() || !runs[i].epochs[0].has_zeta)
        throw base::Error("compare: " + tag(i) + " is an analyze directory without zeta.json, expected one with ζ (analyze --stages with zeta)");
      compared[i].epoch_index = 0;
    } else {
      compared[i].epoch_index = chosen_epoch(runs[i], tag(i), epoch);
    }
    compared[i].stability = zeta_stability(runs[i]);
  }
  for (size_t i = 1; i < runs.size(); ++i) compared[i].layers = match_layers(compared[0], compared[i]);
  const Figures figures = render_comparison(compared, opts.format, opts.scale);

  // compare.json
  Json doc;
  Json runs_json = Json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    const EpochData& e = runs[i].epochs[compared[i].epoch_index];
    runs_json.push_back({{"letter", std::string(1, compared_letter(i))}, {"dir", dirs[i]}, {"run", runs[i].name()},
                         {"model", runs[i].model()}, {"dataset", runs[i].dataset()}, {"epoch", e.epoch},
                         {"analyze_directory", runs[i].single_analysis}, {"checkpoint", e.checkpoint}});
  }
  doc["runs"] = runs_json;
  doc["definitions"] = {{"difference", "A − X: ζ of run A minus ζ of run X, region by region, at each run's compared epoch"},
                        {"apart", "a region whose two 95% ζ intervals do not overlap (lo_A > hi_X or lo_X > hi_A)"}};
  doc["settings_differ"] = settings_differ(compared);
  Json layers = Json::array();
  std::string table;
  const RunData& a = runs[0];
  const EpochData& ea = a.epochs[compared[0].epoch_index];
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const LayerImage& la = ea.layers[l];
    if (!la.has_zeta) continue;
    Json per = Json::array();
    std::string line = "  " + a.layers[l] + ": " + std::to_string(la.zeta.size()) + " regions";
    for (size_t i = 1; i < runs.size(); ++i) {
      const std::string letter(1, compared_letter(i));
      const std::optional<ZetaDifference>& d = compared[i].layers[l].d;
      if (!d) {
        const std::string& why = compared[i].layers[l].why;
        per.push_back({{"run", letter}, {"not_compared", why}});
        line += "; " + letter + " not compared (" + why + ")";
        continue;
      }
      Json keys = Json::array();
      for (int r : d->apart) keys.push_back(la.grid.key(r));
      per.push_back({{"run", letter}, {"apart", d->apart.size()}, {"apart_regions", keys}, {"mean_abs_difference", significant(d->mean_abs)},
                     {"max_abs_difference", significant(d->max)}});
      line += "; " + letter + " " + std::to_string(d->apart.size()) + " apart, mean |A − " + letter + "| " + base::format("%.3g", d->mean_abs);
    }
    layers.push_back({{"layer", a.layers[l]}, {"regions", la.zeta.size()}, {"compared", per}});
    table += line + "\n";
  }
  doc["layers"] = layers;
  Json paths = Json::array();
  for (const Figure& f : figures.files) paths.push_back(f.path);
  doc["figures"] = paths;
  doc["notes"] = Json(std::vector<std::string>(figures.skipped.begin(), figures.skipped.end()));
  for (const std::string& r : figures.rescaled) doc["notes"].push_back(r);
  const std::string json_path = (fs::path(opts.out) / kCompareFile).string();
  run::require_finite(doc, json_path);

  // Written only now: the directory, then the figures (an earlier comparison's that this one does not
  // draw removed), compare.json last.
  std::error_code ec;
  fs::create_directories(opts.out, ec);
  if (ec) throw base::Error("flag --out " + opts.out + ": cannot create it (" + ec.message() + ")");
  const base::DirectoryLock lock(opts.out, "flag --out " + opts.out + ": in use by another nnfmri command (it holds the directory's lock)");
  run::remove_file(json_path);
  for (const std::string& name : earlier_figures)
    if (std::none_of(figures.files.begin(), figures.files.end(), [&](const Figure& f) { return f.path == name; }))
      run::remove_file((fs::path(opts.out) / name).string());
  write_figures(opts.out, figures);
  run::write_json(json_path, doc, 2);

  std::string text = "compared";
  for (size_t i = 0; i < runs.size(); ++i)
    text += std::string(i ? "," : "") + " " + std::string(1, compared_letter(i)) + " " + runs[i].name() + " (epoch " +
            std::to_string(runs[i].epochs[compared[i].epoch_index].epoch) + ")";
  text += "\n";
  const Json& differ = doc["settings_differ"];
  if (differ.empty()) text += "  settings: the same\n";
  for (size_t k = 0; k < differ.size() && k < 8; ++k) {
    std::string values;
    for (const Json& v : differ[k]["values"]) values += (values.empty() ? "" : " | ") + v.get<std::string>();
    text += "  settings differ: " + differ[k]["key"].get<std::string>() + " " + values + "\n";
  }
  if (differ.size() > 8) text += "  settings differ: " + std::to_string(differ.size() - 8) + " more keys (" + json_path + ")\n";
  text += table;
  for (const Json& note : doc["notes"]) text += "  " + note.get<std::string>() + "\n";
  return text + "  wrote " + json_path + ", " + base::counted(long(figures.files.size()), "figure") + " (" + opts.format + ") in " +
         opts.out + "/\n";
}

}  // namespace report
