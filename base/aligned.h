// base/aligned.h — std::vector storage that starts on a cache line (64 bytes).
//
// Promise: CacheLineAllocator<T> hands out blocks whose first byte is 64-byte aligned (C++17 aligned
// operator new); an AlignedVector<T> is a std::vector<T> with that allocator, so every element at a
// multiple of 64 bytes from the start (16 floats: one AVX-512 register) sits at the start of a line.
// Why: glibc's malloc aligns to 16 bytes only (a block of ≥ 128 KiB is its own mmap, 16 bytes past a
// page), so a row of 16·k floats read with 64-byte vector loads crossed a line boundary at every load,
// each load then touching two lines (the lesion walker's weight rows: bench/README.md, branch h3).
// nn::Tensor allocates on the same boundary for shaped buffers; this is for plain vectors.
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace base {

constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(kCacheLine)); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept { return false; }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace base
