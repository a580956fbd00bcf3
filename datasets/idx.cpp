// datasets/idx.cpp — see idx.h.
#include "datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/error.h"

namespace datasets {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr int kSide = 28;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// One open IDX file; `where` ("mnist: /dir/file.gz") prefixes every message.
struct IdxReader {
  std::string path, where;
  GzFile file;

  IdxReader(const std::string& path_, const std::string& dataset_name)
      : path(path_), where(dataset_name + ": " + path_), file(gzopen(path_.c_str(), "rb")) {
    if (!file) throw base::Error(where + ": cannot open");
    gzbuffer(file.get(), 1 << 17);
  }

  // Reads up to n bytes and returns how many arrived (fewer only at end of data).
  size_t read_up_to(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      // gzread takes an unsigned length and returns int, so go in bounded chunks.
      const unsigned chunk = unsigned(std::min<size_t>(n - done, 1u << 20));
      const int got = gzread(file.get(), dst + done, chunk);
      if (got < 0) {
        int errnum = 0;
        std::string message = gzerror(file.get(), &errnum);
        if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);  // zlib prepends the path
        throw base::Error(where + ": read error: " + message);
      }
      if (got == 0) break;
      done += size_t(got);
    }
    return done;
  }

  // The big-endian 32-bit header words after the magic.
  std::vector<uint32_t> header(uint32_t expected_magic, size_t dims, const char* what) {
    uint8_t raw[4 * 4];
    const size_t want = 4 * (1 + dims);
    const size_t got = read_up_to(raw, want);
    if (got < want)
      throw base::Error(where + ": " + std::to_string(got) + " bytes is too short for an IDX " + what +
                      " header of " + std::to_string(want) + " bytes");
    std::vector<uint32_t> words(1 + dims);
    for (size_t i = 0; i < words.size(); ++i)
      words[i] = uint32_t(raw[4 * i]) << 24 | uint32_t(raw[4 * i + 1]) << 16 |
                 uint32_t(raw[4 * i + 2]) << 8 | uint32_t(raw[4 * i + 3]);
    if (words[0] != expected_magic) {
      char msg[96];
      std::snprintf(msg, sizeof msg, ": magic 0x%08x, expected 0x%08x (IDX %s)", unsigned(words[0]),
                    unsigned(expected_magic), what);
      throw base::Error(where + msg);
    }
    words.erase(words.begin());
    return words;
  }

  // Exactly `expected` payload bytes and nothing after them.  The buffer grows as data
  // arrives, so a corrupt header announcing terabytes costs no more than the real data.
  std::vector<uint8_t> payload(size_t expected, const char* what) {
    std::vector<uint8_t> out;
    while (out.size() < expected) {
      const size_t old = out.size(), want = std::min<size_t>(expected - old, 1u << 22);
      out.resize(old + want);
      const size_t got = read_up_to(out.data() + old, want);
      out.resize(old + got);
      if (got < want) break;
    }
    if (out.size() != expected)
      throw base::Error(where + ": truncated: expected " + std::to_string(expected) + " bytes of " + what +
                      " after the header, got " + std::to_string(out.size()));
    uint8_t extra;
    if (read_up_to(&extra, 1) != 0)
      throw base::Error(where + ": trailing data after the " + std::to_string(expected) + " bytes of " +
                      what + " the header announces");
    return out;
  }
};

// DIR/base.gz if present, else DIR/base.
std::string find_idx_file(const std::string& dir, const std::string& base, const std::string& name) {
  std::error_code ec;
  const std::string gz = (fs::path(dir) / (base + ".gz")).string();
  if (fs::is_regular_file(gz, ec)) return gz;
  const std::string plain = (fs::path(dir) / base).string();
  if (fs::is_regular_file(plain, ec)) return plain;
  throw base::Error(name + ": " + gz + ": file not found (nor " + plain + ")");
}

// Fills d.pixels and d.labels from one images file and one labels file.
void read_idx_pair(const std::string& images_path, const std::string& labels_path, Dataset& d) {
  IdxReader images(images_path, d.name);
  const std::vector<uint32_t> dims = images.header(kImagesMagic, 3, "images");  // count, rows, cols
  if (dims[1] != uint32_t(kSide) || dims[2] != uint32_t(kSide))
    throw base::Error(images.where + ": images are " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                    ", expected 28x28");
  d.pixels = images.payload(size_t(dims[0]) * kSide * kSide, "pixels");

  IdxReader labels(labels_path, d.name);
  const uint32_t label_count = labels.header(kLabelsMagic, 1, "labels")[0];
  if (label_count != dims[0])
    throw base::Error(d.name + ": " + images_path + " has " + std::to_string(dims[0]) + " images but " +
                    labels_path + " has " + std::to_string(label_count) + " labels");
  d.labels = labels.payload(label_count, "labels");
  for (size_t i = 0; i < d.labels.size(); ++i)
    if (d.labels[i] > 9)
      throw base::Error(labels.where + ": label " + std::to_string(i) + " is " + std::to_string(d.labels[i]) +
                      ", expected 0..9");
  d.files.push_back(images_path);
  d.files.push_back(labels_path);
}

}  // namespace

DataSplit load_idx_dir(const std::string& dir, const std::string& name) {
  std::vector<std::string> class_names;
  if (name == "fashion-mnist")
    class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  else if (name == "mnist")
    class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  else
    throw base::Error("idx: dataset name '" + name + "' is not known, expected mnist or fashion-mnist");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw base::Error(name + ": directory " + dir + " does not exist");

  DataSplit split;
  for (Dataset* d : {&split.train, &split.test}) {
    d->name = name;
    d->channels = 1;
    d->height = d->width = kSide;
    d->class_names = class_names;
  }
  read_idx_pair(find_idx_file(dir, "train-images-idx3-ubyte", name),
                find_idx_file(dir, "train-labels-idx1-ubyte", name), split.train);
  read_idx_pair(find_idx_file(dir, "t10k-images-idx3-ubyte", name),
                find_idx_file(dir, "t10k-labels-idx1-ubyte", name), split.test);
  return split;
}

}  // namespace datasets
