// tests/fuzz/fuzz_eeg.cpp — the report's NN-EEG readers on hostile files: report::load_eeg (every
// eeg/epoch_NNN.json), report::load_eeg_traces (eeg/channels.json and the per-step rows
// eeg/epoch_NNN.npy) and base::read_npy_2d alone.
//
// Input: sections "@@<k>\n<file bytes>", k naming the file of the run directory (kFiles).  The harness
// writes them into a scratch run directory, reads the EEG files as the report does (small trace caps,
// so that the min–max envelope is exercised), and reads epoch 1's .npy directly.  Every refusal must
// be one line naming a file of the run directory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/npz.h"
#include "report/report_eeg.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const char* const kFiles[] = {"eeg/channels.json", "eeg/epoch_001.json", "eeg/epoch_001.npy", "eeg/epoch_002.json",
                              "eeg/epoch_002.npy"};
constexpr int kFileCount = int(sizeof kFiles / sizeof kFiles[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::reset();
  const std::string run_dir = fuzz::scratch() + "/run";
  fuzz::fs::create_directories(run_dir);
  for (const std::string& part : fuzz::split(std::string(reinterpret_cast<const char*>(data), size), "@@")) {
    if (part.size() < 2 || part[0] < '0' || part[0] >= '0' + kFileCount || part[1] != '\n') continue;
    fuzz::write(std::string("run/") + kFiles[part[0] - '0'], part.substr(2));
  }
  fuzz::expect_clean(
      [&] {
        const std::vector<report::EegEpoch> eeg = report::load_eeg(run_dir);
        std::vector<std::string> names;
        for (const report::EegEpoch& e : eeg)
          for (const report::EegBlock& b : e.blocks)
            if (std::find(names.begin(), names.end(), b.name) == names.end()) names.push_back(b.name);
        report::load_eeg_traces(run_dir, eeg, names, names, 3, 16);
      },
      {run_dir});
  const std::string rows = run_dir + "/" + kFiles[2];
  if (fuzz::fs::exists(rows)) fuzz::expect_clean([&] { base::read_npy_2d(rows, 4096); }, {rows});
  return 0;
}
