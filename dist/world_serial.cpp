// dist/world.h without MPI: this process alone.
#include <cstdio>

#include "dist/world.h"

namespace dist {

void start(int*, char***) {}
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
