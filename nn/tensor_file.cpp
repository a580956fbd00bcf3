// nn/tensor_file.cpp — see tensor_file.h.  The safetensors format: an unsigned 64-bit little-endian
// header length N, N bytes of JSON {"__metadata__": {str: str}, NAME: {"dtype", "shape",
// "data_offsets": [BEGIN, END]}, ...}, then the data area, offsets relative to its start.
#include "nn/tensor_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <map>


#include "base/crc32.h"
#include "base/error.h"
#include "base/format.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/sha256.h"
#include "base/text.h"

namespace nn {

namespace {

static_assert(sizeof(float) == 4, "float32");  // and x86-64 is little-endian, as both formats are

template <class T>
T read_le(const std::string& bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}


// IEEE half → float, exact (every half is a float).
float half_to_float(uint16_t h) {
  const bool negative = h >> 15;
  const int exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  float f;
  if (exponent == 0) {
    f = std::ldexp(float(mantissa), -24);  // zero or subnormal
  } else if (exponent == 31) {
    f = mantissa ? NAN : INFINITY;
  } else {
    const uint32_t bits = (uint32_t(exponent - 15 + 127) << 23) | (mantissa << 13);
    std::memcpy(&f, &bits, 4);
  }
  return negative ? -f : f;
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct DType {
  const char* name;
  size_t bytes;
  bool weights;  // converted to float32; the others only checked (and only a counter may have one)
};
// Every dtype of the safetensors specification, so that any file's offsets can be checked.
constexpr DType kDTypes[] = {{"F32", 4, true},  {"F16", 2, true},  {"BF16", 2, true},   {"F64", 8, false},
                             {"I64", 8, false}, {"U64", 8, false}, {"I32", 4, false},   {"U32", 4, false},
                             {"I16", 2, false}, {"U16", 2, false}, {"I8", 1, false},    {"U8", 1, false},
                             {"BOOL", 1, false}, {"F8_E4M3", 1, false}, {"F8_E5M2", 1, false}};

bool is_counter(const std::string& name) {  // batch norm's num_batches_tracked (int64 in PyTorch)
  const std::string suffix = ".num_batches_tracked";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The file is read in parts, each tensor's data straight into its values (an F16 or BF16 tensor's through
// a buffer of its own size): never the whole file in one string.
TensorFile read_safetensors(const std::string& path) {
  const base::FileReader file(path, kMaxTensorFileBytes);
  const size_t file_size = size_t(file.size());
  auto fail = [&](const std::string& problem) -> void { throw base::Error(path + ": " + problem); };
  if (file_size < 8)
    fail(std::to_string(file_size) + " bytes, expected a safetensors file (an 8-byte header length, then the header)");
  const std::string start = file.read(0, std::min<size_t>(file_size, 9));  // the length and the header's first byte
  const uint64_t header_bytes = read_le<uint64_t>(start, 0);
  // a header length out of range and no JSON object after it: not a safetensors file at all
  if ((header_bytes > kMaxSafetensorsHeader || header_bytes > file_size - 8) && (file_size == 8 || start[8] != '{'))
    fail("neither a safetensors file (an 8-byte header length, then a JSON header) nor an .npz (a zip), expected one of them");
  if (header_bytes > kMaxSafetensorsHeader)
    fail("header length " + std::to_string(header_bytes) + ", expected at most " + std::to_string(kMaxSafetensorsHeader) +
         " bytes");
  if (header_bytes > file_size - 8)
    fail("header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
         std::to_string(file_size) + " bytes)");
  const base::Json header = base::parse_json(file.read(8, size_t(header_bytes)), path + " (header)");
  const base::Node root(header, path + " (header)");
  if (!header.is_object()) root.fail("a JSON object of tensors");
  const size_t data_start = 8 + size_t(header_bytes), data_size = file_size - data_start;

  struct Entry {
    std::string name;
    base::Node node;
    const DType* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
    std::string unusable;
  };
  TensorFile out;
  std::vector<Entry> entries;
  for (const auto& [name, node] : root.members()) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : node.members()) out.metadata[key] = value.text();
      continue;
    }
    const std::string dtype = node["dtype"].text();
    const DType* type = nullptr;
    for (const DType& t : kDTypes)
      if (dtype == t.name) type = &t;
    if (!type) node["dtype"].reject("tensor " + name + ": dtype " + dtype + ", expected a safetensors dtype");
    std::string unusable;  // a dtype that holds no weights: refused only if the net needs the tensor
    if (!type->weights && !is_counter(name))
      unusable = node["dtype"].file() + ": " + node["dtype"].pointer() + ": tensor " + name + ": dtype " + dtype +
                 ", expected F32, F16 or BF16 weights";
    const base::Node dims = node["shape"];
    if (dims.array_size() > 8) dims.reject("tensor " + name + ": " + std::to_string(dims.array_size()) + " dimensions, expected at most 8");
    std::vector<int64_t> shape;
    int64_t count = 1;
    for (size_t d = 0; d < dims.array_size(); ++d) {
      shape.push_back(dims[d].integer(0, int64_t(1) << 31));
      count *= shape.back();
      if (count > int64_t(1) << 31) dims.reject("tensor " + name + ": more than 2^31 elements");
    }
    const base::Node offsets = node["data_offsets"];
    if (offsets.array_size() != 2) offsets.fail("[BEGIN, END]");
    const uint64_t begin = uint64_t(offsets[0].integer(0, int64_t(data_size))), end = uint64_t(offsets[1].integer(0, int64_t(data_size)));
    if (end < begin || end - begin != uint64_t(count) * type->bytes)
      offsets.reject("tensor " + name + ": " + std::to_string(end) + " − " + std::to_string(begin) + " bytes, expected " +
                     std::to_string(count) + " elements of " + std::to_string(type->bytes) + " bytes (" + dtype + " " +
                     shape_text(shape) + ")");
    entries.push_back({name, node, type, std::move(shape), begin, end, std::move(unusable)});
  }
  // The tensors must tile the data area: sorted by offset, each starting where the last ended.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return entries[a].begin != entries[b].begin ? entries[a].begin < entries[b].begin : entries[a].end < entries[b].end;
  });
  uint64_t at = 0;
  for (size_t i : order) {
    const Entry& e = entries[i];
    if (e.begin < at) e.node["data_offsets"].reject("overlaps the tensor before it in the data area (which ends at " + std::to_string(at) + ")");
    if (e.begin > at) e.node["data_offsets"].reject("leaves bytes " + std::to_string(at) + " … " + std::to_string(e.begin) + " of the data area to no tensor");
    at = e.end;
  }
  if (at != data_size)
    fail("the tensors cover " + std::to_string(at) + " of the data area's " + std::to_string(data_size) +
         " bytes, expected all of them");

  for (const Entry& e : entries) {
    NamedTensor t;
    t.name = e.name;
    t.shape = e.shape;
    t.unusable = e.unusable;
    if (!e.dtype->weights && t.unusable.empty()) continue;  // a num_batches_tracked counter: nnfmri keeps none
    out.values += int64_t((e.end - e.begin) / e.dtype->bytes);
    if (!t.unusable.empty()) {
      out.tensors.push_back(std::move(t));
      continue;
    }
    const size_t count = size_t((e.end - e.begin) / e.dtype->bytes);
    t.values.resize(count);
    if (e.dtype->bytes == 4) {
      file.read(data_start + e.begin, reinterpret_cast<char*>(t.values.data()), count * 4);
    } else {
      std::vector<uint16_t> stored(count);
      file.read(data_start + e.begin, reinterpret_cast<char*>(stored.data()), count * 2);
      const bool half = std::strcmp(e.dtype->name, "F16") == 0;
      for (size_t i = 0; i < count; ++i) t.values[i] = half ? half_to_float(stored[i]) : bf16_to_float(stored[i]);
    }
    for (size_t i = 0; i < count; ++i)
      if (!std::isfinite(t.values[i])) {
        t.unusable = e.node.file() + ": " + e.node.pointer() + ": tensor " + t.name + ": element " + std::to_string(i) +
                     " is " + std::to_string(t.values[i]) + ", expected finite weights";
        t.values.clear();
        break;
      }
    out.tensors.push_back(std::move(t));
  }
  // no weights at all (`{}`, metadata alone): said so, as read_npz says "no arrays", not left to the
  // net's size check ("expected at most 0, twice the 0 values its file holds")
  if (out.tensors.empty()) fail("no tensors (num_batches_tracked counters aside), expected a safetensors file of weights");
  out.sha256 = base::sha256_file(file);  // the bytes just read: the file as opened
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  base::Json header = base::Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t at = 0;
  for (const TensorRef& t : tensors) {
    size_t count = 1;
    for (int64_t d : t.shape) count *= size_t(d);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {at, at + 4 * count}}};
    at += 4 * count;
  }
  std::string text = base::json_text(header, -1);
  text.append((8 - text.size() % 8) % 8, ' ');  // the data area starts 8-byte aligned
  std::string head(8, '\0');
  const uint64_t n = text.size();
  std::memcpy(head.data(), &n, 8);
  head += text;
  // the tensors go to the file straight from their buffers, not through a copy of the whole file
  base::AtomicFileWriter file(path);
  file.append(head);
  for (const TensorRef& t : tensors) {
    size_t count = 1;
    for (int64_t d : t.shape) count *= size_t(d);
    file.append(reinterpret_cast<const char*>(t.values), 4 * count);
  }
  file.commit();
}

namespace {

// Parses the dict of an .npy header as numpy reads it: a Python dict literal holding exactly the keys
// 'descr' (a quoted string), 'fortran_order' (True or False) and 'shape' (a tuple of integers), each
// once, then padding (blanks, a newline): {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
// A descr other than '<f4' is not thrown but said in `dtype_problem` (the array may be one the net
// does not use); everything else wrong is an error naming `where`.
std::vector<int64_t> npy_shape(const std::string& header, const std::string& where, std::string& dtype_problem) {
  auto bad = [&](const std::string& problem) {
    return base::Error(where + ": the .npy header " + problem +
                       ", expected the dict {'descr': '<f4', 'fortran_order': False, 'shape': (...)} numpy writes");
  };
  size_t at = 0;
  auto skip_blanks = [&] {
    while (at < header.size() && (header[at] == ' ' || header[at] == '\t' || header[at] == '\r' || header[at] == '\n')) ++at;
  };
  auto take = [&](char c) {  // c, after any blanks
    skip_blanks();
    if (at >= header.size() || header[at] != c) return false;
    ++at;
    return true;
  };
  auto quoted = [&](const std::string& what) {  // a string in '' or "" without escapes
    skip_blanks();
    const char quote = at < header.size() ? header[at] : '\0';
    const size_t close = quote == '\'' || quote == '"' ? header.find(quote, at + 1) : std::string::npos;
    if (close == std::string::npos || header.find('\\', at) < close) throw bad("holds no quoted " + what + " where one belongs");
    const std::string text = header.substr(at + 1, close - at - 1);
    at = close + 1;
    return text;
  };
  const char* const kKeys[] = {"descr", "fortran_order", "shape"};
  bool seen[3] = {false, false, false};
  std::vector<int64_t> shape;
  if (!take('{')) throw bad("does not start with '{'");
  while (!take('}')) {
    const std::string key = quoted("key");
    const size_t k = size_t(std::find(std::begin(kKeys), std::end(kKeys), key) - std::begin(kKeys));
    if (k == 3) throw bad("holds the key '" + base::utf8_escaped(key) + "'");
    if (seen[k]) throw bad("holds '" + key + "' twice");
    seen[k] = true;
    if (!take(':')) throw bad("has no ':' after '" + key + "'");
    if (k == 0) {
      const std::string descr = quoted("'descr'");
      if (descr != "<f4") dtype_problem = where + ": dtype '" + base::utf8_escaped(descr) + "', expected little-endian float32 ('<f4')";
    } else if (k == 1) {
      skip_blanks();
      if (header.compare(at, 4, "True") == 0) throw base::Error(where + ": Fortran order, expected C order");
      if (header.compare(at, 5, "False") != 0) throw bad("holds a 'fortran_order' that is neither True nor False");
      at += 5;
    } else {
      if (!take('(')) throw bad("holds a 'shape' that is not a tuple");
      int64_t count = 1;
      while (!take(')')) {
        skip_blanks();
        if (at >= header.size() || header[at] < '0' || header[at] > '9') throw bad("holds a 'shape' that is not a tuple of integers");
        int64_t d = 0;
        while (at < header.size() && header[at] >= '0' && header[at] <= '9') {
          d = d * 10 + (header[at++] - '0');
          if (d > int64_t(1) << 31) throw base::Error(where + ": a dimension over 2^31");
        }
        shape.push_back(d);
        count *= d;
        if (count > int64_t(1) << 31 || shape.size() > 8) throw base::Error(where + ": more than 2^31 elements or 8 dimensions");
        if (take(',')) continue;
        // (10) is a number, not a tuple: one dimension needs its comma, (10,)
        if (shape.size() == 1 || !take(')')) throw bad("holds a 'shape' that is not a tuple of integers");
        break;
      }
    }
    if (!take(',')) {
      if (!take('}')) throw bad("has no ',' or '}' after '" + key + "'");
      break;
    }
  }
  skip_blanks();
  if (at != header.size()) throw bad("holds text after its '}'");
  for (size_t k = 0; k < 3; ++k)
    if (!seen[k]) throw bad(std::string("has no '") + kKeys[k] + "'");
  return shape;
}

// Where a member's .npy header lies, from the member's first bytes (12, or all of a shorter member)
// and its size: the one reading of the magic, the version and the header length.  numpy writes
// versions 1.0 (a 2-byte header length), 2.0 and 3.0 (4 bytes; 3.0 a UTF-8 header).  `problem` says
// what is wrong, if anything; then header_end is the member's size, so that the member is read (and
// its CRC checked) whole before the problem is reported.
struct NpyLayout {
  size_t header_at = 0, header_bytes = 0, header_end = 0;
  std::string problem;
};
NpyLayout npy_layout(const std::string& first, size_t size) {
  NpyLayout l;
  l.header_end = size;
  if (size < 10 || first.compare(0, 6, "\x93NUMPY") != 0) {
    l.problem = "not an .npy array";
  } else if (first[6] < 1 || first[6] > 3 || first[7] != 0) {
    l.problem = ".npy format version " + std::to_string(uint8_t(first[6])) + "." + std::to_string(uint8_t(first[7])) +
                ", expected 1.0, 2.0 or 3.0 (what numpy writes)";
  } else if ((l.header_at = first[6] == 1 ? 10 : 12) > size) {
    l.problem = "the .npy header is cut off";
  } else if ((l.header_bytes = first[6] == 1 ? read_le<uint16_t>(first, 8) : read_le<uint32_t>(first, 8)) > size - l.header_at) {
    l.problem = "the .npy header runs past the member";
  } else {
    l.header_end = l.header_at + l.header_bytes;
  }
  return l;
}

}  // namespace

// The zip is read from its end, as zip readers (and numpy, through Python's zipfile) do: the
// end-of-central-directory record, then each central-directory entry and the member's local header
// it points to.  So a file cut short or with its directory damaged is refused, and members written
// with a data descriptor (numpy.savez to a stream that cannot seek: sizes only in the directory) are
// read with the directory's sizes.
TensorFile read_npz(const std::string& path) {
  // Read in parts: the end record, the directory, then each member, its values straight into its
  // tensor (never the whole file in one string).  The offsets below are the file's.
  const base::FileReader file(path, kMaxTensorFileBytes);
  const size_t file_size = size_t(file.size());
  const std::string not_npz = ", expected an .npz file (a zip of .npy arrays)";
  // The end record: 22 bytes and a comment of at most 65,535 that ends the file.
  const size_t tail_at = file_size - std::min<size_t>(file_size, 22 + 65535);
  const std::string tail = file.read(tail_at, file_size - tail_at);
  size_t eocd = std::string::npos;
  for (size_t back = 22; back <= file_size && back <= 22 + 65535; ++back) {
    const size_t at = file_size - back - tail_at;
    if (read_le<uint32_t>(tail, at) == 0x06054b50 && at + 22 + read_le<uint16_t>(tail, at + 20) == tail.size()) {
      eocd = tail_at + at;
      break;
    }
  }
  if (eocd == std::string::npos) throw base::Error(path + ": no zip end-of-central-directory record at its end (cut short, bytes after it, or not a zip)" + not_npz);
  const auto end_field = [&](size_t at) { return eocd - tail_at + at; };
  const uint16_t disk = read_le<uint16_t>(tail, end_field(4)), directory_disk = read_le<uint16_t>(tail, end_field(6));
  const uint16_t entries_here = read_le<uint16_t>(tail, end_field(8)), entries = read_le<uint16_t>(tail, end_field(10));
  const uint32_t directory_size = read_le<uint32_t>(tail, end_field(12)), directory_at = read_le<uint32_t>(tail, end_field(16));
  // a zip64 end record and its locator (PK\6\7, the 20 bytes before the end record), or the fields
  // that defer to them: what torch.save writes, not numpy.savez
  if (entries == 0xFFFF || directory_size == 0xFFFFFFFF || directory_at == 0xFFFFFFFF ||
      (eocd >= 20 && read_le<uint32_t>(file.read(eocd - 20, 4), 0) == 0x07064b50))
    throw base::Error(path + ": a zip64 archive (a PyTorch .pt file?), expected numpy.savez's .npz or a safetensors file "
                      "(export the state_dict as safetensors or npz: README, import)");
  if (disk != 0 || directory_disk != 0 || entries_here != entries) throw base::Error(path + ": a zip split over several parts" + not_npz);
  if (directory_at > eocd || directory_size != eocd - directory_at)
    throw base::Error(path + ": the zip's central directory (" + std::to_string(directory_size) + " bytes at " +
                      std::to_string(directory_at) + ") does not end where its end record starts (" + std::to_string(eocd) +
                      "): the file is corrupt");
  const std::string directory = file.read(directory_at, directory_size);
  const auto in_directory = [&](size_t at) { return at - directory_at; };
  TensorFile out;
  // Each member's bytes (local header to the end of its data) → its name: two entries whose bytes
  // overlap (the same member listed twice, or a local header inside another member) are refused before
  // either is read twice, so a small hostile file cannot make up to 65,535 copies of one large member.
  std::map<size_t, std::pair<size_t, std::string>> members;
  size_t at = directory_at;
  for (uint16_t e = 0; e < entries; ++e) {
    if (at + 46 > eocd || read_le<uint32_t>(directory, in_directory(at)) != 0x02014b50)
      throw base::Error(path + ": central directory entry " + std::to_string(e + 1) + " of " + std::to_string(entries) +
                        " is missing or cut off: the file is corrupt");
    const size_t d = in_directory(at);
    const uint16_t method = read_le<uint16_t>(directory, d + 10);
    const uint32_t crc = read_le<uint32_t>(directory, d + 16), size = read_le<uint32_t>(directory, d + 20),
                   unpacked = read_le<uint32_t>(directory, d + 24), local = read_le<uint32_t>(directory, d + 42);
    const uint16_t name_bytes = read_le<uint16_t>(directory, d + 28), extra_bytes = read_le<uint16_t>(directory, d + 30),
                   comment_bytes = read_le<uint16_t>(directory, d + 32);
    if (at + 46 + size_t(name_bytes) + extra_bytes + comment_bytes > eocd)
      throw base::Error(path + ": central directory entry " + std::to_string(e + 1) + " runs past the directory: the file is corrupt");
    const std::string member = directory.substr(d + 46, name_bytes), where = path + ": " + member;
    at += 46 + size_t(name_bytes) + extra_bytes + comment_bytes;
    if (local + size_t(30) > directory_at) throw base::Error(where + ": no local header at byte " + std::to_string(local) + ": the file is corrupt");
    const std::string local_header = file.read(local, 30);
    if (read_le<uint32_t>(local_header, 0) != 0x04034b50)
      throw base::Error(where + ": no local header at byte " + std::to_string(local) + ": the file is corrupt");
    const uint16_t local_method = read_le<uint16_t>(local_header, 8);
    const uint16_t local_name = read_le<uint16_t>(local_header, 26), local_extra = read_le<uint16_t>(local_header, 28);
    if (method != 0 || local_method != 0 || size != unpacked)
      throw base::Error(where + ": a compressed member, expected the stored .npz of numpy.savez or nnfmri export");
    const size_t data = local + size_t(30) + local_name + local_extra;
    if (data > directory_at || file.read(local + 30, local_name) != member)
      throw base::Error(where + ": its local header does not match the central directory: the file is corrupt");
    if (size > directory_at - data) throw base::Error(where + ": " + std::to_string(size) + " bytes run into the central directory");
    {
      const size_t end = data + size;
      auto next = members.lower_bound(local);
      const auto overlaps = [&](const auto& it) { return it->first < end && local < it->second.first; };
      if (next != members.end() && overlaps(next))
        throw base::Error(where + ": its bytes overlap those of member " + next->second.second + ": the file is corrupt");
      if (next != members.begin() && overlaps(std::prev(next)))
        throw base::Error(where + ": its bytes overlap those of member " + std::prev(next)->second.second + ": the file is corrupt");
      members.emplace(local, std::make_pair(end, member));
    }
    // The member in two parts: its .npy header (`npy`: the whole member when it has no header that fits
    // in it, so that every check below sees what it saw when the member was read whole), then its data,
    // read straight into the tensor's values (a float per 4 bytes, rounded up).  The CRC covers both.
    const NpyLayout layout = npy_layout(file.read(data, std::min<size_t>(size, 12)), size);
    const size_t header_end = layout.header_end;
    const std::string npy = file.read(data, header_end);
    const size_t data_bytes = size - header_end;
    std::vector<float> values((data_bytes + 3) / 4);
    file.read(data + header_end, reinterpret_cast<char*>(values.data()), data_bytes);
    if (base::crc32_update(base::crc32_update(0, npy.data(), npy.size()), values.data(), data_bytes) != crc)
      throw base::Error(where + ": CRC mismatch, the file is corrupt");
    if (member.size() < 4 || member.compare(member.size() - 4, 4, ".npy") != 0)
      throw base::Error(where + ": expected .npy members only");
    if (!layout.problem.empty()) throw base::Error(where + ": " + layout.problem);
    NamedTensor t;
    t.name = member.substr(0, member.size() - 4);
    t.shape = npy_shape(npy.substr(layout.header_at, layout.header_bytes), where, t.unusable);
    size_t count = 1;
    for (int64_t dim : t.shape) count *= size_t(dim);
    if (!t.unusable.empty()) {
      if (is_counter(t.name)) continue;  // PyTorch's int64 counter: dropped
      out.values += int64_t(std::min(count, data_bytes));
      out.tensors.push_back(std::move(t));
      continue;
    }
    out.values += int64_t(count);
    if (data_bytes != 4 * count)
      throw base::Error(where + ": " + std::to_string(data_bytes) + " data bytes, expected " + std::to_string(4 * count) + " for " +
                        shape_text(t.shape));
    t.values = std::move(values);
    for (size_t i = 0; i < count; ++i)
      if (!std::isfinite(t.values[i])) {
        t.unusable = where + ": element " + std::to_string(i) + " is not finite, expected finite weights";
        t.values.clear();
        break;
      }
    out.tensors.push_back(std::move(t));
  }
  if (at != eocd) throw base::Error(path + ": the zip's central directory holds bytes beyond its entries: the file is corrupt");
  if (out.tensors.empty()) throw base::Error(path + ": no arrays" + not_npz);
  out.sha256 = base::sha256_file(file);  // the bytes just read: the file as opened
  return out;
}

std::string npz_description_path(const std::string& npz) {
  const size_t name = npz.find_last_of('/') == std::string::npos ? 0 : npz.find_last_of('/') + 1;
  const bool stem = npz.size() - name > 4 && npz.compare(npz.size() - 4, 4, ".npz") == 0;  // a name before .npz
  return (stem ? npz.substr(0, npz.size() - 4) : npz) + ".model.json";
}

std::vector<TensorRef> torch_tensors(Network& net) {
  std::vector<TensorRef> out;
  for (size_t i = 0; i < net.num_layers(); ++i)
    for (Param* p : net.layer(i).params()) {
      const Shape& s = p->shape;  // a planned net's value is empty: data() is null
      std::vector<int64_t> shape = {int64_t(s.size())};
      if (p->name == "weight" && net.layer(i).layer_kind() == LayerKind::conv2d) shape = {s.n, s.c, s.h, s.w};
      if (p->name == "weight" && net.layer(i).layer_kind() == LayerKind::linear) shape = {s.n, s.c};
      out.push_back({net.layer_name(i) + "." + p->name, shape, p->value.data()});
    }
  return out;
}

namespace {

// The file's tensors by name; every tensor `wanted` names is there with its shape, else the first that
// is not is named.
std::map<std::string, const NamedTensor*> match_names_and_shapes(const std::vector<TensorRef>& wanted,
                                                                 const std::vector<NamedTensor>& tensors, const std::string& file) {
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : tensors)
    if (!by_name.emplace(t.name, &t).second) throw base::Error(file + ": tensor " + t.name + " appears twice");
  for (const TensorRef& w : wanted) {
    const auto it = by_name.find(w.name);
    if (it == by_name.end())
      throw base::Error(file + ": no tensor " + w.name + " " + shape_text(w.shape) + ", which the spec needs");
    if (it->second->shape != w.shape)
      throw base::Error(file + ": tensor " + w.name + " is " + shape_text(it->second->shape) + ", the spec needs " +
                        shape_text(w.shape));
  }
  return by_name;
}

}  // namespace

void check_named_shapes(const std::vector<TensorRef>& wanted, const std::vector<NamedTensor>& tensors, const std::string& file) {
  match_names_and_shapes(wanted, tensors, file);
}

void check_named_shapes(Network& planned, const std::vector<NamedTensor>& tensors, const std::string& file) {
  check_named_shapes(torch_tensors(planned), tensors, file);
}

void load_named_tensors(Network& net, const std::vector<NamedTensor>& tensors, bool ignore_extra, const std::string& file) {
  std::vector<TensorRef> wanted = torch_tensors(net);
  std::map<std::string, const NamedTensor*> by_name = match_names_and_shapes(wanted, tensors, file);
  for (const TensorRef& w : wanted) {
    const auto it = by_name.find(w.name);
    if (!it->second->unusable.empty()) throw base::Error(it->second->unusable);
    // batch norm divides by √(running_var + ε): a negative variance gives NaN outputs
    const std::string var = ".running_var";
    if (w.name.size() > var.size() && w.name.compare(w.name.size() - var.size(), var.size(), var) == 0)
      for (size_t i = 0; i < it->second->values.size(); ++i)
        if (it->second->values[i] < 0)
          throw base::Error(file + ": tensor " + w.name + ": element " + std::to_string(i) + " is " +
                            base::format("%g", double(it->second->values[i])) + ", expected a variance ≥ 0");
  }
  if (!ignore_extra)
    for (const NamedTensor& t : tensors) {
      const bool used = std::any_of(wanted.begin(), wanted.end(), [&](const TensorRef& w) { return w.name == t.name; });
      if (!used && !is_counter(t.name))
        throw base::Error(file + ": tensor " + t.name + " " + shape_text(t.shape) +
                          " is not used by the spec (--ignore-extra to skip the tensors it does not use)");
    }
  for (const TensorRef& w : wanted) {
    const NamedTensor& t = *by_name[w.name];
    std::copy(t.values.begin(), t.values.end(), w.values);
  }
}

}  // namespace nn
