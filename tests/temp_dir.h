// tests/temp_dir.h — a fresh directory per test under gtest's temp dir, removed afterwards.
#pragma once
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "nnfmri_" + info->test_suite_name() + "_" + info->name() + "_" +
           std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<std::string> files() const {  // the names in the directory, unordered
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    return names;
  }
  std::string dir_;
};

// A TempDirTest run on 2 OpenMP threads (the training-run tests pin the count: the same seed and
// thread count give the same bytes); the caller's count is restored afterwards.
class TwoThreadTempDirTest : public TempDirTest {
 protected:
  int saved_threads_ = omp_get_max_threads();
  void SetUp() override {
    TempDirTest::SetUp();
    omp_set_num_threads(2);
  }
  void TearDown() override {
    omp_set_num_threads(saved_threads_);
    TempDirTest::TearDown();
  }
};
