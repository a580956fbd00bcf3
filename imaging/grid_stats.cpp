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

struct ImageRegionStats {
  double mean_abs, variance;
  uint32_t active;
};

// For one image x and every region g of the grid, in two passes over its units:
//   m_g(x) = (1/|N_g|) Σ_{u∈g} |a_u(x)|,   μ_g(x) = (1/|N_g|) Σ_{u∈g} a_u(x),
//   v_g(x) = (1/|N_g|) Σ_{u∈g} (a_u(x) − μ_g(x))²,   active = #{u ∈ g : |a_u(x)| > kActiveThreshold}.
// Each pass is one sweep over the sample (C, H, W) in memory order; a row of a channel runs through
// the column cells of its row cell one after the other.  The units of region g are therefore added in
// (c, h, w) order, one after the other, from 0: every sum is the same double, to the bit, as a loop over
// g's units alone, while the sums of the regions along a row are independent and overlap in the CPU.
// stats: (grid.count()), written.
void image_region_stats(const run::RegionGrid& grid, const float* sample, ImageRegionStats* stats) {
  const int regions = grid.count();
  std::vector<run::Range> cols(static_cast<size_t>(grid.gw));
  for (int j0 = 0; j0 < grid.gw; ++j0) cols[size_t(j0)] = grid.cols(j0);
  std::vector<double> sum(static_cast<size_t>(regions), 0.0), sum_abs(static_cast<size_t>(regions), 0.0);
  std::vector<uint32_t> active(static_cast<size_t>(regions), 0);
  // the sweep: every (channel, row) of the sample, region (i0, j0, k0) at slot grid.index(i0, j0, k0)
  const auto sweep = [&](auto&& add_row_segment) {
    for (int k0 = 0; k0 < grid.gc; ++k0) {
      const run::Range chans = grid.chans(k0);
      for (int c = chans.begin; c < chans.end; ++c)
        for (int i0 = 0; i0 < grid.gh; ++i0) {
          const run::Range rows = grid.rows(i0);
          for (int h = rows.begin; h < rows.end; ++h) {
            const float* row = sample + (size_t(c) * grid.height + h) * grid.width;
            for (int j0 = 0; j0 < grid.gw; ++j0) add_row_segment(grid.index(i0, j0, k0), row, cols[size_t(j0)]);
          }
        }
    }
  };
  sweep([&](int r, const float* row, run::Range span) {
    double a_abs = sum_abs[size_t(r)], a_sum = sum[size_t(r)];
    uint32_t a_active = active[size_t(r)];
    for (int w = span.begin; w < span.end; ++w) {
      const float a = row[w];
      a_abs += std::fabs(double(a));
      a_sum += a;
      a_active += std::fabs(double(a)) > kActiveThreshold;
    }
    sum_abs[size_t(r)] = a_abs, sum[size_t(r)] = a_sum, active[size_t(r)] = a_active;
  });
  std::vector<double> mean(static_cast<size_t>(regions)), squares(static_cast<size_t>(regions), 0.0), units(mean.size());
  for (int r = 0; r < regions; ++r) units[size_t(r)] = grid.units(r), mean[size_t(r)] = sum[size_t(r)] / units[size_t(r)];
  sweep([&](int r, const float* row, run::Range span) {
    const double m = mean[size_t(r)];
    double a_squares = squares[size_t(r)];
    for (int w = span.begin; w < span.end; ++w) a_squares += (row[w] - m) * (row[w] - m);
    squares[size_t(r)] = a_squares;
  });
  for (int r = 0; r < regions; ++r)
    stats[r] = {sum_abs[size_t(r)] / units[size_t(r)], squares[size_t(r)] / units[size_t(r)], active[size_t(r)]};
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

void image_phi(const run::RegionGrid& grid, const float* sample, double lambda, double epsilon, double* phi) {
  std::vector<ImageRegionStats> stats(static_cast<size_t>(grid.count()));
  image_region_stats(grid, sample, stats.data());
  for (int r = 0; r < grid.count(); ++r) phi[r] = phi_of(stats[size_t(r)], lambda, epsilon);
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
  batch_mean_abs_.resize(size_t(count) * regions);
  batch_variance_.resize(size_t(count) * regions);
  batch_active_.resize(size_t(count) * regions);
  // Images are independent: each writes only its own slots, so threads never share a sum.
#pragma omp parallel for schedule(static) if (size_t(count) * sample_size >= kParallelWork)
  for (int i = 0; i < count; ++i) {
    std::vector<ImageRegionStats> stats(static_cast<size_t>(regions));
    image_region_stats(grid_, activations + size_t(i) * sample_size, stats.data());
    for (int r = 0; r < regions; ++r) {
      const ImageRegionStats& s = stats[size_t(r)];
      const size_t slot = size_t(i) * regions + r;
      batch_mean_abs_[slot] = s.mean_abs;
      batch_variance_[slot] = s.variance;
      batch_active_[slot] = s.active;
      phi_[size_t(r) * images_ + offset + i] = phi_of(s, settings_.lambda, settings_.epsilon);
    }
  }
  // Merged in image order, one thread: the sums do not depend on the batch size or the thread count.
  for (int i = 0; i < count; ++i)
    for (int r = 0; r < regions; ++r) {
      const size_t slot = size_t(i) * regions + r;
      if (!std::isfinite(phi_[size_t(r) * images_ + offset + i]))
        throw base::Error("grid stage: layer " + name_ + " region " + grid_.key(r) + ": φ is not finite on image " +
                        std::to_string(offset + i) + " (non-finite activations: has the net diverged?)");
      sum_mean_abs_[r] += batch_mean_abs_[slot];
      sum_variance_[r] += batch_variance_[slot];
      active_pairs_[r] += batch_active_[slot];
    }
  added_ += size_t(count);
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
