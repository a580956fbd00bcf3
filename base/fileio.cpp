#include "base/fileio.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

namespace base {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFileWriter file(path);
  file.append(bytes);
  file.commit();
}

namespace {

// What the rename would replace must be a file: a device node, a FIFO or a socket standing at `path`
// is refused (`eval --dump /dev/null` run as root replaced /dev/null), and so is a directory.  A
// symbolic link is replaced itself (rename never writes through it), whatever it points to.
void require_replaceable(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return;
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, expected a file (or no file) to write");
  throw Error(path + ": not a regular file (a device, FIFO or socket), expected a file (or no file) to write");
}

// Flushes the folder holding `path` (after a rename or a mkdir there: a change of the folder, on disk
// only once the folder is).  A folder this user may write in but not open (mode -wx: a drop box) and a
// file system that cannot flush a folder (EINVAL) are left as they are: the file is written, as before
// the flush existed.  A failing flush (EIO) is base::Error "`path`: `done`, but its folder … could not be
// flushed".
void flush_folder_of(const std::string& path, const char* done) {
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  if (::fsync(dir) != 0 && errno != EINVAL) {
    const int e = errno;
    ::close(dir);
    throw Error(path + ": " + done + ", but its folder " + folder + " could not be flushed (" + std::strerror(e) + ")");
  }
  ::close(dir);
}

std::string temporary_name(const std::string& path) { return path + ".tmp." + std::to_string(getpid()); }

// Creates the atomic write's temporary `tmp` for writing; -1 (errno set) when it cannot.  The name is
// predictable, so whatever already stands there (a stale temporary, or a link planted to make the write
// land elsewhere) is removed, not opened: a link is unlinked, never followed, and the file is created
// afresh (O_EXCL), so a link planted in between makes the write fail.
int create_temporary(const std::string& tmp) {
  ::unlink(tmp.c_str());
  return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

}  // namespace

void require_writable(const std::string& path) {
  require_replaceable(path);
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(path + ": no folder " + folder + ", expected a file in an existing folder");
  // A folder where no file can be created (read-only, not this user's, /proc) was found only by the
  // write, after the command's work: the write's own temporary is created now, and removed.
  const std::string tmp = temporary_name(path);
  const int fd = create_temporary(tmp);
  if (fd < 0)
    throw Error(path + ": cannot create a file in " + folder + " (" + std::strerror(errno) +
                "), expected a folder this user can write in");
  ::close(fd);
  ::unlink(tmp.c_str());
}

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)), tmp_(temporary_name(path_)) {
  require_replaceable(path_);  // before any work: checked again just before the rename
  fd_ = create_temporary(tmp_);
  if (fd_ < 0) throw Error(path_ + ": cannot create (" + std::strerror(errno) + ")");
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFileWriter::append(const std::string& bytes) { append(bytes.data(), bytes.size()); }

void AtomicFileWriter::append(const char* bytes, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t w = ::write(fd_, bytes + done, size - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": write failed (" + std::strerror(errno) + ")");
    }
    done += size_t(w);
  }
}

void AtomicFileWriter::commit() {
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": flush failed (" + std::strerror(e) + ")");
  }
  try {
    require_replaceable(path_);
  } catch (const Error&) {
    ::unlink(tmp_.c_str());
    throw;
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": rename failed (" + std::strerror(e) + ")");
  }
  // The rename is a change of the folder, on disk only once the folder is flushed: without it a power
  // loss may undo it (or keep a later file's rename and not this one's: run.json naming a checkpoint
  // whose rename was lost).
  flush_folder_of(path_, "written");
}

int remove_stale_temporaries(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string prefix = path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp.";
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return 0;
  int removed = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.find_first_not_of("0123456789", prefix.size()) != std::string::npos)
      continue;
    const std::string stale = folder + "/" + name;
    struct stat st;
    if (::lstat(stale.c_str(), &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && ::unlink(stale.c_str()) == 0)
      ++removed;
  }
  ::closedir(dir);
  return removed;
}

namespace {
// The open descriptor of a regular file and its stat (base::Error naming the path otherwise).
int open_regular(const std::string& path, struct stat& st) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(path + ": cannot stat (" + std::strerror(e) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    const bool directory = S_ISDIR(st.st_mode);
    ::close(fd);
    throw Error(path + (directory ? ": is a directory, expected a file" : ": not a regular file (a device, FIFO or socket), expected a file"));
  }
  return fd;
}
}  // namespace

FileReader::FileReader(const std::string& path, uint64_t max_bytes) : path_(path) {
  struct stat st;
  fd_ = open_regular(path, st);
  size_ = uint64_t(st.st_size);
  if (size_ > max_bytes) {
    ::close(fd_);
    throw Error(path + ": " + std::to_string(st.st_size) + " bytes, expected at most " + std::to_string(max_bytes));
  }
}

FileReader::~FileReader() { ::close(fd_); }

size_t FileReader::read_some(uint64_t offset, char* into, size_t size) const {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd_, into + done, size - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path_ + ": read error (" + std::strerror(errno) + ")");
    if (n == 0) break;
    done += size_t(n);
  }
  return done;
}

void FileReader::read(uint64_t offset, char* into, size_t size) const {
  if (read_some(offset, into, size) != size)
    throw Error(path_ + ": ends before byte " + std::to_string(offset + size) + " (cut short while being read), expected " +
                std::to_string(size_) + " bytes");
}

std::string FileReader::read(uint64_t offset, size_t size) const {
  std::string out(size, '\0');
  read(offset, &out[0], size);
  return out;
}

FileHead read_file_head(const std::string& path, size_t max_bytes) {
  const FileReader file(path);
  FileHead out;
  out.size = file.size();
  out.bytes.resize(size_t(std::min<uint64_t>(out.size, max_bytes)));
  out.bytes.resize(file.read_some(0, &out.bytes[0], out.bytes.size()));
  return out;
}

std::string read_file(const std::string& path, size_t max_bytes) {
  const FileReader file(path, max_bytes);
  std::string out(size_t(file.size()), '\0');
  size_t done = file.read_some(0, &out[0], out.size());
  // to the end of the file, even if it grew after it was opened: up to max_bytes + 1 to notice.  The
  // string grows only when a byte past its size is there: doubling it to look would
  // touch three times the file's size in memory at once, and keep twice.
  char more;
  while (done == out.size() && out.size() <= max_bytes && file.read_some(done, &more, 1) == 1) {
    out.resize(std::min(max_bytes + 1, std::max<size_t>(out.size() * 2, 1 << 16)));
    out[done++] = more;
    done += file.read_some(done, &out[done], out.size() - done);
  }
  if (done > max_bytes) throw Error(path + ": grew past " + std::to_string(max_bytes) + " bytes while being read");
  out.resize(done);
  return out;
}

namespace {
// mkdir -p; adds each folder it made to *made (outermost first) when made is not null.
void make_directories(const std::string& path, std::vector<std::string>* made) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!partial.empty()) {
        if (::mkdir(partial.c_str(), 0755) == 0) {
          if (made) made->push_back(partial);
          flush_folder_of(partial, "created");
        } else if (errno != EEXIST) {
          throw Error(partial + ": cannot create directory (" + std::strerror(errno) + ")");
        }
      }
    }
    if (i < path.size()) partial += path[i];
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw Error(path + ": is not a directory");
}
}  // namespace

void make_directories(const std::string& path) { make_directories(path, nullptr); }

NewDirectories::NewDirectories(const std::string& path) {
  try {
    make_directories(path, &made_);
  } catch (...) {
    remove_made();
    throw;
  }
}

NewDirectories::~NewDirectories() { remove_made(); }

void NewDirectories::remove_made() {
  for (auto it = made_.rbegin(); it != made_.rend(); ++it)
    if (::rmdir(it->c_str()) != 0) break;  // not empty (or gone): it, and the folders above it, stay
  made_.clear();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string not_a_file(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_type seen = std::filesystem::symlink_status(path, ec).type();
  return seen == std::filesystem::file_type::not_found   ? "file not found"
         : seen == std::filesystem::file_type::symlink   ? "a symbolic link to nothing readable"
         : seen == std::filesystem::file_type::directory ? "a directory"
                                                         : "not a regular file";
}

std::string not_a_directory(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_type seen = std::filesystem::symlink_status(path, ec).type();
  if (seen == std::filesystem::file_type::not_found) return "does not exist";
  const std::filesystem::file_type target = std::filesystem::status(path, ec).type();
  return target == std::filesystem::file_type::regular ? "is a file, not a directory"
         : seen == std::filesystem::file_type::symlink && target != std::filesystem::file_type::directory
             ? "is a symbolic link that loops or leads nowhere"
             : "is not a directory (a device, FIFO or socket)";
}

void require_directory_or_missing(const std::string& flag, const std::string& path, const std::string& expected) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status))
    throw Error("flag " + flag + " " + path + ": not a directory, expected " + expected);
  // a name too long, a file on the way (out_file/sub), a loop of links: said here, naming the flag
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw Error("flag " + flag + " " + path + ": cannot tell what it is (" + ec.message() + "), expected " + expected);
}

bool optional_file(const std::string& who, const std::string& path, const std::string& expected) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return true;
  if (std::filesystem::symlink_status(path, ec).type() == std::filesystem::file_type::not_found) return false;
  throw Error(who + ": " + path + ": " + not_a_file(path) + " (expected " + expected + ")");
}

void check_writable(const std::string& dir) {
  const std::string probe = dir + "/" + kWriteCheckName + ".tmp." + std::to_string(getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(dir + ": cannot create a file there (" + std::strerror(errno) + "), expected a writable directory");
  ::close(fd);
  ::unlink(probe.c_str());
}

DirectoryLock::DirectoryLock(const std::string& dir, const std::string& refusal) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw Error(dir + ": cannot open the directory (" + std::strerror(errno) + ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  const int error = errno;
  ::close(fd_);
  if (error == EWOULDBLOCK) throw Error(refusal);
  throw Error(dir + ": cannot lock the directory (" + std::strerror(error) + ")");
}

DirectoryLock::~DirectoryLock() { ::close(fd_); }

}  // namespace base
