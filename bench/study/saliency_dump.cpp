// bench/study/saliency_dump.cpp — the gradient baselines of README "Gradient baselines" (imaging/saliency.h) on the
// first N test images of DATA, as JSON on stdout, for bench/errors_recompute.py's `saliency` check:
//
//   saliency_dump CKPT DATA BLOCK GRID N  >  saliency.json
//
// {"block", "grid": [GH, GW, GC], "indices": [0 … N−1], "gradcam": N×n, "grad_times_activation": N×n,
//  "gradcam_map": N×(H·W), "gradcam_pixels": N×(input H·W)}, numbers with 17 significant digits;
// gradcam_pixels is each image's gradcam region values projected onto the input (run::project_to_pixels over
// NetView::input_span, README "Per-image maps on the pixels").  THREADS (1) sets the thread count.
#include <omp.h>

#include <cblas.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "imaging/net_view.h"
#include "imaging/saliency.h"
#include "nn/checkpoint.h"
#include "run/region_grid.h"

namespace {
void rows(const char* name, const std::vector<double>& v, size_t width) {
  std::printf("\"%s\": [", name);
  for (size_t i = 0; i < v.size(); ++i)
    std::printf("%s%.17g%s", i % width == 0 ? (i ? "], [" : "[") : ", ", v[i], i + 1 == v.size() ? "]" : "");
  std::printf("]");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return std::fprintf(stderr, "usage: saliency_dump CKPT DATA BLOCK GRID N\n"), 2;
  const int threads = std::getenv("THREADS") ? std::atoi(std::getenv("THREADS")) : 1;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  nn::Checkpoint ck = nn::load_checkpoint(argv[1]);
  const datasets::DataSplit data = datasets::load_dataset(argv[2]);
  const nn::LabeledImages test = data.test.view();
  const int block = ck.net->find_block(argv[3]);
  if (block < 0) return std::fprintf(stderr, "no block %s\n", argv[3]), 2;
  const imaging::NetView view(*ck.net);
  const nn::Shape out = view.block(block).output;
  const run::RegionGrid grid(out.h, out.w, out.c, imaging::block_grid(*ck.net, block, run::parse_grid_spec(argv[4])));
  const size_t N = std::min(size_t(std::atol(argv[5])), size_t(test.count));
  std::vector<uint32_t> idx(N);
  std::iota(idx.begin(), idx.end(), 0u);
  const imaging::SaliencyScores s = imaging::saliency_scores(*ck.net, block, grid, test, idx);
  const size_t n = s.gradcam.size() / N, hw = s.gradcam_map.size() / N;
  std::vector<std::array<int, 2>> row_spans, col_spans;
  for (int i = 0; i < grid.gh; ++i) row_spans.push_back(view.input_span(block, true, grid.rows(i).begin, grid.rows(i).end));
  for (int j = 0; j < grid.gw; ++j) col_spans.push_back(view.input_span(block, false, grid.cols(j).begin, grid.cols(j).end));
  const int H = test.height, W = test.width;
  std::vector<double> pixels;
  for (size_t x = 0; x < N; ++x) {
    const std::vector<double> v(s.gradcam.begin() + long(x * n), s.gradcam.begin() + long((x + 1) * n));
    const std::vector<double> m = run::project_to_pixels(v, grid, row_spans, col_spans, H, W);
    pixels.insert(pixels.end(), m.begin(), m.end());
  }
  std::printf("{\"block\": \"%s\", \"grid\": [%d, %d, %d], \"indices\": [", argv[3], grid.gh, grid.gw, grid.gc);
  for (size_t i = 0; i < N; ++i) std::printf("%s%zu", i ? ", " : "", i);
  std::printf("],\n");
  rows("gradcam", s.gradcam, n);
  std::printf(",\n");
  rows("grad_times_activation", s.grad_times_activation, n);
  std::printf(",\n");
  rows("gradcam_map", s.gradcam_map, hw);
  std::printf(",\n");
  rows("gradcam_pixels", pixels, size_t(H) * W);
  std::printf("}\n");
  return 0;
}
