// datasets/image_folder.cpp — see image_folder.h.
#include "datasets/image_folder.h"

#include <stb/stb_image.h>         // implemented by libstb (-lstb)
#include <stb/stb_image_resize.h>  // likewise

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>

#include "base/error.h"
#include "base/fileio.h"
#include "base/format.h"
#include "base/limits.h"
#include "base/text.h"
#include "base/sha256.h"
#include "nn/rng.h"

namespace datasets {

namespace {

namespace fs = std::filesystem;

struct ImageFile {
  std::string path, relative;  // relative to DIR, for the digest
  int label = 0;
  int width = 0, height = 0, components = 0;  // from the header
};

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// What the entry is (a symbolic link followed); a link that loops or an entry that cannot be looked at
// is one error naming it (the throwing overloads gave std::filesystem_error, exit 3).  A link to
// nothing is not_found: no file, ignored like any other entry that is not a folder or an image.
fs::file_type entry_type(const fs::directory_entry& e) {
  std::error_code ec;
  const fs::file_status status = e.status(ec);
  if (status.type() == fs::file_type::none)
    throw base::Error(e.path().string() + ": cannot tell what it is (" + ec.message() + "), expected a folder or a file");
  return status.type();
}

// A PNG's size and channels from its IHDR, the chunk its signature must be followed by (width and
// height as big-endian 32-bit numbers, then bit depth and colour type); false when there is none.
bool png_header(const std::string& bytes, int& width, int& height, int& components) {
  if (bytes.size() < 33 || bytes.compare(12, 4, "IHDR") != 0) return false;
  const auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 | uint32_t(uint8_t(bytes[at + 2])) << 8 |
           uint32_t(uint8_t(bytes[at + 3]));
  };
  const int kinds[7] = {1, 0, 3, 3, 2, 0, 4};  // gray, -, RGB, palette, gray + alpha, -, RGBA
  const uint8_t type = uint8_t(bytes[25]);
  if (be32(16) > uint32_t(INT32_MAX) || be32(20) > uint32_t(INT32_MAX) || type > 6 || kinds[type] == 0) return false;
  width = int(be32(16)), height = int(be32(20)), components = kinds[type];
  return true;
}

// The error for a file stb_image cannot read.  Its reason is a terse code ("outofdata") or, for an
// unknown PNG chunk, the chunk's type bytes taken from the file: quoted as such, in valid UTF-8.
base::Error undecodable(const std::string& path, const std::string& reason) {
  return base::Error(path + ": cannot be decoded (stb_image: " + base::utf8_escaped(reason) +
                     "), expected a PNG or JPEG image");
}

std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string()[0] != '.' && entry_type(e) == fs::file_type::directory)
      names.push_back(e.path().filename().string());
  if (ec) throw base::Error(dir.string() + ": cannot list the folder (" + ec.message() + ")");
  for (const std::string& name : names)  // a class name goes into JSON (the run, the checkpoint's header)
    if (!base::is_utf8(name))
      throw base::Error((dir / base::utf8_escaped(name)).string() +
                        ": the class folder's name is not valid UTF-8, expected a UTF-8 name (rename the folder)");
  std::sort(names.begin(), names.end());
  return names;
}

// Refuses test/'s class folders when they are not train/'s (they number the classes), naming the
// first folder, in name order, that only one of the two has.
void check_same_classes(const fs::path& root, const std::vector<std::string>& train, const std::vector<std::string>& test) {
  if (train == test) return;
  std::vector<std::string> one_side;
  std::set_symmetric_difference(train.begin(), train.end(), test.begin(), test.end(), std::back_inserter(one_side));
  const std::string& name = one_side.front();
  const bool in_test = std::binary_search(test.begin(), test.end(), name);
  throw base::Error((root / "test").string() + ": class folder '" + name + "' is in " + (in_test ? "test/ but not in train/" : "train/ but not in test/") +
                    ", expected the same class folders in both");
}

// The images directly in `folder` (name order), each labelled `label`, appended to `files`; none is an
// error naming the folder and `expected`.
void list_folder(const fs::path& root, const fs::path& folder, int label, const std::string& expected, std::vector<ImageFile>& files) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (is_image(e.path()) && entry_type(e) == fs::file_type::regular) names.push_back(e.path().filename().string());
  if (ec) throw base::Error(folder.string() + ": cannot list the folder (" + ec.message() + ")");
  if (names.empty()) throw base::Error(folder.string() + ": no PNG or JPEG images, expected " + expected);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    if (files.size() >= kMaxFolderImages)
      throw base::Error(root.string() + ": more than " + std::to_string(kMaxFolderImages) + " images");
    const fs::path p = folder / n;
    // Lexically: the path as listed under DIR, a link's own (fs::relative resolves links, and a linked
    // image was named by its target, ../elsewhere/x.png, in the digest's listing).
    files.push_back({p.string(), p.lexically_relative(root).string(), label});
  }
}

// The images of DIR/<class> for every class, labelled by class index, in name order.
std::vector<ImageFile> list_images(const fs::path& root, const fs::path& dir, const std::vector<std::string>& classes) {
  std::vector<ImageFile> files;
  for (size_t k = 0; k < classes.size(); ++k) list_folder(root, dir / classes[k], int(k), "at least one per class folder", files);
  return files;
}

}  // namespace

struct ImageFolder::Files {
  std::vector<ImageFile> train, test;  // listed, each header checked
};

ImageFolder::~ImageFolder() = default;

ImageFolder::ImageFolder(const std::string& dir, const ImageFolderOptions& options) : files_(std::make_unique<Files>()) {
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw base::Error("images:" + dir + ": not a directory, expected a folder of class folders");
  if (!(options.split > 0 && options.split < 1))
    throw base::Error("--split " + std::to_string(options.split) + ": expected a test share between 0 and 1");
  const bool only_train = options.train_only && fs::is_directory(root / "train", ec);
  const bool has_test = !only_train && fs::is_directory(root / "test", ec);
  const bool only_test = options.test_only && has_test;
  const bool has_train = !only_test && fs::is_directory(root / "train", ec);
  if (!only_test && !only_train && has_train != has_test)
    throw base::Error(dir + ": has " + (has_train ? "train/" : "test/") + " but no " + (has_train ? "test/" : "train/") +
                      ", expected both or only class folders");
  const fs::path train_dir = only_test ? root / "test" : has_train ? root / "train" : root;  // the folder naming the classes
  const std::vector<std::string> classes = sorted_subfolders(train_dir);
  // No subfolder at all: with unlabelled_ok (and test_only) the images in DIR itself, unlabelled
  const bool unlabelled = options.unlabelled_ok && options.test_only && !has_train && !has_test && classes.empty();
  if (classes.empty() && !unlabelled) throw base::Error(train_dir.string() + ": no class folders, expected one subfolder per class");
  if (classes.size() > size_t(base::kMaxClasses))
    throw base::Error(train_dir.string() + ": " + std::to_string(classes.size()) + " class folders, expected at most " +
                      std::to_string(base::kMaxClasses));
  std::vector<ImageFile>& train = files_->train;
  std::vector<ImageFile>& test = files_->test;
  if (unlabelled) {
    list_folder(root, root, 0, "images in it or one subfolder per class", test);
  } else if (only_test) {  // train/'s folder names, when it is there, must still be test/'s: they number the classes
    if (fs::is_directory(root / "train", ec)) check_same_classes(root, sorted_subfolders(root / "train"), classes);
    test = list_images(root, train_dir, classes);
  } else if (only_train) {
    train = list_images(root, train_dir, classes);
  } else if (has_test) {
    check_same_classes(root, classes, sorted_subfolders(root / "test"));
    train = list_images(root, train_dir, classes);
    test = list_images(root, root / "test", classes);
  } else {  // per class: shuffled by the seed, the first round(split × n) to the test set
    const std::vector<ImageFile> all = list_images(root, train_dir, classes);
    for (size_t k = 0, start = 0; k < classes.size(); ++k) {
      size_t end = start;
      while (end < all.size() && all[end].label == int(k)) ++end;
      std::vector<size_t> order(end - start);
      for (size_t i = 0; i < order.size(); ++i) order[i] = start + i;
      nn::Rng rng = nn::Rng::derive(options.split_seed, 0x5F17, k);
      rng.shuffle(order.data(), order.size());
      const size_t to_test = size_t(std::lround(options.split * double(order.size())));
      std::vector<size_t> test_part(order.begin(), order.begin() + long(to_test)), train_part(order.begin() + long(to_test), order.end());
      std::sort(test_part.begin(), test_part.end());
      std::sort(train_part.begin(), train_part.end());
      for (size_t i : train_part) train.push_back(all[i]);
      for (size_t i : test_part) test.push_back(all[i]);
      start = end;
    }
    // One half alone: the split needed every image's name, but the other half's images are not read
    if (options.test_only) train.clear();
    if (options.train_only) test.clear();
  }

  // Pass 1: every header (size and channels) before anything is decoded; the digest's listing.
  std::vector<ImageFile*> every;
  for (ImageFile& f : train) every.push_back(&f);
  for (ImageFile& f : test) every.push_back(&f);
  if (every.empty())  // one half alone of a folder whose split gives that half no image
    throw base::Error("images:" + dir + ": the " + (options.test_only ? "test" : "training") + " share of --split " +
                      base::shortest(options.split, false) + " holds no image (round(share × n) per class), expected at least one");
  std::vector<std::string> listing;
  bool all_gray = true;
  for (ImageFile* f : every) {
    const std::string bytes = base::read_file(f->path);
    // stb_image reads BMP, GIF, PSD, TGA, HDR, PIC and PNM too: only PNG and JPEG, by their first bytes.
    const bool png = bytes.compare(0, 8, "\x89PNG\r\n\x1a\n", 8) == 0, jpeg = bytes.compare(0, 3, "\xff\xd8\xff", 3) == 0;
    if (!png && !jpeg)
      throw base::Error(f->path + ": not a PNG or JPEG file (its first bytes are neither PNG's signature nor JPEG's FF D8 FF), "
                        "expected a PNG or JPEG image");
    const bool known = stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &f->width,
                                             &f->height, &f->components);
    const std::string reason = known ? "" : stbi_failure_reason();
    // stb_image refuses a PNG over 2^30 bytes decoded and then says "unknown image type" (its last
    // loader's word): such a file's size comes from its IHDR, so that it is refused for its size.
    if (!known && !(png && png_header(bytes, f->width, f->height, f->components))) throw undecodable(f->path, reason);
    if (f->width < 1 || f->height < 1 || f->width > base::kMaxInputSide || f->height > base::kMaxInputSide)
      throw base::Error(f->path + ": " + std::to_string(f->height) + "x" + std::to_string(f->width) +
                        " pixels (HxW), expected sides from 1 to " + std::to_string(base::kMaxInputSide));
    // The file is decoded whole before any --resize: its own size is held to the per-image limit too
    // (a 859-byte JPEG claiming 20000x20000 took 1.77 GB and two minutes to shrink to 8x6).
    if (int64_t(f->components) * f->height * f->width > base::kMaxLayerUnits)
      throw base::Error(f->path + ": " + std::to_string(f->components) + "x" + std::to_string(f->height) + "x" +
                        std::to_string(f->width) + " values as stored, expected at most " + std::to_string(base::kMaxLayerUnits) +
                        " per image (an image is decoded whole before --resize; shrink the file itself)");
    if (!known) throw undecodable(f->path, reason);
    all_gray = all_gray && f->components <= 2;
    listing.push_back(base::sha256_hex(bytes.data(), bytes.size()) + "  " + f->relative + "\n");
  }
  const int C = all_gray && !options.rgb ? 1 : 3;
  const ImageFile& first = *every.front();
  const int H = options.resize_h > 0 ? options.resize_h : first.height, W = options.resize_w > 0 ? options.resize_w : first.width;
  if (int64_t(C) * H * W > base::kMaxLayerUnits)
    throw base::Error(first.path + ": " + std::to_string(C) + "x" + std::to_string(H) + "x" + std::to_string(W) +
                      " values per image, expected at most " + std::to_string(base::kMaxLayerUnits) + (options.resize_h ? " (--resize)" : " (give --resize HxW)"));
  if (options.resize_h == 0)
    for (const ImageFile* f : every)
      if (f->width != W || f->height != H)
        throw base::Error(f->path + ": " + std::to_string(f->height) + "x" + std::to_string(f->width) + " pixels (HxW), expected " +
                          std::to_string(H) + "x" + std::to_string(W) + " like " + first.path + " (--resize HxW resizes every image)");
  const size_t image_bytes = size_t(C) * H * W;
  if (double(image_bytes) * double(every.size()) > double(kMaxFolderBytes))
    throw base::Error(dir + ": " + std::to_string(every.size()) + " images of " + std::to_string(image_bytes) +
                      " bytes, expected at most " + std::to_string(kMaxFolderBytes) + " bytes in all");
  std::vector<std::string> sorted_listing = listing;
  std::sort(sorted_listing.begin(), sorted_listing.end(), [](const std::string& a, const std::string& b) {
    return a.substr(66) < b.substr(66);  // by path: after the 64 hex digits and two spaces
  });
  std::string text;
  for (const std::string& line : sorted_listing) text += line;
  const std::string digest = base::sha256_hex(text.data(), text.size());

  header_.name = "images";
  header_.channels = C, header_.height = H, header_.width = W;
  header_.class_names = classes;
  header_.files = {dir};
  header_.digest = digest;
  header_.labelled = !unlabelled;
  header_.read_as = std::string(C == 1 ? "grayscale" : "RGB") + " " + std::to_string(H) + "x" + std::to_string(W) +
                    (options.resize_h > 0 ? " (resized)" : "") +
                    (unlabelled ? std::string(", unlabelled: every image in the folder") : only_test ? std::string(", test/ only") : has_train ? std::string(", train/ and test/") : ", split " + std::to_string(options.split) + " seed " + std::to_string(options.split_seed)) +
                    (unlabelled ? "" : !has_train && !has_test && options.test_only ? ", test share only" : !has_train && !has_test && options.train_only ? ", training share only" : "");
}

size_t ImageFolder::size(bool test) const { return (test ? files_->test : files_->train).size(); }

// Decode, convert, resize, (H, W, C) → (C, H, W).
void ImageFolder::read(bool test, size_t first, size_t count, Dataset& out) const {
  const std::vector<ImageFile>& files = test ? files_->test : files_->train;
  if (first > files.size() || count > files.size() - first) throw base::Error("ImageFolder::read: images beyond the half");
  const int C = header_.channels, H = header_.height, W = header_.width;
  const size_t image_bytes = header_.image_size();
  out = header_;
  out.pixels.resize(count * image_bytes);
  out.labels.resize(count);
  out.image_names.resize(count);
  std::vector<uint8_t> resized;
  for (size_t i = 0; i < count; ++i) {
    const ImageFile& f = files[first + i];
    const std::string bytes = base::read_file(f.path);
    int w = 0, h = 0, n = 0;
    // The header again before decoding: a stream decodes long after the listing, and a file replaced
    // since (by an image of another size, perhaps far larger) is refused before its pixels are allocated.
    if (!stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &w, &h, &n))
      throw undecodable(f.path, stbi_failure_reason());
    if (w != f.width || h != f.height)
      throw base::Error(f.path + ": changed while it was read (" + std::to_string(f.height) + "x" + std::to_string(f.width) +
                        " pixels when listed, " + std::to_string(h) + "x" + std::to_string(w) + " now)");
    std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
        stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &w, &h, &n, C), stbi_image_free);
    if (!decoded) throw undecodable(f.path, stbi_failure_reason());
    const stbi_uc* hwc = decoded.get();
    if (w != W || h != H) {
      resized.resize(image_bytes);
      if (!stbir_resize_uint8(hwc, w, h, 0, resized.data(), W, H, 0, C))
        throw base::Error(f.path + ": could not be resized to " + std::to_string(H) + "x" + std::to_string(W));
      hwc = resized.data();
    }
    uint8_t* to = out.pixels.data() + i * image_bytes;
    for (int c = 0; c < C; ++c)
      for (int p = 0; p < H * W; ++p) to[size_t(c) * H * W + size_t(p)] = hwc[size_t(p) * C + size_t(c)];
    out.labels[i] = uint8_t(f.label);
    out.image_names[i] = f.relative;
  }
}

DataSplit load_image_folder(const std::string& dir, const ImageFolderOptions& options) {
  const ImageFolder folder(dir, options);
  DataSplit split;
  folder.read(false, 0, folder.size(false), split.train);
  folder.read(true, 0, folder.size(true), split.test);
  return split;
}

}  // namespace datasets
