// report/canvas.h — one drawing interface, two encoders: PNG (rasterised here, deflated with
// zlib) and SVG (written as text here).
//
// Promise: a figure is drawn once against Canvas and comes out as either format with the same
// layout.  Coordinates are figure units, x to the right, y down, (0, 0) the top-left corner; a PNG has
// `scale` pixels per unit, an SVG says width and height × scale over a viewBox of the figure's units.
// Text is DejaVu Sans (kFontPath, Debian's fonts-dejavu-core), rasterised with stb_truetype for PNG
// and written as real <text> (UTF-8, the same font named) for SVG.  Any character the font has is
// drawn (ζ, φ, →, ×, ≥, Greek, accents); control characters, invalid UTF-8 and characters the font
// lacks become '?'.  Text is data-borne (model and layer names), so a text longer than
// kMaxFigureText bytes is cut there and ends in "...".  `size` gives capitals 7·size units tall (an
// em of 9.6·size), a line of text is 12·size high, and text_width() gives its width in either format.
// A missing or unreadable font file is a base::Error naming it and the package (no fallback: a figure
// without its font would not be the documented figure).
// Drawing is deterministic: the same calls give the same bytes (no time stamps, no randomness;
// the raster uses double arithmetic in a fixed order with area/distance anti-aliasing).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "report/colormap.h"

namespace report {

struct Point {
  double x = 0, y = 0;
};

enum class Anchor { start, middle, end };  // where (x, y) sits on a line of text: left, centre, right

class Canvas {
 public:
  Canvas(int width, int height) : width_(width), height_(height) {}
  virtual ~Canvas() = default;
  int width() const { return width_; }
  int height() const { return height_; }

  virtual void fill_rect(double x, double y, double w, double h, Rgb color, double opacity = 1) = 0;
  // A frame of the given line width drawn inside the rectangle.
  virtual void stroke_rect(double x, double y, double w, double h, Rgb color, double line_width) = 0;
  virtual void polyline(const std::vector<Point>& points, Rgb color, double line_width, double opacity = 1) = 0;
  virtual void disc(double cx, double cy, double radius, Rgb color) = 0;
  // (x, y): the top of the text line, at its left end, centre or right end (anchor).
  virtual void text(double x, double y, const std::string& text, Rgb color, double size = 2,
                    Anchor anchor = Anchor::start) = 0;
  // The encoded file: PNG bytes or SVG text.
  virtual std::string encode() const = 0;

  void line(double x0, double y0, double x1, double y1, Rgb color, double line_width, double opacity = 1) {
    polyline({{x0, y0}, {x1, y1}}, color, line_width, opacity);
  }
  // A dashed line: from (x0, y0), dashes of `dash` units separated by gaps of `gap` units (the last
  // dash cut at (x1, y1)); each dash is a line, so both formats draw the same pattern.
  void dashed_line(double x0, double y0, double x1, double y1, Rgb color, double line_width, double opacity = 1,
                   double dash = 6, double gap = 4);
  // A polyline drawn with a repeating pattern of on/off lengths (on, off, on, off, …; empty or any
  // length not above 0: solid), the pattern running on across its joints, each "on" piece a line.
  void patterned_polyline(const std::vector<Point>& points, const std::vector<double>& pattern, Rgb color, double line_width);

 protected:
  int width_, height_;
};

// A figure has at most kMaxFigureSide pixels a side and kMaxFigurePixels in all (96 MiB of RGB).
constexpr int kMaxFigureSide = 20000;
constexpr long long kMaxFigurePixels = 1LL << 25;
constexpr size_t kMaxFigureText = 200;
constexpr int kMaxFigureScale = 8;  // --scale
constexpr const char* kFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
// "" when a width × height figure is within those limits, else "WxH pixels, expected …".
std::string figure_size_problem(int width, int height);

// format "png" or "svg" (anything else throws base::Error naming --format); filled with `background`;
// `scale` pixels per unit, 1 … kMaxFigureScale (else base::Error naming --scale).  A size with a
// figure_size_problem (a PNG's scaled size, an SVG's layout size) throws base::Error.
std::unique_ptr<Canvas> make_canvas(const std::string& format, int width, int height, Rgb background = {255, 255, 255},
                                    int scale = 1);
// Loads the font (base::Error when it cannot: see above), so that a report fails before any work.
void require_figure_font();

double text_width(const std::string& text, double size = 2);
constexpr double text_height(double size = 2) { return 12 * size; }

// The text as drawn: printable ASCII and every UTF-8 character the font has kept, anything else one
// '?', at most kMaxFigureText bytes and "...".
std::string drawable_text(const std::string& text);

}  // namespace report
