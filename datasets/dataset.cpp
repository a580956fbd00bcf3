// datasets/dataset.cpp — see dataset.h.
#include "datasets/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "datasets/cifar10.h"
#include "datasets/idx.h"
#include "datasets/image_folder.h"
#include "datasets/planted.h"
#include "base/error.h"

namespace datasets {

nn::LabeledImages Dataset::view() const {
  nn::LabeledImages v;
  v.pixels = pixels.data();
  v.labels = labels.data();
  v.count = size();
  v.channels = channels;
  v.height = height;
  v.width = width;
  v.num_classes = num_classes();
  return v;
}

void Dataset::truncate(size_t n) {
  if (n >= size()) return;
  labels.resize(n);
  pixels.resize(n * image_size());
  if (!image_names.empty()) image_names.resize(n);
}

namespace {

const char* kAcceptedSpecs =
    "expected cifar10[:DIR], fashion-mnist[:DIR], mnist:DIR, planted[:SEED[,cells=N][,moving][,unequal=X][,distractor[=D]][,background=DIR]] or images:DIR";
const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";  // Debian dataset-fashion-mnist

// The first default CIFAR-10 location that holds test_batch.bin.
std::string find_cifar10_dir() {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  std::string looked;
  const char* root = std::getenv("NNFMRI_DATA");
  if (root && *root) {
    candidates.push_back((fs::path(root) / "cifar-10-batches-bin").string());
    looked = candidates.back() + " ($NNFMRI_DATA) or ";
  }
  candidates.push_back("./data/cifar-10-batches-bin");
  looked += candidates.back();
  if (!(root && *root)) looked += " ($NNFMRI_DATA is not set)";
  for (const std::string& dir : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(dir) / "test_batch.bin", ec)) return dir;
  }
  // no flag named: apps/ prefixes the one that gave the spec (--data, or monitor's --input)
  throw base::Error("cifar10: no test_batch.bin in " + looked + "; run 'make cifar10' or give its folder as cifar10:DIR");
}

// A data spec NAME[:ARG] split at its first ':' only, so that ARG (a folder) may itself hold ':'.
// with_colon: the spec has a ':'; ARG is what follows it, possibly empty ("images:", an error).
struct SpecParts {
  std::string name, arg;
  bool with_colon = false;
};

SpecParts split_spec(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return {spec, "", false};
  return {spec.substr(0, colon), spec.substr(colon + 1), true};
}

ImageFolderOptions folder_options(const LoadOptions& o) {
  return {o.resize_h, o.resize_w, o.split, o.split_seed, o.test_only, o.train_only, o.rgb, o.unlabelled_ok};
}

}  // namespace

DataSplit load_dataset(const std::string& spec, const LoadOptions& options) {
  const auto [name, arg, has_arg] = split_spec(spec);
  if (has_arg && arg.empty())
    throw base::Error("'" + spec + "': nothing after ':', " + kAcceptedSpecs);

  if (options.train_only && options.test_only) throw base::Error("load_dataset: train_only and test_only together read nothing");
  const bool test = !options.train_only, train = !options.test_only;
  if (name == "cifar10") return load_cifar10(has_arg ? arg : find_cifar10_dir(), test, train);
  if (name == "fashion-mnist") return load_idx_dir(has_arg ? arg : kFashionMnistDir, name, test, train);
  if (name == "mnist") {
    if (!has_arg) throw base::Error("'mnist': needs a directory, mnist:DIR");
    return load_idx_dir(arg, name, test, train);
  }
  if (name == "images") {
    if (!has_arg) throw base::Error("'images': needs a directory, images:DIR");
    return load_image_folder(arg, folder_options(options));
  }
  if (name == "planted") {
    PlantedConfig config = has_arg ? planted_config_from(arg) : PlantedConfig{};
    // Train and test draw from independent streams (datasets/planted.h): the half generated is the same
    if (!train) config.train_count = 0;
    if (!test) config.test_count = 0;
    return make_planted(config).split;
  }
  throw base::Error("'" + spec + "': unknown dataset, " + kAcceptedSpecs);
}

std::string absolute_spec(const std::string& spec) {
  namespace fs = std::filesystem;
  auto absolute = [](const std::string& dir) {
    std::error_code ec;
    const fs::path path = fs::absolute(dir, ec);
    return ec ? dir : path.lexically_normal().string();
  };
  const auto [name, arg, with_colon] = split_spec(spec);
  if (arg.empty()) {
    if (name != "cifar10" || with_colon) return spec;
    try {
      return "cifar10:" + absolute(find_cifar10_dir());  // the folder "cifar10" alone was read from
    } catch (const base::Error&) {
      return spec;
    }
  }
  if (name == "cifar10" || name == "fashion-mnist" || name == "mnist" || name == "images")
    return name + ":" + absolute(arg);
  if (name == "planted") {  // background=DIR is the last option, the rest of the spec (planted_config_from)
    const size_t at = arg.find(",background=");
    if (at == std::string::npos || at + 12 == arg.size()) return spec;
    return name + ":" + arg.substr(0, at + 12) + absolute(arg.substr(at + 12));
  }
  return spec;
}

TestStream::TestStream(const std::string& spec, const LoadOptions& options, size_t limit) {
  const auto [name, arg, with_colon] = split_spec(spec);
  // The test half alone (LoadOptions::test_only: the training half is neither required nor read).
  LoadOptions test_only = options;
  test_only.train_only = false, test_only.test_only = true;
  if (name == "cifar10" && (!with_colon || !arg.empty())) {
    const std::string dir = with_colon ? arg : find_cifar10_dir();
    header_ = cifar10_header(dir);
    const std::string path = (std::filesystem::path(dir) / "test_batch.bin").string();
    file_ = std::make_unique<Cifar10File>(path);
    header_.files.push_back(path);
    total_ = file_->records();
  } else if (name == "images" && !arg.empty()) {
    // An image folder: listed and every header checked now, each batch decoded when it is asked for
    folder_ = std::make_unique<ImageFolder>(arg, folder_options(test_only));
    header_ = folder_->header();
    total_ = folder_->size(true);
  } else {
    // Every other spec (and "cifar10:" or "images:" with nothing after it: load_dataset's error), loaded once
    loaded_ = load_dataset(spec, test_only).test;
    header_ = loaded_;
    header_.pixels.clear(), header_.labels.clear(), header_.image_names.clear();
    total_ = loaded_.size();
  }
  if (limit > 0) total_ = std::min(total_, limit);
}

TestStream::~TestStream() = default;

size_t TestStream::next(size_t max, Dataset& batch) {
  const size_t n = std::min(max, total_ - given_);
  batch = header_;
  if (n == 0) return 0;
  if (file_) {
    file_->read(n, batch);
  } else if (folder_) {
    folder_->read(true, given_, n, batch);
  } else {
    const size_t bytes = loaded_.image_size();
    batch.pixels.assign(loaded_.pixels.begin() + long(given_ * bytes), loaded_.pixels.begin() + long((given_ + n) * bytes));
    batch.labels.assign(loaded_.labels.begin() + long(given_), loaded_.labels.begin() + long(given_ + n));
    if (!loaded_.image_names.empty())
      batch.image_names.assign(loaded_.image_names.begin() + long(given_), loaded_.image_names.begin() + long(given_ + n));
  }
  given_ += n;
  return n;
}

void channel_mean_std(const Dataset& d, std::vector<float>& mean, std::vector<float>& stddev) {
  if (d.size() == 0 || d.channels < 1)
    throw base::Error("channel_mean_std: dataset '" + d.name + "' is empty");
  const size_t plane = size_t(d.height) * d.width;
  // Exact integer sums: even 50,000 CIFAR images give sum(x^2) ≈ 3e12, far below 2^64.
  std::vector<uint64_t> sum(size_t(d.channels), 0), sum_sq(size_t(d.channels), 0);
  const uint8_t* p = d.pixels.data();
  for (size_t i = 0; i < d.size(); ++i)
    for (int c = 0; c < d.channels; ++c) {
      uint64_t s = 0, q = 0;
      for (size_t j = 0; j < plane; ++j, ++p) s += *p, q += uint64_t(*p) * *p;
      sum[c] += s, sum_sq[c] += q;
    }
  const double n = double(d.size()) * double(plane);
  mean.assign(size_t(d.channels), 0.f);
  stddev.assign(size_t(d.channels), 0.f);
  for (int c = 0; c < d.channels; ++c) {
    const double m = double(sum[c]) / n;                         // in 0..255
    const double var = std::max(0.0, double(sum_sq[c]) / n - m * m);  // population variance
    mean[c] = float(m / 255.0);
    stddev[c] = float(std::sqrt(var) / 255.0);
  }
}

}  // namespace datasets
