// dist/world.h on MPI (make MPI=1): the only file of nnfmri that includes <mpi.h>.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "dist/world.h"

namespace dist {

namespace {

bool joined = false;

// An MPI call that failed: the error's text (MPI_ERRORS_RETURN is set on the world communicator).
void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw base::Error(std::string(what) + " failed: " + std::string(text, size_t(length)));
}

// Rank 0 adds the partials in shard order, receiving those of the other ranks one shard at a time
// (tag = shard), then broadcasts the total: the sum does not depend on the number of ranks.
class MpiGroup : public nn::ShardGroup {
 public:
  MpiGroup() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
  }
  int rank() const override { return rank_; }
  int ranks() const override { return ranks_; }

  void sum_in_shard_order(int shards, size_t length, const std::vector<std::vector<double>>& mine,
                          std::vector<double>& total) override {
    if (length > size_t(INT_MAX)) throw base::Error("shard partial of " + std::to_string(length) + " values: too long for MPI");
    const int n = int(length);
    const double start = MPI_Wtime();
    total.assign(length, 0.0);
    if (rank_ == 0) {
      for (int s = 0; s < shards; ++s) {
        const int owner = s % ranks_;
        if (owner == 0) {
          nn::add_partial(total, mine.at(size_t(s / ranks_)));
        } else {
          received_.resize(length);
          check(MPI_Recv(received_.data(), n, MPI_DOUBLE, owner, s, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                ("receiving shard " + std::to_string(s) + " from rank " + std::to_string(owner)).c_str());
          nn::add_partial(total, received_);
        }
      }
    } else {
      for (size_t k = 0; k < mine.size(); ++k) {
        const int s = rank_ + int(k) * ranks_;
        check(MPI_Send(mine[k].data(), n, MPI_DOUBLE, 0, s, MPI_COMM_WORLD),
              ("sending shard " + std::to_string(s) + " to rank 0").c_str());
      }
    }
    check(MPI_Bcast(total.data(), n, MPI_DOUBLE, 0, MPI_COMM_WORLD), "broadcasting the combined shards");
    combine_seconds_ += MPI_Wtime() - start;
  }
  double combine_seconds() const override { return combine_seconds_; }

  void share_rows(std::vector<double>& rows, size_t width, size_t first, size_t count) override {
    // every rank gathers, rank by rank, the rows it owns (x ≡ rank mod P) in increasing order
    std::vector<int> counts(static_cast<size_t>(ranks_)), displs(static_cast<size_t>(ranks_));
    size_t total = 0;
    for (int r = 0; r < ranks_; ++r) {
      size_t rows_of_r = 0;
      for (size_t x = first; x < first + count; ++x)
        if (int(x % size_t(ranks_)) == r) ++rows_of_r;
      if (rows_of_r * width > size_t(INT_MAX) || total > size_t(INT_MAX))
        throw base::Error("sharing " + std::to_string(count) + " rows of " + std::to_string(width) + " values: too many for MPI");
      counts[size_t(r)] = int(rows_of_r * width);
      displs[size_t(r)] = int(total);
      total += rows_of_r * width;
    }
    std::vector<double> packed, gathered(total);
    for (size_t x = first; x < first + count; ++x)
      if (int(x % size_t(ranks_)) == rank_) packed.insert(packed.end(), rows.begin() + long(x * width), rows.begin() + long((x + 1) * width));
    check(MPI_Allgatherv(packed.data(), int(packed.size()), MPI_DOUBLE, gathered.data(), counts.data(), displs.data(),
                         MPI_DOUBLE, MPI_COMM_WORLD),
          "sharing imaging rows");
    std::vector<size_t> at(static_cast<size_t>(ranks_));
    for (int r = 0; r < ranks_; ++r) at[size_t(r)] = size_t(displs[size_t(r)]);
    for (size_t x = first; x < first + count; ++x) {
      size_t& from = at[x % size_t(ranks_)];
      std::copy(gathered.begin() + long(from), gathered.begin() + long(from + width), rows.begin() + long(x * width));
      from += width;
    }
  }

  void share_units(std::vector<std::vector<double>>& units) override {
    // unit k from its owner, k mod P, to every rank, in index order
    for (size_t k = 0; k < units.size(); ++k) {
      std::vector<double>& u = units[k];
      if (u.size() > size_t(INT_MAX)) throw base::Error("sharing an imaging unit of " + std::to_string(u.size()) + " values: too long for MPI");
      check(MPI_Bcast(u.data(), int(u.size()), MPI_DOUBLE, int(k % size_t(ranks_)), MPI_COMM_WORLD),
            ("sharing imaging unit " + std::to_string(k) + " of " + std::to_string(units.size())).c_str());
    }
  }

  bool from_rank0(bool value) override {
    int v = value ? 1 : 0;
    check(MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD), "broadcasting rank 0's decision");
    return v != 0;
  }

  std::string text_from(int root, const std::string& text) override {
    long long length = rank_ == root ? (long long)text.size() : 0;
    check(MPI_Bcast(&length, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD), "broadcasting a fingerprint's length");
    if (length > INT_MAX) throw base::Error("a fingerprint of " + std::to_string(length) + " bytes: too long for MPI");
    std::string out = rank_ == root ? text : std::string(size_t(length), '\0');
    check(MPI_Bcast(out.data(), int(length), MPI_CHAR, root, MPI_COMM_WORLD), "broadcasting a fingerprint");
    return out;
  }

  int lowest_rank_with(bool mine) override {
    int in = mine ? rank_ : INT_MAX, out = INT_MAX;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "agreeing on a fingerprint");
    return out == INT_MAX ? -1 : out;
  }

  int max_of(int mine) override {
    int out = 0;
    check(MPI_Allreduce(&mine, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on a signal");
    return out;
  }

  bool any(bool mine) override {
    int in = mine ? 1 : 0, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on a stop");
    return out != 0;
  }

 private:
  int rank_ = 0, ranks_ = 1;
  std::vector<double> received_;
  double combine_seconds_ = 0;
};

}  // namespace

void start(int* argc, char*** argv) {
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMIX_RANK")) return;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "nnfmri: error: MPI_Init failed (started by mpirun, but the MPI job could not start)\n");
    std::exit(2);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  joined = true;
}

void finish() {
  if (joined) MPI_Finalize();
  joined = false;
}

nn::ShardGroup& world() {
  static nn::ShardGroup alone;
  if (!joined) return alone;
  static MpiGroup group;
  return group;
}

int ranks_on_this_node() {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  return joined && local ? std::max(1, std::atoi(local)) : 1;
}

std::string rank_prefix() {
  const nn::ShardGroup& w = world();
  return w.ranks() > 1 ? "rank " + std::to_string(w.rank()) + " of " + std::to_string(w.ranks()) + ", " : "";
}

int fail(const std::string& line, int code) {
  const nn::ShardGroup& w = world();
  if (w.ranks() > 1 && w.rank() != 0) {
    // rank 0's abort ends this rank with SIGTERM: by default, not through train's stop handler
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
    sleep(2);
  }
  std::fprintf(stderr, "nnfmri: error: %s\n", line.c_str());
  std::fflush(stderr);
  if (w.ranks() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  return code;
}

}  // namespace dist
