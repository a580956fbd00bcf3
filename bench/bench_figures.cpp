// bench/bench_figures.cpp — encoding a report figure as PNG (report/canvas.h).
//
// What is measured: Canvas::encode() of one figure shaped like the report's conv1 ζ map (724×330
// units at --scale 1 and 4: four tiles of 8×8 squares coloured by the diverging colour map, titles,
// axis numbers and a colour bar), drawn once; only the encoding is timed.  Beside it, the baseline:
// stb_image_write's PNG encoder (the report's former encoder) on the same pixels, decoded
// back from nnfmri's PNG.  Counters: megapixels/s per wall-clock second and the PNG's bytes.
#include <benchmark/benchmark.h>
#include <stb/stb_image.h>        // implemented by libstb (-lstb)
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "report/canvas.h"
#include "report/colormap.h"

namespace {

std::unique_ptr<report::Canvas> map_figure(int scale) {
  auto canvas = report::make_canvas("png", 724, 330, {255, 255, 255}, scale);
  canvas->text(16, 10, "conv1 \u2014 \u03b6 map, epoch 10", {20, 20, 20}, 2.4);
  canvas->text(16, 38, "reference on cifar10, run main", {90, 90, 90}, 1.6);
  for (int tile = 0; tile < 4; ++tile) {
    const double x0 = 30 + tile * 172, y0 = 90;
    canvas->text(x0, y0 - 22, "ch " + std::to_string(tile * 8 + 1) + "\u2013" + std::to_string(tile * 8 + 8), {60, 60, 60}, 1.5);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        const double t = std::sin(0.7 * i + 1.3 * j + tile) * std::cos(0.4 * i - 0.2 * j);
        canvas->fill_rect(x0 + j * 20, y0 + i * 20, 20, 20, report::diverging_color(t));
      }
    canvas->stroke_rect(x0, y0, 160, 160, {180, 180, 180}, 1);
    for (int k = 0; k < 8; ++k) canvas->text(x0 + k * 20 + 7, y0 + 164, std::to_string(k + 1), {90, 90, 90}, 1.2);
  }
  for (int k = 0; k < 200; ++k) canvas->fill_rect(16 + k * 1.5, 290, 1.5, 12, report::diverging_color(k / 99.5 - 1));
  canvas->text(16, 306, "-4.43", {20, 20, 20}, 1.5);
  canvas->text(316, 306, "4.43", {20, 20, 20}, 1.5, report::Anchor::end);
  return canvas;
}

void BM_FigurePng(benchmark::State& state) {
  const auto canvas = map_figure(int(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string png = canvas->encode();
    bytes = png.size();
    benchmark::DoNotOptimize(png.data());
  }
  const double pixels = 724.0 * 330.0 * double(state.range(0) * state.range(0));
  state.counters["Mpixel/s"] = benchmark::Counter(pixels * 1e-6 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes"] = double(bytes);
}

void BM_FigurePngStbBaseline(benchmark::State& state) {
  const std::string ours = map_figure(int(state.range(0)))->encode();
  int w = 0, h = 0, n = 0;
  unsigned char* decoded = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(ours.data()), int(ours.size()), &w, &h, &n, 3);
  if (!decoded) {
    state.SkipWithError("the figure's PNG did not decode");
    return;
  }
  const std::vector<unsigned char> pixels(decoded, decoded + size_t(w) * size_t(h) * 3);
  stbi_image_free(decoded);
  auto append = [](void* context, void* data, int size) { static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size)); };
  size_t bytes = 0;
  for (auto _ : state) {
    std::string png;
    stbi_write_png_to_func(append, &png, w, h, 3, pixels.data(), w * 3);
    bytes = png.size();
    benchmark::DoNotOptimize(png.data());
  }
  state.counters["Mpixel/s"] = benchmark::Counter(double(w) * double(h) * 1e-6 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes"] = double(bytes);
}

BENCHMARK(BM_FigurePngStbBaseline)->Name("report/figure_png/stb_baseline")->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FigurePng)->Name("report/figure_png/zlib")->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
