// report/canvas.h — one drawing interface, two encoders: PNG (rasterised here, written with
// stb_image_write) and SVG (written as text here).
//
// Promise: a figure is drawn once against Canvas and comes out as either format with the same
// layout.  Coordinates are pixels, x to the right, y down, (0, 0) the top-left corner.  Text is
// stb_easy_font's ASCII glyphs; →, ζ, φ, ×, ≥, ≤ are spelled ->, zeta, phi, x, >=, <= and any other
// non-ASCII character is drawn as '?'.  Text is data-borne (model and layer names), so a text longer
// than kMaxFigureText characters is cut there and ends in "...".  `size` scales the 7-pixel-tall capitals, so a line of text
// is 12·size pixels high, and text_width() gives its width in either format.
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

 protected:
  int width_, height_;
};

// A figure has at most kMaxFigureSide pixels a side and kMaxFigurePixels in all (96 MiB of RGB).
constexpr int kMaxFigureSide = 20000;
constexpr long long kMaxFigurePixels = 1LL << 25;
constexpr size_t kMaxFigureText = 200;
// "" when a width × height figure is within those limits, else "WxH pixels, expected …".
std::string figure_size_problem(int width, int height);

// format "png" or "svg" (anything else throws base::Error naming --format); filled with `background`.
// A size with a figure_size_problem throws base::Error.
std::unique_ptr<Canvas> make_canvas(const std::string& format, int width, int height, Rgb background = {255, 255, 255});

double text_width(const std::string& text, double size = 2);
constexpr double text_height(double size = 2) { return 12 * size; }

// The text as drawn: printable ASCII kept, every other byte (UTF-8 included) replaced by '?', at most
// kMaxFigureText characters and "...".
std::string drawable_text(const std::string& text);

}  // namespace report
