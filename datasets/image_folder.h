// datasets/image_folder.h — `--data images:DIR`: a folder of PNG and JPEG files, one subfolder per
// class (torchvision's ImageFolder convention).
//
// Promise:
//  - Unlabelled (ImageFolderOptions::unlabelled_ok, monitor's --input): a DIR holding images and no
//    subfolder is one stream of test images, every image in it in name order, without labels.
//  - Classes are the subfolders' names (valid UTF-8: an error names a folder that is not), sorted bytewise; DIR/train/ and DIR/test/ (both) hold one
//    class folder each (the same names in both), otherwise DIR holds the class folders and a seeded
//    split makes the test set: per class, its files in name order are shuffled (nn::Rng with the
//    seed and the class index) and the first round(split × n) go to the test set.
//  - A class folder's images are its regular files named *.png, *.jpg or *.jpeg (any case), read in
//    name order; other files and subfolders are ignored (.DS_Store, notes).  A class folder with no
//    image is an error.  Symbolic links are followed; one that loops (or an entry whose type cannot
//    be read) is an error naming it, one to nothing is ignored.  At most 256 classes and
//    kMaxFolderImages images.
//  - Every image must be PNG or JPEG by its first bytes (an error names one that is not) and is decoded by stb_image.  Channels: 1 when every image is grayscale (with or without
//    alpha), else 3 (grayscale replicated, alpha dropped: the colour as stored, not composited).
//    Without `resize` every image must have the first one's width and height (an error names the
//    first file that does not); with it every image is resized by stb_image_resize's defaults
//    (Mitchell filter when shrinking, Catmull–Rom when enlarging, edges clamped, in the stored values:
//    no sRGB conversion).  Sizes are checked from each file's header before anything is decoded:
//    a side at most base::kMaxInputSide, C·H·W of the result at most base::kMaxLayerUnits and so
//    each file's own channels·height·width as stored (it is decoded whole before any resizing), and
//    all images together at most kMaxFolderBytes.
//  - Provenance: `files` is {DIR} and `digest` the SHA-256 of the `sha256sum` listing of every image
//    read ("<hex>  <path relative to DIR>\n", the path as listed, a link's own; sorted bytewise by path), which
//    `(cd DIR && find . -type f | sed 's|^\./||' | grep -iE '\.(png|jpe?g)$' | LC_ALL=C sort | xargs -d '\n' sha256sum) | sha256sum`
//    reproduces (for a folder holding only the images read).
//  - Any failure is one base::Error naming the folder or file and what was expected.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "datasets/dataset.h"

namespace datasets {

constexpr size_t kMaxFolderImages = size_t(1) << 24;
constexpr size_t kMaxFolderBytes = size_t(1) << 34;  // 16 GiB of decoded pixels

struct ImageFolderOptions {
  int resize_h = 0, resize_w = 0;  // --resize HxW; 0: no resizing
  double split = 0.2;              // --split: the test share when DIR has no train/ and test/
  uint64_t split_seed = 1;         // --split-seed
  // The test half alone (monitor's --input): when DIR has test/, train/ is not required and no image in it
  // is read (the train half comes back empty; a train/ that is there must still hold the same class
  // folders, which number the classes); channels, size and digest are those of the test images.  A DIR
  // of class folders is still split (the split needs every image's name: the whole folder is listed),
  // but only the test share's images are read (channels, size and digest are theirs).
  bool test_only = false;
  // The training half alone (profile's --data): when DIR has train/, test/ is not required and no image in it
  // is read (the test half comes back empty).  A DIR of class folders is still split (listed whole), and
  // only the training share's images are read.
  bool train_only = false;
  bool rgb = false;  // 3 channels even when every image is grayscale (replicated): for a net that takes 3
  // With test_only: a DIR of images and no subfolder is read whole as unlabelled test images (the images
  // directly in DIR, in name order; labels 0 as placeholders, no class names, Dataset::labelled false;
  // --split does not apply).  Without it, or without test_only, such a DIR is refused (no class folders).
  bool unlabelled_ok = false;
};

// DIR listed and every image's header checked (sizes, channels, the digest: everything above but the
// decoding), the images decoded on demand: the monitor's stream decodes one batch at a time.
class ImageFolder {
 public:
  ImageFolder(const std::string& dir, const ImageFolderOptions& options);
  ~ImageFolder();
  // Name, shape, class names, files, digest, read_as and labelled of both halves; no images.
  const Dataset& header() const { return header_; }
  size_t size(bool test) const;  // the images of the test (or training) half
  // Replaces `out` with the header and images [first, first + count) of that half, decoded; an image
  // whose size changed since it was listed is an error naming it.
  void read(bool test, size_t first, size_t count, Dataset& out) const;

 private:
  struct Files;
  std::unique_ptr<Files> files_;
  Dataset header_;
};

// Both halves decoded whole (ImageFolder, every image read).
DataSplit load_image_folder(const std::string& dir, const ImageFolderOptions& options);

}  // namespace datasets
