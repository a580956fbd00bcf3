// tests/fuzz/fuzz_util.h — what every libFuzzer harness of `make fuzz` shares.
//
// The rule a harness checks: a reader given hostile bytes either succeeds or throws base::Error whose
// one-line message names the file (or flag, or spec) it was given.  Anything else is a finding and
// aborts: another exception (exit 3 in nnfmri), a message that names no input or spans lines, and
// — through the sanitizers — any crash, overflow or out-of-bounds access.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <cstdint>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/error.h"

namespace fuzz {

namespace fs = std::filesystem;

// A directory of this process's own, under /dev/shm when there is one (files there cost no disk I/O),
// removed when the process exits normally (libFuzzer's end of -max_total_time or -runs); one a crash
// ends is left with the crash.
inline const std::string& scratch() {
  static const std::string dir = [] {
    const fs::path root = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = root / ("nnfmri_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d.string();
  }();
  static const bool removed_at_exit = std::atexit([] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }) == 0;
  (void)removed_at_exit;
  return dir;
}

// Empties scratch().
inline void reset() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scratch(), ec)) fs::remove_all(entry.path(), ec);
}

// Writes bytes to scratch()/relative, creating its folders.
inline std::string write(const std::string& relative, const std::string& bytes) {
  const fs::path path = fs::path(scratch()) / relative;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path.string();
}

// The pieces of data between separators (data itself when there is none).
inline std::vector<std::string> split(const std::string& data, const std::string& separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = data.find(separator, start)) != std::string::npos; start = at + separator.size())
    parts.push_back(data.substr(start, at - start));
  parts.push_back(data.substr(start));
  return parts;
}

// The file of a harness for a framed reader (nn/framed_file.h), from a mode byte and the rest:
//   'R': the rest as it is (magic, version, lengths and CRC are fuzzed too; most mutations stop at the CRC);
//   else: the rest is the header JSON, "|DATA|", the tensor bytes, framed here (magic, version 1, header
//         length, CRC-32), so that mutations reach the header checks and the tensor reads.
// data holds at least the mode byte; magic is the file kind's 8 characters ("NNFMRIck").
inline std::string framed_input(const uint8_t* data, size_t size, const char (&magic)[9]) {
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] == 'R') return rest;
  std::vector<std::string> parts = split(rest, "|DATA|");
  parts.resize(2);
  std::string out(magic, 8);
  const uint32_t version = 1;
  const uint64_t length = parts[0].size();
  out.append(reinterpret_cast<const char*>(&version), 4);
  out.append(reinterpret_cast<const char*>(&length), 8);
  out += parts[0] + parts[1];
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::abort();
}

// Runs read(); a base::Error must be one line that contains one of `names` (the file, a flag…).
// Other exceptions escape (libFuzzer reports them as a crash).
template <typename Read>
void expect_clean(Read read, std::initializer_list<std::string> names) {
  try {
    read();
  } catch (const base::Error& e) {
    const std::string message = e.what();
    bool named = false;
    for (const std::string& name : names) named = named || message.find(name) != std::string::npos;
    if (!named) finding("error names none of the inputs ('" + *names.begin() + "', ...): " + message);
    if (message.find('\n') != std::string::npos) finding("error spans lines: " + message);
  }
}

// stdout to /dev/null: the commands print their results, a harness needs none of it.
inline void silence_stdout() {
  if (!std::freopen("/dev/null", "w", stdout)) std::abort();
}

}  // namespace fuzz
