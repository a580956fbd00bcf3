// datasets/dataset.h — an owned, in-memory labelled image set and the one entry point
// that turns a --data spec into a train/test pair.
//
// Promise: a Dataset owns its bytes; pixels are (N, C, H, W) row-major 0..255, every
// label is < num_classes(), and `files` lists every file that was read (as given), so a
// run can record where its data came from.  Every bad spec, missing file or malformed
// file is reported as base::Error with a one-line message naming the file/value.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/data.h"

namespace datasets {

struct Dataset {
  std::string name;                      // "cifar10", "fashion-mnist", "mnist", "planted"
  int channels = 0, height = 0, width = 0;
  std::vector<std::string> class_names;  // num_classes = class_names.size()
  std::vector<uint8_t> pixels;           // (N, C, H, W), 0..255
  std::vector<uint8_t> labels;           // (N)
  std::vector<std::string> files;        // every file read (absolute or as given), for provenance
  std::string digest;                    // images:DIR: `files` is {DIR} and this the SHA-256 of its
                                         // images (datasets/image_folder.h); else empty
  std::string read_as;                   // images:DIR: how (channels, size, resize, split); else empty
  std::vector<std::string> image_names;  // images:DIR: each image's path under DIR, as listed (N); else empty
  bool labelled = true;                  // false: an images:DIR folder of images without class folders
                                         // (LoadOptions::unlabelled_ok): labels are 0 placeholders, no class names

  size_t size() const { return labels.size(); }
  int num_classes() const { return int(class_names.size()); }
  size_t image_size() const { return size_t(channels) * height * width; }  // C*H*W
  // A non-owning view for nn/; valid while this Dataset is alive and unmodified.
  nn::LabeledImages view() const;
  // Keep the first n images (used by --limit-train/--limit-test); n >= size() is a no-op.
  void truncate(size_t n);
};

struct DataSplit {
  Dataset train, test;
};

// How images:DIR is read (--resize, --split, --split-seed); the other data sets take none.
struct LoadOptions {
  int resize_h = 0, resize_w = 0;
  double split = 0.2;
  uint64_t split_seed = 1;
  bool rgb = false;  // images:DIR: 3 channels even when every image is grayscale (ImageFolderOptions::rgb)
  // The training half alone: the test half's files are not read nor required (cifar10: test_batch.bin;
  // mnist, fashion-mnist: the t10k files; images:DIR: test/ beside train/, and of a folder of class
  // folders the test share's images; planted: no test image is generated); it comes back with no images.
  bool train_only = false;
  // The test half alone (eval, analyze, monitor's --input), the mirror of train_only: cifar10's
  // data_batch_N.bin, mnist's train files, images:DIR's train/ (or training share) and planted's
  // training images are neither read (nor generated) nor required; the training half comes back with
  // no images.  A folder of class folders is still split: the split needs every image's name, but
  // only the test share's images are read.
  bool test_only = false;
  // images:DIR with test_only (monitor's --input, a stream of images to score): a DIR that holds PNG and
  // JPEG files and no subfolder (no class folders, no train/ or test/) is read whole as unlabelled test
  // images, in name order (Dataset::labelled false).  Without it such a DIR is refused: there is no label.
  bool unlabelled_ok = false;
};

// spec: "cifar10:DIR" | "cifar10" | "fashion-mnist[:DIR]" | "mnist:DIR" | "planted[:SEED[,option...]]" (datasets/planted.h: planted_config_from) |
//       "images:DIR".
//  - "cifar10" with no DIR looks in $NNFMRI_DATA/cifar-10-batches-bin, then
//    ./data/cifar-10-batches-bin (the first that holds test_batch.bin wins).
//  - "fashion-mnist" with no DIR reads /usr/share/datasets/fashion-mnist
//    (Debian package dataset-fashion-mnist).
//  - "planted" is the synthetic set of datasets/planted.h with default geometry; SEED
//    defaults to 1.
//  - "images:DIR" is a folder of PNG/JPEG files, one subfolder per class (datasets/image_folder.h).
// Errors name the spec or the file, not a flag: the caller knows which flag gave the spec (apps/: data_error).
DataSplit load_dataset(const std::string& spec, const LoadOptions& options = {});

// The spec with the folder it names made absolute (std::filesystem::absolute, lexically normal), so
// that it reads the same data from any working directory: "cifar10:../data/c" run in /home/u/x gives
// "cifar10:/home/u/data/c"; "cifar10" alone gives "cifar10:" and the folder it is read from now; planted's
// background=DIR too.  A spec that names no folder ("planted:3", "fashion-mnist") is returned as it is,
// as is "cifar10" when no default folder holds the data.  config.json records it as data.absolute_spec.
std::string absolute_spec(const std::string& spec);

class Cifar10File;
class ImageFolder;

// The test half of a data spec, handed out batch by batch (the monitor's input, README "Monitoring").
// "cifar10[:DIR]" is streamed from DIR/test_batch.bin (datasets/cifar10.h: Cifar10File): memory is
// one batch, whatever the number of images, and the training batches are never read.  "images:DIR" is
// listed and every header checked first (datasets/image_folder.h: ImageFolder), then each batch is
// decoded when it is asked for: memory is one batch of pixels and the list of files.  Every other spec
// is loaded once with load_dataset's test_only (its training half neither read nor required) and
// handed out from memory.
// `limit` > 0 keeps the first `limit` images (--limit-test).
class TestStream {
 public:
  TestStream(const std::string& spec, const LoadOptions& options, size_t limit);
  ~TestStream();
  // Name, shape, class names and files; no images.
  const Dataset& header() const { return header_; }
  size_t size() const { return total_; }  // images it hands out in all
  // Replaces batch with the next min(max, left) images (shape and names of header()); returns how many
  // (0 once every image was handed out).
  size_t next(size_t max, Dataset& batch);

 private:
  Dataset header_, loaded_;
  std::unique_ptr<Cifar10File> file_;
  std::unique_ptr<ImageFolder> folder_;
  size_t total_ = 0, given_ = 0;
};

// Per-channel mean and population standard deviation of d's pixels scaled to [0,1].
// Sums are exact integers, the final division is in double.  Output: C floats each.
// A constant channel gives stddev 0 (callers dividing by it must guard).
// Throws base::Error if d is empty.
void channel_mean_std(const Dataset& d, std::vector<float>& mean, std::vector<float>& stddev);

}  // namespace datasets
