// Data-parallel shards (nn/shards.h): the shard rule, the combine's fixed order, and training with
// S shards computed by one process or by two simulated ranks giving bit-identical weights.
#include <gtest/gtest.h>
#include <omp.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "nn/network.h"
#include "nn/shards.h"
#include "nn/trainer.h"
#include "tests/random_images.h"

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

// P ranks simulated by P threads of one process.  Only one thread computes at a time (the `turn`
// mutex, released while a rank waits for the others), so OpenMP and OpenBLAS are never entered by two
// threads at once; the combine is done by the last rank to arrive, adding the partials in shard order.
struct Exchange {
  explicit Exchange(int ranks) : posted(size_t(ranks)) {}
  std::mutex turn, m;
  std::condition_variable cv;
  std::vector<std::vector<std::vector<double>>> posted;
  int arrived = 0;
  long generation = 0;
  std::vector<double> total;
};

class SimulatedRank : public nn::ShardGroup {
 public:
  SimulatedRank(Exchange& x, int rank) : x_(x), rank_(rank) {}
  int rank() const override { return rank_; }
  int ranks() const override { return int(x_.posted.size()); }
  void sum_in_shard_order(int shards, size_t length, const std::vector<std::vector<double>>& mine,
                          std::vector<double>& total) override {
    std::unique_lock<std::mutex> lock(x_.m);
    x_.posted[size_t(rank_)] = mine;
    const long generation = x_.generation;
    if (++x_.arrived == ranks()) {
      x_.total.assign(length, 0.0);
      for (int s = 0; s < shards; ++s) nn::add_partial(x_.total, x_.posted[size_t(s % ranks())].at(size_t(s / ranks())));
      x_.arrived = 0;
      ++x_.generation;
      x_.cv.notify_all();
    } else {
      x_.turn.unlock();  // let the other ranks compute while this one waits
      x_.cv.wait(lock, [&] { return x_.generation != generation; });
      lock.unlock();
      x_.turn.lock();
      lock.lock();
    }
    total = x_.total;
  }

 private:
  Exchange& x_;
  int rank_;
};

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
    Exchange exchange(ranks);
    std::vector<std::string> bytes(static_cast<size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
      threads.emplace_back([&, r] {
        omp_set_num_threads(1);
        std::lock_guard<std::mutex> turn(exchange.turn);
        SimulatedRank rank(exchange, r);
        bytes[size_t(r)] = trained_bytes(data, 5, &rank);
      });
    for (std::thread& t : threads) t.join();
    for (int r = 0; r < ranks; ++r) EXPECT_TRUE(bytes[size_t(r)] == one) << ranks << " ranks, rank " << r;
  }
  // the shards change what is trained (per-shard batch norm and dropout streams): not a no-op
  EXPECT_FALSE(trained_bytes(data, 1, nullptr) == one);
  omp_set_num_threads(saved);
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
