#include "report/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)

#include "base/format.h"
#include "base/error.h"

namespace report {
namespace {

// A quad of stb_easy_font, in glyph units relative to the text's origin.
struct GlyphQuad {
  float x0, y0, x1, y1;
};

// stb_easy_font emits 4 vertices of 16 bytes (x, y, z floats + RGBA) per quad.
std::vector<GlyphQuad> glyph_quads(const std::string& text) {
  std::vector<char> chars(text.begin(), text.end());
  chars.push_back('\0');
  std::vector<char> vertices(text.size() * 1200 + 64);  // ≥ the worst glyph's 18 quads × 64 bytes
  const int quads = stb_easy_font_print(0, 0, chars.data(), nullptr, vertices.data(), int(vertices.size()));
  std::vector<GlyphQuad> out;
  out.reserve(size_t(quads));
  for (int q = 0; q < quads; ++q) {
    float xs[4], ys[4];
    for (int v = 0; v < 4; ++v) {
      std::memcpy(&xs[v], vertices.data() + (q * 4 + v) * 16, sizeof(float));
      std::memcpy(&ys[v], vertices.data() + (q * 4 + v) * 16 + 4, sizeof(float));
    }
    out.push_back({*std::min_element(xs, xs + 4), *std::min_element(ys, ys + 4), *std::max_element(xs, xs + 4),
                   *std::max_element(ys, ys + 4)});
  }
  return out;
}

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

class RasterCanvas final : public Canvas {
 public:
  RasterCanvas(int width, int height, Rgb background) : Canvas(width, height), pixels_(size_t(width) * height * 3) {
    for (size_t i = 0; i < pixels_.size(); i += 3) {
      pixels_[i] = background.r;
      pixels_[i + 1] = background.g;
      pixels_[i + 2] = background.b;
    }
  }

  // Area coverage: each pixel gets opacity × the share of its square inside the rectangle.
  void fill_rect(double x, double y, double w, double h, Rgb color, double opacity) override {
    if (!clamp_coordinates({&x, &y, &w, &h}) || w <= 0 || h <= 0) return;
    const int px0 = std::max(0, int(std::floor(x))), px1 = std::min(width_, int(std::ceil(x + w)));
    const int py0 = std::max(0, int(std::floor(y))), py1 = std::min(height_, int(std::ceil(y + h)));
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
    for (Point& p : points)
      if (!clamp_coordinates({&p.x, &p.y})) return;
    if (points.size() < 2 || !clamp_coordinates({&lw})) return;
    const double reach = lw / 2 + 1;
    double x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
    for (const Point& p : points) {
      x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    }
    const int bx0 = std::max(0, int(std::floor(x0 - reach))), bx1 = std::min(width_, int(std::ceil(x1 + reach)));
    const int by0 = std::max(0, int(std::floor(y0 - reach))), by1 = std::min(height_, int(std::ceil(y1 + reach)));
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
    const int px0 = std::max(0, int(std::floor(cx - radius - 1))), px1 = std::min(width_, int(std::ceil(cx + radius + 1)));
    const int py0 = std::max(0, int(std::floor(cy - radius - 1))), py1 = std::min(height_, int(std::ceil(cy + radius + 1)));
    for (int py = py0; py < py1; ++py)
      for (int px = px0; px < px1; ++px)
        blend(px, py, color, std::clamp(radius + 0.5 - std::hypot(px + 0.5 - cx, py + 0.5 - cy), 0.0, 1.0));
  }

  void text(double x, double y, const std::string& text, Rgb color, double size, Anchor anchor) override {
    const std::string shown = drawable_text(text);
    const double left = anchored_x(x, text_width(shown, size), anchor);
    for (const GlyphQuad& q : glyph_quads(shown))
      fill_rect(left + q.x0 * size, y + q.y0 * size, (q.x1 - q.x0) * size, (q.y1 - q.y0) * size, color, 1);
  }

  std::string encode() const override {
    std::string png;
    auto append = [](void* context, void* data, int size) {
      static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
    };
    if (!stbi_write_png_to_func(append, &png, width_, height_, 3, pixels_.data(), width_ * 3))
      throw base::Error("PNG encoding of a " + std::to_string(width_) + "x" + std::to_string(height_) + " figure failed");
    return png;
  }

 private:
  void blend(int px, int py, Rgb c, double alpha) {
    if (alpha <= 0) return;
    if (alpha > 1) alpha = 1;
    uint8_t* p = &pixels_[(size_t(py) * width_ + px) * 3];
    const uint8_t src[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround(p[k] + (src[k] - p[k]) * alpha));
  }

  std::vector<uint8_t> pixels_;  // (height, width, 3) RGB
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
  SvgCanvas(int width, int height, Rgb background) : Canvas(width, height) {
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

  // The baseline sits under the 7-unit capitals; font-size 9.6·size gives DejaVu/Arial capitals of 7·size.
  void text(double x, double y, const std::string& text, Rgb color, double size, Anchor anchor) override {
    static const char* anchors[] = {"start", "middle", "end"};
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y + 7 * size) + "\" font-size=\"" + num(9.6 * size) +
             "\" text-anchor=\"" + anchors[int(anchor)] + "\" fill=\"" + hex(color) + "\">" +
             xml_escape(drawable_text(text)) + "</text>\n";
  }

  std::string encode() const override {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width_) + "\" height=\"" +
           std::to_string(height_) + "\" viewBox=\"0 0 " + std::to_string(width_) + " " + std::to_string(height_) +
           "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n" + body_ + "</svg>\n";
  }

 private:
  std::string body_;
};

}  // namespace

std::string drawable_text(const std::string& text) {
  static const std::pair<const char*, const char*> spelled[] = {
      {"\u2192", "->"}, {"\u03b6", "zeta"}, {"\u03c6", "phi"}, {"\u00d7", "x"}, {"\u2265", ">="}, {"\u2264", "<="}};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (out.size() >= kMaxFigureText) {
      out.resize(kMaxFigureText);
      return out + "...";
    }
    bool replaced = false;
    for (const auto& [utf8, ascii] : spelled)
      if (text.compare(i, std::strlen(utf8), utf8) == 0) {
        out += ascii;
        i += std::strlen(utf8);
        replaced = true;
        break;
      }
    if (replaced) continue;
    const unsigned char c = static_cast<unsigned char>(text[i++]);
    if (c >= 32 && c <= 126) {
      out += char(c);
    } else {
      out += '?';  // one '?' for a whole UTF-8 sequence: skip its continuation bytes
      while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    }
  }
  return out;
}

double text_width(const std::string& text, double size) {
  std::vector<char> chars;
  for (char c : drawable_text(text)) chars.push_back(c);
  chars.push_back('\0');
  return stb_easy_font_width(chars.data()) * size;
}

std::string figure_size_problem(int width, int height) {
  if (width >= 1 && height >= 1 && width <= kMaxFigureSide && height <= kMaxFigureSide &&
      (long long)width * height <= kMaxFigurePixels)
    return "";
  return std::to_string(width) + "x" + std::to_string(height) + " pixels, expected 1 to " + std::to_string(kMaxFigureSide) +
         " a side and at most " + std::to_string(kMaxFigurePixels) + " in all";
}

std::unique_ptr<Canvas> make_canvas(const std::string& format, int width, int height, Rgb background) {
  if (const std::string problem = figure_size_problem(width, height); !problem.empty())
    throw base::Error("figure size " + problem);
  if (format == "png") return std::make_unique<RasterCanvas>(width, height, background);
  if (format == "svg") return std::make_unique<SvgCanvas>(width, height, background);
  throw base::Error("--format '" + format + "': expected png or svg");
}

}  // namespace report
