// dist/world.h without MPI: this process alone.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dist/world.h"

namespace dist {

namespace {

// A number from the environment; 0 when unset or not a number.
long env_number(const char* name) {
  const char* text = std::getenv(name);
  return text ? std::strtol(text, nullptr, 10) : 0;
}

}  // namespace

// Started by an MPI launcher as one of several ranks (Open MPI's OMPI_COMM_WORLD_SIZE, PMI's
// PMI_SIZE, or a PMIx rank above 0), this binary would be P independent runs writing the same
// --out: refused on every rank, exit 2.  Rank 0 prints at once; the others wait 2 s first, so that
// mpirun, ending the job when rank 0 exits, usually leaves one line.
void start(int*, char***) {
  const long size = std::max(env_number("OMPI_COMM_WORLD_SIZE"), env_number("PMI_SIZE"));
  const long rank = std::max({env_number("OMPI_COMM_WORLD_RANK"), env_number("PMI_RANK"), env_number("PMIX_RANK")});
  if (size <= 1 && rank == 0) return;
  if (rank != 0) sleep(2);
  std::fprintf(stderr,
               "nnfmri: error: started by an MPI launcher as rank %ld%s, but this nnfmri was built without MPI "
               "(make MPI=1): each rank would run alone on the same files\n",
               rank, size > 1 ? (" of " + std::to_string(size)).c_str() : "");
  std::exit(2);
}
void finish() {}

nn::ShardGroup& world() {
  static nn::ShardGroup alone;
  return alone;
}

int ranks_on_this_node() { return 1; }

std::string rank_prefix() { return ""; }

int fail(const std::string& line, int code) {
  std::fprintf(stderr, "nnfmri: error: %s\n", line.c_str());
  return code;
}

}  // namespace dist
