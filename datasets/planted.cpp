// datasets/planted.cpp — see planted.h.
#include "datasets/planted.h"

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <tuple>

#include "base/error.h"
#include "base/limits.h"
#include "datasets/cifar10.h"

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
  if (c.num_classes < 2 || c.num_classes > base::kMaxClasses)
    fail("num_classes " + std::to_string(c.num_classes) + " must be in 2.." + std::to_string(base::kMaxClasses));
  if (c.evidence_cells < 1)
    fail("evidence_cells " + std::to_string(c.evidence_cells) + " must be >= 1");
  if (c.cells_per_class < 1 || c.cells_per_class > 8)
    fail("cells_per_class " + std::to_string(c.cells_per_class) + " must be in 1..8");
  const int cells = std::min(c.evidence_cells, c.num_classes * c.cells_per_class);
  const int needed = cells + (c.distractor_signal > 0 ? 1 : 0);
  if (needed > c.cell_rows * c.cell_cols)
    fail(std::to_string(cells) + " evidence cells" + (c.distractor_signal > 0 ? " and a distractor" : "") +
         " exceed the " + std::to_string(c.cell_rows * c.cell_cols) + " cells of the grid");
  // Classes sharing a cell must have different patterns (k mod 10).  Class k's cells are
  // (k·P + j) mod cells, j < P.
  const int P = c.cells_per_class;
  for (int k = 0; k < c.num_classes; ++k)
    for (int k2 = k + 1; k2 < c.num_classes; ++k2) {
      if (k % 10 != k2 % 10) continue;
      for (int j = 0; j < P; ++j)
        for (int j2 = 0; j2 < P; ++j2)
          if ((k * P + j) % cells == (k2 * P + j2) % cells)
            fail("classes " + std::to_string(k) + " and " + std::to_string(k2) + " would share a cell and a pattern (" +
                 std::to_string(c.num_classes) + " classes in " + std::to_string(cells) + " evidence cells)");
    }
  if (!(c.signal_spread >= 0 && c.signal_spread <= 0.9))
    fail("signal_spread " + std::to_string(c.signal_spread) + " must be in 0..0.9");
  if (!(c.distractor_signal >= 0) || !std::isfinite(c.distractor_signal))
    fail("distractor_signal must be finite and >= 0");
  if (c.train_count < 0 || c.test_count < 0) fail("train_count and test_count must be >= 0");
  if (!(c.null_fraction >= 0 && c.null_fraction <= 0.9))
    fail("null_fraction " + std::to_string(c.null_fraction) + " must be in 0..0.9");
  if (!(c.noise_sd >= 0) || !std::isfinite(c.noise_sd) || !std::isfinite(c.signal))
    fail("noise_sd must be finite and >= 0, signal finite");
}

}  // namespace

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

namespace {

// Adds `strength` on pattern k's pixels of cell (row, col) to the (H, W) image `add`.  A pattern
// that misses a tiny cell (1 pixel high, say) falls back to the whole cell so that every class
// has evidence.
void add_pattern(const PlantedConfig& c, int k, int row, int col, float strength, std::vector<float>& add) {
  const CellBox b = cell_box(c, row, col);
  const int h = b.y1 - b.y0, w = b.x1 - b.x0;
  bool any = false;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) any |= pattern_on(k, y, x, h, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (!any || pattern_on(k, y, x, h, w)) add[size_t(b.y0 + y) * c.width + b.x0 + x] += strength;
}

// (class, its cell j) → the (H, W) amount added to every channel: the class's strength on the
// pattern pixels of that cell, 0 elsewhere.
std::vector<std::vector<std::vector<float>>> evidence_images(const PlantedSet& s) {
  const PlantedConfig& c = s.config;
  std::vector<std::vector<std::vector<float>>> evidence(size_t(c.num_classes));
  for (int k = 0; k < c.num_classes; ++k)
    for (const auto& [row, col] : s.class_cells[k]) {
      evidence[k].emplace_back(size_t(c.height) * c.width, 0.f);
      add_pattern(c, k, row, col, s.class_signal[k], evidence[k].back());
    }
  return evidence;
}

// What generate() records per image besides pixels and labels.
struct Drawn {
  std::vector<uint8_t> is_null, cell, distractor;
  std::vector<PlantedSet::Background> background;
};

// count images with balanced labels (i % K, then shuffled), pixels drawn from rng.  The
// first `nulls` images before the shuffle (a whole number of rounds of the K labels, so
// the null images are balanced too) get no evidence.  Per image, rng first gives the
// evidence cell (cells_per_class > 1) and the distractor pattern (distractor on), then the pixels.
// backgrounds: the CIFAR-10 images whose crops replace the noise (nullptr: noise).
Drawn generate(const PlantedSet& s, const std::vector<std::vector<std::vector<float>>>& evidence, int count, int nulls,
               Rng rng, const Dataset* backgrounds, Dataset& d) {
  const PlantedConfig& c = s.config;
  std::vector<std::pair<uint8_t, uint8_t>> label_null(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) label_null[i] = {uint8_t(i % c.num_classes), uint8_t(i < nulls)};
  rng.shuffle(label_null);
  d.labels.resize(size_t(count));
  Drawn drawn;
  drawn.is_null.resize(static_cast<size_t>(count));
  drawn.cell.assign(static_cast<size_t>(count), 0);
  drawn.distractor.assign(static_cast<size_t>(count), 0);
  for (int i = 0; i < count; ++i) std::tie(d.labels[i], drawn.is_null[i]) = label_null[i];
  const size_t plane = size_t(c.height) * c.width;
  const bool distractor = c.distractor_signal > 0;
  std::vector<std::vector<float>> distractors;  // pattern → (H, W)
  if (distractor)
    for (int k = 0; k < 10; ++k) {
      distractors.emplace_back(plane, 0.f);
      add_pattern(c, k, s.distractor_cell.first, s.distractor_cell.second, c.distractor_signal, distractors.back());
    }
  const std::vector<float> nothing(plane, 0.f);
  d.pixels.resize(size_t(count) * c.channels * plane);
  uint8_t* out = d.pixels.data();
  for (int i = 0; i < count; ++i) {
    if (c.cells_per_class > 1) drawn.cell[i] = uint8_t(rng.below(uint64_t(c.cells_per_class)));
    if (distractor) drawn.distractor[i] = uint8_t(rng.below(10));
    const std::vector<float>& add = drawn.is_null[i] ? nothing : evidence[d.labels[i]][drawn.cell[i]];
    const std::vector<float>& extra = distractor ? distractors[drawn.distractor[i]] : nothing;
    if (backgrounds) {
      PlantedSet::Background& b = drawn.background.emplace_back();
      b.image = uint32_t(rng.below(backgrounds->size()));
      b.y = int(rng.below(uint64_t(backgrounds->height - c.height + 1)));
      b.x = int(rng.below(uint64_t(backgrounds->width - c.width + 1)));
      b.mirrored = rng.below(2) == 1;
      const uint8_t* image = backgrounds->pixels.data() + size_t(b.image) * backgrounds->image_size();
      for (int ch = 0; ch < c.channels; ++ch)
        for (int y = 0; y < c.height; ++y)
          for (int x = 0; x < c.width; ++x) {
            const int sx = b.x + (b.mirrored ? c.width - 1 - x : x);
            const size_t p = size_t(y) * c.width + x;
            const double v = image[(size_t(ch % 3) * backgrounds->height + b.y + y) * backgrounds->width + sx] + add[p] + extra[p];
            *out++ = uint8_t(std::floor(std::clamp(v, 0.0, 255.0) + 0.5));
          }
      continue;
    }
    for (int ch = 0; ch < c.channels; ++ch)
      for (size_t p = 0; p < plane; ++p) {
        const double v = 128.0 + c.noise_sd * rng.normal() + add[p] + extra[p];
        *out++ = uint8_t(std::floor(std::clamp(v, 0.0, 255.0) + 0.5));
      }
  }
  return drawn;
}

}  // namespace

namespace {

// A non-negative decimal integer or number from a planted option, or an error naming it.  Digits only
// (strtoull alone skips leading blanks and takes a sign: " -1" was 2^64 − 1), and a number without
// blanks: one spelling per data set, since the spec is what config.json records.
uint64_t parse_count(const std::string& option, const std::string& text) {
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE)
    throw base::Error("planted: " + option + " '" + text + "' is not a non-negative integer");
  return uint64_t(value);
}
double parse_number(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || *end != '\0' || !std::isfinite(value))
    throw base::Error("planted: " + option + " '" + text + "' is not a number");
  return value;
}

}  // namespace

PlantedConfig planted_config_from(const std::string& options) {
  PlantedConfig cfg;
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t comma = options.find(',', start);
    parts.push_back(options.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  cfg.seed = parse_count("seed", parts[0]);
  bool cells_given = false, moving = false;
  std::set<std::string> seen;  // the options' names given so far
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.rfind("background=", 0) == 0) {  // the rest of the spec is the folder, commas included
      std::string dir = part.substr(11);
      for (size_t j = i + 1; j < parts.size(); ++j) dir += "," + parts[j];
      if (dir.empty()) throw base::Error("planted: background= needs a CIFAR-10 folder (background=DIR)");
      cfg.background_dir = dir;
      break;
    }
    const size_t eq = part.find('=');
    const std::string key = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
    const bool has_value = eq != std::string::npos;
    if (!seen.insert(key).second)  // the later one silently won
      throw base::Error("planted: option '" + part + "': " + key + " is given twice, expected each option at most once");
    if (key == "cells" && has_value) {
      const uint64_t n = parse_count("cells", value);
      if (n < 1 || n > 4096) throw base::Error("planted: cells '" + value + "' must be in 1..4096");
      cfg.evidence_cells = int(n);
      cells_given = true;
    } else if (key == "moving" && !has_value) {
      moving = true;
    } else if (key == "unequal" && has_value) {
      cfg.signal_spread = parse_number("unequal", value);
      if (!(cfg.signal_spread >= 0 && cfg.signal_spread <= 0.9))
        throw base::Error("planted: unequal '" + value + "' must be in 0..0.9");
    } else if (key == "distractor") {
      cfg.distractor_signal = has_value ? float(parse_number("distractor", value)) : 1.5f * cfg.signal;
      if (!(cfg.distractor_signal > 0) || cfg.distractor_signal > 1000)
        throw base::Error("planted: distractor '" + value + "' must be a strength in (0, 1000]");
    } else {
      throw base::Error("planted: option '" + part +
                        "': expected cells=N, moving, unequal=X, distractor[=D] or background=DIR (planted:SEED[,option...])");
    }
  }
  if (moving) {
    cfg.cells_per_class = 2;
    if (!cells_given) cfg.evidence_cells = 2 * cfg.num_classes;
  }
  const int most = cfg.num_classes * cfg.cells_per_class;  // more would be capped silently (validate)
  if (cfg.evidence_cells > most)
    throw base::Error("planted: cells=" + std::to_string(cfg.evidence_cells) + " exceeds " + std::to_string(most) +
                      (moving ? " (two per class with moving)" : " (one per class; two per class with moving)"));
  return cfg;
}

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

std::vector<uint8_t> PlantedSet::pattern_mask() const {
  std::vector<float> added(size_t(config.height) * config.width, 0.f);
  for (int k = 0; k < int(class_cells.size()); ++k)
    for (const auto& [row, col] : class_cells[k]) add_pattern(config, k, row, col, 1.f, added);
  std::vector<uint8_t> m(added.size(), 0);
  for (size_t p = 0; p < m.size(); ++p) m[p] = added[p] > 0.f;
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
  const int P = cfg.cells_per_class, used = std::min(cfg.evidence_cells, cfg.num_classes * P);
  for (int k = 0; k < cfg.num_classes; ++k)
    for (int j = 0; j < P; ++j) {
      const int cell = cells[(k * P + j) % used];
      s.class_cells[k].push_back({cell / cfg.cell_cols, cell % cfg.cell_cols});
    }
  if (cfg.distractor_signal > 0) s.distractor_cell = {cells[used] / cfg.cell_cols, cells[used] % cfg.cell_cols};
  for (int k = 0; k < cfg.num_classes; ++k)
    s.class_signal.push_back(
        cfg.signal_spread > 0
            ? float(cfg.signal * (1 + cfg.signal_spread * (2.0 * k / (cfg.num_classes - 1) - 1)))
            : cfg.signal);

  for (Dataset* d : {&s.split.train, &s.split.test}) {
    d->name = "planted";
    d->channels = cfg.channels;
    d->height = cfg.height;
    d->width = cfg.width;
    for (int k = 0; k < cfg.num_classes; ++k) d->class_names.push_back("class" + std::to_string(k));
  }
  const auto evidence = evidence_images(s);
  DataSplit backgrounds;
  if (!cfg.background_dir.empty()) {
    try {
      // a split of no image (the test half alone: eval, analyze) needs no backgrounds: its batches are not read
      backgrounds = load_cifar10(cfg.background_dir, cfg.test_count > 0, cfg.train_count > 0);
    } catch (const base::Error& e) {
      throw base::Error("planted: background=" + cfg.background_dir + ": " + e.what());
    }
    for (const Dataset* b : {&backgrounds.train, &backgrounds.test})
      if ((b == &backgrounds.train ? cfg.train_count : cfg.test_count) > 0 &&
          (b->size() == 0 || b->height < cfg.height || b->width < cfg.width))
        throw base::Error("planted: background=" + cfg.background_dir + ": expected " + std::to_string(cfg.height) +
                          "x" + std::to_string(cfg.width) + " or larger CIFAR-10 images in both splits, got " +
                          std::to_string(b->size()) + " images of " + std::to_string(b->height) + "x" +
                          std::to_string(b->width));
  }
  const bool real = !cfg.background_dir.empty();
  const int rounds = int(cfg.null_fraction * cfg.train_count / cfg.num_classes);  // floor: <= the fraction
  Drawn train = generate(s, evidence, cfg.train_count, rounds * cfg.num_classes, Rng(cfg.seed, kTrainStream),
                         real ? &backgrounds.train : nullptr, s.split.train);
  Drawn test = generate(s, evidence, cfg.test_count, 0, Rng(cfg.seed, kTestStream), real ? &backgrounds.test : nullptr,
                        s.split.test);
  if (real) s.split.train.files = backgrounds.train.files, s.split.test.files = backgrounds.test.files;
  s.train_background = std::move(train.background);
  s.test_background = std::move(test.background);
  s.train_is_null = std::move(train.is_null);
  s.train_cell = std::move(train.cell);
  s.train_distractor = std::move(train.distractor);
  s.test_cell = std::move(test.cell);
  s.test_distractor = std::move(test.distractor);
  return s;
}

}  // namespace datasets
