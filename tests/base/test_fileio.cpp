// tests/base/test_fileio.cpp — the atomic writer: the temporary name `path.tmp.<pid>` is predictable,
// so a file or a symbolic link already standing there must be replaced, never written through.
#include "base/fileio.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/temp_dir.h"

namespace {

class FileIo : public TempDirTest {};

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

}  // namespace
