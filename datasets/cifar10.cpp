// datasets/cifar10.cpp — see cifar10.h.
#include "datasets/cifar10.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "base/fileio.h"
#include "base/text.h"

namespace datasets {
namespace {

namespace fs = std::filesystem;

std::string join(const std::string& dir, const std::string& file) {
  return (fs::path(dir) / file).string();
}

const std::vector<std::string> kStandardCifarNames = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

std::vector<std::string> read_class_names(const std::string& dir, std::vector<std::string>& files) {
  const std::string path = join(dir, "batches.meta.txt");
  // Absent: the standard names.  There in any other form (a dangling link, a directory): refused, not
  // taken as absent (a moved names file would have given the run the standard names without a word).
  if (!base::optional_file("cifar10", path, "a text file of 10 class names, one per line")) return kStandardCifarNames;
  std::istringstream in(base::read_file(path, kMaxCifarMetaBytes));
  std::vector<std::string> names;
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    // Strip a Windows line ending and surrounding blanks; blank lines are padding.
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    if (names.size() < 10 && !base::is_utf8(line))  // a class name goes into JSON (the run, the checkpoint's header)
      throw base::Error("cifar10: " + path + ": line " + std::to_string(number) + ": \"" +
                        base::utf8_escaped(line.substr(0, 40)) + (line.size() > 40 ? "...\"" : "\"") +
                        " is not valid UTF-8, expected a class name in UTF-8");
    const size_t last = line.find_last_not_of(" \t\r");
    const std::string name = line.substr(first, last - first + 1);
    if (names.size() < 10)  // labels index the names: two classes of one name could not be told apart
      for (size_t c = 0; c < names.size(); ++c)
        if (names[c] == name)
          throw base::Error("cifar10: " + path + ": line " + std::to_string(number) + ": class name \"" +
                            base::utf8_escaped(base::utf8_prefix(name, 40)) + "\" appears twice (also class " + std::to_string(c) +
                            "), expected 10 different names");
    names.push_back(name);
  }
  if (names.size() < 10)
    throw base::Error("cifar10: " + path + ": has " + std::to_string(names.size()) +
                    " class names, expected 10 (one per line)");
  names.resize(10);  // labels are 0..9; extra lines cannot name any class
  files.push_back(path);
  return names;
}

Dataset empty_cifar(const std::vector<std::string>& class_names) {
  Dataset d;
  d.name = "cifar10";
  d.channels = 3;
  d.height = d.width = kCifarSide;
  d.class_names = class_names;
  return d;
}

}  // namespace

Cifar10File::Cifar10File(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw base::Error("cifar10: " + path + ": " + base::not_a_file(path) + " (expected a regular file of 3073-byte records)");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw base::Error("cifar10: " + path + ": cannot get size: " + ec.message());
  if (size == 0) throw base::Error("cifar10: " + path + ": file is empty, expected 3073-byte records");
  if (size % kCifarRecordBytes != 0)
    throw base::Error("cifar10: " + path + ": size " + std::to_string(size) + " is not a whole number of 3073-byte records");
  if (size / kCifarRecordBytes > kMaxCifarRecordsPerFile)
    throw base::Error("cifar10: " + path + ": " + std::to_string(size / kCifarRecordBytes) + " records, expected at most " +
                      std::to_string(kMaxCifarRecordsPerFile) + " per file");
  records_ = size_t(size / kCifarRecordBytes);
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw base::Error("cifar10: " + path + ": cannot open: " + std::strerror(errno));
}

Cifar10File::~Cifar10File() {
  if (file_) std::fclose(file_);
}

// A file that shrinks while we read it shows up as a short read rather than garbage.
size_t Cifar10File::read(size_t n, Dataset& d) {
  n = std::min(n, records_ - done_);
  if (n == 0) return 0;
  chunk_.resize(n * kCifarRecordBytes);
  const size_t got = std::fread(chunk_.data(), 1, chunk_.size(), file_);
  if (got != chunk_.size() || std::ferror(file_))
    throw base::Error("cifar10: " + path_ + ": read error after " + std::to_string(done_ * kCifarRecordBytes + got) +
                      " of " + std::to_string(records_ * kCifarRecordBytes) + " bytes");
  for (size_t i = 0; i < n; ++i) {
    const uint8_t label = chunk_[i * kCifarRecordBytes];
    if (label > 9)
      throw base::Error("cifar10: " + path_ + ": record " + std::to_string(done_ + i) + " has label " +
                        std::to_string(label) + ", expected 0..9");
  }
  const size_t old_count = d.labels.size();
  d.labels.resize(old_count + n);
  d.pixels.resize((old_count + n) * kCifarImageBytes);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* record = chunk_.data() + i * kCifarRecordBytes;
    d.labels[old_count + i] = record[0];
    // The record's R, G, B planes are already (C, H, W).
    std::memcpy(d.pixels.data() + (old_count + i) * kCifarImageBytes, record + 1, kCifarImageBytes);
  }
  done_ += n;
  return n;
}

void append_cifar10_file(const std::string& path, Dataset& d) {
  Cifar10File file(path);
  file.read(file.records(), d);
  d.files.push_back(path);
}

Dataset cifar10_header(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw base::Error("cifar10: directory " + dir + " " + base::not_a_directory(dir) + " (expected cifar-10-batches-bin)");
  std::vector<std::string> meta_files;
  Dataset d = empty_cifar(read_class_names(dir, meta_files));
  d.files = meta_files;
  return d;
}

DataSplit load_cifar10(const std::string& dir, bool test, bool train) {
  std::error_code ec;
  DataSplit split{cifar10_header(dir), cifar10_header(dir)};
  // The batches are opened (each file's checks) and their records counted before any is read: five
  // files each under the per-file cap would otherwise be 9 GB in memory.
  std::vector<std::pair<std::string, std::unique_ptr<Cifar10File>>> batches;
  size_t records = 0;
  for (int b = 1; train && b <= 5; ++b) {
    const std::string path = join(dir, "data_batch_" + std::to_string(b) + ".bin");
    // Batch 1 is required (Cifar10File reports it missing); later ones are optional, but a name
    // that is there in any form (a dangling link, a directory) is read, and refused, not skipped.
    if (b > 1 && fs::symlink_status(path, ec).type() == fs::file_type::not_found) continue;
    batches.emplace_back(path, std::make_unique<Cifar10File>(path));
    records += batches.back().second->records();
  }
  if (records > kMaxCifarRecordsPerFile)
    throw base::Error("cifar10: " + dir + ": the training batches hold " + std::to_string(records) +
                      " records in all, expected at most " + std::to_string(kMaxCifarRecordsPerFile));
  for (const auto& [path, file] : batches) {
    file->read(file->records(), split.train);
    split.train.files.push_back(path);
  }
  if (test) append_cifar10_file(join(dir, "test_batch.bin"), split.test);
  return split;
}

std::string cifar10_problem(const Dataset& d) {
  if (d.channels != 3 || d.height != kCifarSide || d.width != kCifarSide)
    return "images are " + std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" + std::to_string(d.width) +
           ", expected 3x32x32";
  if (d.num_classes() != 10) return std::to_string(d.num_classes()) + " classes, expected 10";
  // batches.meta.txt is read a line per name without the blanks around it (read_class_names): a name
  // that would not come back as written would rename the classes (a line break shifts every later one).
  for (size_t c = 0; c < d.class_names.size(); ++c) {
    const std::string& name = d.class_names[c];
    const std::string blanks = " \t\r";
    if (name.empty() || name.find('\n') != std::string::npos || blanks.find(name.front()) != std::string::npos ||
        blanks.find(name.back()) != std::string::npos)
      return "class " + std::to_string(c) + " \"" + name + "\" would not read back from batches.meta.txt, expected a name on one line " +
             "without blanks at its ends";
  }
  for (const uint8_t label : d.labels)
    if (label > 9) return "label " + std::to_string(label) + ", expected 0..9";
  if (d.size() > kMaxCifarRecordsPerFile)
    return std::to_string(d.size()) + " images, expected at most " + std::to_string(kMaxCifarRecordsPerFile);
  return "";
}

void write_cifar10(const std::string& dir, const DataSplit& split) {
  for (const Dataset* d : {&split.train, &split.test}) {
    const std::string problem = cifar10_problem(*d);
    if (!problem.empty()) throw base::Error("cifar10: cannot write " + dir + ": " + problem);
    if (d->size() == 0) throw base::Error("cifar10: cannot write " + dir + ": a split without images");
  }
  base::make_directories(dir);
  // All three names are checked before the first is written: a directory at test_batch.bin left a new
  // data_batch_1.bin and batches.meta.txt beside whatever the folder held.
  for (const char* name : {"batches.meta.txt", "data_batch_1.bin", "test_batch.bin"}) base::require_writable(join(dir, name));
  std::string names;
  for (const std::string& name : split.train.class_names) names += name + "\n";
  const auto records = [](const Dataset& d) {
    std::string bytes;
    bytes.reserve(d.size() * kCifarRecordBytes);
    for (size_t i = 0; i < d.size(); ++i) {
      bytes += char(d.labels[i]);
      bytes.append(reinterpret_cast<const char*>(d.pixels.data() + i * kCifarImageBytes), kCifarImageBytes);
    }
    return bytes;
  };
  base::write_file_atomic(join(dir, "batches.meta.txt"), names);
  base::write_file_atomic(join(dir, "data_batch_1.bin"), records(split.train));
  base::write_file_atomic(join(dir, "test_batch.bin"), records(split.test));
}

}  // namespace datasets
