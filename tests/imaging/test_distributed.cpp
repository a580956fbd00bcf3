// tests/imaging/test_distributed.cpp — the whole analysis (grid, ζ, tract) spread over 2 and 3
// simulated ranks (tests/simulated_ranks.h) gives, on every rank, the documents one process gives,
// to the bit (timing fields aside): the grid's batches, tract's layer pairs, the lesion games' chunks
// and the ζ walks are each computed by one rank and shared.  A plain net with batch norm and a
// residual net (a lesion game inside a branch, which reads the shortcut's input per image).  A rank
// that skipped its share would leave images or pairs out (the grid throws, the flows change), and a
// unit taken from the wrong rank would hold zeros: either way the documents would differ.
// Also: a simulated job whose ranks diverge (one never reaches a collective) fails, not hangs.
#include <gtest/gtest.h>

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run/manifest.h"
#include "imaging/analysis.h"
#include "nn/network.h"
#include "tests/random_images.h"
#include "tests/simulated_ranks.h"

namespace {

std::string temp_dir() {
  char name[] = "/tmp/nnfmri_distributed_XXXXXX";
  const char* made = mkdtemp(name);
  if (!made) throw std::runtime_error("mkdtemp failed");
  return made;
}

// The document without its timing fields (zeta.json's seconds, budgets and timing blocks).
nlohmann::ordered_json without_timing(nlohmann::ordered_json j) {
  if (j.is_object()) {
    for (const char* key : {"seconds", "budget_seconds", "timing"}) j.erase(key);
    for (auto& [key, value] : j.items()) value = without_timing(value);
  } else if (j.is_array()) {
    for (auto& value : j) value = without_timing(value);
  }
  return j;
}

// Every stage's document of one analysis of `net` (ranks: null for one process).
std::vector<std::string> analyse(nn::Network& net, const nn::LabeledImages& data, nn::ShardGroup* ranks, int batch = 7) {
  imaging::AnalysisSettings s;
  s.grid = run::GridSpec{2, 2, 2};
  s.eval_samples = 30;
  s.batch = batch;  // 7: 5 batches, 3 ranks own 2, 2 and 1
  s.zeta.samples = 20;  // 3 chunks of 8
  s.zeta.max_permutations = 4;
  s.zeta.budget_seconds = 1e6;
  s.tract.samples = 20;
  s.tract.batch = 8;
  s.ranks = ranks;
  s.zeta.ranks = ranks;
  const std::string dir = temp_dir();
  const imaging::AnalysisReport report = imaging::run_analysis(net, data, s, {"test", 1, nullptr}, dir, {});
  run::remove_path(dir);
  std::vector<std::string> documents;
  for (const imaging::StageReport& stage : report.stages)
    documents.push_back(stage.name + ": " + without_timing(stage.document).dump());
  return documents;
}

void expect_same_on_simulated_ranks(const std::string& spec, int batch = 7) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  RandomImages data(36, 3, 8, 8, 3, 7);
  nn::Network net(spec, 3, 8, 8);
  net.init(5);
  const std::vector<std::string> one = analyse(net, data.view, nullptr, batch);
  ASSERT_EQ(one.size(), 3u);  // grid, zeta, tract
  EXPECT_NE(one[1].find("\"stopped_by\":\"max_permutations\""), std::string::npos) << one[1].substr(0, 400);
  for (int ranks : {2, 3}) {
    std::vector<std::vector<std::string>> got(static_cast<size_t>(ranks));
    on_simulated_ranks(ranks, [&](SimulatedRank& rank) { got[size_t(rank.rank())] = analyse(net, data.view, &rank, batch); });
    for (int r = 0; r < ranks; ++r)
      for (size_t k = 0; k < one.size(); ++k)
        EXPECT_TRUE(got[size_t(r)][k] == one[k]) << spec << ": rank " << r << " of " << ranks << ", " << one[k].substr(0, 40);
  }
  omp_set_num_threads(saved);
}

}  // namespace

TEST(Distributed, AnalysisOnSimulatedRanksEqualsOneProcess) {
  expect_same_on_simulated_ranks("conv3x3:4 bn relu maxpool2 conv3x3:6 relu linear:3");
}

// The pass's batch k (images k·batch …) goes to rank k mod P, by the batch's number: with batches of 7
// (≡ 1 mod 2 and mod 3) a batch's first image 7k has the same owner, so the tests above could not tell
// the two apart; with batches of 6 they differ.
TEST(Distributed, TheGridsBatchesAreOwnedByTheirNumberNotTheirFirstImage) {
  expect_same_on_simulated_ranks("conv3x3:4 bn relu maxpool2 conv3x3:6 relu linear:3", 6);
}

TEST(Distributed, ResidualAnalysisOnSimulatedRanksEqualsOneProcess) {
  expect_same_on_simulated_ranks("conv3x3:4 bn relu res(conv3x3:4 bn relu conv3x3:4 bn) relu gap linear:3");
}

// Ranks whose code paths diverge: rank 1 skips a collective that rank 0 waits in.  The simulated
// exchange notices that rank 1 finished while rank 0 waited and fails every rank with a message.
TEST(Distributed, DivergedRanksFailInsteadOfHanging) {
  try {
    on_simulated_ranks(2, [](SimulatedRank& rank) {
      if (rank.rank() == 0) rank.any(true);
    });
    FAIL() << "expected the diverged simulated job to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
}
