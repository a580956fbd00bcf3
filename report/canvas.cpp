#include "report/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#include <stb/stb_truetype.h>  // implemented by libstb (-lstb)
#include <zlib.h>

#include "base/format.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/text.h"

namespace report {
namespace {

// DejaVu Sans, loaded once (the report is single-threaded; a static local is initialised once anyway).
class Font {
 public:
  explicit Font(const std::string& path) {
    try {
      bytes_ = base::read_file(path);
    } catch (const base::Error&) {
      throw base::Error("font " + path + ": cannot be read; figures need DejaVu Sans (Debian package fonts-dejavu-core, `make deps`)");
    }
    const auto* data = reinterpret_cast<const unsigned char*>(bytes_.data());
    if (stbtt_GetFontOffsetForIndex(data, 0) < 0 || !stbtt_InitFont(&info_, data, stbtt_GetFontOffsetForIndex(data, 0)))
      throw base::Error("font " + path + ": not a TrueType font (expected DejaVu Sans from fonts-dejavu-core)");
  }
  const stbtt_fontinfo& info() const { return info_; }
  // stb_truetype's scale for an em of `em` pixels (CSS font-size).
  float scale(double em) const { return stbtt_ScaleForMappingEmToPixels(&info_, float(em)); }
  int glyph(uint32_t codepoint) const { return stbtt_FindGlyphIndex(&info_, int(codepoint)); }
  // Advance of `glyph` followed by `next` (0: none), kerning included, in font units.
  int advance(int glyph, int next) const {
    int advance = 0, bearing = 0;
    stbtt_GetGlyphHMetrics(&info_, glyph, &advance, &bearing);
    return advance + (next ? stbtt_GetGlyphKernAdvance(&info_, glyph, next) : 0);
  }

 private:
  std::string bytes_;  // stbtt_fontinfo points into it
  stbtt_fontinfo info_;
};

const Font& figure_font() {
  static const Font font(kFontPath);
  return font;
}

// The code points of UTF-8 text, each sequence's length as base::utf8_sequence_length reads it
// (drawable_text's output is well-formed; a byte that starts no sequence would be one '?').
std::vector<uint32_t> code_points(const std::string& text) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < text.size();) {
    const size_t length = base::utf8_sequence_length(text, i);
    if (length == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    out.push_back(base::utf8_code_point(text, i, length));
    i += length;
  }
  return out;
}

// The glyphs of drawable text.
std::vector<int> glyphs(const std::string& shown) {
  std::vector<int> out;
  for (uint32_t cp : code_points(shown)) out.push_back(figure_font().glyph(cp));
  return out;
}

// The em (CSS font-size) in pixels of text size `size`: DejaVu's capitals are 0.729 em, so 9.6·size
// gives capitals of 7·size, with the baseline 7·size below the line's top and 12·size per line.
constexpr double kEmPerSize = 9.6, kBaselinePerSize = 7;

// Coordinates come from data (a loss of 1e308 on a plot axis): a shape with a coordinate that is not
// finite is not drawn, and finite ones are clamped to ±kFar before any floor/ceil/int, because
// converting a double beyond int's range to int is undefined.
constexpr double kFar = 1e7;
bool clamp_coordinates(std::initializer_list<double*> values) {
  for (double* v : values) {
    if (!std::isfinite(*v)) return false;
    *v = std::clamp(*v, -kFar, kFar);
  }
  return true;
}

double anchored_x(double x, double width, Anchor anchor) {
  return anchor == Anchor::start ? x : anchor == Anchor::middle ? x - width / 2 : x - width;
}

// Distance from p to the segment a–b.
double segment_distance(Point p, Point a, Point b) {
  const double dx = b.x - a.x, dy = b.y - a.y, length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

// A PNG of 8-bit RGB pixels (PNG specification, 2nd edition): the signature, IHDR, one IDAT, IEND,
// each chunk's CRC-32 from zlib. Every row has filter 0 (None) and the rows are deflated by zlib at
// its default level: on `make run`'s figures (flat colours, anti-aliased edges and text) that was
// both the smallest and among the fastest of the filters and levels measured (bench/README.md,
// "Figures: PNG encoding"). The rows stream through deflate, so no copy of the image is made.
std::string encode_png(const std::vector<uint8_t>& pixels, int width, int height) {
  const size_t row = size_t(width) * 3;
  auto failed = [&] {
    return base::Error("PNG encoding of a " + std::to_string(width) + "x" + std::to_string(height) + " figure failed (zlib)");
  };
  z_stream z{};
  if (deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK) throw failed();
  std::string deflated;
  unsigned char buffer[1 << 16];
  // zlib's own loop (zpipe.c): deflate until it leaves room in the output, which means it took all input.
  auto feed = [&](const uint8_t* data, size_t size, int flush) {
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = uInt(size);
    int status;
    do {
      z.next_out = buffer;
      z.avail_out = sizeof buffer;
      status = deflate(&z, flush);
      if (status == Z_STREAM_ERROR) return false;
      deflated.append(reinterpret_cast<const char*>(buffer), sizeof buffer - z.avail_out);
    } while (z.avail_out == 0);
    return z.avail_in == 0 && (flush != Z_FINISH || status == Z_STREAM_END);
  };
  const uint8_t filter_none = 0;
  bool ok = true;
  for (int y = 0; y < height && ok; ++y)
    ok = feed(&filter_none, 1, Z_NO_FLUSH) && feed(pixels.data() + row * size_t(y), row, Z_NO_FLUSH);
  ok = ok && feed(nullptr, 0, Z_FINISH);
  deflateEnd(&z);
  if (!ok) throw failed();

  auto put32 = [](std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char((v >> shift) & 0xff));
  };
  std::string png("\x89PNG\r\n\x1a\n", 8);
  auto chunk = [&](const char* type, const std::string& data) {
    put32(png, uint32_t(data.size()));
    const size_t start = png.size();
    png.append(type, 4);
    png += data;
    put32(png, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(png.data()) + start, uInt(png.size() - start))));
  };
  std::string header;
  put32(header, uint32_t(width));
  put32(header, uint32_t(height));
  header.append("\x08\x02\x00\x00\x00", 5);  // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
  chunk("IHDR", header);
  chunk("IDAT", deflated);
  chunk("IEND", "");
  return png;
}

class RasterCanvas final : public Canvas {
 public:
  RasterCanvas(int width, int height, Rgb background, int scale)
      : Canvas(width, height), scale_(scale), pixels_(size_t(width) * scale * height * scale * 3) {
    for (size_t i = 0; i < pixels_.size(); i += 3) {
      pixels_[i] = background.r;
      pixels_[i + 1] = background.g;
      pixels_[i + 2] = background.b;
    }
  }

  // Area coverage: each pixel gets opacity × the share of its square inside the rectangle.
  void fill_rect(double x, double y, double w, double h, Rgb color, double opacity) override {
    if (!clamp_coordinates({&x, &y, &w, &h}) || w <= 0 || h <= 0) return;
    x *= scale_, y *= scale_, w *= scale_, h *= scale_;
    const int px0 = std::max(0, int(std::floor(x))), px1 = std::min(pixel_width(), int(std::ceil(x + w)));
    const int py0 = std::max(0, int(std::floor(y))), py1 = std::min(pixel_height(), int(std::ceil(y + h)));
    for (int py = py0; py < py1; ++py) {
      const double cover_y = std::min(double(py + 1), y + h) - std::max(double(py), y);
      for (int px = px0; px < px1; ++px) {
        const double cover_x = std::min(double(px + 1), x + w) - std::max(double(px), x);
        blend(px, py, color, opacity * cover_x * cover_y);
      }
    }
  }

  void stroke_rect(double x, double y, double w, double h, Rgb color, double lw) override {
    fill_rect(x, y, w, lw, color, 1);
    fill_rect(x, y + h - lw, w, lw, color, 1);
    fill_rect(x, y + lw, lw, h - 2 * lw, color, 1);
    fill_rect(x + w - lw, y + lw, lw, h - 2 * lw, color, 1);
  }

  // Coverage of a pixel centre at distance d from the centre line: clamp(lw/2 + 1/2 − d, 0, 1),
  // maximised over the segments so that joints are not blended twice.
  void polyline(const std::vector<Point>& given, Rgb color, double lw, double opacity) override {
    std::vector<Point> points = given;
    for (Point& p : points) {
      if (!clamp_coordinates({&p.x, &p.y})) return;
      p.x *= scale_, p.y *= scale_;
    }
    if (points.size() < 2 || !clamp_coordinates({&lw})) return;
    lw *= scale_;
    const double reach = lw / 2 + 1;
    double x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
    for (const Point& p : points) {
      x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    }
    const int bx0 = std::max(0, int(std::floor(x0 - reach))), bx1 = std::min(pixel_width(), int(std::ceil(x1 + reach)));
    const int by0 = std::max(0, int(std::floor(y0 - reach))), by1 = std::min(pixel_height(), int(std::ceil(y1 + reach)));
    if (bx0 >= bx1 || by0 >= by1) return;
    const int bw = bx1 - bx0;
    std::vector<double> coverage(size_t(bw) * (by1 - by0), 0.0);
    for (size_t s = 0; s + 1 < points.size(); ++s) {
      const Point a = points[s], b = points[s + 1];
      const int sx0 = std::max(bx0, int(std::floor(std::min(a.x, b.x) - reach)));
      const int sx1 = std::min(bx1, int(std::ceil(std::max(a.x, b.x) + reach)));
      const int sy0 = std::max(by0, int(std::floor(std::min(a.y, b.y) - reach)));
      const int sy1 = std::min(by1, int(std::ceil(std::max(a.y, b.y) + reach)));
      for (int py = sy0; py < sy1; ++py)
        for (int px = sx0; px < sx1; ++px) {
          const double c = std::clamp(lw / 2 + 0.5 - segment_distance({px + 0.5, py + 0.5}, a, b), 0.0, 1.0);
          double& cell = coverage[size_t(py - by0) * bw + (px - bx0)];
          cell = std::max(cell, c);
        }
    }
    for (int py = by0; py < by1; ++py)
      for (int px = bx0; px < bx1; ++px) blend(px, py, color, opacity * coverage[size_t(py - by0) * bw + (px - bx0)]);
  }

  void disc(double cx, double cy, double radius, Rgb color) override {
    if (!clamp_coordinates({&cx, &cy, &radius})) return;
    cx *= scale_, cy *= scale_, radius *= scale_;
    const int px0 = std::max(0, int(std::floor(cx - radius - 1))), px1 = std::min(pixel_width(), int(std::ceil(cx + radius + 1)));
    const int py0 = std::max(0, int(std::floor(cy - radius - 1))), py1 = std::min(pixel_height(), int(std::ceil(cy + radius + 1)));
    for (int py = py0; py < py1; ++py)
      for (int px = px0; px < px1; ++px)
        blend(px, py, color, std::clamp(radius + 0.5 - std::hypot(px + 0.5 - cx, py + 0.5 - cy), 0.0, 1.0));
  }

  // Each glyph rasterised by stb_truetype at its sub-pixel position (anti-aliased coverage).
  void text(double x, double y, const std::string& text, Rgb color, double size, Anchor anchor) override {
    const std::string shown = drawable_text(text);
    if (!clamp_coordinates({&x, &y, &size}) || size <= 0) return;
    const Font& font = figure_font();
    const float scale = font.scale(kEmPerSize * size * scale_);
    const std::vector<int> g = glyphs(shown);
    double pen = anchored_x(x, text_width(shown, size), anchor) * scale_;
    const double baseline = (y + kBaselinePerSize * size) * scale_;
    const int base_y = int(std::floor(baseline));
    const float shift_y = float(baseline - base_y);
    std::vector<unsigned char> bitmap;
    for (size_t i = 0; i < g.size(); ++i) {
      const int left = int(std::floor(pen));
      const float shift_x = float(pen - left);
      int x0, y0, x1, y1;
      stbtt_GetGlyphBitmapBoxSubpixel(&font.info(), g[i], scale, scale, shift_x, shift_y, &x0, &y0, &x1, &y1);
      const int w = x1 - x0, h = y1 - y0;
      if (w > 0 && h > 0) {
        bitmap.assign(size_t(w) * h, 0);
        stbtt_MakeGlyphBitmapSubpixel(&font.info(), bitmap.data(), w, h, w, scale, scale, shift_x, shift_y, g[i]);
        for (int row = 0; row < h; ++row)
          for (int col = 0; col < w; ++col) {
            const int px = left + x0 + col, py = base_y + y0 + row;
            if (px >= 0 && px < pixel_width() && py >= 0 && py < pixel_height())
              blend(px, py, color, bitmap[size_t(row) * w + col] / 255.0);
          }
      }
      pen += font.advance(g[i], i + 1 < g.size() ? g[i + 1] : 0) * double(scale);
    }
  }

  std::string encode() const override { return encode_png(pixels_, pixel_width(), pixel_height()); }

 private:
  int pixel_width() const { return width_ * scale_; }
  int pixel_height() const { return height_ * scale_; }

  void blend(int px, int py, Rgb c, double alpha) {
    if (alpha <= 0) return;
    uint8_t* p = &pixels_[(size_t(py) * pixel_width() + px) * 3];
    const uint8_t src[3] = {c.r, c.g, c.b};
    if (alpha >= 1) {  // what the rounding below gives at alpha 1, without it
      std::memcpy(p, src, 3);
      return;
    }
    for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround(p[k] + (src[k] - p[k]) * alpha));
  }

  int scale_;                    // pixels per figure unit
  std::vector<uint8_t> pixels_;  // (height·scale, width·scale, 3) RGB
};

// A number for SVG: two decimals, trailing zeros dropped.
std::string num(double v) {
  std::string s = base::format("%.2f", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string opacity_attribute(double opacity) { return opacity < 1 ? " opacity=\"" + num(opacity) + "\"" : ""; }

class SvgCanvas final : public Canvas {
 public:
  SvgCanvas(int width, int height, Rgb background, int scale) : Canvas(width, height), scale_(scale) {
    body_ = "<rect width=\"" + std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" fill=\"" +
            hex(background) + "\"/>\n";
  }

  void fill_rect(double x, double y, double w, double h, Rgb color, double opacity) override {
    if (w <= 0 || h <= 0) return;
    body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
             "\" fill=\"" + hex(color) + "\"" + opacity_attribute(opacity) + "/>\n";
  }

  void stroke_rect(double x, double y, double w, double h, Rgb color, double lw) override {
    body_ += "<rect x=\"" + num(x + lw / 2) + "\" y=\"" + num(y + lw / 2) + "\" width=\"" + num(w - lw) +
             "\" height=\"" + num(h - lw) + "\" fill=\"none\" stroke=\"" + hex(color) + "\" stroke-width=\"" + num(lw) +
             "\"/>\n";
  }

  void polyline(const std::vector<Point>& points, Rgb color, double lw, double opacity) override {
    if (points.size() < 2) return;
    body_ += "<polyline fill=\"none\" stroke=\"" + hex(color) + "\" stroke-width=\"" + num(lw) +
             "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"" + opacity_attribute(opacity) + " points=\"";
    for (size_t i = 0; i < points.size(); ++i) body_ += (i ? " " : "") + num(points[i].x) + "," + num(points[i].y);
    body_ += "\"/>\n";
  }

  void disc(double cx, double cy, double radius, Rgb color) override {
    body_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(radius) + "\" fill=\"" + hex(color) +
             "\"/>\n";
  }

  // The PNG's layout: the baseline kBaselinePerSize·size below the line's top, an em of kEmPerSize·size.
  void text(double x, double y, const std::string& text, Rgb color, double size, Anchor anchor) override {
    static const char* anchors[] = {"start", "middle", "end"};
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y + kBaselinePerSize * size) + "\" font-size=\"" + num(kEmPerSize * size) +
             "\" text-anchor=\"" + anchors[int(anchor)] + "\" fill=\"" + hex(color) + "\">" +
             xml_escape(drawable_text(text)) + "</text>\n";
  }

  std::string encode() const override {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width_ * scale_) + "\" height=\"" +
           std::to_string(height_ * scale_) + "\" viewBox=\"0 0 " + std::to_string(width_) + " " + std::to_string(height_) +
           "\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n" + body_ + "</svg>\n";
  }

 private:
  int scale_;  // the width and height attributes are the figure's times this; the viewBox is the figure
  std::string body_;
};

}  // namespace

std::string drawable_text(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (out.size() >= kMaxFigureText) return out + "...";
    // One well-formed UTF-8 sequence (base::utf8_sequence_length: 0 for an overlong form, a surrogate, a
    // code point past U+10FFFF or a missing continuation byte).
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t length = base::utf8_sequence_length(text, i);
    const bool printable = length > 1 || (length == 1 && c >= 32 && c <= 126);
    if (printable && figure_font().glyph(base::utf8_code_point(text, i, length)) != 0) {
      out.append(text, i, length);
    } else {
      out += '?';  // one '?' for a whole sequence: skip its continuation bytes
      ++i;
      while (i < text.size() && base::utf8_continuation(text, i)) ++i;
      continue;
    }
    i += length;
  }
  return out;
}

double text_width(const std::string& text, double size) {
  const Font& font = figure_font();
  const std::vector<int> g = glyphs(drawable_text(text));
  long units = 0;
  for (size_t i = 0; i < g.size(); ++i) units += font.advance(g[i], i + 1 < g.size() ? g[i + 1] : 0);
  return units * double(font.scale(kEmPerSize * size));
}

void require_figure_font() { figure_font(); }

std::string figure_size_problem(int width, int height) {
  if (width >= 1 && height >= 1 && width <= kMaxFigureSide && height <= kMaxFigureSide &&
      (long long)width * height <= kMaxFigurePixels)
    return "";
  return std::to_string(width) + "x" + std::to_string(height) + " pixels, expected 1 to " + std::to_string(kMaxFigureSide) +
         " a side and at most " + std::to_string(kMaxFigurePixels) + " in all";
}

void Canvas::dashed_line(double x0, double y0, double x1, double y1, Rgb color, double line_width, double opacity,
                         double dash, double gap) {
  const double length = std::hypot(x1 - x0, y1 - y0);
  if (!std::isfinite(length) || !(dash > 0) || !(gap >= 0)) return;
  if (length / (dash + gap) > 1e5) return line(x0, y0, x1, y1, color, line_width, opacity);  // no figure is that long
  const double ux = length > 0 ? (x1 - x0) / length : 0, uy = length > 0 ? (y1 - y0) / length : 0;
  for (double t = 0; t < length; t += dash + gap) {
    const double end = std::min(length, t + dash);
    line(x0 + ux * t, y0 + uy * t, x0 + ux * end, y0 + uy * end, color, line_width, opacity);
  }
}

void Canvas::patterned_polyline(const std::vector<Point>& points, const std::vector<double>& pattern, Rgb color,
                                double line_width) {
  double period = 0;
  bool usable = pattern.size() >= 2;
  for (double v : pattern) usable = usable && std::isfinite(v) && v > 0, period += v;
  if (!usable) return polyline(points, color, line_width);
  size_t phase = 0;    // the pattern's entry we are in
  double left = pattern[0];  // what remains of it
  for (size_t i = 1; i < points.size(); ++i) {
    const Point a = points[i - 1], b = points[i];
    const double length = std::hypot(b.x - a.x, b.y - a.y);
    if (!std::isfinite(length) || length / period > 1e5) continue;
    const double ux = length > 0 ? (b.x - a.x) / length : 0, uy = length > 0 ? (b.y - a.y) / length : 0;
    for (double t = 0; t < length;) {
      const double end = std::min(length, t + left);
      if (phase % 2 == 0) line(a.x + ux * t, a.y + uy * t, a.x + ux * end, a.y + uy * end, color, line_width);
      left -= end - t;
      t = end;
      if (left <= 1e-9) phase = (phase + 1) % pattern.size(), left = pattern[phase];
    }
  }
}

std::unique_ptr<Canvas> make_canvas(const std::string& format, int width, int height, Rgb background, int scale) {
  if (scale < 1 || scale > kMaxFigureScale)
    throw base::Error("--scale " + std::to_string(scale) + ": expected 1 to " + std::to_string(kMaxFigureScale));
  const long long pixels_per_unit = format == "svg" ? 1 : scale;  // an SVG has no pixels: its layout is checked
  if (const std::string problem = figure_size_problem(int(std::min<long long>((long long)width * pixels_per_unit, 1LL << 30)),
                                                      int(std::min<long long>((long long)height * pixels_per_unit, 1LL << 30)));
      !problem.empty())
    throw base::Error("figure size " + problem);
  if (format == "png") return std::make_unique<RasterCanvas>(width, height, background, scale);
  if (format == "svg") return std::make_unique<SvgCanvas>(width, height, background, scale);
  throw base::Error("--format '" + format + "': expected png or svg");
}

}  // namespace report
