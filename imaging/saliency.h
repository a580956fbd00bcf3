// imaging/saliency.h — gradient baselines for the error analysis: Grad-CAM (Selvaraju et al. 2017) and
// gradient × activation, on any block, per image and per region of the block's grid, from one
// backward pass of the net (nn::Network::backward stopped at the block).
//
// Definitions (y^c the logit of the target class c, before the softmax, as in the paper; A the
// block's output, channels k, positions (i, j); the target is each image's true label):
//   Grad-CAM:        α_k = (1/HW) Σ_ij ∂y^c/∂A^k_ij  (the channel's pooled gradient);
//                    the map L_ij = ReLU(Σ_k α_k A^k_ij).  Region g (cell rows × cols, channel group) scores
//                    gradcam_g = Σ_{(i,j)∈cell(g)} Σ_{k∈chans(g)} α_k A^k_ij, the region's share of the
//                    map before the ReLU (the channel groups of a cell sum to the map's pre-ReLU sum
//                    over the cell; with one channel group it is that sum).
//   gradient×activation: gxa_g = Σ_{u∈g} A_u · ∂y^c/∂A_u  (a first-order estimate of what zeroing the
//                    region takes from y^c).
// On a net whose block is followed by a global average pool and one linear layer, Grad-CAM is the
// class activation map of Zhou et al. 2016 divided by HW (the paper's own check; tested).
#pragma once
#include <cstdint>
#include <vector>

#include "nn/data.h"
#include "nn/network.h"
#include "run/region_grid.h"

namespace imaging {

struct SaliencyScores {
  // (N, n) row-major, image x's score of region g, in `indices` order.
  std::vector<double> gradcam, grad_times_activation;
  // (N, H·W) Grad-CAM maps L_ij after the ReLU, row-major per image.
  std::vector<double> gradcam_map;
};

// Scores of the images `indices` of data, in chunks of `chunk` images.  Reads the net; changes no
// parameter (backward without parameter gradients).
SaliencyScores saliency_scores(nn::Network& net, int block, const run::RegionGrid& grid, const nn::LabeledImages& data,
                               const std::vector<uint32_t>& indices, int chunk = 8);

}  // namespace imaging
