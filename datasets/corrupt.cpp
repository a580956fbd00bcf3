#include "datasets/corrupt.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace datasets {

namespace {

uint8_t to_pixel(double y) {  // round(255 · clip(y, 0, 1))
  return uint8_t(std::lround(255.0 * std::min(1.0, std::max(0.0, y))));
}

// One plane (H, W) of x = pixel / 255 blurred along rows then columns with `weights` (2R + 1 taps,
// centre at R), borders repeated.
void blur_plane(uint8_t* plane, int height, int width, const std::vector<double>& weights) {
  const int radius = int(weights.size() / 2);
  std::vector<double> rows(size_t(height) * width), out(size_t(height) * width);
  for (int h = 0; h < height; ++h)
    for (int w = 0; w < width; ++w) {
      double sum = 0;
      for (int t = -radius; t <= radius; ++t) {
        const int ww = std::min(width - 1, std::max(0, w + t));
        sum += weights[size_t(t + radius)] * plane[size_t(h) * width + ww] / 255.0;
      }
      rows[size_t(h) * width + w] = sum;
    }
  for (int h = 0; h < height; ++h)
    for (int w = 0; w < width; ++w) {
      double sum = 0;
      for (int t = -radius; t <= radius; ++t) {
        const int hh = std::min(height - 1, std::max(0, h + t));
        sum += weights[size_t(t + radius)] * rows[size_t(hh) * width + w];
      }
      out[size_t(h) * width + w] = sum;
    }
  for (size_t i = 0; i < out.size(); ++i) plane[i] = to_pixel(out[i]);
}

}  // namespace

const std::vector<std::string>& corruption_names() {
  static const std::vector<std::string> names = {"noise", "blur", "contrast", "occlusion"};
  return names;
}

CorruptionKind corruption_kind(const std::string& name, const std::string& flag) {
  const std::vector<std::string>& names = corruption_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return CorruptionKind(i);
  throw base::Error(flag + " " + name + ": unknown corruption, expected noise, blur, contrast or occlusion");
}

double corruption_parameter(CorruptionKind kind, int severity) {
  if (severity < 1 || severity > kMaxSeverity)
    throw base::Error("--severity " + std::to_string(severity) + ": expected 1 to " + std::to_string(kMaxSeverity));
  static const double noise[] = {0.04, 0.06, 0.08, 0.09, 0.10}, blur[] = {0.4, 0.6, 0.7, 0.8, 1.0},
                      contrast[] = {0.75, 0.5, 0.4, 0.3, 0.15}, occlusion[] = {4, 8, 12, 16, 20};
  switch (kind) {
    case CorruptionKind::noise: return noise[severity - 1];
    case CorruptionKind::blur: return blur[severity - 1];
    case CorruptionKind::contrast: return contrast[severity - 1];
    case CorruptionKind::occlusion: return occlusion[severity - 1];
  }
  return 0;
}

Occlusion corrupt_image(uint8_t* image, int channels, int height, int width, CorruptionKind kind, int severity,
                        nn::Rng& rng) {
  const double c = corruption_parameter(kind, severity);
  const size_t plane = size_t(height) * width;
  switch (kind) {
    case CorruptionKind::noise:
      for (size_t i = 0; i < plane * channels; ++i) image[i] = to_pixel(image[i] / 255.0 + c * rng.normal());
      return {};
    case CorruptionKind::blur: {
      const int radius = int(4.0 * c + 0.5);
      std::vector<double> weights(size_t(2 * radius + 1));
      double total = 0;
      for (int t = -radius; t <= radius; ++t) total += weights[size_t(t + radius)] = std::exp(-0.5 * t * t / (c * c));
      for (double& w : weights) w /= total;
      for (int ch = 0; ch < channels; ++ch) blur_plane(image + ch * plane, height, width, weights);
      return {};
    }
    case CorruptionKind::contrast:
      for (int ch = 0; ch < channels; ++ch) {
        uint8_t* p = image + ch * plane;
        double sum = 0;
        for (size_t i = 0; i < plane; ++i) sum += p[i] / 255.0;
        const double mean = sum / double(plane);
        for (size_t i = 0; i < plane; ++i) p[i] = to_pixel((p[i] / 255.0 - mean) * c + mean);
      }
      return {};
    case CorruptionKind::occlusion: {
      Occlusion o;
      o.side = std::min({int(c), height, width});
      o.y = int(rng.below(uint32_t(height - o.side + 1)));
      o.x = int(rng.below(uint32_t(width - o.side + 1)));
      for (int ch = 0; ch < channels; ++ch)
        for (int h = o.y; h < o.y + o.side; ++h)
          std::fill_n(image + ch * plane + size_t(h) * width + o.x, o.side, uint8_t(0));
      return o;
    }
  }
  return {};
}

std::vector<Occlusion> corrupt_dataset(Dataset& d, CorruptionKind kind, int severity, uint64_t seed, uint64_t split) {
  corruption_parameter(kind, severity);  // the severity checked before any image changes
  std::vector<Occlusion> squares;
  for (size_t i = 0; i < d.size(); ++i) {
    nn::Rng rng = nn::Rng::derive(seed, split, i);
    const Occlusion o = corrupt_image(d.pixels.data() + i * d.image_size(), d.channels, d.height, d.width, kind,
                                      severity, rng);
    if (kind == CorruptionKind::occlusion) squares.push_back(o);
  }
  return squares;
}

}  // namespace datasets
