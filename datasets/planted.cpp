// datasets/planted.cpp — see planted.h.
#include "datasets/planted.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "base/error.h"

namespace datasets {
namespace {

// splitmix64's finaliser: a bijective 64-bit mixer (Steele, Lea & Flood 2014).
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A small deterministic RNG: splitmix64 for bits, Box–Muller for normals.  The bits
// are pure integer arithmetic; the normals also use log/sin/cos, which a different
// math library could round differently in the last bit — after rounding to bytes that
// practically never shows, and tests/datasets/test_planted.cpp pins a digest to catch it.
class Rng {
 public:
  // Stream s of seed: distinct streams start at unrelated points of the 2^64 cycle.
  Rng(uint64_t seed, uint64_t stream) : state_(mix64(seed) ^ mix64(stream + 0x632be59bd9b4e019ULL)) {}

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n); the modulo bias (< n / 2^64) is irrelevant here.
  uint64_t below(uint64_t n) { return next() % n; }
  // Standard normal; Box–Muller makes two per pair of uniforms, the second is cached.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1], so log(u1) is finite
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }
  template <class T>
  void shuffle(std::vector<T>& v) {  // Fisher–Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

enum Stream : uint64_t { kCellsStream = 1, kTrainStream = 2, kTestStream = 3 };

void check_config(const PlantedConfig& c) {
  auto fail = [](const std::string& what) { throw base::Error("planted: " + what); };
  if (c.channels < 1 || c.height < 1 || c.width < 1)
    fail("image shape " + std::to_string(c.channels) + "x" + std::to_string(c.height) + "x" +
         std::to_string(c.width) + " must be positive");
  if (c.cell_rows < 1 || c.cell_rows > c.height || c.cell_cols < 1 || c.cell_cols > c.width)
    fail("cell grid " + std::to_string(c.cell_rows) + "x" + std::to_string(c.cell_cols) +
         " must be at least 1x1 and at most the image size");
  if (c.num_classes < 2 || c.num_classes > 256)
    fail("num_classes " + std::to_string(c.num_classes) + " must be in 2..256");
  if (c.evidence_cells < 1)
    fail("evidence_cells " + std::to_string(c.evidence_cells) + " must be >= 1");
  const int cells = std::min(c.evidence_cells, c.num_classes);
  if (cells > c.cell_rows * c.cell_cols)
    fail(std::to_string(cells) + " evidence cells exceed the " + std::to_string(c.cell_rows * c.cell_cols) +
         " cells of the grid");
  // Classes sharing a cell (k ≡ k' mod cells) must have different patterns (k mod 10).
  for (int k = 0; k < c.num_classes; ++k)
    for (int k2 = k + cells; k2 < c.num_classes; k2 += cells)
      if (k % 10 == k2 % 10)
        fail("classes " + std::to_string(k) + " and " + std::to_string(k2) + " would share a cell and a pattern (" +
             std::to_string(c.num_classes) + " classes in " + std::to_string(cells) + " evidence cells)");
  if (c.train_count < 0 || c.test_count < 0) fail("train_count and test_count must be >= 0");
  if (!(c.null_fraction >= 0 && c.null_fraction <= 0.9))
    fail("null_fraction " + std::to_string(c.null_fraction) + " must be in 0..0.9");
  if (!(c.noise_sd >= 0) || !std::isfinite(c.noise_sd) || !std::isfinite(c.signal))
    fail("noise_sd must be finite and >= 0, signal finite");
}

// Pattern k (local coordinates y, x inside a cell of size h × w): checkerboards,
// stripes and halves, each covering about half the cell, cycling every 10 classes.
bool pattern_on(int k, int y, int x, int h, int w) {
  switch (k % 10) {
    case 0: return (y + x) % 2 == 0;
    case 1: return (y + x) % 2 == 1;
    case 2: return y % 2 == 0;
    case 3: return y % 2 == 1;
    case 4: return x % 2 == 0;
    case 5: return x % 2 == 1;
    case 6: return y < h / 2;
    case 7: return y >= h / 2;
    case 8: return x < w / 2;
    default: return x >= w / 2;
  }
}

// Per class, the (H, W) amount added to every channel: signal on the pattern pixels
// of its cell, 0 elsewhere.  A pattern that misses a tiny cell (1 pixel high, say)
// falls back to the whole cell so that every class has evidence.
std::vector<std::vector<float>> evidence_images(const PlantedSet& s) {
  const PlantedConfig& c = s.config;
  std::vector<std::vector<float>> evidence(size_t(c.num_classes));
  for (int k = 0; k < c.num_classes; ++k) {
    evidence[k].assign(size_t(c.height) * c.width, 0.f);
    for (const auto& [row, col] : s.class_cells[k]) {
      const CellBox b = cell_box(c, row, col);
      const int h = b.y1 - b.y0, w = b.x1 - b.x0;
      bool any = false;
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) any |= pattern_on(k, y, x, h, w);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          if (!any || pattern_on(k, y, x, h, w))
            evidence[k][size_t(b.y0 + y) * c.width + b.x0 + x] = c.signal;
    }
  }
  return evidence;
}

// count images with balanced labels (i % K, then shuffled), pixels drawn from rng.  The
// first `nulls` images before the shuffle (a whole number of rounds of the K labels, so
// the null images are balanced too) get no evidence; returns which images are null (1).
std::vector<uint8_t> generate(const PlantedConfig& c, const std::vector<std::vector<float>>& evidence, int count,
                              int nulls, Rng rng, Dataset& d) {
  std::vector<std::pair<uint8_t, uint8_t>> label_null(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) label_null[i] = {uint8_t(i % c.num_classes), uint8_t(i < nulls)};
  rng.shuffle(label_null);
  d.labels.resize(size_t(count));
  std::vector<uint8_t> is_null(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) std::tie(d.labels[i], is_null[i]) = label_null[i];
  const std::vector<float> nothing(evidence[0].size(), 0.f);  // num_classes >= 2: evidence is never empty
  const size_t plane = size_t(c.height) * c.width;
  d.pixels.resize(size_t(count) * c.channels * plane);
  uint8_t* out = d.pixels.data();
  for (int i = 0; i < count; ++i) {
    const std::vector<float>& add = is_null[i] ? nothing : evidence[d.labels[i]];
    for (int ch = 0; ch < c.channels; ++ch)
      for (size_t p = 0; p < plane; ++p) {
        const double v = 128.0 + c.noise_sd * rng.normal() + add[p];
        *out++ = uint8_t(std::floor(std::clamp(v, 0.0, 255.0) + 0.5));
      }
  }
  return is_null;
}

}  // namespace

CellBox cell_box(const PlantedConfig& cfg, int row, int col) {
  return CellBox{row * cfg.height / cfg.cell_rows, (row + 1) * cfg.height / cfg.cell_rows,
                 col * cfg.width / cfg.cell_cols, (col + 1) * cfg.width / cfg.cell_cols};
}

std::vector<uint8_t> PlantedSet::mask(int cls) const {
  if (cls < 0 || size_t(cls) >= class_cells.size())
    throw base::Error("planted: mask of class " + std::to_string(cls) + ", expected 0.." +
                    std::to_string(int(class_cells.size()) - 1));
  std::vector<uint8_t> m(size_t(config.height) * config.width, 0);
  for (const auto& [row, col] : class_cells[cls]) {
    const CellBox b = cell_box(config, row, col);
    for (int y = b.y0; y < b.y1; ++y)
      for (int x = b.x0; x < b.x1; ++x) m[size_t(y) * config.width + x] = 1;
  }
  return m;
}

std::vector<uint8_t> PlantedSet::union_mask() const {
  std::vector<uint8_t> m(size_t(config.height) * config.width, 0);
  for (int k = 0; k < int(class_cells.size()); ++k) {
    const std::vector<uint8_t> mk = mask(k);
    for (size_t p = 0; p < m.size(); ++p) m[p] |= mk[p];
  }
  return m;
}

PlantedSet make_planted(const PlantedConfig& cfg) {
  check_config(cfg);
  PlantedSet s;
  s.config = cfg;

  // Distinct cells: the first `evidence_cells` of a shuffled list of all cells; class k gets cell k mod that.
  std::vector<int> cells(size_t(cfg.cell_rows) * cfg.cell_cols);
  for (size_t i = 0; i < cells.size(); ++i) cells[i] = int(i);
  Rng(cfg.seed, kCellsStream).shuffle(cells);
  s.class_cells.resize(size_t(cfg.num_classes));
  const int used = std::min(cfg.evidence_cells, cfg.num_classes);
  for (int k = 0; k < cfg.num_classes; ++k)
    s.class_cells[k] = {{cells[k % used] / cfg.cell_cols, cells[k % used] % cfg.cell_cols}};

  for (Dataset* d : {&s.split.train, &s.split.test}) {
    d->name = "planted";
    d->channels = cfg.channels;
    d->height = cfg.height;
    d->width = cfg.width;
    for (int k = 0; k < cfg.num_classes; ++k) d->class_names.push_back("class" + std::to_string(k));
  }
  const std::vector<std::vector<float>> evidence = evidence_images(s);
  const int rounds = int(cfg.null_fraction * cfg.train_count / cfg.num_classes);  // floor: <= the fraction
  s.train_is_null =
      generate(cfg, evidence, cfg.train_count, rounds * cfg.num_classes, Rng(cfg.seed, kTrainStream), s.split.train);
  generate(cfg, evidence, cfg.test_count, 0, Rng(cfg.seed, kTestStream), s.split.test);
  return s;
}

}  // namespace datasets
