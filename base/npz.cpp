#include "base/npz.h"

#include <algorithm>
#include <cstring>

#include "base/crc32.h"
#include "base/error.h"
#include "base/fileio.h"

namespace base {

namespace {
template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

size_t value_count(const NpyArray& a) {
  size_t count = 1;
  for (int d : a.shape) count *= size_t(d);
  return count;
}

// The header of the .npy v1.0 format: a Python dict literal padded to 64 bytes with its 10-byte prefix.
std::string npy_header(const NpyArray& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i)
    shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 || i + 1 < a.shape.size() ? "," : "");
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  return header;
}

// The .npy v1.0 format: magic, version, header length, the header, then the array's data (not here: it
// is written from where it lies).
std::string npy_prefix(const NpyArray& a) {
  const std::string header = npy_header(a);
  std::string out("\x93NUMPY\x01\x00", 8);
  put<uint16_t>(out, uint16_t(header.size()));
  out += header;
  return out;
}

const char* npy_data(const NpyArray& a) { return reinterpret_cast<const char*>(a.data); }
}  // namespace

void write_npy(const std::string& path, const NpyArray& array) {
  base::AtomicFileWriter file(path);
  file.append(npy_prefix(array));
  file.append(npy_data(array), value_count(array) * sizeof(float));
  file.commit();
}

Npy2D read_npy_2d(const std::string& path, size_t max_values) {
  // the header (at most 10 + 65,535 bytes) is read and judged first, so that a file of another dtype,
  // order or shape is refused as such whatever its size; the values are read only when the file's size
  // is the header's shape's (from the same open file: its size is the one judged)
  const FileReader file(path);
  std::string bytes(size_t(std::min<uint64_t>(file.size(), 10 + 65535)), '\0');
  bytes.resize(file.read_some(0, &bytes[0], bytes.size()));
  auto bad = [&](const std::string& what) { return base::Error(path + ": " + what); };
  if (bytes.size() < 10 || bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) != 0)
    throw bad("not a NumPy .npy v1.0 file (expected the magic \\x93NUMPY and version 1.0)");
  const size_t header_size = size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8;
  if (10 + header_size > bytes.size()) throw bad("truncated .npy header");
  const std::string header = bytes.substr(10, header_size);
  const std::string prefix = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  if (header.compare(0, prefix.size(), prefix) != 0)
    throw bad("expected a float32 ('<f4') C-order array as nnfmri writes it");
  const size_t close = header.find(')', prefix.size());
  if (close == std::string::npos) throw bad("malformed .npy shape");
  const std::string shape = header.substr(prefix.size(), close - prefix.size());
  Npy2D out;
  const size_t comma = shape.find(',');
  // NumPy writes "(63, 1383)" (a space after the comma), nnfmri "(63,1383)": blanks around a
  // dimension are allowed; the header's dtype and order must still be '<f4' and C order (above)
  auto dimension = [&](std::string text) {
    const size_t first = text.find_first_not_of(" \t"), last = text.find_last_not_of(" \t");
    text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
      throw bad("expected a 2-D shape (rows,cols), found (" + shape + ")");
    return std::stoi(text);
  };
  if (comma == std::string::npos) throw bad("expected a 2-D shape (rows,cols), found (" + shape + ")");
  out.rows = dimension(shape.substr(0, comma));
  out.cols = dimension(shape.substr(comma + 1));
  const size_t count = size_t(out.rows) * size_t(out.cols);
  const size_t limit = std::min(max_values, base::kMaxReadBytes / sizeof(float));  // nothing above 1 GiB is read
  if (count > limit) throw bad("holds " + std::to_string(count) + " values, expected at most " + std::to_string(limit));
  const size_t expected = 10 + header_size + count * sizeof(float);
  if (file.size() != expected)
    throw bad("expected " + std::to_string(expected) + " bytes for shape (" + shape + "), found " + std::to_string(file.size()));
  out.data.resize(count);  // the values read straight into the array
  file.read(10 + header_size, reinterpret_cast<char*>(out.data.data()), count * sizeof(float));
  return out;
}

std::string npz_size_problem(const std::vector<NpyArray>& arrays) {
  if (arrays.size() > 0xFFFF) return std::to_string(arrays.size()) + " arrays, expected at most 65535 (a zip without zip64)";
  double bytes = 22;  // the end record, then per array its local header, .npy and directory entry
  for (const NpyArray& a : arrays) {
    const size_t name = a.name.size() + 4;
    if (name > 0xFFFF) return "an array name of " + std::to_string(name) + " bytes, expected under 64 KiB";
    bytes += 30 + 46 + 2.0 * double(name) + 10 + double(npy_header(a).size()) + 4.0 * double(value_count(a));
  }
  if (bytes >= double(0xFFFFFFFFu))
    return std::to_string((unsigned long long)bytes) + " bytes, expected an .npz under 4 GiB (a zip without zip64)";
  return "";
}

namespace {
// The fields a zip's local header and its central directory entry share, in that order: version
// needed 2.0, no flags, stored (method 0), time 0 and date 1980-01-01, the CRC, the compressed and
// uncompressed sizes (equal: stored) and the name's length.
void put_entry(std::string& out, uint32_t crc, uint32_t size, const std::string& name) {
  put<uint16_t>(out, 20);
  put<uint16_t>(out, 0);
  put<uint16_t>(out, 0);
  put<uint16_t>(out, 0);
  put<uint16_t>(out, 0x21);
  put<uint32_t>(out, crc);
  put<uint32_t>(out, size);
  put<uint32_t>(out, size);
  put<uint16_t>(out, uint16_t(name.size()));
}
}  // namespace

// The zip is written as it goes, each array's data straight from its buffer (never a copy of the file
// in memory: an exported net's weights would be held twice more); the local header's CRC comes before
// the data, so it is computed from the buffer first.  Only the central directory (names and offsets) is
// kept until the end.
void write_npz(const std::string& path, const std::vector<NpyArray>& arrays) {
  if (const std::string problem = npz_size_problem(arrays); !problem.empty()) throw Error(path + ": not written: " + problem);
  base::AtomicFileWriter file(path);
  std::string central;
  uint32_t offset = 0;  // of the next local header (npz_size_problem: the file is under 4 GiB)
  uint16_t entries = 0;
  for (const auto& a : arrays) {
    const std::string name = a.name + ".npy", prefix = npy_prefix(a);
    const size_t data_bytes = value_count(a) * sizeof(float);
    const uint32_t size = uint32_t(prefix.size() + data_bytes);
    const uint32_t crc = crc32_update(crc32_update(0, prefix.data(), prefix.size()), npy_data(a), data_bytes);
    // local file header: stored (method 0), no data descriptor
    std::string local;
    put<uint32_t>(local, 0x04034b50);
    put_entry(local, crc, size, name);
    put<uint16_t>(local, 0);
    local += name;
    local += prefix;
    file.append(local);
    file.append(npy_data(a), data_bytes);
    // central directory entry
    put<uint32_t>(central, 0x02014b50);
    put<uint16_t>(central, 20);  // version made by
    put_entry(central, crc, size, name);
    put<uint16_t>(central, 0);
    put<uint16_t>(central, 0);
    put<uint16_t>(central, 0);
    put<uint16_t>(central, 0);
    put<uint32_t>(central, 0);
    put<uint32_t>(central, offset);
    central += name;
    offset += uint32_t(local.size() - prefix.size()) + size;
    ++entries;
  }
  const uint32_t central_offset = offset, central_size = uint32_t(central.size());
  put<uint32_t>(central, 0x06054b50);
  put<uint16_t>(central, 0);
  put<uint16_t>(central, 0);
  put<uint16_t>(central, entries);
  put<uint16_t>(central, entries);
  put<uint32_t>(central, central_size);
  put<uint32_t>(central, central_offset);
  put<uint16_t>(central, 0);
  file.append(central);
  file.commit();
}

}  // namespace base
