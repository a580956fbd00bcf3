#include "imaging/eeg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "imaging/net_view.h"
#include "base/error.h"
#include "base/format.h"
#include "base/rng.h"

namespace imaging::eeg {

namespace {
const double kUndefined = std::numeric_limits<double>::quiet_NaN();

nlohmann::ordered_json bands_json(const std::array<double, kBands>& bands) {
  nlohmann::ordered_json out;
  for (int b = 0; b < kBands; ++b) out[kBandNames[size_t(b)]] = bands[size_t(b)];
  return out;
}

// Least-squares slope of y over t = 0 … n−1 divided by its standard error (0 when n < 3 or exact).
double slope_t(const std::vector<double>& y) {
  const size_t n = y.size();
  if (n < 3) return 0;
  const double mt = (double(n) - 1) / 2;
  double my = 0;
  for (double v : y) my += v;
  my /= double(n);
  double stt = 0, sty = 0;
  for (size_t t = 0; t < n; ++t) {
    stt += (double(t) - mt) * (double(t) - mt);
    sty += (double(t) - mt) * (y[t] - my);
  }
  const double slope = sty / stt;
  double rss = 0;
  for (size_t t = 0; t < n; ++t) {
    const double r = y[t] - my - slope * (double(t) - mt);
    rss += r * r;
  }
  const double se = std::sqrt(rss / double(n - 2) / stt);
  if (se == 0) return slope < 0 ? -1e9 : slope > 0 ? 1e9 : 0;
  return slope / se;
}
}  // namespace

std::pair<double, double> robust_baseline(std::vector<double> values) {
  const double m = median(values);
  for (double& v : values) v = std::fabs(v - m);
  return {m, 1.4826 * std::max(median(values), 1e-3)};
}

namespace {
// The eigenvalues of the γ power's quadratic form g = xᵀAx over one S-step window, A read off
// Welch::band_power (A_ii = f(e_i), A_ij = (f(e_i + e_j) − f(e_i) − f(e_j))/2), by cyclic Jacobi.
std::vector<double> gamma_form_eigenvalues() {
  const int n = kBandSegment;
  const Welch welch(n);
  auto f = [&](int i, int j) {
    std::vector<double> x(size_t(n), 0.0);
    x[size_t(i)] += 1;
    x[size_t(j)] += 1;
    return welch.band_power(x.data(), gamma_band);
  };
  std::vector<double> a(size_t(n * n));
  for (int i = 0; i < n; ++i) a[size_t(i * n + i)] = f(i, i) / 4;  // x = 2e_i: f = 4·A_ii
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      a[size_t(i * n + j)] = a[size_t(j * n + i)] = (f(i, j) - a[size_t(i * n + i)] - a[size_t(j * n + j)]) / 2;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) off += a[size_t(i * n + j)] * a[size_t(i * n + j)];
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        const double apq = a[size_t(p * n + q)];
        if (std::fabs(apq) < 1e-300) continue;
        const double theta = (a[size_t(q * n + q)] - a[size_t(p * n + p)]) / (2 * apq);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; ++k) {  // A ← Jᵀ A J
          const double akp = a[size_t(k * n + p)], akq = a[size_t(k * n + q)];
          a[size_t(k * n + p)] = c * akp - s * akq;
          a[size_t(k * n + q)] = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {
          const double apk = a[size_t(p * n + k)], aqk = a[size_t(q * n + k)];
          a[size_t(p * n + k)] = c * apk - s * aqk;
          a[size_t(q * n + k)] = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> lambda;
  for (int i = 0; i < n; ++i)
    if (a[size_t(i * n + i)] > 1e-12) lambda.push_back(a[size_t(i * n + i)]);
  return lambda;
}

// P(Σ λ_j χ²₁ > x) by the Lugannani–Rice saddlepoint formula: K(s) = −½Σ ln(1 − 2λ_j s), K'(ŝ) = x,
// w = sign(ŝ)·√(2(ŝx − K(ŝ))), u = ŝ·√K''(ŝ), Q = 1 − Φ(w) + φ(w)(1/u − 1/w).
double quadratic_form_tail(const std::vector<double>& lambda, double x) {
  double top = 0, mean = 0;
  for (double l : lambda) {
    top = std::max(top, l);
    mean += l;
  }
  if (x <= 0) return 1;
  auto k1 = [&](double s) {
    double v = 0;
    for (double l : lambda) v += l / (1 - 2 * l * s);
    return v;
  };
  double lo = -1, hi = 0.5 / top;  // K' increases on (−∞, 1/(2λ_max)) from 0 to ∞
  while (k1(lo) > x) lo *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * (std::fabs(lo) + std::fabs(hi)); ++i) {
    const double mid = (lo + hi) / 2;
    (k1(mid) > x ? hi : lo) = mid;
  }
  const double s = (lo + hi) / 2;
  double k = 0, k2 = 0;
  for (double l : lambda) {
    k -= 0.5 * std::log(1 - 2 * l * s);
    k2 += 2 * l * l / ((1 - 2 * l * s) * (1 - 2 * l * s));
  }
  const double w2 = 2 * (s * x - k);
  if (std::fabs(x - mean) < 1e-6 * mean || w2 <= 0) return 0.5;  // at the mean: the formula's removable singularity
  const double w = (s > 0 ? 1 : -1) * std::sqrt(w2), u = s * std::sqrt(k2);
  const double pi = std::acos(-1.0);
  const double q = 0.5 * std::erfc(w / std::sqrt(2.0)) + std::exp(-w * w / 2) / std::sqrt(2 * pi) * (1 / u - 1 / w);
  return std::min(1.0, std::max(0.0, q));
}

struct BandNull {
  std::vector<double> lambda;
  std::vector<std::pair<double, double>> baselines;  // (m̂, ŝ) of each simulated white-noise history
};

// B histories of H + S − 1 steps of N(0, 1) (fixed seeds), each scored as refresh_band_baseline
// scores a channel: b = ln g of its H sliding S-step windows, then robust_baseline.
const BandNull& band_null() {
  static const BandNull null = [] {
    BandNull out;
    out.lambda = gamma_form_eigenvalues();
    const Welch welch(kBandSegment);
    std::vector<double> x(static_cast<size_t>(kHistory + kBandSegment - 1)), b(static_cast<size_t>(kHistory));
    for (int i = 0; i < kBandNullBaselines; ++i) {
      base::Rng rng = base::Rng::derive(0xEE6B0D, uint64_t(i));
      for (double& v : x) v = rng.normal();
      for (int t = 0; t < kHistory; ++t) b[size_t(t)] = std::log(welch.band_power(x.data() + t, gamma_band));
      out.baselines.push_back(robust_baseline(b));
    }
    return out;
  }();
  return null;
}
}  // namespace

double band_null_exceedance(double theta) {
  const BandNull& null = band_null();
  double p = 0;
  for (const auto& [m, s] : null.baselines) p += quadratic_form_tail(null.lambda, std::exp(m + theta * s));
  return p / double(null.baselines.size());
}

double band_threshold(size_t channels, long family_steps) {
  const double windows = double(channels) * double(std::max(family_steps, 1L));
  double lo = 0, hi = 50;
  while (hi - lo > 1e-3) {
    const double mid = (lo + hi) / 2;
    (windows * band_null_exceedance(mid) <= kBandFamilyRate ? hi : lo) = mid;
  }
  return hi;
}

std::string ChannelInfo::name() const {
  if (block.empty()) return channel;
  return block + "/" + (region.empty() ? channel : region);
}

std::string Event::line() const {
  if (!band.empty()) {
    const std::string where = block.empty() ? channel : block + " " + (region.empty() ? channel : region);
    return where + ": γ " + (z > 0 ? "burst" : "drop") + " at step " + std::to_string(step) + ", z " + base::format("%.1f", z);
  }
  const std::string where = block.empty() ? channel : block + " " + (region.empty() ? channel : region + ": activity");
  return where + (block.empty() || !region.empty() ? " " : ": ") + (z > 0 ? "rise" : "drop") + " at step " +
         std::to_string(step) + ", z " + base::format("%.1f", z);
}

Recorder::Recorder(const nn::Network& net, const run::GridSpec& grid, int window, long steps_per_epoch,
                   bool short_last_batch, std::function<double(long)> scheduled_rate)
    : window_(window), steps_per_epoch_(steps_per_epoch), short_last_batch_(short_last_batch),
      scheduled_rate_(std::move(scheduled_rate)) {
  if (window < 4 || window % 2 != 0)
    throw base::Error("flag --eeg-window " + std::to_string(window) + ": expected an even number of steps, at least 4");
  kept_ = size_t(std::max(2 * window, kHistory + 2 * kRefresh));
  channels_.push_back({"", "", "loss"});
  for (const nn::Block& b : net.blocks()) {
    const nn::Shape& s = b.output_shape;
    grids_.emplace_back(s.h, s.w, s.c, block_grid(net, int(grids_.size()), grid), true);
    block_first_column_.push_back(channels_.size());
    for (const char* kind : {"grad_norm", "update_ratio", "activity"}) channels_.push_back({b.name, "", kind});
    activity_column_.resize(channels_.size() + size_t(grids_.back().count()), -1);
    for (int r = 0; r < grids_.back().count(); ++r) {
      activity_column_[channels_.size()] = long(block_first_column_.back() + 2);
      channels_.push_back({b.name, grids_.back().key(r), "region"});
    }
    sums_.emplace_back(size_t(grids_.back().count()), 0.0);
    column_cuts_.emplace_back();
    for (int j0 = 0; j0 < grids_.back().gw; ++j0) column_cuts_.back().push_back(grids_.back().cols(j0).begin);
    column_cuts_.back().push_back(s.w);
    region_units_.emplace_back();
    for (int r = 0; r < grids_.back().count(); ++r) region_units_.back().push_back(grids_.back().units(r));
    block_units_.push_back(long(s.c) * s.h * s.w);
  }
  activity_column_.resize(channels_.size(), -1);
  block_sums_.assign(grids_.size(), 0.0);
  batch_.assign(grids_.size(), 0);
  previous_z_.assign(channels_.size(), kUndefined);
  previous_band_z_.assign(channels_.size(), kUndefined);
  pending_.assign(channels_.size(), Pending{});
  rate_scaled_.assign(channels_.size(), 0);
  for (size_t ch = 0; ch < channels_.size() && scheduled_rate_; ++ch)
    rate_scaled_[ch] = channels_[ch].channel == "update_ratio" && channels_[ch].region.empty();
  band_threshold_ = imaging::eeg::band_threshold(channels_.size(), steps_per_epoch > 0 ? 10 * steps_per_epoch : kBandFamilySteps);
}

// Σ|a| per region, in two passes.  First u_e = Σ_i |a_ie| for every unit e of a sample (a float sum
// over the samples in order, i = 0 … n−1): the tensor is read once, front to back, in chunks of
// kUnitChunk units whose sums stay in the L1 cache while the n samples' stretches of the chunk stream
// through (chunks in parallel; every unit's sum is the same for any split into chunks or threads).
// Then the regions are cut from u: per channel group (k0), channel and row, the double sum of each
// column region's u in column order, added to its region and to the group's total; the block's
// total adds the groups' in order.  These are the sums, in the same order, of the earlier version
// that took every row's n samples before the next row (bit-identical rows; it read the tensor with
// a stride of one sample and cost about half the probe).  Where the forward already took u while it
// wrote a (nn::BlockView::unit_sums: a relu fused with its pool, and that pool's output; the same
// float sums in the same sample order, so the same bits) the first pass is skipped: the probe asks
// for them and says it does not read z (nn::ProbeReads), so the conv→relu fusion stays on.
void Recorder::accumulate(int block, const nn::Tensor& a, const float* unit_sums) {
  const run::RegionGrid& g = grids_[size_t(block)];
  std::vector<double>& sums = sums_[size_t(block)];
  const int n = a.n(), h = a.shape().h, w = a.shape().w;
  const long units = long(a.c()) * h * w;
  const std::vector<int>& cuts = column_cuts_[size_t(block)];  // gw + 1 column boundaries
  unit_sums_.resize(size_t(units));
  const float* u = unit_sums ? unit_sums : unit_sums_.data();
  const float* data = a.data();
  const long chunks = unit_sums ? 0 : (units + kUnitChunk - 1) / kUnitChunk;
#pragma omp parallel for schedule(static) if (units * n > 65536)
  for (long k = 0; k < chunks; ++k) {
    const long lo = k * kUnitChunk, m = std::min(units, lo + kUnitChunk) - lo;
    float* out = unit_sums_.data() + lo;
    std::fill(out, out + m, 0.f);
    for (int i = 0; i < n; ++i) {
      const float* in = data + size_t(i) * size_t(units) + size_t(lo);
      for (long e = 0; e < m; ++e) out[e] += std::fabs(in[e]);
    }
  }
  for (int k0 = 0; k0 < g.gc; ++k0) {
    const run::Range chans = g.chans(k0);
    double total = 0;
    for (int ch = chans.begin; ch < chans.end; ++ch)
      for (int y = 0; y < h; ++y) {
        const float* column = u + (size_t(ch) * h + y) * w;
        double* out = sums.data() + g.index(g.row_region[size_t(y)], 0, k0);
        for (int j0 = 0; j0 < g.gw; ++j0) {
          double s = 0;
          for (int x = cuts[size_t(j0)]; x < cuts[size_t(j0) + 1]; ++x) s += column[x];
          out[j0 * g.gc] += s;
          total += s;
        }
      }
    block_sums_[size_t(block)] += total;
  }
  batch_[size_t(block)] = n;
}

nn::StepProbe Recorder::probe(std::function<void(const Event&)> on_event) {
  nn::StepProbe p;
  p.forward = [this](const nn::BlockView& v) { accumulate(v.index, v.a, v.unit_sums); };
  p.reads.z = false;  // the probe reads a (or its unit sums) only
  p.reads.unit_sums = true;
  p.gradient_norms = true;
  p.update_ratios = true;
  p.after_step = [this, on_event](const nn::StepInfo& info) { record(info, on_event); };
  return p;
}

void Recorder::record(const nn::StepInfo& info, const std::function<void(const Event&)>& on_event) {
  std::vector<float> row(channels_.size());
  row[0] = float(info.loss);
  for (size_t b = 0; b < grids_.size(); ++b) {
    size_t col = block_first_column_[b];
    const double n = std::max(batch_[b], 1);
    row[col++] = float(b < info.gradient_norms.size() ? info.gradient_norms[b] : 0.0);
    row[col++] = float(b < info.update_ratios.size() ? info.update_ratios[b] : 0.0);
    row[col++] = float(block_sums_[b] / (n * double(block_units_[b])));
    for (int r = 0; r < grids_[b].count(); ++r) row[col++] = float(sums_[b][size_t(r)] / (n * region_units_[b][size_t(r)]));
    std::fill(sums_[b].begin(), sums_[b].end(), 0.0);
    block_sums_[b] = 0;
    batch_[b] = 0;
  }
  push_row(row, info.global_step, info.epoch, on_event ? &on_event : nullptr);
}

// An epoch's last step is short only when the epoch has other steps to be smaller than: with one step
// per epoch (fewer training images than --batch) every batch is the same size and nothing is short.
bool Recorder::short_step(long step) const {
  return short_last_batch_ && steps_per_epoch_ > 1 && step % steps_per_epoch_ == 0;
}

// The row a step's change is taken from: the step before, or the one before that when the step
// before is a short one.  Index into the ring of step `step` = ring_.size() − 1 − (last − step).
const std::vector<float>* Recorder::reference_row(long step) const {
  const long back = short_step(step - 1) ? 2 : 1;
  const long offset = ring_last_step_ - (step - back);
  if (step - back < 1 || offset >= long(ring_.size())) return nullptr;
  return &ring_[ring_.size() - 1 - size_t(offset)];
}

long Recorder::reference_step(long step) const { return step - (short_step(step - 1) ? 2 : 1); }

double Recorder::level(const std::vector<float>& row, long step, size_t ch) const {
  const double x = std::fabs(double(row[ch]));
  if (!rate_scaled_[ch]) return x;
  const double rate = scheduled_rate_(step);
  return rate > 0 && std::isfinite(rate) ? x / rate : kUndefined;
}

void Recorder::refresh_baseline(long step) {
  const size_t c = channels_.size();
  base_median_.assign(c, 0);
  base_scale_.assign(c, 0);
  offset_.assign(c, 0);
  change_offset_.assign(c, 0);
  // the tested steps among the last H, each with the row its change is taken from
  std::vector<std::pair<const std::vector<float>*, const std::vector<float>*>> pairs;
  std::vector<long> pair_steps;
  for (long s = step - kHistory + 1; s <= step; ++s) {
    const std::vector<float>* before = reference_row(s);
    if (!short_step(s) && before) {
      pairs.push_back({&ring_[ring_.size() - 1 - size_t(step - s)], before});
      pair_steps.push_back(s);
    }
  }
  std::vector<double> values(pairs.size());
  std::vector<double> level(c, 0);
  for (size_t ch = 0; ch < c; ++ch) {
    for (size_t i = 0; i < pairs.size(); ++i) values[i] = std::fabs(double((*pairs[i].first)[ch]));
    level[ch] = median(values);
  }
  // ε_c: 10^-3 of the channel's median level, for a region 1 % of its block's median activity
  for (size_t ch = 0; ch < c; ++ch)
    offset_[ch] = activity_column_[ch] >= 0 ? 0.01 * level[size_t(activity_column_[ch])] + 1e-12 : 1e-3 * level[ch] + 1e-12;
  change_offset_ = offset_;
  std::vector<double> scaled;
  for (size_t ch = 0; ch < c; ++ch) {
    if (!rate_scaled_[ch]) continue;  // ε of |x|/η: 10^-3 of its median over the same steps
    scaled.clear();
    for (size_t i = 0; i < pairs.size(); ++i) {
      const double u = this->level(*pairs[i].first, pair_steps[i], ch);
      if (std::isfinite(u)) scaled.push_back(u);
    }
    change_offset_[ch] = scaled.empty() ? 1e-12 : 1e-3 * median(scaled) + 1e-12;
  }
  for (size_t ch = 0; ch < c; ++ch) {
    values.clear();
    for (size_t i = 0; i < pairs.size(); ++i) {
      const double d = change(*pairs[i].first, pair_steps[i], *pairs[i].second, reference_step(pair_steps[i]), ch);
      if (!rate_scaled_[ch] || !std::isnan(d)) values.push_back(d);  // a rate-scaled step with η ≤ 0: none
    }
    if (values.empty()) {
      base_median_[ch] = 0;
      base_scale_[ch] = std::numeric_limits<double>::infinity();
      continue;
    }
    std::tie(base_median_[ch], base_scale_[ch]) = robust_baseline(values);
    // untested (scale ∞ → z 0): a channel whose median level is 0, and a region whose median
    // activity is below 1 % of its block's — an almost-silent region has no distribution to leave
    const bool silent = level[ch] <= 0 || (activity_column_[ch] >= 0 && level[ch] < offset_[ch]);
    if (silent) base_scale_[ch] = std::numeric_limits<double>::infinity();
  }
  base_step_ = step;
}

double Recorder::change(const std::vector<float>& now, long now_step, const std::vector<float>& before,
                        long before_step, size_t ch) const {
  return std::log(level(now, now_step, ch) + change_offset_[ch]) -
         std::log(level(before, before_step, ch) + change_offset_[ch]);
}

void Recorder::push_row(const std::vector<float>& row, long step, int epoch,
                        const std::function<void(const Event&)>* on_event) {
  if (!ring_.empty() && step != ring_last_step_ + 1)
    throw base::Error("EEG: step " + std::to_string(step) + " recorded after step " + std::to_string(ring_last_step_));
  ring_.push_back(row);
  if (ring_.size() > kept_) ring_.pop_front();
  ring_last_step_ = step;
  const bool in_epoch = step >= epoch_first_;
  if (in_epoch) epoch_rows_.insert(epoch_rows_.end(), row.begin(), row.end());
  const std::vector<float>* before = reference_row(step);
  for (size_t ch = 0; ch < channels_.size() && !short_step(step); ++ch) {
    double z = kUndefined;
    if (base_step_ > 0 && before && std::isfinite(row[ch]) && std::isfinite((*before)[ch]))
      z = (change(row, step, *before, reference_step(step), ch) - base_median_[ch]) / base_scale_[ch];
    // an onset waiting for confirmation: the level still beyond θ, on the onset's side, from the row
    // before the onset and from the row before that one (so that a return from a one-row spike just
    // under θ, an onset against the spike's row, is not confirmed by that same row; README "NN-EEG")
    Pending& p = pending_[ch];
    if (p.step > 0) {
      // all three levels with this step's ε (a refresh between the onset and this step changes ε: the
      // onset row's logarithm kept with the earlier ε mixed two baselines' offsets)
      const double now = std::log(level(row, step, ch) + change_offset_[ch]);
      const double held = (now - std::log(p.level_before + change_offset_[ch]) - base_median_[ch]) / base_scale_[ch];
      const double held2 = (now - std::log(p.level_before2 + change_offset_[ch]) - base_median_[ch]) / base_scale_[ch];
      const bool beyond = std::fabs(held) >= kThreshold && (held > 0) == (p.z > 0) &&
                          std::fabs(held2) >= kThreshold && (held2 > 0) == (p.z > 0);  // NaN: not
      if (beyond && in_epoch) {
        const ChannelInfo& info = channels_[ch];
        Event e{p.step, epoch, info.block, info.region, info.channel, p.z, ""};
        epoch_events_.push_back(e);
        if (on_event) (*on_event)(e);
      }
      p.step = 0;
    }
    const bool above = std::fabs(z) >= kThreshold, was_above = std::fabs(previous_z_[ch]) >= kThreshold;
    if (above && !was_above) {
      const long ref = reference_step(step);
      const std::vector<float>* before2 = reference_row(ref);
      const double level_before2 = before2 && std::isfinite((*before2)[ch]) ? level(*before2, reference_step(ref), ch) : kUndefined;
      p = {step, z, level(*before, ref, ch), level_before2};
    }
    previous_z_[ch] = z;
  }
  score_bands(step, epoch, in_epoch, on_event);
  if (step % kRefresh == 0 && ring_.size() > size_t(kHistory) + 1) refresh_baseline(step);
  if (step % kRefresh == 0 && base_step_ == step) refresh_band_baseline(step);
}

// g_c(step) of every channel into gamma_ring_, then the band-power events of the step (README "NN-EEG").
void Recorder::score_bands(long step, int epoch, bool in_epoch, const std::function<void(const Event&)>* on_event) {
  const size_t c = channels_.size(), s = size_t(kBandSegment);
  std::vector<double> g(c, kUndefined);
  bool usable = ring_.size() >= s;
  for (long t = step - kBandSegment + 1; t <= step && usable; ++t) usable = !short_step(t);
  if (usable) {
    std::vector<double> x(s);
    for (size_t ch = 0; ch < c; ++ch) {
      bool finite = true;
      for (size_t i = 0; i < s; ++i) finite &= std::isfinite(x[i] = ring_[ring_.size() - s + i][ch]);
      if (!finite) continue;
      g[ch] = band_welch_.band_power(x.data(), gamma_band);
    }
  }
  gamma_ring_.push_back(g);
  if (gamma_ring_.size() > size_t(kHistory + kBandSegment + kRefresh)) gamma_ring_.pop_front();
  for (size_t ch = 0; ch < c; ++ch) {
    double z = kUndefined;
    if (band_step_ > 0 && std::isfinite(g[ch]))
      z = (std::log(g[ch] + offset_[ch] * offset_[ch]) - band_median_[ch]) / band_scale_[ch];
    // a γ burst only: z ≥ θ_γ (a fall is not an event; eeg.h)
    const bool above = z >= band_threshold_, was_above = previous_band_z_[ch] >= band_threshold_;
    previous_band_z_[ch] = z;
    if (!above || was_above || !in_epoch) continue;
    const ChannelInfo& info = channels_[ch];
    Event e{step, epoch, info.block, info.region, info.channel, z, "gamma"};
    epoch_events_.push_back(e);
    if (on_event) (*on_event)(e);
  }
}

// The band baseline at a refresh step r: b of steps r − S − H + 1 … r − S, with the ε of the change
// baseline refreshed at the same step.
void Recorder::refresh_band_baseline(long step) {
  const size_t c = channels_.size();
  band_step_ = 0;
  if (gamma_ring_.size() < size_t(kHistory + kBandSegment)) return;
  band_median_.assign(c, 0);
  band_scale_.assign(c, std::numeric_limits<double>::infinity());
  std::vector<double> values;
  for (size_t ch = 0; ch < c; ++ch) {
    values.clear();
    for (long s = step - kBandSegment - kHistory + 1; s <= step - kBandSegment; ++s) {
      const double g = gamma_ring_[gamma_ring_.size() - 1 - size_t(step - s)][ch];
      if (std::isfinite(g)) values.push_back(std::log(g + offset_[ch] * offset_[ch]));
    }
    if (values.size() < size_t(kHistory / 2) || !std::isfinite(base_scale_[ch])) continue;  // not scored: scale ∞
    std::tie(band_median_[ch], band_scale_[ch]) = robust_baseline(values);
  }
  band_step_ = step;
}

void Recorder::start_epoch(int epoch, long first_step) {
  epoch_ = epoch;
  epoch_first_ = first_step;
  epoch_rows_.clear();
  epoch_events_.clear();
}

void Recorder::replay(const std::vector<float>& rows, long first_step, int epoch, long epoch_first) {
  const size_t c = channels_.size();
  if (rows.size() % c != 0) throw base::Error("EEG: replayed rows do not have " + std::to_string(c) + " channels");
  start_epoch(epoch, epoch_first);
  for (size_t i = 0; i * c < rows.size(); ++i)
    push_row(std::vector<float>(rows.begin() + long(i * c), rows.begin() + long((i + 1) * c)), first_step + long(i),
             epoch, nullptr);
}

nlohmann::ordered_json Recorder::analyse_epoch() const {
  const size_t c = channels_.size(), steps = epoch_rows_.size() / c;
  nlohmann::ordered_json doc;
  doc["epoch"] = epoch_;
  doc["steps"] = {epoch_first_, epoch_first_ + long(steps) - 1};
  doc["window"] = window_;
  doc["definitions"] = "README.md, NN-EEG";
  const size_t n = std::min(ring_.size(), size_t(2 * window_));
  const bool ready = ring_.size() >= size_t(window_);
  doc["span"] = ready ? nlohmann::ordered_json{ring_last_step_ - long(n) + 1, ring_last_step_} : nlohmann::ordered_json();
  const Welch welch(window_);
  // column ch of the last m rows of the ring, oldest first
  auto column = [&](size_t ch, size_t m) {
    std::vector<double> x(m);
    for (size_t i = 0; i < m; ++i) x[i] = ring_[ring_.size() - m + i][ch];
    return x;
  };
  auto finite = [](const std::vector<double>& x) {
    for (double v : x)
      if (!std::isfinite(v)) return false;
    return true;
  };
  // the update ratio's median over the window above 3 × its median over the W steps before
  auto update_jump = [&](size_t ch) {
    const std::vector<double> both = column(ch, size_t(2 * window_));
    const std::vector<double> before(both.begin(), both.begin() + window_), now(both.begin() + window_, both.end());
    return median(now) > 3 * median(before);
  };
  auto bands = [&](size_t ch) -> nlohmann::ordered_json {
    const std::vector<double> x = column(ch, n);
    if (!finite(x)) return nullptr;
    return bands_json(welch.relative_bands(welch.spectrum(x.data(), x.size())));
  };
  const std::vector<double> loss_window = ready ? column(0, size_t(window_)) : std::vector<double>();
  if (ready) doc["loss"] = {{"bands", bands(0)}, {"trend_t", finite(loss_window) ? slope_t(loss_window) : 0.0}};
  nlohmann::ordered_json blocks = nlohmann::ordered_json::object();
  for (size_t b = 0; b < grids_.size(); ++b) {
    const size_t first = block_first_column_[b];
    const std::string& name = channels_[first].block;
    nlohmann::ordered_json block;
    std::string state = "warming_up";
    if (ready) {
      bool ok = finite(loss_window);
      for (size_t ch = first; ch < first + 3 + size_t(grids_[b].count()) && ok; ++ch)
        ok = finite(column(ch, size_t(window_)));
      const std::vector<double> activity = column(first + 2, size_t(window_));
      double mean_activity = 0;
      for (double v : activity) mean_activity += v / window_;
      if (!ok) {
        state = "diverged";
      } else if (mean_activity < 1e-6) {
        state = "dead";
      } else if (ring_.size() >= size_t(2 * window_) && update_jump(first + 1)) {
        state = "unstable";
      } else if (slope_t(loss_window) < -2) {
        state = "learning";
      } else {
        state = "plateau";
      }
    }
    block["state"] = state;
    if (ready && state != "diverged") {
      block["activity_bands"] = bands(first + 2);
      block["grad_norm_bands"] = bands(first);
    }
    nlohmann::ordered_json regions = nlohmann::ordered_json::object();
    for (int r = 0; r < grids_[b].count(); ++r) {
      const size_t ch = first + 3 + size_t(r);
      double mean = 0;
      for (size_t i = 0; i < steps; ++i) mean += double(epoch_rows_[i * c + ch]) / double(steps);
      nlohmann::ordered_json region = {{"mean_activity", std::isfinite(mean) ? mean : 0.0}};
      if (ready && state != "diverged") {
        const nlohmann::ordered_json rb = bands(ch);
        region["gamma"] = rb.is_null() ? 0.0 : rb["gamma"].get<double>();
      }
      regions[grids_[b].key(r)] = region;
    }
    block["regions"] = regions;
    blocks[name] = block;
  }
  doc["blocks"] = blocks;
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const Event& e : epoch_events_) {
    nlohmann::ordered_json ev = {{"step", e.step}, {"block", e.block}, {"region", e.region}, {"channel", e.channel}, {"z", e.z}};
    if (!e.band.empty()) ev["band"] = e.band;
    events.push_back(ev);
  }
  doc["events"] = events;
  return doc;
}

}  // namespace imaging::eeg
