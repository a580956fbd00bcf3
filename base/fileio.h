// base/fileio.h — atomic writes and whole-file reads.
//
// Promise: write_file_atomic never leaves a half-written file at `path`: it
// writes `path.tmp.<pid>`, flushes it to disk and renames it over `path`.
// Every failure throws base::Error naming the path.
#pragma once
#include <string>

namespace base {

void write_file_atomic(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);          // throws base::Error if unreadable
void make_directories(const std::string& path);          // mkdir -p; throws base::Error
bool file_exists(const std::string& path);

}  // namespace base
