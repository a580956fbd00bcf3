// base/memory.h — how the process's heap gives memory back (glibc's malloc settings).
#pragma once

namespace base {

// Fixes glibc's two malloc thresholds at their starting values, once, at program start:
// M_MMAP_THRESHOLD = 128 KiB (a block of at least this size is its own mmap, unmapped when freed) and
// M_TRIM_THRESHOLD = 128 KiB (free memory above this at the heap's top is given back at once).
// Why: by default glibc raises both when a mmapped block is freed (the mmap threshold to that block's
// size, up to 32 MiB; the trim threshold to twice that), so after the first large free — the training
// batch's buffers released before an analysis, the pass's buffers after it — every later buffer of up
// to that size comes from the heap, and the heap keeps what is freed (up to 64 MiB at its top, all of it
// in its middle) resident until a malloc_trim.  A `make run` grew 95 → 113 MB over its epochs so
// (bench/README.md, branch mem13d).  Cost: every buffer of ≥ 128 KiB is mapped when allocated and its
// pages are faulted in (zeroed by the kernel) again at each allocation: system time, measured there.
// Results do not depend on it (no arithmetic changes).  Without glibc it does nothing.
void fix_malloc_thresholds();

// Gives the heap's free pages back to the system (glibc's malloc_trim; without glibc nothing).
// Called between the analysis's steps — after the pass, after each stage, between the ζ stage's
// blocks — and before each epoch's training, so that what one step freed does not stay in the
// process under the next (bench/README.md: a whole `analyze` of `reference` ~20 MB lower; branch
// mem13e: `make run`'s training 102 → 90 MB).  No arithmetic changes.
void return_free_memory();

}  // namespace base
