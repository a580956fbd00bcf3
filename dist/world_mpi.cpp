// dist/world.h on MPI (make MPI=1): the only file of nnfmri that includes <mpi.h>.
#include <mpi.h>
#include <unistd.h>

#include <climits>
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
  }

  bool any(bool mine) override {
    int in = mine ? 1 : 0, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on a stop");
    return out != 0;
  }

 private:
  int rank_ = 0, ranks_ = 1;
  std::vector<double> received_;
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

std::string rank_prefix() {
  const nn::ShardGroup& w = world();
  return w.ranks() > 1 ? "rank " + std::to_string(w.rank()) + " of " + std::to_string(w.ranks()) + ", " : "";
}

int fail(const std::string& line, int code) {
  const nn::ShardGroup& w = world();
  if (w.ranks() > 1 && w.rank() != 0) sleep(2);
  std::fprintf(stderr, "nnfmri: error: %s\n", line.c_str());
  std::fflush(stderr);
  if (w.ranks() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  return code;
}

}  // namespace dist
