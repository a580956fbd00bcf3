// nn/shards.h — data-parallel training: which images a shard holds, who computes it, and the
// combine of the shards' partial sums (README "Beyond one machine (MPI)").
//
// Definitions:
//  - A step's batch of n images (positions p … p+n−1 of the epoch's order) is cut into S shards
//    (TrainConfig::shards), S fixed by the user and independent of the number of ranks: shard s
//    holds the batch's positions [⌊s·n/S⌋, ⌊(s+1)·n/S⌋) (contiguous; sizes differ by at most one).
//  - With P ranks, shard s is computed by rank s mod P (ShardGroup::owns).
//  - A shard's partial is a vector of doubles: the gradient of (n_s/n)·(the shard's mean loss) for
//    every learnable tensor, the shard's updated batch-norm running statistics weighted by n_s/n,
//    then n_s·(its mean loss) and its correct count (nn/trainer.cpp lays it out).
//  - The combine: total = (…((0 + p_0) + p_1) + …) + p_{S−1}, element by element in double, in shard
//    order.  Every implementation adds in exactly this order, so the total does not depend on P
//    (MPI_Allreduce promises the same result only for the same rank count; it is not used).
// nn/ knows nothing of MPI: ShardGroup itself is the one-process group (rank 0 of 1, every shard
// its own); dist/ holds the MPI implementation.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace nn {

// The positions [first, end) of shard s of a batch of n images cut into S shards.
struct ShardRange {
  int first = 0, end = 0;
  int count() const { return end - first; }
};
ShardRange shard_range(int n, int shards, int s);

// Adds partial into total, element by element (total += partial), the one step of the combine.
void add_partial(std::vector<double>& total, const std::vector<double>& partial);

class ShardGroup {
 public:
  virtual ~ShardGroup() = default;
  virtual int rank() const { return 0; }
  virtual int ranks() const { return 1; }
  bool owns(int shard) const { return shard % ranks() == rank(); }
  // mine[k]: the partial of shard rank() + k·ranks() (the shards this rank owns, in increasing
  // order), each `length` values.  Sets `total` (length values) on every rank to the combine of
  // the partials of all `shards` shards (the definition above).
  virtual void sum_in_shard_order(int shards, size_t length, const std::vector<std::vector<double>>& mine,
                                  std::vector<double>& total);
  // True on every rank when `mine` is true on some rank: a stop asked of one rank stops every
  // rank after the same step.
  virtual bool any(bool mine) { return mine; }
  // The largest `mine` of all ranks, on every rank (the signal a stopped run reports).
  virtual int max_of(int mine) { return mine; }
  // Units spread over ranks (distributed ζ, imaging/shapley.h): rows [first, first + count) of a
  // row-major table of `width` doubles per row, row x computed by rank x mod ranks().  Afterwards every
  // rank holds every row as its owner computed it.  One process: nothing to do.
  virtual void share_rows(std::vector<double>& rows, size_t width, size_t first, size_t count) {
    (void)rows, (void)width, (void)first, (void)count;
  }
  // Units of work spread over ranks (the grid's batches, tract's layer pairs, the lesion game's
  // chunks of images): unit k is computed by rank k mod ranks() and units[k] holds its result, a
  // vector whose length every rank knows (the other ranks' entries must already have that length;
  // their contents are overwritten).  Afterwards every rank holds every unit as its owner computed
  // it, so a combine that reads the units in index order gives the same bits on every rank and for
  // any rank count.  One process: nothing to do.
  virtual void share_units(std::vector<std::vector<double>>& units) { (void)units; }
  bool owns_unit(size_t k) const { return int(k % size_t(ranks())) == rank(); }
  // Rank 0's `value` on every rank (a decision that reads a clock, such as a time budget).
  virtual bool from_rank0(bool value) { return value; }
  // Rank `root`'s `text` on every rank (the fingerprint of its data and settings, apps/).
  virtual std::string text_from(int root, const std::string& text) { (void)root; return text; }
  // The lowest rank whose `mine` is true, on every rank; -1 when it is true on none.
  virtual int lowest_rank_with(bool mine) { return mine ? rank() : -1; }
  // Seconds this rank spent in sum_in_shard_order (transfer and waiting for the other ranks).
  virtual double combine_seconds() const { return 0; }
  bool owns_row(size_t x) const { return int(x % size_t(ranks())) == rank(); }
};

}  // namespace nn
