// base/sha256.h — SHA-256 (FIPS 180-4), to fingerprint data files and artefacts.
//
// Promise: every digest is the 64-character lower-case hex SHA-256 of the bytes given; Sha256 takes
// them in parts (update any number of times, then digest once), so a reader that already passes over a
// file (nn/framed_file.h) fingerprints the bytes it read, not another read of the path; sha256_file
// streams a regular file in fixed-size blocks (constant memory) and throws base::Error naming the path
// if it is no regular file (a directory, a FIFO: refused, never waited on) or cannot be opened or read;
// sha256_text_problem is how a reader checks a digest a file records.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace base {

class FileReader;

class Sha256 {
 public:
  void update(const void* data, size_t n);
  std::string digest();  // once, after the last update

 private:
  void compress();
  uint32_t state_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,  // FIPS 180-4's initial hash value
                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint8_t block_[64] = {};
  size_t used_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const void* data, size_t n);
// "" when `text` is a digest as these functions write it (64 lower-case hex digits), else what a reader
// of a file that records one says: "'xyz', expected 64 lower-case hex digits (a SHA-256)".
std::string sha256_text_problem(const std::string& text);
// max_bytes: a file larger is refused naming its size and the bound (base::FileReader), before any is read.
std::string sha256_file(const std::string& path, uint64_t max_bytes = UINT64_MAX);
// The file as it was opened, for a reader whose reads are not one pass (nn/tensor_file.h): the digest is
// of the file it read even if the path is replaced meanwhile.
std::string sha256_file(const FileReader& file);

}  // namespace base
