// base/fileio.h — atomic writes and whole-file reads.
//
// Promise: write_file_atomic never leaves a half-written file at `path`: it
// writes `path.tmp.<pid>`, flushes it to disk and renames it over `path`.
// Every failure throws base::Error naming the path.  read_file reads regular files only (a device
// such as /dev/zero, a FIFO or a directory is refused before reading) and at most max_bytes of them
// (the size is checked before anything is read).
#pragma once
#include <cstddef>
#include <string>

#include "base/limits.h"

namespace base {

void write_file_atomic(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path, size_t max_bytes = kMaxReadBytes);  // throws base::Error if unreadable
void make_directories(const std::string& path);          // mkdir -p; throws base::Error
bool file_exists(const std::string& path);

}  // namespace base
