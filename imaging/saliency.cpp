// imaging/saliency.cpp — Grad-CAM and gradient × activation per region (imaging/saliency.h).
#include "imaging/saliency.h"

#include <algorithm>

#include "base/error.h"
#include "nn/trainer.h"

namespace imaging {

SaliencyScores saliency_scores(nn::Network& net, int block, const run::RegionGrid& grid, const nn::LabeledImages& data,
                               const std::vector<uint32_t>& indices, int chunk) {
  if (block < 0 || block >= int(net.blocks().size()))
    throw base::Error("saliency: block index " + std::to_string(block) + " is not a block of the net");
  const nn::Shape s = net.blocks()[size_t(block)].output_shape;
  const int C = s.c, H = s.h, W = s.w, n = grid.count(), K = net.num_outputs();
  if (grid.height != H || grid.width != W || grid.channels != C)
    throw base::Error("saliency: the grid does not cut block " + net.blocks()[size_t(block)].name);
  const size_t N = indices.size(), HW = size_t(H) * W;
  SaliencyScores out;
  out.gradcam.assign(N * size_t(n), 0.0);
  out.grad_times_activation.assign(N * size_t(n), 0.0);
  out.gradcam_map.assign(N * HW, 0.0);
  nn::Tensor x, dlogits;
  std::vector<uint8_t> y;
  std::vector<double> alpha(static_cast<size_t>(C));
  for (size_t first = 0; first < N; first += size_t(chunk)) {
    const int count = int(std::min<size_t>(size_t(chunk), N - first));
    nn::make_batch(net, data, indices.data() + first, count, nullptr, 0, 0, 0, x, y);
    net.forward(x, false);
    dlogits.resize(count, K, 1, 1);
    dlogits.fill(0.f);
    for (int i = 0; i < count; ++i) dlogits.sample(i)[y[size_t(i)]] = 1.f;  // ∂y^c/∂logits
    net.backward(dlogits, false, block);
    const nn::Tensor& grad = net.output_grad(block);
    const nn::Tensor& act = net.output(block);
    for (int i = 0; i < count; ++i) {
      const float* g = grad.sample(i);
      const float* a = act.sample(i);
      const size_t xi = first + size_t(i);
      for (int c = 0; c < C; ++c) {
        double sum = 0;
        for (size_t p = 0; p < HW; ++p) sum += g[size_t(c) * HW + p];
        alpha[size_t(c)] = sum / double(HW);
      }
      double* cam = &out.gradcam[xi * size_t(n)];
      double* gxa = &out.grad_times_activation[xi * size_t(n)];
      double* map = &out.gradcam_map[xi * HW];
      for (int c = 0; c < C; ++c)
        for (int h = 0; h < H; ++h)
          for (int w = 0; w < W; ++w) {
            const size_t u = (size_t(c) * H + h) * W + w;
            const int r = grid.region_of(c, h, w);
            cam[r] += alpha[size_t(c)] * a[u];
            gxa[r] += double(a[u]) * g[u];
            map[size_t(h) * W + w] += alpha[size_t(c)] * a[u];
          }
      for (size_t p = 0; p < HW; ++p) map[p] = std::max(0.0, map[p]);
    }
  }
  return out;
}

}  // namespace imaging
