// datasets/idx.cpp — see idx.h.
#include "datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "base/fileio.h"

namespace datasets {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr int kSide = 28;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// One open IDX file, plain or gzip (RFC 1952, told apart by the gzip magic 1f 8b), read as a stream;
// `where` ("mnist: /dir/file.gz") prefixes every message.  A gzip file is one or more gzip members
// and nothing else: bytes after the last member that do not start another one are refused (gzread
// would skip them), as are a truncated or corrupt stream and a bad CRC.
struct IdxReader {
  std::string path, where;
  std::unique_ptr<FILE, FileCloser> file;
  bool gzip = false, member_done = false, file_done = false;
  z_stream zs{};
  std::vector<uint8_t> input = std::vector<uint8_t>(1 << 17);
  size_t input_begin = 0, input_end = 0;  // unread bytes of `input`

  IdxReader(const std::string& path_, const std::string& dataset_name)
      : path(path_), where(dataset_name + ": " + path_), file(std::fopen(path_.c_str(), "rb")) {
    if (!file) throw base::Error(where + ": cannot open: " + std::strerror(errno));
    refill(2);
    gzip = input_end >= 2 && input[0] == 0x1f && input[1] == 0x8b;
    if (gzip && inflateInit2(&zs, 15 + 16) != Z_OK) throw base::Error(where + ": cannot start zlib");
  }
  ~IdxReader() {
    if (gzip) inflateEnd(&zs);
  }
  IdxReader(const IdxReader&) = delete;
  IdxReader& operator=(const IdxReader&) = delete;

  // Reads from the file until at least `want` unread bytes are buffered or the file ends.
  void refill(size_t want) {
    if (input_begin > 0) {
      std::memmove(input.data(), input.data() + input_begin, input_end - input_begin);
      input_end -= input_begin;
      input_begin = 0;
    }
    while (!file_done && input_end < want) {
      const size_t got = std::fread(input.data() + input_end, 1, input.size() - input_end, file.get());
      if (got == 0) {
        if (std::ferror(file.get())) throw base::Error(where + ": read error");
        file_done = true;
      }
      input_end += got;
    }
  }

  // Reads up to n bytes and returns how many arrived (fewer only at end of data).
  size_t read_up_to(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      if (input_begin == input_end) refill(1);
      const size_t buffered = input_end - input_begin;
      if (!gzip) {
        if (buffered == 0) break;
        const size_t take = std::min(buffered, n - done);
        std::memcpy(dst + done, input.data() + input_begin, take);
        input_begin += take, done += take;
        continue;
      }
      if (member_done) {  // the end of the data, or the start of another gzip member
        if (buffered < 2) refill(2);
        if (input_begin == input_end) break;
        if (input_end - input_begin < 2 || input[input_begin] != 0x1f || input[input_begin + 1] != 0x8b)
          throw base::Error(where + ": trailing bytes after the end of the gzip stream (not another gzip member)");
        if (inflateReset(&zs) != Z_OK) throw base::Error(where + ": cannot restart zlib");
        member_done = false;
      }
      zs.next_in = input.data() + input_begin;
      zs.avail_in = uInt(input_end - input_begin);
      zs.next_out = dst + done;
      zs.avail_out = uInt(std::min<size_t>(n - done, 1u << 30));
      const int rc = inflate(&zs, Z_NO_FLUSH);
      input_begin = input_end - zs.avail_in;
      done = size_t(zs.next_out - dst);
      if (rc == Z_STREAM_END) {
        member_done = true;
      } else if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_in == 0)) {
        if (input_begin == input_end && file_done) throw base::Error(where + ": truncated gzip stream");
      } else if (rc != Z_OK) {
        throw base::Error(where + ": read error: corrupt gzip stream (" + (zs.msg ? std::string(zs.msg) : "zlib error " + std::to_string(rc)) + ")");
      }
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

// DIR/base.gz if present, else DIR/base (either may be plain or gzip).  A .gz there in any other form
// (a dangling link, a directory) is refused, not skipped: skipping it would read the plain file
// beside it, perhaps older data, without a word; so is a plain file that is not a file.
std::string find_idx_file(const std::string& dir, const std::string& base, const std::string& name) {
  const std::string gz = (fs::path(dir) / (base + ".gz")).string();
  if (base::optional_file(name, gz, "a gzip or plain IDX file; remove it to read " + base + " instead")) return gz;
  const std::string plain = (fs::path(dir) / base).string();
  if (base::optional_file(name, plain, "a gzip or plain IDX file")) return plain;
  throw base::Error(name + ": " + gz + ": file not found (nor " + plain + ")");
}

// Fills d.pixels and d.labels from one images file and one labels file.
void read_idx_pair(const std::string& images_path, const std::string& labels_path, Dataset& d) {
  IdxReader images(images_path, d.name);
  const std::vector<uint32_t> dims = images.header(kImagesMagic, 3, "images");  // count, rows, cols
  if (dims[1] != uint32_t(kSide) || dims[2] != uint32_t(kSide))
    throw base::Error(images.where + ": images are " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                    ", expected 28x28");
  if (dims[0] > kMaxIdxImages)
    throw base::Error(images.where + ": " + std::to_string(dims[0]) + " images, expected at most " +
                      std::to_string(kMaxIdxImages) + " per file");
  // Both headers before any payload: a count mismatch costs nothing to find.
  IdxReader labels(labels_path, d.name);
  const uint32_t label_count = labels.header(kLabelsMagic, 1, "labels")[0];
  if (label_count != dims[0])
    throw base::Error(d.name + ": " + images_path + " has " + std::to_string(dims[0]) + " images but " +
                    labels_path + " has " + std::to_string(label_count) + " labels");
  d.pixels = images.payload(size_t(dims[0]) * kSide * kSide, "pixels");
  d.labels = labels.payload(label_count, "labels");
  for (size_t i = 0; i < d.labels.size(); ++i)
    if (d.labels[i] > 9)
      throw base::Error(labels.where + ": label " + std::to_string(i) + " is " + std::to_string(d.labels[i]) +
                      ", expected 0..9");
  d.files.push_back(images_path);
  d.files.push_back(labels_path);
}

}  // namespace

DataSplit load_idx_dir(const std::string& dir, const std::string& name, bool test, bool train) {
  std::vector<std::string> class_names;
  if (name == "fashion-mnist")
    class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  else if (name == "mnist")
    class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  else
    throw base::Error("idx: dataset name '" + name + "' is not known, expected mnist or fashion-mnist");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw base::Error(name + ": directory " + dir + " " + base::not_a_directory(dir));

  DataSplit split;
  for (Dataset* d : {&split.train, &split.test}) {
    d->name = name;
    d->channels = 1;
    d->height = d->width = kSide;
    d->class_names = class_names;
  }
  if (train)
    read_idx_pair(find_idx_file(dir, "train-images-idx3-ubyte", name),
                  find_idx_file(dir, "train-labels-idx1-ubyte", name), split.train);
  if (test)
    read_idx_pair(find_idx_file(dir, "t10k-images-idx3-ubyte", name),
                  find_idx_file(dir, "t10k-labels-idx1-ubyte", name), split.test);
  return split;
}

}  // namespace datasets
