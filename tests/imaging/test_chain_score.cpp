// tests/imaging/test_chain_score.cpp — the routed-flow chain score (README "Tractography", issue 12)
// keeps the first link's magnitude and does not reward a region for having its windows clipped by
// the padding: on a net where every window link carries the same flow, a border region passes on
// the same share of its flow as an interior one, so the chain through the slightly stronger interior
// wins; the plain per-source share C/out(A) (no κ) would pick a corner.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "imaging/tract.h"
#include "nn/network.h"

namespace {

// Three 3×3 convolutions (zero padding 1) on an 8×8 map (and an output block, so that the third
// convolution is cut like the others), every weight 1 and every bias 0, cut into
// a 4×4 grid of 2×2 cells; each pair is fed a = 1 (1 + boost inside the central 4×4 pixels) and
// z = 1, so C_{A→B} = Σ over the window links from A to B of a_i: a link count, scaled by the boost.
struct UniformNet {
  nn::Network net{"conv3x3:1 relu conv3x3:1 relu conv3x3:1 relu linear:2", 1, 8, 8};
  std::vector<imaging::FlowMatrix> flows;
  explicit UniformNet(float boost) {
    net.init(1);
    for (auto& np : net.named_params()) {
      nn::Tensor& v = np.param->value;
      for (size_t i = 0; i < v.size(); ++i) v[i] = np.name.find(".bias") != std::string::npos ? 0.f : 1.f;
    }
    nn::Tensor a(1, 1, 8, 8), z(1, 1, 8, 8);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        a[size_t(y * 8 + x)] = 1.f + (y >= 2 && y < 6 && x >= 2 && x < 6 ? boost : 0.f);
        z[size_t(y * 8 + x)] = 1.f;
      }
    for (int b = 1; b <= 2; ++b) {
      imaging::PairFlows pair(net, b, run::GridSpec{4, 4, 1});
      pair.accumulate(a, z);
      flows.push_back(pair.mean());
    }
  }
};

bool on_border(int region) {  // 4×4×1 grid: region = i·4 + j
  const int i = region / 4, j = region % 4;
  return i == 0 || i == 3 || j == 0 || j == 3;
}

TEST(ChainScore, ClippedBorderRegionsAreNotRewarded) {
  const UniformNet uniform(0.01f);
  const auto& f = uniform.flows;
  // The geometry the score must see through: a corner cell's 4 pixels have 25 window links, an
  // interior cell's 36; κ = 25/36 and 1.
  EXPECT_NEAR(f[1].kappa_of(0), 25.0 / 36.0, 1e-12);
  EXPECT_NEAR(f[1].kappa_of(5), 1.0, 1e-12);
  EXPECT_NEAR(f[1].at(0, 0), 16.0, 1e-5);  // a cell to itself: 4 outputs × 4 pixels, clipped or not
  const std::vector<imaging::Chain> chains = imaging::best_chains(f, 4);
  ASSERT_EQ(chains.size(), 4u);
  // The interior chains (the four central cells, each to itself) come first, with the routed flow
  // 16·1.01 · 16/36: the first link's C, then the share of the cell's flow kept by itself.
  for (const imaging::Chain& c : chains) {
    for (int r : c.regions) EXPECT_FALSE(on_border(r)) << "chain through region " << r;
    EXPECT_EQ(c.regions[0], c.regions[1]);
    EXPECT_EQ(c.regions[1], c.regions[2]);
    EXPECT_NEAR(c.score, std::log(16.0 * 1.01) + std::log(16.0 / 36.0), 1e-5);
  }
  // A wrong score would not: the plain per-source share, log C₁ + log(C₂/out(A)), ranks the corner
  // chain 0 → 0 → 0 first (16/25 of a corner's flow stays in it, 16/36 of an interior cell's).
  auto plain = [&](int r) {
    double out = 0;
    for (int b = 0; b < f[1].to; ++b) out += f[1].at(r, b);
    return std::log(f[0].at(r, r)) + std::log(f[1].at(r, r) / out);
  };
  EXPECT_GT(plain(0), plain(5) + 0.3);
  // Without the boost every self-chain ties: the score is the same on the border as inside.
  const UniformNet flat(0.f);
  const std::vector<imaging::Chain> ties = imaging::best_chains(flat.flows, 16);
  ASSERT_EQ(ties.size(), 16u);
  for (const imaging::Chain& c : ties) EXPECT_NEAR(c.score, ties[0].score, 1e-5);
}

// The score keeps the first link's magnitude: scaling the first pair's flows by s adds log s to every
// chain and changes no ranking; scaling a later pair changes nothing (its steps are shares).
TEST(ChainScore, FirstLinkSetsTheScaleLaterLinksAreShares) {
  const UniformNet uniform(0.25f);
  const std::vector<imaging::Chain> before = imaging::best_chains(uniform.flows, 8);
  for (size_t pair = 0; pair < 2; ++pair) {
    std::vector<imaging::FlowMatrix> scaled = uniform.flows;
    for (double& c : scaled[pair].c) c *= 37.5;
    const std::vector<imaging::Chain> after = imaging::best_chains(scaled, 8);
    ASSERT_EQ(after.size(), before.size());
    for (size_t k = 0; k < before.size(); ++k) {
      EXPECT_EQ(after[k].regions, before[k].regions) << "pair " << pair << " chain " << k;
      EXPECT_NEAR(after[k].score, before[k].score + (pair == 0 ? std::log(37.5) : 0.0), 1e-9);
    }
  }
}

}  // namespace
