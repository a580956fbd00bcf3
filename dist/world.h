// dist/world.h — the ranks of this process's job, for apps/ (README "Beyond one machine (MPI)").
//
// Two implementations, one linked: dist/world_mpi.cpp (make MPI=1, the only file that includes
// <mpi.h>) and dist/world_serial.cpp (without MPI).  The MPI one joins the job only when the process
// was started by an MPI launcher (Open MPI's OMPI_COMM_WORLD_SIZE or PMIx's PMIX_RANK in the
// environment): the same binary started without mpirun is this process alone, as without MPI.
#pragma once
#include <string>

#include "base/error.h"
#include "nn/shards.h"

namespace dist {

// Joins the MPI job (MPI_Init) when started by an MPI launcher; nothing otherwise.
void start(int* argc, char*** argv);
// Leaves it (MPI_Finalize) when joined.
void finish();
// The job's ranks: rank r of P (this process alone: 0 of 1).  Shard partials are combined at rank 0
// in shard order and broadcast (nn/shards.h).
nn::ShardGroup& world();
// The ranks of this job on this machine (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE; 1 alone).
int ranks_on_this_node();
// "rank R of P, " when the job has more than one rank, else "".
std::string rank_prefix();
// This rank failed with `line` (one line, printed on stderr by the caller's rule "nnfmri: error: …"):
// alone, returns `code`; in a job of several ranks ends every rank with MPI_Abort(code) so that none
// waits for it.  A rank other than 0 first waits 2 s, so that an error every rank meets (bad input)
// is printed once, by rank 0, whose abort ends the others.
int fail(const std::string& line, int code);
// A failure every rank of the job has reached together (through collectives, e.g. a fingerprint
// that differs from rank 0's): every rank ends normally (MPI_Finalize, no MPI_Abort) with exit code
// 2, and only the rank with `print` prints the line (its own rank prefix), so the job shows it once.
struct JointFailure : base::Error {
  JointFailure(const std::string& message, bool print) : base::Error(message), print(print) {}
  bool print;
};

}  // namespace dist
