// tests/simulated_ranks.h — P ranks of an MPI job simulated by P threads of one process, for the
// tests of nn::ShardGroup users (training shards, distributed ζ) without MPI.
//
// Only one thread computes at a time (the `turn` mutex, which each rank's thread holds while it runs
// and releases while it waits for the others), so OpenMP and OpenBLAS are never entered by two
// threads at once.  Every collective is one exchange: each rank posts a vector, the last to arrive
// computes the result from all posts (rank order), every rank copies it.
// No hang: ranks whose code paths diverged (one waits in a collective the others never reach, or
// has finished) would wait forever.  A rank that waits longer than kPatience, or a rank whose body
// ends (returns or throws) while others wait, breaks the exchange: every waiting rank, and every
// later collective, throws std::runtime_error, and on_simulated_ranks rethrows the first error in
// the calling thread, so the test fails with a message instead of hanging.
#pragma once
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <stdexcept>
#include <string>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "nn/shards.h"

struct Exchange {
  static constexpr std::chrono::seconds kPatience{60};
  explicit Exchange(int ranks) : posted(size_t(ranks)) {}
  std::mutex turn, m;
  std::condition_variable cv;
  std::vector<std::vector<double>> posted;
  int arrived = 0;
  long generation = 0;
  std::vector<double> result;
  std::string broken;  // why the exchange is broken; empty while it works

  // Posts `mine` as rank r; returns the result of `combine` over all posts.
  std::vector<double> exchange(int r, std::vector<double> mine,
                               const std::function<std::vector<double>(const std::vector<std::vector<double>>&)>& combine) {
    std::unique_lock<std::mutex> lock(m);
    if (broken.empty() && left > 0)
      broken = "rank " + std::to_string(r) + " entered a collective after another rank had finished (their code paths diverged)";
    if (!broken.empty()) {
      cv.notify_all();
      throw std::runtime_error("simulated rank " + std::to_string(r) + ": " + broken);
    }
    posted[size_t(r)] = std::move(mine);
    const long g = generation;
    if (++arrived == int(posted.size())) {
      result = combine(posted);
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      turn.unlock();  // let the other ranks compute while this one waits
      const bool done = cv.wait_for(lock, kPatience, [&] { return generation != g || !broken.empty(); });
      if (!done) {
        broken = "rank " + std::to_string(r) + " waited " + std::to_string(kPatience.count()) +
                 " s in a collective that the other ranks did not reach (their code paths diverged)";
        cv.notify_all();
      }
      lock.unlock();
      turn.lock();
      lock.lock();
      if (generation == g) throw std::runtime_error("simulated rank " + std::to_string(r) + ": " + broken);
    }
    return result;
  }
  // Rank r's body ended; ranks still waiting in a collective would wait for it forever.
  void leave(int r, const std::string& how) {
    std::lock_guard<std::mutex> lock(m);
    if (arrived > 0 && broken.empty()) {
      broken = "rank " + std::to_string(r) + " " + how + " while other ranks waited in a collective (their code paths diverged)";
      cv.notify_all();
    }
    ++left;
  }
  int left = 0;
};

class SimulatedRank : public nn::ShardGroup {
 public:
  SimulatedRank(Exchange& x, int rank) : x_(x), rank_(rank) {}
  int rank() const override { return rank_; }
  int ranks() const override { return int(x_.posted.size()); }
  void sum_in_shard_order(int shards, size_t length, const std::vector<std::vector<double>>& mine,
                          std::vector<double>& total) override {
    std::vector<double> flat;
    for (const std::vector<double>& p : mine) flat.insert(flat.end(), p.begin(), p.end());
    const int P = ranks();
    total = x_.exchange(rank_, flat, [&](const std::vector<std::vector<double>>& posts) {
      std::vector<double> sum(length, 0.0), partial(length);
      for (int s = 0; s < shards; ++s) {
        const std::vector<double>& from = posts[size_t(s % P)];
        std::copy(from.begin() + long(size_t(s / P) * length), from.begin() + long(size_t(s / P + 1) * length), partial.begin());
        nn::add_partial(sum, partial);
      }
      return sum;
    });
  }
  void share_rows(std::vector<double>& rows, size_t width, size_t first, size_t count) override {
    const int P = ranks();
    rows = x_.exchange(rank_, rows, [&](const std::vector<std::vector<double>>& posts) {
      std::vector<double> out = posts[0];
      for (size_t x = first; x < first + count; ++x) {
        const std::vector<double>& from = posts[x % size_t(P)];
        std::copy(from.begin() + long(x * width), from.begin() + long((x + 1) * width), out.begin() + long(x * width));
      }
      return out;
    });
  }
  void share_units(std::vector<std::vector<double>>& units) override {
    std::vector<double> flat;
    for (const std::vector<double>& u : units) flat.insert(flat.end(), u.begin(), u.end());
    const int P = ranks();
    flat = x_.exchange(rank_, flat, [&](const std::vector<std::vector<double>>& posts) {
      std::vector<double> out;
      size_t at = 0;
      for (size_t k = 0; k < units.size(); ++k) {  // unit k from rank k mod P
        const std::vector<double>& from = posts[k % size_t(P)];
        out.insert(out.end(), from.begin() + long(at), from.begin() + long(at + units[k].size()));
        at += units[k].size();
      }
      return out;
    });
    size_t at = 0;
    for (std::vector<double>& u : units) {
      std::copy(flat.begin() + long(at), flat.begin() + long(at + u.size()), u.begin());
      at += u.size();
    }
  }
  bool from_rank0(bool value) override {
    return x_.exchange(rank_, {value ? 1.0 : 0.0}, [](const std::vector<std::vector<double>>& posts) { return posts[0]; })[0] != 0;
  }
  std::string text_from(int root, const std::string& text) override {
    const std::vector<double> got = x_.exchange(rank_, std::vector<double>(text.begin(), text.end()),
                                                [root](const std::vector<std::vector<double>>& posts) { return posts[size_t(root)]; });
    std::string out;
    for (double c : got) out += char(c);
    return out;
  }
  int lowest_rank_with(bool mine) override {
    return int(x_.exchange(rank_, {mine ? double(rank_) : -1.0}, [](const std::vector<std::vector<double>>& posts) {
      double low = -1;
      for (const auto& p : posts)
        if (p[0] >= 0 && (low < 0 || p[0] < low)) low = p[0];
      return std::vector<double>{low};
    })[0]);
  }
  int max_of(int mine) override {
    return int(x_.exchange(rank_, {double(mine)}, [](const std::vector<std::vector<double>>& posts) {
      double m = posts[0][0];
      for (const auto& p : posts) m = std::max(m, p[0]);
      return std::vector<double>{m};
    })[0]);
  }
  bool any(bool mine) override {
    return x_.exchange(rank_, {mine ? 1.0 : 0.0}, [](const std::vector<std::vector<double>>& posts) {
      double m = 0;
      for (const auto& p : posts) m = std::max(m, p[0]);
      return std::vector<double>{m};
    })[0] != 0;
  }

 private:
  Exchange& x_;
  int rank_;
};

// Runs body(group) on `ranks` simulated ranks, each thread with one OpenMP thread.  The first
// exception of any rank (the exchange broken, see above, included) is rethrown here.
template <typename Body>
void on_simulated_ranks(int ranks, Body body) {
  Exchange exchange(ranks);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      omp_set_num_threads(1);
      std::lock_guard<std::mutex> turn(exchange.turn);
      SimulatedRank rank(exchange, r);
      try {
        body(rank);
        exchange.leave(r, "finished");
      } catch (...) {
        errors[size_t(r)] = std::current_exception();
        exchange.leave(r, "failed");
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}
