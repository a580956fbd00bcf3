#include "nn/framed_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/crc32.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/sha256.h"

namespace nn {

namespace {

const uint32_t kVersion = 1;

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T get(const std::string& s, size_t off) {
  T v;
  std::memcpy(&v, s.data() + off, sizeof v);
  return v;
}
nlohmann::json shape_json(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

}  // namespace

// The framing (framed_file.h): magic, version, header
// length, the JSON header with "tensors" = [{name, shape}] added, the float32 tensors, CRC-32.
void write_framed(const std::string& path, const char (&magic)[8], nlohmann::json header,
                  const std::vector<FramedTensor>& tensors) {
  nlohmann::json list = nlohmann::json::array();
  for (const FramedTensor& t : tensors) list.push_back({{"name", t.name}, {"shape", shape_json(t.tensor->shape())}});
  header["tensors"] = list;
  std::string text = base::json_text(header, -1);  // invalid UTF-8 as U+FFFD, never an exception
  std::string out(magic, 8);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, text.size());
  out += text;
  // The tensors go to the file straight from their buffers (no copy of the whole file in memory:
  // a training state is the weights and the optimiser's as much again); the CRC runs along.
  base::AtomicFileWriter file(path);
  uint32_t crc = 0;
  const auto write = [&](const char* bytes, size_t size) {
    crc = base::crc32_update(crc, bytes, size);
    file.append(bytes, size);
  };
  write(out.data(), out.size());
  for (const FramedTensor& t : tensors) write(reinterpret_cast<const char*>(t.tensor->data()), t.tensor->size() * sizeof(float));
  std::string tail;
  put<uint32_t>(tail, crc);
  file.append(tail);
  file.commit();
}

// A framed file read and checked up to its header; read_tensors() then fills the tensors.  The file is
// read in parts, never whole into memory (a checkpoint's weights would be held twice): the CRC over a
// buffer of 1 MiB here, and again by read_tensors over the header this pass kept and the bytes it
// copies, so that what is copied is what was checked even if the file changed in place in between.
FramedFile::FramedFile(const std::string& path, const char (&magic)[8], const std::string& kind, size_t max_bytes,
                       Fingerprint fingerprint)
  : path_(path), kind_(kind), file_(path, max_bytes) {
  const size_t size = size_t(file_.size());
  const std::string start = file_.read(0, std::min<size_t>(size, 20));
  if (size < 8 + 4 + 8 + 4 || std::memcmp(start.data(), magic, 8) != 0) throw fail("bad magic or too short");
  uint32_t version = get<uint32_t>(start, 8);
  if (version != kVersion)
    throw fail("version " + std::to_string(version) + ", this build reads version " + std::to_string(kVersion));
  const std::string crc_field = file_.read(size - 4, 4);
  stored_crc_ = get<uint32_t>(crc_field, 0);
  // The CRC pass keeps the bytes up to the header's end (head_), so the header parsed here and the
  // one read_tensors' CRC starts from are the bytes this CRC checked, not another read of them.
  const uint64_t hlen = get<uint64_t>(start, 12);
  const size_t head_bytes = 20 + size_t(std::min<uint64_t>(hlen, size - 24));
  std::vector<char> chunk(size_t(1) << 20);
  uint32_t crc = 0;
  base::Sha256 digest;  // of the bytes this pass reads, then of the CRC field
  for (size_t at = 0; at < size - 4;) {
    const size_t n = std::min(chunk.size(), size - 4 - at);
    file_.read(at, chunk.data(), n);
    crc = base::crc32_update(crc, chunk.data(), n);
    if (fingerprint == Fingerprint::sha256) digest.update(chunk.data(), n);
    if (at < head_bytes) head_.append(chunk.data(), std::min(n, head_bytes - at));
    at += n;
  }
  // (the first 20 bytes were read before the pass: equal unless the file changed in between)
  if (stored_crc_ != crc || head_.compare(0, 20, start) != 0) throw fail("checksum mismatch (truncated or corrupt file)");
  if (fingerprint == Fingerprint::sha256) {
    digest.update(crc_field.data(), 4);
    sha256 = digest.digest();
  }
  if (hlen > size - 24) throw fail("header length " + std::to_string(hlen) + " exceeds the file");
  try {
    header = base::parse_json(head_.substr(20), "header");
  } catch (const base::Error& e) {
    throw fail(e.what());
  }
  data_ = 20 + hlen;
}

size_t FramedFile::data_bytes() const { return size_t(file_.size()) - 4 - data_; }

base::Error FramedFile::fail(const std::string& why) const { return base::Error(not_valid() + ": " + why); }

void FramedFile::check_listed(const std::vector<TensorRef>& wanted) const {
  std::vector<NamedTensor> listed;  // names and shapes, no values
  try {
    const base::Node list = base::Node(header, "header")["tensors"];
    for (size_t i = 0; i < list.array_size(); ++i) {
      NamedTensor t;
      t.name = list[i]["name"].text();
      const base::Node shape = list[i]["shape"];
      if (shape.array_size() != 4) shape.fail("[n, c, h, w]");
      for (size_t d = 0; d < 4; ++d) t.shape.push_back(shape[d].integer(0, base::kMaxParameters));
      listed.push_back(std::move(t));
    }
  } catch (const base::Error& e) {
    throw fail(e.what());
  }
  check_named_shapes(wanted, listed, not_valid());
}

void FramedFile::read_tensors(const std::vector<FramedTensor>& tensors) const {
  const base::Json list = header.value("tensors", base::Json());
  if (!list.is_array()) throw fail("header has no tensor list");
  if (list.size() != tensors.size())
    throw fail("it lists " + std::to_string(list.size()) + " tensors, the spec has " + std::to_string(tensors.size()));
  const size_t end = size_t(file_.size()) - 4;
  size_t off = data_;
  uint32_t crc = base::crc32_update(0, head_.data(), data_);
  for (size_t i = 0; i < tensors.size(); ++i) {
    Tensor& v = *tensors[i].tensor;
    const base::Json& t = list[i];
    const base::Json shape = shape_json(v.shape());
    if (!t.is_object() || t.value("name", base::Json()) != tensors[i].name || t.value("shape", base::Json()) != shape)
      throw fail("tensor " + std::to_string(i) + " is " + base::utf8_prefix(base::json_text(t, -1), 200) + ", expected " +
                 tensors[i].name + " " + base::json_text(shape, -1));
    size_t bytes = v.size() * sizeof(float);
    if (off + bytes > end) throw fail("data ends inside tensor " + tensors[i].name);
    file_.read(off, reinterpret_cast<char*>(v.data()), bytes);
    crc = base::crc32_update(crc, v.data(), bytes);
    // nnfmri never writes a non-finite weight or state (training stops first), so one is damage or a
    // hand-made file: scores and figures computed from it would be NaN without a word.
    const float* bad = std::find_if(v.data(), v.data() + v.size(), [](float x) { return !std::isfinite(x); });
    if (bad != v.data() + v.size())
      throw fail("tensor " + tensors[i].name + " holds " + base::format("%g", double(*bad)) + " at element " +
                 std::to_string(bad - v.data()) + ", expected finite numbers");
    off += bytes;
  }
  if (off != end) throw fail(std::to_string(end - off) + " unexpected bytes after the tensors");
  if (crc != stored_crc_) throw fail("checksum mismatch (truncated or corrupt file)");  // changed since it was opened
}

}  // namespace nn
