// datasets/sha256.h — SHA-256 (FIPS 180-4), to fingerprint data files and artefacts.
//
// Promise: both functions return the 64-character lower-case hex digest; sha256_file
// streams the file in fixed-size blocks (constant memory) and throws base::Error naming
// the path if it cannot be opened or read.
#pragma once
#include <cstddef>
#include <string>

namespace datasets {

std::string sha256_hex(const void* data, size_t n);
std::string sha256_file(const std::string& path);

}  // namespace datasets
