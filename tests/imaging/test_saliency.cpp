// tests/imaging/test_saliency.cpp — the gradient baselines: Grad-CAM equals the class activation map
// (Zhou et al. 2016) / HW on a net whose block is followed by a global average pool and one linear
// layer (the property Selvaraju et al. prove), and gradient × activation equals a central finite
// difference of the target logit along the region's own activations.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "imaging/net_view.h"
#include "imaging/saliency.h"
#include "nn/rng.h"
#include "nn/trainer.h"
#include "tests/random_images.h"

namespace {

std::vector<uint32_t> first(size_t n) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint32_t(i);
  return v;
}

TEST(Saliency, GradCamIsTheClassActivationMapOfAGapNet) {
  nn::Network net("conv3x3:4 relu gap linear:3", 3, 6, 6);
  net.init(3);
  RandomImages data(5, 3, 6, 6, 3, 4);
  const int C = 4, H = 6, W = 6;
  const run::RegionGrid grid(H, W, C, run::GridSpec{3, 3, 2});
  const imaging::SaliencyScores s = imaging::saliency_scores(net, 0, grid, data.view, first(5), 2);
  const nn::Tensor* weight = nullptr;
  for (const nn::NamedParam& p : net.named_params())
    if (p.name == "output.weight") weight = &p.param->value;
  ASSERT_NE(weight, nullptr);
  nn::Tensor x;
  std::vector<uint8_t> y;
  for (uint32_t i = 0; i < 5; ++i) {
    nn::make_batch(net, data.view, &i, 1, nullptr, 0, 0, 0, x, y);
    net.forward(x, false);
    const nn::Tensor& a = net.output(0);
    std::vector<double> region(size_t(grid.count()), 0.0);
    for (int h = 0; h < H; ++h)
      for (int w = 0; w < W; ++w) {
        double cam = 0;  // Σ_k w_ck A^k_hw / HW
        for (int c = 0; c < C; ++c) {
          const double term = double((*weight)[size_t(y[0]) * C + size_t(c)]) * a.at(0, c, h, w) / (H * W);
          cam += term;
          region[size_t(grid.region_of(c, h, w))] += term;
        }
        EXPECT_NEAR(s.gradcam_map[i * H * W + size_t(h * W + w)], std::max(0.0, cam), 1e-6) << i << " " << h << " " << w;
      }
    for (int g = 0; g < grid.count(); ++g) EXPECT_NEAR(s.gradcam[i * size_t(grid.count()) + size_t(g)], region[size_t(g)], 1e-6);
  }
}

TEST(Saliency, GradientTimesActivationIsAFiniteDifference) {
  nn::Network net("conv3x3:4 relu maxpool2 conv3x3:6 relu linear:5 relu linear:3", 3, 8, 8);
  net.init(5);
  RandomImages data(4, 3, 8, 8, 3, 6);
  for (int block : {0, 1, 2}) {
    const nn::Shape sh = net.blocks()[size_t(block)].output_shape;
    const run::RegionGrid grid(sh.h, sh.w, sh.c, imaging::block_grid(net, block, run::GridSpec{2, 2, 2}));
    const imaging::SaliencyScores s = imaging::saliency_scores(net, block, grid, data.view, first(4), 3);
    nn::Tensor x;
    std::vector<uint8_t> y;
    for (uint32_t i = 0; i < 4; ++i) {
      nn::make_batch(net, data.view, &i, 1, nullptr, 0, 0, 0, x, y);
      net.forward(x, false);
      const nn::Tensor a = net.output(block);
      for (int g = 0; g < grid.count(); ++g) {
        // y^c(A + t·A·1_g): its derivative at t = 0 is Σ_{u∈g} A_u ∂y^c/∂A_u.
        auto logit = [&](double t) {
          nn::Tensor moved = a;
          for (int c = 0; c < sh.c; ++c)
            for (int h = 0; h < sh.h; ++h)
              for (int w = 0; w < sh.w; ++w)
                if (grid.region_of(c, h, w) == g) moved.at(0, c, h, w) = float(a.at(0, c, h, w) * (1 + t));
          return double(net.forward_from(block, moved)[y[0]]);
        };
        const double t = 1e-3, fd = (logit(t) - logit(-t)) / (2 * t);
        const double analytic = s.grad_times_activation[i * size_t(grid.count()) + size_t(g)];
        EXPECT_NEAR(analytic, fd, 2e-3 * (1 + std::fabs(fd))) << "block " << block << " image " << i << " region " << g;
      }
    }
  }
}

}  // namespace
