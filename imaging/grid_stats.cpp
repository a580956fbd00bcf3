#include "imaging/grid_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "base/error.h"
#include "imaging/net_view.h"
#include "nn/rng.h"

namespace imaging {

namespace {

// Below this many (unit or φ) values a loop runs on one thread: a parallel region costs more.
constexpr size_t kParallelWork = size_t(1) << 16;

// Calls f(a_u) for every unit u of region r of one sample (C, H, W), in (c, h, w) order.
template <class F>
void for_each_unit(const run::RegionGrid& grid, int r, const float* sample, F&& f) {
  int i0, j0, k0;
  grid.coords(r, i0, j0, k0);
  const run::Range rows = grid.rows(i0), cols = grid.cols(j0), chans = grid.chans(k0);
  for (int c = chans.begin; c < chans.end; ++c)
    for (int h = rows.begin; h < rows.end; ++h) {
      const float* row = sample + (size_t(c) * grid.height + h) * grid.width;
      for (int w = cols.begin; w < cols.end; ++w) f(row[w]);
    }
}

struct ImageRegionStats {
  double mean_abs, variance;
  uint32_t active;
};

// For one image x and region g, in two passes over its units:
//   m_g(x) = (1/|N_g|) Σ_{u∈g} |a_u(x)|,   μ_g(x) = (1/|N_g|) Σ_{u∈g} a_u(x),
//   v_g(x) = (1/|N_g|) Σ_{u∈g} (a_u(x) − μ_g(x))²,   active = #{u ∈ g : |a_u(x)| > kActiveThreshold}.
ImageRegionStats image_region_stats(const run::RegionGrid& grid, int r, const float* sample) {
  double sum_abs = 0, sum = 0;
  uint32_t active = 0;
  for_each_unit(grid, r, sample, [&](float a) {
    sum_abs += std::fabs(double(a));
    sum += a;
    active += std::fabs(double(a)) > kActiveThreshold;
  });
  const double units = grid.units(r), mean = sum / units;
  double squares = 0;
  for_each_unit(grid, r, sample, [&](float a) { squares += (a - mean) * (a - mean); });
  return {sum_abs / units, squares / units, active};
}

// φ_g(x) = m_g(x) + λ·ln(v_g(x) + ε)
double phi_of(const ImageRegionStats& s, double lambda, double epsilon) {
  return s.mean_abs + lambda * std::log(s.variance + epsilon);
}

// Plug-in entropy in bits of a histogram with `total` entries: −Σ (c/total) log2(c/total).
double entropy_bits(const uint64_t* counts, int size, uint64_t total) {
  double h = 0;
  for (int i = 0; i < size; ++i)
    if (counts[i]) {
      const double p = double(counts[i]) / double(total);
      h -= p * std::log2(p);
    }
  return h;
}

}  // namespace

std::vector<int> equal_frequency_bins(const double* values, size_t n, int bins) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<int> bin(n);
  size_t rank = 0;  // the smallest rank among the values equal to the current one
  for (size_t position = 0; position < n; ++position) {
    if (position > 0 && values[order[position]] != values[order[position - 1]]) rank = position;
    bin[order[position]] = int(uint64_t(bins) * rank / n);
  }
  return bin;
}

double information_bits(const int* bins, const uint8_t* labels, size_t n, int num_bins, int num_classes) {
  if (n == 0) return 0;
  std::vector<uint64_t> joint(size_t(num_bins) * num_classes, 0), per_class(num_classes, 0), per_bin(num_bins, 0);
  for (size_t i = 0; i < n; ++i) {
    ++joint[size_t(bins[i]) * num_classes + labels[i]];
    ++per_class[labels[i]];
    ++per_bin[bins[i]];
  }
  double conditional = 0;
  for (int b = 0; b < num_bins; ++b)
    if (per_bin[b])
      conditional += double(per_bin[b]) / double(n) * entropy_bits(&joint[size_t(b) * num_classes], num_classes, per_bin[b]);
  return std::max(0.0, entropy_bits(per_class.data(), num_classes, n) - conditional);
}

std::vector<uint8_t> shuffled_labels(const uint8_t* labels, size_t n, uint64_t seed) {
  std::vector<uint8_t> out(labels, labels + n);
  nn::Rng rng(seed);
  rng.shuffle(out.data(), n);
  return out;
}

double region_phi(const run::RegionGrid& grid, int r, const float* sample, double lambda, double epsilon) {
  return phi_of(image_region_stats(grid, r, sample), lambda, epsilon);
}

LayerGridAccumulator::LayerGridAccumulator(std::string name, int height, int width, int channels,
                                           const GridSettings& settings, size_t images)
    : name_(std::move(name)),
      grid_(height, width, channels, settings.grid),
      settings_(settings),
      images_(images),
      phi_(size_t(grid_.count()) * images, 0.0),
      sum_mean_abs_(grid_.count(), 0.0),
      sum_variance_(grid_.count(), 0.0),
      active_pairs_(grid_.count(), 0) {}

void LayerGridAccumulator::add(const float* activations, int count, size_t offset) {
  if (offset + size_t(count) > images_) throw std::logic_error("LayerGridAccumulator::add: images beyond the evaluation set");
  const int regions = grid_.count();
  const size_t sample_size = size_t(grid_.channels) * grid_.height * grid_.width;
  Batch& batch = pending_[offset];
  batch.count = count;
  batch.mean_abs.resize(size_t(count) * regions);
  batch.variance.resize(size_t(count) * regions);
  batch.active.resize(size_t(count) * regions);
  // Images are independent: each writes only its own slots, so threads never share a sum.
#pragma omp parallel for schedule(static) if (size_t(count) * sample_size >= kParallelWork)
  for (int i = 0; i < count; ++i) {
    const float* sample = activations + size_t(i) * sample_size;
    for (int r = 0; r < regions; ++r) {
      const ImageRegionStats s = image_region_stats(grid_, r, sample);
      const size_t slot = size_t(i) * regions + r;
      batch.mean_abs[slot] = s.mean_abs;
      batch.variance[slot] = s.variance;
      batch.active[slot] = s.active;
      phi_[size_t(r) * images_ + offset + i] = phi_of(s, settings_.lambda, settings_.epsilon);
    }
  }
  if (!hold_) merge_ready();
}

void LayerGridAccumulator::merge_ready() {
  const int regions = grid_.count();
  // Merged in image order, one thread: the sums do not depend on the batch size, the thread count
  // or the order in which batches arrived.
  for (auto next = pending_.find(added_); next != pending_.end(); next = pending_.find(added_)) {
    const size_t offset = next->first;
    const Batch& batch = next->second;
    for (int i = 0; i < batch.count; ++i)
      for (int r = 0; r < regions; ++r) {
        const size_t slot = size_t(i) * regions + r;
        if (!std::isfinite(phi_[size_t(r) * images_ + offset + i]))
          throw base::Error("grid stage: layer " + name_ + " region " + grid_.key(r) + ": φ is not finite on image " +
                          std::to_string(offset + i) + " (non-finite activations: has the net diverged?)");
        sum_mean_abs_[r] += batch.mean_abs[slot];
        sum_variance_[r] += batch.variance[slot];
        active_pairs_[r] += batch.active[slot];
      }
    added_ += size_t(batch.count);
    pending_.erase(next);
  }
}

std::vector<double> LayerGridAccumulator::packed(size_t offset, int count) const {
  const auto it = pending_.find(offset);
  if (it == pending_.end() || it->second.count != count)
    throw std::logic_error("LayerGridAccumulator::packed: batch at image " + std::to_string(offset) + " not held");
  const Batch& b = it->second;
  const int regions = grid_.count();
  std::vector<double> v;
  v.reserve(size_t(4) * count * regions);
  for (int i = 0; i < count; ++i)
    for (int r = 0; r < regions; ++r) v.push_back(phi_[size_t(r) * images_ + offset + i]);
  v.insert(v.end(), b.mean_abs.begin(), b.mean_abs.end());
  v.insert(v.end(), b.variance.begin(), b.variance.end());
  for (uint32_t a : b.active) v.push_back(double(a));
  return v;
}

void LayerGridAccumulator::unpack(size_t offset, int count, const std::vector<double>& v) {
  const int regions = grid_.count();
  const size_t n = size_t(count) * regions;
  if (v.size() != 4 * n || offset + size_t(count) > images_)
    throw std::logic_error("LayerGridAccumulator::unpack: " + std::to_string(v.size()) + " values for a batch of " +
                           std::to_string(count) + " images");
  for (int i = 0; i < count; ++i)
    for (int r = 0; r < regions; ++r) phi_[size_t(r) * images_ + offset + i] = v[size_t(i) * regions + r];
  Batch& b = pending_[offset];
  b.count = count;
  b.mean_abs.assign(v.begin() + long(n), v.begin() + long(2 * n));
  b.variance.assign(v.begin() + long(2 * n), v.begin() + long(3 * n));
  b.active.resize(n);
  for (size_t k = 0; k < n; ++k) b.active[k] = uint32_t(v[3 * n + k]);
}

void LayerGridAccumulator::release() {
  hold_ = false;
  merge_ready();
}

LayerGridStats LayerGridAccumulator::finish(const uint8_t* labels, int num_classes) const {
  if (added_ != images_) throw std::logic_error("LayerGridAccumulator::finish: not every image was added");
  const int regions = grid_.count();
  const double n = double(images_);
  const std::vector<uint8_t> null_labels = shuffled_labels(labels, images_, kNullShuffleSeed);
  LayerGridStats out;
  out.name = name_;
  out.grid = grid_;
  out.regions.resize(regions);
#pragma omp parallel for schedule(static) if (size_t(regions) * images_ >= kParallelWork)
  for (int r = 0; r < regions; ++r) {
    const double* phi = &phi_[size_t(r) * images_];
    RegionStats& s = out.regions[r];
    s.activation_count = grid_.units(r);
    double sum_phi = 0;
    for (size_t x = 0; x < images_; ++x) sum_phi += phi[x];
    s.density = sum_phi / n;
    s.variance = sum_variance_[r] / n;
    s.mean_abs = sum_mean_abs_[r] / n;
    s.active_fraction = double(active_pairs_[r]) / (double(s.activation_count) * n);
    const std::vector<int> bins = equal_frequency_bins(phi, images_, settings_.bins);
    s.information_bits = information_bits(bins.data(), labels, images_, settings_.bins, num_classes);
    s.information_null_bits = information_bits(bins.data(), null_labels.data(), images_, settings_.bins, num_classes);
  }
  int live = 0;
  for (int r = 0; r < regions; ++r) {
    if (out.regions[r].active_fraction >= kDeadFraction)
      ++live;
    else
      out.dead_regions.push_back(r);
  }
  out.coverage = regions ? double(live) / regions : 0;
  return out;
}

GridAccumulator::GridAccumulator(const nn::Network& net, const GridSettings& settings, size_t images)
    : settings_(settings), images_(images) {
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    const nn::Block& b = net.blocks()[i];
    GridSettings block_settings = settings;
    block_settings.grid = block_grid(net, int(i), settings.grid);
    layers_.emplace_back(b.name, b.output_shape.h, b.output_shape.w, b.output_shape.c, block_settings, images);
  }
}

void GridAccumulator::add(const EvalBatch& batch, const nn::BlockView& block) {
  if (batch.offset >= images_) return;
  const int count = int(std::min<size_t>(size_t(batch.count), images_ - batch.offset));
  layers_[size_t(block.index)].add(block.a.data(), count, batch.offset);
}

void GridAccumulator::hold() {
  for (LayerGridAccumulator& layer : layers_) layer.hold();
}

void GridAccumulator::share(nn::ShardGroup& ranks, int batch) {
  if (batch < 1) throw std::logic_error("GridAccumulator::share: batch < 1");
  const size_t units = (images_ + size_t(batch) - 1) / size_t(batch);
  std::vector<std::vector<double>> values(units);
  for (size_t k = 0; k < units; ++k) {
    const size_t offset = k * size_t(batch);
    const int count = int(std::min<size_t>(size_t(batch), images_ - offset));
    if (ranks.owns_unit(k)) {
      for (const LayerGridAccumulator& layer : layers_) {
        const std::vector<double> v = layer.packed(offset, count);
        values[k].insert(values[k].end(), v.begin(), v.end());
      }
    } else {
      size_t length = 0;
      for (const LayerGridAccumulator& layer : layers_) length += size_t(4) * count * size_t(layer.grid().count());
      values[k].assign(length, 0.0);
    }
  }
  ranks.share_units(values);
  for (size_t k = 0; k < units; ++k) {
    const size_t offset = k * size_t(batch);
    const int count = int(std::min<size_t>(size_t(batch), images_ - offset));
    if (ranks.owns_unit(k)) continue;
    size_t at = 0;
    for (LayerGridAccumulator& layer : layers_) {
      const size_t n = size_t(4) * count * size_t(layer.grid().count());
      layer.unpack(offset, count, std::vector<double>(values[k].begin() + long(at), values[k].begin() + long(at + n)));
      at += n;
    }
  }
  for (LayerGridAccumulator& layer : layers_) layer.release();
}

GridResult GridAccumulator::finish(const nn::LabeledImages& data) const {
  // Labels beyond num_classes cannot occur (nn/data.h promise); the histogram is sized for both anyway.
  int num_classes = data.num_classes;
  for (size_t i = 0; i < images_; ++i) num_classes = std::max(num_classes, int(data.labels[i]) + 1);
  GridResult result;
  result.images = images_;
  result.settings = settings_;
  for (const LayerGridAccumulator& layer : layers_) result.layers.push_back(layer.finish(data.labels, num_classes));
  return result;
}

GridResult run_grid_stage(nn::Network& net, const nn::LabeledImages& data, size_t images, int batch,
                          const GridSettings& settings) {
  GridAccumulator grid(net, settings, images);
  stream_eval(net, data, images, batch, [&](const EvalBatch& part, const nn::BlockView& view) { grid.add(part, view); });
  return grid.finish(data);
}

nlohmann::ordered_json grid_layers_json(const GridResult& result) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::object();
  for (const LayerGridStats& layer : result.layers) {
    const run::RegionGrid& g = layer.grid;
    nlohmann::ordered_json regions = nlohmann::ordered_json::object(), dead = nlohmann::ordered_json::array();
    for (int r : layer.dead_regions) dead.push_back(g.key(r));
    for (int r = 0; r < g.count(); ++r) {
      regions[g.key(r)] = run::region_json(layer.regions[r]);
    }
    layers[layer.name] = {{"shape", {g.height, g.width, g.channels}},
                          {"grid", {g.gh, g.gw, g.gc}},
                          {"coverage", layer.coverage},
                          {"dead_regions", dead},
                          {"regions", regions}};
  }
  return layers;
}

}  // namespace imaging
