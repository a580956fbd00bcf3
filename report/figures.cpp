#include "report/figures.h"

#include <algorithm>
#include <functional>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>
#include <set>

#include "report/canvas.h"
#include "report/compare.h"
#include "base/format.h"
#include "base/error.h"
#include "base/fileio.h"
#include "run/layout.h"
#include "run/manifest.h"
#include "run/region_grid.h"

namespace report {
namespace {

const Rgb kBlack{0, 0, 0}, kWhite{255, 255, 255}, kText{34, 34, 34}, kMuted{110, 110, 110}, kFrame{185, 185, 185},
    kGuide{232, 232, 232}, kNoData{238, 238, 238};
// Okabe–Ito (colour-blind safe; its yellow left out): series and chains.
const Rgb kPalette[] = {{0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167}, {86, 180, 233}, {230, 159, 0}, {0, 0, 0}};
Rgb palette(size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }
// Tableau 10: one colour per layer in the stability panel (the mean is black), with layer_style's patterns.
const Rgb kLayerPalette[] = {{78, 121, 167}, {242, 142, 43}, {225, 87, 89}, {118, 183, 178}, {89, 161, 79},
                             {237, 201, 72}, {176, 122, 161}, {255, 157, 167}, {156, 117, 95}, {186, 176, 172}};
constexpr size_t kLayerColors = sizeof kLayerPalette / sizeof kLayerPalette[0];

constexpr double kMargin = 16, kTitle = 2, kLabel = 1.5;  // margin (px) and text sizes (Canvas::text)
constexpr double kMapBox = 1200;       // a layer map's tiles fit kMapBox × kMapBox pixels
constexpr int kMaxLabelledTiles = 64;  // more channel blocks than this: unlabelled, wrapped tiles

enum class MapKind { density, zeta };

bool has_map(const LayerImage& layer, MapKind kind) { return kind == MapKind::density ? layer.has_grid : layer.has_zeta; }

std::vector<double> map_values(const LayerImage& layer, MapKind kind) {
  std::vector<double> v;
  if (kind == MapKind::density)
    for (const run::GridRegionStats& s : layer.stats) v.push_back(s.density);
  else
    for (const ZetaRegion& z : layer.zeta) v.push_back(z.zeta);
  return v;
}

struct ColorScale {
  MapKind kind = MapKind::density;
  double low = 0, high = 1;  // density: [low, high]; ζ: [−high, high]
  Rgb color(double v) const {
    if (kind == MapKind::zeta) return diverging_color(high > 0 ? v / high : 0);
    return sequential_color(high > low ? (v - low) / (high - low) : 0.5);
  }
  // The quantity and its definition (README, "Region grid" and "ζ-scores").
  std::string caption() const {
    return kind == MapKind::density ? "density φ = mean|a| + λ·ln(var a + ε) of the region, mean over the images"
                                    : "ζ = Shapley lesion impact standardised over the layer: (φ − mean φ) / sd φ";
  }
};

// One scale per layer and kind over every epoch that has the map.
ColorScale layer_scale(const RunData& run, size_t l, MapKind kind) {
  ColorScale s;
  s.kind = kind;
  s.low = s.high = 0;
  bool first = true;
  for (const EpochData& e : run.epochs) {
    if (!has_map(e.layers[l], kind)) continue;
    for (double v : map_values(e.layers[l], kind)) {
      if (kind == MapKind::zeta) s.high = std::max(s.high, std::abs(v));
      else s.low = first ? v : std::min(s.low, v), s.high = first ? v : std::max(s.high, v);
      first = false;
    }
  }
  if (kind == MapKind::zeta) s.low = -s.high;
  return s;
}

// Channel blocks as tiles of GH×GW cells, `per_row` tiles to a row, each with a label line above.
struct TileLayout {
  run::RegionGrid grid;
  double cell = 8, gap = 12, label = 16;
  int per_row = 1;
  double tile_width() const { return grid.gw * cell; }
  double tile_height() const { return grid.gh * cell; }
  int rows() const { return (grid.gc + per_row - 1) / per_row; }
  double width() const { return std::min(grid.gc, per_row) * (tile_width() + gap) - gap; }
  double height() const { return rows() * (label + tile_height() + gap) - gap; }
  Point tile_origin(int k0) const {  // the tile's top-left cell corner, relative to the layout
    return {(k0 % per_row) * (tile_width() + gap), (k0 / per_row) * (label + tile_height() + gap) + label};
  }
  Point cell_corner(int r) const {
    int i0, j0, k0;
    grid.coords(r, i0, j0, k0);
    const Point t = tile_origin(k0);
    return {t.x + j0 * cell, t.y + i0 * cell};
  }
  Point cell_center(double x, double y, int r) const {
    const Point c = cell_corner(r);
    return {x + c.x + cell / 2, y + c.y + cell / 2};
  }
};

TileLayout tile_layout(const run::RegionGrid& grid, double cell, int per_row, bool labels) {
  TileLayout t;
  t.grid = grid;
  t.cell = cell;
  t.per_row = std::max(1, std::min(per_row, grid.gc));
  t.label = labels ? text_height(kLabel) + 4 : 0;
  t.gap = labels ? 12 : 6;
  return t;
}

// Tiles wrapped into rows so that they fit a box of about box_width × box_height pixels (large
// layers: a 1×1×4096 grid is 4096 tiles): the tiles per row that give the largest cells, cells of
// 1 … max_cell pixels, no labels, and no gap between 1×1 tiles (each tile is then one cell).
TileLayout fitted_layout(const run::RegionGrid& grid, double box_width, double box_height, double max_cell) {
  TileLayout t = tile_layout(grid, 1, 1, false);
  t.gap = grid.gh * grid.gw == 1 ? 0 : 2;
  double best = -1;
  for (int per_row = 1; per_row <= grid.gc; ++per_row) {
    const int rows = (grid.gc + per_row - 1) / per_row;
    const double cell = std::min((box_width - (per_row - 1) * t.gap) / (double(per_row) * grid.gw),
                                 (box_height - (rows - 1) * t.gap) / (double(rows) * grid.gh));
    if (cell > best) best = cell, t.per_row = per_row;
  }
  t.cell = std::clamp(std::floor(best), 1.0, max_cell);
  return t;
}

// `preferred` when it fits the box, else fitted_layout.
TileLayout layout_within(const TileLayout& preferred, double box_width, double box_height, double max_cell) {
  if (preferred.width() <= box_width && preferred.height() <= box_height) return preferred;
  return fitted_layout(preferred.grid, box_width, box_height, max_cell);
}

// A class name where space is short (a tile's header, a column of the confusion matrix): at most 16
// characters, a longer one cut to 15 and "…".
std::string short_class_name(const std::string& name) { return name.size() > 16 ? base::utf8_prefix(name, 15) + "…" : name; }

// A tile's header: the class name for a region of the output layer (`classes`: one name per
// region, else null; short_class_name), else its channels, 1-based as on the page.
std::string tile_label(const LayerImage& layer, int k0, const std::vector<std::string>* classes = nullptr) {
  if (classes) return short_class_name((*classes)[size_t(k0)]);
  if (!layer.shape_known) return "block " + std::to_string(k0 + 1);
  const run::Range c = layer.grid.chans(k0);
  return c.size() == 1 ? "ch " + std::to_string(c.begin + 1) : "ch " + std::to_string(c.begin + 1) + "–" + std::to_string(c.end);
}

// The map of one layer at (x, y): cells coloured by `values` (empty: "no data" grey), critical
// regions framed, dead regions crossed (when `dead_marks`).
void draw_tiles(Canvas& c, double x, double y, const TileLayout& t, const LayerImage& layer,
                const std::vector<double>& values, const ColorScale& scale, bool labels, bool dead_marks = true,
                const std::vector<std::string>* classes = nullptr) {
  for (int k0 = 0; k0 < t.grid.gc; ++k0) {
    const Point o = t.tile_origin(k0);
    if (labels) c.text(x + o.x, y + o.y - t.label, tile_label(layer, k0, classes), kMuted, kLabel);
    c.fill_rect(x + o.x - 1, y + o.y - 1, t.tile_width() + 2, t.tile_height() + 2, kFrame);
  }
  for (int r = 0; r < t.grid.count(); ++r) {
    const Point p = t.cell_corner(r);
    c.fill_rect(x + p.x, y + p.y, t.cell, t.cell, values.empty() ? kNoData : scale.color(values[size_t(r)]));
  }
  if (dead_marks && layer.has_grid && t.cell >= 4)
    for (int r : layer.dead) {
      const Point p = t.cell_corner(r);
      c.line(x + p.x + 1, y + p.y + 1, x + p.x + t.cell - 1, y + p.y + t.cell - 1, kMuted, 1);
      c.line(x + p.x + t.cell - 1, y + p.y + 1, x + p.x + 1, y + p.y + t.cell - 1, kMuted, 1);
    }
  if (layer.has_zeta)
    for (int r : layer.critical) {
      const Point p = t.cell_corner(r);
      const double w = t.cell >= 10 ? 2 : 1;
      c.stroke_rect(x + p.x, y + p.y, t.cell, t.cell, kBlack, w);
      if (t.cell >= 8) c.stroke_rect(x + p.x + w, y + p.y + w, t.cell - 2 * w, t.cell - 2 * w, kWhite, 1);
    }
}

constexpr double kTick = 1.2;  // tick label text size

// Row and column numbers of the grid (1-based, as in the region keys grid_i_j_k) around labelled
// tiles: rows left of each tile row's first tile, columns under each tile of the last tile row,
// every k-th index so that numbers do not overlap; axis labels "row i" above the row numbers and
// "column j" under the column numbers.  The layout's left edge is at x + axis_width().
double axis_width(const TileLayout& t) { return text_width(std::to_string(t.grid.gh), kTick) + 8; }
constexpr double kAxisBelow = 2 * 14 + 6;  // column numbers and the axis label under the tiles
int tick_every(const TileLayout& t, int count) {
  const double widest = text_width(std::to_string(count), kTick) + 4;
  int every = 1;
  while (every * t.cell < std::max(widest, text_height(kTick))) ++every;
  return every;
}
void draw_axes(Canvas& c, double x, double y, const TileLayout& t) {
  const double left = x + axis_width(t);
  const int row_every = tick_every(t, t.grid.gh), column_every = tick_every(t, t.grid.gw);
  for (int tile_row = 0; tile_row < t.rows(); ++tile_row) {
    const Point o = t.tile_origin(tile_row * t.per_row);
    for (int i = 0; i < t.grid.gh; i += row_every)
      c.text(left + o.x - 4, y + o.y + (i + 0.5) * t.cell - text_height(kTick) / 2 + 1, std::to_string(i + 1), kMuted, kTick,
             Anchor::end);
  }
  const int last_row_first = (t.rows() - 1) * t.per_row;
  for (int k0 = last_row_first; k0 < t.grid.gc; ++k0) {
    const Point o = t.tile_origin(k0);
    for (int j = 0; j < t.grid.gw; j += column_every)
      c.text(left + o.x + (j + 0.5) * t.cell, y + o.y + t.tile_height() + 3, std::to_string(j + 1), kMuted, kTick, Anchor::middle);
  }
  const Point first = t.tile_origin(0), last = t.tile_origin(last_row_first);
  c.text(x, y + first.y - t.label - 16, "row i ↓ (image top to bottom)", kMuted, kTick);
  c.text(left + last.x, y + last.y + t.tile_height() + 18, "column j → (image left to right); tiles: channel blocks k",
         kMuted, kTick);
}

constexpr double kLegendHeight = 60;

// A colour bar `bar` wide from x, 14 high from `top`, framed, drawn in `slices` slices, slice i painted
// by paint(x, w, u) at its middle u = i + ½ (u/slices runs from 0 to 1); under it the labels low, mid and high at its left,
// middle and right ("" for none).  The one bar of every figure's colour scale.
void draw_colour_bar(Canvas& c, double x, double top, double bar, int slices, const std::function<void(double, double, double)>& paint,
                     const std::string& low, const std::string& mid, const std::string& high) {
  for (int i = 0; i < slices; ++i) paint(x + bar * i / slices, bar / slices + 0.5, i + 0.5);
  c.stroke_rect(x - 1, top - 1, bar + 2, 16, kFrame, 1);
  if (!low.empty()) c.text(x, top + 20, low, kText, kLabel);
  if (!mid.empty()) c.text(x + bar / 2, top + 20, mid, kText, kLabel, Anchor::middle);
  if (!high.empty()) c.text(x + bar, top + 20, high, kText, kLabel, Anchor::end);
}

constexpr const char* kCriticalKey = "critical: robust score r \u2265 3.5, significant";  // the frame's key in every map's legend

// Colour bar with its caption, low / middle / high labels and the marks' key.
void draw_legend(Canvas& c, double x, double y, const ColorScale& s) {
  const double bar = 300;
  c.text(x, y, s.caption(), kText, kLabel);
  auto label = [](double v) { return base::format("%.3g", v == 0 ? 0.0 : v); };  // −0 (an all-zero ζ layer's −m) as 0
  draw_colour_bar(
      c, x, y + 22, bar, 150, [&](double bx, double w, double u) { c.fill_rect(bx, y + 22, w, 14, s.color(s.low + (s.high - s.low) * u / 150)); },
      label(s.low), label((s.low + s.high) / 2), label(s.high));
  const double kx = x + bar + 30;
  c.fill_rect(kx, y + 20, 14, 14, kNoData);
  c.stroke_rect(kx, y + 20, 14, 14, kBlack, 2);
  c.stroke_rect(kx + 2, y + 22, 10, 10, kWhite, 1);
  c.text(kx + 22, y + 22, kCriticalKey, kText, kLabel);
  c.fill_rect(kx, y + 40, 14, 14, kNoData);
  c.line(kx + 1, y + 41, kx + 13, y + 53, kMuted, 1);
  c.line(kx + 13, y + 41, kx + 1, y + 53, kMuted, 1);
  c.text(kx + 22, y + 42, "dead: < 5% of activations nonzero", kText, kLabel);
}
constexpr double kLegendWidth = 300 + 30 + 22 + 34 * 6 * kLabel;
double legend_width(const ColorScale& s) { return std::max(kLegendWidth, text_width(s.caption(), kLabel)); }

std::string layer_subtitle(const LayerImage& layer) {
  const run::RegionGrid& g = layer.grid;
  std::string s = layer.shape_known ? "shape " + std::to_string(g.height) + "x" + std::to_string(g.width) + "x" +
                                          std::to_string(g.channels) + ", "
                                    : "";
  s += "grid " + std::to_string(g.gh) + "x" + std::to_string(g.gw) + "x" + std::to_string(g.gc);
  if (layer.has_grid) s += base::format(", coverage %.0f%%", 100 * layer.coverage);
  if (layer.has_zeta) s += ", " + std::to_string(layer.critical.size()) + " critical";
  return s;
}

// Cell size that keeps a tile about `target` pixels across, within [low, high].
double cell_size(const run::RegionGrid& g, double target, double low, double high) {
  return std::clamp(std::floor(target / std::max(g.gh, g.gw)), low, high);
}

class FigureWriter {
 public:
  FigureWriter(const RunData& run, const std::vector<StabilityStep>& stability, std::string format, int scale)
      : run_(run), stability_(stability), format_(std::move(format)), scale_(scale), stems_(file_stems(run.layers)) {}

  Figures render_all() {
    for (const EpochData& e : run_.epochs) {
      for (size_t l = 0; l < run_.layers.size(); ++l)
        for (MapKind kind : {MapKind::density, MapKind::zeta})
          if (has_map(e.layers[l], kind)) layer_map(e, l, kind);
      if (e.has_tract) pathways(e);
      if (!e.sample_labels.empty()) confusion(e);
      if (!e.gallery.empty())
        for (size_t l = 0; l < run_.layers.size(); ++l)
          if (e.layers[l].gallery_phi.size() == e.gallery.size() && !e.layers[l].rf_rows.empty() && e.layers[l].shape_known)
            gallery(e, l);
    }
    // An analyze output directory is one checkpoint: no evolution over epochs, no training curves.
    if (run_.single_analysis) return std::move(figures_);
    for (size_t l = 0; l < run_.layers.size(); ++l)
      for (MapKind kind : {MapKind::density, MapKind::zeta}) {
        bool any = false;
        for (const EpochData& e : run_.epochs) any = any || has_map(e.layers[l], kind);
        if (any) evolution(l, kind);
      }
    training();
    return std::move(figures_);
  }

 protected:
  std::string name(const std::string& folder, const std::string& stem) const {
    return folder + "/" + stem + "." + format_;
  }
  static std::string kind_name(MapKind kind) { return kind == MapKind::density ? "density" : "zeta"; }
  static std::string kind_title(MapKind kind) { return kind == MapKind::density ? "density" : "ζ"; }
  // What every title says about the run: "reference on cifar10, run main".
  std::string run_label() const {
    return run_.model() + " on " + run_.dataset() + ", run " + run_.name();
  }

  // The canvas of the figure `relative`, or nothing (and a note) when its size is over the limits.
  // An SVG has no pixels: its layout is checked.  A PNG over the limits at --scale is drawn at the
  // largest scale that fits, and a note says so.
  std::unique_ptr<Canvas> begin(const std::string& relative, double width, double height) {
    const double w = std::ceil(width), h = std::ceil(height);
    auto problem_at = [&](int s) { return figure_size_problem(int(std::min(w * s, 1e9)), int(std::min(h * s, 1e9))); };
    int scale = format_ == "svg" ? 1 : scale_;
    while (scale > 1 && !problem_at(scale).empty()) --scale;
    if (const std::string problem = problem_at(scale); !problem.empty()) {
      figures_.skipped.push_back(relative + " not drawn: " + problem);
      return nullptr;
    }
    if (format_ == "svg") return make_canvas(format_, int(w), int(h), kWhite, scale_);
    if (scale < scale_)
      figures_.rescaled.push_back(relative + " drawn at --scale " + std::to_string(scale) + ": at " + std::to_string(scale_) +
                                  " it would be " + problem_at(scale_));
    return make_canvas(format_, int(w), int(h), kWhite, scale);
  }

  void save(const Canvas& canvas, const std::string& relative) { figures_.files.push_back({relative, canvas.encode()}); }

  // analyze --errors: per class, the gallery's images (2 most confident correct, 2 worst mistakes) with
  // each image's own φ_g(x) of this layer projected onto its pixels (run::project_to_pixels: every
  // region's φ spread evenly over its receptive field), drawn over the grey image on RdBu, each image on
  // its own scale [−m_x, m_x] (m_x the largest |M_x(p)| of that image), stated under it; a colour bar
  // under the rows.  With one scale per figure the largest map (usually a mistake's) would set it, and
  // most confident images' maps, a tenth of it or less, would be drawn invisibly faint.  An image
  // the layer's estimate does not cover (a --zeta-budget cut to the first K images) says so under it and
  // in a note.  The confusion cells' extra examples (kind "cell") are the page's, not this figure's.
  void gallery(const EpochData& e, size_t l) {
    const LayerImage& layer = e.layers[l];
    const int C = e.gallery_channels, H = e.gallery_height, W = e.gallery_width;
    if (layer.rf_rows.size() != size_t(layer.grid.gh) || layer.rf_cols.size() != size_t(layer.grid.gw)) return;
    std::vector<std::vector<double>> maps(e.gallery.size());
    std::vector<double> own_scale(e.gallery.size(), 0);
    int uncovered = 0;
    for (size_t i = 0; i < e.gallery.size(); ++i) {
      if (e.gallery[i].kind == "cell") continue;
      if (layer.gallery_phi[i].empty()) {
        ++uncovered;
        continue;
      }
      maps[i] = run::project_to_pixels(layer.gallery_phi[i], layer.grid, layer.rf_rows, layer.rf_cols, H, W);
      for (double v : maps[i]) own_scale[i] = std::max(own_scale[i], std::fabs(v));
    }
    int classes = run_.class_count();
    for (const GalleryImage& g : e.gallery) classes = std::max(classes, g.label + 1);
    std::vector<int> per_class(size_t(classes), 0);
    for (const GalleryImage& g : e.gallery)
      if (g.kind != "cell") ++per_class[size_t(g.label)];
    const int per_row = *std::max_element(per_class.begin(), per_class.end());
    // One row per class with an image in the sample; the classes without one are named in a note
    // (the first kAbsentNamed of them), not drawn as empty rows.
    constexpr int kAbsentNamed = 12;
    std::vector<int> row_of(size_t(classes), -1);
    int rows = 0;
    std::string absent;
    int absent_count = 0;
    for (int k = 0; k < classes; ++k)
      if (per_class[size_t(k)] > 0) row_of[size_t(k)] = rows++;
      else if (++absent_count <= kAbsentNamed) absent += (absent.empty() ? "" : ", ") + gallery_class_name(k);
    if (absent_count > kAbsentNamed) absent += ", … (" + std::to_string(absent_count) + " classes)";
    const std::string absent_note = absent.empty() ? "" : "no image in the ζ sample: " + absent;
    const std::string uncovered_note =
        uncovered == 0 ? ""
                       : "no overlay on " + std::to_string(uncovered) + (uncovered == 1 ? " image" : " images") +
                             " (\"not covered\"): this layer's estimate covers the first " + std::to_string(layer.gallery_covered) +
                             " images of the ζ sample only (a --zeta-budget cut)";
    const double pixel = std::max(1.0, std::floor(72.0 / std::max(H, W))), side_w = W * pixel, side_h = H * pixel;
    const double label_w = 110, caption = 46, gap = 14, row_h = side_h + caption + gap;
    const std::string title = layer.name + " — per-image φ on the pixels, epoch " + std::to_string(e.epoch);
    const std::string subtitle = "per class: the most confident correct images, then the worst mistakes; red: supports "
                                 "the true class, blue: against it";
    // the unit of φ: that of zeta.json's value function
    std::string value = "logprob";
    if (e.zeta_settings.is_object() && e.zeta_settings.contains("value_function") && e.zeta_settings["value_function"].is_string())
      value = e.zeta_settings["value_function"].get<std::string>();
    const std::string unit = value == "logprob"    ? "nats of the true class's log-likelihood"
                             : value == "accuracy" ? "accuracy (0 or 1 per image)"
                             : value == "margin"   ? "logits of the true class's margin over the largest other"
                             : value.rfind("confusion:", 0) == 0 ? "logits (" + value + ")"
                                                                 : "units of the value function " + value;
    const std::string legend = "colour scale: each image's own, ±m under it (its largest |φ| per pixel), φ per pixel, in " + unit +
                               " (value function " + value + ")";
    const double bar = 320, bar_h = 14;
    const double notes = (absent_note.empty() ? 0 : 20) + (uncovered_note.empty() ? 0 : 20);
    const double width = std::max({label_w + per_row * (side_w + gap), text_width(title, kTitle), text_width(subtitle, kLabel),
                                   text_width(run_label(), kLabel), text_width(absent_note, kLabel),
                                   text_width(uncovered_note, kLabel), text_width(legend, kLabel), bar + 20}) +
                         2 * kMargin;
    const double top = kMargin + 24 + 2 * 20;
    const double bottom = top + rows * row_h;  // notes, then the legend's line, its bar and the bar's labels
    const double height = bottom + notes + 20 + bar_h + 26 + kMargin;
    const std::string path = name(run::Layout::epoch_figures(e.epoch), stems_[l] + "_gallery");
    auto c = begin(path, width, height);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, run_label(), kMuted, kLabel);
    c->text(kMargin, kMargin + 46, subtitle, kMuted, kLabel);
    // the overlay of a value t ∈ [−1, 1] of an image's scale over grey v
    auto overlay = [&](double x, double y, double w, double h, double t) {
      c->fill_rect(x, y, w, h, diverging_color(t), 0.6 * std::min(1.0, std::fabs(t) * 1.5));
    };
    std::vector<int> column(size_t(classes), 0);
    for (int k = 0; k < classes; ++k)
      if (row_of[size_t(k)] >= 0) c->text(kMargin, top + row_of[size_t(k)] * row_h + side_h / 2 - 8, gallery_class_name(k), kText, kLabel);
    for (size_t i = 0; i < e.gallery.size(); ++i) {
      const GalleryImage& g = e.gallery[i];
      if (g.kind == "cell") continue;
      const double x0 = kMargin + label_w + column[size_t(g.label)]++ * (side_w + gap), y0 = top + row_of[size_t(g.label)] * row_h;
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          double grey = 0;
          for (int ch = 0; ch < C; ++ch) grey += g.pixels[(size_t(ch) * H + size_t(y)) * W + size_t(x)];
          const uint8_t v = uint8_t(std::lround(grey / C));
          c->fill_rect(x0 + x * pixel, y0 + y * pixel, pixel, pixel, Rgb{v, v, v});
          if (!maps[i].empty() && own_scale[i] > 0) overlay(x0 + x * pixel, y0 + y * pixel, pixel, pixel, maps[i][size_t(y) * W + size_t(x)] / own_scale[i]);
        }
      char p_true[48];
      std::snprintf(p_true, sizeof p_true, "p(true) %.2f", g.probability_true);
      const std::string verdict = g.kind == "mistake" ? "→ " + gallery_class_name(g.predicted) : "correct";
      const std::string scale = layer.gallery_phi[i].empty() ? "not covered"
                                : own_scale[i] > 0         ? base::format("±%.2g", own_scale[i])
                                                           : "φ = 0";
      c->text(x0, y0 + side_h + 3, base::utf8_prefix(verdict, 14), g.kind == "mistake" ? Rgb{178, 24, 43} : kMuted, 1.1);
      c->text(x0, y0 + side_h + 17, p_true, kMuted, 1.1);
      c->text(x0, y0 + side_h + 31, scale, kMuted, 1.1);
    }
    double y = bottom;
    if (!absent_note.empty()) c->text(kMargin, y, absent_note, kMuted, kLabel), y += 20;
    if (!uncovered_note.empty()) c->text(kMargin, y, uncovered_note, kMuted, kLabel), y += 20;
    c->text(kMargin, y, legend, kMuted, kLabel);
    // the colour bar: the overlay itself, over mid grey, from −m to +m of an image's scale
    draw_colour_bar(
        *c, kMargin, y + 20, bar, 120,
        [&](double x, double w, double u) {
          c->fill_rect(x, y + 20, w, bar_h, Rgb{128, 128, 128});
          overlay(x, y + 20, w, bar_h, -1 + 2 * u / 120);
        },
        "−m (against)", "0", "+m (supports)");
    save(*c, path);
  }

  std::string gallery_class_name(int k) const {
    return k < run_.class_count() ? run_.class_names[size_t(k)] : "class " + std::to_string(k);
  }

  // analyze --errors: the confusion matrix of the intact net on the ζ sample (rows: true class, columns:
  // predicted), counts in the cells, shaded by the share of the row (viridis).
  void confusion(const EpochData& e) {
    int K = 0;
    for (size_t i = 0; i < e.sample_labels.size(); ++i) K = std::max({K, e.sample_labels[i] + 1, e.sample_predicted[i] + 1});
    K = std::max(K, run_.class_count());
    std::vector<long> m(size_t(K) * size_t(K), 0), row(size_t(K), 0);
    for (size_t i = 0; i < e.sample_labels.size(); ++i) {
      ++m[size_t(e.sample_labels[i]) * size_t(K) + size_t(e.sample_predicted[i])];
      ++row[size_t(e.sample_labels[i])];
    }
    auto class_name = [&](int k) {
      return k < run_.class_count() ? run_.class_names[size_t(k)] : std::to_string(k);
    };
    double label_w = 0, column_w = 0;
    for (int k = 0; k < K; ++k) {
      label_w = std::max(label_w, text_width(class_name(k), kTick));
      column_w = std::max(column_w, text_width(short_class_name(class_name(k)), kTick));
    }
    // Columns as wide as the widest (short) class name, so that each column says its name on one line.
    const double cell = 34, column = std::max(cell, std::ceil(column_w + 8));
    const double top = kMargin + 24 + 2 * 20 + text_height(kTick) + 14, left = kMargin + label_w + 10;
    const std::string title = "Confusion matrix on the ζ sample, epoch " + std::to_string(e.epoch);
    const std::string subtitle = "rows: true class, columns: predicted; " + std::to_string(e.sample_labels.size()) +
                                 " images (those ζ was computed on); shade: share of the row";
    // the shade's scale under the matrix (without it a colour says no number)
    const std::string scale_caption = "shade = count / the row's images (the share of that true class predicted as the column)";
    const double width = std::max({left + K * column, text_width(title, kTitle), text_width(run_label(), kLabel),
                                   text_width(subtitle, kLabel), text_width(scale_caption, kLabel)}) +
                         2 * kMargin;
    const double height = top + K * cell + 16 + kLegendHeight + kMargin;
    const std::string path = name(run::Layout::epoch_figures(e.epoch), "confusion");
    auto c = begin(path, width, height);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, run_label(), kMuted, kLabel);
    c->text(kMargin, kMargin + 46, subtitle, kMuted, kLabel);
    for (int k = 0; k < K; ++k) {
      c->text(left - 6, top + k * cell + cell / 2 - text_height(kTick) / 2, class_name(k), kText, kTick, Anchor::end);
      c->text(left + (k + 0.5) * column, top - text_height(kTick) - 4, short_class_name(class_name(k)), kText, kTick, Anchor::middle);
    }
    for (int y = 0; y < K; ++y)
      for (int p = 0; p < K; ++p) {
        const long n = m[size_t(y) * size_t(K) + size_t(p)];
        const double share = row[size_t(y)] ? double(n) / double(row[size_t(y)]) : 0;
        c->fill_rect(left + p * column, top + y * cell, column - 1, cell - 1, sequential_color(share));
        if (n) c->text(left + (p + 0.5) * column, top + y * cell + cell / 2 - text_height(kTick) / 2, std::to_string(n),
                       share > 0.5 ? kBlack : kWhite, kTick, Anchor::middle);
      }
    const double scale_y = top + K * cell + 16, bar = 300;
    c->text(kMargin, scale_y, scale_caption, kText, kLabel);
    draw_colour_bar(
        *c, kMargin, scale_y + 22, bar, 150,
        [&](double x, double w, double u) { c->fill_rect(x, scale_y + 22, w, 14, sequential_color(u / 150)); }, "0%", "", "100% of the row");
    save(*c, path);
  }

  void layer_map(const EpochData& e, size_t l, MapKind kind) {
    const LayerImage& layer = e.layers[l];
    const ColorScale scale = layer_scale(run_, l, kind);
    // The output layer (one region per logit, README "Region grid"): tiles named by class.
    const std::vector<std::string>* classes = output_classes(l, layer);
    double widest_label = 0;  // tiles at least as wide as their labels
    const int labelled = std::min(layer.grid.gc, kMaxLabelledTiles);
    for (int k0 = 0; k0 < labelled; ++k0) widest_label = std::max(widest_label, text_width(tile_label(layer, k0, classes), kLabel));
    const double cell = std::max(cell_size(layer.grid, 160, 6, 40), std::ceil((widest_label + 2) / layer.grid.gw));
    // Many channel blocks: unlabelled tiles wrapped to fit (a 1x1x4096 grid would be 50,000 pixels tall).
    const TileLayout t = layer.grid.gc > kMaxLabelledTiles ? fitted_layout(layer.grid, kMapBox, kMapBox, 40)
                                                           : layout_within(tile_layout(layer.grid, cell, 8, true), kMapBox, kMapBox, 40);
    const bool labels = t.label > 0;
    const std::string title = layer.name + " — " + kind_title(kind) + " map, epoch " + std::to_string(e.epoch);
    const std::string subtitle = layer_subtitle(layer) + (labels ? "" : ", tiles: channel blocks in order, row by row");
    const double axes = labels ? axis_width(t) : 0, below = labels ? kAxisBelow : 0;
    const double width = std::max({axes + t.width(), text_width(title, kTitle), text_width(run_label(), kLabel),
                                   text_width(subtitle, kLabel), legend_width(scale)}) +
                         2 * kMargin;
    const double tiles_y = kMargin + 24 + 2 * 20 + (labels ? 20 : 0);
    const double height = tiles_y + t.height() + below + 20 + kLegendHeight + kMargin;
    const std::string path = name(run::Layout::epoch_figures(e.epoch), stems_[l] + "_" + kind_name(kind));
    auto c = begin(path, width, height);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, run_label(), kMuted, kLabel);
    c->text(kMargin, kMargin + 46, subtitle, kMuted, kLabel);
    if (labels) draw_axes(*c, kMargin, tiles_y, t);
    draw_tiles(*c, kMargin + axes, tiles_y, t, layer, map_values(layer, kind), scale, labels, true, classes);
    draw_legend(*c, kMargin, tiles_y + t.height() + below + 20, scale);
    save(*c, path);
  }

  // The output layer's class names (one region per logit, README "Region grid"), else null: its tiles
  // are headed by class, not channel.
  const std::vector<std::string>* output_classes(size_t l, const LayerImage& layer) const {
    return l + 1 == run_.layers.size() && layer.grid.gh == 1 && layer.grid.gw == 1 && run_.class_count() == layer.grid.gc
               ? &run_.class_names
               : nullptr;
  }

  // One row per analysed epoch: "epoch N" and the layer's map (or a note when it was not measured).
  // Each tile column is headed by its channels (`ch 1–16`; the output layer's by class) above the
  // first row and above any row whose grid differs from the row before (without them a reader could
  // not tell which channel block a column is).
  void evolution(size_t l, MapKind kind) {
    const ColorScale scale = layer_scale(run_, l, kind);
    const std::string title = run_.layers[l] + " — " + kind_title(kind) + " map across epochs";
    const bool by_class = !run_.epochs.empty() && output_classes(l, run_.epochs.back().layers[l]);  // the output layer: one tile per class
    const std::string subtitle =
        run_label() + "; one row per analysed epoch; tiles: " + (by_class ? "classes" : "channel blocks") + "; one colour scale";
    const double label_width = 90;
    std::vector<TileLayout> rows;
    double tiles_width = 0, rows_height = 0;
    const run::RegionGrid* above = nullptr;  // the grid of the nearest row above that drew its tiles
    auto same = [](const run::RegionGrid& a, const run::RegionGrid& b) {
      return a.height == b.height && a.width == b.width && a.channels == b.channels && a.gh == b.gh && a.gw == b.gw && a.gc == b.gc;
    };
    for (size_t e = 0; e < run_.epochs.size(); ++e) {
      const LayerImage& layer = run_.epochs[e].layers[l];
      const run::RegionGrid& g = layer.grid;
      const bool header = has_map(layer, kind) && !(above && same(*above, g));
      if (has_map(layer, kind)) above = &g;
      double cell = std::max(2.0, std::min(cell_size(g, 96, 3, 24), std::floor(2000.0 / std::max(1, g.gc * g.gw))));
      double widest = 0;  // tiles at least as wide as their headers
      if (g.gc <= kMaxLabelledTiles)
        for (int k0 = 0; k0 < g.gc; ++k0) widest = std::max(widest, text_width(tile_label(layer, k0, output_classes(l, layer)), kLabel));
      cell = std::max(cell, std::ceil((widest + 2) / g.gw));
      TileLayout t = layout_within(tile_layout(g, cell, g.gc, g.gc <= kMaxLabelledTiles), 2 * kMapBox, kMapBox / 3, 24);
      if (!header) t.label = 0;  // the same columns as the row above (or no tiles): its header serves
      rows.push_back(t);
      tiles_width = std::max(tiles_width, rows.back().width());
      rows_height += std::max(rows.back().height(), text_height(kLabel)) + 10;
    }
    const double width =
        std::max({label_width + tiles_width, text_width(title, kTitle), text_width(subtitle, kLabel), legend_width(scale)}) +
        2 * kMargin;
    const double top = kMargin + 24 + 22;
    const double height = top + rows_height + 10 + kLegendHeight + kMargin;
    const std::string path = name(run::Layout::evolution_figures(), stems_[l] + "_" + kind_name(kind));
    auto c = begin(path, width, height);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, subtitle, kMuted, kLabel);
    double y = top;
    for (size_t e = 0; e < run_.epochs.size(); ++e) {
      const LayerImage& layer = run_.epochs[e].layers[l];
      const TileLayout& t = rows[e];
      c->text(kMargin, y + t.label + std::max(0.0, (t.height() - t.label) / 2 - 9), "epoch " + std::to_string(run_.epochs[e].epoch), kText,
              kLabel);
      if (has_map(layer, kind))
        draw_tiles(*c, kMargin + label_width, y, t, layer, map_values(layer, kind), scale, t.label > 0, true, output_classes(l, layer));
      else
        c->text(kMargin + label_width, y + t.label + std::max(0.0, (t.height() - t.label) / 2 - 9),
                kind == MapKind::density ? "no grid.json for this epoch" : "no zeta.json for this epoch", kMuted, kLabel);
      y += std::max(t.height(), text_height(kLabel)) + 10;
    }
    draw_legend(*c, kMargin, y + 10, scale);
    save(*c, path);
  }

  // Layers as columns of stacked channel-block tiles; the chains of tract.json as lines through
  // their regions; the strongest listed flows of each pair as faint lines; pair strengths on top.
  // A residual unit's shortcut pair (PairTract::shortcut) is drawn dashed, its flows and every chain
  // step along it (pathway_steps), and its strength sits one row higher, marked "skip".
  // More than kPathwayColumns layers are wrapped into bands of at most that many columns, one under
  // the other, each with its own names and strengths (in one row resnet20's 30 layers would make it
  // 3,992 pixels wide, its tiles unreadable at any page width); a line between two bands leaves
  // the right edge of the upper band and enters the lower one from its left edge.
  static constexpr size_t kPathwayColumns = 10;
  void pathways(const EpochData& e) {
    const double column = 132, header = kMargin + 130, stack = 520, band_header = 80;
    const size_t n = run_.layers.size();
    const size_t bands = std::max<size_t>(1, (n + kPathwayColumns - 1) / kPathwayColumns);
    const size_t per_band = std::max<size_t>(1, (n + bands - 1) / bands);  // bands as even as they can be
    std::vector<TileLayout> layouts;
    std::vector<double> x0s;
    for (size_t l = 0; l < n; ++l) {
      const run::RegionGrid& g = e.layers[l].grid;
      const double by_width = std::floor((column - 28) / g.gw);
      const double by_height = std::floor((stack - g.gc * 6.0) / (double(g.gc) * g.gh));
      layouts.push_back(layout_within(tile_layout(g, std::clamp(std::min(by_width, by_height), 2.0, 20.0), 1, false),
                                      column - 28, stack, 20));
      x0s.push_back(kMargin + double(l % per_band) * column + (column - layouts.back().width()) / 2);
    }
    double stack_used = 0;
    for (const TileLayout& t : layouts) stack_used = std::max(stack_used, t.height());
    const auto band_of = [&](size_t l) { return l / per_band; };
    const auto band_top = [&](size_t b) { return header + double(b) * (stack_used + band_header); };  // the band's tiles
    const double top = band_top(bands - 1);  // the last band's: the chains are listed under it
    const double right_edge = kMargin + double(per_band) * column;
    const std::string title = "pathways, epoch " + std::to_string(e.epoch) + ": strongest chains across the layers";
    bool residual = false;
    for (const PairTract& p : e.pairs) residual = residual || p.shortcut;
    // two lines (one, cut at 200 bytes, would lose "dashed: …" on a residual net)
    const std::string subtitle =
        run_label() + "; cells coloured by ζ on each layer's scale (red: above the layer's mean, blue: below; grey: no ζ)";
    const std::string subtitle2 =
        std::string("numbers between columns: mean input drive per receiving unit") + (residual ? "; dashed: a residual unit's shortcut" : "") +
        (bands > 1 ? "; layers wrap into rows: a line leaving a row's right edge enters the next row at its left edge" : "");
    // The chain score (README, "Tractography"), explained under the chains.
    const std::vector<std::string> explained = {
        "chain score = Σ over consecutive layers of ln(C(A→B) / connection strength of the pair), C(A→B) = mean "
        "Σ |W|·ReLU(a)·σ′(z) from region A to region B:",
        "the log of the share of each pair's total flow that the chain's link carries; 0 when one link carries all of it, "
        "ln(1/n) per pair when n links share it evenly (closer to 0 = stronger)."};
    const size_t shown = std::min<size_t>(e.chains.size(), 5);
    double text_wide = std::max({text_width(title, kTitle), text_width(subtitle, kLabel), text_width(subtitle2, kLabel)});
    for (const std::string& line : explained) text_wide = std::max(text_wide, text_width(line, kLabel));
    const double width = std::max(double(per_band) * column, text_wide) + 2 * kMargin;
    // a chain's regions, per_band to a line (a band's worth: 30 on one line ran off the figure)
    const auto chain_lines = [&](const RegionChain& chain) { return std::max<size_t>(1, (chain.layers.size() + per_band - 1) / per_band); };
    double chains_height = 0;
    for (size_t k = 0; k < std::min<size_t>(e.chains.size(), 5); ++k) chains_height += 22 + double(chain_lines(e.chains[k]) - 1) * 18;
    chains_height = std::max(chains_height, 22.0);
    const double height = top + stack_used + 30 + chains_height + 8 + explained.size() * 20 + kMargin;
    const std::string path = name(run::Layout::epoch_figures(e.epoch), "pathways");
    auto c = begin(path, width, height);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, subtitle, kMuted, kLabel);
    c->text(kMargin, kMargin + 46, subtitle2, kMuted, kLabel);
    for (size_t l = 0; l < n; ++l) {
      const LayerImage& layer = e.layers[l];
      const double y = band_top(band_of(l));
      c->text(kMargin + double(l % per_band) * column + column / 2, y - 22, layer.name, kText, kLabel, Anchor::middle);
      draw_tiles(*c, x0s[l], y, layouts[l], layer, layer.has_zeta ? map_values(layer, MapKind::zeta) : std::vector<double>{},
                 layer_scale(run_, l, MapKind::zeta), false, false);
    }
    for (const PairTract& p : e.pairs)
      if (auto s = pair_strength(p, e)) {
        // between its two columns, in the band of the receiving layer; from an upper band: between
        // the band's left edge and the receiving column
        const size_t b = band_of(size_t(p.to));
        const double to_x = kMargin + (double(size_t(p.to) % per_band) + 0.5) * column;
        const double x = band_of(size_t(p.from)) == b ? kMargin + double(size_t(p.from) % per_band + size_t(p.to) % per_band + 1) * column / 2
                                                      : (kMargin + to_x) / 2 + 6;
        const std::string text = (p.shortcut ? "skip " : "") + base::format("%.3g", *s);
        c->text(std::max(x, kMargin + text_width(text, kLabel) / 2), band_top(b) - (p.shortcut ? 62 : 44), text, kMuted, kLabel, Anchor::middle);
      }
    auto center = [&](int layer, int region) {
      return layouts[size_t(layer)].cell_center(x0s[size_t(layer)], band_top(band_of(size_t(layer))), region);
    };
    // One step A→B: a line, or dashed (a shortcut); across bands, out to the right edge at A's height
    // and in from the left edge at B's.
    auto step = [&](const PathwayStep& f, Rgb color, double lw, double opacity, double dash, double gap) {
      const Point a = center(f.from_layer, f.from_region), b = center(f.to_layer, f.to_region);
      auto draw = [&](Point p, Point q) {
        if (f.shortcut)
          c->dashed_line(p.x, p.y, q.x, q.y, color, lw, opacity, dash, gap);
        else
          c->line(p.x, p.y, q.x, q.y, color, lw, opacity);
      };
      if (band_of(size_t(f.from_layer)) == band_of(size_t(f.to_layer))) return draw(a, b);
      draw(a, {right_edge, a.y});
      draw({kMargin, b.y}, b);
    };
    const std::vector<PathwayStep> steps = pathway_steps(e, 6);
    for (const PathwayStep& f : steps)
      if (f.chain < 0) step(f, kMuted, 1, f.opacity, 6, 4);
    std::vector<size_t> order(e.chains.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return e.chains[a].score > e.chains[b].score; });
    for (size_t rank = shown; rank-- > 0;) {  // the best chain drawn last, on top
      const RegionChain& chain = e.chains[order[rank]];
      const double lw = rank == 0 ? 3.5 : 2;
      bool plain = bands == 1;  // one band and no shortcut step: one polyline, joints drawn once
      for (const PathwayStep& f : steps) plain = plain && !(f.chain == long(order[rank]) && f.shortcut);
      if (plain) {
        std::vector<Point> points;
        for (size_t s = 0; s < chain.layers.size(); ++s) points.push_back(center(chain.layers[s], chain.regions[s]));
        c->polyline(points, palette(rank), lw);
        for (const Point& p : points) c->disc(p.x, p.y, rank == 0 ? 3.5 : 2.5, palette(rank));
        continue;
      }
      for (const PathwayStep& f : steps)
        if (f.chain == long(order[rank])) {
          step(f, palette(rank), lw, 1, 9, 5);
          const Point a = center(f.from_layer, f.from_region), b = center(f.to_layer, f.to_region);
          c->disc(a.x, a.y, rank == 0 ? 3.5 : 2.5, palette(rank));
          c->disc(b.x, b.y, rank == 0 ? 3.5 : 2.5, palette(rank));
        }
    }
    double y = top + stack_used + 30;
    for (size_t rank = 0; rank < shown; ++rank, y += 22) {
      const RegionChain& chain = e.chains[order[rank]];
      c->line(kMargin, y + 7, kMargin + 30, y + 7, palette(rank), rank == 0 ? 3.5 : 2);
      std::string path = "chain " + std::to_string(rank + 1) + base::format(": score %.3g  ", chain.score);
      for (size_t s = 0; s < chain.layers.size(); ++s) {
        if (s && s % per_band == 0) {  // the next band's regions on the next line
          c->text(kMargin + 40, y, path + " >", kText, kLabel);
          path = "    ", y += 18;
        }
        path += (s % per_band ? " > " : "") + e.layers[size_t(chain.layers[s])].grid.key(chain.regions[s]).substr(5);
      }
      c->text(kMargin + 40, y, path, kText, kLabel);
    }
    if (e.chains.empty()) c->text(kMargin, y, "tract.json lists no chains", kMuted, kLabel);
    y = top + stack_used + 30 + chains_height + 8;
    for (const std::string& line : explained) {
      c->text(kMargin, y, line, kMuted, kLabel);
      y += 20;
    }
    save(*c, path);
  }

  struct Series {
    std::string label;
    std::vector<Point> points;  // (epoch, value)
    Rgb color;
    double width;
    std::vector<double> pattern = {};  // layer_style's; empty: solid
  };

  // The epochs labelled on an axis `width` units wide from `first` to `last`: the multiples of the
  // smallest step of 1, 2, 5, 10, 20, 50, … whose labels, each as wide as the widest (the last
  // epoch's) and 12 units apart, fit side by side (every 66,667th epoch of a million overlapped);
  // `first` alone when no multiple falls in the range.  report.js's epochTicks keeps the same rule.
  static std::vector<long> epoch_ticks(long first, long last, double width) {
    const long fit = std::max(1L, long(width / (text_width(std::to_string(last), kLabel) + 12)));
    const auto count = [&](long step) { return last / step - (first + step - 1) / step + 1; };
    long step = 1;
    for (long decade = 1; count(step) > fit; decade *= 10)
      for (const long base : {1L, 2L, 5L})
        if (count(step) > fit) step = base * decade;
    std::vector<long> out;
    for (long ep = (first + step - 1) / step * step; ep <= last; ep += step) out.push_back(ep);
    if (out.empty()) out.push_back(first);
    return out;
  }

  static constexpr double kLegendSample = 28;  // a legend entry's line: long enough to show its pattern
  static double legend_entry_width(const Series& ser) { return text_width(ser.label, kLabel) + kLegendSample + 22; }

  // A panel's legend: one row on the title's line, right-aligned, when both fit in the panel's width w;
  // else rows of their own under the title, each as many entries as fit in w (one right-aligned
  // row whatever its width would run resnet20's 30 layers off the figure's left edge).
  // Returns the rows as indices into series, and whether they share the title's line.
  static std::pair<std::vector<std::vector<size_t>>, bool> legend_rows(const std::string& title, const std::vector<Series>& series,
                                                                     double w) {
    double total = 0;
    std::vector<size_t> listed;  // a series without a label is drawn, not listed (a compared run's own lines: its pattern's entry names it)
    for (size_t s = 0; s < series.size(); ++s)
      if (!series[s].label.empty()) listed.push_back(s), total += legend_entry_width(series[s]);
    std::vector<std::vector<size_t>> rows;
    if (text_width(title, kLabel) + total + 20 <= w) {
      rows.push_back(listed);
      return {rows, true};
    }
    double used = 0;
    for (const size_t s : listed) {
      if (rows.empty() || (!rows.back().empty() && used + legend_entry_width(series[s]) > w)) rows.emplace_back(), used = 0;
      rows.back().push_back(s);
      used += legend_entry_width(series[s]);
    }
    return {rows, false};
  }
  // The height the legend rows of a panel take above it beyond the one row every panel has room for.
  static double legend_extra_height(const std::string& title, const std::vector<Series>& series, double w) {
    const auto [rows, shared] = legend_rows(title, series, w);
    return shared || rows.size() < 2 ? 0 : double(rows.size() - 1) * kLegendRow;
  }
  static constexpr double kLegendRow = 20;

  // A panel of line series over the shared epoch axis [x_low, x_high].
  void panel(Canvas& c, double x, double y, double w, double h, const std::string& title, const std::vector<Series>& series,
             double x_low, double x_high, std::optional<std::pair<double, double>> y_range, bool x_labels) {
    const auto [rows, shared] = legend_rows(title, series, w);
    const double legend_y = y - 24;  // the legend's last row; the title is on it (shared) or above the rows
    c.text(x, shared ? legend_y : legend_y - 22 - double(rows.size() ? rows.size() - 1 : 0) * kLegendRow, title, kText, kLabel);
    double lo = 0, hi = 1;
    bool any = false;
    for (const Series& s : series)
      for (const Point& p : s.points) {
        lo = any ? std::min(lo, p.y) : p.y, hi = any ? std::max(hi, p.y) : p.y;
        any = true;
      }
    if (y_range) lo = y_range->first, hi = y_range->second;
    if (hi <= lo) hi = lo + 1;
    const double pad = y_range ? 0 : 0.05 * (hi - lo);
    lo -= pad, hi += pad;
    auto px = [&](double epoch) { return x_high > x_low ? x + w * (epoch - x_low) / (x_high - x_low) : x + w / 2; };
    auto py = [&](double v) { return y + h - h * (v - lo) / (hi - lo); };
    // y ticks: 5 at 1-2-5 steps
    const double raw = (hi - lo) / 4, magnitude = std::pow(10, std::floor(std::log10(raw)));
    const double step = magnitude * (raw / magnitude < 1.5 ? 1 : raw / magnitude < 3.5 ? 2 : raw / magnitude < 7.5 ? 5 : 10);
    // v = first + i·step, at most 8 ticks (4 intervals of 1-2-5 steps give at most 7): `v += step` never moves when step is below the spacing of
    // doubles near v (values of 1e20 that differ in their last bit).
    const double first = std::ceil(lo / step) * step;
    for (int i = 0; i <= 7; ++i) {
      const double v = first + i * step;
      if (!(v <= hi + 1e-9 * step)) break;
      c.line(x, py(v), x + w, py(v), kGuide, 1);
      c.text(x - 6, py(v) - 6, base::format("%.3g", std::abs(v) < 1e-12 * step ? 0.0 : v), kMuted, kLabel, Anchor::end);
    }
    for (const long ep : epoch_ticks(long(x_low), long(x_high), w)) {
      c.line(px(double(ep)), y + h, px(double(ep)), y + h + 4, kMuted, 1);
      if (x_labels) c.text(px(double(ep)), y + h + 8, std::to_string(ep), kMuted, kLabel, Anchor::middle);
    }
    c.stroke_rect(x, y, w, h, kFrame, 1);
    if (!any) c.text(x + w / 2, y + h / 2 - 9, "no data", kMuted, kLabel, Anchor::middle);
    for (size_t s = series.size(); s-- > 0;) {
      const Series& ser = series[s];
      std::vector<Point> points;
      for (const Point& p : ser.points) points.push_back({px(p.x), py(p.y)});
      c.patterned_polyline(points, ser.pattern, ser.color, ser.width);
      for (const Point& p : points) c.disc(p.x, p.y, ser.width + 1, ser.color);
    }
    const auto entry = [&](const Series& ser, double at, double row_y) {  // a line in the series' colour and pattern, then its label
      c.patterned_polyline({{at, row_y + 5}, {at + kLegendSample, row_y + 5}}, ser.pattern, ser.color, ser.width);
      c.text(at + kLegendSample + 6, row_y, ser.label, kText, kLabel);
    };
    for (size_t r = 0; r < rows.size(); ++r) {
      const double row_y = legend_y - double(rows.size() - 1 - r) * kLegendRow;
      double at = x;
      if (rows.size() == 1) {  // one row: right-aligned, on the title's line or under it
        at = x + w + 16;
        for (const size_t s : rows[r]) at -= legend_entry_width(series[s]);
      }
      for (const size_t s : rows[r]) {
        entry(series[s], at, row_y);
        at += legend_entry_width(series[s]);
      }
    }
  }

  void training() {
    double x_low = 1, x_high = 1;
    bool any = false;
    auto extend = [&](double ep) {
      x_low = any ? std::min(x_low, ep) : ep, x_high = any ? std::max(x_high, ep) : ep;
      any = true;
    };
    for (const MetricsRow& m : run_.metrics) extend(m.epoch);
    for (const EpochData& e : run_.epochs) extend(e.epoch);
    Series train_loss{"train loss", {}, palette(0), 2}, test_loss{"test loss", {}, palette(1), 2};
    Series train_acc{"train accuracy", {}, palette(0), 2}, test_acc{"test accuracy", {}, palette(1), 2};
    Series rate{"learning rate", {}, palette(2), 2};
    for (const MetricsRow& m : run_.metrics) {
      train_loss.points.push_back({double(m.epoch), m.train_loss});
      test_loss.points.push_back({double(m.epoch), m.test_loss});
      train_acc.points.push_back({double(m.epoch), m.train_acc});
      test_acc.points.push_back({double(m.epoch), m.test_acc});
      if (m.learning_rate) rate.points.push_back({double(m.epoch), *m.learning_rate});
    }
    std::vector<Series> stability;
    for (size_t l = 0; l < run_.layers.size(); ++l) {
      const LineStyle style = layer_style(l);
      Series s{run_.layers[l], {}, style.color, 1.5, style.pattern};
      for (const StabilityStep& step : stability_)
        if (step.layers[l]) s.points.push_back({double(step.to_epoch), *step.layers[l]});
      if (!s.points.empty()) stability.push_back(s);
    }
    Series mean{"mean", {}, kBlack, 2.5};
    for (const StabilityStep& step : stability_)
      if (step.mean) mean.points.push_back({double(step.to_epoch), *step.mean});
    if (!mean.points.empty()) stability.push_back(mean);

    std::vector<Panel> panels = {{"loss (cross-entropy)", {train_loss, test_loss}, std::nullopt},
                                 {"accuracy", {train_acc, test_acc}, std::nullopt}};
    // metrics.jsonl's learning_rate (every train run logs it): the schedule's rate at each epoch's last
    // step, on an axis from 0 (a rate is never below it) to 1.1 times the largest
    if (!rate.points.empty()) {
      double high = 0;
      for (const Point& p : rate.points) high = std::max(high, p.y);
      panels.push_back({"learning rate (at each epoch's last step)", {rate}, std::make_pair(0.0, high > 0 ? 1.1 * high : 1.0)});
    }
    panels.push_back({"ζ stability (Spearman ρ)", stability, std::make_pair(-1.0, 1.0)});
    epoch_panels(name(run::Layout::figures(), "training"), "training — " + run_label(),
                 "x: epoch. ζ stability: Spearman rank correlation of each layer's region ζ with the previous analysed epoch's", panels,
                 x_low, x_high);
  }

  struct Panel {
    std::string title;
    std::vector<Series> series;
    std::optional<std::pair<double, double>> range;
  };
  // Panels stacked on one epoch axis [x_low, x_high] under a title and a subtitle (training.EXT's layout),
  // each panel moved down by the legend rows above it beyond the first.
  void epoch_panels(const std::string& path, const std::string& title, const std::string& subtitle, const std::vector<Panel>& panels,
                    double x_low, double x_high) {
    const double w = 820, h = 190, left = kMargin + 60, gap = 92;
    std::vector<double> tops;
    double top = kMargin + 24 + 30 + 52 - h - gap;
    for (const Panel& pn : panels) tops.push_back(top += h + gap + legend_extra_height(pn.title, pn.series, w));
    // room on the right for half the last epoch's label, centred on the axis's end
    const double right = std::max(kMargin, text_width(std::to_string(long(x_high)), kLabel) / 2 + 4);
    auto c = begin(path, std::max(left + w + right, text_width(title, kTitle) + 2 * kMargin), tops.back() + h + 40 + kMargin);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, subtitle, kMuted, kLabel);
    for (size_t i = 0; i < panels.size(); ++i)
      panel(*c, left, tops[i], w, h, panels[i].title, panels[i].series, x_low, x_high, panels[i].range, true);
    c->text(left + w / 2, tops.back() + h + 26, "epoch", kText, kLabel, Anchor::middle);
    save(*c, path);
  }

  const RunData& run_;
  const std::vector<StabilityStep>& stability_;
  std::string format_;
  int scale_;
  std::vector<std::string> stems_;  // file_stems(run_.layers)
  Figures figures_;
};

constexpr double kColourBar = 300;
constexpr const char* kZetaCaption = "ζ = (φ − mean φ) / sd φ over the layer, each run its own";
constexpr const char* kDifferenceCaption = "A − X: ζ of run A minus ζ of run X, region by region";
constexpr const char* kApartKey = "apart: the two runs' 95% ζ intervals do not overlap";

// `nnfmri compare` (report/compare.h): run A is runs_[0], the figures' layers and file names are A's.
class ComparisonWriter : public FigureWriter {
 public:
  ComparisonWriter(const std::vector<ComparedRun>& runs, const std::string& format, int scale)
      : FigureWriter(*runs[0].run, runs[0].stability, format, scale), runs_(runs) {}

  Figures render_all() {
    const EpochData& a = epoch_of(0);
    for (size_t l = 0; l < run_.layers.size(); ++l)
      if (a.layers[l].has_zeta) layer_comparison(l);
    bool metrics = false;
    for (const ComparedRun& r : runs_) metrics = metrics || !r.run->metrics.empty();
    if (metrics) curves();
    return std::move(figures_);
  }

 private:
  const EpochData& epoch_of(size_t i) const { return runs_[i].run->epochs[runs_[i].epoch_index]; }
  // "B: seed2", a name longer than 24 bytes cut to its first 23 or fewer (never inside a UTF-8 character)
  // and "…" (a long directory name would push the maps off the figure)
  std::string run_tag(size_t i) const {
    const std::string& n = runs_[i].run->name();
    return std::string(1, compared_letter(i)) + ": " + (n.size() > 24 ? base::utf8_prefix(n, 23) + "…" : n);
  }

  // Every run's ζ map of layer l (left column, one diverging scale ±m, m the largest |ζ| of the maps
  // drawn) and beside each compared run X's the difference A − X (right column, one scale ±d, d the
  // largest |A − X|), the regions whose two 95% intervals do not overlap framed.  A run whose layer of
  // that name has no ζ at its epoch, or another grid, gets a line saying so instead.
  void layer_comparison(size_t l) {
    const LayerImage& a = epoch_of(0).layers[l];
    double zmax = 0, dmax = 0;
    for (const ZetaRegion& z : a.zeta) zmax = std::max(zmax, std::abs(z.zeta));
    for (size_t i = 1; i < runs_.size(); ++i)
      if (const LayerMatch& m = runs_[i].layers[l]; m.d) {
        for (const ZetaRegion& z : m.x->zeta) zmax = std::max(zmax, std::abs(z.zeta));
        dmax = std::max(dmax, m.d->max);
      }
    const ColorScale zscale{MapKind::zeta, -zmax, zmax}, dscale{MapKind::zeta, -dmax, dmax};
    const run::RegionGrid& g = a.grid;
    const std::vector<std::string>* classes = output_classes(l, a);
    const bool labels = g.gc <= kMaxLabelledTiles;
    double cell = std::max(2.0, cell_size(g, 96, 3, 24));
    double widest = 0;  // tiles at least as wide as their headers
    if (labels)
      for (int k0 = 0; k0 < g.gc; ++k0) widest = std::max(widest, text_width(tile_label(a, k0, classes), kLabel));
    cell = std::max(cell, std::ceil((widest + 2) / g.gw));
    // one row of tiles when it fits half the map box, else labelled rows of as many as fit, else fitted_layout
    TileLayout t = tile_layout(g, cell, g.gc, labels);
    if (t.width() > kMapBox / 2) t.per_row = std::max(1, int((kMapBox / 2 + t.gap) / (t.tile_width() + t.gap)));
    t = layout_within(t, kMapBox / 2, kMapBox / 3, 24);
    const double label_width = 190, column_gap = 48, caption = text_height(kLabel) + 8;
    const double left = kMargin + label_width, right = left + std::max(t.width(), 200.0) + column_gap;
    const std::string title = run_.layers[l] + " — ζ compared";
    const std::string subtitle = "left: each run's ζ map, one colour scale; right: A − X, one colour scale; framed right: the two runs' 95% ζ intervals do not overlap";
    double rows_height = 0;
    for (size_t i = 0; i < runs_.size(); ++i) rows_height += std::max(t.height(), 2 * text_height(kLabel) + 6) + caption + 12;
    const double legend_w = std::max({text_width(kZetaCaption, kLabel), text_width(kDifferenceCaption, kLabel),
                                      kColourBar + 52 + std::max(text_width(kCriticalKey, kLabel), text_width(kApartKey, kLabel))});
    const double width =
        std::max({right + std::max(t.width(), 200.0), kMargin + text_width(title, kTitle), kMargin + text_width(subtitle, kLabel), kMargin + legend_w}) +
        kMargin;
    const double top = kMargin + 24 + 22 + 24;
    const double height = top + rows_height + 16 + 2 * kLegendHeight + 10 + kMargin;
    const std::string path = stems_[l] + "_zeta." + format_;
    auto c = begin(path, width, height);
    if (!c) return;
    c->text(kMargin, kMargin, title, kText, kTitle);
    c->text(kMargin, kMargin + 26, subtitle, kMuted, kLabel);
    c->text(left, top - 24, "ζ", kText, kLabel);
    c->text(right, top - 24, "difference A − X", kText, kLabel);
    double y = top;
    for (size_t i = 0; i < runs_.size(); ++i) {
      const LayerMatch* m = i ? &runs_[i].layers[l] : nullptr;  // A's own row: its map, no difference
      const LayerImage* shown = !m ? &a : m->d ? m->x : nullptr;
      const double mid = y + t.label + std::max(0.0, (t.height() - t.label) / 2 - 18);
      c->text(kMargin, mid, run_tag(i), kText, kLabel);
      c->text(kMargin, mid + text_height(kLabel) + 4, "epoch " + std::to_string(epoch_of(i).epoch), kMuted, kLabel);
      if (!shown) {
        c->text(left, mid, "not compared: " + m->why, kMuted, kLabel);
      } else {
        draw_tiles(*c, left, y, t, *shown, map_values(*shown, MapKind::zeta), zscale, t.label > 0, true, classes);
        c->text(left, y + t.height() + 6, std::to_string(shown->critical.size()) + " critical", kMuted, kLabel);
      }
      if (m && m->d) {
        const ZetaDifference& d = *m->d;
        LayerImage marks = a;  // the difference's frames: the regions apart, no dead marks
        marks.critical = d.apart;
        marks.has_grid = false;
        draw_tiles(*c, right, y, t, marks, d.values, dscale, t.label > 0, false, classes);
        c->text(right, y + t.height() + 6,
                std::to_string(d.apart.size()) + " of " + std::to_string(d.values.size()) + " regions apart; mean |A − " +
                    std::string(1, compared_letter(i)) + "| " + base::format("%.3g", d.mean_abs),
                kMuted, kLabel);
      }
      y += std::max(t.height(), 2 * text_height(kLabel) + 6) + caption + 12;
    }
    y += 16;
    // the two colour scales, one under the other, each with the key of its frames beside it
    auto label = [](double v) { return base::format("%.3g", v == 0 ? 0.0 : v); };
    const auto scale_bar = [&](double at, const ColorScale& s, const std::string& what, const std::string& frame) {
      c->text(kMargin, at, what, kText, kLabel);
      draw_colour_bar(
          *c, kMargin, at + 22, kColourBar, 150,
          [&](double bx, double w, double u) { c->fill_rect(bx, at + 22, w, 14, s.color(s.low + (s.high - s.low) * u / 150)); },
          label(s.low), "0", label(s.high));
      const double kx = kMargin + kColourBar + 30;
      c->fill_rect(kx, at + 20, 14, 14, kNoData);
      c->stroke_rect(kx, at + 20, 14, 14, kBlack, 2);
      c->stroke_rect(kx + 2, at + 22, 10, 10, kWhite, 1);
      c->text(kx + 22, at + 22, frame, kText, kLabel);
    };
    scale_bar(y, zscale, kZetaCaption, kCriticalKey);
    scale_bar(y + kLegendHeight + 10, dscale, kDifferenceCaption, kApartKey);
    save(*c, path);
  }

  // Loss, accuracy and learning rate of every run with metrics, and each run's mean ζ stability over its
  // layers, on one epoch axis: the series' colours as in training.EXT, run A's lines solid and each
  // compared run's in its pattern (kRunPatterns); each panel's legend names the colours and the runs'
  // patterns (in black).
  void curves() {
    double x_low = 1, x_high = 1;
    bool any = false;
    const auto extend = [&](double ep) {
      x_low = any ? std::min(x_low, ep) : ep, x_high = any ? std::max(x_high, ep) : ep;
      any = true;
    };
    for (const ComparedRun& r : runs_) {
      for (const MetricsRow& m : r.run->metrics) extend(m.epoch);
      for (const EpochData& e : r.run->epochs) extend(e.epoch);
    }
    std::vector<Series> keys;  // one legend entry per run: its pattern in black, no points
    for (size_t i = 0; i < runs_.size(); ++i)
      keys.push_back({run_tag(i) + (runs_[i].run->metrics.empty() ? " (no metrics.jsonl)" : ""), {}, kBlack, 2, run_pattern(i)});
    const auto per_run = [&](const std::string& label, Rgb colour, const std::function<std::optional<double>(const MetricsRow&)>& value) {
      std::vector<Series> out;
      for (size_t i = 0; i < runs_.size(); ++i) {
        Series s{i == 0 ? label : "", {}, colour, 2, run_pattern(i)};
        for (const MetricsRow& m : runs_[i].run->metrics)
          if (const std::optional<double> v = value(m)) s.points.push_back({double(m.epoch), *v});
        out.push_back(s);
      }
      return out;
    };
    const auto both = [&](std::vector<Series> a, const std::vector<Series>& b) {
      a.insert(a.end(), b.begin(), b.end());
      a.insert(a.end(), keys.begin(), keys.end());
      return a;
    };
    std::vector<Series> loss = both(per_run("train loss", palette(0), [](const MetricsRow& m) { return std::optional<double>(m.train_loss); }),
                                    per_run("test loss", palette(1), [](const MetricsRow& m) { return std::optional<double>(m.test_loss); }));
    std::vector<Series> acc = both(per_run("train accuracy", palette(0), [](const MetricsRow& m) { return std::optional<double>(m.train_acc); }),
                                   per_run("test accuracy", palette(1), [](const MetricsRow& m) { return m.test_acc; }));
    std::vector<Series> rate = both(per_run("learning rate", palette(2), [](const MetricsRow& m) { return m.learning_rate; }), {});
    double high = 0;
    bool rates = false;
    for (const Series& s : rate)
      for (const Point& p : s.points) high = std::max(high, p.y), rates = true;
    std::vector<Series> stability;
    for (size_t i = 0; i < runs_.size(); ++i) {
      Series s{run_tag(i), {}, kBlack, 2, run_pattern(i)};
      for (const StabilityStep& step : runs_[i].stability)
        if (step.mean) s.points.push_back({double(step.to_epoch), *step.mean});
      if (s.points.empty()) s.label += " (fewer than two epochs with ζ)";
      stability.push_back(s);
    }
    std::vector<Panel> panels = {{"loss (cross-entropy)", loss, std::nullopt}, {"accuracy", acc, std::nullopt}};
    if (rates) panels.push_back({"learning rate (at each epoch's last step)", rate, std::make_pair(0.0, high > 0 ? 1.1 * high : 1.0)});
    panels.push_back({"ζ stability, mean over the layers (Spearman ρ)", stability, std::make_pair(-1.0, 1.0)});
    std::string title = "training compared —";
    for (size_t i = 0; i < runs_.size(); ++i) title += (i ? ", " : " ") + run_tag(i);
    epoch_panels("training." + format_, title, "x: epoch. Run A solid, each compared run in its own pattern (the legends' black lines)", panels,
                 x_low, x_high);
  }

  static std::vector<double> run_pattern(size_t i) {
    static const std::vector<double> kRunPatterns[] = {{}, {7, 4}, {2, 3}, {12, 3, 2, 3}, {5, 2, 1, 2, 1, 2}};  // report.js's RUN_DASHES after A's solid
    return kRunPatterns[i % (sizeof kRunPatterns / sizeof kRunPatterns[0])];
  }

  const std::vector<ComparedRun>& runs_;
};

}  // namespace

char compared_letter(size_t i) { return char('A' + i); }

Figures render_comparison(const std::vector<ComparedRun>& runs, const std::string& format, int scale) {
  return ComparisonWriter(runs, format, scale).render_all();
}

LineStyle layer_style(size_t l) {
  static const std::vector<double> kPatterns[] = {{}, {6, 3}, {1.5, 2.5}, {8, 3, 1.5, 3}};  // solid, dashed, dotted, dash-dot
  return {kLayerPalette[l % kLayerColors], kPatterns[(l / kLayerColors) % 4]};
}

std::vector<PathwayStep> pathway_steps(const EpochData& e, size_t flows_per_pair) {
  std::vector<PathwayStep> steps;
  auto is_shortcut = [&](int from, int to) {
    for (const PairTract& p : e.pairs)
      if (p.from == from && p.to == to && p.shortcut) return true;
    return false;
  };
  for (const PairTract& p : e.pairs) {
    std::vector<RegionFlow> flows = p.flows;
    std::stable_sort(flows.begin(), flows.end(), [](const RegionFlow& a, const RegionFlow& b) { return a.value > b.value; });
    flows.resize(std::min(flows.size(), flows_per_pair));
    for (const RegionFlow& f : flows)
      steps.push_back({-1, p.from, f.from, p.to, f.to, p.shortcut,
                       0.2 + 0.5 * (flows[0].value > 0 ? f.value / flows[0].value : 0)});
  }
  for (size_t k = 0; k < e.chains.size(); ++k) {
    const RegionChain& chain = e.chains[k];
    for (size_t s = 0; s + 1 < chain.layers.size(); ++s)
      steps.push_back({long(k), chain.layers[s], chain.regions[s], chain.layers[s + 1], chain.regions[s + 1],
                       is_shortcut(chain.layers[s], chain.layers[s + 1]), 1});
  }
  return steps;
}

namespace {
// "-" and the FNV-1a hash of text in 8 hex digits.
std::string hash_suffix(const std::string& text) {
  uint32_t hash = 2166136261u;
  for (unsigned char ch : text) hash = (hash ^ ch) * 16777619u;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "-%08x", unsigned(hash));
  return suffix;
}
}  // namespace

std::string file_safe(const std::string& name) {
  std::string out = name.empty() ? "_" : name;
  for (char& ch : out)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.')) ch = '_';
  if (out == "." || out == "..") out = "_";
  // a file name has at most 255 bytes: the start and a hash of the whole name
  if (out.size() > kMaxFileStem) out = out.substr(0, kMaxFileStem - 9) + hash_suffix(name);
  return out;
}

std::vector<std::string> file_stems(const std::vector<std::string>& layers) {
  std::vector<std::string> stems;
  std::set<std::string> taken;
  for (const std::string& name : layers) {
    std::string stem = file_safe(name);
    for (std::string salted = name; taken.count(stem); salted += '#')
      stem = stem.substr(0, std::min(stem.size(), kMaxFileStem - 9)) + hash_suffix(salted);
    taken.insert(stem);
    stems.push_back(stem);
  }
  return stems;
}

Figures render_figures(const RunData& run, const std::vector<StabilityStep>& stability, const std::string& format,
                       int scale) {
  if (format != "png" && format != "svg") throw base::Error("--format '" + format + "': expected png or svg");
  return FigureWriter(run, stability, format, scale).render_all();
}

void remove_figures_not_in(const std::string& dir, const std::string& folder, const Figures& figures) {
  namespace fs = std::filesystem;
  std::set<std::string> now;
  for (const Figure& f : figures.files) now.insert(f.path);
  const fs::path root = fs::path(dir) / folder;
  std::error_code ec;
  std::vector<std::string> stale;
  if (fs::is_directory(root, ec))
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      if (!it->is_regular_file(ec) || (ext != ".png" && ext != ".svg")) continue;
      if (!now.count(fs::relative(it->path(), dir, ec).generic_string())) stale.push_back(it->path().string());
    }
  for (const std::string& path : stale) run::remove_file(path);
}

void write_figures(const std::string& run_dir, const Figures& figures) {
  for (const Figure& f : figures.files) {
    const std::string path = run_dir + "/" + f.path;
    base::make_directories(path.substr(0, path.rfind('/')));
    base::write_file_atomic(path, f.bytes);
  }
}

}  // namespace report
