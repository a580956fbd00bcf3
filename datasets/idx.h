// datasets/idx.h — MNIST and Fashion-MNIST IDX files, read straight from .gz with zlib.
//
// Promise: an IDX file is a big-endian header — magic 0x00000803 + count, rows, cols
// for images, magic 0x00000801 + count for labels — followed by exactly the bytes the
// header announces (count*rows*cols pixels, or count labels).  Images must be 28×28 and
// become 1-channel (N, 1, 28, 28); labels must be < 10.  Any defect (wrong magic, wrong
// dims, truncated or trailing data, count mismatch between images and labels, corrupt, truncated
// or CRC-failing gzip stream, bytes after the gzip stream) throws base::Error naming the file.
// Both headers (images and labels) are read and their counts compared, and the count is checked
// against kMaxIdxImages, before any payload is read.
// The payload buffer grows only as decompressed data arrives, and no more than the header
// announces plus one byte is ever inflated, so a gzip bomb costs no more than an honest file.
#pragma once
#include <cstddef>
#include <string>

#include "datasets/dataset.h"

namespace datasets {

constexpr size_t kMaxIdxImages = 600000;  // per file: 470 MB of 28x28 pixels; ten times MNIST's 60,000

// Reads DIR/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz; for each, the name without
// ".gz" is used when the .gz is absent; either is read as gzip when it starts with the gzip magic.
// name is "mnist" (class names "0".."9") or "fashion-mnist" (T-shirt/top … Ankle boot);
// it also prefixes error messages.  Any other name throws base::Error.  With `test` false the t10k
// files are not read (nor required): the test half comes back with no images; likewise the train
// files with `train` false.
DataSplit load_idx_dir(const std::string& dir, const std::string& name, bool test = true, bool train = true);

}  // namespace datasets
