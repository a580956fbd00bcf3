// tests/datasets/test_datasets.cpp — CIFAR-10 binary, IDX (gzip and plain), SHA-256,
// channel statistics and the --data spec parser.  Every file the tests read is written
// here, under testing::TempDir() in a folder unique to the test.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "datasets/cifar10.h"
#include "datasets/dataset.h"
#include "datasets/idx.h"
#include "datasets/planted.h"
#include "base/error.h"
#include "tests/error_of.h"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {


void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// A fresh folder per test: TempDir/nnfmri_<pid>_<suite>_<test>, removed afterwards.
class TempDirTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = testing::TempDir() + "nnfmri_" + std::to_string(getpid()) + "_" + info->test_suite_name() + "_" +
           info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  std::string dir_;
};

// ---- CIFAR-10 -----------------------------------------------------------------------

// Pixel (plane c, index j) of the record with this tag; planes differ so R/G/B order shows.
uint8_t cifar_pixel(int tag, int c, int j) { return uint8_t(tag * 31 + c * 85 + j); }

Bytes cifar_records(const std::vector<std::pair<int, int>>& label_and_tag) {
  Bytes out;
  for (const auto& [label, tag] : label_and_tag) {
    out.push_back(uint8_t(label));
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 1024; ++j) out.push_back(cifar_pixel(tag, c, j));
  }
  return out;
}

class Cifar10Test : public TempDirTest {
 protected:
  // data_batch_1 (3 records), data_batch_2 (2 records), test_batch (2 records), meta.
  void write_valid() {
    write_file(path("data_batch_1.bin"), cifar_records({{0, 1}, {1, 2}, {9, 3}}));
    write_file(path("data_batch_2.bin"), cifar_records({{5, 4}, {3, 5}}));
    write_file(path("test_batch.bin"), cifar_records({{7, 6}, {2, 7}}));
    std::ofstream(path("batches.meta.txt")) << "a0\na1\n\na2\na3\na4\na5\na6\na7\na8\na9\n\n";
  }
};

TEST_F(Cifar10Test, LoadsRecordsInOrderWithPlanesAndNames) {
  write_valid();
  const datasets::DataSplit s = datasets::load_cifar10(dir_);
  const datasets::Dataset& train = s.train;
  EXPECT_EQ(train.name, "cifar10");
  EXPECT_EQ(train.channels, 3);
  EXPECT_EQ(train.height, 32);
  EXPECT_EQ(train.width, 32);
  ASSERT_EQ(train.size(), 5u);
  EXPECT_EQ(train.labels, (Bytes{0, 1, 9, 5, 3}));
  ASSERT_EQ(train.pixels.size(), 5u * 3072);
  ASSERT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.test.labels, (Bytes{7, 2}));
  EXPECT_EQ(train.num_classes(), 10);
  EXPECT_EQ(train.class_names.front(), "a0");
  EXPECT_EQ(train.class_names.back(), "a9");
  EXPECT_EQ(s.test.class_names, train.class_names);

  // Image 3 is record 0 of data_batch_2 (tag 4): (c, y, x) at ((c*32)+y)*32+x.
  const nn::LabeledImages v = train.view();
  EXPECT_EQ(v.count, 5u);
  EXPECT_EQ(v.num_classes, 10);
  EXPECT_EQ(v.image_size(), 3072u);
  for (int c = 0; c < 3; ++c)
    for (int j : {0, 33, 1023}) EXPECT_EQ(v.image(3)[c * 1024 + j], cifar_pixel(4, c, j)) << c << " " << j;
  EXPECT_EQ(s.test.view().image(1)[2 * 1024 + 5], cifar_pixel(7, 2, 5));  // B plane of the test record

  EXPECT_EQ(train.files, (std::vector<std::string>{path("batches.meta.txt"), path("data_batch_1.bin"),
                                                   path("data_batch_2.bin")}));
  EXPECT_EQ(s.test.files, (std::vector<std::string>{path("batches.meta.txt"), path("test_batch.bin")}));
}

// TestStream hands out the test records of load_cifar10 in order, batch by batch, without reading the
// training batches (an unreadable data_batch_1.bin does not stop it); --limit-test keeps the first N;
// a bad label is reported when its batch is reached, naming the record.
TEST_F(Cifar10Test, TestStreamHandsOutTheTestRecordsInBatches) {
  std::vector<std::pair<int, int>> records;
  for (int i = 0; i < 11; ++i) records.push_back({i % 10, 20 + i});
  write_file(path("data_batch_1.bin"), cifar_records({{0, 1}}));
  write_file(path("test_batch.bin"), cifar_records(records));
  std::ofstream(path("batches.meta.txt")) << "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n";
  const datasets::Dataset whole = datasets::load_cifar10(dir_).test;
  write_file(path("data_batch_1.bin"), Bytes{1, 2, 3});  // not a whole record: the stream never opens it
  for (const size_t limit : {size_t(0), size_t(7)}) {
    datasets::TestStream stream("cifar10:" + dir_, {}, limit);
    const size_t expected = limit ? limit : 11;
    ASSERT_EQ(stream.size(), expected);
    EXPECT_EQ(stream.header().class_names, whole.class_names);
    EXPECT_EQ(stream.header().files, whole.files);
    EXPECT_TRUE(stream.header().pixels.empty());
    datasets::Dataset batch;
    size_t given = 0;
    for (size_t n; (n = stream.next(4, batch)) > 0; given += n) {
      ASSERT_EQ(n, std::min<size_t>(4, expected - given));
      ASSERT_EQ(batch.size(), n);
      EXPECT_EQ(batch.channels, 3);
      EXPECT_EQ(std::vector<uint8_t>(batch.labels), Bytes(whole.labels.begin() + long(given), whole.labels.begin() + long(given + n)));
      EXPECT_EQ(batch.pixels, Bytes(whole.pixels.begin() + long(given * 3072), whole.pixels.begin() + long((given + n) * 3072)));
    }
    EXPECT_EQ(given, expected);
    EXPECT_EQ(stream.next(4, batch), 0u);
  }
  records[9].first = 12;  // record 9 is in the third batch of 4
  write_file(path("test_batch.bin"), cifar_records(records));
  datasets::TestStream stream("cifar10:" + dir_, {}, 0);
  datasets::Dataset batch;
  EXPECT_EQ(stream.next(4, batch), 4u);
  EXPECT_EQ(stream.next(4, batch), 4u);
  const std::string msg = error_of([&] { stream.next(4, batch); });
  EXPECT_NE(msg.find("record 9 has label 12"), std::string::npos) << msg;
  // Every other spec comes from load_dataset: the planted test half, in order.
  const datasets::Dataset planted = datasets::load_dataset("planted:3").test;
  datasets::TestStream other("planted:3", {}, 0);
  ASSERT_EQ(other.size(), planted.size());
  EXPECT_EQ(other.next(1000, batch), planted.size());
  EXPECT_EQ(batch.pixels, planted.pixels);
  EXPECT_EQ(batch.labels, planted.labels);
}

// A spec is split at its first ':' alone (datasets/dataset.cpp, split_spec): a folder whose name holds
// ':' is read whole by load_dataset and TestStream, and absolute_spec keeps it; "cifar10:" and
// "images:" with nothing after the ':' are load_dataset's one error in all three.
TEST_F(Cifar10Test, AFolderWhoseNameHoldsAColonIsReadWhole) {
  const std::string dir = path("run:2 a:b");
  fs::create_directories(dir);
  write_file(dir + "/data_batch_1.bin", cifar_records({{1, 5}, {2, 6}}));
  write_file(dir + "/test_batch.bin", cifar_records({{3, 7}, {4, 8}, {5, 9}}));
  const datasets::DataSplit loaded = datasets::load_dataset("cifar10:" + dir);
  EXPECT_EQ(loaded.train.size(), 2u);
  EXPECT_EQ(std::vector<uint8_t>(loaded.test.labels), (Bytes{3, 4, 5}));
  datasets::TestStream stream("cifar10:" + dir, {}, 0);
  EXPECT_EQ(stream.size(), 3u);
  EXPECT_EQ(datasets::absolute_spec("cifar10:" + dir), "cifar10:" + dir);
  for (const std::string spec : {"cifar10:", "images:"}) {
    const std::string loading = error_of([&] { datasets::load_dataset(spec); });
    EXPECT_NE(loading.find("'" + spec + "': nothing after ':'"), std::string::npos) << loading;
    EXPECT_EQ(error_of([&] { datasets::TestStream(spec, {}, 0); }), loading);
    EXPECT_EQ(datasets::absolute_spec(spec), spec);
  }
}

TEST_F(Cifar10Test, MissingMetaGivesStandardNamesAndLaterBatchesAreOptional) {
  write_file(path("data_batch_1.bin"), cifar_records({{4, 1}}));
  write_file(path("data_batch_3.bin"), cifar_records({{6, 2}}));  // batch 2 absent: skipped
  write_file(path("test_batch.bin"), cifar_records({{8, 3}}));
  const datasets::DataSplit s = datasets::load_cifar10(dir_);
  EXPECT_EQ(s.train.labels, (Bytes{4, 6}));
  EXPECT_EQ(s.train.class_names.front(), "airplane");
  EXPECT_EQ(s.train.class_names.back(), "truck");
  EXPECT_EQ(s.train.files, (std::vector<std::string>{path("data_batch_1.bin"), path("data_batch_3.bin")}));
}

TEST_F(Cifar10Test, TruncatedFileNamesItsSize) {
  write_valid();
  Bytes bytes = cifar_records({{1, 1}, {2, 2}});
  bytes.resize(bytes.size() - 5);  // 6141 bytes
  write_file(path("data_batch_2.bin"), bytes);
  const std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("data_batch_2.bin")), std::string::npos) << msg;
  EXPECT_NE(msg.find("6141"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3073"), std::string::npos) << msg;
}

// Batches each under the per-file cap but over it together are refused from their sizes, before any is
// read (sparse files: 1.8 GB of zero records, label 0, that the old code read into memory).
TEST_F(Cifar10Test, TrainingBatchesOverTheCapTogetherAreRefusedBeforeReading) {
  write_valid();
  const size_t half = datasets::kMaxCifarRecordsPerFile / 2 + 1;
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin"}) std::filesystem::resize_file(path(name), half * 3073);
  const std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("cifar10: " + dir_ + ": the training batches hold " + std::to_string(2 * half) +
                     " records in all, expected at most 600000"), std::string::npos) << msg;
  // The test half alone still loads.
  EXPECT_EQ(datasets::load_cifar10(dir_, true, false).test.size(), 2u);
}

TEST_F(Cifar10Test, BadLabelNamesFileRecordAndValue) {
  write_valid();
  write_file(path("data_batch_2.bin"), cifar_records({{1, 1}, {11, 2}}));
  const std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("data_batch_2.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("record 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 11"), std::string::npos) << msg;
}

// Labels 0..9: 10, the first past the end, is refused like 11 (a check written `label > 10` let it through
// as an eleventh class of a ten-class set).
TEST_F(Cifar10Test, LabelTenIsRefusedNineIsRead) {
  write_valid();
  write_file(path("test_batch.bin"), cifar_records({{9, 1}, {10, 2}}));
  const std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("test_batch.bin: record 1 has label 10, expected 0..9"), std::string::npos) << msg;
}

TEST_F(Cifar10Test, MissingFilesAndDirectory) {
  write_valid();
  fs::remove(path("test_batch.bin"));
  std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("test_batch.bin"), std::string::npos) << msg;

  write_valid();
  fs::remove(path("data_batch_1.bin"));  // batch 1 is required even when others exist
  msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("data_batch_1.bin"), std::string::npos) << msg;

  const std::string missing = path("no-such-dir");
  msg = error_of([&] { datasets::load_cifar10(missing); });
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
}

// A data folder that is there in another form (a file, a link that loops) is said to be that: it was
// "directory X does not exist", for a path that plainly does (cifar10: and mnist:/fashion-mnist: alike).
TEST_F(Cifar10Test, ADataFolderThatIsAFileOrALinkThatLoopsIsSaidSo) {
  write_valid();
  const std::string file = path("data_batch_1.bin"), loop = path("loop");
  fs::create_symlink("loop", loop);
  expect_error_naming([&] { datasets::load_cifar10(file); }, "cifar10: directory " + file + " is a file, not a directory");
  expect_error_naming([&] { datasets::load_cifar10(loop); }, "cifar10: directory " + loop + " is a symbolic link that loops or leads nowhere");
  expect_error_naming([&] { datasets::load_idx_dir(file, "mnist"); }, "mnist: directory " + file + " is a file, not a directory");
  expect_error_naming([&] { datasets::load_cifar10(path("none")); }, "cifar10: directory " + path("none") + " does not exist");
}

TEST_F(Cifar10Test, EmptyFileAndShortMeta) {
  write_valid();
  write_file(path("data_batch_1.bin"), {});
  std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("data_batch_1.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;

  write_valid();
  std::ofstream(path("batches.meta.txt")) << "cat\ndog\n";
  msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("batches.meta.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 2 class names"), std::string::npos) << msg;
}

// A class name goes into JSON (config.json, the checkpoint's header): one that is not UTF-8 is refused
// at load naming the file and line (it crashed the checkpoint's write with exit 3).
TEST_F(Cifar10Test, ClassNamesThatAreNotUtf8AreRefusedNamingTheLine) {
  write_valid();
  std::ofstream(path("batches.meta.txt"), std::ios::binary) << "a0\n\na\xff\xfe\na3\na4\na5\na6\na7\na8\na9\na10\n";
  const std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("batches.meta.txt") + ": line 3: \"a\\xff\\xfe\" is not valid UTF-8"), std::string::npos) << msg;
  // A long line is quoted by its first 40 bytes.
  std::ofstream(path("batches.meta.txt"), std::ios::binary) << std::string(100, 'x') + "\xff\n";
  const std::string cut = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(cut.find(": line 1: \"" + std::string(40, 'x') + "...\" is not valid UTF-8"), std::string::npos) << cut;
  // An eleventh line names no class: it is not read.
  std::ofstream(path("batches.meta.txt"), std::ios::binary) << "a0\na1\na2\na3\na4\na5\na6\na7\na8\ncaf\xc3\xa9\n\xff\n";
  EXPECT_EQ(datasets::load_cifar10(dir_).train.class_names[9], "caf\xc3\xa9");
}

// Two classes of one name could not be told apart in any map or report: refused naming the line.
// An eleventh line is not a class, so it may repeat one.
TEST_F(Cifar10Test, ADuplicateClassNameIsRefusedNamingTheLine) {
  write_valid();
  std::ofstream(path("batches.meta.txt")) << "a0\na1\n\n a2\na3\na4\na2\na6\na7\na8\na9\n";
  const std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("batches.meta.txt") + ": line 7: class name \"a2\" appears twice (also class 2)"), std::string::npos)
      << msg;
  std::ofstream(path("batches.meta.txt")) << "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\na0\n";
  EXPECT_EQ(datasets::load_cifar10(dir_).train.class_names[0], "a0");
}

// A later batch's name held by a dangling link or a directory is refused naming it and what it is,
// not skipped as absent (the run would have trained on less data than the folder shows).
TEST_F(Cifar10Test, ALaterBatchThatIsADanglingLinkOrADirectoryIsRefused) {
  write_valid();
  fs::remove(path("data_batch_2.bin"));
  fs::create_symlink("nowhere.bin", path("data_batch_2.bin"));
  std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("data_batch_2.bin") + ": a symbolic link to nothing readable"), std::string::npos) << msg;
  fs::remove(path("data_batch_2.bin"));
  fs::create_directory(path("data_batch_3.bin"));
  msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("data_batch_3.bin") + ": a directory (expected a regular file"), std::string::npos) << msg;
  fs::remove(path("data_batch_3.bin"));
  EXPECT_EQ(datasets::load_cifar10(dir_).train.size(), 3u);  // batch 2 absent: skipped, as before
}

// batches.meta.txt held by a dangling link or a directory is refused naming it, not taken as absent
// (which gives the standard names: a moved names file gave the run CIFAR-10's names without a word).
TEST_F(Cifar10Test, AClassNamesFileThatIsADanglingLinkOrADirectoryIsRefused) {
  write_valid();
  std::ofstream(path("batches.meta.txt")) << "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n";
  EXPECT_EQ(datasets::load_cifar10(dir_).train.class_names[0], "a0");
  fs::remove(path("batches.meta.txt"));
  EXPECT_EQ(datasets::load_cifar10(dir_).train.class_names[0], "airplane");  // absent: the standard names
  fs::create_symlink("moved.txt", path("batches.meta.txt"));
  std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("batches.meta.txt") + ": a symbolic link to nothing readable (expected a text file of 10 class names"),
            std::string::npos) << msg;
  fs::remove(path("batches.meta.txt"));
  fs::create_directory(path("batches.meta.txt"));
  msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find(path("batches.meta.txt") + ": a directory (expected a text file"), std::string::npos) << msg;
}

// Issue 11, defect 9: a 3 GB file was read completely before its size was checked.  These files are
// sparse (no disk space); the size alone must refuse them, before a byte is read.
TEST_F(Cifar10Test, HugeFilesAreRefusedByTheirSizeBeforeReading) {
  write_valid();
  const std::string batch = path("data_batch_1.bin");
  fs::resize_file(batch, uintmax_t(3073) * 1000000);  // 3.07 GB of whole records
  std::string msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("data_batch_1.bin: 1000000 records, expected at most 600000 per file"), std::string::npos) << msg;
  fs::resize_file(batch, uintmax_t(3) << 30);  // 3 GiB, not whole records
  msg = error_of([&] { datasets::load_cifar10(dir_); });
  EXPECT_NE(msg.find("data_batch_1.bin: size 3221225472 is not a whole number of 3073-byte records"), std::string::npos) << msg;
}

// "At most 600,000" records per file: a file of exactly that many opens (its size checked, nothing read:
// a sparse file), one record more is refused; a cap written `>=` refused the largest allowed file.
TEST_F(Cifar10Test, AFileOfExactlyTheCapOpensOneRecordMoreIsRefused) {
  const std::string batch = path("data_batch_1.bin");
  write_file(batch, cifar_records({{0, 1}}));
  fs::resize_file(batch, uintmax_t(3073) * datasets::kMaxCifarRecordsPerFile);
  EXPECT_EQ(datasets::Cifar10File(batch).records(), datasets::kMaxCifarRecordsPerFile);
  fs::resize_file(batch, uintmax_t(3073) * (datasets::kMaxCifarRecordsPerFile + 1));
  const std::string msg = error_of([&] { datasets::Cifar10File file(batch); });
  EXPECT_NE(msg.find("data_batch_1.bin: 600001 records, expected at most 600000 per file"), std::string::npos) << msg;
}

// ---- IDX ------------------------------------------------------------------------------

void put_be32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

uint8_t idx_pixel(int image, int j) { return uint8_t(image * 13 + j * 7); }

Bytes idx_images(uint32_t count, uint32_t magic = 0x803, uint32_t rows = 28, uint32_t cols = 28) {
  Bytes out;
  put_be32(out, magic);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  for (uint32_t i = 0; i < count; ++i)
    for (uint32_t j = 0; j < rows * cols; ++j) out.push_back(idx_pixel(int(i), int(j)));
  return out;
}

Bytes idx_labels(const Bytes& labels, uint32_t magic = 0x801) {
  Bytes out;
  put_be32(out, magic);
  put_be32(out, uint32_t(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

class IdxTest : public TempDirTest {
 protected:
  void write_valid() {
    write_gz(path("train-images-idx3-ubyte.gz"), idx_images(3));
    write_gz(path("train-labels-idx1-ubyte.gz"), idx_labels({3, 0, 9}));
    write_gz(path("t10k-images-idx3-ubyte.gz"), idx_images(2));
    write_gz(path("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 8}));
  }
};

TEST_F(IdxTest, LoadsGzippedFiles) {
  write_valid();
  const datasets::DataSplit s = datasets::load_idx_dir(dir_, "fashion-mnist");
  EXPECT_EQ(s.train.name, "fashion-mnist");
  EXPECT_EQ(s.train.channels, 1);
  EXPECT_EQ(s.train.height, 28);
  EXPECT_EQ(s.train.width, 28);
  EXPECT_EQ(s.train.labels, (Bytes{3, 0, 9}));
  EXPECT_EQ(s.test.labels, (Bytes{1, 8}));
  ASSERT_EQ(s.train.pixels.size(), 3u * 784);
  for (int j : {0, 29, 783}) EXPECT_EQ(s.train.view().image(2)[j], idx_pixel(2, j));
  EXPECT_EQ(s.train.class_names.size(), 10u);
  EXPECT_EQ(s.train.class_names[0], "T-shirt/top");
  EXPECT_EQ(s.train.class_names[9], "Ankle boot");
  EXPECT_EQ(s.train.files, (std::vector<std::string>{path("train-images-idx3-ubyte.gz"),
                                                     path("train-labels-idx1-ubyte.gz")}));
  EXPECT_EQ(s.test.files, (std::vector<std::string>{path("t10k-images-idx3-ubyte.gz"),
                                                    path("t10k-labels-idx1-ubyte.gz")}));

  const datasets::DataSplit m = datasets::load_idx_dir(dir_, "mnist");
  EXPECT_EQ(m.train.class_names[7], "7");
  EXPECT_NE(error_of([&] { datasets::load_idx_dir(dir_, "kmnist"); }).find("kmnist"), std::string::npos);
}

TEST_F(IdxTest, PlainFilesAreUsedWhenGzIsAbsent) {
  write_file(path("train-images-idx3-ubyte"), idx_images(3));
  write_file(path("train-labels-idx1-ubyte"), idx_labels({3, 0, 9}));
  write_gz(path("t10k-images-idx3-ubyte.gz"), idx_images(2));
  write_file(path("t10k-labels-idx1-ubyte"), idx_labels({1, 8}));
  const datasets::DataSplit s = datasets::load_idx_dir(dir_, "mnist");
  EXPECT_EQ(s.train.labels, (Bytes{3, 0, 9}));
  EXPECT_EQ(s.train.view().image(1)[100], idx_pixel(1, 100));
  EXPECT_EQ(s.test.files, (std::vector<std::string>{path("t10k-images-idx3-ubyte.gz"),
                                                    path("t10k-labels-idx1-ubyte")}));
}

// NAME.gz held by a dangling link or a directory is refused naming it, not skipped for the plain NAME
// beside it (that file, perhaps older data, would be read without a word); so is a plain
// NAME that is not a file when no NAME.gz is there.
TEST_F(IdxTest, AGzThatIsADanglingLinkOrADirectoryIsRefusedNotSkipped) {
  write_file(path("train-images-idx3-ubyte"), idx_images(3));
  write_file(path("train-labels-idx1-ubyte"), idx_labels({3, 0, 9}));
  write_gz(path("t10k-images-idx3-ubyte.gz"), idx_images(2));
  write_gz(path("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 8}));
  fs::create_symlink("moved.gz", path("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(error_of([&] { datasets::load_idx_dir(dir_, "mnist"); }),
            "mnist: " + path("train-images-idx3-ubyte.gz") +
                ": a symbolic link to nothing readable (expected a gzip or plain IDX file; remove it to read "
                "train-images-idx3-ubyte instead)");
  fs::remove(path("train-images-idx3-ubyte.gz"));
  fs::create_directory(path("train-labels-idx1-ubyte.gz"));
  EXPECT_EQ(error_of([&] { datasets::load_idx_dir(dir_, "fashion-mnist"); }),
            "fashion-mnist: " + path("train-labels-idx1-ubyte.gz") +
                ": a directory (expected a gzip or plain IDX file; remove it to read train-labels-idx1-ubyte instead)");
  fs::remove(path("train-labels-idx1-ubyte.gz"));
  fs::remove(path("train-labels-idx1-ubyte"));
  fs::create_directory(path("train-labels-idx1-ubyte"));
  EXPECT_EQ(error_of([&] { datasets::load_idx_dir(dir_, "mnist"); }),
            "mnist: " + path("train-labels-idx1-ubyte") + ": a directory (expected a gzip or plain IDX file)");
  fs::remove(path("train-labels-idx1-ubyte"));
  write_file(path("train-labels-idx1-ubyte"), idx_labels({3, 0, 9}));
  EXPECT_EQ(datasets::load_idx_dir(dir_, "mnist").train.size(), 3u);  // both absent .gz: the plain files
}

TEST_F(IdxTest, WrongMagicIsReported) {
  write_valid();
  write_gz(path("t10k-images-idx3-ubyte.gz"), idx_images(2, 0x801));
  const std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find(path("t10k-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x00000803"), std::string::npos) << msg;
}

TEST_F(IdxTest, TruncatedDataNamesExpectedAndActualBytes) {
  write_valid();
  Bytes images = idx_images(3);
  images.resize(16 + 2 * 784 + 100);
  write_gz(path("train-images-idx3-ubyte.gz"), images);
  const std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find(path("train-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 2352"), std::string::npos) << msg;
  EXPECT_NE(msg.find("got 1668"), std::string::npos) << msg;
}

TEST_F(IdxTest, TrailingDataWrongDimsBadLabelAreReported) {
  write_valid();
  Bytes labels = idx_labels({3, 0, 9});
  labels.push_back(0);
  write_gz(path("train-labels-idx1-ubyte.gz"), labels);
  std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte.gz: trailing data"), std::string::npos) << msg;

  write_valid();
  write_gz(path("train-images-idx3-ubyte.gz"), idx_images(3, 0x803, 27, 28));
  msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("27x28, expected 28x28"), std::string::npos) << msg;

  write_valid();
  write_gz(path("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 10}));
  msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("t10k-labels-idx1-ubyte.gz: label 1 is 10"), std::string::npos) << msg;
}

// Both sides are checked: a 28×29 file (rows right, columns not) is named by its size, not read as
// 28×28 images with a column's bytes left over (a check of the rows alone ended in "trailing data").
TEST_F(IdxTest, ImagesOfTheRightRowsButOtherColumnsAreNamedBySize) {
  write_valid();
  write_gz(path("train-images-idx3-ubyte.gz"), idx_images(3, 0x803, 28, 29));
  const std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("28x29, expected 28x28"), std::string::npos) << msg;
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Issue 11, defect 9: gzread skips whatever follows the gzip stream, so a file with trailing garbage
// was accepted.  Concatenated gzip members (what `cat a.gz b.gz` gives) are still one valid stream.
TEST_F(IdxTest, BytesAfterTheGzipStreamAreRefused) {
  write_valid();
  const std::string gz = path("train-labels-idx1-ubyte.gz");
  const Bytes good = read_bytes(gz);
  for (const Bytes& tail : {Bytes{'g', 'a', 'r', 'b', 'a', 'g', 'e'}, Bytes(512, 0), Bytes{0x1f}}) {
    Bytes bad = good;
    bad.insert(bad.end(), tail.begin(), tail.end());
    write_file(gz, bad);
    const std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
    EXPECT_NE(msg.find(gz + ": trailing bytes after the end of the gzip stream"), std::string::npos) << msg;
  }
  const Bytes labels = idx_labels({3, 0, 9});
  write_gz(path("first.gz"), Bytes(labels.begin(), labels.begin() + 5));
  write_gz(path("second.gz"), Bytes(labels.begin() + 5, labels.end()));
  Bytes members = read_bytes(path("first.gz"));
  const Bytes second = read_bytes(path("second.gz"));
  members.insert(members.end(), second.begin(), second.end());
  write_file(gz, members);
  EXPECT_EQ(datasets::load_idx_dir(dir_, "mnist").train.labels, (Bytes{3, 0, 9}));
}

// Both headers are read and the count checked before any payload: a 2.3 MB .gz claiming 3,000,000
// images beside a labels file of 20 took 42 s and 4.2 GB before the mismatch was found.
TEST_F(IdxTest, CountsAreCheckedFromBothHeadersBeforeAnyPixel) {
  write_valid();
  Bytes header;  // a header alone: the pixels it announces are not there
  put_be32(header, 0x803);
  put_be32(header, 700000);
  put_be32(header, 28);
  put_be32(header, 28);
  write_gz(path("train-images-idx3-ubyte.gz"), header);
  std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find(path("train-images-idx3-ubyte.gz") + ": 700000 images, expected at most 600000 per file"), std::string::npos) << msg;
  header = idx_images(5);
  header.resize(16 + 784);  // five announced, one there
  write_gz(path("train-images-idx3-ubyte.gz"), header);
  msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("train-images-idx3-ubyte.gz has 5 images but " + path("train-labels-idx1-ubyte.gz") + " has 3 labels"),
            std::string::npos) << msg;
}

TEST_F(IdxTest, CountMismatchNamesBothFiles) {
  write_valid();
  write_gz(path("train-labels-idx1-ubyte.gz"), idx_labels({3, 0}));
  const std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("train-images-idx3-ubyte.gz has 3 images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train-labels-idx1-ubyte.gz has 2 labels"), std::string::npos) << msg;
}

TEST_F(IdxTest, CorruptGzipAndMissingFileAreReported) {
  write_valid();
  // Cut the compressed stream in half: zlib sees an unexpected end of input.
  const std::string gz = path("train-images-idx3-ubyte.gz");
  std::ifstream in(gz, std::ios::binary);
  Bytes compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  compressed.resize(compressed.size() / 2);
  write_file(gz, compressed);
  std::string msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find(gz), std::string::npos) << msg;

  // A gzip header followed by bytes that are not deflate data: zlib reports an error.
  Bytes junk = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03};
  for (char ch : std::string("garbage, not deflate")) junk.push_back(uint8_t(ch));
  write_file(gz, junk);
  msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find(gz + ": read error"), std::string::npos) << msg;

  write_valid();
  fs::remove(path("t10k-labels-idx1-ubyte.gz"));
  msg = error_of([&] { datasets::load_idx_dir(dir_, "mnist"); });
  EXPECT_NE(msg.find("t10k-labels-idx1-ubyte.gz: file not found"), std::string::npos) << msg;
}

// ---- Dataset helpers ----------------------------------------------------------------

TEST(ChannelMeanStd, KnownValues) {
  // 2 images of (C=3, H=1, W=2).  Channel 0: {0,255,255,0}; channel 1: all 51;
  // channel 2: {0,51,102,153} -> mean 76.5, population variance 3251.25.
  datasets::Dataset d;
  d.name = "tiny";
  d.channels = 3, d.height = 1, d.width = 2;
  d.class_names = {"a", "b"};
  d.pixels = {0, 255, 51, 51, 0, 51, /* image 1 */ 255, 0, 51, 51, 102, 153};
  d.labels = {0, 1};
  std::vector<float> mean, sd;
  datasets::channel_mean_std(d, mean, sd);
  ASSERT_EQ(mean.size(), 3u);
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_NEAR(mean[0], 0.5, 1e-6);
  EXPECT_NEAR(sd[0], 0.5, 1e-6);
  EXPECT_NEAR(mean[1], 0.2, 1e-6);
  EXPECT_NEAR(sd[1], 0.0, 1e-6);
  EXPECT_NEAR(mean[2], 76.5 / 255, 1e-6);
  EXPECT_NEAR(sd[2], std::sqrt(3251.25) / 255, 1e-6);

  d.truncate(5);  // no-op
  EXPECT_EQ(d.size(), 2u);
  d.truncate(1);
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.pixels, (Bytes{0, 255, 51, 51, 0, 51}));
  d.truncate(0);
  EXPECT_NE(error_of([&] { datasets::channel_mean_std(d, mean, sd); }).find("tiny"), std::string::npos);
}

// ---- load_dataset ---------------------------------------------------------------------

// Sets an environment variable for one scope and restores the previous state.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

class LoadDatasetTest : public TempDirTest {};

TEST_F(LoadDatasetTest, UnknownNameListsAcceptedForms) {
  const std::string msg = error_of([] { datasets::load_dataset("imagenet:/x"); });
  for (const char* s : {"imagenet", "cifar10", "fashion-mnist", "mnist:DIR", "planted", "[,background=DIR]", "images:DIR"})
    EXPECT_NE(msg.find(s), std::string::npos) << msg;
  EXPECT_NE(error_of([] { datasets::load_dataset("mnist"); }).find("mnist:DIR"), std::string::npos);
  EXPECT_NE(error_of([] { datasets::load_dataset("cifar10:"); }).find("cifar10:"), std::string::npos);
  EXPECT_NE(error_of([] { datasets::load_dataset("planted:x1"); }).find("x1"), std::string::npos);
  EXPECT_NE(error_of([] { datasets::load_dataset("planted:-3"); }).find("-3"), std::string::npos);
}

TEST_F(LoadDatasetTest, Cifar10WithoutDirSaysWhereItLooked) {
  if (fs::exists("data/cifar-10-batches-bin/test_batch.bin"))
    GTEST_SKIP() << "./data/cifar-10-batches-bin exists, so the default lookup succeeds";
  ScopedEnv env("NNFMRI_DATA", dir_);
  const std::string msg = error_of([] { datasets::load_dataset("cifar10"); });
  EXPECT_NE(msg.find(path("cifar-10-batches-bin")), std::string::npos) << msg;
  EXPECT_NE(msg.find("make cifar10"), std::string::npos) << msg;
}

TEST_F(LoadDatasetTest, Cifar10FromNnfmriDataAndFromDir) {
  const std::string cifar = path("cifar-10-batches-bin");
  fs::create_directories(cifar);
  write_file(cifar + "/data_batch_1.bin", cifar_records({{2, 1}, {3, 2}}));
  write_file(cifar + "/test_batch.bin", cifar_records({{4, 3}}));
  {
    ScopedEnv env("NNFMRI_DATA", dir_);
    const datasets::DataSplit s = datasets::load_dataset("cifar10");
    EXPECT_EQ(s.train.labels, (Bytes{2, 3}));
    ASSERT_EQ(s.test.files.size(), 1u);
    EXPECT_EQ(s.test.files[0], cifar + "/test_batch.bin");
  }
  EXPECT_EQ(datasets::load_dataset("cifar10:" + cifar).test.labels, (Bytes{4}));
}

// absolute_spec: each folder a spec names, absolute and lexically normal (what config.json records as
// data.absolute_spec); a spec that names none is returned as it is.
TEST_F(LoadDatasetTest, AbsoluteSpecMakesEachFolderAbsoluteAndLeavesTheRest) {
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ(datasets::absolute_spec("cifar10:rel/dir"), "cifar10:" + cwd + "/rel/dir");
  EXPECT_EQ(datasets::absolute_spec("cifar10:./a/../b/"), "cifar10:" + cwd + "/b/");
  EXPECT_EQ(datasets::absolute_spec("cifar10:/abs//dir"), "cifar10:/abs/dir");
  EXPECT_EQ(datasets::absolute_spec("mnist:m"), "mnist:" + cwd + "/m");
  EXPECT_EQ(datasets::absolute_spec("fashion-mnist:f"), "fashion-mnist:" + cwd + "/f");
  EXPECT_EQ(datasets::absolute_spec("images:a:b c"), "images:" + cwd + "/a:b c");  // a folder may hold ':'
  EXPECT_EQ(datasets::absolute_spec("planted:3,cells=4,background=bg,x"), "planted:3,cells=4,background=" + cwd + "/bg,x");
  for (const char* same : {"planted", "planted:3", "planted:3,cells=4,moving", "fashion-mnist", "cifar10:", "imagenet:x"})
    EXPECT_EQ(datasets::absolute_spec(same), same);
  // "cifar10" alone: the folder it is read from now
  const std::string cifar = path("cifar-10-batches-bin");
  fs::create_directories(cifar);
  write_file(cifar + "/test_batch.bin", cifar_records({{4, 3}}));
  ScopedEnv env("NNFMRI_DATA", dir_ + "/./");
  EXPECT_EQ(datasets::absolute_spec("cifar10"), "cifar10:" + fs::path(cifar).lexically_normal().string());
}

TEST_F(LoadDatasetTest, MnistAndFashionMnistWithDir) {
  write_gz(path("train-images-idx3-ubyte.gz"), idx_images(1));
  write_gz(path("train-labels-idx1-ubyte.gz"), idx_labels({5}));
  write_gz(path("t10k-images-idx3-ubyte.gz"), idx_images(1));
  write_gz(path("t10k-labels-idx1-ubyte.gz"), idx_labels({6}));
  EXPECT_EQ(datasets::load_dataset("mnist:" + dir_).train.class_names[0], "0");
  const datasets::DataSplit f = datasets::load_dataset("fashion-mnist:" + dir_);
  EXPECT_EQ(f.train.name, "fashion-mnist");
  EXPECT_EQ(f.test.labels, (Bytes{6}));
}

TEST_F(LoadDatasetTest, PlantedUsesDefaultsWithSeed) {
  const datasets::DataSplit s = datasets::load_dataset("planted:7");
  datasets::PlantedConfig cfg;
  cfg.seed = 7;
  const datasets::PlantedSet expected = datasets::make_planted(cfg);
  EXPECT_EQ(s.train.pixels, expected.split.train.pixels);
  EXPECT_EQ(s.test.labels, expected.split.test.labels);
  EXPECT_EQ(s.train.size(), 2000u);
  EXPECT_EQ(s.test.size(), 500u);
  EXPECT_TRUE(s.train.files.empty());
  EXPECT_EQ(datasets::load_dataset("planted").train.labels, datasets::make_planted({}).split.train.labels);
}

// eval and analyze read the test half alone (LoadOptions::test_only), yet every spec but images:DIR
// with test/ read (and required) the training half too: a CIFAR-10 folder without data_batch_1.bin, an
// MNIST folder without its train files, planted's background=DIR without training batches were refused.
// Now each gives the same test half as the whole load, and the training half comes back empty.
TEST_F(LoadDatasetTest, TheTestHalfAloneNeedsNoTrainingFile) {
  datasets::LoadOptions test_only;
  test_only.test_only = true;
  auto expect_same_test = [&](const std::string& spec, const datasets::DataSplit& whole) {
    SCOPED_TRACE(spec);
    const datasets::DataSplit alone = datasets::load_dataset(spec, test_only);
    EXPECT_EQ(alone.test.pixels, whole.test.pixels);
    EXPECT_EQ(alone.test.labels, whole.test.labels);
    EXPECT_EQ(alone.test.class_names, whole.test.class_names);
    EXPECT_EQ(alone.train.size(), 0u);
    EXPECT_TRUE(alone.train.pixels.empty());
  };
  // CIFAR-10: test_batch.bin and batches.meta.txt, no data_batch_N.bin
  const std::string cifar = path("cifar");
  fs::create_directories(cifar);
  std::ofstream(cifar + "/batches.meta.txt") << "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n";
  write_file(cifar + "/data_batch_1.bin", cifar_records({{3, 1}, {4, 2}}));
  write_file(cifar + "/test_batch.bin", cifar_records({{7, 3}, {2, 4}}));
  const datasets::DataSplit cifar_whole = datasets::load_dataset("cifar10:" + cifar);
  fs::remove(cifar + "/data_batch_1.bin");
  expect_same_test("cifar10:" + cifar, cifar_whole);
  // MNIST (and Fashion-MNIST, the same reader): the t10k files alone
  const std::string mnist = path("mnist");
  fs::create_directories(mnist);
  write_gz(mnist + "/train-images-idx3-ubyte.gz", idx_images(2));
  write_gz(mnist + "/train-labels-idx1-ubyte.gz", idx_labels({5, 1}));
  write_gz(mnist + "/t10k-images-idx3-ubyte.gz", idx_images(3));
  write_gz(mnist + "/t10k-labels-idx1-ubyte.gz", idx_labels({6, 0, 9}));
  const datasets::DataSplit mnist_whole = datasets::load_dataset("mnist:" + mnist);
  fs::remove(mnist + "/train-images-idx3-ubyte.gz");
  fs::remove(mnist + "/train-labels-idx1-ubyte.gz");
  expect_same_test("mnist:" + mnist, mnist_whole);
  // the monitor's --input (TestStream) of an MNIST folder: its t10k files alone
  datasets::TestStream stream("mnist:" + mnist, {}, 0);
  datasets::Dataset batch;
  EXPECT_EQ(stream.size(), 3u);
  EXPECT_EQ(stream.next(10, batch), 3u);
  EXPECT_EQ(batch.labels, mnist_whole.test.labels);
  // planted: the same test images without a training image generated, and with background=DIR
  // without the folder's training batches
  expect_same_test("planted:3,cells=4", datasets::load_dataset("planted:3,cells=4"));
  write_file(cifar + "/data_batch_1.bin", cifar_records({{3, 1}, {4, 2}}));
  const datasets::DataSplit backed = datasets::load_dataset("planted:3,background=" + cifar);
  fs::remove(cifar + "/data_batch_1.bin");
  expect_same_test("planted:3,background=" + cifar, backed);
  EXPECT_EQ(datasets::load_dataset("planted:3,background=" + cifar, test_only).test.files,
            (std::vector<std::string>{cifar + "/batches.meta.txt", cifar + "/test_batch.bin"}));
}

}  // namespace
