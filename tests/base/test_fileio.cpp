// tests/base/test_fileio.cpp — the atomic writer: the temporary name `path.tmp.<pid>` is predictable,
// so a file or a symbolic link already standing there must be replaced, never written through.
#include "base/fileio.h"

#include <dirent.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

// What fsync flushed while a test listens (the paths of the descriptors, from /proc/self/fd): this
// binary's fsync stands in front of libc's, which it calls.
namespace {
std::vector<std::string>* flushed = nullptr;
}  // namespace

extern "C" int fsync(int fd) {
  if (flushed) {
    char target[4096];
    const ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target);
    if (n > 0) flushed->emplace_back(target, size_t(n));
  }
  static const auto real = reinterpret_cast<int (*)(int)>(::dlsym(RTLD_NEXT, "fsync"));
  return real(fd);
}

namespace {

class FileIo : public TempDirTest {};

// A write is on disk with its name: the file is flushed before the rename and its folder after it, and
// a folder made for it is flushed into its parent (a power loss could undo a rename or a mkdir whose
// folder was never flushed; before 2026-12-04 only the file was).
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

// read_file holds a file once: before 2026-12-05 it doubled its string to look for bytes past the
// size it had opened (a file that grew), so a 40 MB checkpoint touched 120 MB at once and kept 80.
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
