// bench/bench_image_folder.cpp — `--data images:DIR` (datasets/image_folder.h) on 10,000 PNGs.
//
// What is measured: load_image_folder on a folder this benchmark writes once into a temporary
// directory: kFolderImages 32×32 RGB PNGs (real-looking content: smooth gradients plus noise, so
// the PNGs compress as photos do, not as flat colour), 10 class folders, the seeded 0.2 split.
// Both passes are counted (headers and digest, then decoding and the (C, H, W) transpose).
// Beside it, the baseline: the CIFAR-10 binary reader on the same count of 32×32 RGB images (one
// data_batch_1.bin of 8,000 records and a test_batch.bin of 2,000, written once), which decodes
// nothing.  Counter: images/s per wall-clock second.  The folders are removed at exit.
#include <benchmark/benchmark.h>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "datasets/cifar10.h"
#include "datasets/image_folder.h"
#include "nn/rng.h"

namespace {

constexpr int kFolderImages = 10000;

struct Folder {
  std::string dir;
  Folder() {
    char name[] = "/tmp/nnfmri_bench_images.XXXXXX";
    dir = mkdtemp(name);
    nn::Rng rng(17);
    std::vector<uint8_t> rgb(32 * 32 * 3);
    for (int i = 0; i < kFolderImages; ++i) {
      const std::string cls = dir + "/class" + std::to_string(i % 10);
      std::filesystem::create_directories(cls);
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
          for (int c = 0; c < 3; ++c)
            rgb[size_t((y * 32 + x) * 3 + c)] = uint8_t((x * (c + 1) + y * (3 - c) + i) % 200 + int(rng.below(40)));
      stbi_write_png((cls + "/" + std::to_string(i) + ".png").c_str(), 32, 32, 3, rgb.data(), 32 * 3);
    }
  }
  ~Folder() { std::filesystem::remove_all(dir); }
};

void BM_ImageFolder(benchmark::State& state) {
  static const Folder folder;
  for (auto _ : state) benchmark::DoNotOptimize(datasets::load_image_folder(folder.dir, {}));
  state.counters["images/s"] = benchmark::Counter(double(kFolderImages) * double(state.iterations()), benchmark::Counter::kIsRate);
}
struct CifarFolder {
  std::string dir;
  CifarFolder() {
    char name[] = "/tmp/nnfmri_bench_cifar.XXXXXX";
    dir = mkdtemp(name);
    nn::Rng rng(18);
    auto write = [&](const std::string& file, int records) {
      std::string bytes(size_t(records) * 3073, '\0');
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i % 3073 == 0 ? rng.below(10) : rng.below(256));
      FILE* f = std::fopen((dir + "/" + file).c_str(), "wb");
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    };
    write("data_batch_1.bin", kFolderImages * 8 / 10);
    write("test_batch.bin", kFolderImages * 2 / 10);
  }
  ~CifarFolder() { std::filesystem::remove_all(dir); }
};

void BM_Cifar10Baseline(benchmark::State& state) {
  static const CifarFolder folder;
  for (auto _ : state) benchmark::DoNotOptimize(datasets::load_cifar10(folder.dir));
  state.counters["images/s"] = benchmark::Counter(double(kFolderImages) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Cifar10Baseline)->Name("datasets/cifar10_binary/10000_32x32")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(BM_ImageFolder)->Name("datasets/image_folder/10000_png_32x32")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
