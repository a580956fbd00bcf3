// base/memory.h — how the process's heap gives memory back (glibc's malloc settings), and how much
// address space a limit leaves.
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

// Bytes the address-space limit (RLIMIT_AS, `ulimit -v`) leaves beyond what the process maps now
// (/proc/self/statm's size), at least 0; -1 when there is no limit.  Async-signal-safe (getrlimit, open, read): it
// runs before the libraries start too (apps/main.cpp).
long long address_space_left();

// Under an address-space limit, one malloc arena for every thread (mallopt M_ARENA_MAX = 1); without a
// limit nothing.  Why: glibc gives each thread that allocates while another holds the main arena an
// arena of its own, a 64 MiB reservation (a 128 MiB mapping while it is made), up to 8 per core.  That
// is address space a limit counts: a training with 10 threads held 9 of them (567 MiB), and OpenBLAS,
// whose buffer mapping then failed, retried it forever (apps/commands.h, kAddressSpacePerThread).
// Threads then take turns at one arena's lock; no arithmetic changes.  Without glibc nothing.
void share_one_malloc_arena_under_an_address_limit();

}  // namespace base
