#include "nn/shards.h"

#include <string>

#include "base/error.h"

namespace nn {

ShardRange shard_range(int n, int shards, int s) {
  return {int(long(s) * n / shards), int(long(s + 1) * n / shards)};
}

void add_partial(std::vector<double>& total, const std::vector<double>& partial) {
  if (partial.size() != total.size())
    throw base::Error("shard partial of " + std::to_string(partial.size()) + " values, expected " +
                      std::to_string(total.size()));
  for (size_t i = 0; i < total.size(); ++i) total[i] += partial[i];
}

void ShardGroup::sum_in_shard_order(int shards, size_t length, const std::vector<std::vector<double>>& mine,
                                    std::vector<double>& total) {
  if (mine.size() != size_t(shards))
    throw base::Error("one process holds " + std::to_string(mine.size()) + " shard partials, expected " +
                      std::to_string(shards));
  total.assign(length, 0.0);
  for (const std::vector<double>& partial : mine) add_partial(total, partial);
}

}  // namespace nn
