// nn/framed_file.h — the framing of nnfmri's binary files (checkpoints, training states, monitor
// profiles): versioned, checksummed, written atomically.
//
// Layout (little-endian):
//   magic (8 bytes)  u32 version(=1)  u64 header_bytes  header (JSON text)  float32 data  u32 crc32
// The header gets "tensors" = [{name, shape}] in the order of the data; it is written by
// base::json_text (a string that is not valid UTF-8 is written with U+FFFD, never an exception).  The crc32 (zlib) covers
// every byte before it.  FramedFile reads a regular file of at most max_bytes, checks the magic,
// version, checksum and header length and parses the header (base/json.h), reading the file in parts
// (never whole into memory) and, when asked, taking its SHA-256 in the same pass; check_listed() compares
// the tensors a loader is about to allocate with the header's list by name and shape (nothing read yet);
// read_tensors() then checks every name, shape and byte count in order, that every value is finite, and
// the checksum again over the bytes it read into the tensors (a file changed in place since it was opened).
// Any defect throws base::Error "<path>: not a valid <kind>: <why>".
#pragma once
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fileio.h"
#include "base/json.h"
#include "nn/tensor.h"
#include "nn/tensor_file.h"

namespace nn {

struct FramedTensor {
  std::string name;
  Tensor* tensor;
};

void write_framed(const std::string& path, const char (&magic)[8], nlohmann::json header,
                  const std::vector<FramedTensor>& tensors);

// Whether the checksum pass also takes the file's SHA-256 (~220 MB/s here, several times the CRC's
// cost): a checkpoint's, which `analyze`, `monitor` and `info` record; not a state's or a profile's.
enum class Fingerprint { none, sha256 };

// A framed file read and checked up to its header; read_tensors() then fills the tensors.
class FramedFile {
 public:
  FramedFile(const std::string& path, const char (&magic)[8], const std::string& kind, size_t max_bytes,
             Fingerprint fingerprint);
  base::Error fail(const std::string& why) const;
  // The header lists every tensor of `wanted` under its name with its shape, else the first it lacks or
  // lists in another shape is named with both shapes (nn::check_named_shapes, the comparison `import`
  // makes): "<path>: not a valid <kind>: tensor conv1.weight is [4, 3, 3, 3], the spec needs [64, 3, 3,
  // 3]".  Run before a loader allocates what the header names, so however large a net the header's
  // spec builds, its first tensor the file does not hold is named.  An entry that is not {"name": text,
  // "shape": [n, c, h, w]} is refused naming it.
  // `wanted`: names and [n, c, h, w] shapes (nn::TensorRef, values unused: a planned net has none).
  void check_listed(const std::vector<TensorRef>& wanted) const;
  // Copies the tensors in order after checking that the header lists exactly these names and shapes.
  void read_tensors(const std::vector<FramedTensor>& tensors) const;
  // The bytes between the header and the CRC: the most tensor data the file can hold.
  size_t data_bytes() const;

  base::Json header;
  // With Fingerprint::sha256, the file's SHA-256, of the bytes the checksum pass read (the CRC field
  // last): with read_tensors' second CRC, the digest of what a loader copied, not of another read of the
  // path (which a writer may have replaced in between).  Empty with Fingerprint::none.
  std::string sha256;

 private:
  std::string not_valid() const { return path_ + ": not a valid " + kind_; }  // what fail() says first
  std::string path_, kind_;
  base::FileReader file_;  // read in parts (framed_file.cpp)
  uint32_t stored_crc_ = 0;
  std::string head_;  // the file's bytes before its tensor data (magic to header), as the CRC pass read them
  size_t data_ = 0;
};

}  // namespace nn
