// base/fileio.h — atomic writes, whole-file reads and reads of parts of a file (FileReader).
//
// Promise: write_file_atomic never leaves a half-written file at `path`: it
// writes `path.tmp.<pid>` (created afresh: whatever stood at that name, a symbolic link included, is
// removed first, never written through), flushes it to disk, renames it over `path` and flushes the
// folder (so that the rename, too, survives a power loss).
// What it replaces is always a file: a device node, FIFO, socket or directory standing at `path` is
// refused (when the writer is made and again before the rename); a symbolic link at `path` is
// replaced by the file, never written through.
// Every failure throws base::Error naming the path.  read_file reads regular files only (a device
// such as /dev/zero, a FIFO or a directory is refused before reading) and at most max_bytes of them
// (the size is checked before anything is read).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/limits.h"

namespace base {

void write_file_atomic(const std::string& path, const std::string& bytes);
// A file written piece by piece (a stream of JSON lines) and published atomically: append() writes to
// `path.tmp.<pid>`, commit() flushes it to disk and renames it over `path`.  Destroyed uncommitted
// (an error on the way), it removes the temporary file: `path` is never half-written.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void append(const std::string& bytes);
  void append(const char* bytes, size_t size);
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};
// Removes what writes of `path` killed before their rename left: `path.tmp.<digits>` files (and links)
// in its folder; returns how many.  Only for a caller that holds the folder's DirectoryLock and is its
// one writer of `path` (monitor's DIR/monitor.jsonl; train --resume's run files), so that no live write is among them.
int remove_stale_temporaries(const std::string& path);
// Throws base::Error naming path unless an atomic write to it can start: what stands there is a file, a
// symbolic link or nothing (not a directory, device, FIFO or socket), its folder exists and a file can
// be created in it (the write's temporary is created and removed).  For a
// command to check an output before its work; the write checks again.
void require_writable(const std::string& path);
std::string read_file(const std::string& path, size_t max_bytes = kMaxReadBytes);  // throws base::Error if unreadable
// The first min(size, max_bytes) bytes of a regular file and its size (a header read before the
// size of the rest is judged); the same refusals as read_file.
struct FileHead {
  std::string bytes;
  uint64_t size = 0;
};
FileHead read_file_head(const std::string& path, size_t max_bytes);
// A regular file open for reading parts of it (an .npz member, a tensor at a time, each straight into
// its buffer) rather than a string of it whole.  Opening refuses what read_file refuses, a file of more
// than max_bytes included (the same error line); size() is its size then.  Every failure throws
// base::Error naming the path.
class FileReader {
 public:
  explicit FileReader(const std::string& path, uint64_t max_bytes = UINT64_MAX);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  uint64_t size() const { return size_; }
  // Up to `size` bytes from `offset` into `into`, fewer only where the file ends: the count read.
  size_t read_some(uint64_t offset, char* into, size_t size) const;
  // Exactly `size` bytes from `offset`; base::Error naming the path when the file ends before them (it
  // was cut short since it was opened).
  void read(uint64_t offset, char* into, size_t size) const;
  std::string read(uint64_t offset, size_t size) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};
void make_directories(const std::string& path);          // mkdir -p; throws base::Error
// make_directories whose new folders (those it made) are removed again when the object ends, deepest
// first and each only while empty, unless keep() was called: a command that fails before its first
// output leaves no new, empty folder behind.
class NewDirectories {
 public:
  explicit NewDirectories(const std::string& path);
  ~NewDirectories();
  NewDirectories(const NewDirectories&) = delete;
  NewDirectories& operator=(const NewDirectories&) = delete;
  void keep() { made_.clear(); }

 private:
  void remove_made();
  std::vector<std::string> made_;  // outermost first
};
bool file_exists(const std::string& path);
// What stands at a path that is not a regular file, for an error line: "file not found", "a symbolic
// link to nothing readable", "a directory" or "not a regular file" (a device, FIFO or socket).
std::string not_a_file(const std::string& path);
// Likewise for a path that is not a directory (a link followed): "does not exist", "is a symbolic link
// that loops or leads nowhere", "is a file, not a directory" or "is not a directory (a device, FIFO or socket)".
std::string not_a_directory(const std::string& path);
// An output directory flag (train's, analyze's, monitor's, corrupt's and compare's --out): what stands at `path` must be a
// directory or nothing (the command creates it); anything else, or a path that cannot be looked at (a
// name too long, a file on the way: out_file/sub), is one line naming the flag,
// "flag --out afile: not a directory, expected EXPECTED".  Called before the command's work.
void require_directory_or_missing(const std::string& flag, const std::string& path, const std::string& expected);
// A file a reader may do without: true if a regular file (or a link to one) stands at `path`, false if
// nothing does (not even a dangling link); anything else there (a dangling link, a directory, a device)
// is refused, not taken for absent: base::Error "`who`: `path`: <what stands there> (expected `expected`)".
bool optional_file(const std::string& who, const std::string& path, const std::string& expected);
// The probe's name before `.tmp.<pid>` (a kill between its creation and removal leaves it: train
// --resume removes its own).
constexpr const char* kWriteCheckName = ".write_check";
// Creates and removes a file `dir/.write_check.tmp.<pid>`: base::Error naming dir when it cannot
// (a read-only directory, a read-only file system), before any work that would write there.
void check_writable(const std::string& dir);

// An exclusive advisory lock (flock LOCK_EX | LOCK_NB) on the directory `dir` itself, held while the
// object lives (and released by the kernel when the process ends, SIGKILL included).  No lock file:
// nothing is added to the directory.  Throws base::Error(`refusal`) when another open of the
// directory (another process) holds it, base::Error naming dir when it cannot be opened or locked.
class DirectoryLock {
 public:
  DirectoryLock(const std::string& dir, const std::string& refusal);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace base
