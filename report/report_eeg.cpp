#include "report/report_eeg.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "base/error.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "base/npz.h"
#include "report/report_summary.h"
#include "run/eeg_bands.h"
#include "run/json.h"
#include "run/layout.h"

namespace report {
namespace {

using run::Json;
using run::Node;
namespace fs = std::filesystem;

constexpr uint64_t kSeed = 0x15EE6C0;          // the bootstrap's and the shuffles' streams
constexpr size_t kMaxEventsListed = 1000;     // per analysed epoch in eeg.json
constexpr size_t kMaxEegBlocks = 4096, kMaxEegRegions = 4096;
constexpr long long kMaxStep = 1LL << 50;  // steps are counted in a long; far above any run
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::vector<std::string> kStates = {"warming_up", "diverged", "dead", "unstable", "learning", "plateau"};
const std::vector<std::string> kChannels = {"loss", "grad_norm", "update_ratio", "activity", "region"};

std::optional<std::array<double, 5>> read_bands(const Node& parent, const std::string& key) {
  const std::optional<Node> node = parent.find(key);
  if (!node || node->json().is_null()) return std::nullopt;
  std::array<double, 5> out{};
  for (int b = 0; b < 5; ++b) {
    const Node v = (*node)[run::kEegBandNames[size_t(b)]];
    out[size_t(b)] = v.number();
    if (out[size_t(b)] < 0 || out[size_t(b)] > 1 + 1e-9) v.fail("a relative band power 0 … 1");
  }
  return out;
}

std::string one_of(const Node& n, const std::vector<std::string>& allowed, const std::string& what) {
  const std::string v = n.text();
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) n.fail(what);
  return v;
}

EegEpoch read_eeg_epoch(const std::string& path, int epoch) {
  const Json doc = run::read_json(path);
  const Node root(doc, path, "");
  EegEpoch e;
  e.epoch = epoch;
  e.path = path;
  if (root["epoch"].integer(1, 1000000) != epoch) root["epoch"].fail("the epoch of the file's name (" + std::to_string(epoch) + ")");
  e.first_step = long(root["steps"][0].integer(1, kMaxStep));
  e.last_step = long(root["steps"][1].integer(e.first_step - 1, kMaxStep));
  e.window = int(root["window"].integer(4, 4096));
  e.has_span = !root["span"].json().is_null();
  if (e.has_span) {
    // The Welch span the recorder writes: the last min(2W, rows so far) ≥ W steps, ending at the
    // epoch's last step (README "NN-EEG", Spectra).  A span past the epoch's steps, or longer or shorter
    // than the spectra can cover, is no recorder's.
    const Node span = root["span"];
    if (span.array_size() != 2) span.fail("[first, last]");
    if (span[1].integer(1, kMaxStep) != e.last_step)
      span[1].fail("the epoch's last step, " + std::to_string(e.last_step) + " (/steps/1)");
    if (e.last_step < e.window) span.fail("null (no spectra before " + std::to_string(e.window) + " steps, the window)");
    span[0].integer(std::max(1L, e.last_step - 2L * e.window + 1), e.last_step - e.window + 1);
  }
  if (const std::optional<Node> loss = root.find("loss"); loss && !loss->json().is_null()) e.loss_bands = read_bands(*loss, "bands");
  const std::vector<std::pair<std::string, Node>> blocks = root["blocks"].members();
  if (blocks.size() > kMaxEegBlocks) root["blocks"].fail("at most 4096 blocks");
  for (const auto& [name, node] : blocks) {
    EegBlock b;
    b.name = name;
    b.state = one_of(node["state"], kStates, "a state (warming_up, diverged, dead, unstable, learning, plateau)");
    b.activity_bands = read_bands(node, "activity_bands");
    b.grad_norm_bands = read_bands(node, "grad_norm_bands");
    const std::vector<std::pair<std::string, Node>> regions = node["regions"].members();
    if (regions.size() > kMaxEegRegions) node["regions"].fail("at most 4096 regions");
    for (const auto& [key, r] : regions) {
      int i0, j0, k0;
      if (!parse_region_key(key, i0, j0, k0)) r.reject("'" + key + "' is not a region key grid_i_j_k");
      EegRegion region;
      region.key = key;
      region.mean_activity = r["mean_activity"].number(0, base::kUnbounded);  // a mean of |a|
      if (r.has("gamma")) {
        region.gamma = r["gamma"].number();
        if (*region.gamma < 0 || *region.gamma > 1 + 1e-9) r["gamma"].fail("a relative band power 0 … 1");
      }
      b.regions.push_back(std::move(region));
    }
    e.blocks.push_back(std::move(b));
  }
  const Node events = root["events"];
  for (size_t i = 0; i < events.array_size(); ++i) {
    const Node v = events[i];
    EegEvent ev;
    // a step of this epoch, or one or two before it: a change event is listed by the epoch of the step
    // that confirmed it, the next tested step after its onset (README "NN-EEG"), so an onset at the
    // previous epoch's last step (or the one before, when that last step is a short batch) is listed here
    ev.step = long(v["step"].integer(std::max(1L, e.first_step - 2), e.last_step));
    ev.block = v["block"].text();  // "" (the loss) or a block of this file
    if (!ev.block.empty() && !e.block(ev.block)) v["block"].fail("\"\" (the loss) or a block of /blocks");
    ev.region = v["region"].text();
    ev.channel = one_of(v["channel"], kChannels, "a channel (loss, grad_norm, update_ratio, activity, region)");
    ev.z = v["z"].number();
    if (v.has("band")) ev.band = one_of(v["band"], {"gamma"}, "a band (gamma)");
    e.events.push_back(std::move(ev));
  }
  return e;
}

// Linear interpolation between order statistics at p·(n − 1) of sorted values.
double quantile(const std::vector<double>& sorted, double p) {
  const double at = p * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - double(lo));
}

// The 2.5 / 97.5 % percentiles of the defined values; none when more than half are undefined.
std::optional<std::array<double, 2>> percentile_interval(const std::vector<double>& values) {
  std::vector<double> defined;
  for (double v : values)
    if (std::isfinite(v)) defined.push_back(v);
  if (defined.empty() || 2 * defined.size() < values.size()) return std::nullopt;
  std::sort(defined.begin(), defined.end());
  return std::array<double, 2>{quantile(defined, 0.025), quantile(defined, 0.975)};
}

std::optional<double> median_of(const std::vector<double>& values) {
  std::vector<double> defined;
  for (double v : values)
    if (std::isfinite(v)) defined.push_back(v);
  if (defined.empty() || 2 * defined.size() < values.size()) return std::nullopt;
  std::sort(defined.begin(), defined.end());
  return quantile(defined, 0.5);
}

std::map<int, std::vector<size_t>> groups_of(const PairedItems& items) {
  std::map<int, std::vector<size_t>> groups;
  for (size_t i = 0; i < items.group.size(); ++i) groups[items.group[i]].push_back(i);
  return groups;
}

PairedItems subset(const PairedItems& items, const std::vector<size_t>& index) {
  PairedItems out;
  for (size_t i : index) {
    out.x.push_back(items.x[i]);
    out.y.push_back(items.y[i]);
    out.group.push_back(items.group[i]);
  }
  return out;
}

std::vector<int> as_labels(const std::vector<double>& v) {
  std::vector<int> out;
  for (double x : v) out.push_back(int(std::lround(x)));
  return out;
}

Json number_or_null(const std::optional<double>& v) { return v ? Json(significant(*v)) : Json(nullptr); }
Json interval_or_null(const std::optional<std::array<double, 2>>& v) {
  return v ? Json::array({significant((*v)[0]), significant((*v)[1])}) : Json(nullptr);
}

Json term_json(const ConsistencyTerm& t) {
  Json null = nullptr;
  if (t.null_median) null = {{"median", significant(*t.null_median)}, {"range", interval_or_null(t.null_range)}};
  return {{"value", number_or_null(t.value)}, {"ci", interval_or_null(t.ci)}, {"null_shuffled", null}, {"items", t.items}};
}

Json bands_json(const std::optional<std::array<double, 5>>& b) {
  if (!b) return nullptr;
  Json out;
  for (int k = 0; k < run::kEegBands; ++k) out[run::kEegBandNames[size_t(k)]] = significant((*b)[size_t(k)]);
  return out;
}

enum StateCode { kOk = 0, kUnstable = 1, kDead = 2 };
const char* state_name(int s) { return s == kDead ? "dead" : s == kUnstable ? "unstable" : "ok"; }
std::optional<int> eeg_state_code(const std::string& s) {
  if (s == "warming_up") return std::nullopt;
  if (s == "dead") return kDead;
  if (s == "unstable" || s == "diverged") return kUnstable;
  return kOk;
}

}  // namespace

const EegBlock* EegEpoch::block(const std::string& name) const {
  for (const EegBlock& b : blocks)
    if (b.name == name) return &b;
  return nullptr;
}

std::vector<EegEpoch> load_eeg(const std::string& run_dir, const std::vector<std::string>* listed) {
  std::vector<EegEpoch> out;
  const run::Layout layout(run_dir);
  const fs::path dir = layout.eeg();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<std::pair<int, std::string>> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    const std::optional<int> epoch = run::parse_epoch_name(name.substr(0, name.size() - 5));
    if (!epoch) continue;
    if (listed && std::find(listed->begin(), listed->end(), layout.relative(entry.path().string())) == listed->end()) continue;
    files.emplace_back(*epoch, entry.path().string());
  }
  if (ec) throw base::Error(dir.string() + ": cannot list the directory (" + ec.message() + ")");
  std::sort(files.begin(), files.end());
  for (size_t i = 1; i < files.size(); ++i)
    if (files[i].first == files[i - 1].first)
      throw base::Error(files[i].second + ": epoch " + std::to_string(files[i].first) + " has two files (" + files[i - 1].second + ")");
  std::optional<size_t> before;  // the last epoch with rows: the next one's steps come after its
  for (const auto& [epoch, path] : files) {
    out.push_back(read_eeg_epoch(path, epoch));
    const EegEpoch& e = out.back();
    if (e.last_step < e.first_step) continue;
    if (before && e.first_step <= out[*before].last_step)
      throw base::Error(e.path + ": /steps: [" + std::to_string(e.first_step) + ", " + std::to_string(e.last_step) +
                        "] overlap the steps of " + out[*before].path + " [" + std::to_string(out[*before].first_step) + ", " +
                        std::to_string(out[*before].last_step) + "], expected an epoch's steps after the epoch's before it");
    before = out.size() - 1;
  }
  return out;
}

// κ = (p_o − p_e) / (1 − p_e), p_o the share of agreeing items, p_e = Σ_c p_a(c)·p_b(c); in counts
// κ = (n·agree − Σ n_a(c)·n_b(c)) / (n² − Σ n_a(c)·n_b(c)), exact for integer counts below 2^26.
std::optional<double> cohen_kappa(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.empty() || a.size() != b.size()) return std::nullopt;
  std::map<int, double> na, nb;
  double agree = 0;
  const double n = double(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    na[a[i]] += 1;
    nb[b[i]] += 1;
    agree += a[i] == b[i];
  }
  double expected = 0;  // n² · p_e
  for (const auto& [c, count] : na)
    if (nb.count(c)) expected += count * nb[c];
  if (expected >= n * n) return std::nullopt;
  return (n * agree - expected) / (n * n - expected);
}

std::optional<double> f1_score(const std::vector<int>& predicted, const std::vector<int>& truth) {
  if (predicted.size() != truth.size()) return std::nullopt;
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    tp += predicted[i] && truth[i];
    fp += predicted[i] && !truth[i];
    fn += !predicted[i] && truth[i];
  }
  if (tp + fp + fn == 0) return std::nullopt;
  return 2 * tp / (2 * tp + fp + fn);
}

std::optional<double> mean_spearman_per_group(const PairedItems& items) {
  double sum = 0;
  int count = 0;
  for (const auto& [group, index] : groups_of(items)) {
    const PairedItems g = subset(items, index);
    if (const std::optional<double> rho = spearman_rank_correlation(g.x, g.y)) sum += *rho, ++count;
  }
  if (!count) return std::nullopt;
  return sum / count;
}

std::optional<double> spearman_of_items(const PairedItems& items) { return spearman_rank_correlation(items.x, items.y); }
std::optional<double> kappa_of_items(const PairedItems& items) { return cohen_kappa(as_labels(items.x), as_labels(items.y)); }
std::optional<double> f1_of_items(const PairedItems& items) { return f1_score(as_labels(items.x), as_labels(items.y)); }

namespace {

ConsistencyTerm compute_term(const PairedItems& items, PairedStatistic statistic, bool stratified, uint64_t term,
                             uint64_t epoch) {
  ConsistencyTerm t;
  t.items = int(items.x.size());
  t.value = statistic(items);
  const std::map<int, std::vector<size_t>> groups = groups_of(items);
  base::Rng rng = base::Rng::derive(kSeed, term, epoch);
  std::vector<size_t> index;
  for (int b = 0; b < kBootstrap; ++b) {
    index.clear();
    if (stratified) {
      for (const auto& [group, members] : groups)
        for (size_t i = 0; i < members.size(); ++i) index.push_back(members[rng.below(uint32_t(members.size()))]);
    } else {
      for (size_t i = 0; i < items.x.size(); ++i) index.push_back(rng.below(uint32_t(items.x.size())));
    }
    const std::optional<double> v = items.x.empty() ? std::nullopt : statistic(subset(items, index));
    t.replicates.push_back(v ? *v : kNaN);
  }
  base::Rng shuffle = base::Rng::derive(kSeed, term + 100, epoch);
  PairedItems shuffled = items;
  for (int s = 0; s < kShuffles; ++s) {
    for (const auto& [group, members] : groups) {
      std::vector<double> y;
      for (size_t i : members) y.push_back(items.y[i]);
      shuffle.shuffle(y.data(), y.size());
      for (size_t i = 0; i < members.size(); ++i) shuffled.y[members[i]] = y[i];
    }
    const std::optional<double> v = statistic(shuffled);
    t.null_replicates.push_back(v ? *v : kNaN);
  }
  t.ci = percentile_interval(t.replicates);
  t.null_median = median_of(t.null_replicates);
  t.null_range = percentile_interval(t.null_replicates);
  return t;
}

struct TermCache {
  std::mutex mutex;
  std::unordered_map<std::string, ConsistencyTerm> terms;
  TermCacheCounts counts;
};
TermCache& term_cache() {
  static TermCache cache;
  return cache;
}

template <typename T>
void append_bytes(std::string& key, const std::vector<T>& values) {
  const size_t n = values.size();
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key.append(reinterpret_cast<const char*>(values.data()), n * sizeof(T));
}

}  // namespace

ConsistencyTerm estimate_term(const PairedItems& items, PairedStatistic statistic, bool stratified, uint64_t term,
                              uint64_t epoch) {
  std::string key;
  const uint64_t head[4] = {reinterpret_cast<uint64_t>(statistic), stratified ? 1u : 0u, term, epoch};
  key.append(reinterpret_cast<const char*>(head), sizeof head);
  append_bytes(key, items.x);
  append_bytes(key, items.y);
  append_bytes(key, items.group);
  TermCache& cache = term_cache();
  {
    const std::lock_guard<std::mutex> lock(cache.mutex);
    if (const auto hit = cache.terms.find(key); hit != cache.terms.end()) {
      ++cache.counts.hits;
      return hit->second;
    }
    ++cache.counts.misses;
  }
  ConsistencyTerm t = compute_term(items, statistic, stratified, term, epoch);
  const std::lock_guard<std::mutex> lock(cache.mutex);
  if (cache.terms.size() >= kTermCacheSize) cache.terms.clear();
  cache.terms.emplace(std::move(key), t);
  return t;
}

TermCacheCounts term_cache_counts() {
  TermCache& cache = term_cache();
  const std::lock_guard<std::mutex> lock(cache.mutex);
  TermCacheCounts counts = cache.counts;
  counts.size = cache.terms.size();
  return counts;
}

void clear_term_cache() {
  TermCache& cache = term_cache();
  const std::lock_guard<std::mutex> lock(cache.mutex);
  cache.terms.clear();
  cache.counts = {};
}

ConsistencyTerm consistency_of(const std::vector<const ConsistencyTerm*>& terms) {
  auto clipped = [](double v) { return std::isfinite(v) ? std::max(0.0, v) : 0.0; };
  ConsistencyTerm c;
  double value = 0;
  for (const ConsistencyTerm* t : terms) value += t->value ? std::max(0.0, *t->value) : 0.0;
  c.value = value / double(terms.size());
  for (int b = 0; b < kBootstrap; ++b) {
    double v = 0;
    for (const ConsistencyTerm* t : terms) v += size_t(b) < t->replicates.size() ? clipped(t->replicates[size_t(b)]) : 0.0;
    c.replicates.push_back(v / double(terms.size()));
  }
  for (int s = 0; s < kShuffles; ++s) {
    double v = 0;
    for (const ConsistencyTerm* t : terms) v += size_t(s) < t->null_replicates.size() ? clipped(t->null_replicates[size_t(s)]) : 0.0;
    c.null_replicates.push_back(v / double(terms.size()));
  }
  for (const ConsistencyTerm* t : terms) c.items += t->items;
  c.ci = percentile_interval(c.replicates);
  c.null_median = median_of(c.null_replicates);
  c.null_range = percentile_interval(c.null_replicates);
  return c;
}

std::vector<Json> eeg_epoch_documents(const RunData& run, const std::vector<EegEpoch>& eeg) {
  std::vector<Json> docs(run.epochs.size());
  if (eeg.empty()) return docs;
  std::map<int, const EegEpoch*> by_epoch;
  for (const EegEpoch& e : eeg) by_epoch[e.epoch] = &e;
  const std::vector<StabilityStep> stability = zeta_stability(run);
  // items accumulated over the analysed epochs so far (layer form, κ, F1)
  PairedItems layer_items, state_items, anomaly_items;
  const EpochData* previous = nullptr;  // the previous analysed epoch with ζ
  for (size_t i = 0; i < run.epochs.size(); ++i) {
    const EpochData& e = run.epochs[i];
    const auto found = by_epoch.find(e.epoch);
    if (found == by_epoch.end()) {
      if (e.has_zeta) previous = &e;
      continue;
    }
    const EegEpoch& ee = *found->second;
    const StabilityStep* step = nullptr;
    for (const StabilityStep& s : stability)
      if (s.to_epoch == e.epoch && previous && s.from_epoch == previous->epoch) step = &s;
    // events of every EEG epoch since the previous analysed epoch with ζ
    std::vector<const EegEvent*> events;
    for (const auto& [k, file] : by_epoch)
      if (k <= e.epoch && (previous ? k > previous->epoch : true))
        for (const EegEvent& ev : file->events) events.push_back(&ev);
    PairedItems region_items;
    Json blocks = Json::object();
    for (const EegBlock& block : ee.blocks) {
      Json bj;
      bj["state"] = block.state;
      bj["activity_bands"] = bands_json(block.activity_bands);
      bj["grad_norm_bands"] = bands_json(block.grad_norm_bands);
      int block_events = 0;
      for (const EegEvent* ev : events) block_events += ev->block == block.name;
      bj["events"] = block_events;
      const auto at = std::find(run.layers.begin(), run.layers.end(), block.name);
      const LayerImage* layer = at == run.layers.end() ? nullptr : &e.layers[size_t(at - run.layers.begin())];
      const size_t l = size_t(at - run.layers.begin());
      Json regions = Json::object();
      PairedItems own;
      for (const EegRegion& r : block.regions) {
        Json rj = {{"mean_activity", significant(r.mean_activity)}, {"gamma", number_or_null(r.gamma)}, {"zeta", nullptr}};
        int i0, j0, k0;
        if (layer && layer->has_zeta && parse_region_key(r.key, i0, j0, k0) && i0 < layer->grid.gh && j0 < layer->grid.gw &&
            k0 < layer->grid.gc) {
          const double zeta = layer->zeta[size_t(layer->grid.index(i0, j0, k0))].zeta;
          rj["zeta"] = significant(zeta);
          if (r.gamma && ee.has_span) {
            own.x.push_back(*r.gamma);
            own.y.push_back(zeta);
            own.group.push_back(int(l));
          }
        }
        regions[r.key] = rj;
      }
      const std::optional<double> rho = spearman_rank_correlation(own.x, own.y);
      bj["rho_gamma_zeta"] = number_or_null(rho);
      for (size_t k = 0; k < own.x.size(); ++k) {
        region_items.x.push_back(own.x[k]);
        region_items.y.push_back(own.y[k]);
        region_items.group.push_back(own.group[k]);
      }
      bj["spatial_state"] = nullptr;
      bj["spatial_anomaly"] = nullptr;
      if (layer && layer->has_zeta) {
        double max_zeta = -std::numeric_limits<double>::infinity();
        bool any_interval_off_zero = false;  // some region's ζ interval excludes 0
        for (const ZetaRegion& z : layer->zeta)
          max_zeta = std::max(max_zeta, z.zeta), any_interval_off_zero |= z.ci_low > 0 || z.ci_high < 0;
        if (ee.has_span && block.activity_bands && !layer->zeta.empty()) {
          layer_items.x.push_back((*block.activity_bands)[4]);
          layer_items.y.push_back(max_zeta);
          layer_items.group.push_back(e.epoch);
        }
        bj["max_zeta"] = significant(max_zeta);
        const LayerImage* before = previous ? &previous->layers[l] : nullptr;
        const bool both_grids = before && before->has_grid && layer->has_grid;
        const std::optional<double> stable = step ? step->layers[l] : std::nullopt;
        const bool collapse = both_grids && layer->coverage <= 0.5 * before->coverage;
        // a ζ-map jump: stability below τ (undefined stability is no jump; NaN compares false)
        const bool jump = stable.value_or(kNaN) < kStabilityThreshold;
        const int spatial = collapse || !any_interval_off_zero ? kDead : jump ? kUnstable : kOk;
        bj["spatial_state"] = state_name(spatial);
        bj["zeta_stability"] = number_or_null(stable);
        if (const std::optional<int> eeg_state = eeg_state_code(block.state)) {
          state_items.x.push_back(*eeg_state);
          state_items.y.push_back(spatial);
          state_items.group.push_back(e.epoch);
        }
        if (previous && previous->has_zeta) {
          const bool drop = both_grids && before->coverage - layer->coverage >= kCoverageDrop;
          bj["spatial_anomaly"] = jump || drop;
          anomaly_items.x.push_back(block_events > 0 ? 1 : 0);
          anomaly_items.y.push_back(jump || drop ? 1 : 0);
          anomaly_items.group.push_back(e.epoch);
        }
      }
      bj["regions"] = regions;
      blocks[block.name] = bj;
    }
    const uint64_t at = uint64_t(e.epoch);
    const ConsistencyTerm rho_region = estimate_term(region_items, mean_spearman_per_group, true, 1, at);
    const ConsistencyTerm rho_layer = estimate_term(layer_items, spearman_of_items, false, 2, at);
    const ConsistencyTerm kappa = estimate_term(state_items, kappa_of_items, false, 3, at);
    const ConsistencyTerm f1 = estimate_term(anomaly_items, f1_of_items, false, 4, at);
    const ConsistencyTerm total = consistency_of({&rho_region, &kappa, &f1});
    Json listed = Json::array();
    for (size_t k = 0; k < events.size() && k < kMaxEventsListed; ++k) {
      Json ev = {{"step", events[k]->step}, {"block", events[k]->block}, {"region", events[k]->region},
                 {"channel", events[k]->channel}, {"z", significant(events[k]->z)}};
      if (!events[k]->band.empty()) ev["band"] = events[k]->band;
      listed.push_back(ev);
    }
    Json doc;
    doc["format"] = "nnfmri eeg epoch";
    doc["version"] = 1;
    doc["epoch"] = e.epoch;
    doc["eeg_file"] = "eeg/" + fs::path(ee.path).filename().string();
    doc["steps"] = {ee.first_step, ee.last_step};
    doc["window"] = ee.window;
    doc["spectra"] = ee.has_span;
    doc["since_epoch"] = previous ? Json(previous->epoch) : Json(nullptr);
    doc["loss_bands"] = bands_json(ee.loss_bands);
    doc["blocks"] = blocks;
    doc["events"] = listed;
    doc["events_total"] = events.size();
    doc["consistency"] = {{"rho_gamma_zeta", term_json(rho_region)},
                          {"rho_gamma_zeta_layer", term_json(rho_layer)},
                          {"kappa", term_json(kappa)},
                          {"f1", term_json(f1)},
                          {"consistency", term_json(total)},
                          {"bootstrap", kBootstrap},
                          {"shuffles", kShuffles},
                          {"stability_threshold", kStabilityThreshold},
                          {"coverage_drop", kCoverageDrop}};
    doc["definitions"] = "README.md, NN-EEG: Cross-modal consistency";
    docs[i] = doc;
    if (e.has_zeta) previous = &e;
  }
  return docs;
}

namespace {
constexpr long kMaxTraceSteps = 1L << 31;  // the steps a trace may span (a run of 2^31 SGD steps)

// An envelope of `steps` values in buckets of `every`, every bucket still empty (NaN).
EegTrace empty_envelope(size_t steps, long every) {
  const size_t buckets = (steps + size_t(every) - 1) / size_t(every);
  return {std::vector<double>(buckets, kNaN), std::vector<double>(buckets, kNaN)};
}
// Value v of step t (0-based) into its bucket; non-finite values are left out.
void fold(EegTrace& e, size_t t, double v, long every) {
  if (!std::isfinite(v)) return;
  double& lo = e.lo[t / size_t(every)];
  double& hi = e.hi[t / size_t(every)];
  lo = std::isfinite(lo) ? std::min(lo, v) : v;
  hi = std::isfinite(hi) ? std::max(hi, v) : v;
}
}  // namespace

EegTrace envelope(const std::vector<double>& x, long every) {
  if (every < 1) throw base::Error("EEG trace: bucket of " + std::to_string(every) + " steps, expected at least 1");
  EegTrace out = empty_envelope(x.size(), every);
  for (size_t t = 0; t < x.size(); ++t) fold(out, t, x[t], every);
  return out;
}

std::optional<EegTraces> load_eeg_traces(const std::string& run_dir, const std::vector<EegEpoch>& eeg,
                                         const std::vector<std::string>& blocks, const std::vector<std::string>& imaged,
                                         size_t points, size_t region_values, const std::vector<std::string>* listed) {
  const run::Layout layout(run_dir);
  auto unlisted = [&](const std::string& path) {
    return listed && std::find(listed->begin(), listed->end(), layout.relative(path)) == listed->end();
  };
  if (eeg.empty() || !base::file_exists(layout.eeg_channels()) || unlisted(layout.eeg_channels())) return std::nullopt;
  // the columns: eeg/channels.json, as apps/training_run.cpp writes it
  const std::string names_path = layout.eeg_channels();
  const Json doc = run::read_json(names_path);
  const Node root(doc, names_path, "");
  const Node list = root["channels"];
  const size_t columns = size_t(root["columns"].integer(1, 1LL << 24));
  if (list.array_size() != columns) list.fail("an array of the " + std::to_string(columns) + " channels of \"columns\"");
  long loss = -1;
  std::vector<long> activity(blocks.size(), -1);
  EegTraces out;
  std::vector<size_t> region_columns;
  // Each channel is checked against its own fields as training_run.cpp writes them (block "" for the
  // loss, else a block of the epoch files; region a grid key for a region channel, else ""; name
  // "loss", BLOCK/CHANNEL or BLOCK/REGION) and no name twice: a lane is never dropped or swapped silently.
  std::set<std::string> seen;
  std::string block_list;
  for (const std::string& b : blocks) block_list += (block_list.empty() ? "" : ", ") + b;
  for (size_t c = 0; c < columns; ++c) {
    const Node ch = list[c];
    const std::string kind = one_of(ch["channel"], kChannels, "a channel (loss, grad_norm, update_ratio, activity, region)");
    const std::string block = ch["block"].text(), region = ch["region"].text(), name = ch["name"].text();
    const auto at = std::find(blocks.begin(), blocks.end(), block);
    if (kind == "loss" && !block.empty()) ch["block"].fail("\"\" (the loss belongs to no block)");
    if (kind != "loss" && at == blocks.end()) ch["block"].fail("a block of the run's NN-EEG epoch files (" + block_list + ")");
    int i0, j0, k0;
    if (kind == "region" && !parse_region_key(region, i0, j0, k0)) ch["region"].fail("a region key grid_i_j_k");
    if (kind != "region" && !region.empty()) ch["region"].fail("\"\" (only a region channel has a region)");
    const std::string expected = kind == "loss" ? "loss" : block + "/" + (kind == "region" ? region : kind);
    if (name != expected) ch["name"].fail("\"" + expected + "\" (its block and " + (kind == "region" ? "region" : "channel") + ")");
    if (!seen.insert(name).second) ch["name"].reject("the channel " + name + " is named twice; expected each channel once");
    if (kind == "loss" && loss < 0) loss = long(c);
    if (kind == "activity" && activity[size_t(at - blocks.begin())] < 0) activity[size_t(at - blocks.begin())] = long(c);
    if (kind == "region" && std::find(imaged.begin(), imaged.end(), block) != imaged.end()) {
      out.regions.push_back({block, region, {}});
      region_columns.push_back(c);
    }
  }
  out.first_step = eeg.front().first_step;
  out.last_step = eeg.back().last_step;
  if (out.last_step < out.first_step) return std::nullopt;  // no steps recorded yet
  if (out.last_step - out.first_step >= kMaxTraceSteps)
    throw base::Error(eeg.back().path + ": /steps: the epochs span " + std::to_string(out.last_step - out.first_step + 1) +
                      " steps from " + eeg.front().path + ", expected at most 2^31");
  const size_t steps = size_t(out.last_step - out.first_step + 1);
  const size_t per_trace = std::max<size_t>(points, 1), budget = std::max<size_t>(region_values, 1);
  out.every = long((steps + per_trace - 1) / per_trace);
  out.region_every = std::max(out.every, long((2 * steps * region_columns.size() + budget - 1) / budget));
  // the traces' buckets, filled epoch by epoch (NaN where no epoch's rows are)
  std::vector<std::pair<EegTrace*, size_t>> wanted;  // trace, column
  std::vector<long> every_of;
  out.blocks.resize(blocks.size());
  if (loss >= 0) out.loss = empty_envelope(steps, out.every), wanted.push_back({&out.loss, size_t(loss)}), every_of.push_back(out.every);
  for (size_t b = 0; b < blocks.size(); ++b)
    if (activity[b] >= 0)
      out.blocks[b] = empty_envelope(steps, out.every), wanted.push_back({&out.blocks[b], size_t(activity[b])}), every_of.push_back(out.every);
  for (size_t r = 0; r < out.regions.size(); ++r) {
    out.regions[r].trace = empty_envelope(steps, out.region_every);
    wanted.push_back({&out.regions[r].trace, region_columns[r]});
    every_of.push_back(out.region_every);
  }
  for (const EegEpoch& e : eeg) {
    const long rows = e.last_step - e.first_step + 1;
    if (rows <= 0) continue;
    if (e.first_step < out.first_step || e.last_step > out.last_step)
      throw base::Error(e.path + ": /steps: [" + std::to_string(e.first_step) + ", " + std::to_string(e.last_step) +
                        "] outside the run's steps " + std::to_string(out.first_step) + " … " + std::to_string(out.last_step));
    const std::string path = layout.eeg_rows(e.epoch);
    if (!base::file_exists(path)) throw base::Error(path + ": missing; expected the rows of " + e.path);
    if (unlisted(path)) throw base::Error(path + ": not listed in run.json; expected the rows of " + e.path + ", which it lists");
    const base::Npy2D file = base::read_npy_2d(path, size_t(rows) * columns);
    if (file.rows != rows || size_t(file.cols) != columns)
      throw base::Error(path + ": holds " + std::to_string(file.rows) + "x" + std::to_string(file.cols) + " values, expected " +
                        std::to_string(rows) + "x" + std::to_string(columns) + " (the steps of " + e.path + " x the channels of " +
                        names_path + ")");
    const size_t offset = size_t(e.first_step - out.first_step);
    for (size_t k = 0; k < wanted.size(); ++k)
      for (size_t t = 0; t < size_t(rows); ++t)
        fold(*wanted[k].first, offset + t, double(file.data[t * columns + wanted[k].second]), every_of[k]);
  }
  return out;
}

namespace {
Json trace_json(const EegTrace& t, long every) {
  auto values = [](const std::vector<double>& v) {
    Json out = Json::array();
    for (double x : v) out.push_back(std::isfinite(x) ? Json(significant(x)) : Json(nullptr));
    return out;
  };
  Json out = {{"lo", values(t.lo)}};
  if (every > 1) out["hi"] = values(t.hi);
  return out;
}
}  // namespace

Json eeg_page_data(const RunData& run, const std::vector<EegEpoch>& eeg, const std::vector<Json>& documents) {
  if (eeg.empty()) return nullptr;
  constexpr size_t kEventsPerEpoch = 200;
  std::vector<std::string> names;
  for (const EegEpoch& e : eeg)
    for (const EegBlock& b : e.blocks)
      if (std::find(names.begin(), names.end(), b.name) == names.end()) names.push_back(b.name);
  Json epochs = Json::array();
  for (const EegEpoch& e : eeg) {
    Json states = Json::array(), activity = Json::array(), bands = Json::array(), events = Json::array();
    for (const std::string& name : names) {
      const EegBlock* b = e.block(name);
      states.push_back(b ? Json(b->state) : Json(nullptr));
      double sum = 0;
      if (b)
        for (const EegRegion& r : b->regions) sum += r.mean_activity;
      activity.push_back(b && !b->regions.empty() ? Json(significant(sum / double(b->regions.size()))) : Json(nullptr));
      Json powers = nullptr;
      if (b && b->activity_bands) {
        powers = Json::array();
        for (double v : *b->activity_bands) powers.push_back(significant(v));
      }
      bands.push_back(powers);
    }
    for (size_t k = 0; k < e.events.size() && k < kEventsPerEpoch; ++k) {
      const EegEvent& ev = e.events[k];
      const auto at = std::find(names.begin(), names.end(), ev.block);
      events.push_back({ev.step, at == names.end() ? -1 : int(at - names.begin()), ev.channel, significant(ev.z), ev.region});
    }
    epochs.push_back({{"epoch", e.epoch}, {"steps", {e.first_step, e.last_step}}, {"states", states}, {"activity", activity},
                      {"bands", bands}, {"events", events}, {"events_total", e.events.size()}});
  }
  Json consistency = Json::array();
  for (const Json& d : documents) consistency.push_back(d.is_null() ? Json(nullptr) : d["consistency"]);
  Json inject = Json::array();
  // config.json's faults, each checked (kind text, step ≥ 1, duration ≥ 1) before the page draws it
  if (run.config.is_object() && run.config.contains("inject")) {
    const Node list(run.config["inject"], run.dir + "/config.json", "/inject");
    for (size_t k = 0; k < list.array_size(); ++k)
      inject.push_back({{"kind", list[k]["kind"].text()}, {"step", list[k]["step"].integer(1, kMaxStep)},
                        {"duration", list[k]["duration"].integer(1, kMaxStep)}});
  }
  Json trace = nullptr;
  if (const std::optional<EegTraces> t = load_eeg_traces(run.dir, eeg, names, run.layers, kTracePoints, kRegionTraceValues,
                                                              run.committed_files ? &*run.committed_files : nullptr)) {
    Json blocks = Json::array(), regions = Json::object();
    for (const EegTrace& b : t->blocks) blocks.push_back(b.lo.empty() ? Json(nullptr) : trace_json(b, t->every));
    for (const EegRegionTrace& r : t->regions) regions[r.block][r.region] = trace_json(r.trace, t->region_every);
    trace = {{"first", t->first_step}, {"last", t->last_step}, {"every", t->every}, {"region_every", t->region_every},
             {"loss", trace_json(t->loss, t->every)}, {"blocks", blocks}, {"regions", regions}};
  }
  return {{"blocks", names}, {"epochs", epochs}, {"inject", inject}, {"consistency", consistency}, {"trace", trace}};
}

}  // namespace report
