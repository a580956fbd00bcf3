// tests/nnfmri_binary.h — the path of build/nnfmri beside this test binary (build/san/nnfmri for the
// sanitizer build), for the tests that run the command as a user does, in a child process.
#pragma once
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

inline std::string nnfmri_binary() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string dir(self, size_t(n));
  return dir.substr(0, dir.rfind('/')) + "/nnfmri";
}

// Starts `nnfmri ARGS` (ARGS[0] the command) with stdout and stderr written to the files out and err,
// in the folder cwd (empty: this process's); the child's pid, or -1 when it could not be started.
inline pid_t spawn_nnfmri(const std::vector<std::string>& args, const std::string& out, const std::string& err,
                          const std::string& cwd = "") {
  std::vector<std::string> all = {nnfmri_binary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&files, cwd.c_str());
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &files, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&files);
  return pid;
}
