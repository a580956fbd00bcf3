// tests/base/test_fileio.cpp — the atomic writer: the temporary name `path.tmp.<pid>` is predictable,
// so a file or a symbolic link already standing there must be replaced, never written through.
#include "base/fileio.h"

#include <dirent.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

// What fsync flushed while a test listens (the paths of the descriptors, from /proc/self/fd): this
// binary's fsync stands in front of libc's, which it calls.
// A test may also make fsync fail (a file's or a folder's, with the errno it sets) and rename fail.
namespace {
std::vector<std::string>* flushed = nullptr;
int file_fsync_error = 0, folder_fsync_error = 0, rename_error = 0;
}  // namespace

extern "C" int fsync(int fd) {
  if (flushed) {
    char target[4096];
    const ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target);
    if (n > 0) flushed->emplace_back(target, size_t(n));
  }
  struct stat st;
  if ((file_fsync_error || folder_fsync_error) && ::fstat(fd, &st) == 0) {
    const int error = S_ISDIR(st.st_mode) ? folder_fsync_error : file_fsync_error;
    if (error) {
      errno = error;
      return -1;
    }
  }
  static const auto real = reinterpret_cast<int (*)(int)>(::dlsym(RTLD_NEXT, "fsync"));
  return real(fd);
}

extern "C" int rename(const char* from, const char* to) {
  if (rename_error) {
    errno = rename_error;
    return -1;
  }
  static const auto real = reinterpret_cast<int (*)(const char*, const char*)>(::dlsym(RTLD_NEXT, "rename"));
  return real(from, to);
}

namespace {

class FileIo : public TempDirTest {};

// A write is on disk with its name: the file is flushed before the rename and its folder after it, and
// a folder made for it is flushed into its parent (a power loss could undo a rename or a mkdir whose
// folder was never flushed).
TEST_F(FileIo, AWriteFlushesTheFileThenItsFolder) {
  std::vector<std::string> seen;
  flushed = &seen;
  base::make_directories(path("sub/deeper"));
  base::write_file_atomic(path("sub/deeper/x.json"), "{}");
  flushed = nullptr;
  const std::string top = std::filesystem::canonical(path("")).string(), folder = top + "/sub/deeper";
  EXPECT_EQ(seen, (std::vector<std::string>{top, top + "/sub", folder + "/x.json.tmp." + std::to_string(getpid()), folder}));
}

TEST_F(FileIo, APlantedLinkAtTheTemporaryNameIsNotFollowed) {
  base::write_file_atomic(path("victim.txt"), "keep");
  const std::string target = path("out.json"), tmp = target + ".tmp." + std::to_string(getpid());
  std::filesystem::create_symlink(path("victim.txt"), tmp);
  base::write_file_atomic(target, "{\"new\": 1}");
  EXPECT_EQ(base::read_file(path("victim.txt")), "keep");  // the link's target is untouched
  EXPECT_EQ(base::read_file(target), "{\"new\": 1}");
  EXPECT_FALSE(std::filesystem::is_symlink(target));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(tmp)));
  // A stale temporary of an earlier process of the same pid: replaced, its bytes not carried over.
  base::write_file_atomic(tmp, std::string(100, 'x'));
  base::write_file_atomic(target, "ab");
  EXPECT_EQ(base::read_file(target), "ab");
}

// A folder its user may write in but not read (mode 0300: a drop box) takes a file as before folders
// were flushed: the flush cannot open it and is left out (the first version refused the write, exit 2,
// "written, but its folder … could not be flushed (Permission denied)").  Root reads every folder, so
// the write runs in a child as `nobody` (uid 65534) there.
TEST_F(FileIo, AFolderThatCannotBeOpenedStillTakesAFile) {
  const std::string drop = path("drop");
  std::filesystem::create_directory(drop);
  const bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::chown(drop.c_str(), 65534, 65534), 0);
  }
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  ASSERT_EQ(::chmod(drop.c_str(), 0300), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    if (::opendir(drop.c_str()) != nullptr) ::_exit(4);  // the folder must be unreadable for the case to hold
    try {
      base::write_file_atomic(drop + "/x.json", "{}");
    } catch (const base::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the write failed (its error above); 3: no uid 65534; 4: the folder was readable";
  ASSERT_EQ(::chmod(drop.c_str(), 0755), 0);
  EXPECT_EQ(base::read_file(drop + "/x.json"), "{}");
}

// An output name that holds a FIFO (or a device node: `eval --dump /dev/null` run as root replaced
// /dev/null with a file) or a directory is refused naming it, and left as it was; nothing else is left.
TEST_F(FileIo, OnlyAFileOrALinkIsReplaced) {
  const std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error_naming([&] { base::write_file_atomic(fifo, "x"); }, fifo + ": not a regular file (a device, FIFO or socket)");
  struct stat st;
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  // A FIFO made after the writer was opened: refused at the rename.
  const std::string late = path("late");
  {
    base::AtomicFileWriter file(late);
    file.append("x");
    ASSERT_EQ(::mkfifo(late.c_str(), 0600), 0);
    expect_error_naming([&] { file.commit(); }, late + ": not a regular file");
  }
  ASSERT_EQ(::lstat(late.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  std::filesystem::create_directory(path("dir"));
  expect_error_naming([&] { base::write_file_atomic(path("dir"), "x"); }, path("dir") + ": is a directory, expected a file");
  EXPECT_EQ(files().size(), 3u) << "a temporary file was left behind";
  // A symbolic link is replaced itself, its target untouched.
  base::write_file_atomic(path("target"), "keep");
  std::filesystem::create_symlink(path("target"), path("link"));
  base::write_file_atomic(path("link"), "new");
  EXPECT_FALSE(std::filesystem::is_symlink(path("link")));
  EXPECT_EQ(base::read_file(path("link")), "new");
  EXPECT_EQ(base::read_file(path("target")), "keep");
}

// A file a reader may do without (a names file, one of an IDX pair's two spellings): nothing there is
// "absent", a file or a link to one is read, anything else is one error line, never taken for absent.
TEST_F(FileIo, AnOptionalFileIsAFileOrNothing) {
  EXPECT_FALSE(base::optional_file("who", path("none"), "a file"));
  base::write_file_atomic(path("file"), "x");
  EXPECT_TRUE(base::optional_file("who", path("file"), "a file"));
  std::filesystem::create_symlink(path("file"), path("link"));
  EXPECT_TRUE(base::optional_file("who", path("link"), "a file"));
  std::filesystem::create_symlink(path("gone"), path("dangling"));
  EXPECT_EQ(error_of([&] { base::optional_file("who", path("dangling"), "a text file"); }),
            "who: " + path("dangling") + ": a symbolic link to nothing readable (expected a text file)");
  std::filesystem::create_directory(path("dir"));
  EXPECT_EQ(error_of([&] { base::optional_file("who", path("dir"), "a text file"); }),
            "who: " + path("dir") + ": a directory (expected a text file)");
}

}  // namespace

namespace {

// read_file holds a file once: doubling its string to look for bytes past the size it opened (a file
// that grew) would make a 40 MB checkpoint touch 120 MB at once and keep 80.
// FileReader reads parts, and refuses a part past the end as a file cut short.
TEST_F(FileIo, AFileIsReadIntoAStringOfItsSizeOrInParts) {
  const std::string bytes(size_t(1) << 20, 'x');
  base::write_file_atomic(path("f"), bytes + "end");
  const std::string read = base::read_file(path("f"));
  EXPECT_EQ(read, bytes + "end");
  EXPECT_LT(read.capacity(), read.size() + 4096);
  const base::FileReader file(path("f"), 2 << 20);
  EXPECT_EQ(file.size(), bytes.size() + 3);
  EXPECT_EQ(file.read(bytes.size() - 1, 4), "xend");
  char tail[8];
  EXPECT_EQ(file.read_some(bytes.size(), tail, sizeof tail), 3u);
  EXPECT_EQ(error_of([&] { file.read(bytes.size(), 4); }),
            path("f") + ": ends before byte " + std::to_string(bytes.size() + 4) + " (cut short while being read), expected " +
                std::to_string(bytes.size() + 3) + " bytes");
  EXPECT_EQ(error_of([&] { base::FileReader(path("f"), 1 << 20); }),
            path("f") + ": " + std::to_string(bytes.size() + 3) + " bytes, expected at most " + std::to_string(1 << 20));
  EXPECT_EQ(error_of([&] { base::read_file(path("f"), 1 << 20); }),
            path("f") + ": " + std::to_string(bytes.size() + 3) + " bytes, expected at most " + std::to_string(1 << 20));
}

}  // namespace

namespace {

// A write that fails at its flush or its rename removes its temporary and leaves the file it was to
// replace as it was (header: "never leaves a half-written file"; kills mutants that skip the unlink on
// either failure path).
TEST_F(FileIo, AFailedFlushOrRenameRemovesTheTemporaryAndKeepsTheOldFile) {
  const std::string file = path("x.json");
  base::write_file_atomic(file, "old");
  file_fsync_error = EIO;
  const std::string flush = error_of([&] { base::write_file_atomic(file, "new"); });
  file_fsync_error = 0;
  EXPECT_EQ(flush, file + ": flush failed (" + std::strerror(EIO) + ")");
  EXPECT_EQ(files(), std::vector<std::string>{"x.json"}) << "the temporary was left after a failed flush";
  rename_error = EXDEV;
  const std::string rename = error_of([&] { base::write_file_atomic(file, "new"); });
  rename_error = 0;
  EXPECT_EQ(rename, file + ": rename failed (" + std::strerror(EXDEV) + ")");
  EXPECT_EQ(files(), std::vector<std::string>{"x.json"}) << "the temporary was left after a failed rename";
  EXPECT_EQ(base::read_file(file), "old");
}

// A file system that cannot flush a folder (EINVAL) takes the file as before folders were flushed; a
// folder flush that fails otherwise (EIO) is an error naming the file and its folder (kills the mutant
// that refuses on EINVAL too).
TEST_F(FileIo, AFolderFlushThatIsNotSupportedIsLeftOutAndOneThatFailsIsAnError) {
  folder_fsync_error = EINVAL;
  const std::string file = path("x.json");
  EXPECT_NO_THROW(base::write_file_atomic(file, "a"));
  folder_fsync_error = EIO;
  const std::string error = error_of([&] { base::write_file_atomic(file, "b"); });
  folder_fsync_error = 0;
  EXPECT_EQ(error, file + ": written, but its folder " + dir_ + " could not be flushed (" + std::strerror(EIO) + ")");
  EXPECT_EQ(base::read_file(file), "b");  // renamed already: the file is there, only its folder's flush failed
}

// A writer destroyed before commit() (an error on the way) removes its temporary: nothing is left and
// the path is not created (kills the destructor that only closes).
TEST_F(FileIo, AWriterDestroyedUncommittedLeavesNothing) {
  {
    base::AtomicFileWriter file(path("stream.jsonl"));
    file.append("{\"line\": 1}\n");
  }
  EXPECT_TRUE(files().empty());
}

// remove_stale_temporaries removes `path.tmp.<digits>` files and links only: not a name without digits
// after `.tmp.`, not one with other characters there, not another file's, not a directory (kills `<`
// for `<=` in the length check, and regular files only).
TEST_F(FileIo, StaleTemporariesAreThePathsTmpDigitsFilesAndLinksOnly) {
  const std::string out = path("out.json");
  for (const char* name : {"out.json", "out.json.tmp.123", "out.json.tmp.", "out.json.tmp.12a", "other.json.tmp.5"})
    base::write_file_atomic(path(name), "x");
  std::filesystem::create_symlink(path("nowhere"), path("out.json.tmp.456"));
  std::filesystem::create_directory(path("out.json.tmp.789"));
  EXPECT_EQ(base::remove_stale_temporaries(out), 2);
  std::vector<std::string> left = files();
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"other.json.tmp.5", "out.json", "out.json.tmp.", "out.json.tmp.12a", "out.json.tmp.789"}));
}

// The checks before a command's work create their probe and remove it: nothing is left in the folder;
// a folder that does not exist is named as such (kills a probe left behind by require_writable or
// check_writable, and the folder check skipped).
TEST_F(FileIo, TheChecksBeforeAWriteLeaveNothingAndNameAMissingFolder) {
  base::require_writable(path("out.json"));
  base::check_writable(dir_);
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(error_of([&] { base::require_writable(path("none/out.json")); }),
            path("none/out.json") + ": no folder " + path("none/") + ", expected a file in an existing folder");
}

// max_bytes is the largest size read, itself included (kills `>=` for `>` in FileReader's check and
// in read_file's check of what it read).
TEST_F(FileIo, AFileOfExactlyTheLimitIsRead) {
  base::write_file_atomic(path("f"), std::string(100, 'x'));
  EXPECT_EQ(base::read_file(path("f"), 100), std::string(100, 'x'));
  EXPECT_EQ(base::FileReader(path("f"), 100).size(), 100u);
  EXPECT_EQ(error_of([&] { base::read_file(path("f"), 99); }), path("f") + ": 100 bytes, expected at most 99");
}

// read_file reads to the end of the file, past the size it had when opened, and refuses one that goes
// past max_bytes while being read: a /proc file states size 0 and holds more (kills a read of the
// opened size only).
TEST(FileRead, AFileIsReadPastItsStatedSizeToItsEndWithinTheLimit) {
  struct stat st;
  ASSERT_EQ(::stat("/proc/self/status", &st), 0);
  ASSERT_EQ(st.st_size, 0) << "the case needs a file that states size 0";
  const std::string status = base::read_file("/proc/self/status", 1 << 20);
  EXPECT_EQ(status.rfind("Name:", 0), 0u) << status.substr(0, 40);
  EXPECT_NE(status.find("\nVmSize:"), std::string::npos);
  EXPECT_EQ(status.back(), '\n');
  EXPECT_EQ(error_of([] { base::read_file("/proc/self/status", 10); }), "/proc/self/status: grew past 10 bytes while being read");
}

// read_file_head reads the first max_bytes bytes only and gives the whole size; a shorter file whole
// (kills a head read of the whole file).
TEST_F(FileIo, AHeadIsTheFirstBytesAndTheWholeSize) {
  base::write_file_atomic(path("f"), "0123456789");
  const base::FileHead head = base::read_file_head(path("f"), 4);
  EXPECT_EQ(head.bytes, "0123");
  EXPECT_EQ(head.size, 10u);
  EXPECT_EQ(base::read_file_head(path("f"), 64).bytes, "0123456789");
}

// mkdir -p of a path where a file stands is an error, not a folder taken as made (kills the final
// directory check left out).
TEST_F(FileIo, MakeDirectoriesRefusesAFileStandingAtThePath) {
  base::write_file_atomic(path("f"), "x");
  EXPECT_EQ(error_of([&] { base::make_directories(path("f")); }), path("f") + ": is not a directory");
}

// NewDirectories removes the folders it made, deepest first, when it ends, also when making them
// failed half-way; keep() keeps them; a folder that was there stays (kills removal outermost first and
// the failure path that does not remove).
TEST_F(FileIo, NewDirectoriesAreRemovedDeepestFirstUnlessKept) {
  std::filesystem::create_directory(path("was"));
  { const base::NewDirectories made(path("was/a/b/c")); }
  EXPECT_TRUE(std::filesystem::is_directory(path("was")));
  EXPECT_FALSE(std::filesystem::exists(path("was/a")));
  base::make_directories(path("was/f"));
  base::write_file_atomic(path("was/f/file"), "x");
  // makes n and m, then finds a file at the end of the path: both removed again
  const std::string through = path("was/n/m/../../f/file");
  EXPECT_EQ(error_of([&] { base::NewDirectories{through}; }), through + ": is not a directory");
  EXPECT_FALSE(std::filesystem::exists(path("was/n")));
  {
    base::NewDirectories made(path("was/k/l"));
    made.keep();
  }
  EXPECT_TRUE(std::filesystem::is_directory(path("was/k/l")));
}

// The directory lock: a second holder (another open of the directory) is refused with the caller's
// line, the lock is free again once its holder ends, and a directory that cannot be opened is named
// (kills a shared lock, a lock never released and an inverted errno test).
TEST_F(FileIo, ADirectoryLockRefusesASecondHolderUntilTheFirstEnds) {
  {
    const base::DirectoryLock first(dir_, "in use");
    EXPECT_EQ(error_of([&] { base::DirectoryLock second(dir_, "in use"); }), "in use");
  }
  EXPECT_NO_THROW(base::DirectoryLock again(dir_, "in use"));
  EXPECT_EQ(error_of([&] { base::DirectoryLock none(path("none"), "in use"); }),
            path("none") + ": cannot open the directory (" + std::strerror(ENOENT) + ")");
}

// not_a_directory names what a link leads to: a link to a file is "a file", a dangling one "leads
// nowhere" (kills the file test made on the link itself).
TEST_F(FileIo, NotADirectoryNamesWhatALinkLeadsTo) {
  base::write_file_atomic(path("f"), "x");
  std::filesystem::create_symlink(path("f"), path("to_file"));
  std::filesystem::create_symlink(path("none"), path("dangling"));
  EXPECT_EQ(base::not_a_directory(path("f")), "is a file, not a directory");
  EXPECT_EQ(base::not_a_directory(path("to_file")), "is a file, not a directory");
  EXPECT_EQ(base::not_a_directory(path("dangling")), "is a symbolic link that loops or leads nowhere");
  EXPECT_EQ(base::not_a_directory(path("none")), "does not exist");
}

}  // namespace
