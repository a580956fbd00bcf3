// tests/imaging/test_chain_score.cpp — the chain score's division by each pair's connection strength
// cannot change which chains win: Σ_l log(C_l/T_l) = Σ_l log C_l − Σ_l log T_l, and the second sum
// is the same for every chain.  Nor does the score reward a region whose windows the padding clips:
// C_{A→B} of a link that exists does not depend on the links A lacks, so on a net where every window
// link carries the same flow the border's chains tie with the interior's, and a slightly stronger
// interior wins; a per-source share C/out(A) would pick a corner.  Where the border preference of
// real nets comes from is measured in bench/README.md ("Tractography chains and the grid's border").
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "imaging/tract.h"
#include "nn/network.h"
#include "nn/rng.h"

namespace {

imaging::FlowMatrix random_flows(int from, int to, nn::Rng& rng) {
  imaging::FlowMatrix f;
  f.from = from, f.to = to;
  f.c.resize(size_t(from) * to);
  for (double& c : f.c) c = rng.uniform() < 0.2 ? 0.0 : std::exp(3 * rng.normal());
  return f;
}

TEST(ChainScore, ScalingOnePairsFlowsChangesNoChainOnlyTheScores) {
  nn::Rng rng(5);
  std::vector<imaging::FlowMatrix> flows = {random_flows(12, 9, rng), random_flows(9, 7, rng), random_flows(7, 4, rng)};
  const std::vector<imaging::Chain> before = imaging::best_chains(flows, 10);
  ASSERT_EQ(before.size(), 10u);
  for (size_t pair = 0; pair < flows.size(); ++pair) {
    std::vector<imaging::FlowMatrix> scaled = flows;
    for (double& c : scaled[pair].c) c *= 37.5;  // another connection strength, the same relative flows
    const std::vector<imaging::Chain> after = imaging::best_chains(scaled, 10);
    ASSERT_EQ(after.size(), before.size());
    for (size_t k = 0; k < before.size(); ++k) {
      EXPECT_EQ(after[k].regions, before[k].regions) << "pair " << pair << " chain " << k;
      EXPECT_NEAR(after[k].score, before[k].score, 1e-9) << "pair " << pair << " chain " << k;
    }
  }
  // Without the division the ranking is still the same, the scores shift by Σ_l log T_l.
  double shift = 0;
  for (const auto& f : flows) shift += std::log(f.total());
  std::vector<imaging::FlowMatrix> unit = flows;
  for (auto& f : unit) {
    const double t = f.total();
    for (double& c : f.c) c /= t;  // T_l = 1: the score is Σ_l log C_l of the original flows − Σ log T_l
  }
  const std::vector<imaging::Chain> normalised = imaging::best_chains(unit, 10);
  for (size_t k = 0; k < before.size(); ++k) {
    EXPECT_EQ(normalised[k].regions, before[k].regions);
    EXPECT_NEAR(normalised[k].score, before[k].score, 1e-9);
    double raw = 0;
    for (size_t l = 0; l < flows.size(); ++l) raw += std::log(flows[l].at(before[k].regions[l], before[k].regions[l + 1]));
    EXPECT_NEAR(before[k].score, raw - shift, 1e-9);
  }
}

// Three 3×3 convolutions (zero padding 1) on an 8×8 map (and an output block, so that the third
// convolution is cut like the others), every weight 1 and every bias 0, cut into a 4×4 grid of 2×2
// cells; each pair is fed a = 1 (1 + boost inside the central 4×4 pixels) and z = 1, so C_{A→B} = Σ
// over the window links from A to B of a_i: a link count, scaled by the boost.
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
  // The geometry: a cell keeps 16 links to itself (4 outputs × 4 pixels) whether or not the padding
  // clips it; a corner cell sends 25 links in all, an interior one 36.
  auto sent = [&](int r) {
    double out = 0;
    for (int b = 0; b < f[1].to; ++b) out += f[1].at(r, b);
    return out;
  };
  EXPECT_NEAR(f[1].at(0, 0), 16.0, 1e-5);
  EXPECT_NEAR(sent(0), 25.0, 1e-5);
  EXPECT_NEAR(sent(5), 36.0 * 1.01, 1e-4);
  const std::vector<imaging::Chain> chains = imaging::best_chains(f, 4);
  ASSERT_EQ(chains.size(), 4u);
  // The four central cells, each to itself, come first: 16·1.01 on both links.
  const double t0 = f[0].total(), t1 = f[1].total();
  for (const imaging::Chain& c : chains) {
    for (int r : c.regions) EXPECT_FALSE(on_border(r)) << "chain through region " << r;
    EXPECT_EQ(c.regions[0], c.regions[1]);
    EXPECT_EQ(c.regions[1], c.regions[2]);
    EXPECT_NEAR(c.score, std::log(16.0 * 1.01 / t0) + std::log(16.0 * 1.01 / t1), 1e-5);
  }
  // A per-source share, log(C₁/T₁) + log(C₂/out(A)), would rank the corner chain 0 → 0 → 0 first
  // (16/25 of a corner's flow stays in it, 16/36 of an interior cell's).
  auto per_source = [&](int r) { return std::log(f[0].at(r, r) / t0) + std::log(f[1].at(r, r) / sent(r)); };
  EXPECT_GT(per_source(0), per_source(5) + 0.3);
  // Without the boost every cell's chain to itself ties, on the border as inside.
  const UniformNet flat(0.f);
  const std::vector<imaging::Chain> ties = imaging::best_chains(flat.flows, 16);
  ASSERT_EQ(ties.size(), 16u);
  for (const imaging::Chain& c : ties) {
    EXPECT_EQ(c.regions[0], c.regions[2]);
    EXPECT_NEAR(c.score, ties[0].score, 1e-9);
  }
}

}  // namespace
