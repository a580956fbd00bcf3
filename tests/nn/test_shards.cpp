// Data-parallel shards (nn/shards.h): the shard rule, the combine's fixed order, and training with
// S shards computed by one process or by two simulated ranks giving bit-identical weights.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "base/error.h"
#include "nn/network.h"
#include "nn/shards.h"
#include "nn/trainer.h"
#include "tests/random_images.h"
#include "tests/simulated_ranks.h"

namespace {

// Every image of a batch is in exactly one shard, shards are contiguous and in order, and their
// sizes differ by at most one.
TEST(Shards, RangesPartitionTheBatchInOrder) {
  for (int n = 1; n <= 70; ++n)
    for (int S = 1; S <= 9; ++S) {
      int next = 0, smallest = n, largest = 0;
      for (int s = 0; s < S; ++s) {
        const nn::ShardRange r = nn::shard_range(n, S, s);
        ASSERT_EQ(r.first, next) << "n " << n << " S " << S << " s " << s;
        ASSERT_GE(r.count(), 0);
        next = r.end;
        smallest = std::min(smallest, r.count());
        largest = std::max(largest, r.count());
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1);
    }
}

// The combine adds partials in shard order: with values where double addition is not associative,
// the total is (((0 + p0) + p1) + p2) + p3 and not another order.
TEST(Shards, CombineAddsInShardOrder) {
  const std::vector<std::vector<double>> partials = {{1e16, 1.0}, {1.0, 1.0}, {1.0, 1e16}, {-1e16, -1e16}};
  nn::ShardGroup alone;
  std::vector<double> total;
  alone.sum_in_shard_order(4, 2, partials, total);
  ASSERT_EQ(total.size(), 2u);
  EXPECT_EQ(total[0], 0.0);  // 1e16 + 1 rounds to 1e16 (twice), then − 1e16
  EXPECT_EQ(total[1], 2.0);  // 1 + 1 = 2, 2 + 1e16 is exact, then − 1e16
  EXPECT_EQ(((1.0 + 1.0) + 1e16) + -1e16, 2.0);  // the first column in another order: another number
  EXPECT_THROW(alone.sum_in_shard_order(5, 2, partials, total), base::Error);  // one process holds every shard
}

// The rule itself, not only a partition: shard s starts at ⌊s·n/S⌋ (floors, so the earlier shards are
// the smaller ones), and the 64-bit product keeps it exact for a batch the int product would overflow.
// (Rounding up, ⌈s·n/S⌉, also partitions the batch into sizes that differ by at most one, and it
// passed every test above: it puts the larger shards first, and another shard's images in each.)
TEST(Shards, EachRangeStartsAtTheFloorOfSTimesNOverS) {
  const auto range = [](int n, int S, int s) {
    const nn::ShardRange r = nn::shard_range(n, S, s);
    return std::vector<int>{r.first, r.end};
  };
  EXPECT_EQ(range(5, 2, 0), (std::vector<int>{0, 2}));
  EXPECT_EQ(range(5, 2, 1), (std::vector<int>{2, 5}));
  EXPECT_EQ(range(7, 3, 0), (std::vector<int>{0, 2}));
  EXPECT_EQ(range(7, 3, 1), (std::vector<int>{2, 4}));
  EXPECT_EQ(range(7, 3, 2), (std::vector<int>{4, 7}));
  EXPECT_EQ(range(4, 5, 0), (std::vector<int>{0, 0}));  // more shards than images: the first is empty
  EXPECT_EQ(range(4, 5, 4), (std::vector<int>{3, 4}));
  const int big = 2000000000;  // s·n past 2^31
  EXPECT_EQ(range(big, 3, 1), (std::vector<int>{666666666, 1333333333}));
  for (int n = 1; n <= 40; ++n)
    for (int S = 1; S <= 9; ++S)
      for (int s = 0; s < S; ++s) ASSERT_EQ(nn::shard_range(n, S, s).first, s * n / S) << n << " " << S << " " << s;
}

// A partial of another length than the total, and a count of partials other than the shards (more as
// well as fewer), are one error each, never a total that silently drops or ignores values.
TEST(Shards, PartialsOfAnotherLengthOrCountAreRefused) {
  std::vector<double> total = {1.0, 2.0};
  EXPECT_THROW(nn::add_partial(total, {1.0}), base::Error);
  EXPECT_THROW(nn::add_partial(total, {1.0, 1.0, 1.0}), base::Error);  // longer: its last value would be dropped
  EXPECT_EQ(total, (std::vector<double>{1.0, 2.0}));
  nn::add_partial(total, {0.5, 0.25});
  EXPECT_EQ(total, (std::vector<double>{1.5, 2.25}));
  nn::ShardGroup alone;
  const std::vector<std::vector<double>> three = {{1.0}, {2.0}, {4.0}};
  EXPECT_THROW(alone.sum_in_shard_order(4, 1, three, total), base::Error);
  EXPECT_THROW(alone.sum_in_shard_order(2, 1, three, total), base::Error);  // more partials than shards: one not added
  alone.sum_in_shard_order(3, 1, three, total);
  EXPECT_EQ(total, std::vector<double>{7.0});
}

const char* kSpec = "conv3x3:4 bn relu maxpool2 linear:8 relu dropout:0.25 linear:3";

nn::TrainConfig config(int shards) {
  nn::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch = 12;  // 40 images: three batches of 12 and one of 4, so a shard of 5 is empty
  cfg.seed = 7;
  cfg.shards = shards;
  return cfg;
}

std::string trained_bytes(const RandomImages& data, int shards, nn::ShardGroup* group) {
  nn::Network net(kSpec, 3, 8, 8);
  net.input_mean = {0.5f, 0.5f, 0.5f};
  net.input_std = {0.25f, 0.25f, 0.25f};
  net.init(3);
  nn::Trainer trainer(net, config(shards), data.view, group);
  for (int e = 1; e <= 2; ++e) trainer.train_epoch(e);
  std::string bytes;
  for (nn::NamedParam& p : net.named_params())
    bytes.append(reinterpret_cast<const char*>(p.param->value.data()), p.param->value.size() * sizeof(float));
  return bytes;
}

TEST(Shards, TwoSimulatedRanksTrainTheSameBytesAsOneProcess) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);  // the same threads per rank as the one process
  const RandomImages data(40, 3, 8, 8, 3, 11);
  const std::string one = trained_bytes(data, 5, nullptr);
  for (int ranks : {2, 3}) {
    std::vector<std::string> bytes(static_cast<size_t>(ranks));
    on_simulated_ranks(ranks, [&](SimulatedRank& rank) { bytes[size_t(rank.rank())] = trained_bytes(data, 5, &rank); });
    for (int r = 0; r < ranks; ++r) EXPECT_TRUE(bytes[size_t(r)] == one) << ranks << " ranks, rank " << r;
  }
  // the shards change what is trained (per-shard batch norm and dropout streams): not a no-op
  EXPECT_FALSE(trained_bytes(data, 1, nullptr) == one);
  omp_set_num_threads(saved);
}

// Without batch norm or dropout shards change nothing but the order of additions: each shard's gradient
// weighs n_s/n, so a batch of 5 cut into shards of 3 and 2 trains the weights of the uncut batch, to
// float rounding (weighing each shard 1/S, the mean of the shards' means, passed the test above, whose
// shards of 12 images are equal but for the last batch's).
TEST(Shards, UnequalShardsWeighTheirImagesLikeTheWholeBatch) {
  const RandomImages data(10, 2, 6, 6, 3, 21);
  const auto trained = [&](int shards) {
    nn::Network net("conv3x3:4 relu maxpool2 linear:3", 2, 6, 6);
    net.input_mean = {0.5f, 0.5f};
    net.input_std = {0.25f, 0.25f};
    net.init(4);
    nn::TrainConfig cfg;
    cfg.batch = 5;
    cfg.shards = shards;
    cfg.seed = 3;
    cfg.schedule.warmup = 0;
    cfg.schedule.kind = "constant";
    cfg.optim.lr = 0.1f;
    nn::Trainer trainer(net, cfg, data.view);
    trainer.train_epoch(1);
    std::vector<float> w;
    for (nn::NamedParam& p : net.named_params()) w.insert(w.end(), p.param->value.data(), p.param->value.data() + p.param->value.size());
    return w;
  };
  const std::vector<float> whole = trained(1), cut = trained(2);
  ASSERT_EQ(whole.size(), cut.size());
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_NEAR(cut[i], whole[i], 1e-6 + 1e-5 * std::fabs(whole[i])) << i;
}

TEST(Shards, RefusesMoreRanksThanShardsAndMoreShardsThanTheBatch) {
  const RandomImages data(40, 3, 8, 8, 3, 11);
  nn::Network net(kSpec, 3, 8, 8);
  net.init(3);
  Exchange exchange(3);
  SimulatedRank rank(exchange, 0);
  try {
    nn::Trainer trainer(net, config(2), data.view, &rank);
    FAIL() << "3 ranks, 2 shards: accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--shards 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nn::Trainer(net, config(13), data.view), base::Error);  // 13 shards of a batch of 12
  EXPECT_THROW(nn::Trainer(net, config(0), data.view), base::Error);
}

}  // namespace
