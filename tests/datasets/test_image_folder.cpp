// tests/datasets/test_image_folder.cpp — `--data images:DIR` (datasets/image_folder.h) on folders this
// test writes with stb_image_write: the pixels come back exactly (PNG) in (C, H, W) order with the
// class of their folder; grayscale and RGBA are converted as documented; the seeded split, the
// train/ and test/ layout, --resize, the digest, and each bad folder as one error naming the file.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // implemented by libstb (-lstb)

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/fileio.h"
#include "base/text.h"
#include "datasets/dataset.h"
#include "datasets/image_folder.h"
#include "base/sha256.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

// An image whose every value encodes (image seed, channel, position), (H, W, comp) interleaved.
std::vector<uint8_t> pattern(int seed, int w, int h, int comp) {
  std::vector<uint8_t> v(size_t(w) * h * comp);
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t((seed * 37 + int(i) * 11) % 256);
  return v;
}

class ImageFolder : public TempDirTest {
 protected:
  // Writes DIR/<rel> as a PNG of w×h with `comp` channels; returns its pixels (H, W, comp).
  std::vector<uint8_t> png(const std::string& rel, int seed, int w = 4, int h = 3, int comp = 3) {
    const std::string p = path(rel);
    fs::create_directories(fs::path(p).parent_path());
    const std::vector<uint8_t> v = pattern(seed, w, h, comp);
    EXPECT_NE(stbi_write_png(p.c_str(), w, h, comp, v.data(), w * comp), 0);
    return v;
  }
};

TEST_F(ImageFolder, PngPixelsComeBackExactlyWithTheirFoldersClass) {
  std::vector<std::vector<uint8_t>> written;
  for (int i = 0; i < 3; ++i) written.push_back(png("d/cat/" + std::to_string(i) + ".png", i));
  for (int i = 0; i < 2; ++i) written.push_back(png("d/dog/" + std::to_string(i) + ".PNG", 10 + i));
  std::ofstream(path("d/dog/notes.txt")) << "ignored";
  fs::create_directories(path("d/.hidden"));
  datasets::ImageFolderOptions o;
  o.split = 0.34;  // round(0.34 × 3) = 1 cat and round(0.34 × 2) = 1 dog to the test set
  const datasets::DataSplit s = datasets::load_image_folder(path("d"), o);
  EXPECT_EQ(s.train.class_names, std::vector<std::string>({"cat", "dog"}));
  ASSERT_EQ(s.train.size(), 3u);
  ASSERT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.train.channels, 3);
  EXPECT_EQ(s.train.height, 3);
  EXPECT_EQ(s.train.width, 4);
  // Every image read, train or test, is one of the written ones, of its class, in (C, H, W) order.
  std::vector<int> seen;
  for (const datasets::Dataset* d : {&s.train, &s.test})
    for (size_t n = 0; n < d->size(); ++n) {
      int match = -1;
      for (int w = 0; w < 5; ++w) {
        bool same = true;
        for (int c = 0; c < 3; ++c)
          for (int p = 0; p < 12; ++p) same = same && d->pixels[n * 36 + size_t(c) * 12 + size_t(p)] == written[size_t(w)][size_t(p) * 3 + size_t(c)];
        if (same) match = w;
      }
      ASSERT_GE(match, 0) << "image " << n;
      EXPECT_EQ(d->labels[n], match < 3 ? 0 : 1);
      seen.push_back(match);
    }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, std::vector<int>({0, 1, 2, 3, 4}));
  // The split is the seed's: the same seed gives the same test set, and over seeds each cat goes to test.
  const datasets::DataSplit again = datasets::load_image_folder(path("d"), o);
  EXPECT_EQ(again.test.pixels, s.test.pixels);
  std::vector<bool> cat_tested(3, false);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    o.split_seed = seed;
    const datasets::DataSplit t = datasets::load_image_folder(path("d"), o);
    for (int w = 0; w < 3; ++w)
      if (std::equal(t.test.pixels.begin(), t.test.pixels.begin() + 1, &written[size_t(w)][0])) cat_tested[size_t(w)] = true;
  }
  EXPECT_EQ(std::count(cat_tested.begin(), cat_tested.end(), true), 3);
}

TEST_F(ImageFolder, GrayscaleAloneIsOneChannelMixedIsRgbAndAlphaIsDropped) {
  const std::vector<uint8_t> g0 = png("g/a/0.png", 1, 4, 3, 1), g1 = png("g/b/0.png", 2, 4, 3, 2);
  png("g/a/1.png", 3, 4, 3, 1);
  png("g/b/1.png", 4, 4, 3, 1);
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  const datasets::DataSplit gray = datasets::load_image_folder(path("g"), o);
  EXPECT_EQ(gray.train.channels, 1);
  const std::vector<uint8_t> rgba = png("g/b/2.png", 5, 4, 3, 4);
  const datasets::DataSplit mixed = datasets::load_image_folder(path("g"), o);
  EXPECT_EQ(mixed.train.channels, 3);
  // Find the RGBA image and the gray+alpha one among all images and check the conversion.
  bool found_rgba = false, found_gray = false;
  for (const datasets::Dataset* d : {&mixed.train, &mixed.test})
    for (size_t n = 0; n < d->size(); ++n) {
      const uint8_t* im = &d->pixels[n * 36];
      bool is_rgba = true, is_gray = true;
      for (int c = 0; c < 3; ++c)
        for (int p = 0; p < 12; ++p) {
          is_rgba = is_rgba && im[c * 12 + p] == rgba[size_t(p) * 4 + size_t(c)];
          is_gray = is_gray && im[c * 12 + p] == g1[size_t(p) * 2];  // gray replicated, alpha dropped
        }
      found_rgba = found_rgba || is_rgba;
      found_gray = found_gray || is_gray;
    }
  EXPECT_TRUE(found_rgba);
  EXPECT_TRUE(found_gray);
}

TEST_F(ImageFolder, TrainAndTestFoldersResizeAndTheDigest) {
  png("t/train/x/0.png", 1, 8, 6);
  png("t/train/y/0.png", 2, 8, 6);
  png("t/test/x/0.png", 3, 8, 6);
  png("t/test/y/0.png", 4, 8, 6);
  png("t/test/y/1.png", 5, 8, 6);
  const datasets::DataSplit s = datasets::load_image_folder(path("t"), {});
  EXPECT_EQ(s.train.size(), 2u);
  EXPECT_EQ(s.test.size(), 3u);
  EXPECT_EQ(s.test.labels, std::vector<uint8_t>({0, 1, 1}));
  EXPECT_EQ(s.test.image_names, std::vector<std::string>({"test/x/0.png", "test/y/0.png", "test/y/1.png"}));
  // The digest: SHA-256 of the sha256sum listing, sorted by path.
  std::string listing;
  for (const std::string rel : {"test/x/0.png", "test/y/0.png", "test/y/1.png", "train/x/0.png", "train/y/0.png"})
    listing += base::sha256_file(path("t/" + rel)) + "  " + rel + "\n";
  EXPECT_EQ(s.train.digest, base::sha256_hex(listing.data(), listing.size()));
  EXPECT_EQ(s.test.digest, s.train.digest);
  EXPECT_EQ(s.train.files, std::vector<std::string>({path("t")}));
  datasets::ImageFolderOptions o;
  o.resize_h = 3, o.resize_w = 4;
  const datasets::DataSplit r = datasets::load_image_folder(path("t"), o);
  EXPECT_EQ(r.train.height, 3);
  EXPECT_EQ(r.train.width, 4);
  EXPECT_EQ(r.train.pixels.size(), 2u * 3 * 3 * 4);
  png("t/test/y/1.png", 6, 8, 6);  // one image changed: another digest
  EXPECT_NE(datasets::load_image_folder(path("t"), {}).train.digest, s.train.digest);
}

// A folder of images and no subfolder (monitor's --input: a stream to score, without labels): with
// unlabelled_ok and test_only, every image in it, in name order, pixels as written, labelled false, no
// class names, the digest by the same listing rule; without unlabelled_ok (or without test_only: a
// training set needs labels) it is refused as before; a folder of class folders stays labelled.
TEST_F(ImageFolder, AFolderOfImagesWithoutClassFoldersIsAnUnlabelledStreamForTheMonitorOnly) {
  const std::vector<uint8_t> b = png("flat/b.png", 2), a = png("flat/a.png", 1), c = png("flat/c.PNG", 3);
  std::ofstream(path("flat/notes.txt")) << "ignored";
  fs::create_directories(path("flat/.hidden"));
  datasets::ImageFolderOptions o;
  o.test_only = true, o.unlabelled_ok = true;
  const datasets::DataSplit s = datasets::load_image_folder(path("flat"), o);
  EXPECT_FALSE(s.test.labelled);
  EXPECT_TRUE(s.test.class_names.empty());
  EXPECT_EQ(s.train.size(), 0u);
  ASSERT_EQ(s.test.size(), 3u);
  EXPECT_EQ(s.test.image_names, std::vector<std::string>({"a.png", "b.png", "c.PNG"}));
  size_t n = 0;
  for (const std::vector<uint8_t>* want : {&a, &b, &c}) {  // name order: a.png, b.png, c.PNG
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 12; ++p) ASSERT_EQ(s.test.pixels[n * 36 + size_t(ch) * 12 + size_t(p)], (*want)[size_t(p) * 3 + size_t(ch)]) << n;
    ++n;
  }
  std::string listing;
  for (const std::string rel : {"a.png", "b.png", "c.PNG"}) listing += base::sha256_file(path("flat/" + rel)) + "  " + rel + "\n";
  EXPECT_EQ(s.test.digest, base::sha256_hex(listing.data(), listing.size()));
  EXPECT_NE(s.test.read_as.find("unlabelled"), std::string::npos) << s.test.read_as;
  for (const bool test_only : {false, true}) {
    datasets::ImageFolderOptions refused;
    refused.test_only = test_only, refused.unlabelled_ok = !test_only;
    EXPECT_EQ(error_of([&] { datasets::load_image_folder(path("flat"), refused); }),
              path("flat") + ": no class folders, expected one subfolder per class");
  }
  fs::create_directories(path("none"));
  EXPECT_EQ(error_of([&] { datasets::load_image_folder(path("none"), o); }),
            path("none") + ": no PNG or JPEG images, expected images in it or one subfolder per class");
  png("classes/x/0.png", 4);
  png("classes/y/0.png", 5);
  o.split = 0.5;
  const datasets::DataSplit labelled = datasets::load_image_folder(path("classes"), o);
  EXPECT_TRUE(labelled.test.labelled);
  EXPECT_EQ(labelled.test.class_names, std::vector<std::string>({"x", "y"}));
}

// The monitor's stream of an image folder decodes each batch when it is asked for: the batches are the
// images load_dataset gives (pixels, labels, names, in order), and a file spoilt after the listing is
// refused by the batch that reaches it, naming it, the batches before it handed out (a stream that
// decoded everything first would refuse at once).
TEST_F(ImageFolder, TheStreamOfAFolderDecodesEachBatchWhenAskedFor) {
  for (int i = 0; i < 5; ++i) png("s/test/c" + std::to_string(i % 2) + "/" + std::to_string(i) + ".png", i);
  fs::create_directories(path("s/train/c0"));
  fs::create_directories(path("s/train/c1"));
  datasets::LoadOptions o;
  o.test_only = true;
  const datasets::Dataset whole = datasets::load_dataset("images:" + path("s"), o).test;
  datasets::TestStream stream("images:" + path("s"), o, 0);
  ASSERT_EQ(stream.size(), 5u);
  EXPECT_TRUE(stream.header().pixels.empty());
  EXPECT_EQ(stream.header().digest, whole.digest);
  datasets::Dataset batch, joined = stream.header();
  while (stream.next(2, batch) > 0) {
    joined.pixels.insert(joined.pixels.end(), batch.pixels.begin(), batch.pixels.end());
    joined.labels.insert(joined.labels.end(), batch.labels.begin(), batch.labels.end());
    joined.image_names.insert(joined.image_names.end(), batch.image_names.begin(), batch.image_names.end());
  }
  EXPECT_EQ(joined.pixels, whole.pixels);
  EXPECT_EQ(joined.labels, whole.labels);
  EXPECT_EQ(joined.image_names, whole.image_names);
  // the fourth image in stream order (c1/1.png, c1/3.png after c0's three) cut after it was listed
  datasets::TestStream spoilt("images:" + path("s"), o, 0);
  const std::string victim = path("s/test/c1/1.png"), bytes = base::read_file(victim);
  base::write_file_atomic(victim, bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(spoilt.next(3, batch), 3u);
  EXPECT_EQ(error_of([&] { spoilt.next(3, batch); }), victim + ": cannot be decoded (stb_image: outofdata), expected a PNG or JPEG image");
  // one replaced by an image of other sides is refused by its header, before it is decoded
  base::write_file_atomic(victim, bytes);
  datasets::TestStream swapped("images:" + path("s"), o, 0);
  png("s/test/c1/3.png", 9, 40, 30);
  EXPECT_EQ(swapped.next(4, batch), 4u);
  EXPECT_EQ(error_of([&] { swapped.next(1, batch); }), path("s/test/c1/3.png") + ": changed while it was read (3x4 pixels when listed, 30x40 now)");
}

// --resize HxW gives H rows of W columns of the image as it is, not its transpose's bytes: a horizontal
// ramp (each value its column's) resized 6x8 → 3x4 stays a ramp, every row the same and rising from left
// to right (a resize to W rows of H columns, read back as H×W, passed the test above, whose sizes only
// were checked).
TEST_F(ImageFolder, ResizeKeepsRowsAsRowsAndColumnsAsColumns) {
  std::vector<uint8_t> ramp(6 * 8);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) ramp[size_t(y) * 8 + size_t(x)] = uint8_t(20 + 30 * x);
  for (const char* rel : {"r/train/a/0.png", "r/test/a/0.png"}) {
    fs::create_directories(fs::path(path(rel)).parent_path());
    ASSERT_NE(stbi_write_png(path(rel).c_str(), 8, 6, 1, ramp.data(), 8), 0);
  }
  datasets::ImageFolderOptions o;
  o.resize_h = 3, o.resize_w = 4;
  const datasets::DataSplit r = datasets::load_image_folder(path("r"), o);
  ASSERT_EQ(r.train.channels, 1);
  ASSERT_EQ(r.train.pixels.size(), 12u);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {
      EXPECT_EQ(r.train.pixels[size_t(y) * 4 + size_t(x)], r.train.pixels[size_t(x)]) << y << "," << x;
      if (x > 0) {
        EXPECT_GT(r.train.pixels[size_t(y) * 4 + size_t(x)], r.train.pixels[size_t(y) * 4 + size_t(x) - 1]) << y << "," << x;
      }
    }
}

// The test half alone (the monitor's --input, datasets::TestStream): train/ is neither required nor read
// (a file there that is no image would stop the whole load), the classes are test/'s, channels and size
// are the test images'; `rgb` reads grayscale images as 3 replicated channels.  A DIR of class folders is
// split as before.
TEST_F(ImageFolder, TheTestHalfAloneReadsNoTrainFolder) {
  png("t/train/x/0.png", 1, 8, 6);
  png("t/train/y/0.png", 2, 8, 6);
  std::ofstream(path("t/train/x/1.png")) << "not a PNG";
  const std::vector<uint8_t> a = png("t/test/x/0.png", 3, 4, 3, 1), b = png("t/test/y/0.png", 4, 4, 3, 1);
  expect_error_naming([&] { datasets::load_image_folder(path("t"), {}); }, "t/train/x/1.png: not a PNG or JPEG file");
  datasets::ImageFolderOptions o;
  o.test_only = true;
  const datasets::DataSplit s = datasets::load_image_folder(path("t"), o);
  EXPECT_EQ(s.train.size(), 0u);
  ASSERT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.test.labels, std::vector<uint8_t>({0, 1}));
  EXPECT_EQ(s.test.channels, 1);
  EXPECT_EQ(s.test.height, 3);
  EXPECT_EQ(s.test.width, 4);
  std::vector<uint8_t> both(a);  // one channel: (H, W) as written
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(s.test.pixels, both);
  o.rgb = true;
  const datasets::DataSplit rgb = datasets::load_image_folder(path("t"), o);
  ASSERT_EQ(rgb.test.channels, 3);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 12; ++p) ASSERT_EQ(rgb.test.pixels[size_t(c) * 12 + size_t(p)], a[size_t(p)]) << c << " " << p;
  // train/ with other class folders: refused (they number the classes); test/ without train/: the test
  // half alone reads it, the whole load refuses it.
  // The error names the first folder, in name order, that only one side has.
  fs::create_directories(path("t/train/z"));
  expect_error_naming([&] { datasets::load_image_folder(path("t"), o); }, "t/test: class folder 'z' is in train/ but not in test/");
  expect_error_naming([&] { datasets::load_image_folder(path("t"), {}); }, "t/test: class folder 'z' is in train/ but not in test/");
  fs::create_directories(path("t/test/a"));
  expect_error_naming([&] { datasets::load_image_folder(path("t"), {}); }, "t/test: class folder 'a' is in test/ but not in train/");
  fs::remove_all(path("t/test/a"));
  fs::remove_all(path("t/train"));
  EXPECT_EQ(datasets::load_image_folder(path("t"), o).test.size(), 2u);
  expect_error_naming([&] { datasets::load_image_folder(path("t"), {}); }, "has test/ but no train/");
  // A DIR of class folders: the seeded split, the same test half as the whole load's.
  png("f/x/0.png", 1), png("f/x/1.png", 2), png("f/y/0.png", 3), png("f/y/1.png", 4);
  datasets::ImageFolderOptions half;
  half.split = 0.5;
  const datasets::DataSplit whole = datasets::load_image_folder(path("f"), half);
  half.test_only = true;
  const datasets::DataSplit alone = datasets::load_image_folder(path("f"), half);
  EXPECT_EQ(alone.test.pixels, whole.test.pixels);
  EXPECT_EQ(alone.test.labels, whole.test.labels);
}

// One half of a folder of class folders (eval and analyze: the test share; profile: the training
// share): the split needs every image's name, but the other share's images were read and decoded too,
// so a bad one there stopped eval.  Now they are not read: a file of the other share that is no image
// changes nothing, and the half read is the whole load's.
TEST_F(ImageFolder, OneShareOfASplitFolderReadsNoImageOfTheOther) {
  for (int i = 0; i < 4; ++i) png("f/x/" + std::to_string(i) + ".png", i), png("f/y/" + std::to_string(i) + ".png", 10 + i);
  datasets::ImageFolderOptions half;
  half.split = 0.5;
  const datasets::DataSplit whole = datasets::load_image_folder(path("f"), half);
  // which of x's files went where: the first value of each image names it (pattern(seed): seed·37 mod 256)
  std::string train_file, test_file;
  for (int i = 0; i < 4; ++i) {
    bool in_test = false;
    for (size_t k = 0; k < whole.test.size(); ++k) in_test = in_test || whole.test.pixels[k * 36] == uint8_t(i * 37);
    (in_test ? test_file : train_file) = "f/x/" + std::to_string(i) + ".png";
  }
  ASSERT_FALSE(train_file.empty());
  ASSERT_FALSE(test_file.empty());
  for (const auto& [rel, test_only] : {std::pair<std::string, bool>{train_file, true}, {test_file, false}}) {
    const std::string saved = base::read_file(path(rel));
    base::write_file_atomic(path(rel), "not an image");
    datasets::ImageFolderOptions o = half;
    o.test_only = test_only, o.train_only = !test_only;
    const datasets::DataSplit alone = datasets::load_image_folder(path("f"), o);
    const datasets::Dataset& got = test_only ? alone.test : alone.train;
    const datasets::Dataset& expected = test_only ? whole.test : whole.train;
    EXPECT_EQ(got.pixels, expected.pixels) << rel;
    EXPECT_EQ(got.labels, expected.labels) << rel;
    EXPECT_EQ((test_only ? alone.train : alone.test).size(), 0u) << rel;
    base::write_file_atomic(path(rel), saved);
  }
}

TEST_F(ImageFolder, JpegIsReadToo) {
  fs::create_directories(path("j/a"));
  const std::vector<uint8_t> flat(16 * 16 * 3, 200);
  ASSERT_NE(stbi_write_jpg(path("j/a/0.jpg").c_str(), 16, 16, 3, flat.data(), 95), 0);
  ASSERT_NE(stbi_write_jpg(path("j/a/1.jpeg").c_str(), 16, 16, 3, flat.data(), 95), 0);
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  const datasets::DataSplit s = datasets::load_image_folder(path("j"), o);
  ASSERT_EQ(s.train.size(), 1u);
  for (uint8_t v : s.train.pixels) EXPECT_NEAR(int(v), 200, 2);
}

TEST_F(ImageFolder, BadFoldersAreOneErrorNamingTheFileOrFolder) {
  png("b/a/0.png", 1);
  png("b/a/1.png", 2, 5, 3);
  expect_error_naming([&] { datasets::load_image_folder(path("b"), {}); },
                      path("b/a/1.png") + ": 3x5 pixels (HxW), expected 3x4 like " + path("b/a/0.png") + " (--resize HxW");  // H×W like --resize
  fs::remove(path("b/a/1.png"));
  fs::create_directories(path("b/empty"));
  std::ofstream(path("b/empty/readme.txt")) << "no images";
  expect_error_naming([&] { datasets::load_image_folder(path("b"), {}); },
                      path("b/empty") + ": no PNG or JPEG images, expected at least one per class folder");
  fs::remove_all(path("b/empty"));
  const std::string good = base::read_file(path("b/a/0.png"));
  std::ofstream(path("b/a/2.png"), std::ios::binary) << good.substr(0, 20);  // truncated: the header is cut
  const std::string m = error_of([&] { datasets::load_image_folder(path("b"), {}); });
  EXPECT_EQ(m.rfind(path("b/a/2.png") + ": ", 0), 0u) << m;
  EXPECT_NE(m.find("expected a PNG or JPEG image"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  std::ofstream(path("b/a/2.png"), std::ios::binary) << good.substr(0, good.size() - 30);  // the data is cut
  expect_error_naming([&] { datasets::load_image_folder(path("b"), {}); }, path("b/a/2.png") + ": ");
  fs::remove(path("b/a/2.png"));
  fs::create_directories(path("b/train/a"));
  expect_error_naming([&] { datasets::load_image_folder(path("b"), {}); }, "has train/ but no test/");
  expect_error_naming([&] { datasets::load_image_folder(path("none"), {}); }, "images:" + path("none") + ": not a directory");
  fs::remove_all(path("b/train"));
  datasets::ImageFolderOptions o;
  o.split = 1;
  expect_error_naming([&] { datasets::load_image_folder(path("b"), o); }, "--split 1.0");
  expect_error_naming([&] { datasets::load_dataset("images"); }, "needs a directory, images:DIR");
}

// A class name goes into JSON (config.json, the checkpoint's header): a folder name that is not UTF-8
// is refused at load naming the folder (it crashed the checkpoint's write with exit 3).
TEST_F(ImageFolder, ClassFolderNamesThatAreNotUtf8AreRefusedNamingTheFolder) {
  png("u/caf\xc3\xa9/0.png", 1);
  png("u/b/0.png", 2);
  png("u/b/1.png", 3);
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  EXPECT_EQ(datasets::load_image_folder(path("u"), o).train.class_names[1], "caf\xc3\xa9");
  png("u/caf\xe9/0.png", 4);
  const std::string m = error_of([&] { datasets::load_image_folder(path("u"), o); });
  EXPECT_NE(m.find(path("u/caf\\xe9") + ": the class folder's name is not valid UTF-8"), std::string::npos) << m;
}

// A file is decoded whole before --resize shrinks it: its own size as stored is held to the per-image
// limit (an 859-byte JPEG claiming 20000x20000 was decoded for 1.77 GB and two minutes, then shrunk).
TEST_F(ImageFolder, AFileOverThePerImageLimitAsStoredIsRefusedEvenWithResize) {
  png("z/a/0.png", 1);
  png("z/a/1.png", 2);
  std::string bytes = base::read_file(path("z/a/1.png"));
  const auto put_be32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) bytes[at + size_t(k)] = char((v >> (24 - 8 * k)) & 0xFF);
  };
  put_be32(16, 2000);  // the IHDR's width and height: 3x2000x2000 values
  put_be32(20, 2000);
  std::ofstream(path("z/a/1.png"), std::ios::binary) << bytes;
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  o.resize_h = 3, o.resize_w = 4;
  expect_error_naming([&] { datasets::load_image_folder(path("z"), o); },
                      path("z/a/1.png") + ": 3x2000x2000 values as stored, expected at most 4194304 per image");
  // stb_image refuses a PNG over 2^30 bytes decoded by itself, then names no reason but "unknown image
  // type": the size comes from the IHDR and is said (it was "1.png: unknown image type, expected a PNG or
  // JPEG image" for a real PNG of 20000x20000 pixels, or 8x65536)
  put_be32(16, 20000);
  put_be32(20, 20000);
  std::ofstream(path("z/a/1.png"), std::ios::binary) << bytes;
  expect_error_naming([&] { datasets::load_image_folder(path("z"), o); },
                      path("z/a/1.png") + ": 3x20000x20000 values as stored, expected at most 4194304 per image");
  put_be32(16, 70000);  // a side over 65,536
  std::ofstream(path("z/a/1.png"), std::ios::binary) << bytes;
  expect_error_naming([&] { datasets::load_image_folder(path("z"), o); },
                      path("z/a/1.png") + ": 20000x70000 pixels (HxW), expected sides from 1 to 65536");
}

// The same refusal for a palette PNG that stb_image will not open: its size from the IHDR counts the 3
// values a palette entry decodes to (colour type 3 taken as 1 value said "1x20000x20000").
TEST_F(ImageFolder, APaletteFileOverTheLimitCountsThreeValuesAPixel) {
  png("z/a/0.png", 1);
  png("z/a/1.png", 2);
  std::string bytes = base::read_file(path("z/a/1.png"));
  for (const size_t at : {size_t(16), size_t(20)})
    for (int k = 0; k < 4; ++k) bytes[at + size_t(k)] = char((20000u >> (24 - 8 * k)) & 0xFF);
  bytes[25] = 3;  // the IHDR's colour type: palette
  std::ofstream(path("z/a/1.png"), std::ios::binary) << bytes;
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  expect_error_naming([&] { datasets::load_image_folder(path("z"), o); },
                      path("z/a/1.png") + ": 3x20000x20000 values as stored, expected at most 4194304 per image");
}

// A symbolic link that loops, as a class folder or as an image, is one error naming it (it was
// std::filesystem_error "Too many levels of symbolic links", exit 3); a link to nothing is ignored.
TEST_F(ImageFolder, ALinkThatLoopsIsOneErrorNamingIt) {
  png("l/a/0.png", 1);
  png("l/a/1.png", 2);
  fs::create_symlink("nowhere.png", path("l/a/2.png"));  // dangling: not a file, ignored
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  EXPECT_EQ(datasets::load_image_folder(path("l"), o).train.size() + datasets::load_image_folder(path("l"), o).test.size(), 2u);
  fs::create_symlink("3.png", path("l/a/3.png"));
  expect_error_naming([&] { datasets::load_image_folder(path("l"), o); }, path("l/a/3.png") + ": cannot tell what it is (");
  fs::remove(path("l/a/3.png"));
  fs::create_symlink("selfloop", path("l/selfloop"));
  expect_error_naming([&] { datasets::load_image_folder(path("l"), o); }, path("l/selfloop") + ": cannot tell what it is (");
}

// stb_image decodes BMP, GIF, TGA... as well: a file that is not PNG or JPEG by its first bytes is
// refused naming it, whatever its name says (a BMP named .png was read).
TEST_F(ImageFolder, OnlyPngAndJpegByTheirFirstBytes) {
  png("m/a/0.png", 1);
  const std::vector<uint8_t> v = pattern(2, 4, 3, 3);
  ASSERT_NE(stbi_write_bmp(path("m/a/1.png").c_str(), 4, 3, 3, v.data()), 0);
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  expect_error_naming([&] { datasets::load_image_folder(path("m"), o); },
                      path("m/a/1.png") + ": not a PNG or JPEG file (its first bytes are neither PNG's signature nor JPEG's FF D8 FF)");
}

}  // namespace

// The digest's listing names each image by its path under DIR as listed, a symbolic link's own path:
// a folder whose class folder (or image) is a link to another copy of the same files gives the digest of
// the copy itself (std::filesystem::relative would resolve the link, so the listing would say
// "../elsewhere/x/0.png": another digest for the same images, and no `find -L` could reproduce it).
TEST_F(ImageFolder, TheDigestNamesALinkedImageByItsPathUnderTheFolder) {
  png("store/x/0.png", 1);
  png("store/y/0.png", 2);
  png("store/y/1.png", 3);
  fs::create_directories(path("linked/y"));
  fs::create_symlink("../store/x", path("linked/x"));           // a class folder that is a link
  fs::create_symlink("../../store/y/0.png", path("linked/y/0.png"));  // an image that is a link
  fs::create_symlink("../../store/y/1.png", path("linked/y/1.png"));
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  const datasets::DataSplit copy = datasets::load_image_folder(path("store"), o);
  const datasets::DataSplit linked = datasets::load_image_folder(path("linked") + "/", o);
  EXPECT_EQ(linked.test.pixels, copy.test.pixels);
  EXPECT_EQ(linked.train.digest, copy.train.digest);
  std::string listing;
  for (const std::string rel : {"x/0.png", "y/0.png", "y/1.png"})
    listing += base::sha256_file(path("store/" + rel)) + "  " + rel + "\n";
  EXPECT_EQ(copy.train.digest, base::sha256_hex(listing.data(), listing.size()));
}

// A PNG or JPEG that stb_image cannot decode is one error saying so, with stb_image's reason quoted in
// valid UTF-8: the reason alone ("IDA", "outofdata"; an unknown chunk's type, bytes of the file) was the
// whole message, and a type byte such as 0x81 went into the line as it was.
TEST_F(ImageFolder, AnImageStbImageCannotDecodeIsSaidSoInUtf8) {
  png("u/a/0.png", 1);
  png("u/a/1.png", 2);
  const std::string good = base::read_file(path("u/a/0.png"));
  datasets::ImageFolderOptions o;
  o.split = 0.5;
  // An unknown critical chunk between IHDR and IDAT (type 81 00 FE 41: bit 5 of its first byte clear).
  std::string chunk("\0\0\0\0\x81\0\xfe\x41\0\0\0\0", 12);
  std::ofstream(path("u/a/1.png"), std::ios::binary) << good.substr(0, 33) + chunk + good.substr(33);
  std::string m = error_of([&] { datasets::load_image_folder(path("u"), o); });
  EXPECT_EQ(m.rfind(path("u/a/1.png") + ": cannot be decoded (stb_image: ", 0), 0u) << m;
  EXPECT_NE(m.find("), expected a PNG or JPEG image"), std::string::npos) << m;
  EXPECT_TRUE(base::is_utf8(m)) << m;
  std::ofstream(path("u/a/1.png"), std::ios::binary) << good.substr(0, good.size() - 30);  // the pixel data cut
  m = error_of([&] { datasets::load_image_folder(path("u"), o); });
  EXPECT_EQ(m.rfind(path("u/a/1.png") + ": cannot be decoded (stb_image: ", 0), 0u) << m;
}
