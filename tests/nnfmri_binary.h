// tests/nnfmri_binary.h — the path of build/nnfmri beside this test binary (build/san/nnfmri for the
// sanitizer build), for the tests that run the command as a user does, in a child process.
#pragma once
#include <limits.h>
#include <unistd.h>

#include <string>

inline std::string nnfmri_binary() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string dir(self, size_t(n));
  return dir.substr(0, dir.rfind('/')) + "/nnfmri";
}
