// datasets/cifar10.h — the official CIFAR-10 binary format ("cifar-10-batches-bin").
//
// Promise: each .bin file is a whole number of 3,073-byte records — 1 label byte (0..9),
// then the 32×32 R plane, G plane and B plane (1,024 bytes each) — which is already the
// (C, H, W) layout of a Dataset image, so records are copied plane for plane.
// Every file read is checked (a regular file, non-empty, size a multiple of 3073 and at most
// kMaxCifarRecordsPerFile records — the size checked before anything is read —, labels <= 9)
// and any defect throws base::Error naming the file.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace datasets {

constexpr int kCifarSide = 32;
constexpr size_t kCifarImageBytes = 3 * 32 * 32;            // 3072
constexpr size_t kCifarRecordBytes = 1 + kCifarImageBytes;  // 3073
constexpr size_t kMaxCifarRecordsPerFile = 600000;          // 1.84 GB; ten times all of CIFAR-10; also the training batches' in all
constexpr size_t kMaxCifarMetaBytes = 1 << 20;              // batches.meta.txt

// Reads DIR/data_batch_1.bin … data_batch_5.bin (in that order) as train and
// DIR/test_batch.bin as test.  data_batch_1.bin and test_batch.bin are required; a
// missing later batch is skipped (a partial copy such as a subset still loads), but
// every batch that exists must be valid, and together they hold at most kMaxCifarRecordsPerFile records
// (checked from their sizes before any is read).  Class names come from DIR/batches.meta.txt
// (one per line, blank lines ignored, at least 10, the first 10 valid UTF-8: an error names the
// line), or the standard ten if it is absent.  With `test` false the test half is not read (nor
// required): it comes back with no images; likewise the training batches with `train` false.
DataSplit load_cifar10(const std::string& dir, bool test = true, bool train = true);

// One .bin file read a chunk of records at a time: the file's checks (a regular file, non-empty, a
// whole number of records, at most kMaxCifarRecordsPerFile) run when it is opened, before a byte is
// read; each chunk's labels are checked before d is touched, so a bad chunk leaves d as it was.
// Memory: one chunk.  The monitor streams its input through it (README "Monitoring").
class Cifar10File {
 public:
  explicit Cifar10File(const std::string& path);
  ~Cifar10File();
  Cifar10File(const Cifar10File&) = delete;
  Cifar10File& operator=(const Cifar10File&) = delete;
  size_t records() const { return records_; }
  // Appends the next min(n, records left) records to d (3×32×32); returns how many.
  size_t read(size_t n, Dataset& d);

 private:
  std::string path_;
  FILE* file_ = nullptr;
  size_t records_ = 0, done_ = 0;
  std::vector<uint8_t> chunk_;
};

// Appends the records of one .bin file to d (d.channels/height/width must be 3/32/32).
// Exposed for tests and tools; load_cifar10 is the normal entry point.
void append_cifar10_file(const std::string& path, Dataset& d);
// DIR's CIFAR-10 shape and class names (batches.meta.txt, as load_cifar10 reads them) and no images;
// `files` holds the meta file when there is one.  Throws base::Error when DIR is not a directory.
Dataset cifar10_header(const std::string& dir);
// "" when d can be written as CIFAR-10 records (3×32×32 images, labels 0..9, 10 class names), else
// what is wrong, as a phrase ("images are 1x28x28, expected 3x32x32").
std::string cifar10_problem(const Dataset& d);
// Writes split as DIR/data_batch_1.bin (every training image), DIR/test_batch.bin and
// DIR/batches.meta.txt (the class names), each atomically (base/fileio.h), after checking both
// halves with cifar10_problem (base::Error naming DIR and the problem, before anything is written).
// load_cifar10(DIR) reads back the same images, labels and class names.
void write_cifar10(const std::string& dir, const DataSplit& split);

}  // namespace datasets
